//! Driver specs: which SDK, which version, which of the SDK's own settings.
//!
//! In a scenario's `[matrix] drivers` list a driver is a kind (`rust-sdk`, `boto3`,
//! `aws-cli`, `js-v3`), optionally with a version (`boto3@1.34.162`, `js-v3@3.26.0`,
//! `boto3@latest`), or the name of a `[driver.NAME]` table that sets the SDK's own knobs:
//!
//! ```toml
//! [driver.boto3-patient]
//! sdk = "boto3"                        # kind[@version]
//! metadata_service_timeout = 5         # seconds (botocore)
//! metadata_service_num_attempts = 3
//! ```
//!
//! Settings each kind takes (anything else is an error naming what is allowed):
//! - `boto3`, `aws-cli`: `metadata_service_timeout` (s), `metadata_service_num_attempts`,
//!   `retries_mode` (`legacy`|`standard`|`adaptive`), `retries_max_attempts`,
//!   `ec2_metadata_v1_disabled` (bool) — botocore's config names.
//! - `rust-sdk`: `imds_connect_timeout_ms`, `imds_read_timeout_ms`, `imds_max_attempts`,
//!   `clock_offset_s` (seconds the SDK's clock is ahead, negative for behind).
//! - `js-v3`: `timeout_ms`, `max_retries` (the IMDS provider's options).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::DriverKind;

/// What a setting's value must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Type {
    Number,
    Integer,
    Bool,
    RetryMode,
}

fn allowed(kind: &DriverKind) -> &'static [(&'static str, Type)] {
    match kind {
        DriverKind::Boto3 | DriverKind::AwsCli => &[
            ("metadata_service_timeout", Type::Number),
            ("metadata_service_num_attempts", Type::Integer),
            ("retries_mode", Type::RetryMode),
            ("retries_max_attempts", Type::Integer),
            ("ec2_metadata_v1_disabled", Type::Bool),
        ],
        DriverKind::RustSdk => &[
            ("imds_connect_timeout_ms", Type::Integer),
            ("imds_read_timeout_ms", Type::Integer),
            ("imds_max_attempts", Type::Integer),
            ("clock_offset_s", Type::Integer),
        ],
        DriverKind::JsV3 => &[
            ("timeout_ms", Type::Integer),
            ("max_retries", Type::Integer),
        ],
    }
}

/// A driver as a cell runs it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriverSpec {
    /// The name the matrix uses (`boto3`, `boto3@1.34.162`, `boto3-patient`).
    pub name: String,
    /// The SDK.
    pub kind: DriverKind,
    /// The SDK version, `latest`, or `None` for the version the project pins.
    pub version: Option<String>,
    /// The SDK's own settings, validated against the kind.
    pub settings: BTreeMap<String, serde_json::Value>,
}

impl fmt::Display for DriverSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// botocore's environment variables for `boto3`/`aws-cli` settings: `(variable, value)`
/// pairs, e.g. `metadata_service_timeout = 5` → `AWS_METADATA_SERVICE_TIMEOUT=5`. The one
/// place this mapping lives: the AWS CLI driver sets them on each process, the boto3
/// driver sends them to its child. Settings without a variable are skipped (validated
/// before, by [`check_settings`]).
pub fn botocore_env(settings: &BTreeMap<String, serde_json::Value>) -> Vec<(&'static str, String)> {
    settings
        .iter()
        .filter_map(|(key, value)| {
            let var = match key.as_str() {
                "metadata_service_timeout" => "AWS_METADATA_SERVICE_TIMEOUT",
                "metadata_service_num_attempts" => "AWS_METADATA_SERVICE_NUM_ATTEMPTS",
                "retries_mode" => "AWS_RETRY_MODE",
                "retries_max_attempts" => "AWS_MAX_ATTEMPTS",
                "ec2_metadata_v1_disabled" => "AWS_EC2_METADATA_V1_DISABLED",
                _ => return None,
            };
            let text = match value {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Number(n) => n
                    .as_f64()
                    .filter(|f| f.fract() == 0.0)
                    .map_or_else(|| n.to_string(), |f| format!("{f:.0}")),
                other => other.to_string(),
            };
            Some((var, text))
        })
        .collect()
}

