//! Driver specs: which SDK, which version, which of the SDK's own settings.
//!
//! In a scenario's `[matrix] drivers` list a driver is a kind (`rust-sdk`, `boto3`,
//! `aws-cli`, `js-v3`, `js-v2`, `aiobotocore`, `boto3-crt`, `go-v2`, `go-v1`, `ruby`),
//! optionally with a version (`boto3@1.34.162`, `js-v3@3.26.0`, `boto3@latest`; not for the
//! Go and Ruby kinds, one Debian version each), or the name of a `[driver.NAME]` table that
//! sets the SDK's own knobs (see [`super::settings`] for what each SDK takes) or runs a
//! program of the user's (`command = [...]`, kind `command`).

use std::fmt;

use serde::Serialize;

use super::kind::{DriverKind, UnknownDriver};
use super::passthrough::Passthrough;
use super::settings::SdkSettings;

/// A driver as a cell runs it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DriverSpec {
    /// The name the matrix uses (`boto3`, `boto3@1.34.162`, `boto3-patient`).
    pub name: String,
    /// The SDK.
    pub kind: DriverKind,
    /// The SDK version, `latest`, or `None` for the version the project pins.
    pub version: Option<String>,
    /// The SDK's own settings, typed by its kind.
    pub settings: SdkSettings,
    /// Variables and profile settings passed through to the SDK as it reads them.
    #[serde(skip_serializing_if = "Passthrough::is_empty")]
    pub passthrough: Passthrough,
}

impl DriverSpec {
    /// `kind` at the pinned version with the SDK's defaults, named after the kind.
    pub fn new(kind: DriverKind) -> Self {
        Self {
            name: kind.to_string(),
            settings: SdkSettings::defaults(&kind),
            kind,
            version: None,
            passthrough: Passthrough::default(),
        }
    }
}

impl fmt::Display for DriverSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// Text that is not `kind[@version]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SdkError {
    /// The kind is not a driver.
    #[error(transparent)]
    UnknownKind(#[from] UnknownDriver),
    /// The version is neither `latest` nor dotted numbers.
    #[error("version `{version}` of `{kind}` is not `latest` or numbers like 1.34.162")]
    BadVersion {
        /// The kind.
        kind: DriverKind,
        /// The version as written.
        version: String,
    },
    /// `command` runs the program of a `[driver.NAME]` table; it has no version.
    #[error("the command driver runs a program of yours: give it a table, `[driver.NAME] command = [\"prog\", \"arg\"]`, and put NAME in the matrix")]
    CommandNeedsTable,
    /// A kind installed as one Debian package has one version.
    #[error("`{kind}` is the single version Debian packages ({version}); it takes no @VERSION")]
    SingleVersion {
        /// The kind.
        kind: DriverKind,
        /// Its one version.
        version: &'static str,
    },
    /// `rust-sdk` is the SDK this binary was built with.
    #[error("the rust-sdk driver runs the AWS SDK for Rust this binary was built with; it takes no @version")]
    RustSdkVersion,
}

/// Parses `kind[@version]`.
///
/// # Errors
/// An unknown kind, or a version that is not `latest` or dotted numbers.
pub fn parse_sdk(text: &str) -> Result<(DriverKind, Option<String>), SdkError> {
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
            return Err(SdkError::BadVersion {
                kind,
                version: v.to_string(),
            });
        }
        if kind == DriverKind::RustSdk {
            return Err(SdkError::RustSdkVersion);
        }
        if kind == DriverKind::Command {
            return Err(SdkError::CommandNeedsTable);
        }
        if let Some(version) = kind.single_version() {
            return Err(SdkError::SingleVersion { kind, version });
        }
    }
    Ok((kind, version.map(str::to_string)))
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
            .to_string()
            .contains("not `latest` or numbers"));
        assert_eq!(
            parse_sdk("rust-sdk@1.0").unwrap_err(),
            SdkError::RustSdkVersion
        );
        assert_eq!(
            parse_sdk("ruby@3.0").unwrap_err().to_string(),
            "`ruby` is the single version Debian packages (3.168.1); it takes no @VERSION"
        );
        assert_eq!(parse_sdk("go-v2").unwrap(), (DriverKind::GoV2, None));
        assert_eq!(
            parse_sdk("boto").unwrap_err().to_string(),
            "unknown driver `boto`"
        );
    }

    #[test]
    fn kinds_have_one_name_each() {
        assert_eq!(
            DriverKind::NAMES,
            &[
                "rust-sdk",
                "boto3",
                "aws-cli",
                "js-v3",
                "js-v2",
                "aiobotocore",
                "boto3-crt",
                "command",
                "go-v2",
                "go-v1",
                "ruby"
            ]
        );
        for name in DriverKind::NAMES {
            assert_eq!(name.parse::<DriverKind>().unwrap().to_string(), *name);
        }
    }
}
