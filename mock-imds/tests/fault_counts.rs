//! Counted faults (`times=N`): "two 401s then a good token", through `ctl fault`, a
//! schedule file (`serve --schedule`) and the Rust API; the event log records the lift
//! (`fault-lifted`, then the `transition` that clears it); with `p=` only the requests
//! the seeded draw picked count.

use std::time::{Duration, Instant};

use mock_imds::{Fault, MockImds, Target};

mod support;
use support::{ctl, ctl_events, raw_exchange, Serve};

const PUT: &str = "PUT /latest/api/token HTTP/1.1\r\nHost: x\r\nX-aws-ec2-metadata-token-ttl-seconds: 60\r\nConnection: close\r\n\r\n";

/// The status of one raw exchange's answer.
async fn status(addr: std::net::SocketAddr, request: &str) -> u16 {
    let answer = raw_exchange(addr, request).await.unwrap();
    let text = String::from_utf8_lossy(&answer);
    text.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP answer: {text:?}"))
}

/// The state `ctl state` prints.
fn state(port: &str) -> String {
    let out = ctl(port, &["state"]);
    out.trim().trim_start_matches("state: ").to_string()
}

/// Polls `ctl events` (bounded: 10 s) until the fault-lifted event and the transition to
/// up after it are in; returns the events.
fn wait_for_lift(port: &str) -> Vec<serde_json::Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let events = ctl_events(port);
        let lifted = events.iter().position(|e| e["type"] == "fault-lifted");
        if let Some(i) = lifted {
            if events[i..]
                .iter()
                .any(|e| e["type"] == "transition" && e["state"] == "up")
            {
                return events;
            }
        }
        assert!(Instant::now() < deadline, "no lift logged: {events:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test]
async fn two_401s_then_a_good_token_through_ctl() {
    let serve = Serve::start(&[]);
    let addr = serve.imds_addr();
    ctl(
        &serve.control_port,
        &["fault", "status(401) on token times=2"],
    );
    assert_eq!(state(&serve.control_port), "status(401) on token times=2");
    let statuses = [
        status(addr, PUT).await,
        status(addr, PUT).await,
        status(addr, PUT).await,
    ];
    assert_eq!(statuses, [401, 401, 200]);
    let events = wait_for_lift(&serve.control_port);
    let lifted = events.iter().find(|e| e["type"] == "fault-lifted").unwrap();
    assert_eq!(lifted["fault"], "status(401) on token times=2");
    assert_eq!(lifted["after"], 2);
    assert_eq!(state(&serve.control_port), "up");
    // Set again: counted anew.
    ctl(
        &serve.control_port,
        &["fault", "status(401) on token times=1"],
    );
    assert_eq!(status(addr, PUT).await, 401);
    assert_eq!(status(addr, PUT).await, 200);
}

#[tokio::test]
async fn two_401s_then_a_good_token_through_a_schedule_with_two_steps_at_one_time() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.toml");
    // Two steps at 0s: a counted fault on the token and one on the credentials.
    std::fs::write(
        &file,
        "[[schedule]]\nat = \"0s\"\nstate = \"status(401) on token times=2\"\n[[schedule]]\nat = \"0s\"\nstate = \"status(500) on credentials times=1\"\n",
    )
    .unwrap();
    let serve = Serve::start(&["--schedule", file.to_str().unwrap()]);
    let addr = serve.imds_addr();
    let creds = "GET /latest/meta-data/iam/security-credentials/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    assert_eq!(status(addr, creds).await, 500);
    assert_eq!(status(addr, creds).await, 200);
    assert_eq!(status(addr, PUT).await, 401);
    assert_eq!(status(addr, PUT).await, 401);
    assert_eq!(status(addr, PUT).await, 200);
    let deadline = Instant::now() + Duration::from_secs(10);
    while state(&serve.control_port) != "up" {
        assert!(Instant::now() < deadline, "the counted faults did not lift");
        std::thread::sleep(Duration::from_millis(50));
    }
    let lifted: Vec<String> = ctl_events(&serve.control_port)
        .iter()
        .filter(|e| e["type"] == "fault-lifted")
        .map(|e| e["fault"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        lifted,
        [
            "status(500) on credentials times=1",
            "status(401) on token times=2"
        ]
    );
}

#[tokio::test]
async fn through_the_rust_api_with_a_probability_only_the_drawn_requests_count() {
    let run = |seed| async move {
        let imds = MockImds::builder().seed(seed).start().await.unwrap();
        imds.inject(
            Fault::status(500)
                .on(Target::Token)
                .with_probability(0.5)
                .times(3),
        )
        .await
        .unwrap();
        let mut statuses = Vec::new();
        for _ in 0..40 {
            statuses.push(status(imds.addr(), PUT).await);
        }
        statuses
    };
    let mut skipped = 0;
    for seed in 1..=4 {
        let statuses = run(seed).await;
        assert_eq!(
            statuses.iter().filter(|s| **s == 500).count(),
            3,
            "{statuses:?}"
        );
        // 200s before the third 500: requests the draw said no to, which did not count.
        let last_500 = statuses.iter().rposition(|s| *s == 500).unwrap();
        skipped += last_500 - 2;
        assert_eq!(run(seed).await, statuses, "the same seed draws the same");
    }
    assert!(
        skipped > 0,
        "no draw ever said no: the probability is not applied"
    );
}

#[test]
fn socket_faults_take_no_count_through_ctl() {
    let serve = Serve::start(&[]);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mock-imds"))
        .args(["ctl", "--control-port", &serve.control_port])
        .args(["fault", "refuse times=2"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("takes no count"), "{err}");
}
