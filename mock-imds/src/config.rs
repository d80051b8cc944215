//! What the fake instance looks like: identity values, instance profile, IMDS options.
//!
//! Defaults imitate a freshly launched Amazon Linux instance in `us-east-1` with an
//! instance profile attached. Option names follow EC2's `ModifyInstanceMetadataOptions`
//! (`HttpTokens`, `HttpEndpoint`).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// EC2's `HttpTokens` instance metadata option.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HttpTokens {
    /// IMDSv1 and IMDSv2 both work: a GET without a session token is served.
    #[default]
    Optional,
    /// IMDSv2 only: a GET without a session token gets `401 Unauthorized`.
    Required,
}

/// EC2's `HttpEndpoint` instance metadata option.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HttpEndpoint {
    /// IMDS answers.
    #[default]
    Enabled,
    /// Every request gets `403 Forbidden`, which SDKs read as "IMDS is disabled".
    Disabled,
}

/// Identity values served under `meta-data/` and in the instance identity document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InstanceIdentity {
    /// `meta-data/instance-id`, e.g. `i-0123456789abcdef0`.
    pub instance_id: String,
    /// `meta-data/instance-type`, e.g. `t3.micro`.
    pub instance_type: String,
    /// `meta-data/ami-id`.
    pub ami_id: String,
    /// `meta-data/placement/region`.
    pub region: String,
    /// `meta-data/placement/availability-zone`.
    pub availability_zone: String,
    /// The 12-digit account the instance (and its role) belongs to.
    pub account_id: String,
    /// `meta-data/local-ipv4`. A documentation address: nothing ever connects to it.
    pub local_ipv4: String,
    /// `meta-data/hostname` and `meta-data/local-hostname`.
    pub hostname: String,
    /// `meta-data/mac` and the one interface under `network/interfaces/macs/`.
    pub mac: String,
    /// `meta-data/public-ipv4` (and `public-hostname`, `ec2-A-B-C-D.compute-1.amazonaws.com`);
    /// `None` serves neither, as EC2 for an instance without a public address. A
    /// documentation address by default.
    pub public_ipv4: Option<String>,
    /// `meta-data/placement/availability-zone-id`, e.g. `use1-az4`.
    pub availability_zone_id: String,
    /// `meta-data/instance-life-cycle`: `on-demand`, `spot` or `scheduled`.
    pub instance_life_cycle: String,
}

impl Default for InstanceIdentity {
    fn default() -> Self {
        Self {
            instance_id: "i-0123456789abcdef0".into(),
            instance_type: "t3.micro".into(),
            ami_id: "ami-0abcdef1234567890".into(),
            region: "us-east-1".into(),
            availability_zone: "us-east-1a".into(),
            account_id: "123456789012".into(),
            local_ipv4: "192.0.2.10".into(),
            hostname: "ip-192-0-2-10.ec2.internal".into(),
            mac: "0e:49:61:0f:c3:11".into(),
            public_ipv4: Some("198.51.100.10".into()),
            availability_zone_id: "use1-az4".into(),
            instance_life_cycle: "on-demand".into(),
        }
    }
}

/// Everything that shapes the fake IMDS apart from faults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImdsConfig {
    /// IMDSv1 allowed or not (EC2 `HttpTokens`).
    pub http_tokens: HttpTokens,
    /// IMDS switched on or off (EC2 `HttpEndpoint`).
    pub http_endpoint: HttpEndpoint,
    /// Identity values.
    pub identity: InstanceIdentity,
    /// The instance profile's role name; `None` serves no `iam/` folder at all, like an
    /// instance launched without an instance profile.
    pub role_name: Option<String>,
    /// Lifetime of each issued set of role credentials. EC2 hands out about 6 h.
    pub credential_lifetime: Duration,
    /// A new set of credentials is issued once the current one has less than this left.
    /// EC2 makes new credentials available at least 5 minutes before the old ones expire.
    pub rotate_before_expiry: Duration,
    /// `/latest/user-data` (bytes, served as they are); `None` answers 404 there, as
    /// EC2 does when none is set.
    pub user_data: Option<Vec<u8>>,
    /// EC2's `InstanceMetadataTags` option: serve `meta-data/tags/instance/` (a listing
    /// of the tag keys, each key's value below it). Off by default, as on EC2: 404 there.
    pub tags_in_metadata: bool,
    /// The instance's tags (key → value); served only with `tags_in_metadata`.
    pub tags: BTreeMap<String, String>,
    /// Leaves set or added by the config, path below the version root
    /// (`meta-data/instance-type`) → value; they override the built-in tree and the
    /// notices.
    pub paths: BTreeMap<String, String>,
    /// EC2's `HttpPutResponseHopLimit` (1..=64; EC2's default 1, Amazon Linux 2023's
    /// AMIs 2): the IP TTL of the token PUT's answer, so a client more routed hops away
    /// (a container behind a bridge) never receives its token. Other answers leave
    /// with the system's default TTL.
    pub http_put_response_hop_limit: u8,
    /// Serve `meta-data/iam/security-credentials-extended/` (role credentials plus
    /// `AccountId`). Off by default: 404 there, as SDKs expect before falling back to
    /// `security-credentials/`.
    pub extended_credentials: bool,
    /// What the token PUT's answer says in `X-aws-ec2-metadata-token-ttl-seconds`
    /// (default: the TTL granted, as EC2); changeable at runtime.
    pub token_ttl_header: crate::TokenTtlHeader,
}

