//! The body and no-answer faults through `ctl fault`, on the wire: `empty-body` (the
//! service's 200, `Content-Length: 0`), `binary-body` (bytes that are not UTF-8),
//! `empty-reply` (the request read, then a FIN and not one byte); the event log records
//! the status sent (none for `empty-reply`). And a 1xx status is refused at parse time.

mod support;
use support::{ctl, ctl_events, raw_exchange, Serve};

const CREDS: &str = "GET /latest/meta-data/iam/security-credentials/mock-imds-role HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

/// The last `imds-request` event's status (`null` for none).
fn last_status(port: &str) -> serde_json::Value {
    ctl_events(port)
        .into_iter()
        .rfind(|e| e["type"] == "imds-request")
        .expect("a request was logged")["status"]
        .clone()
}

#[tokio::test]
async fn empty_body_binary_body_and_empty_reply_on_the_wire() {
    let serve = Serve::start(&[]);
    let (addr, port) = (serve.imds_addr(), serve.control_port.clone());

    ctl(&port, &["fault", "empty-body on credentials times=1"]);
    let answer = raw_exchange(addr, CREDS).await.unwrap();
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(
        text.to_lowercase().contains("content-length: 0\r\n"),
        "{text}"
    );
    assert!(text.ends_with("\r\n\r\n"), "no body: {text}");
    assert_eq!(last_status(&port), 200);
    // Counted: the next one is the document.
    let answer = raw_exchange(addr, CREDS).await.unwrap();
    assert!(String::from_utf8_lossy(&answer).contains("\"AccessKeyId\""));

    ctl(&port, &["fault", "binary-body on credentials"]);
    let answer = raw_exchange(addr, CREDS).await.unwrap();
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a head")
        + 4;
    assert_eq!(&answer[split..], mock_imds::fault::BINARY_BODY);
    assert!(std::str::from_utf8(&answer[split..]).is_err());
    assert!(String::from_utf8_lossy(&answer[..split]).starts_with("HTTP/1.1 200 OK"));
    assert_eq!(last_status(&port), 200);

    ctl(&port, &["fault", "empty-reply on credentials"]);
    let answer = raw_exchange(addr, CREDS).await;
    assert_eq!(
        answer,
        Ok(Vec::new()),
        "a FIN without a byte (a reset reads as an error)"
    );
    assert_eq!(last_status(&port), serde_json::Value::Null);
}

#[test]
fn informational_statuses_are_refused_when_parsed() {
    let serve = Serve::start(&[]);
    for code in ["100", "103"] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_mock-imds"))
            .args(["ctl", "--control-port", &serve.control_port])
            .args(["fault", &format!("status({code})")])
            .output()
            .unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("informational (1xx)"), "{err}");
    }
}
