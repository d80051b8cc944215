//! Environments for SDK versions other than the ones the project pins.
//!
//! `boto3@1.34.162`, `aws-cli@1.33.0` and `js-v3@3.26.0` each get an environment of
//! their own in the cache (see [`super::api::DriverSetup::cache_dir`]), created on first use
//! (with a progress line on stderr) and reused afterwards:
//! - Python: a venv with `boto3==V` (or `awscli==V`, `boto3[crt]==V`, `aiobotocore==V`)
//!   and *the botocore that version
//!   requires* (its lowest allowed botocore: a bare `boto3==1.26.0` would pull a newer
//!   botocore and test the wrong thing);
//! - Node: `npm install @aws-sdk/client-sts@V` (or `aws-sdk@V` for `js-v2`) into its
//!   own folder.
//!
//! `@latest` resolves when the environment is created; the report records the version
//! the driver actually loaded. Creation is serialized within the process.

use std::path::{Path, PathBuf};

use tokio::process::Command;
use tokio::sync::Mutex;

use super::api::{DriverError, DriverSetup};
use super::kind::DriverKind;

static CREATING: Mutex<()> = Mutex::const_new(());

/// Finds `program` on `PATH`.
pub fn which(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// The cached environment of `kind` at `version` (`boto3-V`, `boto3-crt-V`,
/// `aiobotocore-V`, `awscli-V`, `client-sts-V`, `aws-sdk-V` under the cache directory); `None` for the pinned version (`None`) and
/// for kinds that take no version.
pub fn env_dir(kind: &DriverKind, version: Option<&str>, setup: &DriverSetup) -> Option<PathBuf> {
    let version = version?;
    let stem = match kind {
        DriverKind::Boto3 => "boto3",
        DriverKind::Boto3Crt => "boto3-crt",
        DriverKind::Aiobotocore => "aiobotocore",
        DriverKind::AwsCli => "awscli",
        DriverKind::JsV3 | DriverKind::JsV2 => js_dir_name(kind),
        DriverKind::RustSdk | DriverKind::Command => return None,
        // One Debian version each: no versioned environment.
        DriverKind::GoV2 | DriverKind::GoV1 | DriverKind::Ruby => return None,
    };
    Some(setup.cache_dir.join(format!("{stem}-{version}")))
}

/// The cache directory stem of a JS kind's versioned environment.
fn js_dir_name(kind: &DriverKind) -> &'static str {
    if *kind == DriverKind::JsV2 {
        "aws-sdk"
    } else {
        "client-sts"
    }
}

/// True when `kind@version`'s environment is in the cache, complete (created earlier;
/// using it builds nothing).
pub fn is_cached(kind: &DriverKind, version: &str, setup: &DriverSetup) -> bool {
    env_dir(kind, Some(version), setup).is_some_and(|dir| dir.join(".ready").exists())
}

/// The botocore requirement of `kind@version` (`<1.30.0,>=1.29.0`) as its cached
/// environment recorded it from the release's wheel when it was created; `None` when
/// not recorded (not a Python kind, not created yet, or created before this was kept).
pub fn botocore_requirement(
    kind: &DriverKind,
    version: &str,
    setup: &DriverSetup,
) -> Option<String> {
    let dir = env_dir(kind, Some(version), setup)?;
    let text = std::fs::read_to_string(dir.join("botocore-requirement.txt")).ok()?;
    Some(text.trim().to_string()).filter(|t| !t.is_empty())
}

/// Installs `boto3==V` (or `awscli==V`) with its own botocore; run with the new venv's
/// Python, prints nothing on success. The botocore requirement read from the release's
/// wheel (`Requires-Dist`) is kept in the venv as `botocore-requirement.txt`.
const INSTALL_PY: &str = r#"
import email, os, subprocess, sys, tempfile, zipfile, glob, re
package, version = sys.argv[1], sys.argv[2]
pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input", "-q"]
if version == "latest":
    subprocess.check_call(pip + ["install", package])
    sys.exit(0)
with tempfile.TemporaryDirectory() as tmp:
    subprocess.check_call(pip + ["download", "--no-deps", "-d", tmp, "%s==%s" % (package, version)])
    wheel = glob.glob(tmp + "/*.whl")
    pins = []
    if wheel:
        with zipfile.ZipFile(wheel[0]) as z:
            meta = [n for n in z.namelist() if n.endswith(".dist-info/METADATA")][0]
            for req in email.message_from_bytes(z.read(meta)).get_all("Requires-Dist") or []:
                if "extra ==" in req:
                    continue  # botocore[crt] for the `crt` extra
                m = re.match(r"botocore\s*\(?\s*([<>=!~][^;)]*)", req)
                if m:
                    spec = m.group(1)
                    with open(os.path.join(sys.prefix, "botocore-requirement.txt"), "w") as f:
                        f.write(spec.replace(" ", "") + "\n")
                    low = re.search(r"(?:>=|==)\s*([0-9.]+)", spec)
                    if low:
                        pins.append("botocore==" + low.group(1))
    subprocess.check_call(pip + ["install", "%s==%s" % (package, version)] + pins)
