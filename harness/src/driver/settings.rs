//! Each SDK's own settings, as a scenario's `[driver.NAME]` table sets them: one typed
//! struct per SDK, each `#[serde(deny_unknown_fields)]`.
//!
//! ```toml
//! [driver.boto3-patient]
//! sdk = "boto3"                        # kind[@version] (see crate::driver::spec)
//! metadata_service_timeout = 5         # seconds (botocore)
//! metadata_service_num_attempts = 3
//! ```
//!
//! Settings each kind takes (anything else is an error naming what is allowed):
//! - `boto3`, `aws-cli` ([`BotocoreSettings`]): `metadata_service_timeout` (s),
//!   `metadata_service_num_attempts`, `retries_mode` (`legacy`|`standard`|`adaptive`),
//!   `retries_max_attempts`, `ec2_metadata_v1_disabled` (bool) — botocore's config names.
//! - `rust-sdk` ([`RustSdkSettings`]): `imds_connect_timeout_ms`, `imds_read_timeout_ms`,
//!   `imds_max_attempts`, `credential_chain` (`imds`|`default`).
//! - every built-in SDK also takes `env`, `profile` and `region_from_imds`, passed
//!   through as the SDK reads them ([`super::passthrough`]).
//! - `js-v3` ([`JsV3Settings`]): `timeout_ms`, `max_retries` (the IMDS provider's options).
//! - `boto3-crt`, `aiobotocore`: botocore's settings, as for `boto3`.
//! - `js-v2` ([`JsV2Settings`]): `timeout_ms`, `connect_timeout_ms`, `max_retries`,
//!   `ec2_metadata_v1_disabled` (`AWS.EC2MetadataCredentials` options), `logger`
//!   (`AWS.config.logger` set, to stderr).
//! - `command` ([`CommandSettings`]): `command` (the program and its arguments), no `sdk`.
//! - every kind: `clock_offset_s`, seconds the driver's wall clock is ahead of the cell
//!   clock (negative: behind): the Rust SDK's `TimeSource`, libfaketime for children.
//! - `go-v2` ([`GoV2Settings`], in [`super::settings_go`]): `retry_max_attempts`,
//!   `retry_mode` (`standard`|`adaptive`); `go-v1` ([`GoV1Settings`]): `max_retries`,
//!   `http_timeout_ms`.
//! - `ruby` ([`RubySettings`], in [`super::settings_ruby`]):
//!   `instance_profile_credentials_retries`, `instance_profile_credentials_timeout` (s),
//!   `retry_limit`, `retry_mode` (`legacy`|`standard`|`adaptive`), `max_attempts`.
//!
//! A new setting is one field of its SDK's struct (with a value type below that says what
//! it accepts); a new SDK is one struct and one [`SdkSettings`] variant. Child drivers
//! receive the settings as JSON: the struct's fields that are set, by name.

use std::collections::BTreeMap;

use serde::de::{DeserializeSeed, IntoDeserializer, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use super::kind::DriverKind;
pub use super::settings_go::{GoV1Settings, GoV2Settings};
pub use super::settings_ruby::RubySettings;

/// The settings of one driver, typed by its SDK.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum SdkSettings {
    /// `boto3` and `aws-cli`: botocore's settings.
    Botocore(BotocoreSettings),
    /// `rust-sdk`: the AWS SDK for Rust's IMDS client and clock.
    RustSdk(RustSdkSettings),
    /// `js-v3`: the JS v3 IMDS credential provider's options.
    JsV3(JsV3Settings),
    /// `js-v2`: `AWS.EC2MetadataCredentials`'s options.
    JsV2(JsV2Settings),
    /// `command`: the program to run.
    Command(CommandSettings),
    /// `go-v2`: `config.LoadDefaultConfig` options.
    GoV2(GoV2Settings),
    /// `go-v1`: the session's `aws.Config`.
    GoV1(GoV1Settings),
    /// `ruby`: `Aws::STS::Client` options.
    Ruby(RubySettings),
}

