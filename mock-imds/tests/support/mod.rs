//! What the mock-imds integration tests share: the workspace root, a child process that
//! is killed when dropped, one raw HTTP GET, and control API calls through
//! [`ControlClient`]. Each test file that needs them says `mod support;`.

// Every test binary uses a different part of this module.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Child;
use std::time::Duration;

use mock_imds::ControlClient;

/// Generous bound on anything that should happen promptly (a loaded 2-core machine).
pub const WAIT: Duration = Duration::from_secs(10);

/// The workspace root (where `scripts/`, `.venv` and `examples/` are).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("mock-imds sits in the workspace")
        .to_path_buf()
}

/// A child process, killed and reaped when dropped.
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One `GET path` on a fresh connection (`Connection: close`), raw over TCP: the status,
/// or how it failed; bounded by [`WAIT`].
pub async fn raw_get(addr: SocketAddr, path: &str) -> Result<u16, String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let exchange = async {
        let mut conn = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        conn.write_all(
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await
        .map_err(|e| format!("write: {e}"))?;
        let mut answer = Vec::new();
        conn.read_to_end(&mut answer)
            .await
            .map_err(|e| format!("read: {e}"))?;
        let text = String::from_utf8_lossy(&answer);
        text.split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("no HTTP answer: {text:?}"))
    };
    tokio::time::timeout(WAIT, exchange)
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {WAIT:?}")))
}

/// A control API call with `body` as written (empty for none): the status and the
/// answer as JSON.
pub async fn call(
    client: &ControlClient,
    method: &str,
    path: &str,
    body: &str,
) -> (u16, serde_json::Value) {
    let method = http::Method::from_bytes(method.as_bytes()).expect("an HTTP method");
    let (status, bytes) = client
        .send(method, path, body.to_string().into())
        .await
        .expect("the control API answers");
    (
        status.as_u16(),
        serde_json::from_slice(&bytes).expect("a JSON answer"),
    )
}

/// A `mock-imds serve` child on free loopback ports, killed when dropped; its endpoints
/// read from the one line `--print-endpoints json` prints.
pub struct Serve {
    /// The child.
    pub child: KillOnDrop,
    /// The control API's port, as `ctl --control-port` takes it.
    pub control_port: String,
    /// The line serve printed, parsed (`imds`, `sts`, `control`, `env`, …).
    pub endpoints: serde_json::Value,
}

/// `mock-imds serve --port 0 --sts-port 0 --control-port 0`: IMDS, STS and the control API
/// each on a free loopback port, so tests running at once never collide. Add the test's
/// own arguments, pipes and spawn or run it.
pub fn serve_on_free_ports() -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_mock-imds"));
    command.args([
        "serve",
        "--port",
        "0",
        "--sts-port",
        "0",
        "--control-port",
        "0",
    ]);
    command
}

impl Serve {
    /// Starts `mock-imds serve --port 0 --sts-port 0 --control-port 0 ARGS` and waits for
    /// its endpoints line.
    pub fn start(args: &[&str]) -> Serve {
        use std::io::BufRead;
        let mut child = KillOnDrop(
            serve_on_free_ports()
                .args(["--print-endpoints", "json"])
                .args(args)
                .stdout(std::process::Stdio::piped())
                .spawn()
                .expect("mock-imds serve starts"),
        );
        let mut line = String::new();
        std::io::BufReader::new(child.0.stdout.take().expect("piped stdout"))
            .read_line(&mut line)
            .expect("serve prints its endpoints");
        let endpoints: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
        let control_port = endpoints["control"]
            .as_str()
            .and_then(|url| url.trim_end_matches('/').rsplit(':').next())
            .unwrap_or_else(|| panic!("no control endpoint in {line}"))
            .to_string();
        Serve {
            child,
            control_port,
            endpoints,
        }
    }
}

/// One raw request (`text`, sent as written) on a fresh connection: every byte the mock
/// sent back until it closed, or how it failed; bounded by [`WAIT`].
pub async fn raw_exchange(addr: SocketAddr, text: &str) -> Result<Vec<u8>, String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let exchange = async {
        let mut conn = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        conn.write_all(text.as_bytes())
            .await
            .map_err(|e| format!("write: {e}"))?;
        let mut answer = Vec::new();
        conn.read_to_end(&mut answer)
            .await
            .map_err(|e| format!("read: {e}"))?;
        Ok(answer)
    };
    tokio::time::timeout(WAIT, exchange)
        .await
        .unwrap_or_else(|_| Err(format!("no end within {WAIT:?}")))
}

/// `mock-imds ctl --control-port PORT ARGS`: its stdout, or a panic with its stderr when
/// it fails.
pub fn ctl(port: &str, args: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mock-imds"))
        .args(["ctl", "--control-port", port])
        .args(args)
        .output()
        .expect("mock-imds ctl runs");
    assert!(
        out.status.success(),
        "ctl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("ctl prints UTF-8")
}

/// `ctl events`, parsed: one JSON value per event.
pub fn ctl_events(port: &str) -> Vec<serde_json::Value> {
    ctl(port, &["events"])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

impl Serve {
    /// The IMDS address serve listens on.
    pub fn imds_addr(&self) -> SocketAddr {
        let url = self.endpoints["imds"].as_str().expect("an imds endpoint");
        url.trim_start_matches("http://")
            .trim_end_matches('/')
            .parse()
            .unwrap_or_else(|e| panic!("{e}: {url}"))
    }
}