"#;

async fn run(cmd: &mut Command, what: &str, kind: &DriverKind) -> Result<(), DriverError> {
    let out = cmd.output().await.map_err(|e| DriverError::Start {
        driver: kind.clone(),
        message: format!("{what}: {e}"),
    })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(DriverError::Start {
            driver: kind.clone(),
            message: format!(
                "{what} failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
                    .trim()
                    .lines()
                    .last()
                    .unwrap_or("")
            ),
        })
    }
}

/// The Python for `kind` (`boto3`, `aws-cli`, `boto3-crt`, `aiobotocore`) at `version`: the project's venv when
/// `None`, else the cached venv for that version (created now if needed).
///
/// # Errors
/// [`DriverError::Start`] when the environment cannot be created (no network to PyPI,
/// no such version).
pub async fn python_for(
    kind: DriverKind,
    version: Option<&str>,
    setup: &DriverSetup,
) -> Result<PathBuf, DriverError> {
    let Some(version) = version else {
        return Ok(match kind {
            DriverKind::Boto3Crt => setup.python_crt.clone(),
            DriverKind::Aiobotocore => setup.python_aio.clone(),
            _ => setup.python.clone(),
        });
    };
    let (package, dir_name) = match kind {
        DriverKind::AwsCli => ("awscli", "awscli"),
        // boto3's `crt` extra pulls botocore[crt], i.e. the awscrt that botocore pins.
        DriverKind::Boto3Crt => ("boto3[crt]", "boto3-crt"),
        DriverKind::Aiobotocore => ("aiobotocore", "aiobotocore"),
        _ => ("boto3", "boto3"),
    };
    let dir = env_dir(&kind, Some(version), setup)
        .unwrap_or_else(|| setup.cache_dir.join(format!("{dir_name}-{version}")));
    let python = dir.join("bin").join("python");
    let ready = dir.join(".ready");
    let _creating = CREATING.lock().await;
    if ready.exists() {
        return Ok(python);
    }
    eprintln!(
        "creating an environment for {package} {version} in {} (first use)…",
        dir.display()
    );
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&setup.cache_dir).map_err(|e| DriverError::Start {
        driver: kind.clone(),
        message: format!("cannot create {}: {e}", setup.cache_dir.display()),
    })?;
    let base = which("python3").unwrap_or_else(|| PathBuf::from("python3"));
    run(
        Command::new(base).arg("-m").arg("venv").arg(&dir),
        "creating the venv",
        &kind,
    )
    .await?;
    run(
        Command::new(&python)
            .arg("-c")
            .arg(INSTALL_PY)
            .arg(package)
            .arg(version),
        &format!("installing {package}=={version}"),
        &kind,
    )
    .await?;
    touch(&ready, &kind)?;
    Ok(python)
}

/// The folder whose `node_modules` has `kind`'s package (`js-v3`: `@aws-sdk/client-sts`,
/// `js-v2`: `aws-sdk`) at `version` (the project's pinned one when `None`).
///
/// # Errors
/// [`DriverError::Start`] when npm cannot install it.
pub async fn js_dir_for(
    kind: DriverKind,
    version: Option<&str>,
    setup: &DriverSetup,
) -> Result<PathBuf, DriverError> {
    let Some(version) = version else {
        return Ok(setup.js_dir.clone());
    };
    let package = super::js::package_of(&kind);
    let dir = env_dir(&kind, Some(version), setup).unwrap_or_else(|| {
        setup
            .cache_dir
            .join(format!("{}-{version}", js_dir_name(&kind)))
    });
    let ready = dir.join(".ready");
    let _creating = CREATING.lock().await;
    if ready.exists() {
        return Ok(dir);
    }
    eprintln!(
        "creating an environment for {package} {version} in {} (first use)…",
        dir.display()
    );
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| DriverError::Start {
        driver: kind.clone(),
        message: format!("cannot create {}: {e}", dir.display()),
    })?;
    std::fs::write(dir.join("package.json"), "{\"private\": true}\n").map_err(|e| {
        DriverError::Start {
            driver: kind.clone(),
            message: e.to_string(),
        }
    })?;
    let npm = which("npm").ok_or_else(|| DriverError::Start {
        driver: kind.clone(),
        message: "`npm` is not on PATH".into(),
    })?;
    run(
        Command::new(npm)
            .current_dir(&dir)
            .args(["install", "--no-audit", "--no-fund", "--loglevel=error"])
            .arg(format!("{package}@{version}")),
        &format!("npm install {package}@{version}"),
        &kind,
    )
    .await?;
    touch(&ready, &kind)?;
    Ok(dir)
}

fn touch(path: &Path, kind: &DriverKind) -> Result<(), DriverError> {
    std::fs::write(path, "").map_err(|e| DriverError::Start {
        driver: kind.clone(),
        message: format!("cannot write {}: {e}", path.display()),
    })
}
