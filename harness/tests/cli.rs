//! The `imds-harness` binary: exit statuses and one-line scenario errors.

mod support;

use support::{harness, write, RUST_ONLY};

#[test]
fn malformed_scenario_is_one_line_with_file_line_column_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "bad.toml",
        &RUST_ONLY.replace("attempts = 8", "attempts = 8\nretries = 3"),
    );
    let out = harness().arg("validate").arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    let expected = format!(
        "{}:13:1: unknown field `retries`, expected one of `kind`, `attempts`, `interval`, `backoff`, `continue_after_success`, `call_timeout`",
        path.display()
    );
    assert_eq!(stderr.trim_end(), expected);

    let out = harness().arg("run").arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "run refuses bad input too");
}

#[test]
fn validate_accepts_the_builtin_suite() {
    let out = harness()
        .arg("validate")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout)
        .contains("trap-refuse.toml: ok (16 cells, 12 expectations)"));
}

#[test]
fn exit_status_follows_expectations() {
    let dir = tempfile::tempdir().unwrap();
    let holds = write(dir.path(), "holds.toml", RUST_ONLY);
    let json = dir.path().join("report.json");
    let out = harness()
        .arg("run")
        .arg(&holds)
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("1 passed, 0 failed"), "{stdout}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["passed"], true);
    assert_eq!(report["cells"][0]["ran"]["verdict"]["recovered"], true);

    let broken = write(
        dir.path(),
        "broken.toml",
        &RUST_ONLY.replace("recovers = true", "recovers = false"),
    );
    let out = harness().arg("run").arg(&broken).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("expected no recovery, but attempt"),
        "{stdout}"
    );
}

/// A driver whose toolchain is missing (here: no Python where the venv should be) is a
/// skip, not a failure: the table, JSON and JUnit (`<skipped>`) say so with the install
/// command, the summary counts it, the run exits 0 — and 2 under `--require-all-drivers`.
#[test]
fn a_missing_driver_is_skipped_and_require_all_drivers_makes_it_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "boto.toml",
        &RUST_ONLY.replace("[\"rust-sdk\"]", "[\"rust-sdk\", \"boto3\"]"),
    );
    let run = |extra: &[&str]| {
        harness()
            .arg("run")
            .arg(&path)
            .arg("--python")
            .arg(dir.path().join("no-such-python"))
            .args(extra)
            .output()
            .unwrap()
    };
    let junit = dir.path().join("junit.xml");
    let json = dir.path().join("report.json");
    let out = run(&[
        "--junit",
        junit.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("○ skipped"), "{stdout}");
    assert!(
        stdout.contains("install it with: ./scripts/setup"),
        "{stdout}"
    );
    assert!(stdout.contains("1 passed, 0 failed, 1 skipped"), "{stdout}");
    let junit = std::fs::read_to_string(&junit).unwrap();
    assert!(junit.contains("<skipped"), "{junit}");
    assert!(junit.contains("./scripts/setup"), "{junit}");
    let json = std::fs::read_to_string(&json).unwrap();
    assert!(json.contains("\"skipped\""), "{json}");
    assert!(json.contains("\"install\""), "{json}");

    let out = run(&["--require-all-drivers"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--require-all-drivers"));
}

/// Without the Go toolchain or Ruby, the go-v2, go-v1 and ruby cells are skipped, naming
/// the Debian packages to install, and `--require-all-drivers` makes that exit 2 (here
/// `PATH` has neither `go` nor `ruby`, and the cache is empty, so nothing built earlier is
/// found).
#[test]
fn missing_go_or_ruby_is_a_skip_naming_the_install_command() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "native.toml",
        &RUST_ONLY.replace("[\"rust-sdk\"]", "[\"go-v2\", \"go-v1\", \"ruby\"]"),
    );
    let out = harness()
        .arg("run")
        .arg(&path)
        .env("PATH", dir.path())
        .env("IMDS_HARNESS_CACHE", dir.path().join("cache"))
        .arg("--require-all-drivers")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", support::text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("skipped"), "{}", support::text(&out));
    for install in [
        "apt-get install golang-go golang-github-aws-aws-sdk-go-v2-dev",
        "apt-get install golang-go golang-github-aws-aws-sdk-go-dev",
        "apt-get install ruby ruby-aws-sdk-core",
    ] {
        assert!(
            stdout.contains(install),
            "{install}: {}",
            support::text(&out)
        );
    }
}

