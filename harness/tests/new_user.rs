//! What a new user met (issue #15), through the `imds-harness` binary: the version line,
//! counts in words, `list`'s descriptions, empty shards, output paths checked before a run,
//! `merge`'s run and shard bookkeeping, same-named scenario files, `exec`'s statuses.

mod support;

use std::path::Path;

use support::{harness, ok, text, write};

/// One Rust-SDK cell, a 300 ms outage; the expectation holds ([`support::RUST_ONLY`] with
/// a two-sentence description, for `list`).
const ONE_CELL: &str = concat!(
    r#"
description = """
A short refusal the Rust SDK rides out with call retries, which is what this fixture
exists to show. Second sentence.""""#,
    support::rust_only!()
);

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

/// Four Rust-SDK cells, a 100 ms outage.
fn four_cells(dir: &Path) -> std::path::PathBuf {
    let strategies = ["a", "b", "c", "d"];
    let mut text = String::from(
        "[[schedule]]\nat = \"0s\"\nstate = \"refuse\"\n[[schedule]]\nat = \"100ms\"\nstate = \"up\"\n\
         [matrix]\ndrivers = [\"rust-sdk\"]\nstrategies = [\"a\", \"b\", \"c\", \"d\"]\n",
    );
    for s in strategies {
        text.push_str(&format!(
            "[strategy.{s}]\nkind = \"call-retry\"\nattempts = 6\ninterval = \"100ms\"\n"
        ));
    }
    text.push_str("[[expect]]\nrecovers = true\n");
    write(dir, "four.toml", &text)
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn a_shard_beyond_the_cells_is_an_empty_passing_report() {
    let dir = tempfile::tempdir().unwrap();
    let suite = four_cells(dir.path());
    let report = dir.path().join("shard-5.json");
    let out = run(
        &["run", "--shard", "5/5", "--json", report.to_str().unwrap()],
        &[&suite],
    );
    let table = ok(&out, &[0]);
    assert!(table.contains("0 cells"), "{table}");
    let value = json(&report);
    assert_eq!(value["passed"], true);
    assert_eq!(value["cells"].as_array().unwrap().len(), 0);
    assert_eq!(value["run"]["shard"]["index"], 5);
    assert_eq!(value["run"]["shard"]["count"], 5);

    // A filter that matches nothing is still bad input, and says which filter.
    let out = run(
        &["run", "--filter", "nothing*", "--shard", "5/5"],
        &[&suite],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no cell matches --filter nothing*"));
}

#[test]
fn merge_counts_each_cell_once_and_names_a_missing_shard() {
    let dir = tempfile::tempdir().unwrap();
    let suite = four_cells(dir.path());
    let shard = |i: usize| {
        let file = dir.path().join(format!("shard-{i}.json"));
        let out = run(
            &[
                "run",
                "--shard",
                &format!("{i}/3"),
                "--json",
                file.to_str().unwrap(),
            ],
            &[&suite],
        );
        ok(&out, &[0]);
        file
    };
    let (s1, s2, s3) = (shard(1), shard(2), shard(3));
    let id = json(&s1)["run"]["id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 12, "{id}");
    assert_eq!(
        json(&s2)["run"]["id"],
        json(&s1)["run"]["id"],
        "one run, one id"
    );

    let merged = dir.path().join("merged.json");
    let junit = dir.path().join("junit.xml");
    let out = run(
        &[
            "merge",
            "--json",
            merged.to_str().unwrap(),
            "--junit",
            junit.to_str().unwrap(),
        ],
        &[&s1, &s2, &s3],
    );
    assert!(ok(&out, &[0]).contains("4 cells"), "{}", text(&out));
    let value = json(&merged);
    assert_eq!(value["run"]["id"], id.as_str());
    assert_eq!(value["run"]["shard"], serde_json::Value::Null);
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert_eq!(xml.matches("<testcase ").count(), 4, "{xml}");

    let refused = |paths: &[&Path], says: &str| {
        let out = run(&["merge"], paths);
        assert_eq!(out.status.code(), Some(2), "{says}: {}", text(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(says), "{says}: {stderr}");
        assert!(
            out.stdout.is_empty(),
            "no table for a refused merge: {}",
            text(&out)
        );
    };
    refused(&[&s1, &s1, &s2, &s3], "are both shard 1/3 of run");
    refused(&[&merged, &s1, &s2, &s3], "holds the whole run");
    refused(
        &[&s1, &s3],
        &format!("shard 2/3 of run {id} is missing (have 1/3, 3/3)"),
    );
    refused(&[&s2], "shard 1/3, 3/3 of run");

    // Another run (another seed) is not a shard of this one.
    let other = dir.path().join("other.json");
    let out = run(
        &[
            "run",
            "--seed",
            "7",
            "--shard",
            "2/3",
            "--json",
            other.to_str().unwrap(),
        ],
        &[&suite],
    );
    ok(&out, &[0]);
    refused(&[&s1, &other, &s3], "merge combines the shards of one run");
}

#[test]
fn output_paths_are_checked_before_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "one.toml", ONE_CELL);
    let file = dir.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    for (flag, target) in [
        ("--json", "/no/such/dir/r.json".to_string()),
        ("--junit", "/no/such/dir/j.xml".to_string()),
        ("--json", dir.path().display().to_string()),
        ("--timeline", file.join("sub").display().to_string()),
    ] {
        let out = run(&["run", flag, &target], &[&path]);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{flag} {target}: {}",
            text(&out)
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!("{flag} {target}")) && stderr.contains("nothing was run"),
            "{stderr}"
        );
        assert!(
            !stderr.contains("running"),
            "checked before the run: {stderr}"
        );
        assert!(out.stdout.is_empty(), "{}", text(&out));
    }
}

