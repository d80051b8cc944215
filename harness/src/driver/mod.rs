//! Drivers: one interface over real SDK clients.
//!
//! A driver creates a client, makes one `sts:GetCallerIdentity` call with it, and drops
//! it, each returning a typed outcome with the SDK's own error names:
//! - [`api`]: the interface every driver implements ([`Driver`]), its outcomes and errors,
//!   and what a driver is given ([`Endpoints`], [`DriverSetup`]);
//! - [`kind`]: the SDKs there are drivers for, by name;
//! - [`spec`]: which driver a cell runs (`kind[@version]`, a `[driver.NAME]` table);
//! - [`settings`]: each SDK's own settings, one typed struct per SDK;
//! - [`passthrough`]: the SDK's own variables and profile settings, allowlisted per SDK;
//! - `rust-sdk` ([`rust_sdk`]): the AWS SDK for Rust in this process (the credentials it
//!   holds read through [`rust_held`], what it logs through [`rust_log`]);
//! - `boto3`, `boto3-crt`, `aiobotocore` ([`boto3`]) and `js-v3`, `js-v2` ([`js`]): the
//!   real SDK in a long-lived child speaking JSON lines ([`jsonl`]; `drivers/*_driver.*`);
//! - `command` ([`command`]): a program of the user's speaking the same protocol;
//! - `aws-cli` ([`aws_cli`]): one `aws sts get-caller-identity` process per call;
//! - `go-v2`, `go-v1` ([`go`]) and `ruby` ([`ruby`]): the Go SDKs (a program built once
//!   from `drivers/go/`) and the Ruby SDK, Debian's single versions, speaking JSON lines;
//! - [`clock`]: the cell clock every driver reads (the Rust SDK's `TimeSource`,
//!   libfaketime for children).
//!
//! Children run with a sanitised environment ([`child`]) and refuse any non-loopback
//! connection; other SDK versions get environments of their own ([`envs`]). This file only
//! picks the driver a spec names ([`prepare`], [`start`]); the drivers depend on [`api`],
//! never on this file or on each other.

pub mod api;
pub mod aws_cli;
pub mod boto3;
pub mod child;
pub mod clock;
pub mod command;
pub mod envs;
pub mod go;
pub mod js;
pub mod jsonl;
pub mod kind;
pub mod passthrough;
pub mod ruby;
pub mod rust_held;
pub mod rust_log;
pub mod rust_sdk;
pub mod settings;
pub mod settings_go;
pub mod settings_ruby;
pub mod spec;

pub use api::{
    CallOutcome, ClientOutcome, Driver, DriverError, DriverSetup, Endpoints, HeldCredentials,
    SdkWarning, DEFAULT_OPERATION_TIMEOUT,
};
pub use kind::{DriverKind, UnknownDriver};
pub use settings::SdkSettings;
pub use spec::DriverSpec;

/// Creates the environment `spec` needs (a cached venv or node_modules for a pinned
/// version) if it does not exist yet; a no-op for the project's own versions. The runner
/// calls this for every driver before any cell starts, so that installing an SDK never
/// competes for the CPU with a running cell's timing.
///
/// # Errors
/// [`DriverError::Start`] when the environment cannot be created.
pub async fn prepare(spec: &DriverSpec, setup: &DriverSetup) -> Result<(), DriverError> {
    let version = spec.version.as_deref();
    match spec.kind {
        DriverKind::RustSdk | DriverKind::Command => Ok(()),
        DriverKind::Boto3 | DriverKind::AwsCli | DriverKind::Boto3Crt | DriverKind::Aiobotocore => {
            envs::python_for(spec.kind.clone(), version, setup)
                .await
                .map(drop)
        }
        DriverKind::JsV3 | DriverKind::JsV2 => envs::js_dir_for(spec.kind.clone(), version, setup)
            .await
            .map(drop),
        DriverKind::GoV2 | DriverKind::GoV1 => go::build(&spec.kind, setup).await.map(drop),
        DriverKind::Ruby => Ok(()),
    }
}

/// Starts the driver `spec` names (for child drivers: creates the SDK version's
/// environment on first use, spawns the process and waits until the SDK is loaded).
///
/// # Errors
/// [`DriverError::Unavailable`] when the SDK or its interpreter is not installed (the cell
/// is skipped); [`DriverError::Start`] when it does not start.
pub async fn start(spec: &DriverSpec, setup: &DriverSetup) -> Result<Box<dyn Driver>, DriverError> {
    start_with(spec, setup, &[]).await
}

/// [`start`], with `env` added to a child driver's environment (and to every process the
/// AWS CLI driver starts): the cell clock's libfaketime variables
/// ([`clock::CellClock::child_env`]) and a link-local cell's guard variables
/// ([`crate::netns::guard_env`]). Ignored by the in-process Rust SDK.
///
/// # Errors
/// As [`start`].
pub async fn start_with(
    spec: &DriverSpec,
    setup: &DriverSetup,
    env: &[(String, String)],
) -> Result<Box<dyn Driver>, DriverError> {
    let version = spec.version.as_deref();
    match spec.kind {
        DriverKind::RustSdk => Ok(Box::new(rust_sdk::RustSdkDriver::new())),
        DriverKind::Boto3 | DriverKind::Boto3Crt | DriverKind::Aiobotocore => {
            let python = envs::python_for(spec.kind.clone(), version, setup).await?;
            Ok(Box::new(
                boto3::start(spec.kind.clone(), &python, setup.operation_timeout, env).await?,
            ))
        }
        DriverKind::AwsCli => {
            let python = envs::python_for(DriverKind::AwsCli, version, setup).await?;
            Ok(Box::new(aws_cli::AwsCliDriver::start(&python, env).await?))
        }
        DriverKind::JsV3 | DriverKind::JsV2 => {
            let js_dir = envs::js_dir_for(spec.kind.clone(), version, setup).await?;
            Ok(Box::new(
                js::start(spec.kind.clone(), &js_dir, setup.operation_timeout, env).await?,
            ))
        }
        DriverKind::Command => {
            let command = spec.settings.command().unwrap_or_default();
            Ok(Box::new(
                command::start(command, setup.operation_timeout, env).await?,
            ))
        }
        DriverKind::GoV2 | DriverKind::GoV1 => {
            Ok(Box::new(go::start(&spec.kind, setup, env).await?))
        }
        DriverKind::Ruby => Ok(Box::new(ruby::start(setup, env).await?)),
    }
}
