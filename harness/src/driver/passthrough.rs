//! Settings passed through to the SDK as the SDK itself reads them: its configuration
//! variables (`env`), its profile settings (`profile`, written to the cell's own
//! `AWS_CONFIG_FILE`) and whether the region is left to its own IMDS lookup
//! (`region_from_imds`). Every built-in SDK's `[driver.NAME]` table takes these keys
//! besides its typed settings ([`super::settings`]):
//!
//! ```toml
//! [driver.boto3-no-imds]
//! sdk = "boto3"
//! env = { AWS_EC2_METADATA_DISABLED = "true" }
//!
//! [driver.boto3-chained]
//! sdk = "boto3"
//! profile = { role_arn = "arn:aws:iam::123456789012:role/chained", credential_source = "Ec2InstanceMetadata" }
//! ```
//!
//! Each SDK has an allowlist ([`allowed_env`], [`allowed_profile`]): the variables and
//! profile keys its IMDS and credential code reads (botocore `configprovider.py` and
//! `credentials.py`, `@smithy/credential-provider-imds`, `@aws-sdk/credential-provider-ini`,
//! aws-config `profile/credentials`). Credentials of any kind (keys, a profile with keys,
//! web identity, container credentials, credential processes, SSO) are refused with the
//! reason ([`refused_env`], [`refused_profile`]): a cell's credentials come only from the
//! mock IMDS and the fake STS. The profile is written as `[default]` to a file in the
//! driver's temporary `HOME` (never the user's `~/.aws`).

use std::collections::BTreeMap;

use serde::Serialize;

use super::kind::DriverKind;

/// The keys of a `[driver.NAME]` table this module reads (the rest are the SDK's typed
/// settings).
pub const KEYS: &[&str] = &["env", "profile", "region_from_imds"];

/// What a driver passes through to its SDK as the SDK reads it. Empty by default: the
/// harness's own environment (endpoints, region) only.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Passthrough {
    /// Configuration variables set in the SDK's environment, by name (values as text:
    /// `true`, `2`, `0.5`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// Settings of the `[default]` profile in the cell's `AWS_CONFIG_FILE`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub profile: BTreeMap<String, String>,
    /// The harness gives the SDK no region: the SDK finds one itself (its own IMDS
    /// lookup, where it has one).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub region_from_imds: bool,
}

/// A pass-through setting the SDK cannot be given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PassthroughError {
    /// A credential, or a variable the harness itself owns: never passed through.
    #[error("`{table}.{key}` is refused: {reason}")]
    Refused {
        /// `env` or `profile`.
        table: &'static str,
        /// The key as written.
        key: String,
        /// Why.
        reason: &'static str,
    },
    /// A key the SDK's allowlist does not have.
    #[error("`{kind}` takes no `{table}.{key}`; {}", allowed_text(.allowed))]
    NotAllowed {
        /// The SDK.
        kind: DriverKind,
        /// `env` or `profile`.
        table: &'static str,
        /// The key as written.
        key: String,
        /// What the SDK takes there.
        allowed: &'static [&'static str],
    },
    /// A value of the wrong shape.
    #[error("`{key}` must be {want}, not {value}")]
    Invalid {
        /// The key (`env`, `profile.role_arn`, …).
        key: String,
        /// What it accepts.
        want: &'static str,
        /// The value as TOML writes it.
        value: String,
    },
    /// Two settings that only work together, or a kind that cannot do this.
    #[error("{0}")]
    Combination(String),
}

