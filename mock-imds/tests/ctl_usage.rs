//! `mock-imds ctl` as a new user meets it: the banner of `serve --control-port 0` gives
//! the `ctl` command and `MOCK_IMDS_CONTROL`; `--control-port` goes before or after the
//! subcommand; pointed at the IMDS or STS port it says so (no HTML page); `up` stops a
//! running schedule; `stop`, `reset`; `schedule` prints text (JSON with `--json`).

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

mod support;
use support::KillOnDrop;

struct Served {
    _serve: KillOnDrop,
    imds_port: String,
    sts_port: String,
    ctl_hint: String,
    control_env: (String, String),
}

fn serve() -> Served {
    let mut serve = KillOnDrop(
        support::serve_on_free_ports()
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let (mut imds_port, mut sts_port, mut ctl_hint) = (String::new(), String::new(), String::new());
    let port = |line: &str| {
        line.trim()
            .rsplit(':')
            .next()
            .unwrap()
            .trim_end_matches('/')
            .to_string()
    };
    // The banner's lines, each within a bound (a banner without the expected line would
    // otherwise leave the test waiting on a serve that never ends).
    let (tx, rx) = std::sync::mpsc::channel();
    let banner = serve.0.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(banner).lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    let control_env = loop {
        let line = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("the banner ends with `export MOCK_IMDS_CONTROL=…` within 10 s");
        if line.starts_with("IMDS endpoint:") {
            imds_port = port(&line);
        }
        if line.starts_with("STS endpoint:") {
            sts_port = port(&line);
        }
        if line.starts_with("# switch it") {
            ctl_hint = line.clone();
        }
        if let Some(kv) = line.strip_prefix("export MOCK_IMDS_CONTROL=") {
            break ("MOCK_IMDS_CONTROL".to_string(), kv.to_string());
        }
    };
    Served {
        _serve: serve,
        imds_port,
        sts_port,
        ctl_hint,
        control_env,
    }
}

fn ctl(served: &Served, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mock-imds"))
        .arg("ctl")
        .args(args)
        .env(&served.control_env.0, &served.control_env.1)
        .output()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn serve_prints_how_to_reach_its_control_api_and_ctl_reads_it() {
    let served = serve();
    let control_port = served.control_env.1.rsplit(':').next().unwrap().to_string();
    assert!(
        served
            .ctl_hint
            .contains(&format!("mock-imds ctl --control-port {control_port} ")),
        "{}",
        served.ctl_hint
    );
    // Through the environment variable alone.
    assert_eq!(stdout(&ctl(&served, &["state"])), "state: up\n");
    // --control-port before and after the subcommand.
    for args in [
        vec!["--control-port", control_port.as_str(), "down"],
        vec!["down", "--control-port", control_port.as_str()],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_mock-imds"))
            .arg("ctl")
            .args(&args)
            .env_remove("MOCK_IMDS_CONTROL")
            .output()
            .unwrap();
        assert_eq!(stdout(&out), "state: refuse\n", "{args:?}");
    }
}

#[test]
fn ctl_at_the_imds_or_sts_port_says_it_is_not_the_control_api() {
    let served = serve();
    for port in [&served.imds_port, &served.sts_port] {
        let out = ctl(&served, &["--control-port", port, "state"]);
        assert_eq!(out.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("is not a mock-imds control API: is that the IMDS or STS port?"),
            "{stderr}"
        );
        assert!(!stderr.to_lowercase().contains("<html"), "{stderr}");
    }
}

#[test]
fn up_stops_a_running_schedule_and_stop_reset_schedule_say_what_they_did() {
    let served = serve();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.toml");
    std::fs::write(
        &file,
        "[[schedule]]\nat = \"0s\"\nstate = \"up\"\n[[schedule]]\nat = \"1s\"\nstate = \"refuse\"\n",
    )
    .unwrap();
    let file = file.to_str().unwrap();

    let text = stdout(&ctl(&served, &["schedule", file]));
    assert_eq!(
        text,
        "running 2 steps from now:\n  at 0s: up\n  at 1s: refuse\n"
    );
    let state = stdout(&ctl(&served, &["state"]));
    assert!(state.contains("note: a schedule is running"), "{state}");
    let up = stdout(&ctl(&served, &["up"]));
    assert!(up.contains("(the running schedule was stopped)"), "{up}");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        stdout(&ctl(&served, &["state"])),
        "state: up\n",
        "up stays up"
    );

    let json = stdout(&ctl(&served, &["schedule", "--json", file]));
    assert_eq!(json.trim(), r#"{"steps":2}"#);
    let stopped = stdout(&ctl(&served, &["stop"]));
    assert!(stopped.starts_with("schedule stopped"), "{stopped}");
    assert!(stdout(&ctl(&served, &["stop"])).starts_with("no schedule was running"));
    stdout(&ctl(&served, &["down"]));
    stdout(&ctl(&served, &["schedule", file]));
    let reset = stdout(&ctl(&served, &["reset"]));
    assert_eq!(reset, "state: up\n(the running schedule was stopped)\n");
}
