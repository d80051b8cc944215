//! The Go SDKs' settings (`go-v2`, `go-v1`), as `[driver.NAME]` tables set them. The
//! drivers (`drivers/go/v2.go`, `drivers/go/v1.go`) receive them as JSON, by name.
//!
//! Neither Debian version has a switch to refuse IMDSv1 (Go v2's `imds.Options` gained
//! `EnableFallback` after feature/ec2/imds 1.12.19; Go v1's `EC2MetadataEnableFallback`
//! after 1.44.133), so neither takes `ec2_metadata_v1_disabled`. Go v2 1.17.1 has no IMDS
//! timeout knob either: `feature/ec2/imds/api_client.go` fixes 250 ms to connect and
//! 500 ms for the response headers on the SDK's HTTP client.

use serde::{Deserialize, Deserializer, Serialize};

use super::settings::{deserialize_via_toml, Count, SettingValue};

/// The AWS SDK for Go v2's settings (`go-v2`): `config.LoadDefaultConfig` options.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoV2Settings {
    /// `config.WithRetryMaxAttempts`: attempts per API call, the first included (the
    /// STS client's; 0 keeps the SDK's default of 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_max_attempts: Option<Count>,
    /// `config.WithRetryMode`: `standard` or `adaptive`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_mode: Option<GoRetryMode>,
}

/// The AWS SDK for Go v1's settings (`go-v1`): `aws.Config` fields of the session.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoV1Settings {
    /// `aws.Config.MaxRetries`: retries per API call after the first (the STS
    /// client's; the EC2 metadata client keeps its own 2 unless `http_timeout_ms` is set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_retries: Option<Count>,
    /// The session's `http.Client` timeout, milliseconds. With an HTTP client of its
    /// own the EC2 metadata client uses it and `max_retries` instead of its 1 s timeout
    /// and 2 retries (`aws/ec2metadata/service.go` `NewClient`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_timeout_ms: Option<Count>,
}

/// Go v2's retry mode (`aws.RetryMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, strum::EnumString)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum GoRetryMode {
    /// `standard`.
    Standard,
    /// `adaptive`.
    Adaptive,
}

impl SettingValue for GoRetryMode {
    const WANT: &'static str = "\"standard\" or \"adaptive\"";
    fn from_toml(value: &toml::Value) -> Option<Self> {
        value.as_str()?.parse().ok()
    }
}

deserialize_via_toml!(GoRetryMode);
