//! Each fault layer through the IMDS service, in process (no sockets): what a request
//! that meets a fault gets, how faults compose with the service and with each other, and
//! that probabilities and jitter draw from the seeded RNG.

use std::time::Duration;

use http::{header, Request};
use http_body_util::BodyExt;
use mock_imds::fuzzing::{ConnectionClosed, InProcess, TOKEN_PATH, TTL_HEADER};
use mock_imds::{EventKind, ImdsConfig};
use tokio::time::Instant;

const CREDS: &str = "/latest/meta-data/iam/security-credentials/mock-imds-role";

fn imds() -> InProcess {
    InProcess::new(ImdsConfig::default(), 7)
}

fn set(imds: &InProcess, state: &str) {
    imds.set(state.parse().unwrap());
}

fn req(method: &str, path: &str, headers: &[(&str, &str)]) -> Request<()> {
    let mut b = Request::builder().method(method).uri(path);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(()).unwrap()
}

async fn status(imds: &InProcess, r: Request<()>) -> u16 {
    imds.handle(r).await.unwrap().status().as_u16()
}

async fn body(imds: &InProcess, r: Request<()>) -> (u16, String) {
    let r = imds.handle(r).await.unwrap();
    let status = r.status().as_u16();
    let bytes = r.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(bytes.to_vec()).unwrap())
}

