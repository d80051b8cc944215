//! A driver whose SDK runs in a long-lived child process speaking JSON lines (boto3,
//! boto3-crt, aiobotocore in Python; the JS v3 and v2 SDKs in Node; a user's `command`).
//! The protocol (README "Bring your own driver" is its user-facing description), one JSON
//! object per line each way:
//!
//! - greeting (child → harness, once): `{"ready": true, "sdk": "boto3 1.43.11 (botocore 1.43.11)"}`
//! - `{"op": "configure", "imds_endpoint", "sts_endpoint", "region", "settings", "seed", "env",
//!   "container_env"}` → `{"ok": true}` (the child seeds its language's random number
//!   generator with `seed`, sets `env`'s variables in its own environment; `region` is
//!   `null` when the SDK is to find it itself; the cell's profile is already in the file
//!   `AWS_CONFIG_FILE` names; `container_env`, `{NAME: VALUE}`, holds the container
//!   credential provider's variables when the scenario's `[endpoint]` is a container
//!   endpoint, which the child puts into its environment too)
//! - `{"op": "new_session"}` → `{"ok": true}`
//! - `{"op": "new_client"}` → `{"ok": true, "credentials_resolved": bool|null}` or `{"error": {…}}`
//! - `{"op": "call", "call_id": "…"}` → `{"arn", "access_key_id", "expiration",
//!   "account_id"}` or `{"error": {"kind", "message"}}`; every STS request of the call
//!   carries `x-mock-imds-call-id: <call_id>`. `expiration` (RFC 3339 text or ms since the
//!   Unix epoch) and `account_id` are the credentials as the SDK holds them after the
//!   call; optional (`null` or absent where the SDK exposes none)
//! - any answer may carry `"sdk_warnings": [{"level", "logger", "message"}]`: what the SDK
//!   logged during that operation (optional; recorded as `sdk-warning` events)
//! - `{"op": "drop_client"}` → `{"ok": true}`
//! - a problem of the driver itself: `{"driver_error": "…"}`

use std::time::Duration;

use async_trait::async_trait;
use serde_json::{json, Value};

use super::api::{
    CallOutcome, ClientOutcome, Driver, DriverError, Endpoints, HeldCredentials, SdkWarning,
};
use super::child::JsonLinesChild;
use super::kind::DriverKind;

/// A running JSON-lines driver.
#[derive(Debug)]
pub struct JsonLinesDriver {
    kind: DriverKind,
    child: JsonLinesChild,
    version: String,
    timeout: Duration,
    _home: tempfile::TempDir,
    warnings: Vec<SdkWarning>,
}

impl JsonLinesDriver {
    /// Waits for the child's greeting. `program` names the interpreter in errors;
    /// `timeout` bounds the greeting and every later operation.
    ///
    /// # Errors
    /// [`DriverError::Start`] when the child does not greet within the timeout.
    pub async fn greet(
        kind: DriverKind,
        mut child: JsonLinesChild,
        home: tempfile::TempDir,
        program: &str,
        timeout: Duration,
    ) -> Result<Self, DriverError> {
        let start_err = |message: String| DriverError::Start {
            driver: kind.clone(),
            message,
        };
        let ready = child.read(timeout).await.map_err(|e| {
            start_err(format!(
                "{program} could not run the {kind} driver (is the SDK installed there? run scripts/setup): {e}"
            ))
        })?;
        if ready["ready"] != json!(true) {
            return Err(start_err(format!("unexpected greeting {ready}")));
        }
        let version = ready["sdk"]
            .as_str()
            .unwrap_or("unknown version")
            .to_string();
        Ok(Self {
            kind,
            child,
            version,
            timeout,
            _home: home,
            warnings: Vec::new(),
        })
    }

    async fn op(&mut self, request: Value) -> Result<Value, DriverError> {
        let answer = self.child.request(&request, self.timeout).await?;
        self.warnings.extend(sdk_warnings(&answer));
        if let Some(problem) = answer.get("driver_error").and_then(Value::as_str) {
            return Err(DriverError::Broken {
                driver: self.kind.clone(),
                message: problem.to_string(),
                stderr: String::new(),
            });
        }
        Ok(answer)
    }
}

