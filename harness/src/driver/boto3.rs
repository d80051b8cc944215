//! The Python SDK drivers: real boto3 (`boto3`), boto3 with awscrt (`boto3-crt`, the same
//! program, which refuses to start unless botocore signs through `botocore/crt/auth.py`)
//! and aiobotocore (`aiobotocore`, `drivers/aiobotocore_driver.py`), each in a long-lived
//! Python child (`drivers/boto3_driver.py`) from its own venv.
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

/// The aiobotocore driver program (uses the boto3 driver's helpers, no boto3).
pub const AIOBOTOCORE_SCRIPT: &str = include_str!("../../drivers/aiobotocore_driver.py");

/// Which Python driver program a kind runs, and what it needs from its environment.
fn program_of(kind: &DriverKind) -> (&'static str, &'static [(&'static str, &'static str)]) {
    match kind {
        DriverKind::Aiobotocore => ("aiobotocore_driver.py", &[]),
        // The same program as boto3, refusing to start unless botocore signs with the CRT.
        DriverKind::Boto3Crt => ("boto3_driver.py", &[("IMDS_HARNESS_REQUIRE_CRT", "1")]),
        _ => ("boto3_driver.py", &[]),
    }
}

/// Spawns the Python child of `kind` (`boto3`, `boto3-crt` or `aiobotocore`) with
/// `python` (`env` added: the cell clock's) and waits (at most `timeout`, also the limit for each later operation) for it
/// to import its SDK.
///
/// # Errors
/// [`DriverError::Unavailable`] when `python` does not exist (its venv was never
/// created); [`DriverError::Start`] when the SDK does not load.
pub async fn start(
    kind: DriverKind,
    python: &Path,
    timeout: std::time::Duration,
    clock_env: &[(String, String)],
) -> Result<JsonLinesDriver, DriverError> {
    let start_err = |message: String| DriverError::Start {
        driver: kind.clone(),
        message,
    };
    if !python.exists() {
        return Err(DriverError::Unavailable {
            driver: kind.clone(),
            reason: format!("no Python at {}", python.display()),
            install: "./scripts/setup (creates .venv, .venv-crt and .venv-aio with the pinned SDKs), or pass --python".into(),
        });
    }
    let home = tempfile::Builder::new()
        .prefix(&format!("imds-harness-{kind}-"))
        .tempdir()
        .map_err(|e| start_err(format!("temporary HOME: {e}")))?;
    for (name, text) in [
        ("boto3_driver.py", SCRIPT),
        ("aiobotocore_driver.py", AIOBOTOCORE_SCRIPT),
        ("loopback_guard.py", LOOPBACK_GUARD),
    ] {
        std::fs::write(home.path().join(name), text)
            .map_err(|e| start_err(format!("writing {name}: {e}")))?;
    }
    let (program, env) = program_of(&kind);
    let mut cmd = sanitized_command(python, home.path()).map_err(|e| start_err(e.to_string()))?;
    cmd.envs(env.iter().copied())
        .envs(clock_env.iter().map(|(k, v)| (k, v)))
        .arg("-I")
        .arg(home.path().join(program));
    let child = JsonLinesChild::spawn(kind.clone(), cmd)?;
    JsonLinesDriver::greet(kind, child, home, &python.display().to_string(), timeout).await
}
