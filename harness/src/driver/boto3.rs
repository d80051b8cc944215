//! The `boto3` driver: real boto3 in a long-lived Python child (`drivers/boto3_driver.py`).
//!
//! One process per cell, so interpreter start-up and `import boto3` are paid once,
//! before the scenario clock starts. The child creates one `boto3.session.Session` when
//! configured and makes clients from it, as most applications do.

use async_trait::async_trait;
use serde_json::{json, Value};

use super::child::{sanitized_command, JsonLinesChild};
use super::{CallOutcome, ClientOutcome, Driver, DriverError, DriverKind, DriverSetup, Endpoints};

/// The driver program, embedded so the binary works from any directory.
pub const SCRIPT: &str = include_str!("../../drivers/boto3_driver.py");

/// A boto3 child process.
#[derive(Debug)]
pub struct Boto3Driver {
    child: JsonLinesChild,
    version: String,
    timeout: std::time::Duration,
    _home: tempfile::TempDir,
}

impl Boto3Driver {
    /// Spawns the child with `setup.python` and waits for it to import boto3.
    ///
    /// # Errors
    /// [`DriverError::Start`] when Python or boto3 is missing.
    pub async fn start(setup: &DriverSetup) -> Result<Self, DriverError> {
        let start_err = |message: String| DriverError::Start {
            driver: DriverKind::Boto3,
            message,
        };
        if !setup.python.exists() {
            return Err(start_err(format!(
                "no Python at {}: run scripts/setup (creates .venv with the pinned boto3) or pass --python",
                setup.python.display()
            )));
        }
        let home = tempfile::Builder::new()
            .prefix("imds-harness-boto3-")
            .tempdir()
            .map_err(|e| start_err(format!("temporary HOME: {e}")))?;
        let script = home.path().join("boto3_driver.py");
        std::fs::write(&script, SCRIPT)
            .map_err(|e| start_err(format!("writing the driver script: {e}")))?;
        let mut cmd =
            sanitized_command(&setup.python, home.path()).map_err(|e| start_err(e.to_string()))?;
        cmd.arg("-I").arg(&script);
        let mut child = JsonLinesChild::spawn(DriverKind::Boto3, cmd)?;
        let ready = child.read(setup.operation_timeout).await.map_err(|e| {
            start_err(format!(
                "{} could not run the driver (is the pinned boto3 installed there? run scripts/setup, or pass --python / set IMDS_HARNESS_PYTHON): {e}",
                setup.python.display()
            ))
        })?;
        if ready["ready"] != json!(true) {
            return Err(start_err(format!("unexpected greeting {ready}")));
        }
        let version = format!(
            "boto3 {} (botocore {})",
            ready["boto3"].as_str().unwrap_or("?"),
            ready["botocore"].as_str().unwrap_or("?")
        );
        Ok(Self {
            child,
            version,
            timeout: setup.operation_timeout,
            _home: home,
        })
    }

    async fn op(&mut self, request: Value) -> Result<Value, DriverError> {
        let answer = self.child.request(&request, self.timeout).await?;
        if let Some(problem) = answer.get("driver_error").and_then(Value::as_str) {
            return Err(DriverError::Broken {
                driver: DriverKind::Boto3,
                message: problem.to_string(),
                stderr: String::new(),
            });
        }
        Ok(answer)
    }
}

fn error_text(answer: &Value) -> Option<String> {
    answer.get("error").map(|e| {
        format!(
            "{}: {}",
            e["kind"].as_str().unwrap_or("?"),
            e["message"].as_str().unwrap_or("")
        )
    })
}

#[async_trait]
impl Driver for Boto3Driver {
    fn sdk_version(&self) -> String {
        self.version.clone()
    }

    async fn configure(&mut self, endpoints: &Endpoints) -> Result<(), DriverError> {
        self.op(json!({
            "op": "configure",
            "imds_endpoint": endpoints.imds,
            "sts_endpoint": endpoints.sts,
            "region": endpoints.region,
        }))
        .await
        .map(drop)
    }

    async fn new_client(&mut self) -> Result<ClientOutcome, DriverError> {
        let answer = self.op(json!({"op": "new_client"})).await?;
        Ok(ClientOutcome {
            credentials_resolved: answer.get("credentials_resolved").and_then(Value::as_bool),
            error: error_text(&answer),
        })
    }

    async fn call(&mut self) -> Result<CallOutcome, DriverError> {
        let answer = self.op(json!({"op": "call"})).await?;
        Ok(match answer.get("error") {
            Some(e) => CallOutcome::Err {
                kind: e["kind"].as_str().unwrap_or("?").to_string(),
                message: e["message"].as_str().unwrap_or("").to_string(),
            },
            None => CallOutcome::Ok {
                arn: answer["arn"].as_str().unwrap_or("").to_string(),
                access_key_id: answer["access_key_id"].as_str().map(str::to_string),
            },
        })
    }

    async fn drop_client(&mut self) -> Result<(), DriverError> {
        self.op(json!({"op": "drop_client"})).await.map(drop)
    }
}
