//! The Go and Ruby drivers end to end: each real SDK (aws-sdk-go-v2 1.17.1, aws-sdk-go
//! 1.44.133, aws-sdk-core 3.168.1) against the mocks, once where it recovers and once
//! where it does not, through the runner as the suite runs them.

mod common;

use std::collections::BTreeMap;

use harness::driver::DriverSetup;
use harness::report::model::{CellOutcome, CellResult, CellRun};
use harness::runner::{run_all, RunOptions};
use harness::scenario;

/// Runs the scenario `toml` and returns every cell's run by cell id (`driver/strategy`).
async fn run(name: &str, toml: &str) -> (Vec<CellResult>, BTreeMap<String, CellRun>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("{name}.toml"));
    std::fs::write(&path, toml).unwrap();
    let scenarios = vec![scenario::load(&path).unwrap()];
    let results = run_all(
        &scenarios,
        &RunOptions {
            jobs: 6,
            setup: DriverSetup::with_python(common::python()),
        },
        &|_, _| {},
    )
    .await;
    let runs = results
        .iter()
        .map(|r| match &r.outcome {
            CellOutcome::Ran(run) => (r.cell.clone(), (**run).clone()),
            other => panic!(
                "{} did not run (run scripts/setup: golang-go, the aws-sdk-go Debian packages, ruby-aws-sdk-core): {other:?}",
                r.cell
            ),
        })
        .collect();
    (results, runs)
}

const DRIVERS: &str = r#"drivers = ["go-v2", "go-v1", "ruby"]"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn go_and_ruby_recover_with_a_new_client_after_refused_connections() {
    let toml = format!(
        r#"
[[schedule]]
at = "0s"
state = "refuse"

[[schedule]]
at = "2s"
state = "up"

[matrix]
{DRIVERS}
strategies = ["client-retry"]

[strategy.client-retry]
attempts = 10
interval = "500ms"
"#
    );
    let (results, runs) = run("native-recover", &toml).await;
    for (driver, version) in [
        ("go-v2", "aws-sdk-go-v2 1.17.1"),
        ("go-v1", "aws-sdk-go 1.44.133"),
        ("ruby", "aws-sdk-core 3.168.1"),
    ] {
        let id = format!("{driver}/client-retry");
        let v = &runs[&id].verdict;
        assert!(v.recovered, "{id}: {v:?}");
        // The accepted call is tied to its attempt by the call id the driver sent.
        assert_eq!(v.unverified_successes, 0, "{id}: {v:?}");
        assert!(
            v.access_key_id
                .as_deref()
                .is_some_and(|k| k.starts_with("ASIAMOCK")),
            "{id}: {v:?}"
        );
        let loaded = results
            .iter()
            .find(|r| r.cell == id)
            .and_then(|r| r.sdk_version.clone())
            .unwrap_or_default();
        assert!(loaded.contains(version), "{id} loaded {loaded}");
    }
    // Go v1 and Ruby fail fast while IMDS refuses, with their own error names; Go v2's
    // first call retries past the outage.
    for (driver, kind) in [
        ("go-v1", "NoCredentialProviders"),
        ("ruby", "MissingCredentialsError"),
    ] {
        let v = &runs[&format!("{driver}/client-retry")].verdict;
        assert!(v.error_kinds.contains_key(kind), "{driver}: {v:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ruby_keeps_a_client_without_credentials_and_go_gets_none_after_a_token_400() {
    // Ruby: the client built while IMDS refuses never asks again (aws-sdk-ruby#1301).
    let toml = r#"
[[schedule]]
at = "0s"
state = "refuse"

[[schedule]]
at = "1s"
state = "up"

[matrix]
drivers = ["ruby"]
strategies = ["call-retry"]

[strategy.call-retry]
attempts = 6
interval = "500ms"
"#;
    let (_, runs) = run("native-ruby-trap", toml).await;
    let v = &runs["ruby/call-retry"].verdict;
    assert!(!v.recovered, "{v:?}");
    assert_eq!(
        v.error_kinds.keys().collect::<Vec<_>>(),
        vec!["MissingCredentialsError"],
        "{v:?}"
    );
    assert_eq!(v.imds_requests_after_recovery, Some(0), "{v:?}");

    // Go: a 400 on the token PUT is terminal for both token providers.
    let toml = r#"
[[schedule]]
at = "0s"
state = "status(400) on token"

[matrix]
drivers = ["go-v2", "go-v1"]
strategies = ["call-retry"]

[strategy.call-retry]
attempts = 2
interval = "300ms"
"#;
    let (_, runs) = run("native-go-400", toml).await;
    for (driver, kind) in [
        ("go-v2", "SigningError"),
        ("go-v1", "NoCredentialProviders"),
    ] {
        let v = &runs[&format!("{driver}/call-retry")].verdict;
        assert!(!v.recovered, "{driver}: {v:?}");
        assert_eq!(
            v.error_kinds.keys().collect::<Vec<_>>(),
            vec![kind],
            "{driver}: {v:?}"
        );
        assert_eq!(v.attempts, 2, "{driver}: {v:?}");
    }
}
