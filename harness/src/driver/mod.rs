//! Drivers: one interface over real SDK clients.
//!
//! A driver creates a client, makes one `sts:GetCallerIdentity` call with it, and drops
//! it, each returning a typed outcome with the SDK's own error names. `rust-sdk` runs the
//! AWS SDK for Rust in this process; `boto3` runs real boto3 in a long-lived Python
//! child speaking JSON lines (see `drivers/boto3_driver.py`).

pub mod boto3;
pub mod child;
pub mod rust_sdk;

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// Which SDK a driver runs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DriverKind {
    /// The AWS SDK for Rust (`aws-sdk-sts` + `aws-config`), in process.
    RustSdk,
    /// boto3 in a Python child process.
    Boto3,
}

impl DriverKind {
    /// Every driver name, as written in scenario files.
    pub const NAMES: &'static [&'static str] = &["rust-sdk", "boto3"];
}

impl FromStr for DriverKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "rust-sdk" => Ok(Self::RustSdk),
            "boto3" => Ok(Self::Boto3),
            other => Err(format!("unknown driver `{other}`")),
        }
    }
}

impl fmt::Display for DriverKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::RustSdk => "rust-sdk",
            Self::Boto3 => "boto3",
        })
    }
}

impl Serialize for DriverKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The result of one call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "kebab-case")]
pub enum CallOutcome {
    /// The SDK returned a response.
    Ok {
        /// The caller ARN STS returned.
        arn: String,
        /// The access key the client signed with, where the SDK exposes it.
        access_key_id: Option<String>,
    },
    /// The SDK raised or returned an error.
    Err {
        /// The SDK's own name for it: an exception class (`NoCredentialsError`), a
        /// service error code (`InvalidClientTokenId`), or a Rust SDK error variant
        /// (`CredentialsNotLoaded`, `DispatchFailure`).
        kind: String,
        /// The SDK's message.
        message: String,
    },
}

impl CallOutcome {
    /// True for [`CallOutcome::Ok`].
    pub fn is_ok(&self) -> bool {
        matches!(self, CallOutcome::Ok { .. })
    }
}

/// The result of creating a client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientOutcome {
    /// Whether the client holds credentials after creation: `Some(false)` is botocore's
    /// "provider chain returned None"; `None` where the SDK resolves lazily.
    pub credentials_resolved: Option<bool>,
    /// The error raised by client creation, if any (`kind: message`).
    pub error: Option<String>,
}

/// The driver itself failed (not the SDK call): a crashed, hung or babbling child.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    /// The driver could not be started.
    #[error("could not start the {driver} driver: {message}")]
    Start {
        /// Which driver.
        driver: DriverKind,
        /// Why.
        message: String,
    },
    /// The driver broke its protocol, exited or did not answer in time.
    #[error("{driver} driver failed: {message}{}", stderr_tail(.stderr))]
    Broken {
        /// Which driver.
        driver: DriverKind,
        /// What happened.
        message: String,
        /// The end of the child's stderr, when there is one.
        stderr: String,
    },
}

fn stderr_tail(stderr: &str) -> String {
    if stderr.trim().is_empty() {
        String::new()
    } else {
        format!("; stderr: {}", stderr.trim())
    }
}

/// Where the mocks are and how to reach them, given to a driver once they run.
#[derive(Debug, Clone)]
pub struct Endpoints {
    /// IMDS base URL (`http://127.0.0.1:PORT`).
    pub imds: String,
    /// Fake STS base URL.
    pub sts: String,
    /// Region the clients use (set explicitly so no SDK asks IMDS for it).
    pub region: String,
}

/// Default for [`DriverSetup::operation_timeout`]: 60 s.
pub const DEFAULT_OPERATION_TIMEOUT: Duration = Duration::from_secs(60);

/// Where to find what the child-process drivers need, and how long to wait for them.
#[derive(Debug, Clone)]
pub struct DriverSetup {
    /// The Python interpreter that has the pinned boto3 (the project's `.venv`).
    pub python: PathBuf,
    /// Longest a child driver may take to start (interpreter start-up, `import boto3`)
    /// or to answer one operation (configure, new client, call, drop client) before it
    /// counts as hung: it is killed and the cell fails as a driver error carrying its
    /// stderr. Wall-clock time; default [`DEFAULT_OPERATION_TIMEOUT`]
    /// (`imds-harness run --operation-timeout`).
    pub operation_timeout: Duration,
}

impl DriverSetup {
    /// A setup with `python` and the default operation timeout.
    pub fn new(python: PathBuf) -> Self {
        Self {
            python,
            operation_timeout: DEFAULT_OPERATION_TIMEOUT,
        }
    }
}

/// One SDK behind one interface. All methods are called in order, never concurrently.
#[async_trait]
pub trait Driver: Send {
    /// The SDK and its version, e.g. `boto3 1.43.11 (botocore 1.43.11)`.
    fn sdk_version(&self) -> String;

    /// Points the driver at the mocks. Called once, after the mocks start and before any
    /// client is created.
    async fn configure(&mut self, endpoints: &Endpoints) -> Result<(), DriverError>;

    /// Creates a client (replacing any previous one), as the application would.
    async fn new_client(&mut self) -> Result<ClientOutcome, DriverError>;

    /// Calls `sts:GetCallerIdentity` on the current client.
    async fn call(&mut self) -> Result<CallOutcome, DriverError>;

    /// Drops the current client.
    async fn drop_client(&mut self) -> Result<(), DriverError>;
}

/// Starts a driver of `kind` (for child drivers: spawns the process and waits until the
/// SDK is imported).
///
/// # Errors
/// [`DriverError::Start`] when the SDK or its interpreter is missing.
pub async fn start(kind: &DriverKind, setup: &DriverSetup) -> Result<Box<dyn Driver>, DriverError> {
    match kind {
        DriverKind::RustSdk => Ok(Box::new(rust_sdk::RustSdkDriver::new())),
        DriverKind::Boto3 => Ok(Box::new(boto3::Boto3Driver::start(setup).await?)),
    }
}
