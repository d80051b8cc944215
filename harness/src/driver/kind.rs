//! Which SDK a driver runs ([`DriverKind`]): the one catalogue of driver names.

use serde::{Deserialize, Serialize};

/// Which SDK a driver runs. Its name, as scenario files write it, is its `Display` and
/// `FromStr` form; [`DriverKind::NAMES`] lists every name.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    strum::Display,
    strum::EnumString,
    strum::VariantNames,
)]
#[strum(parse_err_fn = unknown_driver, parse_err_ty = UnknownDriver)]
pub enum DriverKind {
    /// The AWS SDK for Rust (`aws-sdk-sts` + `aws-config`), in process.
    #[strum(serialize = "rust-sdk")]
    RustSdk,
    /// boto3 in a Python child process.
    #[strum(serialize = "boto3")]
    Boto3,
    /// AWS CLI v1 (`aws sts get-caller-identity`), one process per call.
    #[strum(serialize = "aws-cli")]
    AwsCli,
    /// The AWS SDK for JavaScript v3 (`@aws-sdk/client-sts`) in a Node child process.
    #[strum(serialize = "js-v3")]
    JsV3,
    /// The AWS SDK for JavaScript v2 (npm `aws-sdk`, `AWS.EC2MetadataCredentials`) in a
    /// Node child process.
    #[strum(serialize = "js-v2")]
    JsV2,
    /// aiobotocore (asyncio botocore, with the botocore it pins) in a Python child process.
    #[strum(serialize = "aiobotocore")]
    Aiobotocore,
    /// boto3 with `awscrt` installed, so botocore signs through `botocore/crt/auth.py`, in
    /// a Python child process.
    #[strum(serialize = "boto3-crt")]
    Boto3Crt,
    /// Any program speaking the JSON-lines driver protocol (`[driver.NAME] command = [...]`;
    /// README "Bring your own driver").
    #[strum(serialize = "command")]
    Command,
}

impl DriverKind {
    /// Every driver name, as written in scenario files.
    pub const NAMES: &'static [&'static str] = <Self as strum::VariantNames>::VARIANTS;
}

/// A name that is not a driver kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown driver `{0}`")]
pub struct UnknownDriver(pub String);

fn unknown_driver(name: &str) -> UnknownDriver {
    UnknownDriver(name.to_string())
}

impl Serialize for DriverKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DriverKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}