#[test]
fn same_named_files_in_two_folders_stay_apart_and_a_file_given_twice_runs_once() {
    let dir = tempfile::tempdir().unwrap();
    for team in ["team-a", "team-b"] {
        std::fs::create_dir_all(dir.path().join(team)).unwrap();
    }
    let a = write(&dir.path().join("team-a"), "trap.toml", ONE_CELL);
    let b = write(
        &dir.path().join("team-b"),
        "trap.toml",
        &ONE_CELL.replace("attempts = 8", "attempts = 9"),
    );
    let report = dir.path().join("r.json");
    let timelines = dir.path().join("timelines");
    let out = run(
        &[
            "run",
            "--json",
            report.to_str().unwrap(),
            "--timeline",
            timelines.to_str().unwrap(),
        ],
        &[&a, &b, &a],
    );
    let table = ok(&out, &[0]);
    assert!(
        table.contains("2 cells"),
        "the same file twice runs once: {table}"
    );
    let value = json(&report);
    let names: Vec<&str> = value["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["scenario"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["team-a/trap", "team-b/trap"]);
    assert!(
        table.contains("team-a/trap") && table.contains("team-b/trap"),
        "{table}"
    );
    let one = std::fs::read_to_string(timelines.join("team-a/trap.svg")).unwrap();
    let two = std::fs::read_to_string(timelines.join("team-b/trap.svg")).unwrap();
    assert_ne!(one, two, "one SVG each");

    // explain picks either, from the report and by running it.
    let out = run(
        &[
            "explain",
            "team-b/trap/rust-sdk/call-retry",
            "--report",
            report.to_str().unwrap(),
        ],
        &[],
    );
    assert!(
        ok(&out, &[0]).starts_with("team-b/trap/rust-sdk/call-retry"),
        "{}",
        text(&out)
    );
    let out = harness()
        .args(["explain", "team-a/trap/rust-sdk/call-retry", "--scenarios"])
        .arg(&a)
        .arg("--scenarios")
        .arg(&b)
        .output()
        .unwrap();
    assert!(
        ok(&out, &[0]).starts_with("team-a/trap/rust-sdk/call-retry"),
        "{}",
        text(&out)
    );

    // A stem no other file has keeps its short name.
    let out = run(&["list"], &[&a]);
    assert!(ok(&out, &[0]).starts_with("trap ("), "{}", text(&out));
}

#[test]
fn exec_of_a_command_killed_by_sigterm_exits_143_and_says_so() {
    let out = harness()
        .args(["exec", "--", "sh", "-c", "kill -TERM $$"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(143), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("command was killed by SIGTERM (signal 15), exit status 143 after"),
        "{stderr}"
    );
    let out = harness()
        .args(["exec", "--", "sh", "-c", "exit 7"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(7), "{}", text(&out));
}

#[test]
fn meaningless_faults_are_refused_at_their_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    for (state, says) in [
        (
            "no-role on token",
            "can only be `credentials` or a `path(GLOB)`",
        ),
        (
            "expired-credentials on listener",
            "can only be `credentials`",
        ),
        ("status(101)", "informational (1xx)"),
        ("throttle(0)", "at least 1 per second"),
        ("refuse p=2", "takes no probability"),
    ] {
        let path = write(
            dir.path(),
            "f.toml",
            &ONE_CELL.replace("state = \"refuse\"", &format!("state = \"{state}\"")),
        );
        let out = run(&["validate"], &[&path]);
        assert_eq!(out.status.code(), Some(2), "{state}: {}", text(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.starts_with(&format!("{}:7:9:", path.display())) && stderr.contains(says),
            "{state}: {stderr}"
        );
    }
}

#[test]
fn keys_of_the_other_generator_kind_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let generators = [
        (
            "[[generate]]\nkind = \"flap\"\nfault = \"reset\"\ndown = [\"100ms\", \"100ms\"]\nup = [\"100ms\", \"100ms\"]\nuntil = \"1s\"\ncount = 3\n",
            "`count` is not a key of a `flap` generator (it is a `random-outages` key); a `flap` generator takes kind, fault, down, up, until",
        ),
        (
            "[[generate]]\nkind = \"random-outages\"\nfault = \"reset\"\ncount = 1\nduration = [\"100ms\", \"100ms\"]\nwithin = \"1s\"\nuntil = \"1s\"\n",
            "`until` is not a key of a `random-outages` generator (it is a `flap` key)",
        ),
    ];
    for (generate, says) in generators {
        let body = ONE_CELL.replace("[matrix]", &format!("{generate}[matrix]"));
        let path = write(dir.path(), "g.toml", &body);
        let out = run(&["validate"], &[&path]);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.starts_with(&format!("{}:", path.display())) && stderr.contains(says),
            "{stderr}"
        );
    }
}

/// A scenario with one duration written as given.
type Scenario = Box<dyn Fn(&str) -> String>;

/// Every duration a scenario holds, at its bound (24 h: accepted, as far as durations
/// go) and just past it (an error at its line and column naming the range); the huge
/// values of issue #15 are errors too, never a panic or a run of years.
#[test]
fn every_duration_field_is_bounded_at_24h() {
    let dir = tempfile::tempdir().unwrap();
    let base = ONE_CELL;
    let fields: Vec<(&str, Scenario)> = vec![
        (
            "schedule at",
            Box::new(|d: &str| {
                base.replace(
                    "[matrix]",
                    &format!("[[schedule]]\nat = \"{d}\"\nstate = \"refuse\"\n[matrix]"),
                )
            }),
        ),
        (
            "flap down",
            Box::new(|d: &str| {
                base.replace("[matrix]", &format!("[[generate]]\nkind = \"flap\"\nfault = \"reset on token\"\ndown = [\"1s\", \"{d}\"]\nup = [\"1h\", \"1h\"]\nuntil = \"2s\"\n[matrix]"))
            }),
        ),
        (
            "flap up",
            Box::new(|d: &str| {
                base.replace("[matrix]", &format!("[[generate]]\nkind = \"flap\"\nfault = \"reset on token\"\ndown = [\"1s\", \"1s\"]\nup = [\"1s\", \"{d}\"]\nuntil = \"2s\"\n[matrix]"))
            }),
        ),
        (
            "flap until",
            Box::new(|d: &str| {
                base.replace("[matrix]", &format!("[[generate]]\nkind = \"flap\"\nfault = \"reset on token\"\ndown = [\"1h\", \"1h\"]\nup = [\"1h\", \"1h\"]\nuntil = \"{d}\"\n[matrix]"))
            }),
        ),
        (
            "random-outages duration",
            Box::new(|d: &str| {
                base.replace("[matrix]", &format!("[[generate]]\nkind = \"random-outages\"\nfault = \"reset on token\"\ncount = 1\nduration = [\"1s\", \"{d}\"]\nwithin = \"1h\"\n[matrix]"))
            }),
        ),
        (
            "random-outages within",
            Box::new(|d: &str| {
                base.replace("[matrix]", &format!("[[generate]]\nkind = \"random-outages\"\nfault = \"reset on token\"\ncount = 1\nduration = [\"1s\", \"1s\"]\nwithin = \"{d}\"\n[matrix]"))
            }),
        ),
        (
            "strategy interval",
            Box::new(|d: &str| {
                base.replace("interval = \"200ms\"", &format!("interval = \"{d}\""))
            }),
        ),
        (
            "expect within",
            Box::new(|d: &str| {
                base.replace(
                    "recovers = true",
                    &format!("recovers = true\nwithin = \"{d}\""),
                )
            }),
        ),
    ];
    for (field, scenario) in &fields {
        let at_bound = write(dir.path(), "at.toml", &scenario("24h"));
        let out = run(&["validate"], &[&at_bound]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("0s..=24h"), "{field} at 24h: {stderr}");
        assert!(!stderr.contains("panicked"), "{field}: {stderr}");
        for past in [
            "86400001ms",
            "100000000s",
            "1000000000000000s",
            "18446744073709551615s",
        ] {
            let path = write(dir.path(), "past.toml", &scenario(past));
            let out = run(&["validate"], &[&path]);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{field} = {past}: {stderr}");
            let text = std::fs::read_to_string(&path).unwrap();
            let line = text.lines().position(|l| l.contains(past)).unwrap() + 1;
            assert!(
                stderr.starts_with(&format!("{}:{line}:", path.display()))
                    && (stderr.contains("0s..=24h") || stderr.contains("invalid duration")),
                "{field} = {past}: {stderr}"
            );
        }
    }
}

#[test]
fn a_step_at_the_bound_runs_and_draws_without_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "far.toml",
        &ONE_CELL.replace(
            "[matrix]",
            "[[schedule]]\nat = \"24h\"\nstate = \"refuse\"\n[matrix]",
        ),
    );
    let timelines = dir.path().join("t");
    let out = harness()
        .args(["run", "--timeline", timelines.to_str().unwrap()])
        .arg(&path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    ok(&out, &[0]);
    let svg = std::fs::metadata(timelines.join("far.svg")).unwrap().len();
    assert!(svg < 1_000_000, "the SVG is {svg} bytes");
}