impl Default for ImdsConfig {
    fn default() -> Self {
        Self {
            http_tokens: HttpTokens::default(),
            http_endpoint: HttpEndpoint::default(),
            identity: InstanceIdentity::default(),
            role_name: Some("mock-imds-role".into()),
            credential_lifetime: Duration::from_secs(6 * 3600),
            rotate_before_expiry: Duration::from_secs(5 * 60),
            user_data: None,
            tags_in_metadata: false,
            tags: BTreeMap::from([("Name".to_string(), "mock-imds".to_string())]),
            paths: BTreeMap::new(),
            extended_credentials: false,
            http_put_response_hop_limit: 1,
            token_ttl_header: crate::TokenTtlHeader::Echo,
        }
    }
}

/// 1-based line and character column of byte `offset` in `text` (clamped to the text):
/// where every config, schedule and scenario error points.
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..text.floor_char_boundary(offset.min(text.len()))];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// A config file that cannot be used: where and what.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{line}:{column}: {message}")]
pub struct ConfigError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong and what is accepted.
    pub message: String,
}

impl ConfigError {
    /// An error at byte `offset` of `text`.
    pub fn at(text: &str, offset: usize, message: String) -> Self {
        let (line, column) = line_column(text, offset);
        Self {
            line,
            column,
            message: message.split_whitespace().collect::<Vec<_>>().join(" "),
        }
    }

    /// From a TOML deserialization error.
    pub fn from_toml(text: &str, err: &toml::de::Error) -> Self {
        Self::at(
            text,
            err.span().map_or(0, |s| s.start),
            err.message().to_string(),
        )
    }
}

fn humantime_duration<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(d)?;
    crate::bounds::parse_bounded_duration(&text).map_err(serde::de::Error::custom)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    http_tokens: HttpTokens,
    #[serde(default)]
    http_endpoint: HttpEndpoint,
    #[serde(default)]
    identity: InstanceIdentity,
    role_name: Option<String>,
    #[serde(default)]
    no_role: bool,
    #[serde(default, deserialize_with = "opt_duration")]
    credential_lifetime: Option<Duration>,
    #[serde(default, deserialize_with = "opt_duration")]
    rotate_before_expiry: Option<Duration>,
    user_data: Option<String>,
    user_data_base64: Option<toml::Spanned<String>>,
    #[serde(default)]
    extended_credentials: bool,
    http_put_response_hop_limit: Option<u8>,
    #[serde(default)]
    token_ttl_header: crate::TokenTtlHeader,
    #[serde(default)]
    tags_in_metadata: bool,
    tags: Option<BTreeMap<String, String>>,
    #[serde(default)]
    paths: BTreeMap<toml::Spanned<String>, String>,
}

/// A config path key as a path below the version root: `meta-data/instance-type`,
/// written with or without a leading `/latest/` (or `/`); it must name a leaf under
/// `meta-data/`, `dynamic/` or `user-data`, with no empty segment.
///
/// # Errors
/// What is wrong and what is accepted.
pub(crate) fn normalize_path(key: &str) -> Result<String, String> {
    let trimmed = key.trim_start_matches('/');
    let below = trimmed.strip_prefix("latest/").unwrap_or(trimmed);
    let root_ok =
        below == "user-data" || below.starts_with("meta-data/") || below.starts_with("dynamic/");
    if !root_ok || below.ends_with('/') || below.split('/').any(str::is_empty) {
        return Err(format!(
            "path `{key}` is not a leaf under meta-data/, dynamic/ or user-data (write `meta-data/instance-type` or `/latest/meta-data/instance-type`)"
        ));
    }
    Ok(below.to_string())
}

