//! The virtual clock and rotation over the control API (`GET/POST /clock`,
//! `POST /rotate`, clock and rotate steps in `POST /schedule`) and `mock-imds ctl clock` /
//! `ctl rotate` against `mock-imds serve`. The JSON shapes are a contract shared with the
//! Python and Node clients: `{"now": RFC 3339, "offset_ms": i64}` and
//! `{"access_key_id", "expiration"}`.

use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use mock_imds::{ControlClient, EventKind, MockImds};

mod support;
use support::{call, WAIT};

async fn started() -> (MockImds, ControlClient) {
    let imds = MockImds::builder()
        .control(SocketAddr::from(([127, 0, 0, 1], 0)))
        .start()
        .await
        .unwrap();
    let client = ControlClient::for_endpoint(&imds.control_endpoint().unwrap()).unwrap();
    (imds, client)
}

fn parse_time(v: &serde_json::Value) -> chrono::DateTime<chrono::Utc> {
    v.as_str().expect("a string").parse().expect("RFC 3339")
}

#[tokio::test]
async fn clock_is_read_and_jumped_and_bad_jumps_are_400() {
    let (imds, client) = started().await;
    let (s, v) = call(&client, "GET", "/clock", "").await;
    assert_eq!((s, v["offset_ms"].as_i64()), (200, Some(0)), "{v}");
    let skew = (parse_time(&v["now"]) - chrono::Utc::now()).num_seconds();
    assert!(skew.abs() < 60, "{v}");
    assert!(v["now"].as_str().unwrap().ends_with('Z'), "UTC: {v}");
    assert_eq!(
        v.as_object().unwrap().len(),
        2,
        "exactly now and offset_ms: {v}"
    );

    let (s, v) = call(&client, "POST", "/clock", r#"{"by": "+5h52m"}"#).await;
    assert_eq!((s, v["offset_ms"].as_i64()), (200, Some(21_120_000)), "{v}");
    let ahead = (parse_time(&v["now"]) - chrono::Utc::now()).num_seconds();
    assert!((21_060..=21_180).contains(&ahead), "{v}");
    assert_eq!(imds.clock().offset().as_millis(), 21_120_000);
    let (_, v) = call(&client, "POST", "/clock", r#"{"by": "-52m"}"#).await;
    assert_eq!(v["offset_ms"], 18_000_000, "{v}");

    for (body, says) in [
        (r#"{"by": "5h"}"#, "`+` or `-`"),
        (r#"{"by": "+soon"}"#, "signed duration"),
        (r#"{"by": "+200years"}"#, "100 years"),
        (r#"{"to": "+1h"}"#, r#"{"by": "+5h52m"}"#),
        ("", r#"{"by": "+5h52m"}"#),
    ] {
        let (s, v) = call(&client, "POST", "/clock", body).await;
        assert_eq!(s, 400, "{body}: {v}");
        let error = v["error"].as_str().unwrap();
        assert!(error.contains(says), "{body}: {error}");
    }
    let (s, _) = call(&client, "DELETE", "/clock", "").await;
    assert_eq!(s, 405);
    assert_eq!(
        imds.clock().offset().as_millis(),
        18_000_000,
        "bad jumps moved nothing"
    );
    let jumps = imds
        .events()
        .iter()
        .filter(|e| matches!(e.kind, EventKind::ClockJump { .. }))
        .count();
    assert_eq!(jumps, 2);
}

#[tokio::test]
async fn rotate_serves_a_new_set_and_says_which() {
    let (imds, client) = started().await;
    let before = imds.credentials().unwrap().current(imds.now());
    for body in ["", "{}"] {
        let (s, v) = call(&client, "POST", "/rotate", body).await;
        assert_eq!(s, 200, "{v}");
        let key = v["access_key_id"].as_str().unwrap();
        assert_ne!(key, before.access_key_id);
        let current = imds.credentials().unwrap().current(imds.now());
        assert_eq!(key, current.access_key_id);
        assert_eq!(
            parse_time(&v["expiration"]).timestamp(),
            current.expiration.timestamp()
        );
        assert_eq!(v.as_object().unwrap().len(), 2, "{v}");
    }
    let (s, v) = call(&client, "POST", "/rotate", r#"{"now": true}"#).await;
    assert_eq!(s, 400, "{v}");
    assert!(
        v["error"].as_str().unwrap().contains("empty body or {}"),
        "{v}"
    );

    let no_role = MockImds::builder()
        .config(mock_imds::ImdsConfig {
            role_name: None,
            ..Default::default()
        })
        .control(SocketAddr::from(([127, 0, 0, 1], 0)))
        .start()
        .await
        .unwrap();
    let client = ControlClient::for_endpoint(&no_role.control_endpoint().unwrap()).unwrap();
    let (s, v) = call(&client, "POST", "/rotate", "").await;
    assert_eq!(s, 400, "{v}");
    assert!(v["error"].as_str().unwrap().contains("no role"), "{v}");
}

#[tokio::test]
async fn schedule_steps_jump_and_rotate_in_written_order() {
    let (imds, client) = started().await;
    let first = imds.credentials().unwrap().current(imds.now());
    let body = r#"{"steps": [
        {"at": "0s", "state": "refuse"},
        {"at": "0s", "rotate": true, "clock": "+5h58m"},
        {"at": "100ms", "state": "up", "clock": "-1h"}
    ]}"#;
    let (s, v) = call(&client, "POST", "/schedule", body).await;
    assert_eq!((s, v["steps"].as_u64()), (200, Some(3)), "{v}");
    let deadline = tokio::time::Instant::now() + WAIT;
    while !imds.state().is_up() || imds.clock().offset().as_millis() != 17_880_000 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "schedule never finished"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let kinds: Vec<String> = imds
        .events()
        .into_iter()
        .filter_map(|e| match e.kind {
            EventKind::ClockJump { by, scheduled, .. } => {
                Some(format!("jump {by} scheduled={scheduled}"))
            }
            EventKind::CredentialsRotated { forced, .. } => Some(format!("rotate forced={forced}")),
            EventKind::Transition { state, .. } => Some(format!("state {state}")),
            _ => None,
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "state up",
            "jump +5h 58m scheduled=true",
            "rotate forced=true",
            "state refuse",
            "jump -1h scheduled=true",
            "state up"
        ]
    );
    // Rotated after the step's jump (whatever the key order): issued on the jumped clock.
    let rotated = imds.credentials().unwrap().current(imds.now());
    assert_ne!(rotated.access_key_id, first.access_key_id);
    let lead = (rotated.issued_at - first.issued_at).num_minutes();
    assert!((358..=359).contains(&lead), "{lead}");

    // ControlClient::run_schedule (what `ctl schedule FILE` sends) carries jumps and
    // rotations too.
    let file = mock_imds::Schedule::from_toml(
        "[[schedule]]\nat = \"0s\"\nclock = \"+1h\"\nrotate = true\n",
    )
    .unwrap();
    let answer = client.run_schedule(&file).await.unwrap();
    assert_eq!(answer.steps, 1);
    let forced = || {
        imds.events()
            .iter()
            .filter(|e| matches!(e.kind, EventKind::CredentialsRotated { forced: true, .. }))
            .count()
    };
    let deadline = tokio::time::Instant::now() + WAIT;
    while forced() < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the step never came"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // The rotation follows the step's jump.
    assert_eq!(imds.clock().offset().as_millis(), 17_880_000 + 3_600_000);

    for (body, says) in [
        (
            r#"{"steps": [{"at": "0s"}]}"#,
            "step 1: a step needs `state`",
        ),
        (
            r#"{"steps": [{"at": "0s", "clock": "1h"}]}"#,
            "step 1: `clock`:",
        ),
        (
            r#"{"steps": [{"at": "0s", "rotate": "yes"}]}"#,
            "the body must be JSON",
        ),
        (
            r#"{"steps": [{"at": "1s", "state": "refuse"}, {"at": "1s", "clock": "+1h"}, {"at": "1s", "state": "reset"}]}"#,
            "same target",
        ),
    ] {
        let (s, v) = call(&client, "POST", "/schedule", body).await;
        assert_eq!(s, 400, "{body}: {v}");
        assert!(v["error"].as_str().unwrap().contains(says), "{body}: {v}");
    }
}

fn ctl(port: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_mock-imds"))
        .args(["ctl", "--control-port", port])
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn ctl_clock_and_rotate_drive_a_running_serve() {
    let serve = support::Serve::start(&[]);
    let port = serve.control_port.clone();
    let (ok, out) = ctl(&port, &["clock"]);
    assert!(
        ok && out.starts_with("now: ") && out.contains("(offset 0 ms)"),
        "{out}"
    );
    let (ok, out) = ctl(&port, &["clock", "+5h52m"]);
    assert!(ok && out.contains("(offset 21120000 ms)"), "{out}");
    let (ok, out) = ctl(&port, &["clock", "-52m"]);
    assert!(ok && out.contains("(offset 18000000 ms)"), "{out}");
    let (ok, out) = ctl(&port, &["clock", "5h"]);
    assert!(!ok && out.contains("`+` or `-`"), "{out}");
    let (ok, out) = ctl(&port, &["rotate"]);
    assert!(
        ok && out.starts_with("rotated: ASIAMOCK") && out.contains("(expires "),
        "{out}"
    );
    // The expiry is on the jumped clock: 5 h ahead plus the 6 h lifetime.
    let expires: chrono::DateTime<chrono::Utc> = out
        .trim()
        .rsplit("(expires ")
        .next()
        .unwrap()
        .trim_end_matches(')')
        .parse()
        .unwrap();
    let ahead = (expires - chrono::Utc::now()).num_minutes();
    assert!((659..=661).contains(&ahead), "{out}");
}