/// The region a child is given: `null` with `region_from_imds` (the SDK finds one).
pub fn region_of(endpoints: &Endpoints) -> Option<&str> {
    (!endpoints.passthrough.region_from_imds).then_some(endpoints.region.as_str())
}

/// The variables a child sets in its own environment before creating anything:
/// botocore's typed settings as its variables, then the pass-through `env` (which wins).
pub fn child_env(endpoints: &Endpoints) -> std::collections::BTreeMap<String, String> {
    let mut env: std::collections::BTreeMap<String, String> = endpoints
        .settings
        .botocore_env()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    env.extend(endpoints.passthrough.env.clone());
    env
}

/// The `sdk_warnings` of an answer (entries without a message are skipped).
pub fn sdk_warnings(answer: &Value) -> Vec<SdkWarning> {
    let Some(list) = answer.get("sdk_warnings").and_then(Value::as_array) else {
        return Vec::new();
    };
    list.iter()
        .filter_map(|w| {
            Some(SdkWarning {
                level: w["level"].as_str().unwrap_or("WARNING").to_string(),
                logger: w["logger"].as_str().map(str::to_string),
                message: w["message"].as_str()?.to_string(),
            })
        })
        .collect()
}

/// The credentials a successful call's answer reports (`None` when it reports neither an
/// expiry nor an account id).
pub fn held_credentials(answer: &Value) -> Option<HeldCredentials> {
    let held = HeldCredentials {
        expiration: answer
            .get("expiration")
            .and_then(HeldCredentials::normalise_expiration),
        account_id: answer["account_id"]
            .as_str()
            .filter(|a| !a.is_empty())
            .map(str::to_string),
        issued_expiration: None,
    };
    (held.expiration.is_some() || held.account_id.is_some()).then_some(held)
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
impl Driver for JsonLinesDriver {
    fn sdk_version(&self) -> String {
        self.version.clone()
    }

    async fn configure(&mut self, endpoints: &Endpoints) -> Result<(), DriverError> {
        // The cell's profile, in the file the child's AWS_CONFIG_FILE names.
        let config = self._home.path().join(".aws").join("config");
        if let Err(e) = std::fs::write(&config, endpoints.passthrough.config_file(&[])) {
            return Err(DriverError::Broken {
                driver: self.kind.clone(),
                message: format!("writing {}: {e}", config.display()),
                stderr: String::new(),
            });
        }
        self.op(json!({
            "op": "configure",
            "imds_endpoint": endpoints.imds,
            "sts_endpoint": endpoints.sts,
            "region": region_of(endpoints),
            "settings": endpoints.settings,
            "seed": endpoints.seed,
            "env": child_env(endpoints),
            "container_env": endpoints
                .container_env
                .iter()
                .cloned()
                .collect::<std::collections::BTreeMap<_, _>>(),
        }))
        .await
        .map(drop)
    }

    async fn new_session(&mut self) -> Result<(), DriverError> {
        self.op(json!({"op": "new_session"})).await.map(drop)
    }

    async fn new_client(&mut self) -> Result<ClientOutcome, DriverError> {
        let answer = self.op(json!({"op": "new_client"})).await?;
        Ok(ClientOutcome {
            credentials_resolved: answer.get("credentials_resolved").and_then(Value::as_bool),
            error: error_text(&answer),
        })
    }

    async fn call(&mut self, call_id: &str) -> Result<CallOutcome, DriverError> {
        let answer = self.op(json!({"op": "call", "call_id": call_id})).await?;
        Ok(match answer.get("error") {
            Some(e) => CallOutcome::Err {
                kind: e["kind"].as_str().unwrap_or("?").to_string(),
                message: e["message"].as_str().unwrap_or("").to_string(),
            },
            None => CallOutcome::Ok {
                arn: answer["arn"].as_str().unwrap_or("").to_string(),
                access_key_id: answer["access_key_id"].as_str().map(str::to_string),
                credentials: held_credentials(&answer),
            },
        })
    }

    async fn drop_client(&mut self) -> Result<(), DriverError> {
        self.op(json!({"op": "drop_client"})).await.map(drop)
    }

    fn take_sdk_warnings(&mut self) -> Vec<SdkWarning> {
        std::mem::take(&mut self.warnings)
    }
}
