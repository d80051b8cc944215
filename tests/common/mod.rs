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

/// How a connection attempt or an exchange ended, as a client sees it. The fault tests
/// assert one of these exactly, so a fault that ends a connection the wrong way (closes
/// instead of hanging, hangs instead of refusing) fails instead of reading as "no answer".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// `connect` failed with `ECONNREFUSED`.
    Refused,
    /// `connect` did not complete within the wait (the SYN went unanswered).
    ConnectTimedOut,
    /// A complete HTTP response arrived: its status and the raw head and body.
    Answered { status: u16, text: String },
    /// The server closed the connection (FIN) before sending a byte.
    ClosedWithoutAnswer,
    /// The server closed the connection (FIN) part-way through a response.
    ClosedMidResponse { text: String },
    /// The connection was reset (`ECONNRESET`), with whatever had arrived before.
    Reset { text: String },
    /// Nothing arrived within the wait and the connection is still open.
    NoAnswer,
    /// Part of a response arrived, then nothing more within the wait; still open.
    Incomplete { text: String },
    /// Another I/O error.
    Failed(std::io::ErrorKind),
}

impl Ending {
    /// The status of a complete answer, else `None`.
    pub fn status(&self) -> Option<u16> {
        match self {
            Ending::Answered { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// Connects to `addr`, or says how the attempt ended ([`Ending::Refused`],
/// [`Ending::ConnectTimedOut`] after `wait`, [`Ending::Failed`]).
pub async fn connect(addr: std::net::SocketAddr, wait: Duration) -> Result<TcpStream, Ending> {
    match tokio::time::timeout(wait, TcpStream::connect(addr)).await {
        Err(_) => Err(Ending::ConnectTimedOut),
        Ok(Ok(stream)) => Ok(stream),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => Err(Ending::Refused),
        Ok(Err(e)) => Err(Ending::Failed(e.kind())),
    }
}

/// The length of the complete response at the start of `buf`, if it is complete.
fn complete_response(buf: &[u8]) -> Option<usize> {
    let head_end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    (buf.len() >= head_end + length).then_some(head_end + length)
}

/// Reads from `stream` (sending nothing) until one complete response arrives, the
/// connection closes or resets, or `wait` passes, and says which.
pub async fn read_ending(stream: &mut TcpStream, wait: Duration) -> Ending {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let text = |buf: &[u8]| String::from_utf8_lossy(buf).into_owned();
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        if let Some(len) = complete_response(&buf) {
            let text = text(&buf[..len]);
            return match text.split_whitespace().nth(1).and_then(|s| s.parse().ok()) {
                Some(status) => Ending::Answered { status, text },
                None => Ending::Incomplete { text }, // not HTTP: a test failure anyway
            };
        }
        match tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await {
            Err(_) if buf.is_empty() => return Ending::NoAnswer,
            Err(_) => return Ending::Incomplete { text: text(&buf) },
            Ok(Ok(0)) if buf.is_empty() => return Ending::ClosedWithoutAnswer,
            Ok(Ok(0)) => return Ending::ClosedMidResponse { text: text(&buf) },
            Ok(Ok(n)) => buf.extend_from_slice(&chunk[..n]),
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                return Ending::Reset { text: text(&buf) }
            }
            Ok(Err(e)) => return Ending::Failed(e.kind()),
        }
    }
}

/// Sends `request` on `stream`, then [`read_ending`]. A reset while writing is
/// [`Ending::Reset`].
pub async fn exchange_ending(stream: &mut TcpStream, request: &str, wait: Duration) -> Ending {
    match stream.write_all(request.as_bytes()).await {
        Ok(()) => read_ending(stream, wait).await,
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => Ending::Reset {
            text: String::new(),
        },
        Err(e) => Ending::Failed(e.kind()),
    }
}

/// Polls `imds`'s event log until a `transition` event whose state satisfies `pred` is
/// logged (at or after `since`, when given), and returns it. The event is logged once the
/// state is fully in force (the socket too), unlike [`mock_imds::MockImds::state`], which
/// changes before a socket switch is done. Panics after `timeout` with the transitions seen.
pub async fn wait_for_transition(
    imds: &mock_imds::MockImds,
    since: Option<mock_imds::Mark>,
    pred: impl Fn(&mock_imds::ImdsState) -> bool,
    timeout: Duration,
) -> mock_imds::Event {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let events = match since {
            Some(mark) => imds.events_since(mark),
            None => imds.events(),
        };
        if let Some(found) = events.iter().find(
            |e| matches!(&e.kind, mock_imds::EventKind::Transition { state, .. } if pred(state)),
        ) {
            return found.clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no matching transition within {timeout:?}; transitions: {:?}",
            events
                .iter()
                .filter_map(|e| match &e.kind {
                    mock_imds::EventKind::Transition { state, .. } =>
                        Some((e.at, state.to_string())),
                    _ => None,
                })
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
