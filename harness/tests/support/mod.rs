//! What the harness's integration tests share: where the workspace is, the
//! `imds-harness` binary, scratch files, and reading a finished command's output. Each
//! test file includes it with `mod support;` and uses what it needs.

#![allow(dead_code)] // each test crate uses a different part

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The workspace root (the directory above `harness/`).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The project's Python, with the pinned boto3 and awscli (`scripts/setup`).
pub fn python() -> PathBuf {
    root().join(".venv/bin/python")
}

/// The `imds-harness` binary of this build, ready for arguments.
pub fn harness() -> Command {
    Command::new(env!("CARGO_BIN_EXE_imds-harness"))
}

/// Writes `text` to `dir/name` and returns the path.
pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// stdout of a command that must have exited with one of `codes` (else the test fails
/// showing both streams).
pub fn ok(out: &Output, codes: &[i32]) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        codes.contains(&out.status.code().unwrap_or(-1)),
        "exit {:?}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// A finished command's status and both streams, for assertion messages.
pub fn text(out: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A scenario of one Rust SDK cell: IMDS refuses for 300 ms, 8 call retries 200 ms apart,
/// expected to recover (the SDK rides it out); no `description`, so a test can put one in
/// front with `concat!` (a macro, so the text stays a literal).
macro_rules! rust_only {
    () => {
        r#"
[[schedule]]
at = "0s"
state = "refuse"
[[schedule]]
at = "300ms"
state = "up"
[matrix]
drivers = ["rust-sdk"]
strategies = ["call-retry"]
[strategy.call-retry]
attempts = 8
interval = "200ms"
[[expect]]
recovers = true
"#
    };
}
#[allow(unused_imports)] // only some test binaries put a description in front
pub(crate) use rust_only;

/// [`rust_only!`] as a `&str`.
pub const RUST_ONLY: &str = rust_only!();
