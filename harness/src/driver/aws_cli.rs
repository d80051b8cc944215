//! The `aws-cli` driver: AWS CLI v1 from the project's venv, one
//! `aws sts get-caller-identity` process per call — by nature a new client every call,
//! so every strategy behaves like `client-retry`. The error kind is botocore's exception
//! name where the CLI's message shows it (`Unable to locate credentials` →
//! `NoCredentialsError`, `An error occurred (ExpiredToken)` → `ExpiredToken`, `Error when
//! retrieving credentials from` → `CredentialRetrievalError`), else
//! `exit N`.

use std::path::{Path, PathBuf};

use async_trait::async_trait;

use super::api::{CallOutcome, ClientOutcome, Driver, DriverError, Endpoints};
use super::boto3::LOOPBACK_GUARD;
use super::child::sanitized_command;
use super::kind::DriverKind;

/// The AWS CLI, one process per call.
#[derive(Debug)]
pub struct AwsCliDriver {
    aws: PathBuf,
    version: String,
    endpoints: Option<Endpoints>,
    home: tempfile::TempDir,
    /// Added to every `aws` process's environment (the cell clock's libfaketime).
    env: Vec<(String, String)>,
}

/// The CLI's failure as an error kind.
pub fn error_kind(stderr: &str, status: Option<i32>) -> String {
    if stderr.contains("Unable to locate credentials") {
        return "NoCredentialsError".into();
    }
    if let Some(rest) = stderr.split("An error occurred (").nth(1) {
        if let Some(code) = rest.split(')').next() {
            return code.to_string();
        }
    }
    if stderr.contains("Could not connect to the endpoint URL") {
        return "EndpointConnectionError".into();
    }
    // botocore's CredentialRetrievalError: "Error when retrieving credentials from
    // {provider}: {error_msg}" (botocore/exceptions.py), e.g. the container provider's
    // "… from container-role: Error retrieving metadata: Received non 200 response 429 …".
    if stderr.contains("Error when retrieving credentials from ") {
        return "CredentialRetrievalError".into();
    }
    format!(
        "exit {}",
        status.map_or("by signal".to_string(), |s| s.to_string())
    )
}

impl AwsCliDriver {
    /// Finds `aws` next to `python` (the venv's) and reads its version; every `aws`
    /// process gets `env` too (the cell clock's libfaketime: each new process sees the
    /// clock as it is when it starts and follows later jumps).
    ///
    /// # Errors
    /// [`DriverError::Start`] when the CLI is missing or does not run.
    pub async fn start(python: &Path, env: &[(String, String)]) -> Result<Self, DriverError> {
        let start_err = |message: String| DriverError::Start {
            driver: DriverKind::AwsCli,
            message,
        };
        let aws = python.with_file_name("aws");
        if !aws.exists() {
            return Err(DriverError::Unavailable {
                driver: DriverKind::AwsCli,
                reason: format!("no AWS CLI at {}", aws.display()),
                install: "./scripts/setup (the venv pins awscli)".into(),
            });
        }
        let home = tempfile::Builder::new()
            .prefix("imds-harness-awscli-")
            .tempdir()
            .map_err(|e| start_err(format!("temporary HOME: {e}")))?;
        std::fs::write(home.path().join("sitecustomize.py"), LOOPBACK_GUARD)
            .map_err(|e| start_err(e.to_string()))?;
        let mut cmd = sanitized_command(&aws, home.path()).map_err(|e| start_err(e.to_string()))?;
        let out = cmd
            .arg("--version")
            .output()
            .await
            .map_err(|e| start_err(format!("running {}: {e}", aws.display())))?;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let version = text
            .split_whitespace()
            .next()
            .unwrap_or("aws-cli/?")
            .replace('/', " ");
        let botocore = text
            .split_whitespace()
            .find(|w| w.starts_with("botocore/"))
            .map(|w| w.replace('/', " "));
        Ok(Self {
            aws,
            version: match botocore {
                Some(b) => format!("{version} ({b})"),
                None => version,
            },
            endpoints: None,
            home,
            env: env.to_vec(),
        })
    }
}

