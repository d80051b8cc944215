//! Reports and CI plumbing through the binary: JSON round-trips, JUnit parses back with
//! expected-vs-observed failures, one SVG lane per cell, shards merge into the unsharded
//! verdicts, and `exec` shows the trap in a plain Python worker.

mod support;

use std::path::{Path, PathBuf};

use support::{harness, ok, python, root};

/// Two Rust-SDK-only scenarios (no Python needed): six cells, one failing expectation.
fn scenarios(dir: &Path) -> PathBuf {
    let scenarios = dir.join("scenarios");
    std::fs::create_dir_all(&scenarios).unwrap();
    let base = r#"
description = "short outage"
[[schedule]]
at = "0s"
state = "OUTAGE"
[[schedule]]
at = "600ms"
state = "up"
[matrix]
drivers = ["rust-sdk"]
strategies = ["a", "b", "c"]
[strategy.a]
kind = "call-retry"
attempts = 8
interval = "250ms"
[strategy.b]
kind = "client-retry"
attempts = 8
interval = "250ms"
[strategy.c]
kind = "call-retry"
attempts = 8
interval = "250ms"
[[expect]]
strategy = "a"
recovers = true
[[expect]]
strategy = "c"
recovers = false
"#;
    std::fs::write(scenarios.join("one.toml"), base.replace("OUTAGE", "refuse")).unwrap();
    std::fs::write(
        scenarios.join("two.toml"),
        base.replace("OUTAGE", "status(500)"),
    )
    .unwrap();
    scenarios
}

