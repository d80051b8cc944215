//! The `js-v3` driver: the AWS SDK for JavaScript v3 (`@aws-sdk/client-sts`) in a
//! long-lived Node child (`drivers/js_driver.cjs`), one per cell. The SDK comes from the
//! project's `harness/drivers/js/node_modules` (pinned by its package.json, installed by
//! `scripts/setup`) or, for `js-v3@VERSION`, from a cached environment ([`super::envs`]).

use std::path::Path;

use super::api::DriverError;
use super::child::{sanitized_command, JsonLinesChild};
use super::jsonl::JsonLinesDriver;
use super::kind::DriverKind;

/// The driver program, embedded so the binary works from any directory.
pub const SCRIPT: &str = include_str!("../../drivers/js_driver.cjs");

/// Spawns `node` with the SDK of `js_dir/node_modules` (`env` added: the cell clock's)
/// and waits for it to load.
///
/// # Errors
/// [`DriverError::Start`] when Node or the SDK is missing.
pub async fn start(
    js_dir: &Path,
    timeout: std::time::Duration,
    env: &[(String, String)],
) -> Result<JsonLinesDriver, DriverError> {
    let start_err = |message: String| DriverError::Start {
        driver: DriverKind::JsV3,
        message,
    };
    let modules = js_dir.join("node_modules");
    if !modules.join("@aws-sdk").join("client-sts").exists() {
        return Err(start_err(format!(
            "no @aws-sdk/client-sts in {}: run scripts/setup (npm ci in harness/drivers/js)",
            modules.display()
        )));
    }
    let node = super::envs::which("node")
        .ok_or_else(|| start_err("`node` is not on PATH (Node 18+ is needed for js-v3)".into()))?;
    let home = tempfile::Builder::new()
        .prefix("imds-harness-js-")
        .tempdir()
        .map_err(|e| start_err(format!("temporary HOME: {e}")))?;
    let script = home.path().join("js_driver.cjs");
    std::fs::write(&script, SCRIPT)
        .map_err(|e| start_err(format!("writing the driver script: {e}")))?;
    let mut cmd = sanitized_command(&node, home.path()).map_err(|e| start_err(e.to_string()))?;
    cmd.env("NODE_PATH", &modules).arg(&script);
    cmd.envs(env.iter().map(|(k, v)| (k, v)));
    let child = JsonLinesChild::spawn(DriverKind::JsV3, cmd)?;
    JsonLinesDriver::greet(
        DriverKind::JsV3,
        child,
        home,
        &node.display().to_string(),
        timeout,
    )
    .await
}
