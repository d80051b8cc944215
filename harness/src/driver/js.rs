//! The JS drivers: the AWS SDK for JavaScript v3 (`js-v3`, `@aws-sdk/client-sts`,
//! `drivers/js_driver.cjs`) and v2 (`js-v2`, `aws-sdk`, `drivers/js_v2_driver.cjs`), each
//! in a long-lived Node child, one per cell, sharing `drivers/js_support.cjs` (loopback
//! guard, seeded `Math.random`, the JSON-lines loop). The SDKs come from the project's
//! `harness/drivers/js/node_modules` (pinned by its package-lock.json, installed by
//! `scripts/setup`) or, for `KIND@VERSION`, from a cached environment ([`super::envs`]).

use std::path::Path;

use super::api::DriverError;
use super::child::{sanitized_command, JsonLinesChild};
use super::jsonl::JsonLinesDriver;
use super::kind::DriverKind;

/// The js-v3 driver program, embedded so the binary works from any directory.
pub const SCRIPT: &str = include_str!("../../drivers/js_driver.cjs");

/// The js-v2 driver program.
pub const V2_SCRIPT: &str = include_str!("../../drivers/js_v2_driver.cjs");

/// What both JS drivers share.
pub const SUPPORT: &str = include_str!("../../drivers/js_support.cjs");

/// The npm package a JS kind loads (`js-v3`: `@aws-sdk/client-sts`, `js-v2`: `aws-sdk`).
pub fn package_of(kind: &DriverKind) -> &'static str {
    match kind {
        DriverKind::JsV2 => "aws-sdk",
        _ => "@aws-sdk/client-sts",
    }
}

/// Spawns `node` running `kind`'s driver with the SDK of `js_dir/node_modules` (`env`
/// added: the cell clock's) and waits for it to load.
///
/// # Errors
/// [`DriverError::Unavailable`] when Node or the SDK package is not installed;
/// [`DriverError::Start`] when the SDK does not load.
pub async fn start(
    kind: DriverKind,
    js_dir: &Path,
    timeout: std::time::Duration,
    env: &[(String, String)],
) -> Result<JsonLinesDriver, DriverError> {
    let start_err = |message: String| DriverError::Start {
        driver: kind.clone(),
        message,
    };
    let package = package_of(&kind);
    let modules = js_dir.join("node_modules");
    if !modules.join(package).join("package.json").exists() {
        return Err(DriverError::Unavailable {
            driver: kind.clone(),
            reason: format!("no {package} in {}", modules.display()),
            install: "./scripts/setup (npm ci in harness/drivers/js)".into(),
        });
    }
    let node = super::envs::which("node").ok_or_else(|| DriverError::Unavailable {
        driver: kind.clone(),
        reason: "`node` is not on PATH (Node 20+ is needed)".into(),
        install: "apt-get install nodejs npm (as root), then ./scripts/setup".into(),
    })?;
    let home = tempfile::Builder::new()
        .prefix(&format!("imds-harness-{kind}-"))
        .tempdir()
        .map_err(|e| start_err(format!("temporary HOME: {e}")))?;
    let (name, text) = match kind {
        DriverKind::JsV2 => ("js_v2_driver.cjs", V2_SCRIPT),
        _ => ("js_driver.cjs", SCRIPT),
    };
    for (file, text) in [(name, text), ("js_support.cjs", SUPPORT)] {
        std::fs::write(home.path().join(file), text)
            .map_err(|e| start_err(format!("writing {file}: {e}")))?;
    }
    let mut cmd = sanitized_command(&node, home.path()).map_err(|e| start_err(e.to_string()))?;
    cmd.env("NODE_PATH", &modules).arg(home.path().join(name));
    cmd.envs(env.iter().map(|(k, v)| (k, v)));
    let child = JsonLinesChild::spawn(kind.clone(), cmd)?;
    JsonLinesDriver::greet(kind, child, home, &node.display().to_string(), timeout).await
}
