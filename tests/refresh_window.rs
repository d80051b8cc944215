//! boto3 in the refresh hour, from `scenarios/refresh-window-outage.toml` on the real
//! SDK: a long-lived client (and a new client of the same session) whose credentials
//! have 8 minutes left fails every call made while IMDS refuses with
//! `CredentialRetrievalError` (botocore's mandatory refresh raises, though the old
//! credentials are still valid), and calls succeed again once IMDS is back. Measured on
//! boto3/botocore 1.43.11 (issue #12: "Credential refresh failed, response did not
//! contain: access_key, secret_key, token, expiry_time").

mod common;

use std::time::Duration;

use harness::driver::{CallOutcome, DriverSetup};
use harness::report::model::CellOutcome;
use harness::runner::{run_all, RunOptions};
use harness::scenario;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boto3_fails_every_call_of_a_refresh_window_outage_with_credential_retrieval_error() {
    let path = common::root().join("scenarios/refresh-window-outage.toml");
    let mut scenario = scenario::load(&path).unwrap();
    scenario
        .cells
        .retain(|c| c.driver.name == "boto3" && c.strategy.name != "session-retry");
    assert_eq!(scenario.cells.len(), 2);
    let (down, up) = (Duration::from_millis(2750), Duration::from_millis(6750));
    assert_eq!(scenario.schedule.recoveries(), vec![up]);
    let results = run_all(
        &[scenario],
        &RunOptions {
            jobs: 2,
            setup: DriverSetup::with_python(common::python()),
        },
        &|_, _| {},
    )
    .await;
    for result in &results {
        let CellOutcome::Ran(run) = &result.outcome else {
            panic!("{} did not run: {:?}", result.cell, result.outcome);
        };
        assert!(
            run.inconclusive.is_empty(),
            "{}: {:?}",
            result.cell,
            run.inconclusive
        );
        let (mut during, mut after) = (0, 0);
        for a in run.timeline.attempts() {
            let in_outage = a.start >= down && a.end() <= up;
            match a.outcome {
                CallOutcome::Err { kind, message } if in_outage => {
                    assert_eq!(
                        kind, "CredentialRetrievalError",
                        "{}: {message}",
                        result.cell
                    );
                    assert!(
                        message.contains("Credential refresh failed"),
                        "{}: {message}",
                        result.cell
                    );
                    during += 1;
                }
                CallOutcome::Ok { .. } if a.start >= up => after += 1,
                other if in_outage || a.start >= up => {
                    panic!(
                        "{} attempt {} at {:?}: {other:?}",
                        result.cell, a.attempt, a.start
                    )
                }
                _ => {}
            }
        }
        assert!(during >= 4, "{}: {during} calls in the outage", result.cell);
        assert!(after >= 1, "{}: no call after the outage", result.cell);
        let errors: Vec<_> = run.verdict.error_kinds.keys().collect();
        assert_eq!(errors, ["CredentialRetrievalError"], "{}", result.cell);
    }
}