fn allowed_text(allowed: &[&str]) -> String {
    if allowed.is_empty() {
        "it takes none here".to_string()
    } else {
        format!(
            "it takes {}",
            allowed
                .iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

const BOTOCORE_ENV: &[&str] = &[
    "AWS_EC2_METADATA_DISABLED",
    "AWS_METADATA_SERVICE_TIMEOUT",
    "AWS_METADATA_SERVICE_NUM_ATTEMPTS",
    "AWS_EC2_METADATA_V1_DISABLED",
    "AWS_RETRY_MODE",
    "AWS_MAX_ATTEMPTS",
    "AWS_DEFAULTS_MODE",
];
const BOTOCORE_PROFILE: &[&str] = &[
    "defaults_mode",
    "metadata_service_timeout",
    "metadata_service_num_attempts",
    "ec2_metadata_v1_disabled",
    "retry_mode",
    "max_attempts",
    "role_arn",
    "credential_source",
    "role_session_name",
    "duration_seconds",
    "external_id",
];
const JS_V3_ENV: &[&str] = &[
    "AWS_EC2_METADATA_DISABLED",
    "AWS_EC2_METADATA_V1_DISABLED",
    "AWS_RETRY_MODE",
    "AWS_MAX_ATTEMPTS",
];
const JS_V3_PROFILE: &[&str] = &[
    "ec2_metadata_v1_disabled",
    "retry_mode",
    "max_attempts",
    "role_arn",
    "credential_source",
    "role_session_name",
    "external_id",
];
const JS_V2_ENV: &[&str] = &["AWS_EC2_METADATA_DISABLED", "AWS_EC2_METADATA_V1_DISABLED"];
const RUST_PROFILE: &[&str] = &[
    "retry_mode",
    "max_attempts",
    "role_arn",
    "credential_source",
    "role_session_name",
    "external_id",
];

/// The configuration variables `kind` takes in `env`. The Rust SDK runs in this process,
/// shared by concurrent cells, so its variables cannot be set per cell (its settings go
/// through `profile` and its typed settings); Go, Ruby and `command` drivers are not
/// wired for pass-through.
pub fn allowed_env(kind: &DriverKind) -> &'static [&'static str] {
    match kind {
        DriverKind::Boto3 | DriverKind::AwsCli | DriverKind::Boto3Crt | DriverKind::Aiobotocore => {
            BOTOCORE_ENV
        }
        DriverKind::JsV3 => JS_V3_ENV,
        DriverKind::JsV2 => JS_V2_ENV,
        DriverKind::RustSdk
        | DriverKind::Command
        | DriverKind::GoV2
        | DriverKind::GoV1
        | DriverKind::Ruby => &[],
    }
}

/// The profile settings `kind` takes in `profile` (JS v2's driver uses
/// `EC2MetadataCredentials` directly, which reads no profile).
pub fn allowed_profile(kind: &DriverKind) -> &'static [&'static str] {
    match kind {
        DriverKind::Boto3 | DriverKind::AwsCli | DriverKind::Boto3Crt | DriverKind::Aiobotocore => {
            BOTOCORE_PROFILE
        }
        DriverKind::JsV3 => JS_V3_PROFILE,
        DriverKind::RustSdk => RUST_PROFILE,
        DriverKind::JsV2
        | DriverKind::Command
        | DriverKind::GoV2
        | DriverKind::GoV1
        | DriverKind::Ruby => &[],
    }
}

/// Whether `kind` can be left without a region (`region_from_imds`).
pub fn takes_region_from_imds(kind: &DriverKind) -> bool {
    matches!(
        kind,
        DriverKind::Boto3
            | DriverKind::AwsCli
            | DriverKind::Boto3Crt
            | DriverKind::Aiobotocore
            | DriverKind::JsV3
            | DriverKind::RustSdk
    )
}

const CREDENTIALS: &str = "a cell's credentials come only from the mock IMDS and the fake STS; the harness strips credentials from every driver";
const OWN_FILES: &str =
    "the harness writes the cell's own config file and selects its [default] profile; put settings in `profile`";
const ENDPOINTS: &str = "the harness points the SDK at the mocks itself";
const REGION: &str =
    "the harness sets the region; `region_from_imds = true` leaves it to the SDK's IMDS lookup";
const CONTAINER: &str =
    "container credentials would leave the mocks (169.254.170.2); a cell's credentials come only from the mock IMDS";
const WEB_IDENTITY: &str =
    "web identity credentials are not from IMDS; a cell's credentials come only from the mock IMDS and the fake STS";

/// Why a variable is never passed through, if it is one of those.
pub fn refused_env(name: &str) -> Option<&'static str> {
    Some(match name {
        "AWS_ACCESS_KEY_ID"
        | "AWS_SECRET_ACCESS_KEY"
        | "AWS_SESSION_TOKEN"
        | "AWS_SECURITY_TOKEN"
        | "AWS_ACCESS_KEY"
        | "AWS_SECRET_KEY"
        | "AWS_CREDENTIAL_EXPIRATION" => CREDENTIALS,
        "AWS_PROFILE"
        | "AWS_DEFAULT_PROFILE"
        | "AWS_CONFIG_FILE"
        | "AWS_SHARED_CREDENTIALS_FILE"
        | "AWS_SDK_LOAD_CONFIG" => OWN_FILES,
        "AWS_WEB_IDENTITY_TOKEN_FILE" | "AWS_ROLE_ARN" | "AWS_ROLE_SESSION_NAME" => WEB_IDENTITY,
        "AWS_REGION" | "AWS_DEFAULT_REGION" => REGION,
        _ if name.starts_with("AWS_CONTAINER_") => CONTAINER,
        _ if name.starts_with("AWS_EC2_METADATA_SERVICE_ENDPOINT")
            || name.starts_with("AWS_ENDPOINT_URL") =>
        {
            ENDPOINTS
        }
        _ => return None,
    })
}

