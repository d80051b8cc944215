//! The boto3-crt, aiobotocore and js-v2 drivers end to end: each real SDK (from
//! `.venv-crt`, `.venv-aio` and `harness/drivers/js/node_modules`, made by scripts/setup)
//! against the mocks, one recovering and one non-recovering case each.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use harness::driver::DriverSetup;
use harness::report::model::{CellOutcome, CellResult};
use harness::runner::{run_all, RunOptions};
use harness::scenario;
use harness::verdict::Verdict;

/// IMDS refuses connections for the first 3 s, while every client is created.
const TRAP: &str = r#"
[[schedule]]
at = "0s"
state = "refuse"
[[schedule]]
at = "3s"
state = "up"
[matrix]
drivers = ["boto3-crt", "aiobotocore", "js-v2"]
strategies = ["call-retry", "client-retry"]
[strategy.call-retry]
attempts = 10
interval = "500ms"
[strategy.client-retry]
attempts = 10
interval = "500ms"
"#;

/// IMDS never answers: nothing can recover.
const DOWN: &str = r#"
[[schedule]]
at = "0s"
state = "refuse"
[matrix]
drivers = ["js-v2"]
strategies = ["call-retry"]
[strategy.call-retry]
attempts = 4
interval = "300ms"
"#;

async fn run(name: &str, text: &str) -> Vec<CellResult> {
    let s = scenario::parse(Path::new(name), text).unwrap();
    run_all(
        &[s],
        &RunOptions {
            jobs: 6,
            setup: DriverSetup::with_python(common::python()),
        },
        &|_, _| {},
    )
    .await
}

fn verdicts(results: &[CellResult]) -> BTreeMap<String, (Verdict, String)> {
    results
        .iter()
        .map(|r| match &r.outcome {
            CellOutcome::Ran(run) => (
                r.cell.clone(),
                (
                    run.verdict.clone(),
                    r.sdk_version.clone().unwrap_or_default(),
                ),
            ),
            other => panic!("{} did not run: {other:?}", r.cell),
        })
        .collect()
}

fn kinds(v: &Verdict) -> Vec<&str> {
    v.error_kinds.keys().map(String::as_str).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_drivers_through_an_outage_at_client_creation() {
    let results = run("trap.toml", TRAP).await;
    let by_cell = verdicts(&results);
    let cell = |id: &str| by_cell.get(id).unwrap_or_else(|| panic!("no cell {id}"));

    // The SDKs loaded are the pinned ones, and boto3-crt signs through the CRT.
    assert!(
        cell("boto3-crt/call-retry")
            .1
            .contains("awscrt 0.32.2, signer botocore.crt.auth.CrtSigV4Auth"),
        "{}",
        cell("boto3-crt/call-retry").1
    );
    assert!(cell("aiobotocore/call-retry")
        .1
        .starts_with("aiobotocore 3.10.0 (botocore 1.43.115)"));
    assert!(cell("js-v2/call-retry")
        .1
        .starts_with("js-v2 aws-sdk 2.1693.0"));

    // boto3-crt and aiobotocore keep botocore's trap: the client built during the outage
    // never recovers and never asks IMDS again; a new client per attempt recovers.
    for driver in ["boto3-crt", "aiobotocore"] {
        let (trapped, _) = cell(&format!("{driver}/call-retry"));
        assert!(!trapped.recovered, "{driver}: {trapped:?}");
        assert_eq!(kinds(trapped), vec!["NoCredentialsError"], "{driver}");
        assert_eq!(
            trapped.imds_requests_after_recovery,
            Some(0),
            "{driver}: {trapped:?}"
        );
        let (fresh, _) = cell(&format!("{driver}/client-retry"));
        assert!(fresh.recovered, "{driver}: {fresh:?}");
        assert!(
            fresh.keys_used.iter().all(|k| k.starts_with("ASIAMOCK")),
            "{fresh:?}"
        );
    }

    // JS v2 resolves per request and caches no failure: the same client recovers.
    let (same, _) = cell("js-v2/call-retry");
    assert!(same.recovered, "{same:?}");
    assert_eq!(kinds(same), vec!["CredentialsError"]);
    assert!(
        same.access_key_id
            .as_deref()
            .is_some_and(|k| k.starts_with("ASIAMOCK")),
        "{same:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn js_v2_does_not_recover_while_imds_stays_down() {
    let results = run("down.toml", DOWN).await;
    let (v, _) = &verdicts(&results)["js-v2/call-retry"];
    assert!(!v.recovered, "{v:?}");
    assert_eq!(v.attempts, 4);
    assert_eq!(kinds(v), vec!["CredentialsError"]);
}
