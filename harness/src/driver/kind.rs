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
    /// The AWS SDK for Go v2 (`aws-sdk-go-v2` 1.17.1, Debian's single version) in a Go
    /// child process (`drivers/go/v2.go`).
    #[strum(serialize = "go-v2")]
    GoV2,
    /// The AWS SDK for Go v1 (`aws-sdk-go` 1.44.133, Debian's single version) in a Go
    /// child process (`drivers/go/v1.go`).
    #[strum(serialize = "go-v1")]
    GoV1,
    /// The AWS SDK for Ruby (`aws-sdk-core` 3.168.1, Debian's single version) in a Ruby
    /// child process (`drivers/ruby_driver.rb`).
    #[strum(serialize = "ruby")]
    Ruby,
}

impl DriverKind {
    /// Every driver name, as written in scenario files.
    pub const NAMES: &'static [&'static str] = <Self as strum::VariantNames>::VARIANTS;

    /// The only version of the SDK this machine offers, for kinds installed as a single
    /// Debian package (no `@VERSION`); `None` for kinds that take `@VERSION`.
    pub fn single_version(&self) -> Option<&'static str> {
        match self {
            Self::GoV2 => Some("1.17.1"),
            Self::GoV1 => Some("1.44.133"),
            Self::Ruby => Some("3.168.1"),
            _ => None,
        }
    }

    /// True for the Go kinds: a Go program reads the wall clock without libc (vDSO), so
    /// libfaketime cannot move its clock, and it cannot run in a cell whose clock moves.
    pub fn ignores_libfaketime(&self) -> bool {
        matches!(self, Self::GoV2 | Self::GoV1)
    }

    /// The port the SDK reaches IMDS on whatever its endpoint says, if it ignores the
    /// port: aws-sdk-core 3.168.1 connects to port 80 (`InstanceProfileCredentials`
    /// takes `@port = options[:port] || 80`; measured: given `http://127.0.0.1:9999/`
    /// it connected to :80). Such a cell's mock IMDS gets a loopback address of its own
    /// on this port (see `crate::runner`).
    pub fn fixed_imds_port(&self) -> Option<u16> {
        match self {
            Self::Ruby => Some(80),
            _ => None,
        }
    }
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
