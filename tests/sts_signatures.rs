//! The fake STS judged by the real AWS SDK for Rust: correctly signed calls with issued
//! credentials are accepted; a wrong secret, an unknown key or a wrong session token are
//! rejected with the codes real STS uses.

use aws_credential_types::Credentials;
use aws_sdk_sts::config::{BehaviorVersion, Region};
use aws_sdk_sts::error::ProvideErrorMetadata;
use mock_imds::{EventKind, MockImds, StsOutcome};

async fn call(imds: &MockImds, creds: Credentials) -> Result<String, String> {
    let config = aws_sdk_sts::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(imds.sts_endpoint())
        .credentials_provider(creds)
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .build();
    let client = aws_sdk_sts::Client::from_conf(config);
    match client.get_caller_identity().send().await {
        Ok(out) => Ok(out.arn().unwrap_or_default().to_string()),
        Err(e) => Err(e.code().unwrap_or("no code").to_string()),
    }
}

#[tokio::test]
async fn accepts_issued_credentials_and_rejects_everything_else() {
    let imds = MockImds::builder().start().await.unwrap();
    let issued = imds.credentials().unwrap().current(chrono_now());
    let good = Credentials::new(
        &issued.access_key_id,
        &issued.secret_access_key,
        Some(issued.session_token.clone()),
        None,
        "test",
    );
    assert_eq!(
        call(&imds, good).await.unwrap(),
        "arn:aws:sts::123456789012:assumed-role/mock-imds-role/i-0123456789abcdef0"
    );

    let wrong_secret = Credentials::new(
        &issued.access_key_id,
        "x".repeat(40),
        Some(issued.session_token.clone()),
        None,
        "test",
    );
    assert_eq!(
        call(&imds, wrong_secret).await.unwrap_err(),
        "SignatureDoesNotMatch"
    );

    let unknown = Credentials::new(
        "ASIAMOCKNEVERISSUED0",
        &issued.secret_access_key,
        Some(issued.session_token.clone()),
        None,
        "test",
    );
    assert_eq!(
        call(&imds, unknown).await.unwrap_err(),
        "InvalidClientTokenId"
    );

    let wrong_token = Credentials::new(
        &issued.access_key_id,
        &issued.secret_access_key,
        Some("other".into()),
        None,
        "test",
    );
    assert_eq!(
        call(&imds, wrong_token).await.unwrap_err(),
        "InvalidClientTokenId"
    );

    let outcomes: Vec<StsOutcome> = imds
        .events()
        .into_iter()
        .filter_map(|e| match e.kind {
            EventKind::StsRequest { outcome, .. } => Some(outcome),
            _ => None,
        })
        .collect();
    assert_eq!(outcomes.len(), 4);
    assert!(matches!(outcomes[0], StsOutcome::Accepted { .. }));
    assert!(outcomes[1..]
        .iter()
        .all(|o| matches!(o, StsOutcome::Rejected { .. })));
}

fn chrono_now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}
