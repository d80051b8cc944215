//! The `boto3` driver: real boto3 in a long-lived Python child (`drivers/boto3_driver.py`).
//!
//! One process per cell, so interpreter start-up and `import boto3` are paid before the
//! scenario clock starts. The child makes one `boto3.session.Session` when configured
//! (a new one for `session-retry`) and clients from it, as most applications do. Driver
//! settings become botocore's own environment variables (`AWS_METADATA_SERVICE_TIMEOUT`, …).

use std::path::Path;

use super::api::DriverError;
use super::child::{sanitized_command, JsonLinesChild};
use super::jsonl::JsonLinesDriver;
use super::kind::DriverKind;

/// The driver program, embedded so the binary works from any directory.
pub const SCRIPT: &str = include_str!("../../drivers/boto3_driver.py");

/// Refuses non-loopback connections inside Python children (imported by the driver; for
/// the AWS CLI installed as `sitecustomize`).
pub const LOOPBACK_GUARD: &str = include_str!("../../drivers/loopback_guard.py");

/// Spawns the boto3 child with `python` (`env` added: the cell clock's) and waits (at most `timeout`, also the limit for
/// each later operation) for it to import boto3.
///
/// # Errors
/// [`DriverError::Start`] when Python or boto3 is missing.
pub async fn start(
    python: &Path,
    timeout: std::time::Duration,
    env: &[(String, String)],
) -> Result<JsonLinesDriver, DriverError> {
    let start_err = |message: String| DriverError::Start {
        driver: DriverKind::Boto3,
        message,
    };
    if !python.exists() {
        return Err(start_err(format!(
            "no Python at {}: run scripts/setup (creates .venv with the pinned boto3) or pass --python",
            python.display()
        )));
    }
    let home = tempfile::Builder::new()
        .prefix("imds-harness-boto3-")
        .tempdir()
        .map_err(|e| start_err(format!("temporary HOME: {e}")))?;
    for (name, text) in [
        ("boto3_driver.py", SCRIPT),
        ("loopback_guard.py", LOOPBACK_GUARD),
    ] {
        std::fs::write(home.path().join(name), text)
            .map_err(|e| start_err(format!("writing {name}: {e}")))?;
    }
    let mut cmd = sanitized_command(python, home.path()).map_err(|e| start_err(e.to_string()))?;
    cmd.arg("-I").arg(home.path().join("boto3_driver.py"));
    cmd.envs(env.iter().map(|(k, v)| (k, v)));
    let child = JsonLinesChild::spawn(DriverKind::Boto3, cmd)?;
    JsonLinesDriver::greet(
        DriverKind::Boto3,
        child,
        home,
        &python.display().to_string(),
        timeout,
    )
    .await
}
