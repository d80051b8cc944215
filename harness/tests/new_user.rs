//! What a new user met (issue #15), through the `imds-harness` binary: the version line,
//! counts in words, `list`'s descriptions, empty shards, output paths checked before a run,
//! `merge`'s run and shard bookkeeping, same-named scenario files, `exec`'s statuses.

mod support;

use std::path::Path;

use support::{harness, ok, write};

/// One Rust-SDK cell, a 300 ms outage; the expectation holds.
const ONE_CELL: &str = r#"
description = """
A short refusal the Rust SDK rides out with call retries, which is what this fixture
exists to show. Second sentence."""
[[schedule]]
at = "0s"
state = "refuse"
[[schedule]]
at = "300ms"
state = "up"
[matrix]
drivers = ["rust-sdk"]
strategies = ["call-retry"]
[strategy.call-retry]
attempts = 8
interval = "200ms"
[[expect]]
recovers = true
"#;

fn run(args: &[&str], paths: &[&Path]) -> std::process::Output {
    harness().args(args).args(paths).output().unwrap()
}

#[test]
fn version_names_the_binary() {
    let out = harness().arg("--version").output().unwrap();
    assert_eq!(
        ok(&out, &[0]).trim_end(),
        format!("imds-harness {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn one_cell_and_one_failed_expectation_are_singular() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "one.toml",
        &ONE_CELL.replace("recovers = true", "recovers = false"),
    );
    let out = run(&["run"], &[&path]);
    let table = ok(&out, &[1]);
    assert!(
        table.contains("1 cell, 1 recovered, 1 expectation failed"),
        "{table}"
    );
}

#[test]
fn list_shows_the_first_sentence_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "one.toml", ONE_CELL);
    let out = run(&["list"], &[&path]);
    let listed = ok(&out, &[0]);
    let head = listed.lines().next().unwrap();
    assert!(
        head.ends_with(
            ": A short refusal the Rust SDK rides out with call retries, which is what this \
             fixture exists to show."
        ),
        "{listed}"
    );
}
