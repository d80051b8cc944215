//! The `go-v2` and `go-v1` drivers: the AWS SDK for Go v2 (aws-sdk-go-v2 1.17.1) or v1
//! (aws-sdk-go 1.44.133), Debian's single versions, in a long-lived Go child speaking
//! JSON lines (`drivers/go/`: `protocol.go` and `guard.go`, shared, plus `v2.go` or
//! `v1.go`), one per cell.
//!
//! The program is built once per source text, offline, against Debian's Go libraries
//! (`GO111MODULE=off GOPATH=/usr/share/gocode`), into
//! `<cache>/go-drivers/<kind>-<hash>/driver`, where `<hash>` is the first 16 hex digits
//! of the SHA-256 of the three files in that order ([`binary`]): an edited driver is
//! rebuilt, an unchanged one is reused. `scripts/setup` builds both the same way. The
//! runner builds before any cell starts ([`super::prepare`]), so the 5-20 s first build
//! never competes with a cell's timing.
//!
//! Network safety: Go v2 1.17.1 ignores `AWS_ENDPOINT_URL_STS` (measured by the issue's
//! author), so the STS endpoint is set in code, and every connection goes through a
//! dialer that refuses non-loopback addresses (`guard.go`).

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use tokio::process::Command;
use tokio::sync::Mutex;

use super::api::{DriverError, DriverSetup};
use super::child::{sanitized_command, JsonLinesChild};
use super::jsonl::JsonLinesDriver;
use super::kind::DriverKind;

/// The protocol loop both Go drivers share.
pub const PROTOCOL: &str = include_str!("../../drivers/go/protocol.go");
/// The loopback guard both Go drivers share.
pub const GUARD: &str = include_str!("../../drivers/go/guard.go");
/// The go-v2 driver's SDK side.
pub const V2: &str = include_str!("../../drivers/go/v2.go");
/// The go-v1 driver's SDK side.
pub const V1: &str = include_str!("../../drivers/go/v1.go");

/// Where Debian's Go libraries are (the `golang-github-aws-aws-sdk-go*-dev` packages).
pub const GOPATH: &str = "/usr/share/gocode";

/// What installs the toolchain and the SDK of `kind` (Debian packages, as root).
pub fn install_command(kind: &DriverKind) -> &'static str {
    match kind {
        DriverKind::GoV1 => "apt-get install golang-go golang-github-aws-aws-sdk-go-dev",
        _ => "apt-get install golang-go golang-github-aws-aws-sdk-go-v2-dev",
    }
}

/// The source files of `kind`'s program, by file name, in build (and hash) order.
pub fn sources(kind: &DriverKind) -> [(&'static str, &'static str); 3] {
    let sdk = if *kind == DriverKind::GoV1 {
        ("v1.go", V1)
    } else {
        ("v2.go", V2)
    };
    [("protocol.go", PROTOCOL), ("guard.go", GUARD), sdk]
}

/// The built program of `kind` under `cache_dir` (it may not exist yet).
pub fn binary(kind: &DriverKind, cache_dir: &Path) -> PathBuf {
    let mut hash = Sha256::new();
    for (_, text) in sources(kind) {
        hash.update(text.as_bytes());
    }
    let hex: String = hash.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    cache_dir
        .join("go-drivers")
        .join(format!("{kind}-{hex}"))
        .join("driver")
}

static BUILDING: Mutex<()> = Mutex::const_new(());

