//! The HTTP control API: every endpoint, and clear errors for bad input.

use std::net::SocketAddr;
use std::time::Duration;

use mock_imds::{ControlClient, ImdsState, MockImds};

mod support;
use support::{call, raw_get, WAIT};

async fn started() -> (MockImds, ControlClient) {
    let imds = MockImds::builder()
        .seed(42)
        .control(SocketAddr::from(([127, 0, 0, 1], 0)))
        .start()
        .await
        .unwrap();
    let client = ControlClient::for_endpoint(&imds.control_endpoint().unwrap()).unwrap();
    (imds, client)
}

#[tokio::test]
async fn faults_can_be_set_listed_and_cleared() {
    let (imds, client) = started().await;
    let (s, v) = call(&client, "GET", "/state", "").await;
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
        &client,
        "POST",
        "/faults",
        r#"{"fault": "status(403) on token"}"#,
    )
    .await;
    assert_eq!(
        (s, v["state"].as_str()),
        (200, Some("status(403) on token"))
    );
    let (_, v) = call(&client, "POST", "/faults", r#"{"fault": "refuse"}"#).await;
    assert_eq!(v["state"], "status(403) on token; refuse");
    assert!(
        tokio::net::TcpStream::connect(imds.addr()).await.is_err(),
        "in force when the call returns"
    );

    let (_, v) = call(&client, "DELETE", "/faults/listener", "").await;
    assert_eq!(v["state"], "status(403) on token");
    let (_, v) = call(
        &client,
        "PUT",
        "/state",
        r#"{"state": "blackhole; no-role"}"#,
    )
    .await;
    assert_eq!(v["state"], "no-role; blackhole");
    let (_, v) = call(&client, "DELETE", "/faults", "").await;
    assert_eq!(v["state"], "up");
    assert_eq!(imds.state(), ImdsState::up());
}

#[tokio::test]
async fn schedules_run_from_now_and_events_are_readable() {
    let (imds, client) = started().await;
    let (s, v) = call(
        &client,
        "POST",
        "/schedule",
        r#"{"steps": [{"at": "0s", "state": "refuse"}, {"at": "100ms", "state": "up"}]}"#,
    )
    .await;
    assert_eq!((s, v["steps"].as_u64()), (200, Some(2)));
    let mut waited = Duration::ZERO;
    loop {
        let (_, events) = call(&client, "GET", "/events", "").await;
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
    let (_, later) = call(&client, "GET", "/events?since_ms=99999999", "").await;
    assert_eq!(later.as_array().unwrap().len(), 0);
    drop(imds);
}

/// The `transition` events of `GET /events`, oldest first: `(at_ms, state, scheduled)`.
async fn transitions(client: &ControlClient) -> Vec<(f64, String, bool)> {
    let (_, events) = call(client, "GET", "/events", "").await;
    events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "transition")
        .map(|e| {
            (
                e["at_ms"].as_f64().unwrap(),
                e["state"].as_str().unwrap().to_string(),
                e["scheduled"].as_bool().unwrap_or(false),
            )
        })
        .collect()
}

