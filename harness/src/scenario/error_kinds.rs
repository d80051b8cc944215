//! The error kinds drivers report, which an `[[expect]]`'s `error_kind` must name: a kind
//! no driver reports could never match, so a typo (`NoCredentialError`) would make an
//! expectation that always fails. A kind an SDK is newly measured to report is added here.

/// Every error kind a driver reports, by where it comes from.
pub const KNOWN_ERROR_KINDS: &[&str] = &[
    // botocore exception class names (boto3, aws-cli; harness/drivers/boto3_driver.py,
    // driver/aws_cli.rs), as measured in scenarios/ and tests/fault_outcomes.rs.
    "NoCredentialsError",
    "CredentialRetrievalError",
    "EndpointConnectionError",
    "ConnectTimeoutError",
    "ReadTimeoutError",
    "ConnectionClosedError",
    // The AWS SDK for Rust (driver/rust_sdk.rs `error_kind`): CredentialsError variants,
    // then SdkError variants.
    "CredentialsNotLoaded",
    "ProviderTimedOut",
    "InvalidConfiguration",
    "ProviderError",
    "Unhandled",
    "CredentialsError",
    "ConstructionFailure",
    "TimeoutError",
    "DispatchFailure",
    "ResponseError",
    "ServiceError",
    "SdkError",
    // JS v3 error names (harness/drivers/js_driver.cjs).
    "CredentialsProviderError",
    // STS error codes the fake STS answers with (mock-imds/src/sts.rs, sigv4_check.rs),
    // reported as the service error's code by every driver.
    "ExpiredToken",
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "IncompleteSignature",
    "MissingAuthenticationToken",
];