/// Whether a credential lifetime and its rotation window can mean anything: the lifetime
/// at least 1 s (a set that expires as it is issued is `fault expired-credentials`'s job),
/// and the window shorter than the lifetime (else every fetch is a rotation). Either may
/// be `None` for the default (6 h, 5 min, as EC2).
///
/// # Errors
/// What is wrong, with the values and what is allowed.
pub fn check_credential_times(
    lifetime: Option<Duration>,
    rotate_before_expiry: Option<Duration>,
) -> Result<(), String> {
    let defaults = ImdsConfig::default();
    let fmt = |d: Duration| humantime::format_duration(d).to_string();
    if let Some(l) = lifetime {
        if l < Duration::from_secs(1) {
            return Err(format!(
                "credential_lifetime = {} is too short: role credentials live 1s..=24h (default 6h); for credentials already expired write the fault `expired-credentials`",
                fmt(l)
            ));
        }
    }
    let l = lifetime.unwrap_or(defaults.credential_lifetime);
    let r = rotate_before_expiry.unwrap_or(defaults.rotate_before_expiry);
    if r >= l {
        return Err(format!(
            "rotate_before_expiry ({}{}) is not shorter than credential_lifetime ({}{}): every fetch would rotate the credentials; make the window shorter than the lifetime",
            fmt(r),
            if rotate_before_expiry.is_none() { ", the default" } else { "" },
            fmt(l),
            if lifetime.is_none() { ", the default" } else { "" },
        ));
    }
    Ok(())
}

fn opt_duration<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    humantime_duration(d).map(Some)
}