/// Why a variable is never given to a user's program by `exec --env`: a driver's refusals
/// ([`refused_env`]) and what the harness sets for the program itself.
fn refused_program_env(name: &str) -> Option<&'static str> {
    refused_env(name).or(match name {
        "HOME" | "PATH" => Some("the harness sets it (a temporary HOME with empty AWS config files; the harness's PATH)"),
        "NO_PROXY" | "no_proxy" | "HTTP_PROXY" | "http_proxy" | "HTTPS_PROXY" | "https_proxy" | "ALL_PROXY" => {
            Some("a proxy would take the program's requests away from the mocks on loopback")
        }
        _ if name == "LD_PRELOAD" || name.starts_with("FAKETIME") => {
            Some("the harness sets it: libfaketime moves the program's clock with the scenario's")
        }
        _ => None,
    })
}

/// Why a profile key is never passed through, if it is one of those.
pub fn refused_profile(key: &str) -> Option<&'static str> {
    Some(match key {
        "aws_access_key_id" | "aws_secret_access_key" | "aws_session_token"
        | "aws_security_token" => CREDENTIALS,
        "source_profile" => "a source profile holds keys; chain from instance credentials with `credential_source = \"Ec2InstanceMetadata\"`",
        "web_identity_token_file" => WEB_IDENTITY,
        "credential_process" => "a credential process is not IMDS; a cell's credentials come only from the mock IMDS and the fake STS",
        "region" => REGION,
        "endpoint_url" | "ec2_metadata_service_endpoint" | "ec2_metadata_service_endpoint_mode"
        | "sts_regional_endpoints" => ENDPOINTS,
        _ if key.starts_with("sso_") => "SSO credentials are not IMDS; a cell's credentials come only from the mock IMDS and the fake STS",
        _ => return None,
    })
}

/// The one `credential_source` allowed: chaining from instance credentials. The others
/// are refused: `Environment` (credentials in variables), `EcsContainer` (container
/// credentials).
pub const CREDENTIAL_SOURCE: &str = "Ec2InstanceMetadata";

