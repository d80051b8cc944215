//! Every `imds-harness` subcommand with its stdout already closed (`imds-harness explain …
//! | head -1`): it ends quietly with its usual status — no panic, no backtrace — and a run
//! still writes its report files. The subcommands are read from `--help`, so a new one
//! without a case here fails the test.

mod support;

use std::process::{Command, Output, Stdio};

use support::{harness, ok, root, write, RUST_ONLY};

/// Runs `cmd` with a stdout whose reader has gone: every write gets EPIPE.
fn closed_stdout(mut cmd: Command) -> Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    cmd.stdout(writer).stderr(Stdio::piped()).output().unwrap()
}

fn subcommands() -> Vec<String> {
    let help = String::from_utf8(harness().arg("--help").output().unwrap().stdout).unwrap();
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

#[test]
fn every_subcommand_ends_quietly_when_stdout_closes() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write(dir.path(), "one.toml", RUST_ONLY);
    let report = dir.path().join("r.json");
    let s = |p: &std::path::Path| p.to_str().unwrap().to_string();
    ok(
        &harness()
            .args(["run", &s(&scenario), "--json", &s(&report)])
            .output()
            .unwrap(),
        &[0],
    );
    let ran_json = dir.path().join("closed.json");
    let builtin = s(&root().join("scenarios"));
    let cases: Vec<(&str, Vec<String>, i32)> = vec![
        ("help", vec!["help".into()], 0),
        ("help", vec!["--help".into()], 0),
        ("help", vec!["--version".into()], 0),
        (
            "run",
            vec!["run".into(), s(&scenario), "--json".into(), s(&ran_json)],
            0,
        ),
        ("list", vec!["list".into(), builtin.clone()], 0),
        (
            "explain",
            vec![
                "explain".into(),
                "one/*".into(),
                "--report".into(),
                s(&report),
            ],
            0,
        ),
        (
            "explain",
            vec![
                "explain".into(),
                "one/*".into(),
                "--scenarios".into(),
                s(&scenario),
            ],
            0,
        ),
        ("validate", vec!["validate".into(), builtin], 0),
        ("merge", vec!["merge".into(), s(&report)], 0),
        ("exec", vec!["exec".into(), "--".into(), "true".into()], 0),
        ("completions", vec!["completions".into(), "bash".into()], 0),
        // A real bisect needs the registries and SDK environments (harness/tests/bisect.rs);
        // its output goes through the same quiet writer as every other subcommand's.
        ("bisect", vec!["bisect".into(), "--help".into()], 0),
    ];
    let mut covered = Vec::new();
    for (name, args, code) in cases {
        let mut cmd = harness();
        cmd.args(&args);
        let out = closed_stdout(cmd);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
            "{args:?}: {stderr}"
        );
        assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
        covered.push(name.to_string());
    }
    assert!(
        ran_json.exists(),
        "a run writes its report with stdout closed"
    );
    covered.dedup();
    let mut all = subcommands();
    all.sort();
    covered.sort();
    assert_eq!(all, covered, "every subcommand has a case here");
}
