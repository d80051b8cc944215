//! The HTTP control API: every endpoint, and clear errors for bad input.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use mock_imds::{ImdsState, MockImds};

async fn call(base: &str, method: &str, path: &str, body: &str) -> (u16, serde_json::Value) {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<Bytes>>();
    let req = http::Request::builder()
        .method(method)
        .uri(format!("{base}{path}"))
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap();
    let res = client.request(req).await.unwrap();
    let status = res.status().as_u16();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap())
}

async fn started() -> (MockImds, String) {
    let imds = MockImds::builder()
        .seed(42)
        .control(SocketAddr::from(([127, 0, 0, 1], 0)))
        .start()
        .await
        .unwrap();
    let base = imds.control_endpoint().unwrap();
    (imds, base)
}

#[tokio::test]
async fn faults_can_be_set_listed_and_cleared() {
    let (imds, base) = started().await;
    let (s, v) = call(&base, "GET", "/state", "").await;
    assert_eq!(
        (
            s,
            v["state"].as_str(),
            v["up"].as_bool(),
            v["seed"].as_u64()
        ),
        (200, Some("up"), Some(true), Some(42))
    );

    let (s, v) = call(
        &base,
        "POST",
        "/faults",
        r#"{"fault": "status(403) on token"}"#,
    )
    .await;
    assert_eq!(
        (s, v["state"].as_str()),
        (200, Some("status(403) on token"))
    );
    let (_, v) = call(&base, "POST", "/faults", r#"{"fault": "refuse"}"#).await;
    assert_eq!(v["state"], "status(403) on token; refuse");
    assert!(
        tokio::net::TcpStream::connect(imds.addr()).await.is_err(),
        "in force when the call returns"
    );

    let (_, v) = call(&base, "DELETE", "/faults/listener", "").await;
    assert_eq!(v["state"], "status(403) on token");
    let (_, v) = call(&base, "PUT", "/state", r#"{"state": "blackhole; no-role"}"#).await;
    assert_eq!(v["state"], "no-role; blackhole");
    let (_, v) = call(&base, "DELETE", "/faults", "").await;
    assert_eq!(v["state"], "up");
    assert_eq!(imds.state(), ImdsState::up());
}

#[tokio::test]
async fn schedules_run_from_now_and_events_are_readable() {
    let (imds, base) = started().await;
    let (s, v) = call(
        &base,
        "POST",
        "/schedule",
        r#"{"steps": [{"at": "0s", "state": "refuse"}, {"at": "100ms", "state": "up"}]}"#,
    )
    .await;
    assert_eq!((s, v["steps"].as_u64()), (200, Some(2)));
    let mut waited = Duration::ZERO;
    loop {
        let (_, events) = call(&base, "GET", "/events", "").await;
        let states: Vec<&str> = events
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["type"] == "transition")
            .filter_map(|e| e["state"].as_str())
            .collect();
        if states == ["up", "refuse", "up"] {
            break;
        }
        assert!(
            waited < Duration::from_secs(10),
            "schedule did not run: {states:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
        waited += Duration::from_millis(20);
    }
    let (_, later) = call(&base, "GET", "/events?since_ms=99999999", "").await;
    assert_eq!(later.as_array().unwrap().len(), 0);
    let (_, v) = call(&base, "POST", "/reset", "").await;
    assert_eq!(v["state"], "up");
    drop(imds);
}

#[tokio::test]
async fn bad_input_gets_400_with_what_is_accepted() {
    let (_imds, base) = started().await;
    for (method, path, body, needle) in [
        (
            "POST",
            "/faults",
            r#"{"fault": "sometimes"}"#,
            "unknown fault",
        ),
        ("POST", "/faults", "not json", "the body must be JSON like"),
        ("POST", "/faults", r#"{"fualt": "refuse"}"#, "unknown field"),
        (
            "PUT",
            "/state",
            r#"{"state": "refuse on token"}"#,
            "only be `listener`",
        ),
        (
            "DELETE",
            "/faults/nowhere",
            "",
            "expected listener, token, credentials or path(GLOB)",
        ),
        (
            "POST",
            "/schedule",
            r#"{"steps": [{"at": "soon", "state": "up"}]}"#,
            "step 1: `at` = `soon` is not a duration",
        ),
        (
            "POST",
            "/schedule",
            r#"{"steps": [{"at": "1s", "state": "up"}, {"at": "1s", "state": "refuse"}]}"#,
            "same target",
        ),
        ("GET", "/events?since_ms=-4", "", "since_ms must be"),
    ] {
        let (s, v) = call(&base, method, path, body).await;
        assert_eq!(s, 400, "{method} {path}: {v}");
        assert!(
            v["error"].as_str().unwrap().contains(needle),
            "{method} {path}: {v}"
        );
    }
    assert_eq!(call(&base, "GET", "/nope", "").await.0, 404);
    assert_eq!(call(&base, "PATCH", "/state", "").await.0, 405);
}
