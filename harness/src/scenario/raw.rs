//! The scenario file's TOML shapes as serde reads them: strict (`deny_unknown_fields`,
//! so a misspelt key is an error at its line and column), every value of the type it must
//! have. What the values mean (a strategy's pacing, a driver's SDK, an expectation's
//! cells) is checked by the element that owns them: [`super::schedule`],
//! [`super::strategy`], [`super::driver`], [`super::matrix`], [`super::expect`].
//!
//! Field order is the order serde lists keys in "expected one of" messages.

use std::collections::BTreeMap;
use std::time::Duration;

use mock_imds::{Change, DurationRange, FaultSpec, HttpTokens, SignedDuration};
use serde::{Deserialize, Deserializer};
use toml::Spanned;

/// The whole file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScenario {
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub imds: RawImds,
    pub endpoint: Option<super::endpoint::RawEndpoint>,
    #[serde(default)]
    pub schedule: Vec<Spanned<RawStep>>,
    pub seed: Option<u64>,
    #[serde(default)]
    pub generate: Vec<Spanned<RawGenerate>>,
    /// Absent in a `[handler]` scenario (one of the two is required).
    pub matrix: Option<RawMatrix>,
    pub handler: Option<Spanned<super::handler::RawHandler>>,
    #[serde(default)]
    pub strategy: BTreeMap<String, Spanned<RawStrategy>>,
    #[serde(default)]
    pub driver: BTreeMap<String, Spanned<RawDriver>>,
    #[serde(default)]
    pub expect: Vec<RawExpect>,
    #[serde(default)]
    pub network: super::network::NetworkSettings,
}

/// `[imds]`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RawImds {
    #[serde(default)]
    pub http_tokens: HttpTokens,
    pub credential_lifetime: Option<HumanDuration>,
    pub rotate_before_expiry: Option<HumanDuration>,
    #[serde(default, deserialize_with = "role_name")]
    pub role_name: Option<String>,
    #[serde(default)]
    pub no_role: bool,
    #[serde(default)]
    pub extended_credentials: bool,
    #[serde(default)]
    pub token_ttl_header: mock_imds::TokenTtlHeader,
}

/// `[imds] role_name`: one path segment of IAM's role name characters (IAM: 1..=64 of
/// `[A-Za-z0-9+=,.@_-]`), since it is served as `iam/security-credentials/<name>`.
fn role_name<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let name = String::deserialize(d)?;
    let valid = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b));
    if !valid {
        return Err(serde::de::Error::custom(format!(
            "role_name `{name}` is not an IAM role name: 1 to 64 of A-Z a-z 0-9 + = , . @ _ -"
        )));
    }
    Ok(Some(name))
}

/// One `[[schedule]]` step: a state change, a clock jump, a rotation, or several.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStep {
    pub at: HumanDuration,
    pub state: Option<Change>,
    pub clock: Option<SignedDuration>,
    #[serde(default)]
    pub rotate: bool,
    pub notice: Option<mock_imds::notice::Notice>,
    #[serde(default)]
    pub rotate_token: bool,
}

/// One `[[generate]]` table: which keys a kind needs is checked by [`super::schedule`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGenerate {
    pub kind: Spanned<String>,
    pub fault: FaultSpec,
    pub down: Option<HumanRange>,
    pub up: Option<HumanRange>,
    pub until: Option<HumanDuration>,
    pub count: Option<u32>,
    pub duration: Option<HumanRange>,
    pub within: Option<HumanDuration>,
}

/// `[matrix]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMatrix {
    pub drivers: Vec<Spanned<String>>,
    pub strategies: Vec<Spanned<String>>,
}

/// One `[strategy.NAME]` table.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStrategy {
    pub kind: Option<Spanned<String>>,
    pub attempts: Option<u32>,
    pub interval: Option<HumanDuration>,
    pub backoff: Option<RawBackoff>,
    #[serde(default)]
    pub continue_after_success: bool,
    pub call_timeout: Option<HumanDuration>,
}

/// A strategy's `backoff = { base, max, jitter }`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBackoff {
    pub base: HumanDuration,
    pub max: HumanDuration,
    #[serde(default)]
    pub jitter: bool,
}

/// `[driver.NAME]`: `sdk = "kind[@version]"` plus the SDK's own settings, which
/// [`crate::driver::SdkSettings::from_table`] reads once the kind is known.
#[derive(Deserialize)]
pub struct RawDriver {
    /// `kind[@version]`; absent for a `command` table.
    pub sdk: Option<Spanned<String>>,
    #[serde(flatten)]
    pub settings: BTreeMap<String, toml::Value>,
}

/// One `[[expect]]` table.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawExpect {
    pub driver: Option<Spanned<String>>,
    pub strategy: Option<Spanned<String>>,
    pub recovers: Option<bool>,
    pub within: Option<HumanDuration>,
    pub within_attempts: Option<u32>,
    pub error_kind: Option<Spanned<String>>,
    pub error_message: Option<Spanned<String>>,
    pub hangs: Option<Spanned<bool>>,
    pub imds_requests_after_recovery: Option<usize>,
    pub imds_v1_requests_after_recovery: Option<usize>,
    pub keys_used: Option<usize>,
    pub sts_rejections: Option<usize>,
    pub outcome: Option<Spanned<String>>,
    pub outage: Option<Spanned<u32>>,
    pub premise: Option<Spanned<String>>,
    pub imds_requests: Option<Spanned<Vec<super::imds_requests::RawRequestPattern>>>,
    pub caller_arn: Option<Spanned<String>>,
    pub expiry_extended: Option<bool>,
    pub account_id: Option<Spanned<String>>,
    pub sdk_warnings: Option<Spanned<Vec<Spanned<String>>>>,
}

/// A duration written as text in humantime's syntax: `"500ms"`, `"2s"`, `"1m 30s"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HumanDuration(pub Duration);

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        parse_duration(&text)
            .map(Self)
            .map_err(serde::de::Error::custom)
    }
}

/// A range of durations written `["MIN", "MAX"]`, MIN no larger than MAX.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HumanRange(pub DurationRange);

impl<'de> Deserialize<'de> for HumanRange {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Read as text first: an invalid MIN or MAX is reported at the range, not inside it.
        let [min, max] = <[String; 2]>::deserialize(d)?;
        let min = parse_duration(&min).map_err(serde::de::Error::custom)?;
        let max = parse_duration(&max).map_err(serde::de::Error::custom)?;
        DurationRange::new(min, max).map(Self).ok_or_else(|| {
            serde::de::Error::custom("a range is [\"MIN\", \"MAX\"] with MIN no larger than MAX")
        })
    }
}

/// Parses `500ms`, `2s`, `1m 30s` (humantime syntax), at most [`mock_imds::MAX_DURATION`]
/// (24 h): every duration of a scenario (`at`, generator keys, intervals, `within`).
///
/// # Errors
/// What is wrong, how a duration is written, and the bound.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    mock_imds::parse_bounded_duration(text)
}
