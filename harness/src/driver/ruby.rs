//! The `ruby` driver: the AWS SDK for Ruby (aws-sdk-core 3.168.1, Debian's
//! `ruby-aws-sdk-core`, which carries `Aws::STS::Client`) in a long-lived Ruby child
//! speaking JSON lines (`drivers/ruby_driver.rb`), one per cell.
//!
//! aws-sdk-core 3.168.1 ignores the port of `AWS_EC2_METADATA_SERVICE_ENDPOINT` and
//! connects to port 80 (measured here; `InstanceProfileCredentials`), so each Ruby cell's
//! mock IMDS listens on a loopback address of its own, `127.0.0.N:80` (see
//! [`DriverKind::fixed_imds_port`]; binding port 80 needs root). The STS endpoint is set in
//! code (`endpoint:`); the driver refuses every non-loopback connection.

use super::api::{DriverError, DriverSetup};
use super::child::{sanitized_command, JsonLinesChild};
use super::jsonl::JsonLinesDriver;
use super::kind::DriverKind;

/// The driver program, embedded so the binary works from any directory.
pub const SCRIPT: &str = include_str!("../../drivers/ruby_driver.rb");

/// The loopback guard the driver requires (`drivers/ruby_guard.rb`): refuses connections
/// to non-loopback addresses and lookups of names other than IP literals and localhost.
pub const GUARD: &str = include_str!("../../drivers/ruby_guard.rb");

/// What installs Ruby and the SDK (Debian packages, as root).
pub const INSTALL: &str = "apt-get install ruby ruby-aws-sdk-core";

/// Spawns `ruby` with the driver and waits for it to load the SDK.
///
/// # Errors
/// [`DriverError::Unavailable`] naming [`INSTALL`] when Ruby is missing (the cell is
/// skipped); [`DriverError::Start`] when the SDK does not load.
pub async fn start(
    setup: &DriverSetup,
    clock_env: &[(String, String)],
) -> Result<JsonLinesDriver, DriverError> {
    let start_err = |message: String| DriverError::Start {
        driver: DriverKind::Ruby,
        message,
    };
    let ruby = super::envs::which("ruby").ok_or_else(|| DriverError::Unavailable {
        driver: DriverKind::Ruby,
        reason: "`ruby` is not on PATH (Ruby and the SDK are Debian packages)".into(),
        install: format!("{INSTALL} (as root; scripts/setup does)"),
    })?;
    let home = tempfile::Builder::new()
        .prefix("imds-harness-ruby-")
        .tempdir()
        .map_err(|e| start_err(format!("temporary HOME: {e}")))?;
    let script = home.path().join("ruby_driver.rb");
    for (path, text) in [
        (script.clone(), SCRIPT),
        (home.path().join("ruby_guard.rb"), GUARD),
    ] {
        std::fs::write(&path, text)
            .map_err(|e| start_err(format!("writing {}: {e}", path.display())))?;
    }
    let mut cmd = sanitized_command(&ruby, home.path()).map_err(|e| start_err(e.to_string()))?;
    cmd.arg(&script).envs(clock_env.iter().map(|(k, v)| (k, v)));
    let child = JsonLinesChild::spawn(DriverKind::Ruby, cmd)?;
    JsonLinesDriver::greet(
        DriverKind::Ruby,
        child,
        home,
        &format!(
            "{} (is aws-sdk-core installed? `{INSTALL}`)",
            ruby.display()
        ),
        setup.operation_timeout,
    )
    .await
}