impl ImdsConfig {
    /// Reads a config file (TOML). Every key is optional; unknown keys are errors:
    ///
    /// ```toml
    /// http_tokens = "required"          # optional | required
    /// http_endpoint = "enabled"         # enabled | disabled
    /// role_name = "web"                 # or no_role = true
    /// credential_lifetime = "6h"
    /// rotate_before_expiry = "5m"
    /// user_data = "#!/bin/sh"           # or user_data_base64 = "IyEvYmluL3No" (any bytes)
    /// tags_in_metadata = true           # serve meta-data/tags/instance/ (EC2 InstanceMetadataTags)
    /// extended_credentials = true       # serve iam/security-credentials-extended/
    /// http_put_response_hop_limit = 2   # IP TTL of the token answer (1..=64)
    /// token_ttl_header = "absent"       # the token answer's TTL header: "echo" (default), "absent" or seconds (600)
    /// [identity]
    /// region = "eu-west-1"              # instance_id, instance_type, ami_id, availability_zone,
    ///                                   # availability_zone_id, account_id, local_ipv4, hostname,
    ///                                   # mac, public_ipv4, instance_life_cycle
    /// [tags]
    /// Name = "web-1"
    /// [paths]                           # set or add any leaf (over the tree and the notices)
    /// "meta-data/instance-type" = "m5.large"
    /// "/latest/meta-data/autoscaling/target-lifecycle-state" = "InService"
    /// ```
    ///
    /// # Errors
    /// [`ConfigError`] with the line and column of the offending key or value.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let file: ConfigFile =
            toml::from_str(text).map_err(|e| ConfigError::from_toml(text, &e))?;
        check_credential_times(file.credential_lifetime, file.rotate_before_expiry).map_err(
            |why| {
                let key = ["credential_lifetime", "rotate_before_expiry"]
                    .iter()
                    .find_map(|k| text.find(k))
                    .unwrap_or(0);
                ConfigError::at(text, key, why)
            },
        )?;
        let defaults = ImdsConfig::default();
        let user_data = match (file.user_data, file.user_data_base64) {
            (Some(_), Some(b64)) => {
                return Err(ConfigError::at(
                    text,
                    b64.span().start,
                    "set user_data or user_data_base64, not both".into(),
                ))
            }
            (Some(text), None) => Some(text.into_bytes()),
            (None, Some(b64)) => {
                use base64::Engine as _;
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(b64.get_ref().trim())
                    .map_err(|e| {
                        ConfigError::at(
                            text,
                            b64.span().start,
                            format!("user_data_base64 is not base64 ({e})"),
                        )
                    })?;
                Some(bytes)
            }
            (None, None) => None,
        };
        let mut paths = BTreeMap::new();
        for (key, value) in file.paths {
            let path = normalize_path(key.get_ref())
                .map_err(|why| ConfigError::at(text, key.span().start, why))?;
            paths.insert(path, value);
        }
        Ok(ImdsConfig {
            tags_in_metadata: file.tags_in_metadata,
            tags: file.tags.unwrap_or(defaults.tags.clone()),
            paths,
            http_tokens: file.http_tokens,
            http_endpoint: file.http_endpoint,
            identity: file.identity,
            role_name: if file.no_role {
                None
            } else {
                file.role_name.or(defaults.role_name)
            },
            credential_lifetime: file
                .credential_lifetime
                .unwrap_or(defaults.credential_lifetime),
            rotate_before_expiry: file
                .rotate_before_expiry
                .unwrap_or(defaults.rotate_before_expiry),
            user_data,
            token_ttl_header: file.token_ttl_header,
            extended_credentials: file.extended_credentials,
            http_put_response_hop_limit: match file.http_put_response_hop_limit {
                None => defaults.http_put_response_hop_limit,
                Some(h @ 1..=64) => h,
                Some(other) => {
                    let offset = text.find("http_put_response_hop_limit").unwrap_or(0);
                    return Err(ConfigError::at(
                        text,
                        offset,
                        format!(
                            "http_put_response_hop_limit must be in 1..=64, as on EC2, not {other}"
                        ),
                    ));
                }
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_file_overrides_defaults_and_rejects_unknown_keys() {
        let c = ImdsConfig::from_toml("http_tokens = \"required\"\ncredential_lifetime = \"15m\"\n[identity]\nregion = \"eu-west-1\"\n").unwrap();
        assert_eq!(c.http_tokens, HttpTokens::Required);
        assert_eq!(c.credential_lifetime, Duration::from_secs(900));
        assert_eq!(c.identity.region, "eu-west-1");
        assert_eq!(c.token_ttl_header, crate::TokenTtlHeader::Echo);
        assert_eq!(
            ImdsConfig::from_toml("token_ttl_header = 600")
                .unwrap()
                .token_ttl_header,
            crate::TokenTtlHeader::Seconds(600)
        );
        let e = ImdsConfig::from_toml("token_ttl_header = \"sometimes\"").unwrap_err();
        assert!(e.message.contains("\"echo\", \"absent\""), "{e}");
        assert_eq!(
            c.identity.instance_id,
            InstanceIdentity::default().instance_id
        );
        assert_eq!(c.role_name.as_deref(), Some("mock-imds-role"));
        assert_eq!(
            ImdsConfig::from_toml("no_role = true").unwrap().role_name,
            None
        );
        let e = ImdsConfig::from_toml("\n[identity]\nregoin = \"x\"").unwrap_err();
        assert_eq!((e.line, e.column), (3, 1), "{e}");
        assert!(e.message.contains("unknown field `regoin`"), "{e}");
        let c = ImdsConfig::from_toml(
            "user_data_base64 = \"AAEC/w==\"\ntags_in_metadata = true\n[tags]\nteam = \"a\"\n[paths]\n\"/latest/meta-data/instance-type\" = \"m5.large\"\n",
        )
        .unwrap();
        assert_eq!(c.user_data.as_deref(), Some(&[0u8, 1, 2, 255][..]));
        assert!(c.tags_in_metadata);
        assert_eq!(c.tags.len(), 1);
        assert_eq!(c.paths["meta-data/instance-type"], "m5.large");
        let e = ImdsConfig::from_toml("[paths]\n\"/latest/api/token\" = \"x\"\n").unwrap_err();
        assert_eq!((e.line, e.column), (2, 1), "{e}");
        assert!(e.message.contains("not a leaf under meta-data/"), "{e}");
        let e = ImdsConfig::from_toml("user_data_base64 = \"!!\"").unwrap_err();
        assert!(e.message.contains("not base64"), "{e}");
        let e = ImdsConfig::from_toml("credential_lifetime = \"forever\"").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("1:23: invalid duration `forever`"),
            "{e}"
        );
    }
}
