//! A small run of `scripts/load-test` (the bounded load test): 50 keep-alive connections,
//! 3,000 requests, faults switched every 10 ms through the control API. The script checks
//! the event accounting, that the server neither panicked nor stopped serving, that its
//! descriptors went back to the baseline and that it stops cleanly on SIGINT, and exits
//! 0 when all hold. The full size (10,000 connections, 1,000,000 requests) is run by
//! hand; see RELIABILITY.md.
//!
//! On top of that, this test reads every event the server logged (the script's
//! `LOAD_EVENTS_FILE`) and checks that the faults really switched: the transitions are
//! the load generator's fault cycle, in order, one per change it reported, and each
//! request was answered the way the state in force when it arrived says.

use std::collections::BTreeSet;
use std::process::Command;
use std::time::Duration;

use mock_imds::{Event, EventKind, Fault, ImdsState};

mod support;

/// The fault cycle `mock-imds load` uses by default, read from its `--help`.
fn default_fault_cycle() -> Vec<ImdsState> {
    let out = Command::new(env!("CARGO_BIN_EXE_mock-imds"))
        .args(["load", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout).into_owned();
    let faults = help
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("--faults"))
        .find_map(|l| {
            l.split_once("[default: ")
                .map(|(_, d)| d.trim_end_matches(']').trim_matches('"'))
        })
        .unwrap_or_else(|| panic!("no --faults default in `mock-imds load --help`:\n{help}"));
    faults
        .split('|')
        .map(|s| s.trim().parse().unwrap_or_else(|e| panic!("{s}: {e}")))
        .collect()
}

/// The answers (status, or `None` for none) a request may get in `state`: a model of the
/// faults in the load cycle (one fault per state), written from the fault catalogue, not
/// from the handler. Every request the load generator sends is answered 200 when up.
fn allowed(state: &ImdsState, path: &str) -> BTreeSet<Option<u16>> {
    let mut allowed = BTreeSet::from([Some(200)]);
    assert!(state.faults().count() <= 1, "not modelled: {state}");
    for spec in state.faults().filter(|s| s.target.matches(path)) {
        let always = spec.probability.is_none_or(|p| p >= 1.0);
        match &spec.fault {
            Fault::Status { code, .. } => {
                if always {
                    allowed.clear();
                }
                allowed.insert(Some(*code));
            }
            Fault::Reset => {
                if always {
                    allowed.clear();
                }
                allowed.insert(None);
            }
            Fault::Throttle { .. } => {
                allowed.insert(Some(429));
            }
            // A delay, or a body cut short after a 200 head.
            Fault::Latency { .. } | Fault::Truncate => {}
            other => panic!("fault not modelled by this test: {other}"),
        }
    }
    allowed
}

/// The mock's IMDS worker threads: how many requests can be between being stamped on
/// arrival and reading the state at once (the two happen with no await between them, so
/// one per thread). tokio's default is the available parallelism.
fn worker_threads() -> usize {
    std::env::var("TOKIO_WORKER_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

#[test]
fn a_small_load_test_passes() {
    let root = support::root();
    let out_dir = tempfile::tempdir().unwrap();
    let events_file = out_dir.path().join("events.ndjson");
    let out = Command::new("bash")
        .arg(root.join("scripts/load-test"))
        .env("MOCK_IMDS_BIN", env!("CARGO_BIN_EXE_mock-imds"))
        .env("LOAD_CONNECTIONS", "50")
        .env("LOAD_REQUESTS", "3000")
        .env("LOAD_TOGGLE_EVERY", "10ms")
        .env("LOAD_DEADLINE", "300s")
        .env("LOAD_OUT", out_dir.path())
        .env("LOAD_EVENTS_FILE", &events_file)
        .env_remove("LOAD_FAULTS")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "status {:?}\nstdout:\n{stdout}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("\"accounting_ok\": true"), "{stdout}");
    assert!(stdout.contains("load-test: ok"), "{stdout}");

    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out_dir.path().join("load.json")).unwrap()).unwrap();
    let events: Vec<Event> = std::fs::read_to_string(&events_file)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    // The stream is complete: as many IMDS requests as GET /state counted for the report,
    // plus the script's own GET after the load.
    let requests: Vec<(&Event, &str, Option<u16>)> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::ImdsRequest { path, status, .. } => Some((e, path.as_str(), *status)),
            _ => None,
        })
        .collect();
    assert_eq!(
        Some(requests.len() as u64 - 1),
        report["imds_request_events"].as_u64(),
        "{report}"
    );

    // The transitions: the initial state, then the cycle in order, one per change the
    // load generator made, then the `up` it sets at the end.
    let transitions: Vec<(Duration, Duration, &ImdsState)> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Transition {
                state, asked_at, ..
            } => Some((e.at, *asked_at, state)),
            EventKind::TransitionFailed { state, error, .. } => {
                panic!("transition to {state} failed: {error}")
            }
            _ => None,
        })
        .collect();
    let changes = report["fault_changes"].as_u64().unwrap() as usize;
    assert_eq!(report["fault_change_errors"], 0, "{report}");
    assert!(changes >= 1, "the faults never switched: {report}");
    let cycle = default_fault_cycle();
    let mut expected = vec![ImdsState::up()];
    expected.extend(cycle.iter().cycle().take(changes).cloned());
    expected.push(ImdsState::up());
    let seen: Vec<String> = transitions.iter().map(|t| t.2.to_string()).collect();
    assert_eq!(
        seen,
        expected.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "the transitions logged are not the changes made"
    );

    // Each answer against the state in force when the request arrived. Period i runs
    // from transition i being logged (in force) to transition i+1 being logged; a
    // request stamped after transition i+1 was asked for may meet either state. The only
    // other slack: a request stamped just before a switch that reads the state just
    // after (at most one per worker thread per switch), which meets a later state.
    let slack = worker_threads();
    let mut answered_by_status_faults = 0;
    let mut straddlers = vec![0usize; transitions.len()];
    for (event, path, status) in &requests {
        let i = transitions
            .partition_point(|t| t.0 <= event.at)
            .checked_sub(1)
            .expect("a request before the initial transition");
        let state = transitions[i].2;
        let mut ok = allowed(state, path);
        if let Some(next) = transitions.get(i + 1) {
            if event.at >= next.1 {
                ok.extend(allowed(next.2, path));
            }
        }
        if ok.contains(status) {
            let by_status_fault = state.faults().any(|f| {
                f.target.matches(path)
                    && matches!(f.fault, Fault::Status { code, .. } if Some(code) == *status)
            });
            answered_by_status_faults += usize::from(by_status_fault);
            continue;
        }
        straddlers[i] += 1;
        assert!(
            transitions[i + 1..]
                .iter()
                .any(|t| allowed(t.2, path).contains(status)),
            "{path} arrived at {:?} during `{state}` and got {status:?}, which no later state gives either",
            event.at
        );
    }
    for (i, n) in straddlers.iter().enumerate() {
        assert!(
            *n <= slack,
            "{n} requests arriving during `{}` (transition {i}) were not answered as it says (at most {slack} may meet the next state)",
            transitions[i].2
        );
    }
    // Not vacuous: the cycle starts with `status(500)`, so some answers came from it.
    assert!(
        answered_by_status_faults > 0,
        "no request arriving during a status fault got its status: {report}"
    );
}
