//! The fake STS's signature check judged by an independent signer: botocore's own
//! `SigV4Auth` / `SigV4QueryAuth` (`tests/botocore_sign.py`, run by the venv's Python)
//! signs `GetCallerIdentity` requests with credentials the mock issued; the exact bytes
//! it produced (or a copy tampered with after signing) go to the mock's STS over plain
//! TCP on loopback. `sigv4_check`'s unit tests and `sts_signatures.rs` sign with the
//! same `aws-sigv4` crate the verifier uses, so a misunderstanding shared by signer and
//! verifier would pass there; it cannot pass here.
//!
//! Each case checks the HTTP status, the `<Code>` (or `<Arn>`) of the answer, and the
//! `sts-request` event's outcome, found by the call id header added after signing
//! (unsigned, so also a check that unsigned headers do not matter).

mod common;

use std::process::Stdio;
use std::time::Duration;

use mock_imds::sts::CALL_ID_HEADER;
use mock_imds::{EventKind, IssuedCredentials, MockImds, StsOutcome};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const BODY: &str = "Action=GetCallerIdentity&Version=2011-06-15";
/// What botocore's STS client sends as the content type of a Query-protocol call.
const FORM: &str = "application/x-www-form-urlencoded; charset=utf-8";
const ARN: &str = "arn:aws:sts::123456789012:assumed-role/mock-imds-role/i-0123456789abcdef0";

/// A request as botocore signed and prepared it (see `tests/botocore_sign.py`).
#[derive(Clone, Debug)]
struct Signed {
    method: String,
    target: String,
    host: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Signed {
    fn header_mut(&mut self, name: &str) -> &mut String {
        let (_, value) = self
            .headers
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .unwrap_or_else(|| panic!("botocore did not set {name}"));
        value
    }

    fn set_body(&mut self, body: &str) {
        body.clone_into(&mut self.body);
        *self.header_mut("content-length") = body.len().to_string();
    }

    fn remove_header(&mut self, name: &str) {
        let before = self.headers.len();
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        assert!(self.headers.len() < before, "botocore did not set {name}");
    }
}

/// What to ask botocore to sign.
struct Sign<'a> {
    method: &'a str,
    target: &'a str,
    body: &'a str,
    access_key: &'a str,
    secret_key: &'a str,
    token: Option<&'a str>,
    skew: i64,
    presign: bool,
}

impl<'a> Sign<'a> {
    /// `POST /` GetCallerIdentity with `creds`, signed now, as botocore's STS client does.
    fn post(creds: &'a IssuedCredentials) -> Self {
        Sign {
            method: "POST",
            target: "/",
            body: BODY,
            access_key: &creds.access_key_id,
            secret_key: &creds.secret_access_key,
            token: Some(&creds.session_token),
            skew: 0,
            presign: false,
        }
    }

    fn to_json(&self, sts: &str) -> Value {
        let headers: Vec<[&str; 2]> = if self.method == "POST" {
            vec![["Content-Type", FORM]]
        } else {
            Vec::new()
        };
        json!({
            "method": self.method,
            "url": format!("{sts}{}", self.target),
            "body": self.body,
            "headers": headers,
            "access_key": self.access_key,
            "secret_key": self.secret_key,
            "token": self.token,
            "region": "us-east-1",
            "service": "sts",
            "skew_seconds": self.skew,
            "presign": self.presign,
        })
    }
}

#[derive(Debug, PartialEq)]
enum Expect {
    Accepted,
    /// STS error code and HTTP status.
    Rejected(&'static str, u16),
}

struct Case<'a> {
    name: &'static str,
    sign: Sign<'a>,
    /// Applied to botocore's output before it is sent.
    tamper: fn(&mut Signed),
    expect: Expect,
}

fn untouched(_: &mut Signed) {}

/// Runs `tests/botocore_sign.py` once for all `requests`.
async fn botocore_sign(requests: Vec<Value>) -> Vec<Signed> {
    let python = common::python();
    let script = common::root().join("tests").join("botocore_sign.py");
    let mut child = tokio::process::Command::new(&python)
        .arg(&script)
        // Nothing from the environment may reach the signer (it reads none anyway).
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e} (run scripts/setup)", python.display()));
    let input = serde_json::to_vec(&requests).unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&input).await.unwrap();
    drop(stdin);
    let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("botocore_sign.py answers within 60 s")
        .unwrap();
    assert!(
        out.status.success(),
        "botocore_sign.py failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let signed: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    signed
        .into_iter()
        .map(|s| Signed {
            method: s["method"].as_str().unwrap().to_string(),
            target: s["target"].as_str().unwrap().to_string(),
            host: s["host"].as_str().unwrap().to_string(),
            headers: s["headers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| {
                    (
                        h[0].as_str().unwrap().to_string(),
                        h[1].as_str().unwrap().to_string(),
                    )
                })
                .collect(),
            body: s["body"].as_str().unwrap().to_string(),
        })
        .collect()
}

