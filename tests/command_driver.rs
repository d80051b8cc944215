//! `[driver.NAME] command = [...]`: the reference driver of the README
//! (examples/driver/reference_driver.py, botocore from the project's venv) through an
//! outage at client creation, run from a scenario file next to it (`./` words are relative
//! to the scenario's folder); a program that does not exist is a clear setup error.

mod common;

use harness::driver::DriverSetup;
use harness::report::model::CellOutcome;
use harness::runner::{run_all, RunOptions};
use harness::scenario;

fn scenario_text(command: &str) -> String {
    format!(
        r#"
[[schedule]]
at = "0s"
state = "refuse"
[[schedule]]
at = "3s"
state = "up"
[matrix]
drivers = ["reference"]
strategies = ["call-retry", "client-retry"]
[driver.reference]
command = {command}
[strategy.call-retry]
attempts = 10
interval = "500ms"
[strategy.client-retry]
attempts = 10
interval = "500ms"
[[expect]]
strategy = "call-retry"
recovers = false
premise = "resolved-during-outage"
error_kind = "NoCredentialsError"
imds_requests_after_recovery = 0
[[expect]]
strategy = "client-retry"
recovers = true
within_attempts = 2
error_kind = "NoCredentialsError"
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_driver_runs_through_a_scenario() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        common::root().join("examples/driver/reference_driver.py"),
        dir.path().join("reference_driver.py"),
    )
    .unwrap();
    let python = common::python();
    let path = dir.path().join("custom.toml");
    std::fs::write(
        &path,
        scenario_text(&format!(
            r#"["{}", "./reference_driver.py"]"#,
            python.display()
        )),
    )
    .unwrap();
    let s = scenario::load(&path).unwrap();
    let results = run_all(
        &[s],
        &RunOptions {
            jobs: 2,
            setup: DriverSetup::with_python(python),
        },
        &|_, _| {},
    )
    .await;
    assert_eq!(results.len(), 2);
    for r in &results {
        let CellOutcome::Ran(run) = &r.outcome else {
            panic!("{} did not run: {:?}", r.cell, r.outcome)
        };
        assert!(
            r.sdk_version
                .as_deref()
                .is_some_and(|v| v.starts_with("reference botocore 1.43.11")),
            "{:?}",
            r.sdk_version
        );
        assert!(
            r.passed(),
            "{}: {:?} {:?}",
            r.cell,
            run.checks,
            run.inconclusive
        );
        assert_eq!(
            run.verdict.recovered,
            r.cell.ends_with("client-retry"),
            "{}",
            r.cell
        );
    }
}