/// botocore's settings (`boto3`, `aws-cli`), by botocore's config names. Each is passed
/// to botocore as its environment variable ([`BotocoreSettings::env`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BotocoreSettings {
    /// IMDS connect and read timeout, seconds (`AWS_METADATA_SERVICE_TIMEOUT`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata_service_timeout: Option<Seconds>,
    /// IMDS attempts per credential fetch (`AWS_METADATA_SERVICE_NUM_ATTEMPTS`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata_service_num_attempts: Option<Count>,
    /// The retry mode of API calls (`AWS_RETRY_MODE`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries_mode: Option<RetryMode>,
    /// Attempts per API call, the first included (`AWS_MAX_ATTEMPTS`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries_max_attempts: Option<Count>,
    /// Refuse IMDSv1 (`AWS_EC2_METADATA_V1_DISABLED`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ec2_metadata_v1_disabled: Option<Switch>,
    /// Seconds this driver's wall clock is ahead of the cell clock (negative: behind),
    /// through libfaketime (not a botocore setting).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock_offset_s: Option<SignedSeconds>,
}

/// The AWS SDK for Rust's settings (`rust-sdk`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RustSdkSettings {
    /// The IMDS client's connect timeout, milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imds_connect_timeout_ms: Option<Millis>,
    /// The IMDS client's read timeout, milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imds_read_timeout_ms: Option<Millis>,
    /// The IMDS client's attempts per request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imds_max_attempts: Option<Count>,
    /// Which credentials provider the client has: `imds` (the default: only
    /// `ImdsCredentialsProvider`) or `default` (aws-config's default chain, as
    /// `aws_config::defaults` builds it, reading the cell's own profile file: the profile's
    /// `role_arn` chains, and `region_from_imds` uses the chain's IMDS region provider).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_chain: Option<CredentialChain>,
    /// Seconds the SDK's clock is ahead of the cell clock (negative: behind), through its
    /// `TimeSource`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock_offset_s: Option<SignedSeconds>,
}

/// The JS v3 SDK's IMDS credential provider options (`js-v3`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsV3Settings {
    /// `timeout`: per IMDS request, milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<Millis>,
    /// `maxRetries`: retries per IMDS request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_retries: Option<Count>,
    /// Seconds this driver's wall clock is ahead of the cell clock (negative: behind),
    /// through libfaketime (not an SDK option).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock_offset_s: Option<SignedSeconds>,
}

/// The JS v2 SDK's `AWS.EC2MetadataCredentials` options (`js-v2`); defaults from
/// `aws-sdk/lib/credentials/ec2_metadata_credentials.js` (2.1693.0): 1000 ms timeout,
/// 1000 ms connect timeout, 3 retries.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsV2Settings {
    /// `httpOptions.timeout`: per IMDS request, milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<Count>,
    /// `httpOptions.connectTimeout`: per IMDS connection, milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_timeout_ms: Option<Count>,
    /// `maxRetries`: retries per IMDS request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_retries: Option<Count>,
    /// `ec2MetadataV1Disabled`: refuse the IMDSv1 fallback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ec2_metadata_v1_disabled: Option<Switch>,
    /// `AWS.config.logger`: `true` gives the SDK a logger (to the driver's stderr); the
    /// default is none, and `EC2MetadataCredentials` then throws (`this.logger.warn` on
    /// null) when it extends expired credentials (ec2_metadata_credentials.js).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logger: Option<Switch>,
    /// Seconds this driver's wall clock is ahead of the cell clock (negative: behind),
    /// through libfaketime (not an SDK option).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock_offset_s: Option<SignedSeconds>,
}

/// A driver of your own (`command`): a program speaking the JSON-lines protocol (README
/// "Bring your own driver"), run with the same sanitised environment, timeouts and
/// process-group kill as the built-in child drivers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandSettings {
    /// The program and its arguments. A program with a `/`, and any word starting with
    /// `./` or `../`, is relative to the scenario file's folder; a program without `/` is
    /// looked up on `PATH`.
    pub command: CommandLine,
    /// Seconds this driver's wall clock is ahead of the cell clock (negative: behind),
    /// through libfaketime (not a protocol message).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock_offset_s: Option<SignedSeconds>,
}

