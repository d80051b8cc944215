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
