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
