//! Hostile raw HTTP against a running mock IMDS, over raw TCP (no HTTP client library
//! smoothing anything over): bad TTLs, wrong methods, traversal, invalid UTF-8, huge
//! heads, request-smuggling shapes, HTTP/1.0, missing `Host`, garbage.
//!
//! Each case states the answer it expects and why. Two sources decide:
//! - **EC2's documented IMDS behaviour** for well-formed requests ("Use the Instance
//!   Metadata Service", "IMDSv2"): token PUT needs a TTL in 1..=21600 (else 400), a
//!   forwarded token PUT is refused (403), a bad token is 401, an unknown path 404. Where
//!   EC2 documents nothing (duplicate headers, dot segments), the case says so and pins
//!   the mock's answer, which always refuses rather than guesses.
//! - **RFC 9112** (HTTP/1.1 message syntax) for malformed framing, where any conforming
//!   server answers 400, 431 (head too large) or 414, or closes the connection.
//!
//! After the whole corpus, a normal request on a fresh connection still gets 200, and no
//! thread of this process panicked (a panic hook counts them: a panic inside a
//! connection task would otherwise be swallowed by the listener's task set).
//!
//! Every exchange is bounded by [`SAFETY`], a generous deadline that only turns a hang
//! into a failure; nothing here measures time.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use mock_imds::MockImds;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A hang becomes a failure after this long (no case comes near it).
const SAFETY: Duration = Duration::from_secs(60);

static PANICS: AtomicUsize = AtomicUsize::new(0);

fn count_panics() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        PANICS.fetch_add(1, Ordering::SeqCst);
        previous(info);
    }));
}

/// One parsed response.
#[derive(Debug)]
struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// How the exchange ended after the responses were read.
#[derive(Debug, PartialEq, Eq)]
enum End {
    /// We stopped reading (the connection was still open).
    StillOpen,
    /// The server closed the connection (FIN).
    Closed,
    /// The connection was reset (or another read error).
    Reset(std::io::ErrorKind),
}

#[derive(Debug)]
struct Exchange {
    responses: Vec<Response>,
    end: End,
}

/// Parses one complete response at the start of `buf`; returns it and its length.
fn parse_one(buf: &[u8], head_request: bool, eof: bool) -> Option<(Response, usize)> {
    let head_end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next()?;
    let status: u16 = status_line.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let length = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok());
    let body_len = if head_request || (100..200).contains(&status) || status == 204 {
        0
    } else if let Some(length) = length {
        length
    } else if eof {
        buf.len() - head_end // body until close
    } else {
        return None;
    };
    if buf.len() < head_end + body_len {
        return None;
    }
    let body = buf[head_end..head_end + body_len].to_vec();
    Some((
        Response {
            status,
            headers,
            body,
        },
        head_end + body_len,
    ))
}

/// Sends `bytes` on a new connection and reads `want` responses (1xx skipped), then, if
/// `until_close`, keeps reading until the server closes. Writing happens concurrently
/// with reading, so a server that answers before reading everything is seen answering.
async fn exchange(
    addr: SocketAddr,
    bytes: Vec<u8>,
    head_request: bool,
    want: usize,
    until_close: bool,
) -> Exchange {
    let stream = TcpStream::connect(addr).await.expect("connect to the mock");
    let (mut reader, mut writer) = stream.into_split();
    let writing = tokio::spawn(async move {
        // The server may reject early and close: a failed write is part of the outcome.
        let _ = writer.write_all(&bytes).await;
        writer // keep our side open until the reading is done
    });
    let mut buf = Vec::new();
    let mut responses = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    let end = loop {
        while let Some((response, used)) = parse_one(&buf, head_request, false) {
            buf.drain(..used);
            if !(100..200).contains(&response.status) {
                responses.push(response);
            }
        }
        if responses.len() >= want && !until_close {
            break End::StillOpen;
        }
        match reader.read(&mut chunk).await {
            Ok(0) => {
                if let Some((response, _)) = parse_one(&buf, head_request, true) {
                    responses.push(response);
                }
                break End::Closed;
            }
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) => break End::Reset(e.kind()),
        }
    };
    drop(writing);
    Exchange { responses, end }
}