/// A setting that a `[driver.NAME]` table could not give its SDK.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingError {
    /// A key the SDK's struct does not have.
    #[error("`{kind}` has no setting `{key}`; it takes {}", quoted(accepted))]
    Unknown {
        /// The SDK.
        kind: DriverKind,
        /// The key as written.
        key: String,
        /// Every setting the SDK takes, in the struct's order.
        accepted: &'static [&'static str],
    },
    /// A setting the SDK needs that the table does not give.
    #[error("`{kind}` needs the setting `{key}`")]
    Missing {
        /// The SDK.
        kind: DriverKind,
        /// The setting's name.
        key: String,
    },
    /// A value of the wrong type or range.
    #[error("`{key}` must be {want}, not {value}")]
    Invalid {
        /// The key.
        key: String,
        /// What the setting accepts, e.g. `a whole number in 0..=10000`.
        want: String,
        /// The value as TOML writes it.
        value: String,
    },
}

fn quoted(names: &[&str]) -> String {
    names
        .iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl SdkSettings {
    /// No settings: the SDK's own defaults.
    pub fn defaults(kind: &DriverKind) -> Self {
        match kind {
            DriverKind::Boto3
            | DriverKind::AwsCli
            | DriverKind::Boto3Crt
            | DriverKind::Aiobotocore => Self::Botocore(BotocoreSettings::default()),
            DriverKind::RustSdk => Self::RustSdk(RustSdkSettings::default()),
            DriverKind::JsV3 => Self::JsV3(JsV3Settings::default()),
            DriverKind::JsV2 => Self::JsV2(JsV2Settings::default()),
            DriverKind::Command => Self::Command(CommandSettings::default()),
            DriverKind::GoV2 => Self::GoV2(GoV2Settings::default()),
            DriverKind::GoV1 => Self::GoV1(GoV1Settings::default()),
            DriverKind::Ruby => Self::Ruby(RubySettings::default()),
        }
    }

    /// Reads `kind`'s settings from a `[driver.NAME]` table's keys (`sdk` taken out),
    /// key by key in name order.
    ///
    /// # Errors
    /// The first key (by name) that `kind` does not take or whose value it does not accept.
    pub fn from_table(
        kind: &DriverKind,
        table: &BTreeMap<String, toml::Value>,
    ) -> Result<Self, SettingError> {
        fn read<T: for<'de> Deserialize<'de>>(
            kind: &DriverKind,
            table: &BTreeMap<String, toml::Value>,
        ) -> Result<T, SettingError> {
            T::deserialize(TableDeserializer { table }).map_err(|e| match e {
                DeError::Unknown { key, accepted } => SettingError::Unknown {
                    kind: kind.clone(),
                    key,
                    accepted,
                },
                DeError::Invalid { key, want, value } => SettingError::Invalid { key, want, value },
                DeError::Missing { key } => SettingError::Missing {
                    kind: kind.clone(),
                    key,
                },
            })
        }
        Ok(match kind {
            DriverKind::Boto3
            | DriverKind::AwsCli
            | DriverKind::Boto3Crt
            | DriverKind::Aiobotocore => Self::Botocore(read(kind, table)?),
            DriverKind::RustSdk => Self::RustSdk(read(kind, table)?),
            DriverKind::JsV3 => Self::JsV3(read(kind, table)?),
            DriverKind::JsV2 => Self::JsV2(read(kind, table)?),
            DriverKind::Command => Self::Command(read(kind, table)?),
            DriverKind::GoV2 => Self::GoV2(read(kind, table)?),
            DriverKind::GoV1 => Self::GoV1(read(kind, table)?),
            DriverKind::Ruby => Self::Ruby(read(kind, table)?),
        })
    }

    /// botocore's environment variables for these settings (empty for other SDKs).
    pub fn botocore_env(&self) -> Vec<(&'static str, String)> {
        match self {
            Self::Botocore(s) => s.env(),
            _ => Vec::new(),
        }
    }

    /// The driver's `clock_offset_s`: how far its wall clock is ahead of the cell clock
    /// (zero when unset).
    pub fn clock_offset(&self) -> mock_imds::SignedDuration {
        let secs = match self {
            Self::Botocore(s) => s.clock_offset_s,
            Self::RustSdk(s) => s.clock_offset_s,
            Self::JsV3(s) => s.clock_offset_s,
            Self::JsV2(s) => s.clock_offset_s,
            Self::Command(s) => s.clock_offset_s,
            Self::Ruby(s) => s.clock_offset_s,
            Self::GoV2(_) | Self::GoV1(_) => None,
        };
        mock_imds::SignedDuration::from_secs(secs.map_or(0, |s| s.0))
    }

    /// True when the driver has a `clock_offset_s`.
    pub fn has_clock_offset(&self) -> bool {
        match self {
            Self::Botocore(s) => s.clock_offset_s.is_some(),
            Self::RustSdk(s) => s.clock_offset_s.is_some(),
            Self::JsV3(s) => s.clock_offset_s.is_some(),
            Self::JsV2(s) => s.clock_offset_s.is_some(),
            Self::Command(s) => s.clock_offset_s.is_some(),
            Self::Ruby(s) => s.clock_offset_s.is_some(),
            Self::GoV2(_) | Self::GoV1(_) => false,
        }
    }

    /// The Rust SDK's settings (its defaults for another SDK's).
    pub fn rust_sdk(&self) -> RustSdkSettings {
        match self {
            Self::RustSdk(s) => s.clone(),
            _ => RustSdkSettings::default(),
        }
    }

    /// The program of a `command` driver (`None` for the built-in SDKs).
    pub fn command(&self) -> Option<&[String]> {
        match self {
            Self::Command(c) => Some(&c.command.0),
            _ => None,
        }
    }
}

impl BotocoreSettings {
    /// `(variable, value)` pairs, by setting name, e.g. `metadata_service_timeout = 5` →
    /// `AWS_METADATA_SERVICE_TIMEOUT=5`. The one place this mapping lives: the AWS CLI
    /// driver sets them on each process, the boto3 driver sends them to its child.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        use serde_json::json;
        [
            (
                "AWS_EC2_METADATA_V1_DISABLED",
                self.ec2_metadata_v1_disabled.map(|v| json!(v)),
            ),
            (
                "AWS_METADATA_SERVICE_NUM_ATTEMPTS",
                self.metadata_service_num_attempts.map(|v| json!(v)),
            ),
            (
                "AWS_METADATA_SERVICE_TIMEOUT",
                self.metadata_service_timeout.map(|v| json!(v)),
            ),
            (
                "AWS_MAX_ATTEMPTS",
                self.retries_max_attempts.map(|v| json!(v)),
            ),
            ("AWS_RETRY_MODE", self.retries_mode.map(|v| json!(v))),
        ]
        .into_iter()
        .filter_map(|(var, value)| Some((var, env_text(&value?))))
        .collect()
    }
}

