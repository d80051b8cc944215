//! Helpers shared by the end-to-end tests.

#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The project's venv Python (created by `scripts/setup`). Its absence is an error, not a
/// skip: the README's test command sets it up first.
pub fn python() -> PathBuf {
    let python = harness::paths::default_python();
    assert!(
        python.exists(),
        "{} is missing: run scripts/setup (the README's test command does) to create the venv with the pinned boto3",
        python.display()
    );
    python
}

/// The workspace root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Sends raw HTTP/1.1 bytes on `stream` and reads one response: `(status, headers+body)`.
/// Returns `None` when the connection is closed without an answer, or nothing arrives
/// within `wait`.
pub async fn exchange(
    stream: &mut TcpStream,
    request: &str,
    wait: Duration,
) -> Option<(u16, String)> {
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let read = async {
        loop {
            let n = stream.read(&mut chunk).await.ok()?;
            if n == 0 {
                return if buf.is_empty() { None } else { Some(()) };
            }
            buf.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&buf);
            if let Some(head_end) = text.find("\r\n\r\n") {
                let head = &text[..head_end].to_ascii_lowercase();
                let length = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    .unwrap_or(0);
                if buf.len() >= head_end + 4 + length {
                    return Some(());
                }
            }
        }
    };
    tokio::time::timeout(wait, read).await.ok()??;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, text))
}

/// A GET request for `path` with optional extra header lines.
pub fn get(path: &str, extra: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: 169.254.169.254\r\n{extra}\r\n")
}