/// What a case expects.
#[derive(Debug, Clone)]
enum Expect {
    /// Exactly this status (the connection may stay open).
    Status(u16),
    /// This status, and then the server closes the connection.
    StatusThenClose(u16),
    /// These statuses, in order, on one connection (pipelining).
    Statuses(Vec<u16>),
    /// Either one of these statuses and then a close, or a close/reset with no answer at
    /// all (a server may reset when it closes with unread input from the client queued).
    RejectedOrClosed(&'static [u16]),
    /// No answer; the server closes the connection.
    ClosedWithoutAnswer,
}

struct Case {
    name: &'static str,
    /// Why that answer (EC2's documentation or the RFC).
    why: &'static str,
    bytes: Vec<u8>,
    head_request: bool,
    expect: Expect,
}

fn case(name: &'static str, why: &'static str, bytes: impl Into<Vec<u8>>, expect: Expect) -> Case {
    Case {
        name,
        why,
        bytes: bytes.into(),
        head_request: false,
        expect,
    }
}

const HOST: &str = "Host: 169.254.169.254\r\n";
const TTL: &str = "X-aws-ec2-metadata-token-ttl-seconds";
const TOKEN: &str = "X-aws-ec2-metadata-token";

fn put_token(headers: &str) -> Vec<u8> {
    format!("PUT /latest/api/token HTTP/1.1\r\n{HOST}{headers}\r\n").into_bytes()
}

fn get(path: &str, headers: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\n{HOST}{headers}\r\n").into_bytes()
}

fn ttl(value: &str) -> Vec<u8> {
    put_token(&format!("{TTL}: {value}\r\n"))
}

fn corpus(token: &str) -> Vec<Case> {
    use Expect::*;
    let long_path = format!("/latest/meta-data/{}", "a".repeat(8 * 1024));
    let huge_path = format!("/latest/meta-data/{}", "a".repeat(100 * 1024));
    let many_headers: String = (0..101).map(|i| format!("X-Filler-{i}: x\r\n")).collect();
    let smuggled = format!(
        "GET /latest/meta-data/iam/security-credentials/mock-imds-role HTTP/1.1\r\n{HOST}\r\n"
    );
    let mut cases = vec![
        // --- the token TTL ---
        case("ttl zero", "EC2: the TTL must be 1..=21600 seconds, else 400", ttl("0"), Status(400)),
        case("ttl too big", "EC2: 21601 is past the 6 h maximum: 400", ttl("21601"), Status(400)),
        case("ttl negative", "EC2: not a TTL in 1..=21600: 400", ttl("-1"), Status(400)),
        case("ttl not a number", "EC2: not a TTL in 1..=21600: 400", ttl("abc"), Status(400)),
        case(
            "ttl overflows u64",
            "EC2: not a TTL in 1..=21600 (and must not overflow a parser): 400",
            ttl("99999999999999999999999999999999"),
            Status(400),
        ),
        case("ttl fractional", "EC2: whole seconds only: 400", ttl("1.5"), Status(400)),
        case("ttl hexadecimal", "EC2: decimal seconds only: 400", ttl("0x3C"), Status(400)),
        case("ttl with plus sign", "EC2: digits only: 400", ttl("+60"), Status(400)),
        case("ttl empty", "EC2: a present but empty TTL is no TTL: 400", ttl(""), Status(400)),
        case(
            "ttl padded with spaces",
            "RFC 9110 5.5: surrounding whitespace is not part of a field value, so this is TTL 60: 200",
            ttl("   60   "),
            Status(200),
        ),
        case(
            "ttl with non-UTF-8 bytes",
            "EC2: not a number: 400 (obs-text bytes are legal in a field value, so not a framing error)",
            [b"PUT /latest/api/token HTTP/1.1\r\nHost: x\r\n".to_vec(), format!("{TTL}: 6").into_bytes(), vec![0xff, 0xfe], b"0\r\n\r\n".to_vec()].concat(),
            Status(400),
        ),
        case("ttl missing", "EC2: the TTL header is required on the token PUT: 400", put_token(""), Status(400)),
        case(
            "ttl header twice",
            "EC2 documents one TTL header; two (even equal) are ambiguous and the mock refuses: 400",
            put_token(&format!("{TTL}: 60\r\n{TTL}: 60\r\n")),
            Status(400),
        ),
        case(
            "ttl header twice, different values",
            "ambiguous TTL (the smuggling shape for headers): refused with 400",
            put_token(&format!("{TTL}: 60\r\n{TTL}: 21600\r\n")),
            Status(400),
        ),
        case(
            "token PUT with X-Forwarded-For",
            "EC2: IMDSv2 refuses token requests that carry X-Forwarded-For: 403",
            put_token(&format!("{TTL}: 60\r\nX-Forwarded-For: 203.0.113.9\r\n")),
            Status(403),
        ),
        // --- methods ---
        case("GET on the token endpoint", "only PUT issues tokens: 405 (Allow: PUT)", get("/latest/api/token", ""), Status(405)),
        case(
            "POST on the token endpoint",
            "only PUT issues tokens: 405 (Allow: PUT)",
            format!("POST /latest/api/token HTTP/1.1\r\n{HOST}{TTL}: 60\r\nContent-Length: 0\r\n\r\n"),
            Status(405),
        ),
        case(
            "DELETE on metadata",
            "metadata is read-only: 405 (Allow: GET, HEAD)",
            format!("DELETE /latest/meta-data/ HTTP/1.1\r\n{HOST}\r\n"),
            Status(405),
        ),
        case(
            "PUT on a metadata leaf",
            "metadata is read-only: 405",
            format!("PUT /latest/meta-data/instance-id HTTP/1.1\r\n{HOST}Content-Length: 0\r\n\r\n"),
            Status(405),
        ),
        case(
            "unknown method",
            "RFC 9110 9.1: an unrecognised but well-formed method: 405 here (501 would also conform)",
            format!("BREW /latest/meta-data/ HTTP/1.1\r\n{HOST}\r\n"),
            Status(405),
        ),
        case(
            "lower-case method",
            "methods are case-sensitive (RFC 9110 9.1): `get` is an unknown method: 405",
            format!("get /latest/meta-data/ HTTP/1.1\r\n{HOST}\r\n"),
            Status(405),
        ),
        case(
            "method with illegal characters",
            "RFC 9112 3: a method is a token; `G@T` is not: 400",
            format!("G@T /latest/meta-data/ HTTP/1.1\r\n{HOST}\r\n"),
            Status(400),
        ),
        case(
            "OPTIONS *",
            "asterisk-form is legal HTTP but IMDS serves no OPTIONS: 405",
            format!("OPTIONS * HTTP/1.1\r\n{HOST}\r\n"),
            Status(405),
        ),
        case(
            "CONNECT",
            "IMDS is no proxy: 405, and no tunnel is opened",
            format!("CONNECT 169.254.169.254:80 HTTP/1.1\r\n{HOST}\r\n"),
            Status(405),
        ),
        // --- tokens on GET ---
        case("bogus token", "EC2: a token it did not issue: 401", get("/latest/meta-data/", &format!("{TOKEN}: AQAEbogus\r\n")), Status(401)),
        case("empty token", "EC2: an empty token is not a valid token: 401", get("/latest/meta-data/", &format!("{TOKEN}:\r\n")), Status(401)),
        case(
            "long token",
            "EC2: a 4 KiB token is not one it issued: 401 (within the 16 KiB head limit)",
            get("/latest/meta-data/", &format!("{TOKEN}: AQAE{}\r\n", "A".repeat(4 * 1024))),
            Status(401),
        ),
        case(
            "20 KiB token",
            "the head exceeds the mock's 16 KiB limit: 431, or a reset (unread input queued at close)",
            get("/latest/meta-data/", &format!("{TOKEN}: AQAE{}\r\n", "A".repeat(20 * 1024))),
            RejectedOrClosed(&[431]),
        ),
        case(
            "token with non-UTF-8 bytes",
            "EC2: not a token it issued: 401",
            [b"GET /latest/meta-data/ HTTP/1.1\r\nHost: x\r\n".to_vec(), format!("{TOKEN}: AQAE").into_bytes(), vec![0xc3, 0x28, 0xff], b"\r\n\r\n".to_vec()].concat(),
            Status(401),
        ),
        case(
            "token header twice (both valid)",
            "EC2 documents one token header; two are ambiguous and the mock refuses: 400",
            get("/latest/meta-data/", &format!("{TOKEN}: {token}\r\n{TOKEN}: {token}\r\n")),
            Status(400),
        ),
        case(
            "token header twice (valid then bogus)",
            "ambiguous credentials must never be resolved in the caller's favour: 400",
            get("/latest/meta-data/", &format!("{TOKEN}: {token}\r\n{TOKEN}: AQAEbogus\r\n")),
            Status(400),
        ),
        // --- paths ---
        case(
            "dot-dot traversal out of the tree",
            "nothing exists outside the metadata tree and dot segments are not resolved: 404",
            get("/latest/meta-data/../../../../etc/passwd", ""),
            Status(404),
        ),
        case(
            "dot-dot traversal back into the tree",
            "EC2 documents no dot-segment handling (clients such as curl resolve them before \
             sending); the mock does not resolve them, so the literal path does not exist: 404",
            get("/latest/meta-data/../meta-data/instance-id", ""),
            Status(404),
        ),
        case(
            "percent-encoded traversal",
            "%2e%2e is not decoded into a dot segment: no such path, 404",
            get("/latest/meta-data/%2e%2e/%2e%2e/etc/passwd", ""),
            Status(404),
        ),
        case(
            "percent-encoded slash",
            "%2F is data, not a separator (RFC 3986 2.2): no such path, 404",
            get("/latest%2Fmeta-data%2Finstance-id", ""),
            Status(404),
        ),
        case(
            "percent-encoded invalid UTF-8",
            "the path is plain ASCII on the wire: no such path, 404",
            get("/latest/meta-data/%ff%fe%c3%28", ""),
            Status(404),
        ),
        case(
            "raw invalid UTF-8 in the path",
            "RFC 9112 3.2: bytes above 0x7F are not allowed in a request-target: 400",
            [b"GET /latest/meta-data/".to_vec(), vec![0xff, 0xfe, 0xc3, 0x28], b" HTTP/1.1\r\nHost: x\r\n\r\n".to_vec()].concat(),
            Status(400),
        ),
        case(
            "NUL in the path",
            "a control byte is not allowed in a request-target: 400",
            b"GET /latest/meta-data/\0instance-id HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
            Status(400),
        ),
        case(
            "8 KiB path",
            "well-formed and within the head limit, but no such path: 404",
            get(&long_path, ""),
            Status(404),
        ),
        case(
            "100 KiB path",
            "the request head exceeds the mock's 16 KiB limit: 431 (414 would also conform), or a reset",
            get(&huge_path, ""),
            RejectedOrClosed(&[414, 431]),
        ),
        case(
            "absolute-form request-target",
            "RFC 9112 3.2.2: a server MUST accept absolute-form; it names the same resource: 200",
            format!("GET http://169.254.169.254/latest/meta-data/instance-id HTTP/1.1\r\n{HOST}\r\n"),
            Status(200),
        ),
        // --- heads too large ---
        case(
            "101 header fields",
            "more fields than the server accepts (100): 431",
            get("/latest/meta-data/", &many_headers),
            StatusThenClose(431),
        ),
        case(
            "one 100 KiB header field",
            "the head exceeds the 16 KiB limit: 431, or a reset (unread input queued at close)",
            get("/latest/meta-data/", &format!("X-Big: {}\r\n", "b".repeat(100 * 1024))),
            RejectedOrClosed(&[431]),
        ),
        // --- malformed header fields ---
        case(
            "header line without a colon",
            "RFC 9112 5: not a field line: 400",
            get("/latest/meta-data/", "NoColonHere\r\n"),
            StatusThenClose(400),
        ),
        case(
            "whitespace before the colon",
            "RFC 9112 5.1: a server MUST reject a field name followed by whitespace with 400",
            get("/latest/meta-data/", "X-Name : value\r\n"),
            StatusThenClose(400),
        ),
        case(
            "obs-fold (line folding)",
            "RFC 9112 5.2: a server MUST reject obs-fold (or replace it by spaces); hyper rejects: 400",
            put_token(&format!("{TTL}: 6\r\n 0\r\n")),
            StatusThenClose(400),
        ),
        case(
            "NUL in a header value",
            "RFC 9110 5.5: NUL is not allowed in a field value: 400",
            b"GET /latest/meta-data/ HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n".to_vec(),
            StatusThenClose(400),
        ),
        // --- request smuggling shapes ---
        case(
            "Content-Length and Transfer-Encoding (CL.TE)",
            "RFC 9112 6.1: Transfer-Encoding overrides Content-Length and the server MUST close \
             the connection after answering; the bytes after the chunked body (a smuggled \
             credentials GET) are never answered: one 200, then close",
            [put_token(&format!("{TTL}: 60\r\nContent-Length: 200\r\nTransfer-Encoding: chunked\r\n")), b"0\r\n\r\n".to_vec(), smuggled.clone().into_bytes()].concat(),
            StatusThenClose(200),
        ),
        case(
            "Transfer-Encoding before Content-Length (TE.CL)",
            "the same, with the headers in the other order: one 200, then close",
            [put_token(&format!("{TTL}: 60\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n")), b"0\r\n\r\n".to_vec(), smuggled.clone().into_bytes()].concat(),
            StatusThenClose(200),
        ),
        case(
            "two different Content-Lengths",
            "RFC 9112 6.3: differing Content-Length values are unrecoverable framing: 400",
            put_token(&format!("{TTL}: 60\r\nContent-Length: 5\r\nContent-Length: 6\r\n")),
            StatusThenClose(400),
        ),
        case(
            "negative Content-Length",
            "RFC 9112 6.3: an invalid Content-Length is unrecoverable framing: 400",
            put_token(&format!("{TTL}: 60\r\nContent-Length: -1\r\n")),
            StatusThenClose(400),
        ),
        case(
            "Content-Length past u64",
            "RFC 9112 6.3: an invalid Content-Length: 400",
            put_token(&format!("{TTL}: 60\r\nContent-Length: 99999999999999999999999\r\n")),
            StatusThenClose(400),
        ),
        case(
            "Transfer-Encoding not ending in chunked",
            "RFC 9112 6.3: a request whose final coding is not chunked cannot be framed: 400",
            put_token(&format!("{TTL}: 60\r\nTransfer-Encoding: chunked, identity\r\n")),
            StatusThenClose(400),
        ),
        case(
            "obfuscated Transfer-Encoding",
            "`xchunked` is not chunked: the request cannot be framed: 400",
            put_token(&format!("{TTL}: 60\r\nTransfer-Encoding: xchunked\r\n")),
            StatusThenClose(400),
        ),
        case(
            "Transfer-Encoding in HTTP/1.0",
            "RFC 9112 6.1: HTTP/1.0 has no Transfer-Encoding; treated as faulty framing: 400",
            format!("PUT /latest/api/token HTTP/1.0\r\n{TTL}: 60\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
            StatusThenClose(400),
        ),
        // --- versions, Host, garbage ---
        case(
            "HTTP/1.0 without Host",
            "HTTP/1.0 needs no Host and defaults to close: 200, then close",
            "GET /latest/meta-data/instance-id HTTP/1.0\r\n\r\n",
            StatusThenClose(200),
        ),
        case(
            "HTTP/1.1 without Host",
            "RFC 9112 3.2: a server MUST answer 400 to an HTTP/1.1 request without Host",
            "GET /latest/meta-data/instance-id HTTP/1.1\r\n\r\n",
            Status(400),
        ),
        case(
            "HTTP/1.1 with two Host headers",
            "RFC 9112 3.2: a server MUST answer 400 to more than one Host field",
            get("/latest/meta-data/instance-id", "Host: 127.0.0.1\r\n"),
            Status(400),
        ),
        case(
            "request line without a version",
            "an HTTP/0.9-style request line is not HTTP/1.x: 400",
            "GET /latest/meta-data/\r\n\r\n",
            StatusThenClose(400),
        ),
        case(
            "HTTP/2.0 on the request line",
            "not an HTTP/1.x version this server speaks: 400",
            format!("GET /latest/meta-data/ HTTP/2.0\r\n{HOST}\r\n"),
            StatusThenClose(400),
        ),
        case(
            "HTTP/2 prior-knowledge preface",
            "the mock speaks HTTP/1 only; hyper closes on the h2 preface without an answer",
            b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec(),
            ClosedWithoutAnswer,
        ),
        case(
            "binary garbage",
            "not an HTTP message: 400",
            [vec![0x00, 0x01, 0x02, 0x7f, 0xff, 0xfe, 0x80, 0x9c, 0x1b], b"\r\n\r\n".to_vec()].concat(),
            StatusThenClose(400),
        ),
        case(
            "a TLS ClientHello on the plain port",
            "binary, not HTTP (a client configured for https): 400",
            vec![0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x03, 0x03, b'\r', b'\n', b'\r', b'\n'],
            StatusThenClose(400),
        ),
        case(
            "an empty line before the request line",
            "RFC 9112 2.2: a server SHOULD ignore at least one empty line before the request line: 200",
            [b"\r\n".to_vec(), get("/latest/meta-data/instance-id", "")].concat(),
            Status(200),
        ),
        case(
            "bare LF line endings",
            "RFC 9112 2.2: a recipient MAY accept a bare LF as a line terminator (hyper does): 200",
            "GET /latest/meta-data/instance-id HTTP/1.1\nHost: x\n\n",
            Status(200),
        ),
        case(
            "two pipelined requests",
            "HTTP/1.1 pipelining: both answered, in order",
            [get("/latest/meta-data/instance-id", ""), get("/latest/meta-data/nope", "")].concat(),
            Statuses(vec![200, 404]),
        ),
        case(
            "Expect: 100-continue on the token PUT",
            "a well-formed token PUT with an expectation the server need not honour: 200",
            put_token(&format!("{TTL}: 60\r\nExpect: 100-continue\r\nContent-Length: 0\r\n")),
            Status(200),
        ),
    ];
    cases.push(Case {
        name: "HEAD on a leaf",
        why: "HEAD is GET without a body: 200",
        bytes: format!("HEAD /latest/meta-data/instance-id HTTP/1.1\r\n{HOST}\r\n").into_bytes(),
        head_request: true,
        expect: Status(200),
    });
    cases
}

fn check(case: &Case, got: &Exchange) -> Result<(), String> {
    let statuses: Vec<u16> = got.responses.iter().map(|r| r.status).collect();
    let closed = matches!(got.end, End::Closed | End::Reset(_));
    let ok = match &case.expect {
        Expect::Status(s) => statuses == [*s],
        Expect::StatusThenClose(s) => statuses == [*s] && closed,
        Expect::Statuses(list) => &statuses == list,
        Expect::RejectedOrClosed(allowed) => {
            closed
                && (statuses.is_empty() || (statuses.len() == 1 && allowed.contains(&statuses[0])))
        }
        Expect::ClosedWithoutAnswer => statuses.is_empty() && closed,
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{}: expected {:?} ({}), got statuses {statuses:?}, end {:?}",
            case.name, case.expect, case.why, got.end
        ))
    }
}