/// A JSON value as botocore reads it from the environment: strings as they are, whole
/// numbers without a fraction (`5`, not `5.0`).
fn env_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => n
            .as_f64()
            .filter(|f| f.fract() == 0.0)
            .map_or_else(|| n.to_string(), |f| format!("{f:.0}")),
        other => other.to_string(),
    }
}

// ---- value types: what each setting accepts --------------------------------------

/// A setting's value type: which TOML values it accepts, and how an error says so.
pub(super) trait SettingValue: Sized {
    /// What it accepts, for `` `KEY` must be WANT, not VALUE ``.
    const WANT: &'static str;
    fn from_toml(value: &toml::Value) -> Option<Self>;
}

macro_rules! deserialize_via_toml {
    ($($t:ty),*) => {$(
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let value = toml::Value::deserialize(d)?;
                Self::from_toml(&value).ok_or_else(|| serde::de::Error::custom(Self::WANT))
            }
        }
    )*};
}

/// A number of seconds in 0..=86400 (whole or not; 24 h, as every duration:
/// [`mock_imds::MAX_DURATION`]); JSON: a float. `1e300` or `inf` would overflow the SDK's
/// timers (botocore's `metadata_service_timeout = 1e300` left the SDK without a client).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Seconds(pub f64);

/// The largest [`Seconds`].
const MAX_SECONDS: f64 = 86_400.0;

impl SettingValue for Seconds {
    const WANT: &'static str = "a number of seconds in 0..=86400 (24 h)";
    fn from_toml(value: &toml::Value) -> Option<Self> {
        let s = match value {
            toml::Value::Integer(i) => *i as f64,
            toml::Value::Float(f) => *f,
            _ => return None,
        };
        (s.is_finite() && (0.0..=MAX_SECONDS).contains(&s)).then_some(Self(s))
    }
}

/// A whole number of milliseconds in 0..=86_400_000 (24 h).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Millis(pub u64);

