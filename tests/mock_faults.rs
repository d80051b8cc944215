//! mock-imds over real sockets: IMDSv2 flows, and the `refuse`, `blackhole` and
//! `status(N)` faults as a client sees them, including on kept-alive connections.

mod common;

use std::time::Duration;

use common::{exchange, get};
use mock_imds::{EventKind, ImdsState, MockImds, Schedule, Step};
use tokio::net::TcpStream;

const WAIT: Duration = Duration::from_secs(5);

fn state(s: &str) -> ImdsState {
    s.parse().unwrap()
}

#[tokio::test]
async fn imdsv2_token_then_credentials_over_http() {
    let imds = MockImds::builder().start().await.unwrap();
    let mut conn = TcpStream::connect(imds.addr()).await.unwrap();
    let put = "PUT /latest/api/token HTTP/1.1\r\nHost: x\r\nX-aws-ec2-metadata-token-ttl-seconds: 21600\r\nContent-Length: 0\r\n\r\n";
    let (status, text) = exchange(&mut conn, put, WAIT).await.unwrap();
    assert_eq!(status, 200);
    assert!(
        text.to_ascii_lowercase()
            .contains("x-aws-ec2-metadata-token-ttl-seconds: 21600"),
        "{text}"
    );
    let token = text.rsplit("\r\n\r\n").next().unwrap().to_string();

    let header = format!("X-aws-ec2-metadata-token: {token}\r\n");
    let (status, listing) = exchange(
        &mut conn,
        &get("/latest/meta-data/iam/security-credentials/", &header),
        WAIT,
    )
    .await
    .unwrap();
    assert_eq!(status, 200);
    let role = listing.rsplit("\r\n\r\n").next().unwrap().to_string();
    assert_eq!(role, "mock-imds-role");
    let path = format!("/latest/meta-data/iam/security-credentials/{role}");
    let (status, doc) = exchange(&mut conn, &get(&path, &header), WAIT)
        .await
        .unwrap();
    assert_eq!(status, 200);
    assert!(doc.contains("content-type: text/plain"), "{doc}");
    let body: serde_json::Value =
        serde_json::from_str(doc.rsplit("\r\n\r\n").next().unwrap()).unwrap();
    for field in [
        "Code",
        "LastUpdated",
        "Type",
        "AccessKeyId",
        "SecretAccessKey",
        "Token",
        "Expiration",
    ] {
        assert!(body.get(field).is_some(), "{field} missing: {body}");
    }
    let (status, _) = exchange(
        &mut conn,
        &get(&path, "X-aws-ec2-metadata-token: AQAEwrong\r\n"),
        WAIT,
    )
    .await
    .unwrap();
    assert_eq!(status, 401);

    let tokens: Vec<bool> = imds
        .events()
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::ImdsRequest { token_present, .. } => Some(*token_present),
            _ => None,
        })
        .collect();
    assert_eq!(tokens, vec![false, true, true, true]);
}

#[tokio::test]
async fn refuse_closes_the_listener_and_open_connections_then_reopens() {
    let imds = MockImds::builder().start().await.unwrap();
    let addr = imds.addr();
    let mut kept_alive = TcpStream::connect(addr).await.unwrap();
    assert_eq!(
        exchange(
            &mut kept_alive,
            &get("/latest/meta-data/instance-id", ""),
            WAIT
        )
        .await
        .unwrap()
        .0,
        200
    );

    imds.set_state(state("refuse")).await.unwrap();
    let refused = TcpStream::connect(addr).await.unwrap_err();
    assert_eq!(
        refused.kind(),
        std::io::ErrorKind::ConnectionRefused,
        "{refused}"
    );
    assert!(
        exchange(
            &mut kept_alive,
            &get("/latest/meta-data/instance-id", ""),
            WAIT
        )
        .await
        .is_none(),
        "a kept-alive connection must not keep serving during `refuse`"
    );

    imds.set_state(ImdsState::up()).await.unwrap();
    let mut fresh = TcpStream::connect(addr).await.unwrap();
    assert_eq!(
        exchange(&mut fresh, &get("/latest/meta-data/instance-id", ""), WAIT)
            .await
            .unwrap()
            .0,
        200
    );
}

#[tokio::test]
async fn blackhole_accepts_but_never_answers() {
    let imds = MockImds::builder()
        .initial_state(state("blackhole"))
        .start()
        .await
        .unwrap();
    let mut conn = TcpStream::connect(imds.addr()).await.unwrap();
    let answer = exchange(
        &mut conn,
        &get("/latest/meta-data/", ""),
        Duration::from_millis(300),
    )
    .await;
    assert!(answer.is_none(), "blackhole answered: {answer:?}");

    // Lifting the fault does not answer the held request; new requests are served.
    imds.set_state(ImdsState::up()).await.unwrap();
    let late = exchange(&mut conn, "", Duration::from_millis(300)).await;
    assert!(
        late.is_none(),
        "held request answered after the fault lifted: {late:?}"
    );
    let mut fresh = TcpStream::connect(imds.addr()).await.unwrap();
    assert_eq!(
        exchange(&mut fresh, &get("/latest/meta-data/", ""), WAIT)
            .await
            .unwrap()
            .0,
        200
    );
}

