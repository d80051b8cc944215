//! `mock-imds serve` + `mock-imds ctl down/up` reproduce the boto3 trap with a plain
//! Python script (examples/trap_worker.py), as the README shows step by step.
//!
//! Nothing here bets on timing: the worker runs up to 40 rounds and the test reads
//! rounds until the recovery shows, each bounded by a generous wait.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

mod support;
use support::{root, KillOnDrop as Killed};

fn ctl(port: &str, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_mock-imds"))
        .args(["ctl", "--control-port", port])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ctl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// How long one worker round may take to show up (a loaded machine, boto3's start-up).
const LINE_WAIT: Duration = Duration::from_secs(30);

/// Reads `stdout` line by line on a thread, so the test can wait with a bound.
fn lines_of(stdout: std::process::ChildStdout) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// The worker's next line, or a failure after [`LINE_WAIT`] or when it has exited.
fn next_line(lines: &mpsc::Receiver<String>) -> String {
    match lines.recv_timeout(LINE_WAIT) {
        Ok(line) => line,
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("no line from the worker within {LINE_WAIT:?}")
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            panic!("the worker ended (all its rounds done) before the line expected")
        }
    }
}

/// Polls `ctl events` until a `transition` to `state` is logged after one to `after`
/// (bounded: 10 s), and returns its time on the mock's clock (ms).
fn wait_for_transition(port: &str, after: &str, state: &str) -> f64 {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let events = ctl(port, &["events"]);
        let transitions: Vec<(String, f64)> = events
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|e| e["type"] == "transition")
            .map(|e| {
                (
                    e["state"].as_str().unwrap().to_string(),
                    e["at_ms"].as_f64().unwrap(),
                )
            })
            .collect();
        let found = transitions
            .iter()
            .skip_while(|(s, _)| s != after)
            .find(|(s, _)| s == state);
        if let Some((_, at)) = found {
            return *at;
        }
        assert!(
            Instant::now() < deadline,
            "no transition to {state} logged within 10 s:\n{events}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn serve_and_ctl_reproduce_the_trap_with_a_plain_python_script() {
    // The same Python the harness uses: $IMDS_HARNESS_PYTHON, else the project's venv.
    let python = std::env::var_os("IMDS_HARNESS_PYTHON")
        .map_or_else(|| root().join(".venv/bin/python"), std::path::PathBuf::from);
    assert!(
        python.exists(),
        "run scripts/setup first: {} is missing",
        python.display()
    );
    let events_file = tempfile::NamedTempFile::new().unwrap();
    let mut serve = Killed(
        support::serve_on_free_ports()
            .arg("--events")
            .arg(events_file.path())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut lines = BufReader::new(serve.0.stdout.take().unwrap()).lines();
    let mut exports = Vec::new();
    let mut control_port = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(url) = line.strip_prefix("control endpoint: ") {
            control_port = url.trim().rsplit(':').next().unwrap().to_string();
        }
        if let Some(assignments) = line.strip_prefix("export ") {
            exports.extend(assignments.split_whitespace().map(|a| {
                let (k, v) = a.split_once('=').unwrap();
                (k.to_string(), v.to_string())
            }));
        }
        if line.starts_with("unset ") {
            break;
        }
    }
    assert!(
        !control_port.is_empty() && exports.len() >= 3,
        "{exports:?}"
    );

    assert_eq!(ctl(&control_port, &["down"]).trim(), "state: refuse");
    let home = tempfile::tempdir().unwrap();
    // As many rounds as ~10 s of them: the test stops reading once the recovery shows,
    // rather than betting that `ctl up` lands within a fixed number of rounds.
    let mut worker = Killed(
        Command::new(&python)
            .arg(root().join("examples/trap_worker.py"))
            .args(["--iterations", "40", "--interval", "0.25"])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", home.path())
            .envs(exports)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let out = lines_of(worker.0.stdout.take().unwrap());
    let first = next_line(&out);
    assert_eq!(
        first,
        "client created at start-up; credentials resolved: False"
    );
    let round1 = next_line(&out);
    assert!(
        round1.contains("same client: NoCredentialsError")
            && round1.contains("new client: NoCredentialsError"),
        "{round1}"
    );

    assert_eq!(ctl(&control_port, &["up"]).trim(), "state: up");
    let up_at = wait_for_transition(&control_port, "refuse", "up");
    // Rounds until a new client gets credentials, and two more: the client created at
    // start-up stays broken throughout (the trap), also after the new one recovered.
    let mut rest: Vec<String> = Vec::new();
    while !rest
        .last()
        .is_some_and(|l| l.contains("new client: ok (ASIAMOCK"))
    {
        let line = next_line(&out); // fails if no new client recovers within 40 rounds
        assert!(
            line.contains("same client: NoCredentialsError"),
            "{line}\n{rest:#?}"
        );
        rest.push(line);
    }
    for _ in 0..2 {
        match out.recv_timeout(LINE_WAIT) {
            Ok(line) => {
                assert!(
                    line.contains("same client: NoCredentialsError"),
                    "{line}\n{rest:#?}"
                );
                rest.push(line);
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break, // its rounds are done
            Err(e) => panic!("no line from the worker within {LINE_WAIT:?}: {e}"),
        }
    }
    drop(worker);
    // The credentials were fetched only once IMDS was up again.
    let fetched: Vec<f64> = ctl(&control_port, &["events"])
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| {
            e["type"] == "imds-request"
                && e["status"] == 200
                && e["path"]
                    .as_str()
                    .is_some_and(|p| p.contains("/iam/security-credentials/mock-imds-role"))
        })
        .map(|e| e["at_ms"].as_f64().unwrap())
        .collect();
    assert!(!fetched.is_empty(), "no credential fetch was logged");
    assert!(
        fetched.iter().all(|&at| at >= up_at),
        "a fetch at {fetched:?} before IMDS came up at {up_at} ms"
    );

    let events = ctl(&control_port, &["events"]);
    assert!(
        events
            .lines()
            .any(|l| l.contains("\"result\":\"accepted\"")),
        "{events}"
    );

    // --events streams the same events as NDJSON, one JSON object per line.
    let streamed = std::fs::read_to_string(events_file.path()).unwrap();
    let parsed: Vec<serde_json::Value> = streamed
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        parsed
            .iter()
            .any(|e| e["type"] == "sts-request" && e["result"] == "accepted"),
        "{streamed}"
    );
    assert!(
        parsed
            .iter()
            .any(|e| e["type"] == "transition" && e["state"] == "refuse"),
        "{streamed}"
    );
}