impl SettingValue for Millis {
    const WANT: &'static str = "a whole number of milliseconds in 0..=86400000 (24 h)";
    fn from_toml(value: &toml::Value) -> Option<Self> {
        match value {
            toml::Value::Integer(i) => u64::try_from(*i)
                .ok()
                .filter(|ms| *ms <= 86_400_000)
                .map(Self),
            _ => None,
        }
    }
}

/// A whole number of attempts or retries in 0..=10000 (a strategy's bound:
/// [`crate::scenario::MAX_ATTEMPTS`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Count(pub u64);

impl SettingValue for Count {
    const WANT: &'static str = "a whole number in 0..=10000";
    fn from_toml(value: &toml::Value) -> Option<Self> {
        match value {
            toml::Value::Integer(i) => u64::try_from(*i)
                .ok()
                .filter(|n| *n <= u64::from(crate::scenario::MAX_ATTEMPTS))
                .map(Self),
            _ => None,
        }
    }
}

/// A whole number of seconds, negative allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct SignedSeconds(pub i64);

impl SettingValue for SignedSeconds {
    const WANT: &'static str = "a whole number of seconds";
    fn from_toml(value: &toml::Value) -> Option<Self> {
        match value {
            toml::Value::Integer(i) => Some(Self(*i)),
            _ => None,
        }
    }
}

/// `true` or `false`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Switch(pub bool);

impl SettingValue for Switch {
    const WANT: &'static str = "true or false";
    fn from_toml(value: &toml::Value) -> Option<Self> {
        match value {
            toml::Value::Boolean(b) => Some(Self(*b)),
            _ => None,
        }
    }
}

/// botocore's retry mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, strum::EnumString)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum RetryMode {
    /// `legacy`.
    Legacy,
    /// `standard`.
    Standard,
    /// `adaptive`.
    Adaptive,
}

impl SettingValue for RetryMode {
    const WANT: &'static str = "\"legacy\", \"standard\" or \"adaptive\"";
    fn from_toml(value: &toml::Value) -> Option<Self> {
        value.as_str()?.parse().ok()
    }
}

/// The Rust SDK's credentials provider (`credential_chain`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, strum::EnumString)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum CredentialChain {
    /// `imds`: `ImdsCredentialsProvider` only.
    Imds,
    /// `default`: aws-config's default credentials and region chains.
    Default,
}

impl SettingValue for CredentialChain {
    const WANT: &'static str = "\"imds\" or \"default\"";
    fn from_toml(value: &toml::Value) -> Option<Self> {
        value.as_str()?.parse().ok()
    }
}

/// A program and its arguments: a non-empty array of strings, the first not empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct CommandLine(pub Vec<String>);

impl SettingValue for CommandLine {
    const WANT: &'static str =
        "an array of strings, the program first (e.g. [\"python3\", \"my_driver.py\"])";
    fn from_toml(value: &toml::Value) -> Option<Self> {
        let words: Option<Vec<String>> = value
            .as_array()?
            .iter()
            .map(|w| w.as_str().map(str::to_string))
            .collect();
        words
            .filter(|w| w.first().is_some_and(|p| !p.is_empty()))
            .map(Self)
    }
}

deserialize_via_toml!(
    Seconds,
    Millis,
    Count,
    SignedSeconds,
    Switch,
    RetryMode,
    CredentialChain,
    CommandLine
);
pub(super) use deserialize_via_toml;

// ---- a table's keys as a serde map, with errors that name the key -----------------

/// How reading a table failed, before the SDK's kind is added.
#[derive(Debug)]
enum DeError {
    Unknown {
        key: String,
        accepted: &'static [&'static str],
    },
    Invalid {
        key: String,
        want: String,
        value: String,
    },
    Missing {
        key: String,
    },
}

impl std::fmt::Display for DeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeError::Unknown { key, .. } => write!(f, "unknown setting `{key}`"),
            DeError::Invalid { key, want, .. } => write!(f, "`{key}` must be {want}"),
            DeError::Missing { key } => write!(f, "missing setting `{key}`"),
        }
    }
}

impl std::error::Error for DeError {}

impl serde::de::Error for DeError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        // Only the settings structs read tables, and their errors are the two above.
        DeError::Invalid {
            key: String::new(),
            want: msg.to_string(),
            value: String::new(),
        }
    }

    fn missing_field(field: &'static str) -> Self {
        DeError::Missing {
            key: field.to_string(),
        }
    }

    fn unknown_field(field: &str, expected: &'static [&'static str]) -> Self {
        DeError::Unknown {
            key: field.to_string(),
            accepted: expected,
        }
    }
}

