//! mock-imds over real sockets: IMDSv2 flows, and the `refuse`, `blackhole`, `drop-syn`,
//! `status(N)`, `reset` and `truncate` faults as a client sees them, including on
//! kept-alive connections.
//!
//! Each fault test asserts the one [`Ending`] its fault must produce (refused at connect,
//! connect hanging, reset, clean close without an answer or mid-body, no answer within a
//! wait, or an HTTP status), so a fault that ends a connection the wrong way fails.

mod common;

use std::time::Duration;

use common::{connect, exchange, exchange_ending, get, read_ending, wait_for_transition, Ending};
use mock_imds::{EventKind, ImdsState, MockImds, Schedule, Step};
use tokio::net::TcpStream;

/// How long an answer, a close, a reset or a refusal may take to arrive: generous, so a
/// loaded machine cannot turn an expected ending into a timeout. Only a hang waits it out.
const WAIT: Duration = Duration::from_secs(10);
/// How long silence must last to count as "no answer" (blackhole). A longer wait only
/// makes the test slower: a loaded machine cannot make a blackhole answer.
const SILENCE: Duration = Duration::from_secs(1);
/// How long a connect must hang to count as "SYN dropped": past the first SYN
/// retransmission (1 s on Linux).
const SYN_SILENCE: Duration = Duration::from_millis(1500);
/// Bound on waiting for a scheduled transition to be logged.
const TRANSITION_WAIT: Duration = Duration::from_secs(10);

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
    let mut kept_alive = connect(addr, WAIT).await.unwrap();
    let before = exchange_ending(
        &mut kept_alive,
        &get("/latest/meta-data/instance-id", ""),
        WAIT,
    )
    .await;
    assert_eq!(before.status(), Some(200), "{before:?}");

    imds.set_state(state("refuse")).await.unwrap();
    // The open connection is closed by the mock (FIN) without our sending anything: a
    // kept-alive connection must not keep serving, nor be left hanging.
    let open = read_ending(&mut kept_alive, WAIT).await;
    assert_eq!(
        open,
        Ending::ClosedWithoutAnswer,
        "a kept-alive connection must be closed during `refuse`"
    );
    // New connections are refused at connect: not accepted, not left hanging.
    assert_eq!(connect(addr, WAIT).await.err(), Some(Ending::Refused));

    imds.set_state(ImdsState::up()).await.unwrap();
    let mut fresh = connect(addr, WAIT).await.unwrap();
    let after = exchange_ending(&mut fresh, &get("/latest/meta-data/instance-id", ""), WAIT).await;
    assert_eq!(after.status(), Some(200), "{after:?}");
}

#[tokio::test]
async fn blackhole_accepts_but_never_answers() {
    let imds = MockImds::builder()
        .initial_state(state("blackhole"))
        .start()
        .await
        .unwrap();
    // Accepted, then silence: the connection stays open and nothing arrives (not a
    // close, not a reset, not a status).
    let mut conn = connect(imds.addr(), WAIT).await.unwrap();
    let answer = exchange_ending(&mut conn, &get("/latest/meta-data/", ""), SILENCE).await;
    assert_eq!(
        answer,
        Ending::NoAnswer,
        "blackhole must hold the request open"
    );

    // Lifting the fault does not answer the held request; new requests are served.
    imds.set_state(ImdsState::up()).await.unwrap();
    let late = read_ending(&mut conn, SILENCE).await;
    assert_eq!(
        late,
        Ending::NoAnswer,
        "held request answered or dropped after the fault lifted"
    );
    let mut fresh = connect(imds.addr(), WAIT).await.unwrap();
    let served = exchange_ending(&mut fresh, &get("/latest/meta-data/", ""), WAIT).await;
    assert_eq!(served.status(), Some(200), "{served:?}");
}

#[tokio::test]
async fn status_fault_answers_every_path_including_the_token_put() {
    let imds = MockImds::builder()
        .initial_state(state("status(503)"))
        .start()
        .await
        .unwrap();
    // Each answer is a complete response with the fault's status, on one kept-alive
    // connection (so the connection stays open after each).
    let mut conn = connect(imds.addr(), WAIT).await.unwrap();
    let put = "PUT /latest/api/token HTTP/1.1\r\nHost: x\r\nX-aws-ec2-metadata-token-ttl-seconds: 60\r\nContent-Length: 0\r\n\r\n";
    let token = exchange_ending(&mut conn, put, WAIT).await;
    assert_eq!(token.status(), Some(503), "{token:?}");
    let listing = exchange_ending(&mut conn, &get("/latest/meta-data/", ""), WAIT).await;
    assert_eq!(listing.status(), Some(503), "{listing:?}");
    imds.set_state(state("status(500, \"boom\")"))
        .await
        .unwrap();
    match exchange_ending(&mut conn, &get("/latest/meta-data/", ""), WAIT).await {
        Ending::Answered { status, text } => {
            assert_eq!(status, 500);
            assert!(text.ends_with("boom"), "{text}");
        }
        other => panic!("expected a 500 answer, got {other:?}"),
    }
}

