//! One clock per cell, for every driver kind: a schedule step jumps the cell clock +6 h
//! (past the 6 h credentials' expiry) between two calls. Each SDK (rust-sdk through its
//! `TimeSource`, boto3, the AWS CLI and JS v3 through libfaketime) must then see its
//! credentials expired, fetch the set the mock rotated to, and sign on the jumped clock:
//! the second call is accepted in one request (no skew-correcting retry), signed by the
//! key the mock rotated to after the jump. An SDK whose clock did not follow would keep
//! the expired set (`ExpiredToken`) or sign 6 h in the past (`SignatureDoesNotMatch`).
//! (The AWS CLI's first process may start after the jump on a slow machine; then both
//! calls use the rotated set, which the test allows.)

mod common;

use std::collections::BTreeMap;

use harness::driver::DriverSetup;
use harness::report::model::CellOutcome;
use harness::runner::{run_all, RunOptions};
use harness::scenario;
use mock_imds::{EventKind, StsOutcome};

const SCENARIO: &str = r#"
description = "a +6h jump between two calls"

[[schedule]]
at = "1s"
clock = "+6h"

[matrix]
drivers = ["rust-sdk", "boto3", "aws-cli", "js-v3"]
strategies = ["call-retry"]

[strategy.call-retry]
attempts = 2
interval = "2s"
continue_after_success = true
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_driver_signs_on_the_jumped_clock() {
    let path = common::root().join("tests/clock-jump.toml");
    let scenario = scenario::parse(&path, SCENARIO).unwrap();
    let results = run_all(
        &[scenario],
        &RunOptions {
            jobs: 4,
            setup: DriverSetup::with_python(common::python()),
        },
        &|_, _| {},
    )
    .await;
    assert_eq!(results.len(), 4);
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
        // call id suffix → (accepted key, or the rejection code), per STS request.
        let mut sts: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut jumped = false;
        let mut rotated = None;
        let mut first_sts_after_jump = None;
        for e in run.timeline.mock_events() {
            match &e.kind {
                EventKind::ClockJump { offset_ms, .. } => {
                    assert_eq!(*offset_ms, 6 * 3600 * 1000);
                    jumped = true;
                }
                EventKind::CredentialsRotated {
                    access_key_id,
                    forced: false,
                    ..
                } => {
                    assert!(jumped, "{}: rotated before the jump", result.cell);
                    assert!(rotated.is_none(), "{}: rotated twice", result.cell);
                    rotated = Some(access_key_id.clone());
                }
                EventKind::StsRequest {
                    call_id: Some(id),
                    access_key_id,
                    outcome,
                    ..
                } => {
                    let attempt = id.rsplit('.').next().unwrap().to_string();
                    first_sts_after_jump.get_or_insert(jumped);
                    let what = match outcome {
                        StsOutcome::Accepted { .. } => access_key_id.clone().unwrap_or_default(),
                        StsOutcome::Rejected { code } => format!("rejected {code}"),
                    };
                    sts.entry(attempt).or_default().push(what);
                }
                _ => {}
            }
        }
        assert!(jumped, "{}", result.cell);
        let first = &sts["1"];
        let second = &sts["2"];
        assert_eq!(first.len(), 1, "{}: {sts:?}", result.cell);
        assert_eq!(
            second.len(),
            1,
            "{}: one accepted request, no retry: {sts:?}",
            result.cell
        );
        assert!(first[0].starts_with("ASIAMOCK"), "{}: {sts:?}", result.cell);
        assert!(
            second[0].starts_with("ASIAMOCK"),
            "{}: {sts:?}",
            result.cell
        );
        match rotated {
            Some(rotated) => {
                assert_eq!(
                    second[0], rotated,
                    "{}: the set after the jump: {sts:?}",
                    result.cell
                )
            }
            // No set before the jump: the first call, too, came after it.
            None => assert_eq!(first_sts_after_jump, Some(true), "{}: {sts:?}", result.cell),
        }
        assert!(
            run.verdict.error_kinds.is_empty(),
            "{}: {:?}",
            result.cell,
            run.verdict
        );
    }
}