/// The table as a map whose values are deserialized one by one, so that a value's error
/// names its key and shows the value.
struct TableDeserializer<'a> {
    table: &'a BTreeMap<String, toml::Value>,
}

impl<'de> Deserializer<'de> for TableDeserializer<'_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_map(Entries {
            entries: self.table.iter(),
            current: None,
        })
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
        byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map struct
        enum identifier ignored_any
    }
}

struct Entries<'a> {
    entries: std::collections::btree_map::Iter<'a, String, toml::Value>,
    current: Option<(&'a String, &'a toml::Value)>,
}

impl<'de> MapAccess<'de> for Entries<'_> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        let Some((key, value)) = self.entries.next() else {
            return Ok(None);
        };
        self.current = Some((key, value));
        seed.deserialize(key.as_str().into_deserializer()).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let Some((key, value)) = self.current.take() else {
            return Err(serde::de::Error::custom("a value without a key"));
        };
        seed.deserialize(value.clone())
            .map_err(|e: toml::de::Error| DeError::Invalid {
                key: key.clone(),
                want: e.message().to_string(),
                value: value.to_string(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(entries: &[(&str, toml::Value)]) -> BTreeMap<String, toml::Value> {
        entries
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn settings_are_checked_per_kind() {
        let s = table(&[("metadata_service_timeout", toml::Value::Integer(5))]);
        let SdkSettings::Botocore(boto) = SdkSettings::from_table(&DriverKind::Boto3, &s).unwrap()
        else {
            panic!()
        };
        assert_eq!(boto.metadata_service_timeout, Some(Seconds(5.0)));
        let e = SdkSettings::from_table(&DriverKind::JsV3, &s)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "`js-v3` has no setting `metadata_service_timeout`; it takes `timeout_ms`, `max_retries`, `clock_offset_s`"
        );
        // Every kind takes clock_offset_s (its wall clock against the cell clock).
        let offset = table(&[("clock_offset_s", toml::Value::Integer(-90))]);
        for kind in [
            DriverKind::Boto3,
            DriverKind::AwsCli,
            DriverKind::JsV3,
            DriverKind::RustSdk,
        ] {
            let settings = SdkSettings::from_table(&kind, &offset).unwrap();
            assert!(settings.has_clock_offset(), "{kind}");
            assert_eq!(settings.clock_offset().as_millis(), -90_000, "{kind}");
            assert!(
                settings.botocore_env().is_empty(),
                "{kind}: not a botocore variable"
            );
        }
        assert!(!SdkSettings::defaults(&DriverKind::Boto3).has_clock_offset());
        let bad = table(&[
            ("metadata_service_timeout", toml::Value::Integer(5)),
            ("retries_mode", toml::Value::String("fast".into())),
        ]);
        assert_eq!(
            SdkSettings::from_table(&DriverKind::Boto3, &bad)
                .unwrap_err()
                .to_string(),
            "`retries_mode` must be \"legacy\", \"standard\" or \"adaptive\", not \"fast\""
        );
        for (kind, key, value, want) in [
            (
                DriverKind::RustSdk,
                "imds_max_attempts",
                toml::Value::Float(1.5),
                "`imds_max_attempts` must be a whole number in 0..=10000, not 1.5",
            ),
            (
                DriverKind::JsV3,
                "max_retries",
                toml::Value::Integer(-1),
                "`max_retries` must be a whole number in 0..=10000, not -1",
            ),
            (
                DriverKind::RustSdk,
                "clock_offset_s",
                toml::Value::String("1h".into()),
                "`clock_offset_s` must be a whole number of seconds, not \"1h\"",
            ),
            (
                DriverKind::AwsCli,
                "ec2_metadata_v1_disabled",
                toml::Value::Integer(1),
                "`ec2_metadata_v1_disabled` must be true or false, not 1",
            ),
            (
                DriverKind::GoV2,
                "retry_mode",
                toml::Value::String("legacy".into()),
                "`retry_mode` must be \"standard\" or \"adaptive\", not \"legacy\"",
            ),
            (
                DriverKind::Ruby,
                "instance_profile_credentials_timeout",
                toml::Value::String("1s".into()),
                "`instance_profile_credentials_timeout` must be a number of seconds in 0..=86400 (24 h), not \"1s\"",
            ),
            (
                DriverKind::Boto3,
                "metadata_service_timeout",
                toml::Value::Float(-0.5),
                "`metadata_service_timeout` must be a number of seconds in 0..=86400 (24 h), not -0.5",
            ),
        ] {
            let e = SdkSettings::from_table(&kind, &table(&[(key, value)])).unwrap_err();
            assert_eq!(e.to_string(), want);
        }
        // The Debian Go and Ruby versions have no IMDSv1 switch: the key is refused, with
        // what they do take.
        let v1 = table(&[("ec2_metadata_v1_disabled", toml::Value::Boolean(true))]);
        for (kind, takes) in [
            (DriverKind::GoV2, "`retry_max_attempts`, `retry_mode`"),
            (DriverKind::GoV1, "`max_retries`, `http_timeout_ms`"),
            (
                DriverKind::Ruby,
                "`instance_profile_credentials_retries`, `instance_profile_credentials_timeout`, `retry_limit`, `retry_mode`, `max_attempts`, `clock_offset_s`",
            ),
        ] {
            assert_eq!(
                SdkSettings::from_table(&kind, &v1).unwrap_err().to_string(),
                format!("`{kind}` has no setting `ec2_metadata_v1_disabled`; it takes {takes}")
            );
        }
        let ruby = table(&[
            (
                "instance_profile_credentials_timeout",
                toml::Value::Float(0.25),
            ),
            ("retry_mode", toml::Value::String("standard".into())),
        ]);
        assert_eq!(
            serde_json::to_string(&SdkSettings::from_table(&DriverKind::Ruby, &ruby).unwrap())
                .unwrap(),
            r#"{"instance_profile_credentials_timeout":0.25,"retry_mode":"standard"}"#
        );
        // The first bad key by name is the one reported.
        let two = table(&[
            ("zz", toml::Value::Integer(1)),
            ("imds_max_attempts", toml::Value::Integer(-1)),
        ]);
        assert!(matches!(
            SdkSettings::from_table(&DriverKind::RustSdk, &two),
            Err(SettingError::Invalid { key, .. }) if key == "imds_max_attempts"
        ));
    }

    #[test]
    fn botocore_settings_become_its_variables_and_json() {
        let s = table(&[
            ("metadata_service_timeout", toml::Value::Integer(5)),
            ("ec2_metadata_v1_disabled", toml::Value::Boolean(true)),
            ("retries_mode", toml::Value::String("standard".into())),
            ("retries_max_attempts", toml::Value::Integer(3)),
        ]);
        let settings = SdkSettings::from_table(&DriverKind::Boto3, &s).unwrap();
        assert_eq!(
            settings.botocore_env(),
            vec![
                ("AWS_EC2_METADATA_V1_DISABLED", "true".to_string()),
                ("AWS_METADATA_SERVICE_TIMEOUT", "5".to_string()),
                ("AWS_MAX_ATTEMPTS", "3".to_string()),
                ("AWS_RETRY_MODE", "standard".to_string()),
            ]
        );
        assert_eq!(
            serde_json::to_string(&settings).unwrap(),
            r#"{"metadata_service_timeout":5.0,"retries_mode":"standard","retries_max_attempts":3,"ec2_metadata_v1_disabled":true}"#
        );
        let fraction = table(&[("metadata_service_timeout", toml::Value::Float(0.25))]);
        assert_eq!(
            SdkSettings::from_table(&DriverKind::AwsCli, &fraction)
                .unwrap()
                .botocore_env(),
            vec![("AWS_METADATA_SERVICE_TIMEOUT", "0.25".to_string())]
        );
        let js = table(&[("timeout_ms", toml::Value::Integer(500))]);
        let js = SdkSettings::from_table(&DriverKind::JsV3, &js).unwrap();
        assert!(js.botocore_env().is_empty());
        assert_eq!(serde_json::to_string(&js).unwrap(), r#"{"timeout_ms":500}"#);
        assert_eq!(
            serde_json::to_string(&SdkSettings::defaults(&DriverKind::RustSdk)).unwrap(),
            "{}"
        );
    }
}
