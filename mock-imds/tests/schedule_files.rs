//! Schedule files with seeded generators through the binary: `mock-imds serve --schedule`
//! expands them with the file's seed (or `--seed`), and `mock-imds ctl schedule` posts
//! the same steps; bad files are refused with FILE:LINE:COLUMN.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::Stdio;

use mock_imds::{MockImds, ScheduleFile};

mod support;
use support::KillOnDrop;

const FLAP: &str = "seed = 5\n[[generate]]\nkind = \"flap\"\nfault = \"status(500) on token\"\ndown = [\"20s\", \"30s\"]\nup = [\"20s\", \"30s\"]\nuntil = \"1m\"\n";

fn file(text: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
    std::io::Write::write_all(&mut file, text.as_bytes()).unwrap();
    file
}

/// The first lines `mock-imds serve ARGS` prints (its banner), then it is killed.
fn serve_banner(args: &[&str]) -> Vec<String> {
    let mut child = support::serve_on_free_ports()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let _killed = KillOnDrop(child);
    BufReader::new(stdout)
        .lines()
        .take(4)
        .map(|l| l.unwrap())
        .collect()
}

#[test]
fn serve_runs_a_generated_schedule_from_the_files_seed() {
    let flap = file(FLAP);
    let banner = serve_banner(&["--schedule", flap.path().to_str().unwrap()]);
    // A flap starts down: the generator's fault is the state at zero, and the mock's
    // seed is the file's.
    assert!(
        banner[3].starts_with("state: status(500) on token   seed: 5 "),
        "{banner:?}"
    );
    let banner = serve_banner(&["--schedule", flap.path().to_str().unwrap(), "--seed", "9"]);
    assert!(banner[3].contains("seed: 9 "), "{banner:?}");
}

#[test]
fn bad_schedule_files_are_refused_with_their_position() {
    let bad = file("[[generate]]\nkind = \"flip\"\nfault = \"reset\"\n");
    let out = support::serve_on_free_ports()
        .args(["--schedule", bad.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let expected = format!(
        "error: {}:2:8: unknown generator kind `flip`",
        bad.path().display()
    );
    assert!(stderr.starts_with(&expected), "{stderr}");
}

/// A key of the other generator kind is an error naming the kind and its keys, not
/// ignored.
#[test]
fn keys_of_the_other_generator_kind_are_refused() {
    for (text, says) in [
        (
            "[[generate]]\nkind = \"flap\"\nfault = \"reset\"\ndown = [\"1s\", \"1s\"]\nup = [\"1s\", \"1s\"]\nuntil = \"5s\"\ncount = 3\n",
            "`count` is not a key of a `flap` generator (it is a `random-outages` key); a `flap` generator takes kind, fault, down, up, until",
        ),
        (
            "[[generate]]\nkind = \"random-outages\"\nfault = \"reset\"\ncount = 1\nduration = [\"1s\", \"1s\"]\nwithin = \"5s\"\nuntil = \"5s\"\n",
            "`until` is not a key of a `random-outages` generator (it is a `flap` key); a `random-outages` generator takes kind, fault, count, duration, within",
        ),
    ] {
        let bad = file(text);
        // Bounded: a serve that accepted the file would serve until killed.
        let mut child = KillOnDrop(
            support::serve_on_free_ports()
                .args(["--schedule", bad.path().to_str().unwrap()])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap(),
        );
        let started = std::time::Instant::now();
        let status = loop {
            if let Some(status) = child.0.try_wait().unwrap() {
                break status;
            }
            assert!(
                started.elapsed() < support::WAIT,
                "serve accepted the file and is serving: {says}"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        let mut stderr = String::new();
        std::io::Read::read_to_string(&mut child.0.stderr.take().unwrap(), &mut stderr).unwrap();
        assert_eq!(status.code(), Some(2), "{stderr}");
        let expected = format!("error: {}:1:1: {says}", bad.path().display());
        assert!(stderr.starts_with(&expected), "{stderr}");
    }
}

#[tokio::test]
async fn ctl_posts_the_generated_steps() {
    let imds = MockImds::builder()
        .control(SocketAddr::from(([127, 0, 0, 1], 0)))
        .start()
        .await
        .unwrap();
    let port = imds
        .control_endpoint()
        .unwrap()
        .rsplit(':')
        .next()
        .unwrap()
        .to_string();
    let flap = file(FLAP);
    let expected = ScheduleFile::parse(FLAP).unwrap().expand(5).unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_mock-imds"))
        .args(["ctl", "--control-port", &port, "schedule", "--json"])
        .arg(flap.path())
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("{{\"steps\":{}}}", expected.steps().len())
    );
}