/// The program of `kind`, built now if this source text has not been built yet.
///
/// # Errors
/// [`DriverError::Start`] naming the install command when `go` or the SDK's Debian
/// package is missing, or with the compiler's output when the build fails.
pub async fn build(kind: &DriverKind, setup: &DriverSetup) -> Result<PathBuf, DriverError> {
    let start_err = |message: String| DriverError::Start {
        driver: kind.clone(),
        message,
    };
    let program = binary(kind, &setup.cache_dir);
    let _building = BUILDING.lock().await;
    if program.is_file() {
        return Ok(program);
    }
    let install = install_command(kind);
    let go = super::envs::which("go").ok_or_else(|| DriverError::Unavailable {
        driver: kind.clone(),
        reason: "`go` is not on PATH (the Go toolchain and the SDK are Debian packages)".into(),
        install: format!("{install} (as root; scripts/setup does)"),
    })?;
    let library = if *kind == DriverKind::GoV1 {
        "aws-sdk-go"
    } else {
        "aws-sdk-go-v2"
    };
    let sdk_dir = Path::new(GOPATH).join("src/github.com/aws").join(library);
    if !sdk_dir.is_dir() {
        return Err(DriverError::Unavailable {
            driver: kind.clone(),
            reason: format!("{} is missing", sdk_dir.display()),
            install: format!("{install} (as root; scripts/setup does)"),
        });
    }
    let dir = program.parent().unwrap_or(&setup.cache_dir).to_path_buf();
    std::fs::create_dir_all(&dir)
        .map_err(|e| start_err(format!("cannot create {}: {e}", dir.display())))?;
    let mut cmd = Command::new(go);
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &dir)
        .env("GO111MODULE", "off")
        .env("GOPATH", GOPATH)
        .env("GOCACHE", setup.cache_dir.join("go-build"))
        .env("CGO_ENABLED", "0")
        .env("GOFLAGS", "")
        .current_dir(&dir)
        .args(["build", "-o", "driver.partial"]);
    for (name, text) in sources(kind) {
        std::fs::write(dir.join(name), text)
            .map_err(|e| start_err(format!("writing {name}: {e}")))?;
        cmd.arg(name);
    }
    eprintln!(
        "building the {kind} driver in {} (first use)…",
        dir.display()
    );
    let out = cmd
        .output()
        .await
        .map_err(|e| start_err(format!("running go build: {e}")))?;
    if !out.status.success() {
        return Err(start_err(format!(
            "go build failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    std::fs::rename(dir.join("driver.partial"), &program)
        .map_err(|e| start_err(format!("cannot move the driver into place: {e}")))?;
    Ok(program)
}

/// Builds (on first use) and spawns `kind`'s program, and waits (at most `timeout`, also
/// the limit for each later operation) for its greeting.
///
/// # Errors
/// [`DriverError::Start`] as for [`build`], or when the program does not greet.
pub async fn start(
    kind: &DriverKind,
    setup: &DriverSetup,
    env: &[(String, String)],
) -> Result<JsonLinesDriver, DriverError> {
    let program = build(kind, setup).await?;
    let home = tempfile::Builder::new()
        .prefix("imds-harness-go-")
        .tempdir()
        .map_err(|e| DriverError::Start {
            driver: kind.clone(),
            message: format!("temporary HOME: {e}"),
        })?;
    let mut cmd = sanitized_command(&program, home.path()).map_err(|e| DriverError::Start {
        driver: kind.clone(),
        message: e.to_string(),
    })?;
    // `env` is never libfaketime's here (a cell that moves the clock refuses Go drivers):
    // a link-local cell's guard variables.
    cmd.envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let child = JsonLinesChild::spawn(kind.clone(), cmd)?;
    JsonLinesDriver::greet(
        kind.clone(),
        child,
        home,
        &program.display().to_string(),
        setup.operation_timeout,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `scripts/setup` names the program `KIND-HASH` with `cat FILES | sha256sum | cut
    /// -c1-16`: the harness must find what setup built.
    #[test]
    fn binary_path_is_the_one_scripts_setup_builds() {
        let dir = crate::paths::workspace_root().join("harness/drivers/go");
        for (kind, sdk) in [(DriverKind::GoV2, "v2.go"), (DriverKind::GoV1, "v1.go")] {
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!(
                    "cat protocol.go guard.go {sdk} | sha256sum | cut -c1-16"
                ))
                .current_dir(&dir)
                .output()
                .unwrap();
            let hash = String::from_utf8(out.stdout).unwrap();
            let path = binary(&kind, Path::new("/cache"));
            assert_eq!(
                path,
                Path::new("/cache/go-drivers")
                    .join(format!("{kind}-{}", hash.trim()))
                    .join("driver")
            );
        }
    }
}