/// A Ruby cell needs its mock IMDS on `127.0.0.N:80` (aws-sdk-core 3.168.1 ignores the
/// endpoint's port): without the right to bind port 80 it is a setup error that says so.
/// As root the harness runs as `nobody` (setpriv); otherwise as the user running the test.
#[test]
fn ruby_cell_without_port_80_is_a_setup_error_saying_why() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = write(
        dir.path(),
        "ruby.toml",
        &RUST_ONLY.replace("[\"rust-sdk\"]", "[\"ruby\"]"),
    );
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    // SAFETY: geteuid has no preconditions and cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    let mut cmd = if root {
        let mut c = std::process::Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(env!("CARGO_BIN_EXE_imds-harness"));
        c
    } else {
        harness()
    };
    let out = cmd
        .arg("run")
        .arg(&path)
        .env("HOME", dir.path())
        .env("IMDS_HARNESS_CACHE", dir.path().join("cache"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{}", support::text(&out));
    assert!(
        stdout.contains("ignores the IMDS endpoint's port and connects to port 80")
            && stdout.contains(":80, which was refused")
            && stdout.contains("run as root (or grant CAP_NET_BIND_SERVICE)"),
        "{}",
        support::text(&out)
    );
}

/// Ruby cells take the next free `127.0.0.N:80`: with every address but one held by
/// another socket the cell runs on that one; with all of them held it is a setup error.
/// Needs root (port 80); as another user the test has nothing to hold and returns.
#[test]
fn ruby_cells_skip_taken_loopback_addresses() {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!(
            "not root: ruby_cell_without_port_80_is_a_setup_error_saying_why covers this user"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "ruby-up.toml",
        "[matrix]\ndrivers = [\"ruby\"]\nstrategies = [\"call-retry\"]\n\
         [strategy.call-retry]\nattempts = 2\ninterval = \"200ms\"\n\
         [[expect]]\nrecovers = true\n",
    );
    let mut held: Vec<(u8, std::net::TcpListener)> = (2..=254u8)
        .map(|n| {
            let l = std::net::TcpListener::bind(("127.0.0.".to_string() + &n.to_string(), 80))
                .unwrap_or_else(|e| panic!("127.0.0.{n}:80 is in use already: {e}"));
            (n, l)
        })
        .collect();
    let run = || harness().arg("run").arg(&path).output().unwrap();
    let out = run();
    assert_eq!(out.status.code(), Some(2), "{}", support::text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("every loopback address 127.0.0.2-254 is taken on port 80"),
        "{}",
        support::text(&out)
    );
    held.retain(|(n, _)| *n != 77);
    let out = run();
    assert_eq!(out.status.code(), Some(0), "{}", support::text(&out));
}

/// A cell whose premise did not hold is inconclusive — a harness result, never an SDK
/// verdict — in the table, the JSON report and JUnit (as an error), and the run fails.
/// Here IMDS delays its answers by 500 ms for the first 100 ms: the Rust SDK's first token
/// request arrives during the outage and is answered at ~500 ms, so the requests after it
/// (the role listing, the document) necessarily arrive after IMDS is back up, before the
/// first call returns.
#[test]
fn an_unmet_premise_is_inconclusive_in_every_report() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "blip.toml",
        r#"
[[schedule]]
at = "0s"
state = "latency(500ms)"
[[schedule]]
at = "100ms"
state = "up"
[matrix]
drivers = ["rust-sdk"]
strategies = ["call-retry"]
[strategy.call-retry]
attempts = 1
[[expect]]
recovers = true
premise = "resolved-during-outage"
"#,
    );
    let json = dir.path().join("r.json");
    let junit = dir.path().join("r.xml");
    let out = harness()
        .arg("run")
        .arg(&path)
        .arg("--json")
        .arg(&json)
        .arg("--junit")
        .arg(&junit)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("? inconclusive"), "{stdout}");
    assert!(
        stdout.contains(
            "? blip rust-sdk/call-retry inconclusive: premise resolved-during-outage does not hold"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("1 inconclusive (harness results, not SDK verdicts)"),
        "{stdout}"
    );
    assert!(stdout.contains("0 passed, 1 failed"), "{stdout}");

    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["passed"], false);
    let why = &report["cells"][0]["ran"]["inconclusive"];
    assert_eq!(why.as_array().map(Vec::len), Some(1), "{why}");
    assert!(
        why[0]
            .as_str()
            .unwrap()
            .contains("premise resolved-during-outage"),
        "{why}"
    );

    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains(r#"<error message="inconclusive: premise resolved-during-outage"#),
        "{xml}"
    );
    assert!(xml.contains(r#"type="inconclusive""#), "{xml}");
    assert!(!xml.contains("<failure"), "{xml}");
}

/// The README's `command` example, run as a user would: the scenario named by a relative
/// path, its `../` words taken relative to the scenario's folder (and made absolute: the
/// driver runs in its own temporary HOME).
#[test]
fn a_command_driver_with_relative_paths_runs_from_a_relative_scenario_path() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("scenarios")).unwrap();
    std::fs::create_dir_all(dir.path().join("examples/driver")).unwrap();
    std::fs::copy(
        support::root().join("examples/driver/reference_driver.py"),
        dir.path().join("examples/driver/reference_driver.py"),
    )
    .unwrap();
    std::os::unix::fs::symlink(support::root().join(".venv"), dir.path().join(".venv")).unwrap();
    write(
        &dir.path().join("scenarios"),
        "mine.toml",
        &format!(
            "{}[driver.mine]\ncommand = [\"../.venv/bin/python\", \"../examples/driver/reference_driver.py\"]\n",
            RUST_ONLY
                .replace("[\"rust-sdk\"]", "[\"mine\"]")
                .replace("call-retry", "client-retry")
        ),
    );
    let out = harness()
        .current_dir(dir.path())
        .args(["run", "scenarios/mine.toml"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("mine: reference botocore 1.43.11"),
        "{stdout}"
    );
}
