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
    // botocore with `ec2_metadata_v1_disabled` and a 403 on the token (boto3, aiobotocore;
    // scenarios/token-403-v1-fallback.toml).
    "MetadataRetrievalError",
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
    // JS v3 error names (harness/drivers/js_driver.cjs); JS v2's is `CredentialsError`
    // (above, js_v2_driver.cjs).
    "CredentialsProviderError",
    // JS v3 on a credentials document that is not JSON (scenarios/sdk-tests/
    // js-v3-unparseable-credentials.toml).
    "SyntaxError",
    // JS v3 when the IMDSv2 token is not a valid header value: Node's http refuses the
    // header (`ERR_INVALID_CHAR`, a TypeError thrown from node:_http_outgoing, not the
    // driver; scenarios/sdk-tests/harness-token-binary-body.toml).
    "TypeError",
    // The AWS SDK for Go v2 (drivers/go/v2.go: the outermost SDK error type) and v1
    // (drivers/go/v1.go: the awserr code).
    "SigningError",
    "RequestSendError",
    "NoCredentialProviders",
    // Go v2 on a 200 credentials document that is an error: the document's own `Code`
    // (scenarios/sdk-tests/go-v2-fail-assume.toml).
    "ErrorCode",
    // The AWS SDK for Ruby (drivers/ruby_driver.rb: the exception's class name).
    "MissingCredentialsError",
    // STS error codes the fake STS answers with (mock-imds/src/sts.rs, sigv4_check.rs),
    // reported as the service error's code by every driver.
    "ExpiredToken",
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "IncompleteSignature",
    "MissingAuthenticationToken",
    // botocore without a region (`region_from_imds`: botocore 1.43.11 takes none from
    // IMDS; scenarios/sdk-tests/harness-region-from-imds.toml).
    "NoRegionError",
    // JS v3 when its IMDS region lookup fails: a plain `Error` ("Region is missing";
    // scenarios/sdk-tests/harness-region-lookup-outage.toml); Go v2 1.17.1 when
    // config.LoadDefaultConfig refuses a FULL_URI host (a plain Go error;
    // scenarios/link-local-pod-identity.toml).
    "Error",
    // botocore 1.29.0 refusing a FULL_URI host it does not allow (client creation raises
    // ValueError; scenarios/link-local-pod-identity.toml).
    "ValueError",
];