#[tokio::test]
async fn a_missing_command_is_a_setup_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing.toml");
    std::fs::write(&path, scenario_text(r#"["./no-such-driver"]"#)).unwrap();
    let s = scenario::load(&path).unwrap();
    let results = run_all(
        &[s],
        &RunOptions {
            jobs: 2,
            setup: DriverSetup::with_python(common::python()),
        },
        &|_, _| {},
    )
    .await;
    for r in &results {
        let CellOutcome::SetupError(e) = &r.outcome else {
            panic!("{}: {:?}", r.cell, r.outcome)
        };
        assert!(
            e.contains("no-such-driver") && e.contains("does not exist"),
            "{e}"
        );
    }
}

/// A driver whose SDK never answers its second call: a stand-in for an SDK that hangs
/// (JS v3 under `truncate`), so the test needs no SDK and no fault.
const STUCK_DRIVER: &str = r#"
import json, sys, time
def answer(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()
answer({"ready": True, "sdk": "stuck 1.0"})
calls = 0
for line in sys.stdin:
    op = json.loads(line)["op"]
    if op == "call":
        calls += 1
        if calls == 1:
            answer({"error": {"kind": "NoCredentialsError", "message": "Unable to locate credentials"}})
        else:
            time.sleep(3600)
    elif op == "new_client":
        answer({"ok": True, "credentials_resolved": None})
    else:
        answer({"ok": True})
"#;

fn stuck_scenario(dir: &std::path::Path, strategy: &str, expect: &str) -> scenario::Scenario {
    std::fs::write(dir.join("stuck_driver.py"), STUCK_DRIVER).unwrap();
    let path = dir.join("stuck.toml");
    std::fs::write(
        &path,
        format!(
            r#"
[matrix]
drivers = ["stuck"]
strategies = ["call-retry"]
[driver.stuck]
command = ["{}", "./stuck_driver.py"]
[strategy.call-retry]
attempts = 3
interval = "100ms"
{strategy}
{expect}
"#,
            common::python().display()
        ),
    )
    .unwrap();
    scenario::load(&path).unwrap()
}

async fn run_one(s: scenario::Scenario, setup: DriverSetup) -> harness::report::model::CellResult {
    let mut results = run_all(&[s], &RunOptions { jobs: 1, setup }, &|_, _| {}).await;
    assert_eq!(results.len(), 1);
    results.remove(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_that_never_returns_is_a_hang_with_call_timeout_and_a_driver_error_without() {
    use harness::driver::CallOutcome;
    let dir = tempfile::tempdir().unwrap();
    // With call_timeout: the second call is recorded as hung after 1 s and the cell ends
    // there (no third call); `hangs = true` holds, `hangs = false` does not.
    let s = stuck_scenario(
        dir.path(),
        "call_timeout = \"1s\"",
        "[[expect]]\nhangs = true\nerror_kind = \"NoCredentialsError\"\n",
    );
    let started = std::time::Instant::now();
    let r = run_one(s, DriverSetup::with_python(common::python())).await;
    let CellOutcome::Ran(run) = &r.outcome else {
        panic!("{} did not run: {:?}", r.cell, r.outcome)
    };
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    assert_eq!(run.verdict.attempts, 2, "{:?}", run.verdict);
    assert_eq!(run.verdict.hung_calls, 1);
    let outcomes: Vec<&CallOutcome> = run.timeline.attempts().map(|a| a.outcome).collect();
    assert!(matches!(outcomes[1], CallOutcome::Hung), "{outcomes:?}");
    // error_kind counts the hung call as a failure of another kind.
    assert_eq!(run.checks.len(), 1);
    assert_eq!(
        run.checks[0].failures,
        vec!["expected every failure to be NoCredentialsError, also saw hung ×1".to_string()]
    );
    let explained = harness::report::explain::diagnose(&r);
    assert!(
        explained.starts_with("attempt 2 never returned"),
        "{explained}"
    );

    let s = stuck_scenario(
        dir.path(),
        "call_timeout = \"1s\"",
        "[[expect]]\nhangs = true\n",
    );
    assert!(run_one(s, DriverSetup::with_python(common::python()))
        .await
        .passed());
    let s = stuck_scenario(
        dir.path(),
        "call_timeout = \"1s\"",
        "[[expect]]\nhangs = false\n",
    );
    let r = run_one(s, DriverSetup::with_python(common::python())).await;
    assert!(!r.passed(), "{:?}", r.outcome);

    // Without call_timeout the same hang ends the cell as a driver error at the
    // operation timeout; with a call_timeout not below it, the cell does not start.
    let mut short = DriverSetup::with_python(common::python());
    short.operation_timeout = std::time::Duration::from_secs(2);
    let s = stuck_scenario(
        dir.path(),
        "",
        "[[expect]]\nrecovers = false\nerror_kind = \"NoCredentialsError\"\n",
    );
    let r = run_one(s, short.clone()).await;
    assert!(
        matches!(&r.outcome, CellOutcome::DriverError(e) if e.contains("no answer within 2s")),
        "{:?}",
        r.outcome
    );
    let s = stuck_scenario(
        dir.path(),
        "call_timeout = \"5s\"",
        "[[expect]]\nhangs = true\n",
    );
    let r = run_one(s, short).await;
    assert!(
        matches!(&r.outcome, CellOutcome::SetupError(e) if e.contains("call_timeout = 5s, not shorter than the operation timeout (2s)")),
        "{:?}",
        r.outcome
    );
}