async fn fresh_token(addr: SocketAddr) -> String {
    let got = exchange(addr, ttl("21600"), false, 1, false).await;
    assert_eq!(got.responses.len(), 1, "{got:?}");
    let response = &got.responses[0];
    assert_eq!(response.status, 200);
    assert_eq!(response.header(TTL), Some("21600"));
    String::from_utf8(response.body.clone()).unwrap()
}

#[tokio::test]
async fn hostile_requests_get_the_right_answers_and_the_server_keeps_serving() {
    count_panics();
    let imds = Arc::new(MockImds::builder().seed(1).start().await.unwrap());
    let addr = imds.addr();
    let token = fresh_token(addr).await;
    let cases = corpus(&token);
    assert!(cases.len() >= 30, "the corpus has {} cases", cases.len());

    let mut failures = Vec::new();
    for case in &cases {
        let want = match &case.expect {
            Expect::Statuses(list) => list.len(),
            _ => 1,
        };
        let until_close = matches!(
            case.expect,
            Expect::StatusThenClose(_) | Expect::RejectedOrClosed(_) | Expect::ClosedWithoutAnswer
        );
        let got = tokio::time::timeout(
            SAFETY,
            exchange(
                addr,
                case.bytes.clone(),
                case.head_request,
                want,
                until_close,
            ),
        )
        .await
        .unwrap_or_else(|_| panic!("{}: no answer and no close within {SAFETY:?}", case.name));
        if let Err(e) = check(case, &got) {
            failures.push(e);
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases answered wrongly:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );

    // The server keeps serving, on a fresh connection, with the token issued before.
    let got = exchange(
        addr,
        get(
            "/latest/meta-data/instance-id",
            &format!("{TOKEN}: {token}\r\n"),
        ),
        false,
        1,
        false,
    )
    .await;
    assert_eq!(got.responses.len(), 1, "{got:?}");
    assert_eq!(got.responses[0].status, 200);
    assert_eq!(got.responses[0].body, b"i-0123456789abcdef0");
    assert_eq!(PANICS.load(Ordering::SeqCst), 0, "a thread panicked");
}