/// Parses `kind[@version]`.
///
/// # Errors
/// An unknown kind, or a version that is not `latest` or dotted numbers.
pub fn parse_sdk(text: &str) -> Result<(DriverKind, Option<String>), String> {
    let (kind, version) = match text.split_once('@') {
        Some((k, v)) => (k, Some(v)),
        None => (text, None),
    };
    let kind: DriverKind = kind.parse()?;
    if let Some(v) = version {
        let numeric = !v.is_empty()
            && v.split('.')
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
        if v != "latest" && !numeric {
            return Err(format!(
                "version `{v}` of `{kind}` is not `latest` or numbers like 1.34.162"
            ));
        }
        if kind == DriverKind::RustSdk {
            return Err("the rust-sdk driver runs the AWS SDK for Rust this binary was built with; it takes no @version".into());
        }
    }
    Ok((kind, version.map(str::to_string)))
}

/// Checks settings for `kind`.
///
/// # Errors
/// An unknown key (naming the allowed ones) or a value of the wrong type.
pub fn check_settings(
    kind: &DriverKind,
    settings: &BTreeMap<String, toml::Value>,
) -> Result<BTreeMap<String, serde_json::Value>, String> {
    let allowed = allowed(kind);
    let mut out = BTreeMap::new();
    for (key, value) in settings {
        let Some((_, ty)) = allowed.iter().find(|(k, _)| k == key) else {
            return Err(format!(
                "`{kind}` has no setting `{key}`; it takes {}",
                allowed
                    .iter()
                    .map(|(k, _)| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        };
        let json = match (ty, value) {
            (Type::Number, toml::Value::Integer(i)) if *i >= 0 => serde_json::json!(*i as f64),
            (Type::Number, toml::Value::Float(f)) if *f >= 0.0 => serde_json::json!(f),
            (Type::Integer, toml::Value::Integer(i)) if key == "clock_offset_s" || *i >= 0 => {
                serde_json::json!(i)
            }
            (Type::Bool, toml::Value::Boolean(b)) => serde_json::json!(b),
            (Type::RetryMode, toml::Value::String(s))
                if ["legacy", "standard", "adaptive"].contains(&s.as_str()) =>
            {
                serde_json::json!(s)
            }
            _ => {
                let want = match ty {
                    Type::Number => "a number of seconds, at least 0",
                    Type::Integer if key == "clock_offset_s" => "a whole number of seconds",
                    Type::Integer => "a whole number, at least 0",
                    Type::Bool => "true or false",
                    Type::RetryMode => "\"legacy\", \"standard\" or \"adaptive\"",
                };
                return Err(format!("`{key}` must be {want}, not {value}"));
            }
        };
        out.insert(key.clone(), json);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sdk_names_and_versions() {
        assert_eq!(
            parse_sdk("boto3@1.34.162").unwrap(),
            (DriverKind::Boto3, Some("1.34.162".into()))
        );
        assert_eq!(parse_sdk("js-v3").unwrap(), (DriverKind::JsV3, None));
        assert_eq!(
            parse_sdk("aws-cli@latest").unwrap().1.as_deref(),
            Some("latest")
        );
        assert!(parse_sdk("boto3@1.x")
            .unwrap_err()
            .contains("not `latest` or numbers"));
        assert!(parse_sdk("rust-sdk@1.0")
            .unwrap_err()
            .contains("takes no @version"));
        assert!(parse_sdk("boto").is_err());
    }

    #[test]
    fn settings_are_checked_per_kind() {
        let mut s = BTreeMap::new();
        s.insert(
            "metadata_service_timeout".to_string(),
            toml::Value::Integer(5),
        );
        assert_eq!(
            check_settings(&DriverKind::Boto3, &s).unwrap()["metadata_service_timeout"],
            5.0
        );
        let e = check_settings(&DriverKind::JsV3, &s).unwrap_err();
        assert!(
            e.contains("`js-v3` has no setting `metadata_service_timeout`; it takes `timeout_ms`"),
            "{e}"
        );
        let mut ok = BTreeMap::new();
        ok.insert(
            "metadata_service_timeout".to_string(),
            serde_json::json!(5.0),
        );
        ok.insert(
            "ec2_metadata_v1_disabled".to_string(),
            serde_json::json!(true),
        );
        ok.insert("retries_mode".to_string(), serde_json::json!("standard"));
        assert_eq!(
            botocore_env(&ok),
            vec![
                ("AWS_EC2_METADATA_V1_DISABLED", "true".to_string()),
                ("AWS_METADATA_SERVICE_TIMEOUT", "5".to_string()),
                ("AWS_RETRY_MODE", "standard".to_string()),
            ]
        );
        s.insert(
            "retries_mode".to_string(),
            toml::Value::String("fast".into()),
        );
        assert!(check_settings(&DriverKind::Boto3, &s)
            .unwrap_err()
            .contains("\"legacy\", \"standard\""));
    }
}
