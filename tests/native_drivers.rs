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

/// The first call's error message in `run` ("" when there is none).
fn first_error(run: &CellRun) -> String {
    run.timeline
        .entries()
        .iter()
        .find_map(|e| match e {
            harness::timeline::Entry::Driver {
                event: harness::timeline::DriverEvent::Attempt { outcome, .. },
                ..
            } => Some(format!("{outcome:?}")),
            _ => None,
        })
        .unwrap_or_default()
}

/// The `[driver.NAME]` settings reach the SDKs: Go v2's `retry_max_attempts` bounds the
/// STS call's attempts (the SDK's message counts them; 3 by default), and Ruby's
/// `instance_profile_credentials_timeout` bounds client creation under a blackhole (12
/// IMDS timeouts: 12 s at the default 1 s, measured).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn driver_settings_reach_the_go_and_ruby_sdks() {
    let refuse = r#"
[driver.go-v2-once]
sdk = "go-v2"
retry_max_attempts = 1

[[schedule]]
at = "0s"
state = "refuse"

[[schedule]]
at = "30s"
state = "up"

[matrix]
drivers = ["go-v2", "go-v2-once"]
strategies = ["sdk-retry"]

[strategy.sdk-retry]
"#;
    let (_, runs) = run("native-go-settings", refuse).await;
    let default = first_error(&runs["go-v2/sdk-retry"]);
    assert!(
        default.contains("exceeded maximum number of attempts, 3,"),
        "{default}"
    );
    let once = first_error(&runs["go-v2-once/sdk-retry"]);
    assert!(
        once.contains("exceeded maximum number of attempts, 1,"),
        "{once}"
    );

    let blackhole = r#"
[driver.ruby-quick]
sdk = "ruby"
instance_profile_credentials_timeout = 0.1

[[schedule]]
at = "0s"
state = "blackhole"

[[schedule]]
at = "30s"
state = "up"

[matrix]
drivers = ["ruby-quick"]
strategies = ["sdk-retry"]

[strategy.sdk-retry]
"#;
    let (_, runs) = run("native-ruby-settings", blackhole).await;
    let ruby = &runs["ruby-quick/sdk-retry"].verdict;
    let creation = ruby.longest_client_creation.unwrap_or_default();
    assert!(
        creation < std::time::Duration::from_secs(6),
        "12 IMDS timeouts of 0.1 s took {creation:?}: the setting did not reach the SDK"
    );
    assert_eq!(
        ruby.error_kinds.keys().collect::<Vec<_>>(),
        vec!["MissingCredentialsError"],
        "{ruby:?}"
    );
}
