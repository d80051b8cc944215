//! The environment variables that divert an AWS SDK from the mock: each makes a
//! credential provider that comes before IMDS in the SDKs' default chains answer (or
//! fail) first, or turns IMDS off. `mock-imds serve` prints them on its `unset` line
//! ([`crate::MockImds::sdk_env`]); the harness's children and `imds-harness exec` drop
//! every `AWS_*` variable, which covers them.
//!
//! Measured with boto3/botocore 1.43.11 against `mock-imds serve`
//! (`mock-imds/tests/sdk_env_unset.rs`): alone, `AWS_EC2_METADATA_DISABLED=true` leaves no
//! credentials; `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` / `_FULL_URI` fail in the
//! container provider; `AWS_WEB_IDENTITY_TOKEN_FILE` fails in the web-identity provider
//! (with `AWS_ROLE_ARN`, on the missing file); `AWS_PROFILE` / `AWS_DEFAULT_PROFILE`
//! name a profile that is not there; `AWS_ACCESS_KEY_ID` + `AWS_SECRET_ACCESS_KEY` are
//! used instead. The others only act beside one of those (the container's authorization
//! token, the role ARN and session name, the session token and its legacy alias) and go
//! with them. Sources: botocore/credentials.py (`create_credential_resolver`), the AWS
//! SDKs and Tools reference guide (standardized credential providers).

/// Every variable to unset so an SDK's default chain reaches the mock's IMDS.
pub const DIVERTING_VARIABLES: &[&str] = &[
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_EC2_METADATA_DISABLED",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
];