#[tokio::test]
async fn schedule_steps_are_applied_on_the_scenario_clock_and_logged() {
    let schedule = Schedule::new(vec![
        Step::new(Duration::ZERO, "refuse".parse().unwrap()),
        Step::new(Duration::from_millis(200), "up".parse().unwrap()),
    ])
    .unwrap();
    // The schedule's clock is held until we have seen the time-zero state, so however
    // slow this machine is, the check below cannot meet the 200 ms step instead.
    let imds = MockImds::builder()
        .schedule(schedule)
        .defer_schedule()
        .start()
        .await
        .unwrap();
    assert_eq!(
        connect(imds.addr(), WAIT).await.err(),
        Some(Ending::Refused),
        "refused at time zero"
    );
    imds.start_schedule_clock();
    // Wait for the logged recovery (logged once the socket is open again) rather than
    // sleeping a guessed time or polling `state()`, which changes before the socket does.
    let up = wait_for_transition(&imds, None, ImdsState::is_up, TRANSITION_WAIT).await;
    let transitions: Vec<(Duration, String, Duration, bool)> = imds
        .events()
        .into_iter()
        .filter_map(|e| match e.kind {
            EventKind::Transition {
                state,
                asked_at,
                scheduled,
            } => Some((e.at, state.to_string(), asked_at, scheduled)),
            _ => None,
        })
        .collect();
    assert_eq!(transitions.len(), 2, "{transitions:?}");
    assert_eq!(
        (transitions[0].1.as_str(), transitions[0].3),
        ("refuse", true)
    );
    assert_eq!(
        (
            transitions[1].1.as_str(),
            transitions[1].2,
            transitions[1].3
        ),
        ("up", Duration::from_millis(200), true),
        "{transitions:?}"
    );
    assert!(up.at >= Duration::from_millis(200), "{transitions:?}");
    let mut conn = connect(imds.addr(), WAIT).await.unwrap();
    let served = exchange_ending(&mut conn, &get("/latest/meta-data/", ""), WAIT).await;
    assert_eq!(served.status(), Some(200), "{served:?}");
}

#[tokio::test]
async fn drop_syn_makes_connects_time_out_not_fail() {
    let imds = MockImds::builder().start().await.unwrap();
    let mut kept_alive = connect(imds.addr(), WAIT).await.unwrap();
    let before = exchange_ending(&mut kept_alive, &get("/latest/meta-data/", ""), WAIT).await;
    assert_eq!(before.status(), Some(200), "{before:?}");
    imds.set_state(state("drop-syn")).await.unwrap();
    // Open connections are closed (FIN), without our sending anything.
    assert_eq!(
        read_ending(&mut kept_alive, WAIT).await,
        Ending::ClosedWithoutAnswer,
        "open connections are closed"
    );
    // A new connect hangs: neither refused nor accepted, past Linux's first SYN
    // retransmission (1 s), so a queue that drained would have let it in.
    assert_eq!(
        connect(imds.addr(), SYN_SILENCE).await.err(),
        Some(Ending::ConnectTimedOut),
        "connect should hang (SYN dropped)"
    );
    imds.set_state(ImdsState::up()).await.unwrap();
    let mut fresh = connect(imds.addr(), WAIT).await.unwrap();
    let after = exchange_ending(&mut fresh, &get("/latest/meta-data/", ""), WAIT).await;
    assert_eq!(after.status(), Some(200), "{after:?}");
}

#[tokio::test]
async fn reset_sends_a_tcp_rst() {
    let imds = MockImds::builder()
        .initial_state(state("reset on token"))
        .start()
        .await
        .unwrap();
    let mut conn = connect(imds.addr(), WAIT).await.unwrap();
    // Other paths still work on the same connection.
    let other = exchange_ending(&mut conn, &get("/latest/meta-data/", ""), WAIT).await;
    assert_eq!(other.status(), Some(200), "{other:?}");
    let put = "PUT /latest/api/token HTTP/1.1\r\nHost: x\r\nX-aws-ec2-metadata-token-ttl-seconds: 60\r\nContent-Length: 0\r\n\r\n";
    // A reset with nothing before it: not a close, not an answer, not silence.
    assert_eq!(
        exchange_ending(&mut conn, put, WAIT).await,
        Ending::Reset {
            text: String::new()
        }
    );
}

#[tokio::test]
async fn truncate_closes_before_the_declared_length() {
    let imds = MockImds::builder()
        .initial_state(state("truncate"))
        .start()
        .await
        .unwrap();
    let mut conn = connect(imds.addr(), WAIT).await.unwrap();
    // The head and part of the body, then a clean close (FIN, not a reset).
    let text = match exchange_ending(&mut conn, &get("/latest/meta-data/iam/info", ""), WAIT).await
    {
        Ending::ClosedMidResponse { text } => text,
        other => panic!("expected a close part-way through the body, got {other:?}"),
    };
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
        !body.is_empty() && body.len() < declared,
        "body {} of declared {declared}",
        body.len()
    );
}