#[async_trait]
impl Driver for AwsCliDriver {
    fn sdk_version(&self) -> String {
        self.version.clone()
    }

    async fn configure(&mut self, endpoints: &Endpoints) -> Result<(), DriverError> {
        self.endpoints = Some(endpoints.clone());
        Ok(())
    }

    async fn new_client(&mut self) -> Result<ClientOutcome, DriverError> {
        Ok(ClientOutcome {
            credentials_resolved: None,
            error: None,
        })
    }

    async fn call(&mut self, call_id: &str) -> Result<CallOutcome, DriverError> {
        let broken = |message: String| DriverError::Broken {
            driver: DriverKind::AwsCli,
            message,
            stderr: String::new(),
        };
        let endpoints = self
            .endpoints
            .as_ref()
            .ok_or_else(|| broken("call before configure".into()))?;
        let mut cmd =
            sanitized_command(&self.aws, self.home.path()).map_err(|e| broken(e.to_string()))?;
        // sanitized_command left an empty config file: the cell's profile goes in it.
        let config = self.home.path().join(".aws").join("config");
        std::fs::write(&config, endpoints.passthrough.config_file(&[]))
            .map_err(|e| broken(format!("writing {}: {e}", config.display())))?;
        cmd.args(["sts", "get-caller-identity", "--output", "json"]);
        if let Some(region) = super::jsonl::region_of(endpoints) {
            cmd.args(["--region", region]);
        }
        cmd.args(["--endpoint-url", &endpoints.sts])
            .env(
                "AWS_EC2_METADATA_SERVICE_ENDPOINT",
                format!("{}/", endpoints.imds),
            )
            .env("AWS_ENDPOINT_URL_STS", &endpoints.sts)
            .env("PYTHONPATH", self.home.path())
            // The CLI cannot add a header; botocore puts `exec-env/<this>` in its User-Agent.
            .env(
                "AWS_EXECUTION_ENV",
                format!("{}{call_id}", mock_imds::sts::CALL_ID_USER_AGENT_PREFIX),
            );
        cmd.envs(super::jsonl::child_env(endpoints));
        cmd.envs(endpoints.container_env.iter().map(|(k, v)| (k, v)));
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        let out = cmd
            .output()
            .await
            .map_err(|e| broken(format!("running aws: {e}")))?;
        let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
        // A connection the loopback guard blocked is a misrouted endpoint: the driver's
        // problem, never an SDK error kind.
        if stderr.contains("imds-harness blocked a connection") {
            return Err(DriverError::Broken {
                driver: DriverKind::AwsCli,
                message: "the loopback guard blocked a connection (a misrouted endpoint)".into(),
                stderr,
            });
        }
        if out.status.success() {
            let parsed: serde_json::Value = serde_json::from_slice(&out.stdout)
                .map_err(|e| broken(format!("aws printed something that is not JSON ({e})")))?;
            return Ok(CallOutcome::Ok {
                arn: parsed["Arn"].as_str().unwrap_or_default().to_string(),
                access_key_id: None,
                // One process per call: the credentials die with it.
                credentials: None,
            });
        }
        Ok(CallOutcome::Err {
            kind: error_kind(&stderr, out.status.code()),
            message: stderr,
        })
    }

    async fn drop_client(&mut self) -> Result<(), DriverError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_kinds_come_from_the_cli_message() {
        assert_eq!(error_kind("\nUnable to locate credentials. You can configure credentials by running \"aws configure\".", Some(255)), "NoCredentialsError");
        assert_eq!(
            error_kind("An error occurred (ExpiredToken) when calling the GetCallerIdentity operation: expired", Some(254)),
            "ExpiredToken"
        );
        // Measured here: the CLI on a container endpoint answering 429.
        assert_eq!(
            error_kind("\nError when retrieving credentials from container-role: Error retrieving metadata: Received non 200 response 429 from container metadata: Too Many Requests\n", Some(255)),
            "CredentialRetrievalError"
        );
        assert_eq!(error_kind("something else", Some(3)), "exit 3");
    }
}