#[tokio::test]
async fn status_fault_and_refuse_apply_to_every_path() {
    let imds = imds();
    set(&imds, "status(500)");
    assert_eq!(
        status(&imds, req("PUT", TOKEN_PATH, &[(TTL_HEADER, "60")])).await,
        500
    );
    assert_eq!(
        status(&imds, req("GET", "/latest/meta-data/", &[])).await,
        500
    );
    set(&imds, "refuse");
    assert_eq!(
        imds.handle(req("GET", "/latest/meta-data/", &[]))
            .await
            .unwrap_err(),
        ConnectionClosed::Close
    );
    set(&imds, "reset");
    assert_eq!(
        imds.handle(req("GET", "/latest/meta-data/", &[]))
            .await
            .unwrap_err(),
        ConnectionClosed::Reset
    );
    let statuses: Vec<Option<u16>> = imds
        .events()
        .snapshot()
        .into_iter()
        .map(|e| match e.kind {
            EventKind::ImdsRequest { status, .. } => status,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(statuses, vec![Some(500), Some(500), None, None]);
}

#[tokio::test]
async fn token_fault_composes_with_working_gets() {
    let imds = imds();
    set(&imds, "status(403) on token");
    assert_eq!(
        status(&imds, req("PUT", TOKEN_PATH, &[(TTL_HEADER, "60")])).await,
        403
    );
    assert_eq!(status(&imds, req("GET", CREDS, &[])).await, 200);
}

#[tokio::test]
async fn credentials_faults_change_only_the_credentials_paths() {
    let imds = imds();
    set(&imds, "no-role");
    assert_eq!(
        status(
            &imds,
            req("GET", "/latest/meta-data/iam/security-credentials/", &[])
        )
        .await,
        404
    );
    assert_eq!(status(&imds, req("GET", CREDS, &[])).await, 404);
    assert_eq!(
        status(&imds, req("GET", "/latest/meta-data/instance-id", &[])).await,
        200
    );

    set(&imds, "expired-credentials");
    let (code, doc) = body(&imds, req("GET", CREDS, &[])).await;
    assert_eq!(code, 200);
    let doc: serde_json::Value = serde_json::from_str(&doc).unwrap();
    let expiration: chrono::DateTime<chrono::Utc> =
        doc["Expiration"].as_str().unwrap().parse().unwrap();
    assert!(expiration < chrono::Utc::now());

    set(&imds, "error-document(AssumeRoleUnauthorizedAccess)");
    let (code, doc) = body(&imds, req("GET", CREDS, &[])).await;
    assert_eq!(code, 200);
    let doc: serde_json::Value = serde_json::from_str(&doc).unwrap();
    assert_eq!(doc["Code"], "AssumeRoleUnauthorizedAccess");
    assert!(doc.get("AccessKeyId").is_none());

    set(&imds, "malformed-json");
    let (code, doc) = body(&imds, req("GET", CREDS, &[])).await;
    assert_eq!(code, 200);
    assert!(
        serde_json::from_str::<serde_json::Value>(&doc).is_err(),
        "{doc}"
    );
    assert!(doc.starts_with("{\n  \"Code\" : \"Success\""), "{doc}");
}

#[tokio::test]
async fn truncate_declares_more_than_it_sends() {
    let imds = imds();
    set(&imds, "truncate");
    let r = imds.handle(req("GET", CREDS, &[])).await.unwrap();
    let declared: usize = r.headers()[header::CONTENT_LENGTH]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let sent = r.into_body().collect().await.unwrap().to_bytes().len();
    assert!(sent < declared, "{sent} < {declared}");
}

#[tokio::test(start_paused = true)]
async fn throttle_answers_429_past_the_rate() {
    let imds = imds();
    set(&imds, "throttle(3)");
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(status(&imds, req("GET", "/latest/meta-data/", &[])).await);
    }
    assert_eq!(statuses, vec![200, 200, 200, 429, 429]);
    tokio::time::advance(Duration::from_secs(1)).await;
    assert_eq!(
        status(&imds, req("GET", "/latest/meta-data/", &[])).await,
        200,
        "a new window"
    );
}

#[tokio::test]
async fn probability_draws_are_seeded() {
    let draws = |seed| async move {
        let imds = InProcess::new(ImdsConfig::default(), seed);
        set(&imds, "status(500) p=0.5");
        let mut out = Vec::new();
        for _ in 0..32 {
            out.push(status(&imds, req("GET", "/latest/meta-data/", &[])).await);
        }
        out
    };
    let a = draws(1).await;
    assert_eq!(a, draws(1).await, "same seed, same draws");
    assert!(a.contains(&200) && a.contains(&500), "{a:?}");
    assert_ne!(a, draws(2).await);
}

#[tokio::test(start_paused = true)]
async fn latency_delays_then_serves() {
    let imds = imds();
    set(&imds, "latency(250ms, 0s) on credentials");
    let start = Instant::now();
    assert_eq!(status(&imds, req("GET", CREDS, &[])).await, 200);
    assert_eq!(start.elapsed(), Duration::from_millis(250));
    let start = Instant::now();
    assert_eq!(
        status(&imds, req("GET", "/latest/meta-data/", &[])).await,
        200
    );
    assert_eq!(start.elapsed(), Duration::ZERO);
}

/// Found by the `imds_request` fuzz target: a jittered delay near `Duration::MAX`
/// overflowed `Duration::from_secs_f64` and panicked the connection's task.
#[tokio::test(start_paused = true)]
async fn latency_near_duration_max_does_not_panic() {
    let imds = imds();
    // The text form is bounded at 24 h now; the Rust API can still build it.
    assert!("latency(18446744073709551615s, 1s)"
        .parse::<mock_imds::FaultSpec>()
        .is_err());
    imds.set(mock_imds::ImdsState::from(mock_imds::FaultSpec::new(
        mock_imds::Fault::Latency {
            delay: Duration::from_secs(u64::MAX),
            jitter: Duration::from_secs(1),
        },
    )));
    for _ in 0..8 {
        let answer = tokio::time::timeout(
            Duration::from_secs(3600),
            imds.handle(req("GET", "/latest/meta-data/", &[])),
        )
        .await;
        assert!(answer.is_err(), "still waiting after an hour");
    }
}

/// Body faults apply once each, content before wire, whatever their targets' order:
/// `truncate` on credentials (met first) still cuts what `malformed-json` left.
#[tokio::test]
async fn body_faults_apply_content_before_wire() {
    let imds = imds();
    set(&imds, "truncate on credentials; malformed-json on listener");
    let r = imds.handle(req("GET", CREDS, &[])).await.unwrap();
    let declared: usize = r.headers()[header::CONTENT_LENGTH]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let sent = r.into_body().collect().await.unwrap().to_bytes();
    assert!(sent.len() < declared, "{} < {declared}", sent.len());
    assert!(sent.starts_with(b"{\n  \"Code\""), "{sent:?}");
}

/// A status answer ends the pass: faults on less specific targets are not met.
#[tokio::test(start_paused = true)]
async fn a_status_answer_stops_the_pass() {
    let imds = imds();
    set(&imds, "status(503) on credentials; latency(5s, 0s)");
    let start = Instant::now();
    assert_eq!(status(&imds, req("GET", CREDS, &[])).await, 503);
    assert_eq!(start.elapsed(), Duration::ZERO);
}
