//! The `command` driver: a program of the user's speaking the JSON-lines driver protocol
//! ([`super::jsonl`]; README "Bring your own driver"; reference program
//! `examples/driver/reference_driver.py`), from `[driver.NAME] command = ["prog", "arg"]`.
//!
//! It runs exactly like the built-in child drivers: the sanitised environment of
//! [`super::child`] (no inherited `AWS_*`, empty AWS config files, a temporary `HOME`,
//! which is also its working directory), its own process group killed with the cell, and
//! the operation timeout on its greeting and every answer. It is told the loopback
//! endpoints of the mocks in `configure`; guarding its own connections is up to it.

use std::path::PathBuf;

use super::api::DriverError;
use super::child::{sanitized_command, JsonLinesChild};
use super::jsonl::JsonLinesDriver;
use super::kind::DriverKind;

/// Spawns `command` (the program, then its arguments; a program without `/` is looked up
/// on `PATH`) and waits at most `timeout` for its greeting.
///
/// # Errors
/// [`DriverError::Start`] when the program does not exist, cannot be spawned or does not
/// greet.
pub async fn start(
    command: &[String],
    timeout: std::time::Duration,
    env: &[(String, String)],
) -> Result<JsonLinesDriver, DriverError> {
    let start_err = |message: String| DriverError::Start {
        driver: DriverKind::Command,
        message,
    };
    let Some((program, args)) = command.split_first() else {
        return Err(start_err("`command` is empty".into()));
    };
    let path = if program.contains('/') {
        Some(PathBuf::from(program))
    } else {
        super::envs::which(program)
    }
    .filter(|p| p.is_file())
    .ok_or_else(|| {
        start_err(format!(
            "`{program}` (the `command` of the driver table) does not exist or is not on PATH"
        ))
    })?;
    let home = tempfile::Builder::new()
        .prefix("imds-harness-command-")
        .tempdir()
        .map_err(|e| start_err(format!("temporary HOME: {e}")))?;
    let mut cmd = sanitized_command(&path, home.path()).map_err(|e| start_err(e.to_string()))?;
    cmd.args(args).envs(env.iter().map(|(k, v)| (k, v)));
    let child = JsonLinesChild::spawn(DriverKind::Command, cmd)?;
    JsonLinesDriver::greet(DriverKind::Command, child, home, program, timeout).await
}
