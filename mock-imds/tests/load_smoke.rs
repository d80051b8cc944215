//! A small run of `scripts/load-test` (the bounded load test): 50 keep-alive connections,
//! 3,000 requests, faults switched every 10 ms through the control API. The script checks
//! the event accounting, that the server neither panicked nor stopped serving, that its
//! descriptors went back to the baseline and that it stops cleanly on SIGINT; this test
//! only runs it and wants status 0. The full size (10,000 connections, 1,000,000
//! requests) is run by hand; see RELIABILITY.md.

use std::process::Command;

#[test]
fn a_small_load_test_passes() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out_dir = tempfile::tempdir().unwrap();
    let out = Command::new("bash")
        .arg(root.join("scripts/load-test"))
        .env("MOCK_IMDS_BIN", env!("CARGO_BIN_EXE_mock-imds"))
        .env("LOAD_CONNECTIONS", "50")
        .env("LOAD_REQUESTS", "3000")
        .env("LOAD_TOGGLE_EVERY", "10ms")
        .env("LOAD_DEADLINE", "300s")
        .env("LOAD_OUT", out_dir.path())
        .env_remove("LOAD_FAULTS")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("\"accounting_ok\": true"), "{stdout}");
    assert!(stdout.contains("load-test: ok"), "{stdout}");
}
