//! The token answer's TTL header modes: from `serve --config` (`token_ttl_header =
//! "absent"`), then changed at runtime with `ctl token-ttl-header` (a chosen value, back to
//! echo), as the raw answers show; a bad mode is refused with what is accepted.

mod support;
use support::{ctl, raw_exchange, Serve};

/// The TTL header of a token PUT's answer (asking for `ttl`), `None` when absent.
async fn ttl_header(addr: std::net::SocketAddr, ttl: u32) -> Option<String> {
    let answer = raw_exchange(
        addr,
        &format!("PUT /latest/api/token HTTP/1.1\r\nHost: x\r\nX-aws-ec2-metadata-token-ttl-seconds: {ttl}\r\nConnection: close\r\n\r\n"),
    )
    .await
    .unwrap();
    let text = String::from_utf8_lossy(&answer).to_string();
    assert!(text.starts_with("HTTP/1.1 200 OK"), "{text}");
    text.lines().find_map(|l| {
        l.to_ascii_lowercase()
            .strip_prefix("x-aws-ec2-metadata-token-ttl-seconds: ")
            .map(str::to_string)
    })
}

#[tokio::test]
async fn absent_from_the_config_then_a_value_then_echo_through_ctl() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("imds.toml");
    std::fs::write(&config, "token_ttl_header = \"absent\"\n").unwrap();
    let serve = Serve::start(&["--config", config.to_str().unwrap()]);
    let (addr, port) = (serve.imds_addr(), serve.control_port.clone());
    assert_eq!(ttl_header(addr, 60).await, None);
    assert_eq!(
        ctl(&port, &["token-ttl-header"]).trim(),
        "token_ttl_header: absent"
    );
    assert_eq!(
        ctl(&port, &["token-ttl-header", "0"]).trim(),
        "token_ttl_header: 0"
    );
    assert_eq!(ttl_header(addr, 60).await.as_deref(), Some("0"));
    ctl(&port, &["token-ttl-header", "echo"]);
    assert_eq!(ttl_header(addr, 21600).await.as_deref(), Some("21600"));

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mock-imds"))
        .args(["ctl", "--control-port", &port, "token-ttl-header", "never"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("\"echo\", \"absent\" or a whole number"),
        "{err}"
    );
}

#[test]
fn a_bad_mode_in_the_config_names_its_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("imds.toml");
    std::fs::write(&config, "\ntoken_ttl_header = true\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mock-imds"))
        .args([
            "serve",
            "--port",
            "0",
            "--sts-port",
            "0",
            "--control-port",
            "0",
        ])
        .args(["--config", config.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("2:20") && err.contains("token_ttl_header must be"),
        "{err}"
    );
}
