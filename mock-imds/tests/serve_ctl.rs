//! `mock-imds serve` + `mock-imds ctl down/up` reproduce the boto3 trap with a plain
//! Python script (examples/trap_worker.py), as the README shows step by step.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

struct Killed(Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn ctl(port: &str, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_mock-imds"))
        .args(["ctl", "--control-port", port])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ctl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn serve_and_ctl_reproduce_the_trap_with_a_plain_python_script() {
    // The same Python the harness uses: $IMDS_HARNESS_PYTHON, else the project's venv.
    let python = std::env::var_os("IMDS_HARNESS_PYTHON")
        .map_or_else(|| root().join(".venv/bin/python"), std::path::PathBuf::from);
    assert!(
        python.exists(),
        "run scripts/setup first: {} is missing",
        python.display()
    );
    let events_file = tempfile::NamedTempFile::new().unwrap();
    let mut serve = Killed(
        Command::new(env!("CARGO_BIN_EXE_mock-imds"))
            .args([
                "serve",
                "--port",
                "0",
                "--sts-port",
                "0",
                "--control-port",
                "0",
                "--events",
            ])
            .arg(events_file.path())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut lines = BufReader::new(serve.0.stdout.take().unwrap()).lines();
    let mut exports = Vec::new();
    let mut control_port = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(url) = line.strip_prefix("control endpoint: ") {
            control_port = url.trim().rsplit(':').next().unwrap().to_string();
        }
        if let Some(assignments) = line.strip_prefix("export ") {
            exports.extend(assignments.split_whitespace().map(|a| {
                let (k, v) = a.split_once('=').unwrap();
                (k.to_string(), v.to_string())
            }));
        }
        if line.starts_with("unset ") {
            break;
        }
    }
    assert!(
        !control_port.is_empty() && exports.len() >= 3,
        "{exports:?}"
    );

    assert_eq!(ctl(&control_port, &["down"]).trim(), "state: refuse");
    let home = tempfile::tempdir().unwrap();
    let mut worker = Killed(
        Command::new(&python)
            .arg(root().join("examples/trap_worker.py"))
            .args(["--iterations", "8", "--interval", "0.25"])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", home.path())
            .envs(exports)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut out = BufReader::new(worker.0.stdout.take().unwrap()).lines();
    let first = out.next().unwrap().unwrap();
    assert_eq!(
        first,
        "client created at start-up; credentials resolved: False"
    );
    let round1 = out.next().unwrap().unwrap();
    assert!(
        round1.contains("same client: NoCredentialsError")
            && round1.contains("new client: NoCredentialsError"),
        "{round1}"
    );

    assert_eq!(ctl(&control_port, &["up"]).trim(), "state: up");
    let rest: Vec<String> = out.map(|l| l.unwrap()).collect();
    assert_eq!(rest.len(), 7, "{rest:?}");
    assert!(
        rest.iter()
            .all(|l| l.contains("same client: NoCredentialsError")),
        "{rest:#?}"
    );
    let last = rest.last().unwrap();
    assert!(last.contains("new client: ok (ASIAMOCK"), "{rest:#?}");

    let events = ctl(&control_port, &["events"]);
    assert!(
        events
            .lines()
            .any(|l| l.contains("\"result\":\"accepted\"")),
        "{events}"
    );

    // --events streams the same events as NDJSON, one JSON object per line.
    let streamed = std::fs::read_to_string(events_file.path()).unwrap();
    let parsed: Vec<serde_json::Value> = streamed
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        parsed
            .iter()
            .any(|e| e["type"] == "sts-request" && e["result"] == "accepted"),
        "{streamed}"
    );
    assert!(
        parsed
            .iter()
            .any(|e| e["type"] == "transition" && e["state"] == "refuse"),
        "{streamed}"
    );
}
