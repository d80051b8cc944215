//! Every `mock-imds` subcommand with its stdout already closed (`mock-imds ctl events |
//! head -2`): it ends quietly — its usual status, no panic, no backtrace — or, for
//! `serve`, serves on until Ctrl-C. The subcommands are read from `--help`, so a new one
//! without a case here fails the test.

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

mod support;
use support::KillOnDrop;

fn mock() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mock-imds"))
}

/// Runs `cmd` with a stdout whose reader has gone: every write gets EPIPE.
fn closed_stdout(mut cmd: Command) -> Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    cmd.stdout(writer).stderr(Stdio::piped()).output().unwrap()
}

fn quiet(what: &str, out: &Output, code: i32) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
        "{what}: {stderr}"
    );
    assert_eq!(out.status.code(), Some(code), "{what}: {stderr}");
}

/// The subcommands `--help` lists.
fn subcommands() -> Vec<String> {
    let help = String::from_utf8(mock().arg("--help").output().unwrap().stdout).unwrap();
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

fn send_sigint(pid: u32) {
    let status = Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn every_subcommand_ends_quietly_when_stdout_closes() {
    // A mock for ctl and load to talk to, its stdout read as usual.
    let mut serve = KillOnDrop(
        support::serve_on_free_ports()
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let (mut imds_port, mut control_port) = (String::new(), String::new());
    for line in BufReader::new(serve.0.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        let port = || {
            line.trim()
                .rsplit(':')
                .next()
                .unwrap()
                .trim_end_matches('/')
                .to_string()
        };
        if line.starts_with("IMDS endpoint:") {
            imds_port = port();
        }
        if line.starts_with("control endpoint:") {
            control_port = port();
        }
        if line.starts_with("unset ") {
            break;
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let schedule = dir.path().join("s.toml");
    std::fs::write(&schedule, "[[schedule]]\nat = \"0s\"\nstate = \"up\"\n").unwrap();

    let mut covered = vec!["help".to_string()];
    for (what, code) in [
        (vec!["--help"], 0),
        (vec!["--version"], 0),
        (vec!["help"], 0),
        (vec!["ctl", "--help"], 0),
    ] {
        let mut cmd = mock();
        cmd.args(&what);
        quiet(&format!("{what:?}"), &closed_stdout(cmd), code);
    }
    let ctl_cases: [&[&str]; 8] = [
        &["down"],
        &["fault", "blackhole"],
        &["clear", "listener"],
        &["clear"],
        &["up"],
        &["state"],
        &["schedule", schedule.to_str().unwrap()],
        &["events"],
    ];
    for args in ctl_cases {
        let mut cmd = mock();
        cmd.args(["ctl", "--control-port", &control_port])
            .args(args);
        quiet(&format!("ctl {args:?}"), &closed_stdout(cmd), 0);
    }
    covered.push("ctl".into());

    let mut cmd = mock();
    cmd.args([
        "load",
        "--port",
        &imds_port,
        "--control-port",
        &control_port,
        "--connections",
        "4",
        "--requests",
        "50",
    ]);
    quiet("load", &closed_stdout(cmd), 0);
    covered.push("load".into());

    // serve: serves on with nobody reading, and Ctrl-C ends it as usual.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let child = support::serve_on_free_ports()
        .stdout(writer)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = KillOnDrop(child);
    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(500) {
        assert!(
            child.0.try_wait().unwrap().is_none(),
            "serve ended with stdout closed"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    send_sigint(child.0.id());
    let status = child.0.wait().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.0.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(!stderr.contains("panicked"), "serve: {stderr}");
    assert_eq!(status.code(), Some(0), "serve: {stderr}");
    covered.push("serve".into());

    let mut all = subcommands();
    all.sort();
    covered.sort();
    assert_eq!(all, covered, "every subcommand has a case here");
}
