//! `[handler]` scenarios: the built-in termination-handler scenarios (the example handler
//! through a Spot notice, with and without latency on the spot paths) pass with a time to
//! notice in the verdict; the same handler polling a path the notice never reaches, or
//! held to a bound shorter than its polling, fails with the reason.

mod common;

use std::time::Duration;

use harness::driver::DriverSetup;
use harness::report::model::{CellOutcome, CellResult};
use harness::runner::{run_all, RunOptions};
use harness::scenario;

async fn run(paths: &[std::path::PathBuf]) -> Vec<CellResult> {
    let scenarios: Vec<_> = paths.iter().map(|p| scenario::load(p).unwrap()).collect();
    run_all(
        &scenarios,
        &RunOptions {
            jobs: 2,
            setup: DriverSetup::with_python(common::python()),
        },
        &|_, _| {},
    )
    .await
}

fn time_to_notice(r: &CellResult) -> Option<Duration> {
    let CellOutcome::Ran(run) = &r.outcome else {
        panic!("{} did not run: {:?}", r.cell, r.outcome)
    };
    run.verdict.notice.as_ref().and_then(|n| n.time_to_notice())
}

/// A copy of a built-in scenario with `edit` applied, next to a copy of the handler.
fn variant(
    dir: &std::path::Path,
    name: &str,
    from: &str,
    edit: impl Fn(String) -> String,
) -> std::path::PathBuf {
    let text = std::fs::read_to_string(common::root().join("scenarios").join(from)).unwrap();
    let text = text.replace(
        "../examples/termination_handler.py",
        &common::root()
            .join("examples/termination_handler.py")
            .display()
            .to_string(),
    );
    let path = dir.join(name);
    std::fs::write(&path, edit(text)).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_handler_notices_the_spot_notice_with_and_without_latency() {
    let root = common::root().join("scenarios");
    let results = run(&[
        root.join("termination-handler-spot.toml"),
        root.join("termination-handler-spot-latency.toml"),
    ])
    .await;
    assert_eq!(results.len(), 2);
    for r in &results {
        assert_eq!(r.cell, "termination-handler/notice");
        assert!(r.passed(), "{}: {:?}", r.scenario, r.outcome);
        let t = time_to_notice(r).expect("a time to notice");
        assert!(t <= Duration::from_secs(4), "{}: {t:?}", r.scenario);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_that_misses_the_notice_or_is_too_slow_fails() {
    let dir = tempfile::tempdir().unwrap();
    // Polls the rebalance path: the Spot notice never appears there.
    let wrong_path = variant(
        dir.path(),
        "wrong-path.toml",
        "termination-handler-spot.toml",
        |t| {
            t.replace(
            "termination_handler.py\"]",
            "termination_handler.py\", \"--path\", \"/latest/meta-data/events/recommendations/rebalance\"]",
        )
        },
    );
    // Polls every 2.5 s, held to 100 ms: the notice comes 2 s after its first request.
    let too_slow = variant(
        dir.path(),
        "too-slow.toml",
        "termination-handler-spot.toml",
        |t| {
            t.replace(
                "termination_handler.py\"]",
                "termination_handler.py\", \"--interval\", \"2.5\"]",
            )
            .replace("notice_within = \"4s\"", "notice_within = \"100ms\"")
        },
    );
    let results = run(&[wrong_path, too_slow]).await;
    assert_eq!(results.len(), 2);
    let failures = |r: &CellResult| -> Vec<String> {
        let CellOutcome::Ran(run) = &r.outcome else {
            panic!("{} did not run: {:?}", r.cell, r.outcome)
        };
        run.checks.iter().flat_map(|c| c.failures.clone()).collect()
    };
    assert!(!results[0].passed());
    assert_eq!(time_to_notice(&results[0]), None);
    let why = failures(&results[0]);
    assert!(
        why.iter()
            .any(|f| f
                .starts_with("not noticed: 0 poll(s) of /latest/meta-data/spot/instance-action")),
        "{why:?}"
    );
    // Too slow: seen after the bound, or not before the deadline.
    assert!(!results[1].passed());
    let why = failures(&results[1]);
    match time_to_notice(&results[1]) {
        Some(t) => {
            assert!(t > Duration::from_millis(100), "{t:?}");
            assert!(
                why.iter().any(|f| f.contains("later than 100ms")),
                "{why:?}"
            );
        }
        None => assert!(why.iter().any(|f| f.starts_with("not noticed")), "{why:?}"),
    }
}
