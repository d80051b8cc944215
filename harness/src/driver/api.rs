//! The driver interface: what every SDK driver implements ([`Driver`]), the outcomes it
//! returns, how it fails ([`DriverError`]), and what it is given ([`Endpoints`],
//! [`DriverSetup`]). The drivers themselves depend on this module, never on each other.

use std::path::PathBuf;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::kind::DriverKind;
use super::settings::SdkSettings;

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
        /// The credentials as the SDK held them after the call (expiry, account id),
        /// where the driver can read them; absent from older JSON.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        credentials: Option<HeldCredentials>,
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
    /// The call had not returned when its strategy's `call_timeout` ran out: no answer
    /// and no error from the SDK (a hang). The runner abandons the call there and the
    /// cell ends (the driver is stopped with the cell); never a driver's answer.
    Hung,
}

impl CallOutcome {
    /// True for [`CallOutcome::Ok`].
    pub fn is_ok(&self) -> bool {
        matches!(self, CallOutcome::Ok { .. })
    }
}

/// The credentials an SDK held after a successful call, as the SDK holds them (not as
/// IMDS served them): botocore's `RefreshableCredentials._expiry_time` and `account_id`,
/// JS `AwsCredentialIdentity.expiration` and `accountId`, the Rust SDK's
/// `Credentials::expiry()` and `account_id()`, Go's `aws.Credentials.Expires`, Ruby's
/// `InstanceProfileCredentials#expiration`. Under static stability an SDK extends the
/// expiry of expired credentials, so [`Self::expiration`] may differ from
/// [`Self::issued_expiration`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct HeldCredentials {
    /// When the SDK believes the credentials expire, RFC 3339 in UTC with milliseconds
    /// (`2026-12-02T22:13:05.000Z`); `None` when the SDK exposes no expiry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration: Option<String>,
    /// The account id the SDK attached to the credentials (from the extended IMDS
    /// document's `AccountId`); `None` when the SDK has none or exposes none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// The `Expiration` IMDS issued with the access key that signed the call (the mock's
    /// credential store, looked up by key by the runner); `None` when the key is not
    /// known (the driver reported none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued_expiration: Option<String>,
}

impl HeldCredentials {
    /// Reads a driver's `expiration` as the protocol carries it: RFC 3339 text (any
    /// offset) or milliseconds since the Unix epoch; normalised to RFC 3339 UTC with
    /// milliseconds. `None` for anything else.
    pub fn normalise_expiration(value: &serde_json::Value) -> Option<String> {
        let at = match value {
            serde_json::Value::String(text) => chrono::DateTime::parse_from_rfc3339(text)
                .ok()?
                .with_timezone(&chrono::Utc),
            serde_json::Value::Number(n) => chrono::DateTime::from_timestamp_millis(n.as_i64()?)?,
            _ => return None,
        };
        Some(rfc3339_ms(at))
    }

    /// Whether the SDK's expiry is later than the one issued: `Some(true)` extended,
    /// `Some(false)` the same or earlier, `None` when either is unknown.
    pub fn extended(&self) -> Option<bool> {
        let parse = |t: &Option<String>| {
            t.as_deref()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        };
        Some(parse(&self.expiration)? > parse(&self.issued_expiration)?)
    }
}