#[test]
fn credential_times_that_cannot_mean_anything_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    for (imds, says) in [
        (
            "credential_lifetime = \"0s\"",
            "credential_lifetime = 0s is too short",
        ),
        (
            "credential_lifetime = \"1h\"\nrotate_before_expiry = \"2h\"",
            "rotate_before_expiry (2h) is not shorter than credential_lifetime (1h)",
        ),
        (
            "credential_lifetime = \"2m\"",
            "rotate_before_expiry (5m, the default) is not shorter than credential_lifetime (2m)",
        ),
    ] {
        let body = format!("{ONE_CELL}[imds]\n{imds}\n");
        let line = body
            .lines()
            .position(|l| l.starts_with("credential_lifetime"))
            .unwrap()
            + 1;
        let path = write(dir.path(), "c.toml", &body);
        let out = run(&["validate"], &[&path]);
        assert_eq!(out.status.code(), Some(2), "{imds}: {}", text(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.starts_with(&format!("{}:{line}:1: ", path.display())) && stderr.contains(says),
            "{imds}: {stderr}"
        );
    }
    let fine = write(
        dir.path(),
        "ok.toml",
        &format!("{ONE_CELL}[imds]\ncredential_lifetime = \"16m\"\n"),
    );
    ok(&run(&["validate"], &[&fine]), &[0]);
}