#[tokio::test]
async fn status_fault_answers_every_path_including_the_token_put() {
    let imds = MockImds::builder()
        .initial_state(state("status(503)"))
        .start()
        .await
        .unwrap();
    let mut conn = TcpStream::connect(imds.addr()).await.unwrap();
    let put = "PUT /latest/api/token HTTP/1.1\r\nHost: x\r\nX-aws-ec2-metadata-token-ttl-seconds: 60\r\nContent-Length: 0\r\n\r\n";
    assert_eq!(exchange(&mut conn, put, WAIT).await.unwrap().0, 503);
    assert_eq!(
        exchange(&mut conn, &get("/latest/meta-data/", ""), WAIT)
            .await
            .unwrap()
            .0,
        503
    );
    imds.set_state(state("status(500, \"boom\")"))
        .await
        .unwrap();
    let (status, text) = exchange(&mut conn, &get("/latest/meta-data/", ""), WAIT)
        .await
        .unwrap();
    assert_eq!(status, 500);
    assert!(text.ends_with("boom"), "{text}");
}

#[tokio::test]
async fn schedule_steps_are_applied_on_the_scenario_clock_and_logged() {
    let schedule = Schedule::new(vec![
        Step::new(Duration::ZERO, "refuse".parse().unwrap()),
        Step::new(Duration::from_millis(200), "up".parse().unwrap()),
    ])
    .unwrap();
    let imds = MockImds::builder()
        .schedule(schedule)
        .start()
        .await
        .unwrap();
    assert!(
        TcpStream::connect(imds.addr()).await.is_err(),
        "refused at time zero"
    );
    // Wait for the logged recovery rather than sleeping a guessed time.
    let mut waited = Duration::ZERO;
    while imds.state() != ImdsState::up() {
        tokio::time::sleep(Duration::from_millis(10)).await;
        waited += Duration::from_millis(10);
        assert!(waited < WAIT, "schedule never brought IMDS up");
    }
    let transitions: Vec<(Duration, String)> = imds
        .events()
        .into_iter()
        .filter_map(|e| match e.kind {
            EventKind::Transition { state, .. } => Some((e.at, state.to_string())),
            _ => None,
        })
        .collect();
    assert_eq!(transitions.len(), 2, "{transitions:?}");
    assert_eq!(transitions[0].1, "refuse");
    assert_eq!(transitions[1].1, "up");
    assert!(
        transitions[1].0 >= Duration::from_millis(200),
        "{transitions:?}"
    );
    let mut conn = TcpStream::connect(imds.addr()).await.unwrap();
    assert_eq!(
        exchange(&mut conn, &get("/latest/meta-data/", ""), WAIT)
            .await
            .unwrap()
            .0,
        200
    );
}

#[tokio::test]
async fn drop_syn_makes_connects_time_out_not_fail() {
    let imds = MockImds::builder().start().await.unwrap();
    let mut kept_alive = TcpStream::connect(imds.addr()).await.unwrap();
    assert_eq!(
        exchange(&mut kept_alive, &get("/latest/meta-data/", ""), WAIT)
            .await
            .unwrap()
            .0,
        200
    );
    imds.set_state(state("drop-syn")).await.unwrap();
    let attempt =
        tokio::time::timeout(Duration::from_millis(500), TcpStream::connect(imds.addr())).await;
    assert!(
        attempt.is_err(),
        "connect should hang (SYN dropped), got {attempt:?}"
    );
    assert!(
        exchange(
            &mut kept_alive,
            &get("/latest/meta-data/", ""),
            Duration::from_millis(500)
        )
        .await
        .is_none(),
        "open connections are closed"
    );
    imds.set_state(ImdsState::up()).await.unwrap();
    let mut fresh = TcpStream::connect(imds.addr()).await.unwrap();
    assert_eq!(
        exchange(&mut fresh, &get("/latest/meta-data/", ""), WAIT)
            .await
            .unwrap()
            .0,
        200
    );
}

#[tokio::test]
async fn reset_sends_a_tcp_rst() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let imds = MockImds::builder()
        .initial_state(state("reset on token"))
        .start()
        .await
        .unwrap();
    let mut conn = TcpStream::connect(imds.addr()).await.unwrap();
    // Other paths still work on the same connection.
    assert_eq!(
        exchange(&mut conn, &get("/latest/meta-data/", ""), WAIT)
            .await
            .unwrap()
            .0,
        200
    );
    let put = "PUT /latest/api/token HTTP/1.1\r\nHost: x\r\nX-aws-ec2-metadata-token-ttl-seconds: 60\r\nContent-Length: 0\r\n\r\n";
    conn.write_all(put.as_bytes()).await.unwrap();
    let mut buf = [0u8; 64];
    let read = tokio::time::timeout(WAIT, conn.read(&mut buf))
        .await
        .unwrap();
    let err = read.unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionReset, "{err}");
}

#[tokio::test]
async fn truncate_closes_before_the_declared_length() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let imds = MockImds::builder()
        .initial_state(state("truncate"))
        .start()
        .await
        .unwrap();
    let mut conn = TcpStream::connect(imds.addr()).await.unwrap();
    conn.write_all(get("/latest/meta-data/iam/info", "").as_bytes())
        .await
        .unwrap();
    let mut received = Vec::new();
    tokio::time::timeout(WAIT, conn.read_to_end(&mut received))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&received);
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let declared: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse().unwrap())
        })
        .unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        body.len() < declared,
        "body {} of declared {declared}",
        body.len()
    );
}