/// `at` as RFC 3339 in UTC with milliseconds and `Z`.
pub fn rfc3339_ms(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A message the SDK itself logged during a driver operation (botocore's `logging`,
/// JS v3's `logger.warn`, the Rust SDK's `tracing` at WARN): the timeline's
/// `sdk-warning` events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SdkWarning {
    /// The SDK's level name as it logged it (`WARNING`, `INFO`, `warn`).
    pub level: String,
    /// The logger or module that logged it (`botocore.utils`,
    /// `aws_config::imds::credentials`), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logger: Option<String>,
    /// The SDK's message, as formatted.
    pub message: String,
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
    /// The driver's toolchain or SDK is not installed on this machine: its cells are
    /// reported as skipped (not failed), with the command that installs it.
    #[error("the {driver} driver is unavailable here ({reason}); install it with: {install}")]
    Unavailable {
        /// Which driver.
        driver: DriverKind,
        /// What is missing.
        reason: String,
        /// The command that installs it.
        install: String,
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
    /// The SDK's own settings for this cell (see [`crate::driver::settings`]).
    pub settings: SdkSettings,
    /// Variables and profile settings passed through to the SDK; with
    /// `region_from_imds` the driver gives the SDK no region (see
    /// [`crate::driver::passthrough`]).
    pub passthrough: super::passthrough::Passthrough,
    /// The scenario's seed. Child drivers seed their language's random number generator
    /// with it (Python's `random`, Node's `Math.random`), so the SDK's own jitter (botocore's
    /// expiry extension, JS v3's static-stability refresh time, retry backoff) is the same
    /// on every run of the scenario and a different seed explores other draws.
    pub seed: u64,
    /// The cell clock (the mock's virtual wall clock): the Rust SDK's `TimeSource` reads
    /// it, plus the driver's `clock_offset_s`. Child drivers follow it through
    /// libfaketime instead (see [`crate::driver::clock`]).
    pub clock: std::sync::Arc<mock_imds::Clock>,
    /// The SDK's own container credential provider variables, set from the mock (never
    /// from the host) when the scenario's `[endpoint]` is a container endpoint:
    /// `AWS_CONTAINER_CREDENTIALS_FULL_URI` and `AWS_CONTAINER_AUTHORIZATION_TOKEN` or
    /// `…_TOKEN_FILE` (see `mock_imds::MockImds::container_env`); empty for IMDS. Child
    /// drivers get them as the `container_env` object of `configure` and put them in the
    /// SDK's environment.
    pub container_env: Vec<(String, String)>,
}

/// Default for [`DriverSetup::operation_timeout`]: 60 s.
pub const DEFAULT_OPERATION_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// Where to find what the child-process drivers need, and how long to wait for them.
#[derive(Debug, Clone)]
pub struct DriverSetup {
    /// Longest a child driver may take to start (interpreter start-up, `import boto3`)
    /// or to answer one operation (configure, new client, call, drop client) before it
    /// counts as hung: it is killed and the cell fails as a driver error carrying its
    /// stderr. Wall-clock time; default [`DEFAULT_OPERATION_TIMEOUT`]
    /// (`imds-harness run --operation-timeout`).
    pub operation_timeout: std::time::Duration,
    /// The Python interpreter that has the pinned boto3 and awscli (the project's `.venv`).
    pub python: PathBuf,
    /// The folder whose `node_modules` has the pinned `@aws-sdk/client-sts`
    /// (`harness/drivers/js`, installed by `scripts/setup`).
    pub js_dir: PathBuf,
    /// The Python of the `boto3-crt` driver: boto3 with awscrt (the project's `.venv-crt`).
    pub python_crt: PathBuf,
    /// The Python of the `aiobotocore` driver (the project's `.venv-aio`).
    pub python_aio: PathBuf,
    /// Where environments for other SDK versions (`boto3@1.34.162`) are created and kept.
    pub cache_dir: PathBuf,
}

impl DriverSetup {
    /// The project's environments, and the default cache (`$IMDS_HARNESS_CACHE`, else
    /// `$XDG_CACHE_HOME/imds-harness`, else `~/.cache/imds-harness`).
    pub fn with_python(python: PathBuf) -> Self {
        Self {
            python,
            js_dir: crate::paths::workspace_root()
                .join("harness")
                .join("drivers")
                .join("js"),
            python_crt: crate::paths::venv_python(".venv-crt"),
            python_aio: crate::paths::venv_python(".venv-aio"),
            cache_dir: crate::paths::default_cache(),
            operation_timeout: DEFAULT_OPERATION_TIMEOUT,
        }
    }
}

/// One SDK behind one interface. All methods are called in order, never concurrently.
#[async_trait]
pub trait Driver: Send {
    /// The SDK and its version, e.g. `boto3 1.43.11 (botocore 1.43.11)`.
    fn sdk_version(&self) -> String;

    /// Points the driver at the mocks and applies the SDK settings. Called once, after
    /// the mocks start and before any client is created; creates the first session.
    async fn configure(&mut self, endpoints: &Endpoints) -> Result<(), DriverError>;

    /// Starts a new session (boto3's `Session`); SDKs without sessions do nothing.
    async fn new_session(&mut self) -> Result<(), DriverError> {
        Ok(())
    }

    /// Creates a client (replacing any previous one), as the application would.
    async fn new_client(&mut self) -> Result<ClientOutcome, DriverError>;

    /// Calls `sts:GetCallerIdentity` on the current client, naming the call `call_id`
    /// so the fake STS can tell which attempt it was: the driver sends it in the
    /// [`mock_imds::sts::CALL_ID_HEADER`] header on every request of the call (retries
    /// inside the SDK included), or, where it cannot set a header, in the user agent
    /// (see [`mock_imds::sts::call_id`]). The verdict ties accepted STS calls to attempts
    /// by this id, never by time.
    async fn call(&mut self, call_id: &str) -> Result<CallOutcome, DriverError>;

    /// Drops the current client.
    async fn drop_client(&mut self) -> Result<(), DriverError>;

    /// What the SDK logged as warnings since the last time this was asked (the runner
    /// asks after every operation); empty for drivers that capture no SDK log.
    fn take_sdk_warnings(&mut self) -> Vec<SdkWarning> {
        Vec::new()
    }
}