/// A TOML scalar as the text an SDK reads from a variable or a profile line.
fn scalar(value: &toml::Value) -> Option<String> {
    match value {
        toml::Value::String(s) if !s.contains(['\n', '\r']) => Some(s.clone()),
        toml::Value::Integer(i) => Some(i.to_string()),
        toml::Value::Float(f) if f.is_finite() => Some(f.to_string()),
        toml::Value::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

impl Passthrough {
    /// True when nothing is passed through.
    pub fn is_empty(&self) -> bool {
        self.env.is_empty() && self.profile.is_empty() && !self.region_from_imds
    }

    /// Takes [`KEYS`] out of a `[driver.NAME]` table's settings and checks them against
    /// `kind`'s allowlists.
    ///
    /// # Errors
    /// The first refused, unknown or malformed key (by name within `env`, then
    /// `profile`), or a `role_arn` without `credential_source` (or the reverse).
    pub fn take_from(
        kind: &DriverKind,
        settings: &mut BTreeMap<String, toml::Value>,
    ) -> Result<Self, PassthroughError> {
        let mut out = Self::default();
        if let Some(value) = settings.remove("region_from_imds") {
            let Some(on) = value.as_bool() else {
                return Err(PassthroughError::Invalid {
                    key: "region_from_imds".into(),
                    want: "true or false",
                    value: value.to_string(),
                });
            };
            if on && !takes_region_from_imds(kind) {
                return Err(PassthroughError::Combination(format!(
                    "`{kind}` has no IMDS region lookup the harness can leave the region to; `region_from_imds` is for boto3, aws-cli, boto3-crt, aiobotocore, js-v3 and rust-sdk"
                )));
            }
            out.region_from_imds = on;
        }
        for (table, allowed, refused) in [
            (
                "env",
                allowed_env(kind),
                refused_env as fn(&str) -> Option<&'static str>,
            ),
            ("profile", allowed_profile(kind), refused_profile),
        ] {
            let Some(value) = settings.remove(table) else {
                continue;
            };
            let Some(entries) = value.as_table() else {
                return Err(PassthroughError::Invalid {
                    key: table.into(),
                    want: "a table of names and values, e.g. { NAME = \"value\" }",
                    value: value.to_string(),
                });
            };
            let mut read = BTreeMap::new();
            for (key, v) in entries {
                if let Some(reason) = refused(key) {
                    return Err(PassthroughError::Refused {
                        table,
                        key: key.clone(),
                        reason,
                    });
                }
                if !allowed.contains(&key.as_str()) {
                    return Err(PassthroughError::NotAllowed {
                        kind: kind.clone(),
                        table,
                        key: key.clone(),
                        allowed,
                    });
                }
                let Some(text) = scalar(v) else {
                    return Err(PassthroughError::Invalid {
                        key: format!("{table}.{key}"),
                        want: "a string, number or boolean on one line",
                        value: v.to_string(),
                    });
                };
                read.insert(key.clone(), text);
            }
            if table == "env" {
                out.env = read;
            } else {
                out.profile = read;
            }
        }
        out.check_role()?;
        Ok(out)
    }

    /// What `imds-harness exec --env NAME=VALUE --profile KEY=VALUE --region-from-imds`
    /// gives a user's own program. No SDK allowlist applies (the program is the user's,
    /// and may need its own variables too, `PYTHONPATH` say), but everything a driver is
    /// refused is refused here as well ([`refused_env`], [`refused_profile`], the
    /// `role_arn` / `credential_source` pairing), and so are the variables the harness
    /// sets for the program itself (`HOME`, `PATH`, `LD_PRELOAD`, `FAKETIME*`, `NO_PROXY`).
    ///
    /// # Errors
    /// The first entry that is not `NAME=VALUE` (with a non-empty name), or is refused.
    pub fn for_program(
        env: &[String],
        profile: &[String],
        region_from_imds: bool,
    ) -> Result<Self, PassthroughError> {
        let mut out = Self {
            region_from_imds,
            ..Self::default()
        };
        for (flag, entries, refused) in [
            (
                "env",
                env,
                refused_program_env as fn(&str) -> Option<&'static str>,
            ),
            ("profile", profile, refused_profile),
        ] {
            for entry in entries {
                let (key, value) = entry
                    .split_once('=')
                    .filter(|(key, _)| !key.is_empty() && !key.contains(['\0', ' ']))
                    .ok_or_else(|| PassthroughError::Invalid {
                        key: format!("--{flag}"),
                        want: "NAME=VALUE",
                        value: format!("`{entry}`"),
                    })?;
                if let Some(reason) = refused(key) {
                    return Err(PassthroughError::Refused {
                        table: if flag == "env" { "env" } else { "profile" },
                        key: key.to_string(),
                        reason,
                    });
                }
                if flag == "profile" && value.contains(['\n', '\r']) {
                    return Err(PassthroughError::Invalid {
                        key: format!("--profile {key}"),
                        want: "a value on one line",
                        value: format!("{value:?}"),
                    });
                }
                let table = if flag == "env" {
                    &mut out.env
                } else {
                    &mut out.profile
                };
                table.insert(key.to_string(), value.to_string());
            }
        }
        out.check_role()?;
        Ok(out)
    }

    fn check_role(&self) -> Result<(), PassthroughError> {
        match (
            self.profile.get("role_arn"),
            self.profile.get("credential_source"),
        ) {
            (_, Some(source)) if source != CREDENTIAL_SOURCE => Err(PassthroughError::Refused {
                table: "profile",
                key: format!("credential_source = \"{source}\""),
                reason: "only `credential_source = \"Ec2InstanceMetadata\"` chains from the mock IMDS (`Environment` reads keys from variables, `EcsContainer` container credentials)",
            }),
            (Some(_), None) => Err(PassthroughError::Combination(
                "`profile.role_arn` needs `credential_source = \"Ec2InstanceMetadata\"` (the role is assumed with the instance's credentials)".into(),
            )),
            (None, Some(_)) => Err(PassthroughError::Combination(
                "`profile.credential_source` needs a `role_arn` to assume".into(),
            )),
            (Some(_), Some(_)) | (None, None) => Ok(()),
        }
    }

    /// The cell's config file: `[default]` with the profile settings, one `key = value`
    /// line each, plus `extra` lines (the harness's own, e.g. the Rust SDK's IMDS
    /// endpoint). Empty when there is nothing to write.
    pub fn config_file(&self, extra: &[(&str, &str)]) -> String {
        if self.profile.is_empty() && extra.is_empty() {
            return String::new();
        }
        let mut text = String::from("[default]\n");
        for (k, v) in extra
            .iter()
            .map(|(k, v)| (*k, *v))
            .chain(self.profile.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        {
            text.push_str(&format!("{k} = {v}\n"));
        }
        text
    }
}

/// The Rust SDK's pass-through needs its default chain (the IMDS-only client reads no
/// profile and is given its region), whose IMDS client is built by aws-config itself (so
/// the `imds_*` settings, which configure the harness's own IMDS client, do not apply).
///
/// # Errors
/// [`PassthroughError::Combination`] naming the settings that do not go together.
pub fn check_rust(
    settings: &super::settings::RustSdkSettings,
    passthrough: &Passthrough,
) -> Result<(), PassthroughError> {
    use super::settings::CredentialChain;
    let default_chain = settings.credential_chain == Some(CredentialChain::Default);
    if !default_chain && (!passthrough.profile.is_empty() || passthrough.region_from_imds) {
        return Err(PassthroughError::Combination(
            "`rust-sdk` reads `profile` and leaves the region to IMDS only with `credential_chain = \"default\"` (the IMDS-only client reads no profile and is given its region)".into(),
        ));
    }
    if default_chain
        && (settings.imds_connect_timeout_ms.is_some()
            || settings.imds_read_timeout_ms.is_some()
            || settings.imds_max_attempts.is_some())
    {
        return Err(PassthroughError::Combination(
            "`imds_connect_timeout_ms`, `imds_read_timeout_ms` and `imds_max_attempts` configure the IMDS-only client; with `credential_chain = \"default\"` aws-config builds its own IMDS client".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> BTreeMap<String, toml::Value> {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn allowlists_and_refusals() {
        let mut t = table(
            "env = { AWS_EC2_METADATA_DISABLED = true, AWS_METADATA_SERVICE_NUM_ATTEMPTS = 2 }\nmetadata_service_timeout = 1\nregion_from_imds = true",
        );
        let p = Passthrough::take_from(&DriverKind::Boto3, &mut t).unwrap();
        assert_eq!(p.env["AWS_EC2_METADATA_DISABLED"], "true");
        assert_eq!(p.env["AWS_METADATA_SERVICE_NUM_ATTEMPTS"], "2");
        assert!(p.region_from_imds);
        // The typed settings are left for the SDK's struct.
        assert_eq!(t.keys().collect::<Vec<_>>(), ["metadata_service_timeout"]);
        for (kind, text, want) in [
            (
                DriverKind::Boto3,
                "env = { AWS_ACCESS_KEY_ID = \"AKIA\" }",
                "`env.AWS_ACCESS_KEY_ID` is refused: a cell's credentials come only",
            ),
            (
                DriverKind::JsV3,
                "env = { AWS_CONTAINER_CREDENTIALS_FULL_URI = \"http://x\" }",
                "`env.AWS_CONTAINER_CREDENTIALS_FULL_URI` is refused: container credentials",
            ),
            (
                DriverKind::Boto3,
                "profile = { aws_secret_access_key = \"x\" }",
                "`profile.aws_secret_access_key` is refused",
            ),
            (
                DriverKind::AwsCli,
                "profile = { role_arn = \"arn\", source_profile = \"keys\" }",
                "`profile.source_profile` is refused: a source profile holds keys",
            ),
            (
                DriverKind::Boto3,
                "profile = { role_arn = \"arn\", credential_source = \"Environment\" }",
                "`profile.credential_source = \"Environment\"` is refused",
            ),
            (
                DriverKind::Boto3,
                "profile = { role_arn = \"arn\" }",
                "`profile.role_arn` needs `credential_source",
            ),
            (
                DriverKind::JsV3,
                "env = { AWS_METADATA_SERVICE_TIMEOUT = 1 }",
                "`js-v3` takes no `env.AWS_METADATA_SERVICE_TIMEOUT`; it takes `AWS_EC2_METADATA_DISABLED`, `AWS_EC2_METADATA_V1_DISABLED`, `AWS_RETRY_MODE`, `AWS_MAX_ATTEMPTS`",
            ),
            (
                DriverKind::RustSdk,
                "env = { AWS_EC2_METADATA_DISABLED = true }",
                "`rust-sdk` takes no `env.AWS_EC2_METADATA_DISABLED`; it takes none here",
            ),
            (
                DriverKind::JsV2,
                "region_from_imds = true",
                "`js-v2` has no IMDS region lookup",
            ),
            (
                DriverKind::Boto3,
                "env = { AWS_MAX_ATTEMPTS = [1] }",
                "`env.AWS_MAX_ATTEMPTS` must be a string, number or boolean on one line, not [1]",
            ),
            (
                DriverKind::Boto3,
                "env = \"AWS_MAX_ATTEMPTS=1\"",
                "`env` must be a table",
            ),
            (
                DriverKind::Boto3,
                "profile = { region = \"us-west-2\" }",
                "`profile.region` is refused: the harness sets the region",
            ),
        ] {
            let e = Passthrough::take_from(&kind, &mut table(text))
                .unwrap_err()
                .to_string();
            assert!(e.starts_with(want), "{text}: {e}");
        }
    }

    #[test]
    fn the_profile_becomes_a_default_section() {
        let mut t = table(
            "profile = { role_arn = \"arn:aws:iam::123456789012:role/r\", credential_source = \"Ec2InstanceMetadata\" }",
        );
        let p = Passthrough::take_from(&DriverKind::RustSdk, &mut t).unwrap();
        assert_eq!(
            p.config_file(&[("ec2_metadata_service_endpoint", "http://127.0.0.1:1")]),
            "[default]\nec2_metadata_service_endpoint = http://127.0.0.1:1\ncredential_source = Ec2InstanceMetadata\nrole_arn = arn:aws:iam::123456789012:role/r\n"
        );
        assert_eq!(Passthrough::default().config_file(&[]), "");
        assert!(Passthrough::default().is_empty());
    }
}