/// Sends `req` as raw HTTP/1.1 (the headers in botocore's order, then `Host` as its HTTP
/// client adds it, the unsigned call id, `Connection: close`); returns status and body.
async fn send(addr: &str, req: &Signed, call_id: &str) -> (u16, String) {
    let mut text = format!(
        "{} {} HTTP/1.1\r\nHost: {}\r\n",
        req.method, req.target, req.host
    );
    for (name, value) in &req.headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text.push_str(&format!(
        "{CALL_ID_HEADER}: {call_id}\r\nConnection: close\r\n\r\n{}",
        req.body
    ));
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(text.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer))
        .await
        .expect("STS answers within 10 s")
        .unwrap();
    let answer = String::from_utf8(answer).unwrap();
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {answer:?}"));
    let body = answer
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_string();
    (status, body)
}

/// The text of the first `<tag>` element of `xml`.
fn element<'x>(xml: &'x str, tag: &str) -> Option<&'x str> {
    let start = xml.find(&format!("<{tag}>"))? + tag.len() + 2;
    let len = xml[start..].find(&format!("</{tag}>"))?;
    Some(&xml[start..start + len])
}

#[tokio::test]
async fn botocore_signed_requests_are_judged_like_sts_would() {
    let imds = MockImds::builder().start().await.unwrap();
    let store = imds.credentials().unwrap();
    let now = chrono::Utc::now();
    let creds = store.current(now);
    let expired = store.expired(now);
    let sts = imds.sts_endpoint();
    let addr = sts.strip_prefix("http://").unwrap().to_string();

    let cases = vec![
        Case {
            name: "good-post",
            sign: Sign::post(&creds),
            tamper: untouched,
            expect: Expect::Accepted,
        },
        // Header auth on a GET: the canonical query string (sorted, so the order
        // given here is not the canonical one) is part of what is signed.
        Case {
            name: "good-get-query",
            sign: Sign {
                method: "GET",
                target: "/?Version=2011-06-15&Action=GetCallerIdentity",
                body: "",
                ..Sign::post(&creds)
            },
            tamper: untouched,
            expect: Expect::Accepted,
        },
        Case {
            name: "get-query-changed",
            sign: Sign {
                method: "GET",
                target: "/?Version=2011-06-15&Action=GetCallerIdentity",
                body: "",
                ..Sign::post(&creds)
            },
            tamper: |s| s.target = "/?Version=2011-06-15&Action=GetCallerIdentity&X=1".into(),
            expect: Expect::Rejected("SignatureDoesNotMatch", 403),
        },
        Case {
            name: "body-changed",
            sign: Sign::post(&creds),
            tamper: |s| s.set_body("Action=GetCallerIdentity&Version=2011-06-15&X=1"),
            expect: Expect::Rejected("SignatureDoesNotMatch", 403),
        },
        Case {
            name: "content-type-changed",
            sign: Sign::post(&creds),
            tamper: |s| *s.header_mut("content-type") = "application/x-www-form-urlencoded".into(),
            expect: Expect::Rejected("SignatureDoesNotMatch", 403),
        },
        Case {
            name: "signed-header-dropped",
            sign: Sign::post(&creds),
            tamper: |s| s.remove_header("content-type"),
            expect: Expect::Rejected("SignatureDoesNotMatch", 403),
        },
        // Still within the allowed skew, but not the time that was signed.
        Case {
            name: "x-amz-date-changed",
            sign: Sign::post(&creds),
            tamper: |s| {
                let date = s.header_mut("x-amz-date");
                let last = date.pop().unwrap(); // the `Z`
                let second = date.pop().unwrap();
                date.push(if second == '0' { '1' } else { '0' });
                date.push(last);
            },
            expect: Expect::Rejected("SignatureDoesNotMatch", 403),
        },
        Case {
            name: "host-changed",
            sign: Sign::post(&creds),
            tamper: |s| s.host = s.host.replace("127.0.0.1", "localhost"),
            expect: Expect::Rejected("SignatureDoesNotMatch", 403),
        },
        Case {
            name: "wrong-secret",
            sign: Sign {
                secret_key: "mock-imds-test-not-the-secret-0000000000",
                ..Sign::post(&creds)
            },
            tamper: untouched,
            expect: Expect::Rejected("SignatureDoesNotMatch", 403),
        },
        Case {
            name: "wrong-session-token",
            sign: Sign {
                token: Some("IQoJb3JpZ2luX2VjEMOCKnot-the-token"),
                ..Sign::post(&creds)
            },
            tamper: untouched,
            expect: Expect::Rejected("InvalidClientTokenId", 403),
        },
        Case {
            name: "no-session-token",
            sign: Sign {
                token: None,
                ..Sign::post(&creds)
            },
            tamper: untouched,
            expect: Expect::Rejected("InvalidClientTokenId", 403),
        },
        Case {
            name: "unknown-access-key",
            sign: Sign {
                access_key: "ASIAMOCKNEVERISSUED0",
                ..Sign::post(&creds)
            },
            tamper: untouched,
            expect: Expect::Rejected("InvalidClientTokenId", 403),
        },
        Case {
            name: "expired-credentials",
            sign: Sign::post(&expired),
            tamper: untouched,
            expect: Expect::Rejected("ExpiredToken", 403),
        },
        // The allowed clock skew is 15 minutes either way.
        Case {
            name: "signed-14-minutes-ago",
            sign: Sign {
                skew: -14 * 60,
                ..Sign::post(&creds)
            },
            tamper: untouched,
            expect: Expect::Accepted,
        },
        Case {
            name: "signed-14-minutes-ahead",
            sign: Sign {
                skew: 14 * 60,
                ..Sign::post(&creds)
            },
            tamper: untouched,
            expect: Expect::Accepted,
        },
        Case {
            name: "signed-16-minutes-ago",
            sign: Sign {
                skew: -16 * 60,
                ..Sign::post(&creds)
            },
            tamper: untouched,
            expect: Expect::Rejected("SignatureDoesNotMatch", 403),
        },
        Case {
            name: "signed-16-minutes-ahead",
            sign: Sign {
                skew: 16 * 60,
                ..Sign::post(&creds)
            },
            tamper: untouched,
            expect: Expect::Rejected("SignatureDoesNotMatch", 403),
        },
        Case {
            name: "authorization-removed",
            sign: Sign::post(&creds),
            tamper: |s| s.remove_header("authorization"),
            expect: Expect::Rejected("MissingAuthenticationToken", 403),
        },
        // A presigned URL (query-string auth, `X-Amz-Signature` in the query): real STS
        // accepts it, the mock does not support it and answers as for no signature at
        // all. Pinned so that it never starts accepting one without checking it.
        Case {
            name: "presigned-get",
            sign: Sign {
                method: "GET",
                target: "/?Action=GetCallerIdentity&Version=2011-06-15",
                body: "",
                presign: true,
                ..Sign::post(&creds)
            },
            tamper: untouched,
            expect: Expect::Rejected("MissingAuthenticationToken", 403),
        },
    ];

    let requests = cases.iter().map(|c| c.sign.to_json(&sts)).collect();
    let signed = botocore_sign(requests).await;
    assert_eq!(signed.len(), cases.len());

    let mut failures = Vec::new();
    for (case, mut req) in cases.iter().zip(signed) {
        (case.tamper)(&mut req);
        let (status, body) = send(&addr, &req, case.name).await;
        let answer = match (status, element(&body, "Code"), element(&body, "Arn")) {
            (200, None, Some(ARN)) => Expect::Accepted,
            (_, Some(code), None) => match [
                "SignatureDoesNotMatch",
                "InvalidClientTokenId",
                "ExpiredToken",
                "MissingAuthenticationToken",
                "IncompleteSignature",
                "InvalidAction",
            ]
            .into_iter()
            .find(|c| *c == code)
            {
                Some(code) => Expect::Rejected(code, status),
                None => Expect::Rejected("(unknown code)", status),
            },
            _ => Expect::Rejected("(no code)", status),
        };
        if answer != case.expect {
            failures.push(format!(
                "{}: expected {:?}, got {answer:?}: {status} {body}",
                case.name, case.expect
            ));
        }
        let outcomes: Vec<StsOutcome> = imds
            .events()
            .into_iter()
            .filter_map(|e| match e.kind {
                EventKind::StsRequest {
                    call_id, outcome, ..
                } if call_id.as_deref() == Some(case.name) => Some(outcome),
                _ => None,
            })
            .collect();
        let logged = match case.expect {
            Expect::Accepted => StsOutcome::Accepted {
                arn: ARN.into(),
                issued_access_key_id: None,
            },
            Expect::Rejected(code, _) => StsOutcome::Rejected { code: code.into() },
        };
        if outcomes != [logged.clone()] {
            failures.push(format!(
                "{}: expected one sts-request event {logged:?}, logged {outcomes:?}",
                case.name
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}
