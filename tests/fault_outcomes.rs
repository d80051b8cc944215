//! The fault catalogue against real SDKs: for each fault, what botocore (boto3, in a
//! child process) and the AWS SDK for Rust (in process) do when a client is created and
//! called once while the fault is active. The outcomes asserted here were observed with
//! boto3/botocore 1.43.11 and aws-sdk-sts 1.124 / aws-config 1.13.

mod common;

use harness::driver::spec::DriverSpec;
use harness::driver::{self, CallOutcome, DriverKind, DriverSetup, Endpoints};
use mock_imds::{FaultSpec, ImdsConfig, MockImds};

/// Creates a client and makes one call with `kind` while `fault` is active; returns the
/// outcome as `ok` or the error kind, and how many credential documents were fetched.
async fn probe(kind: DriverKind, config: ImdsConfig, fault: &str) -> (String, usize) {
    let setup = DriverSetup::with_python(common::python());
    let spec = DriverSpec {
        name: kind.to_string(),
        kind,
        version: None,
        settings: Default::default(),
    };
    let mut driver = driver::start(&spec, &setup).await.unwrap();
    let imds = MockImds::builder()
        .config(config)
        .seed(1)
        .start()
        .await
        .unwrap();
    if fault != "up" {
        imds.set_spec(fault.parse::<FaultSpec>().unwrap())
            .await
            .unwrap();
    }
    let mark = imds.mark();
    driver
        .configure(&Endpoints {
            imds: imds.endpoint(),
            sts: imds.sts_endpoint(),
            region: "us-east-1".into(),
            settings: Default::default(),
            seed: 0,
        })
        .await
        .unwrap();
    driver.new_client().await.unwrap();
    let outcome = match driver.call("test.1").await.unwrap() {
        CallOutcome::Ok { .. } => "ok".to_string(),
        CallOutcome::Err { kind, message } => format!("{kind} | {message}"),
    };
    (outcome, imds.credential_fetches_since(mark))
}

/// `(fault, boto3 outcome, Rust SDK outcome)`; an outcome is `ok` or the start of
/// `ErrorKind | message`.
const EXPECTED: &[(&str, &str, &str)] = &[
    ("up", "ok", "ok"),
    // The classic IMDSv1 fall-back: botocore retries without a token and succeeds; the
    // Rust SDK reads 403 as "IMDS is disabled" and does not fall back.
    ("status(403) on token", "ok", "ProviderError | dispatch failure: other: an error occurred while loading credentials: failed to load IMDS session token: service error: request forbidden: IMDS is disabled"),
    // A 400 on the token PUT: botocore does not fall back and ends with no credentials.
    ("status(400) on token", "NoCredentialsError | Unable to locate credentials", "ProviderError"),
    ("status(404) on token", "ok", "ProviderError"),
    ("reset on token", "ok", "CredentialsNotLoaded | dispatch failure: other: the credential provider was not enabled: could not communicate with IMDS"),
    ("no-role", "NoCredentialsError", "CredentialsNotLoaded | dispatch failure: other: the credential provider was not enabled: received 404 from IMDS"),
    // Expired credentials are used as served; STS rejects them.
    ("expired-credentials", "ExpiredToken", "ExpiredToken"),
    ("error-document(AssumeRoleUnauthorizedAccess)", "NoCredentialsError", "InvalidConfiguration | dispatch failure: other: the credentials provider was not properly configured: Incorrect IMDS/IAM configuration: [AssumeRoleUnauthorizedAccess]"),
    ("malformed-json", "NoCredentialsError", "Unhandled | dispatch failure: other: unexpected credentials error: invalid JSON in response"),
    ("truncate on credentials", "NoCredentialsError", "ProviderError"),
    ("status(500) on credentials", "NoCredentialsError", "ProviderError"),
    ("latency(300ms, 0s)", "ok", "ok"),
    ("throttle(1)", "NoCredentialsError", "ProviderError"),
    ("status(403)", "NoCredentialsError", "ProviderError | dispatch failure: other: an error occurred while loading credentials: failed to load IMDS session token: service error: request forbidden: IMDS is disabled"),
    ("reset", "NoCredentialsError", "CredentialsNotLoaded"),
    // The Rust SDK's message tells the two apart: a read timeout for `blackhole`, a
    // connect timeout for `drop-syn`.
    ("blackhole", "NoCredentialsError", "CredentialsNotLoaded | dispatch failure: other: the credential provider was not enabled: could not communicate with IMDS: dispatch failure: timeout: HTTP read timeout"),
    ("drop-syn", "NoCredentialsError", "CredentialsNotLoaded | dispatch failure: other: the credential provider was not enabled: could not communicate with IMDS: dispatch failure: timeout: client error (Connect): HTTP connect timeout"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_meets_the_observed_sdk_outcome() {
    // A few at a time: SDK timeouts (botocore's is 1 s) must not be met because a loaded
    // 2-core machine is busy starting a dozen interpreters.
    let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(3));
    let mut probes = tokio::task::JoinSet::new();
    for (i, (fault, boto3, rust)) in EXPECTED.iter().enumerate() {
        for (kind, expected) in [(DriverKind::Boto3, *boto3), (DriverKind::RustSdk, *rust)] {
            let permits = permits.clone();
            probes.spawn(async move {
                let _permit = permits.acquire_owned().await.unwrap();
                let (outcome, fetches) = probe(kind.clone(), ImdsConfig::default(), fault).await;
                (i, fault, kind, expected, outcome, fetches)
            });
        }
    }
    let mut mismatches = Vec::new();
    while let Some(done) = probes.join_next().await {
        let (_, fault, kind, expected, outcome, fetches) = done.unwrap();
        if !outcome.starts_with(expected) {
            mismatches.push(format!("{fault} / {kind}: expected `{expected}…`, got `{outcome}` ({fetches} credential fetches)"));
        }
        if expected == "ok" {
            assert_eq!(
                fetches, 1,
                "{fault} / {kind}: one credentials fetch for one client"
            );
        }
    }
    assert!(mismatches.is_empty(), "\n{}", mismatches.join("\n"));
}