#[test]
fn sdk_settings_out_of_range_are_errors_at_their_position() {
    let dir = tempfile::tempdir().unwrap();
    for (sdk, setting, says) in [
        ("boto3", "metadata_service_timeout = 1e300", "0..=86400"),
        ("boto3", "metadata_service_timeout = inf", "0..=86400"),
        ("boto3", "metadata_service_timeout = 86401", "0..=86400"),
        (
            "boto3",
            "metadata_service_num_attempts = 1000000",
            "0..=10000",
        ),
        (
            "rust-sdk",
            "imds_read_timeout_ms = 86400001",
            "0..=86400000",
        ),
        ("js-v3", "timeout_ms = 9223372036854775807", "0..=86400000"),
    ] {
        let body = format!("{ONE_CELL}[driver.custom]\nsdk = \"{sdk}\"\n{setting}\n");
        // At the `[driver.NAME]` table, as every setting error is.
        let line = body.lines().position(|l| l == "[driver.custom]").unwrap() + 1;
        let path = write(dir.path(), "s.toml", &body);
        let out = run(&["validate"], &[&path]);
        assert_eq!(out.status.code(), Some(2), "{setting}: {}", text(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.starts_with(&format!("{}:{line}:", path.display())) && stderr.contains(says),
            "{setting}: {stderr}"
        );
    }
    for (sdk, setting) in [
        ("boto3", "metadata_service_timeout = 86400"),
        ("boto3", "metadata_service_timeout = 0.5"),
        ("rust-sdk", "imds_read_timeout_ms = 86400000"),
    ] {
        let body = format!("{ONE_CELL}[driver.custom]\nsdk = \"{sdk}\"\n{setting}\n");
        let path = write(dir.path(), "s.toml", &body);
        ok(&run(&["validate"], &[&path]), &[0]);
    }
}

#[test]
fn an_error_kind_no_driver_reports_gets_a_did_you_mean() {
    let dir = tempfile::tempdir().unwrap();
    let body = ONE_CELL.replace(
        "recovers = true",
        "recovers = false\nerror_kind = \"NoCredentialError\"",
    );
    let line = body
        .lines()
        .position(|l| l.starts_with("error_kind"))
        .unwrap()
        + 1;
    let path = write(dir.path(), "k.toml", &body);
    let out = run(&["validate"], &[&path]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with(&format!("{}:{line}:14: unknown error kind `NoCredentialError` (did you mean `NoCredentialsError`?)", path.display())),
        "{stderr}"
    );
}

#[test]
fn expectations_that_contradict_each_other_for_one_cell_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    for (second, says) in [
        (
            "recovers = false\nerror_kind = \"NoCredentialsError\"",
            "one expects recovery, the other none",
        ),
        (
            "within = \"1s\"\nimds_requests_after_recovery = 1",
            "imds_requests_after_recovery cannot be both 0 and 1",
        ),
        (
            "error_kind = \"ExpiredToken\"",
            "every failure cannot be both NoCredentialsError and ExpiredToken",
        ),
    ] {
        let body = ONE_CELL.replace(
            "[[expect]]\nrecovers = true",
            &format!("[[expect]]\nstrategy = \"call-retry\"\nerror_kind = \"NoCredentialsError\"\nimds_requests_after_recovery = 0\nrecovers = true\n[[expect]]\nstrategy = \"call-retry\"\n{second}"),
        );
        let path = write(dir.path(), "c.toml", &body);
        let out = run(&["validate"], &[&path]);
        assert_eq!(out.status.code(), Some(2), "{second}: {}", text(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        let line = body
            .lines()
            .enumerate()
            .filter(|(_, l)| l.starts_with("strategy = "))
            .nth(1)
            .unwrap()
            .0
            + 1;
        assert!(
            stderr.starts_with(&format!("{}:{line}:", path.display()))
                && stderr.contains("contradicts [[expect]] number 1 for cell rust-sdk/call-retry")
                && stderr.contains(says),
            "{second}: {stderr}"
        );
    }
}
