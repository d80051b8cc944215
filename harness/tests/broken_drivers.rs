//! Crashing, hanging and babbling drivers, black-box through the `imds-harness` binary.
//!
//! Each test writes a small shell script that poses as Python (`--python`): the harness
//! runs it as `SCRIPT -I boto3_driver.py` and speaks the JSON-lines protocol of
//! `drivers/boto3_driver.py` to it. The scenario also has a `rust-sdk` cell, which must
//! run and pass whatever the boto3 child does. Afterwards:
//! - the broken cell is a setup error (could not start) or a driver error (broke
//!   mid-run) with the child's stderr in the message, and the exit status is the one
//!   `src/main.rs` documents (2 for setup errors, 1 for driver errors);
//! - nothing the child started outlives the harness: no process whose command line has
//!   the test's unique marker (the script's directory name), and no process left in the
//!   child's process group (the scripts record their pid, which is their group id);
//! - no temporary `imds-harness-boto3-*` home is left (the harness runs with `TMPDIR`
//!   pointed into the test's directory).
//!
//! Waits are on events (a file the script writes, the harness exiting, processes gone),
//! each with a generous deadline that only turns a hang into a failure.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use support::text;

/// Turns a hang into a failure; nothing is expected to come near it.
const DEADLINE: Duration = Duration::from_secs(120);

const GREETING: &str = r#"echo '{"ready": true, "boto3": "fake", "botocore": "fake"}'"#;

/// A rust-sdk cell that recovers and a boto3 cell (the fake) in one scenario.
const SCENARIO: &str = r#"
description = "one healthy rust-sdk cell next to a broken boto3 driver"
[[schedule]]
at = "0s"
state = "refuse"
[[schedule]]
at = "300ms"
state = "up"
[matrix]
drivers = ["rust-sdk", "boto3"]
strategies = ["call-retry"]
[strategy.call-retry]
attempts = 8
interval = "200ms"
[[expect]]
driver = "rust-sdk"
recovers = true
"#;

/// A test's directory: the fake python, the scenario, the harness's TMPDIR, and the
/// files the script writes. Its name is the marker searched for with `pgrep -f`.
struct Fixture {
    dir: tempfile::TempDir,
    marker: String,
}

