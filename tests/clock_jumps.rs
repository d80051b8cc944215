//! One virtual wall clock for the mock: a jump moves the credentials document's
//! `LastUpdated`/`Expiration`, rotation, and the fake STS's checks together. A request
//! signed on the old (real) clock after a +6 h jump is `SignatureDoesNotMatch` ("Signature
//! expired"); one signed on the jumped clock is accepted; once the jump passes the old
//! set's expiry, STS says `ExpiredToken` for it. Signed by the real AWS SDK for Rust.

mod common;

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sdk_sts::config::{BehaviorVersion, Region};
use aws_sdk_sts::error::ProvideErrorMetadata;
use mock_imds::{EventKind, MockImds, SignedDuration};

/// A signing clock `offset` away from the system's.
#[derive(Debug, Clone, Copy)]
struct Offset(SignedDuration);

impl aws_smithy_async::time::TimeSource for Offset {
    fn now(&self) -> SystemTime {
        let ms = self.0.as_millis();
        let by = Duration::from_millis(ms.unsigned_abs());
        if ms >= 0 {
            SystemTime::now() + by
        } else {
            SystemTime::now() - by
        }
    }
}

async fn call(imds: &MockImds, creds: &Credentials, clock: Offset) -> Result<String, String> {
    let config = aws_sdk_sts::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(imds.sts_endpoint())
        .credentials_provider(creds.clone())
        .time_source(clock)
        // One attempt: the SDK corrects its clock skew from the STS's `Date` header and
        // retries (measured: a call signed 5 h 52 min behind was accepted on its retry),
        // which would hide what STS says to the first, stale signature.
        .retry_config(aws_sdk_sts::config::retry::RetryConfig::disabled())
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .build();
    let client = aws_sdk_sts::Client::from_conf(config);
    match client.get_caller_identity().send().await {
        Ok(out) => Ok(out.arn().unwrap_or_default().to_string()),
        Err(e) => Err(format!(
            "{}: {}",
            e.code().unwrap_or("no code"),
            e.message().unwrap_or("")
        )),
    }
}

/// The credentials document IMDS serves now (IMDSv1 GET), as JSON.
async fn document(imds: &MockImds) -> serde_json::Value {
    let mut conn = tokio::net::TcpStream::connect(imds.addr()).await.unwrap();
    let path = "/latest/meta-data/iam/security-credentials/mock-imds-role";
    let (status, text) =
        common::exchange(&mut conn, &common::get(path, ""), Duration::from_secs(10))
            .await
            .expect("an answer");
    assert_eq!(status, 200, "{text}");
    let body = &text[text.find("\r\n\r\n").unwrap() + 4..];
    serde_json::from_str(body).unwrap()
}

fn time(doc: &serde_json::Value, key: &str) -> chrono::DateTime<chrono::Utc> {
    doc[key].as_str().unwrap().parse().unwrap()
}

fn creds_of(doc: &serde_json::Value) -> Credentials {
    Credentials::new(
        doc["AccessKeyId"].as_str().unwrap(),
        doc["SecretAccessKey"].as_str().unwrap(),
        Some(doc["Token"].as_str().unwrap().to_string()),
        None,
        "test",
    )
}

#[tokio::test]
async fn a_jump_moves_the_documents_and_the_sts_checks_together() {
    let imds = MockImds::builder().start().await.unwrap();
    let real = Offset(SignedDuration::ZERO);
    let first = document(&imds).await;
    let issued = time(&first, "LastUpdated");
    assert!((chrono::Utc::now() - issued).num_seconds().abs() < 60);
    assert_eq!(
        time(&first, "Expiration") - issued,
        chrono::Duration::hours(6)
    );
    let old = creds_of(&first);
    assert!(call(&imds, &old, real).await.is_ok());

    // 5 h 52 min later: 8 minutes left, the same set (EC2 rotates 5 minutes before).
    let jump: SignedDuration = "+5h52m".parse().unwrap();
    assert_eq!(imds.jump_clock(jump).unwrap(), jump);
    assert_eq!(document(&imds).await["AccessKeyId"], first["AccessKeyId"]);
    let late = (imds.now() - chrono::Utc::now()).num_seconds();
    assert!((21_119..=21_121).contains(&late), "{late}");
    // Signed on the old clock: more than 15 minutes from the STS's.
    let stale = call(&imds, &old, real).await.unwrap_err();
    assert!(
        stale.starts_with("SignatureDoesNotMatch: Signature expired"),
        "{stale}"
    );
    // Signed on the jumped clock: accepted.
    assert!(call(&imds, &old, Offset(jump)).await.is_ok());

    // 4 more minutes: past the rotation instant; a new set, issued at it.
    let four: SignedDuration = "+4m".parse().unwrap();
    imds.jump_clock(four).unwrap();
    let second = document(&imds).await;
    assert_ne!(second["AccessKeyId"], first["AccessKeyId"]);
    assert_eq!(
        time(&second, "LastUpdated"),
        time(&first, "Expiration") - chrono::Duration::minutes(5)
    );
    let now = Offset(SignedDuration::from_millis(
        jump.as_millis() + four.as_millis(),
    ));
    // The old set still works for its last minute; after its expiry it is ExpiredToken.
    assert!(call(&imds, &old, now).await.is_ok());
    imds.jump_clock("+5m".parse().unwrap()).unwrap();
    let now = Offset(imds.clock().offset());
    let expired = call(&imds, &old, now).await.unwrap_err();
    assert!(expired.starts_with("ExpiredToken"), "{expired}");
    assert!(call(&imds, &creds_of(&second), now).await.is_ok());

    let kinds: Vec<String> = imds
        .events()
        .into_iter()
        .filter_map(|e| match e.kind {
            EventKind::ClockJump { by, offset_ms, .. } => Some(format!("jump {by} -> {offset_ms}")),
            EventKind::CredentialsRotated { forced, .. } => {
                Some(format!("rotated forced={forced}"))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "jump +5h 52m -> 21120000",
            "jump +4m -> 21360000",
            "rotated forced=false",
            "jump +5m -> 21660000"
        ]
    );
}

#[tokio::test]
async fn a_forced_rotation_serves_a_new_set_on_the_jumped_clock() {
    let imds = MockImds::builder().start().await.unwrap();
    let first = document(&imds).await;
    imds.jump_clock("+1h".parse().unwrap()).unwrap();
    let rotated = imds.rotate_credentials().unwrap();
    let second = document(&imds).await;
    assert_eq!(second["AccessKeyId"], rotated.access_key_id.as_str());
    assert_ne!(second["AccessKeyId"], first["AccessKeyId"]);
    let hour = time(&second, "LastUpdated") - time(&first, "LastUpdated");
    assert!((3599..=3660).contains(&hour.num_seconds()), "{hour}");
    // The old set is still valid (it has 5 hours left).
    let now = Offset(imds.clock().offset());
    assert!(call(&imds, &creds_of(&first), now).await.is_ok());
}