/// Polls `GET /events` until a transition satisfying `pred` is logged (bounded by
/// [`WAIT`]) and returns it.
async fn wait_for_transition(
    client: &ControlClient,
    pred: impl Fn(&(f64, String, bool)) -> bool,
) -> (f64, String, bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let seen = transitions(client).await;
        if let Some(found) = seen.iter().find(|t| pred(t)) {
            return found.clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no such transition within {WAIT:?}: {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn reset_takes_a_down_mock_up_and_stops_its_schedule() {
    let (imds, client) = started().await;
    // Down twice over: a schedule whose later step would bring a fault back…
    const LATER_STEP_MS: f64 = 2000.0;
    let (s, _) = call(
        &client,
        "POST",
        "/schedule",
        r#"{"steps": [{"at": "0s", "state": "status(503) on token"}, {"at": "2s", "state": "refuse"}]}"#,
    )
    .await;
    assert_eq!(s, 200);
    let (first_at, _, _) = wait_for_transition(&client, |(_, state, scheduled)| {
        *scheduled && state == "status(503) on token"
    })
    .await;
    // …and a fault set by hand on top of it.
    let (s, v) = call(&client, "POST", "/faults", r#"{"fault": "blackhole"}"#).await;
    assert_eq!(
        (s, v["state"].as_str()),
        (200, Some("status(503) on token; blackhole"))
    );
    let (_, v) = call(&client, "GET", "/state", "").await;
    assert_eq!(v["up"], false, "{v}");

    let (s, v) = call(&client, "POST", "/reset", "").await;
    assert_eq!(
        (s, v["state"].as_str(), v["up"].as_bool()),
        (200, Some("up"), Some(true))
    );
    let (reset_at, _, _) = *transitions(&client)
        .await
        .iter()
        .rfind(|(_, state, scheduled)| state == "up" && !*scheduled)
        .expect("the reset is logged as a transition to up");
    // The schedule step fires at (schedule start + 2 s), and the schedule started before
    // its first step was in force (`first_at`).
    assert!(
        reset_at < first_at + LATER_STEP_MS,
        "the reset came after the later step was due ({reset_at} ms vs {first_at} + {LATER_STEP_MS} ms): this test proves nothing on a machine that slow"
    );

    // Past when the later step would have fired (with a second to spare), read off the
    // mock's own clock: the arrival times of our requests in its event log. Every
    // request in the meantime is served.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut probes = 0;
    loop {
        assert_eq!(
            raw_get(imds.addr(), "/latest/meta-data/instance-id").await,
            Ok(200),
            "probe {probes} after the reset"
        );
        probes += 1;
        let (_, events) = call(&client, "GET", "/events", "").await;
        let latest_request = events
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["type"] == "imds-request")
            .filter_map(|e| e["at_ms"].as_f64())
            .fold(0.0, f64::max);
        if latest_request > first_at + LATER_STEP_MS + 1000.0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the mock's clock did not pass the later step"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let after_reset: Vec<_> = transitions(&client)
        .await
        .into_iter()
        .filter(|(at, _, _)| *at > reset_at)
        .collect();
    assert_eq!(after_reset, vec![], "the schedule ran on after the reset");
    let (_, v) = call(&client, "GET", "/state", "").await;
    assert_eq!(
        (v["state"].as_str(), v["up"].as_bool()),
        (Some("up"), Some(true))
    );
    assert_eq!(imds.state(), ImdsState::up());
}

#[tokio::test]
async fn bad_input_gets_400_with_what_is_accepted() {
    let (_imds, client) = started().await;
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
            "step 1: `at`: invalid duration `soon`",
        ),
        (
            "POST",
            "/schedule",
            r#"{"steps": [{"at": "25h", "state": "up"}]}"#,
            "step 1: `at`: `25h`: 1day 1h is longer than the longest duration allowed, 1day (durations are in 0s..=24h)",
        ),
        (
            "POST",
            "/schedule",
            r#"{"steps": [{"at": "1s", "state": "up"}, {"at": "1s", "state": "refuse"}]}"#,
            "same target",
        ),
        ("GET", "/events?since_ms=-4", "", "since_ms must be"),
    ] {
        let (s, v) = call(&client, method, path, body).await;
        assert_eq!(s, 400, "{method} {path}: {v}");
        assert!(
            v["error"].as_str().unwrap().contains(needle),
            "{method} {path}: {v}"
        );
    }
    assert_eq!(call(&client, "GET", "/nope", "").await.0, 404);
    assert_eq!(call(&client, "PATCH", "/state", "").await.0, 405);
}

/// A schedule posted to a running mock starts when it is posted, not at the log's zero: its
/// transitions say when they were asked for on the log's clock, so "how late" (at_ms −
/// asked_at_ms) stays a lateness and not the mock's age.
#[tokio::test]
async fn a_posted_schedule_logs_when_its_steps_were_asked_for_on_the_log_clock() {
    let (imds, client) = started().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (s, _) = call(
        &client,
        "POST",
        "/schedule",
        r#"{"steps": [{"at": "100ms", "state": "status(500)"}]}"#,
    )
    .await;
    assert_eq!(s, 200);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let (at, asked_at) = loop {
        let found = imds.events().into_iter().find_map(|e| match e.kind {
            mock_imds::EventKind::Transition {
                asked_at,
                scheduled: true,
                ..
            } => Some((e.at, asked_at)),
            _ => None,
        });
        if let Some(found) = found {
            break found;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the step never took effect"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(
        asked_at >= Duration::from_millis(400),
        "asked for at {asked_at:?}: not on the log's clock"
    );
    assert!(at >= asked_at, "{at:?} before {asked_at:?}");
    // Lateness is small on any machine that runs this test at all (not the mock's age).
    assert!(
        at - asked_at < Duration::from_secs(5),
        "{:?} late",
        at - asked_at
    );
}
