//! `mock-imds serve --print-endpoints json --stop-on-stdin-eof`: what the Python and Node
//! clients (python/, node/mock-imds/) start. The one JSON line names endpoints that
//! answer, and closing stdin stops the server (bounded waits only).

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Instant;

mod support;
use support::{KillOnDrop, WAIT};

#[test]
fn the_json_line_names_live_endpoints_and_closing_stdin_stops_serve() {
    let mut serve = KillOnDrop(
        support::serve_on_free_ports()
            .args(["--print-endpoints", "json", "--stop-on-stdin-eof"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    BufReader::new(serve.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let printed: serde_json::Value =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not one JSON line ({e}): {line:?}"));
    let control: std::net::SocketAddr = printed["control"]
        .as_str()
        .unwrap()
        .trim_start_matches("http://")
        .parse()
        .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let state = runtime
        .block_on(mock_imds::ControlClient::new(control).state())
        .unwrap();
    assert_eq!(printed["seed"], state.seed);
    assert_eq!(printed["state"], "up");
    let imds = printed["imds"].as_str().unwrap();
    assert_eq!(
        printed["env"]["AWS_EC2_METADATA_SERVICE_ENDPOINT"],
        format!("{imds}/")
    );
    assert_eq!(printed["env"]["AWS_ENDPOINT_URL_STS"], printed["sts"]);
    assert!(printed["unset"]
        .as_array()
        .unwrap()
        .contains(&"AWS_ACCESS_KEY_ID".into()));

    drop(serve.0.stdin.take());
    let deadline = Instant::now() + WAIT;
    let status = loop {
        if let Some(status) = serve.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "serve still running {WAIT:?} after its stdin closed"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert!(status.success(), "serve exited with {status}");
}
