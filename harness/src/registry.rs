//! An SDK's releases, from its package registry, for `imds-harness bisect`.
//!
//! - boto3 and the AWS CLI v1 (`awscli`) from PyPI's JSON API
//!   (`https://pypi.org/pypi/NAME/json`, its `releases` map; a release whose every file is
//!   yanked is left out; the botocore each boto3 release requires is read from its wheel
//!   when its environment is created, see [`crate::driver::envs`]);
//! - the JS v3 SDK (`@aws-sdk/client-sts`) from the npm registry's abbreviated metadata
//!   (`https://registry.npmjs.org/@aws-sdk%2Fclient-sts`, `Accept:
//!   application/vnd.npm.install-v1+json`, its `versions` map).
//!
//! TLS is verified against the system's trusted roots (`rustls-native-certs`: the
//! `SSL_CERT_FILE` / `SSL_CERT_DIR` bundle or the OS store, as pip and npm use), not a
//! bundled list, so a corporate TLS proxy trusted by the machine works here too.
//!
//! Versions are ordered as semver; pre-releases (`1.2.0-rc.1`, PEP 440 `1.2.0b1`, anything
//! that is not `MAJOR.MINOR.PATCH`) are excluded.

use std::time::Duration;

use semver::Version;
use serde::Deserialize;

use crate::driver::kind::DriverKind;

/// Longest one registry request may take.
pub const TIMEOUT: Duration = Duration::from_secs(120);

/// Largest registry answer read (npm's document for `@aws-sdk/client-sts` lists over a
/// thousand releases).
const BODY_LIMIT: u64 = 256 * 1024 * 1024;

/// A registry that could not be asked, or answered something unreadable.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The kind has no registry here.
    #[error("`{0}` has no release list to bisect: bisect takes boto3, aws-cli or js-v3 (the rust-sdk driver is the SDK this binary was built with)")]
    Unsupported(DriverKind),
    /// The request failed.
    #[error("cannot read {url}: {message}")]
    Request {
        /// What was asked.
        url: String,
        /// Why it failed.
        message: String,
    },
    /// The answer is not the registry's JSON.
    #[error("{url} answered something that is not its JSON: {message}")]
    Format {
        /// What was asked.
        url: String,
        /// What is wrong.
        message: String,
    },
}

/// Where `kind`'s releases are listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A PyPI project.
    PyPi(&'static str),
    /// An npm package.
    Npm(&'static str),
}

impl Source {
    /// The registry and package of `kind`.
    ///
    /// # Errors
    /// [`RegistryError::Unsupported`] for `rust-sdk`, `command` and the Debian-packaged
    /// Go and Ruby kinds (no registry).
    pub fn of(kind: &DriverKind) -> Result<Self, RegistryError> {
        match kind {
            DriverKind::Boto3 | DriverKind::Boto3Crt => Ok(Source::PyPi("boto3")),
            DriverKind::Aiobotocore => Ok(Source::PyPi("aiobotocore")),
            DriverKind::AwsCli => Ok(Source::PyPi("awscli")),
            DriverKind::JsV3 => Ok(Source::Npm("@aws-sdk/client-sts")),
            DriverKind::JsV2 => Ok(Source::Npm("aws-sdk")),
            DriverKind::RustSdk
            | DriverKind::Command
            | DriverKind::GoV2
            | DriverKind::GoV1
            | DriverKind::Ruby => Err(RegistryError::Unsupported(kind.clone())),
        }
    }

    /// The URL of the package's release list.
    pub fn url(&self) -> String {
        match self {
            Source::PyPi(name) => format!("https://pypi.org/pypi/{name}/json"),
            Source::Npm(name) => format!("https://registry.npmjs.org/{}", name.replace('/', "%2F")),
        }
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::PyPi(name) => write!(f, "PyPI {name}"),
            Source::Npm(name) => write!(f, "npm {name}"),
        }
    }
}