impl Fixture {
    /// `body` is the script after the pid bookkeeping; `$STATE` is the fixture directory.
    fn new(body: &str) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("fakepy-")
            .tempdir()
            .unwrap();
        let marker = dir
            .path()
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        let state = dir.path().display().to_string();
        let script = format!(
            "#!/bin/sh\nSTATE='{state}'\nif [ \"$1\" = grandchild ]; then\n  trap '' HUP INT TERM\n  while :; do sleep 1; done\nfi\necho $$ >> \"$STATE/pids\"\necho \"$HOME\" >> \"$STATE/homes\"\n{body}\n"
        );
        let python = dir.path().join("python");
        std::fs::write(&python, script).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&python, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        std::fs::write(dir.path().join("scenario.toml"), SCENARIO).unwrap();
        std::fs::create_dir(dir.path().join("tmp")).unwrap();
        Self { dir, marker }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn harness(&self, extra: &[&str]) -> Command {
        let mut cmd = support::harness();
        cmd.arg("run")
            .arg(self.path("scenario.toml"))
            .arg("--python")
            .arg(self.path("python"))
            .arg("--json")
            .arg(self.path("report.json"))
            .args(extra)
            .env("TMPDIR", self.path("tmp"))
            .env_remove("IMDS_HARNESS_OPERATION_TIMEOUT")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    fn run(&self, extra: &[&str]) -> Output {
        let child = self.harness(extra).spawn().unwrap();
        let pid = child.id();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(child.wait_with_output());
        });
        match rx.recv_timeout(DEADLINE) {
            Ok(out) => out.unwrap(),
            Err(_) => {
                let _ = Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
                panic!("imds-harness did not finish within {DEADLINE:?}");
            }
        }
    }

    fn report(&self) -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(self.path("report.json")).unwrap()).unwrap()
    }

    fn lines(&self, name: &str) -> Vec<String> {
        std::fs::read_to_string(self.path(name))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// Waits until nothing the fake started is alive; fails (after killing the
    /// leftovers, which are this test's own) if something outlives the deadline.
    fn assert_no_survivors(&self) {
        let groups = self.lines("pids");
        assert!(!groups.is_empty(), "the fake python never ran");
        let started = Instant::now();
        loop {
            let mut alive = pgrep(&["-f", &self.marker]);
            for group in &groups {
                alive.extend(pgrep(&["-g", group]));
            }
            if alive.is_empty() {
                break;
            }
            if started.elapsed() > DEADLINE {
                for pid in &alive {
                    let _ = Command::new("kill").args(["-KILL", pid]).status();
                }
                panic!("driver processes outlived the harness: {alive:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn assert_homes_removed(&self) {
        let homes = self.lines("homes");
        assert!(!homes.is_empty(), "the fake python never ran");
        for home in homes {
            assert!(
                home.contains("imds-harness-boto3-"),
                "HOME is the temporary home: {home}"
            );
            assert!(!Path::new(&home).exists(), "{home} was left behind");
        }
        let left: Vec<_> = std::fs::read_dir(self.path("tmp"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(left.is_empty(), "left in TMPDIR: {left:?}");
    }
}

fn pgrep(args: &[&str]) -> Vec<String> {
    let out = Command::new("pgrep").args(args).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// The report's cells by driver: the rust-sdk one passed, the boto3 one is returned.
fn boto3_cell_next_to_a_passing_rust_cell(report: &serde_json::Value) -> serde_json::Value {
    let cells = report["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 2, "{report:#}");
    let rust = cells.iter().find(|c| c["driver"] == "rust-sdk").unwrap();
    let ran = &rust["ran"];
    assert_eq!(ran["verdict"]["recovered"], true, "{rust:#}");
    assert!(
        ran["checks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["failures"].as_array().unwrap().is_empty()),
        "{rust:#}"
    );
    assert_eq!(report["passed"], false);
    cells
        .iter()
        .find(|c| c["driver"] == "boto3")
        .unwrap()
        .clone()
}

#[test]
fn a_driver_that_exits_at_once_is_a_setup_error_with_its_stderr() {
    let fx = Fixture::new("echo 'ImportError: No module named boto3 (fake, stderr)' >&2\nexit 3");
    let out = fx.run(&[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let cell = boto3_cell_next_to_a_passing_rust_cell(&fx.report());
    let message = cell["setup-error"]
        .as_str()
        .unwrap_or_else(|| panic!("{cell:#}"));
    assert!(
        message.contains("ImportError: No module named boto3 (fake, stderr)"),
        "{message}"
    );
    assert!(message.contains("exited"), "{message}");
    fx.assert_no_survivors();
    fx.assert_homes_removed();
}

#[test]
fn a_driver_that_babbles_after_the_greeting_is_a_driver_error() {
    let fx = Fixture::new(&format!(
        "{GREETING}\necho 'babbling on stderr' >&2\necho 'this is not JSON'\nwhile read -r line; do echo '{{{{{{'; done"
    ));
    let out = fx.run(&[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let cell = boto3_cell_next_to_a_passing_rust_cell(&fx.report());
    let message = cell["driver-error"]
        .as_str()
        .unwrap_or_else(|| panic!("{cell:#}"));
    assert!(message.contains("not JSON"), "{message}");
    assert!(message.contains("this is not JSON"), "{message}");
    assert!(message.contains("babbling on stderr"), "{message}");
    fx.assert_no_survivors();
    fx.assert_homes_removed();
}

#[test]
fn a_driver_that_prints_an_endless_line_is_stopped_at_the_line_limit() {
    // `yes | tr` are grandchildren: only killing the process group stops them.
    let fx = Fixture::new(&format!(
        "{GREETING}\necho 'about to flood' >&2\nyes garbage | tr -d '\\n'"
    ));
    let out = fx.run(&[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let cell = boto3_cell_next_to_a_passing_rust_cell(&fx.report());
    let message = cell["driver-error"]
        .as_str()
        .unwrap_or_else(|| panic!("{cell:#}"));
    assert!(message.contains("longer than 1048576 bytes"), "{message}");
    assert!(message.contains("about to flood"), "{message}");
    fx.assert_no_survivors();
    fx.assert_homes_removed();
}

#[test]
fn a_driver_that_crashes_on_the_first_request_is_a_driver_error_with_its_traceback() {
    let fx = Fixture::new(&format!(
        "{GREETING}\nread -r request\necho \"Traceback (most recent call last): fake crash on $request\" >&2\nexit 1"
    ));
    let out = fx.run(&[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let cell = boto3_cell_next_to_a_passing_rust_cell(&fx.report());
    let message = cell["driver-error"]
        .as_str()
        .unwrap_or_else(|| panic!("{cell:#}"));
    assert!(message.contains("exited"), "{message}");
    assert!(
        message.contains("Traceback (most recent call last): fake crash on {"),
        "{message}"
    );
    assert!(message.contains(r#""op":"configure""#), "{message}");
    fx.assert_no_survivors();
    fx.assert_homes_removed();
}

#[test]
fn a_driver_that_hangs_is_killed_at_the_operation_timeout_with_its_grandchildren() {
    // After the greeting: start a grandchild that ignores SIGHUP/SIGINT/SIGTERM (only
    // killing the group stops it), then never answer.
    let fx = Fixture::new(&format!(
        "{GREETING}\n\"$0\" grandchild &\necho 'hanging now' >&2\ntrap '' HUP INT TERM\nwhile :; do sleep 1; done"
    ));
    let out = fx.run(&["--operation-timeout", "2s"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let cell = boto3_cell_next_to_a_passing_rust_cell(&fx.report());
    let message = cell["driver-error"]
        .as_str()
        .unwrap_or_else(|| panic!("{cell:#}"));
    assert!(message.contains("no answer within 2s"), "{message}");
    assert!(message.contains("hanging now"), "{message}");
    fx.assert_no_survivors();
    fx.assert_homes_removed();
}

#[test]
fn the_operation_timeout_can_come_from_the_environment_and_bad_values_are_refused() {
    let fx = Fixture::new(&format!("{GREETING}\nwhile :; do sleep 1; done"));
    let mut cmd = fx.harness(&[]);
    cmd.env("IMDS_HARNESS_OPERATION_TIMEOUT", "1500ms");
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let cell = boto3_cell_next_to_a_passing_rust_cell(&fx.report());
    let message = cell["driver-error"]
        .as_str()
        .unwrap_or_else(|| panic!("{cell:#}"));
    assert!(message.contains("no answer within 1s 500ms"), "{message}");
    fx.assert_no_survivors();

    for bad in ["0s", "soon", "-1s"] {
        let out = fx.run(&[&format!("--operation-timeout={bad}")]);
        assert_eq!(out.status.code(), Some(2), "{bad}: {}", text(&out));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("--operation-timeout"),
            "{bad}: {}",
            text(&out)
        );
    }
}

#[test]
fn ctrl_c_kills_the_drivers_and_removes_their_homes() {
    // The fake signals (a file) once the harness is mid-cell, waiting on it.
    let fx = Fixture::new(&format!(
        "{GREETING}\n\"$0\" grandchild &\nread -r request\ntouch \"$STATE/waiting\"\nwhile :; do sleep 1; done"
    ));
    let mut child = fx
        .harness(&["--operation-timeout", "300s"])
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !fx.path("waiting").exists() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the harness ended before the driver was mid-cell: {status}");
        }
        assert!(
            started.elapsed() < DEADLINE,
            "the driver never got a request"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > DEADLINE {
            let _ = child.kill();
            panic!("the harness did not stop on SIGINT");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = child.wait_with_output().unwrap();
    assert_eq!(status.code(), Some(130), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("interrupted"),
        "{}",
        text(&out)
    );
    fx.assert_no_survivors();
    fx.assert_homes_removed();
}