fn verdicts(report: &serde_json::Value) -> Vec<(String, bool, bool)> {
    let mut out: Vec<(String, bool, bool)> = report["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let ran = &c["ran"];
            let passed = ran["checks"]
                .as_array()
                .unwrap()
                .iter()
                .all(|k| k["failures"].as_array().unwrap().is_empty());
            (
                format!(
                    "{}/{}",
                    c["scenario"].as_str().unwrap(),
                    c["cell"].as_str().unwrap()
                ),
                ran["verdict"]["recovered"].as_bool().unwrap(),
                passed,
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn json_junit_svg_and_shards_agree() {
    let dir = tempfile::tempdir().unwrap();
    let scenarios = scenarios(dir.path());
    let all_json = dir.path().join("all.json");
    let junit = dir.path().join("junit.xml");
    let timelines = dir.path().join("timelines");
    let out = harness()
        .arg("run")
        .arg(&scenarios)
        .args([
            "--json",
            all_json.to_str().unwrap(),
            "--junit",
            junit.to_str().unwrap(),
            "--timeline",
            timelines.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let table = ok(&out, &[1]);
    assert!(
        table.contains("6 cells, 6 recovered, 2 expectations failed"),
        "{table}"
    );

    // JSON: documented types, round trip unchanged.
    let text = std::fs::read_to_string(&all_json).unwrap();
    let report = harness::report::json::from_str(&text).unwrap();
    assert_eq!(report.schema_version, harness::report::json::SCHEMA_VERSION);
    assert_eq!(harness::report::json::to_string(&report).unwrap(), text);
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    let unsharded = verdicts(&value);
    assert_eq!(unsharded.len(), 6);

    // JUnit: parses back; one case per cell; failures say expected vs observed; events in system-out.
    let xml = std::fs::read_to_string(&junit).unwrap();
    let parsed = quick_junit::Report::deserialize_from_str(&xml).unwrap();
    let cases: Vec<_> = parsed
        .test_suites
        .iter()
        .flat_map(|s| s.test_cases.iter())
        .collect();
    assert_eq!(cases.len(), 6);
    let failed = cases
        .iter()
        .find(|c| c.name.as_str() == "one/rust-sdk/c")
        .unwrap();
    match &failed.status {
        quick_junit::TestCaseStatus::NonSuccess { message, .. } => {
            let message = message.as_ref().unwrap().as_str();
            assert!(
                message.starts_with("expected no recovery, but attempt"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
    let out_text = failed.system_out.as_ref().unwrap().as_str();
    assert!(
        out_text.contains("IMDS  is now refuse") && out_text.contains("STS   GetCallerIdentity"),
        "{out_text}"
    );
    assert!(matches!(
        cases
            .iter()
            .find(|c| c.name.as_str() == "one/rust-sdk/a")
            .unwrap()
            .status,
        quick_junit::TestCaseStatus::Success { .. }
    ));

    // SVG: valid XML, one lane per cell, a band segment per state.
    for name in ["one", "two"] {
        let svg = std::fs::read_to_string(timelines.join(format!("{name}.svg"))).unwrap();
        let doc = roxmltree::Document::parse(&svg).unwrap();
        let lanes = doc
            .descendants()
            .filter(|n| n.attribute("class") == Some("lane"))
            .count();
        assert_eq!(lanes, 3, "{name}");
        let band = doc
            .descendants()
            .find(|n| n.attribute("class") == Some("imds-state"))
            .unwrap();
        assert_eq!(
            band.children().filter(|n| n.has_tag_name("rect")).count(),
            2
        );
        assert!(doc
            .descendants()
            .any(|n| n.attribute("class") == Some("attempt")));
    }
    let index = std::fs::read_to_string(timelines.join("index.html")).unwrap();
    assert!(index.contains("one.svg") && index.contains("two.svg"));

    // Shards 1/3, 2/3, 3/3 run every cell once; merged, they give the unsharded verdicts.
    let mut shard_files = Vec::new();
    let mut seen = 0;
    for i in 1..=3 {
        let file = dir.path().join(format!("shard-{i}.json"));
        let out = harness()
            .arg("run")
            .arg(&scenarios)
            .args([
                "--shard",
                &format!("{i}/3"),
                "--json",
                file.to_str().unwrap(),
            ])
            .output()
            .unwrap();
        ok(&out, &[0, 1]);
        let shard: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        seen += shard["cells"].as_array().unwrap().len();
        shard_files.push(file);
    }
    assert_eq!(seen, 6, "each cell in exactly one shard");
    let merged_json = dir.path().join("merged.json");
    let out = harness()
        .arg("merge")
        .args(&shard_files)
        .args(["--json", merged_json.to_str().unwrap()])
        .output()
        .unwrap();
    let table = ok(&out, &[1]);
    assert!(
        table.contains("6 cells, 6 recovered, 2 expectations failed"),
        "{table}"
    );
    let merged: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&merged_json).unwrap()).unwrap();
    assert_eq!(verdicts(&merged), unsharded);
    let order: Vec<u64> = merged["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["index"].as_u64().unwrap())
        .collect();
    assert_eq!(order, vec![0, 1, 2, 3, 4, 5], "merged back into run order");
}

#[test]
fn filter_list_and_shard_errors() {
    let dir = tempfile::tempdir().unwrap();
    let scenarios = scenarios(dir.path());
    let out = harness()
        .arg("list")
        .arg(&scenarios)
        .args(["--filter", "two/*/b"])
        .output()
        .unwrap();
    let listed = ok(&out, &[0]);
    assert_eq!(
        listed
            .lines()
            .filter(|l| l.starts_with("  "))
            .collect::<Vec<_>>(),
        vec!["  two/rust-sdk/b"]
    );
    for bad in ["0/3", "4/3", "x", "1/0"] {
        let out = harness()
            .arg("list")
            .arg(&scenarios)
            .args(["--shard", bad])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("write I/N"),
            "{bad}"
        );
    }
    let out = harness()
        .arg("run")
        .arg(&scenarios)
        .args(["--filter", "nothing*"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
// The outage lasts 3 s so that a Python start-up slowed by a loaded machine still creates
// its first client inside it; 8 rounds 0.5 s apart leave at least one after it.
fn exec_shows_the_trap_in_a_plain_python_worker() {
    let python = python();
    assert!(python.exists(), "run scripts/setup first");
    let out = harness()
        .args(["exec", "--schedule", "refuse 0s..3s", "--"])
        .arg(&python)
        .arg(root().join("examples/trap_worker.py"))
        .args(["--iterations", "8", "--interval", "0.5"])
        .env("AWS_ACCESS_KEY_ID", "AKIAPLANTEDBYTHETEST")
        .env("AWS_SECRET_ACCESS_KEY", "planted")
        .output()
        .unwrap();
    let worker = ok(&out, &[0]);
    let summary = String::from_utf8_lossy(&out.stderr);
    assert!(
        worker.starts_with("client created at start-up; credentials resolved: False"),
        "{worker}"
    );
    let rounds: Vec<&str> = worker.lines().skip(1).collect();
    assert_eq!(rounds.len(), 8, "{worker}");
    assert!(
        rounds
            .iter()
            .all(|l| l.contains("same client: NoCredentialsError")),
        "{worker}"
    );
    assert!(
        rounds.last().unwrap().contains("new client: ok (ASIAMOCK"),
        "{worker}"
    );
    assert!(
        summary.contains("schedule: refuse at 0s, up on listener at 3s"),
        "{summary}"
    );
    assert!(summary.contains("keys used: ASIAMOCK"), "{summary}");
    assert!(!summary.contains("AKIAPLANTED"), "{summary}");
    assert!(
        summary.contains("command exited with status 0"),
        "{summary}"
    );
}

#[test]
// A schedule file whose step jumps the clock moves the program's wall clock too
// (libfaketime): `date +%s` in the program reads about 6 h ahead of the test's clock,
// and a program run without a jump reads the real time.
fn exec_moves_the_programs_clock_with_a_clock_step() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("jump.toml");
    std::fs::write(&file, "[[schedule]]\nat = \"0s\"\nclock = \"+6h\"\n").unwrap();
    let program_time = |args: &[&str]| -> i64 {
        let out = harness()
            .arg("exec")
            .args(args)
            .args(["--", "date", "+%s"])
            .output()
            .unwrap();
        ok(&out, &[0]).trim().parse().unwrap()
    };
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
    };
    let before = now();
    let jumped = program_time(&["--schedule-file", file.to_str().unwrap()]);
    let ahead = jumped - before;
    assert!((6 * 3600..6 * 3600 + 120).contains(&ahead), "{ahead}");
    let before = now();
    let plain = program_time(&[]) - before;
    assert!((0..120).contains(&plain), "{plain}");
}