/// The system's trusted root certificates.
fn system_roots(url: &str) -> Result<ureq::tls::RootCerts, RegistryError> {
    let found = rustls_native_certs::load_native_certs();
    if found.certs.is_empty() {
        return Err(RegistryError::Request {
            url: url.to_string(),
            message: format!(
                "no trusted root certificates on this system ({})",
                found
                    .errors
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        });
    }
    let certs: Vec<ureq::tls::Certificate<'static>> = found
        .certs
        .iter()
        .map(|der| ureq::tls::Certificate::from_der(der.as_ref()).to_owned())
        .collect();
    Ok(ureq::tls::RootCerts::new_with_certs(&certs))
}

fn get(url: &str, accept: &str) -> Result<String, RegistryError> {
    let tls = ureq::tls::TlsConfig::builder()
        .root_certs(system_roots(url)?)
        .build();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .tls_config(tls)
        .timeout_global(Some(TIMEOUT))
        .user_agent(concat!(
            "imds-harness/",
            env!("CARGO_PKG_VERSION"),
            " (bisect)"
        ))
        .build()
        .into();
    let request_error = |e: ureq::Error| RegistryError::Request {
        url: url.to_string(),
        message: e.to_string(),
    };
    agent
        .get(url)
        .header("Accept", accept)
        .call()
        .map_err(request_error)?
        .body_mut()
        .with_config()
        .limit(BODY_LIMIT)
        .read_to_string()
        .map_err(request_error)
}

fn parse<T: serde::de::DeserializeOwned>(url: &str, text: &str) -> Result<T, RegistryError> {
    serde_json::from_str(text).map_err(|e| RegistryError::Format {
        url: url.to_string(),
        message: e.to_string(),
    })
}

/// A release version, if it is a plain `MAJOR.MINOR.PATCH` (no pre-release, no build).
pub fn release_version(text: &str) -> Option<Version> {
    Version::parse(text)
        .ok()
        .filter(|v| v.pre.is_empty() && v.build.is_empty())
}

#[derive(Deserialize)]
struct PyPiProject {
    releases: std::collections::BTreeMap<String, Vec<PyPiFile>>,
}

#[derive(Deserialize)]
struct PyPiFile {
    #[serde(default)]
    yanked: bool,
}

#[derive(Deserialize)]
struct NpmPackage {
    versions: std::collections::BTreeMap<String, serde_json::Value>,
}

/// The releases listed in a PyPI project document: not yanked, not pre-releases, sorted.
///
/// # Errors
/// [`RegistryError::Format`] when `text` is not a PyPI project document.
pub fn pypi_releases(url: &str, text: &str) -> Result<Vec<Version>, RegistryError> {
    let project: PyPiProject = parse(url, text)?;
    let mut out: Vec<Version> = project
        .releases
        .iter()
        .filter(|(_, files)| !files.is_empty() && files.iter().any(|f| !f.yanked))
        .filter_map(|(v, _)| release_version(v))
        .collect();
    out.sort();
    Ok(out)
}

/// The releases listed in an npm package document: not pre-releases, sorted.
///
/// # Errors
/// [`RegistryError::Format`] when `text` is not an npm package document.
pub fn npm_releases(url: &str, text: &str) -> Result<Vec<Version>, RegistryError> {
    let package: NpmPackage = parse(url, text)?;
    let mut out: Vec<Version> = package
        .versions
        .keys()
        .filter_map(|v| release_version(v))
        .collect();
    out.sort();
    Ok(out)
}

/// Every release of `source`, sorted (asks the registry).
///
/// # Errors
/// The registry cannot be reached or answers something else.
pub fn releases(source: Source) -> Result<Vec<Version>, RegistryError> {
    let url = source.url();
    match source {
        Source::PyPi(_) => pypi_releases(&url, &get(&url, "application/json")?),
        Source::Npm(_) => npm_releases(&url, &get(&url, "application/vnd.npm.install-v1+json")?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pypi_releases_skip_pre_releases_and_yanked_ones_and_sort() {
        let text = r#"{"info": {}, "releases": {
            "1.10.0": [{"yanked": false}], "1.9.0": [{"yanked": false}],
            "1.2.0b1": [{"yanked": false}], "1.3.0rc1": [{"yanked": false}],
            "1.4.0": [{"yanked": true}], "1.5.0": [], "1.6": [{"yanked": false}],
            "1.11.0": [{"yanked": true}, {"yanked": false}]}}"#;
        let got: Vec<String> = pypi_releases("u", text)
            .unwrap()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(got, ["1.9.0", "1.10.0", "1.11.0"]);
        assert!(pypi_releases("u", "{}")
            .unwrap_err()
            .to_string()
            .contains("u answered"));
    }

    #[test]
    fn npm_releases_skip_pre_releases_and_sort() {
        let text = r#"{"name": "@aws-sdk/client-sts", "versions": {
            "3.27.0": {}, "3.3.0": {}, "3.100.0": {}, "3.0.0-rc.3": {}, "3.28.0-beta.1": {}}}"#;
        let got: Vec<String> = npm_releases("u", text)
            .unwrap()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(got, ["3.3.0", "3.27.0", "3.100.0"]);
    }

    #[test]
    fn sources() {
        assert_eq!(
            Source::of(&DriverKind::JsV3).unwrap().url(),
            "https://registry.npmjs.org/@aws-sdk%2Fclient-sts"
        );
        assert_eq!(
            Source::of(&DriverKind::AwsCli).unwrap().url(),
            "https://pypi.org/pypi/awscli/json"
        );
        assert!(Source::of(&DriverKind::RustSdk).is_err());
    }
}
