//! Where the project's own files are: the Python venv `scripts/setup` creates and the
//! built-in scenarios.

use std::path::{Path, PathBuf};

/// The workspace root this binary was built from.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// The Python that has the pinned boto3: `$IMDS_HARNESS_PYTHON` when set, else the
/// workspace's `.venv/bin/python` (what `scripts/setup` creates). Never a `.venv` that
/// merely happens to be in the current directory.
pub fn default_python() -> PathBuf {
    if let Some(p) = std::env::var_os("IMDS_HARNESS_PYTHON") {
        return PathBuf::from(p);
    }
    workspace_root().join(".venv").join("bin").join("python")
}

/// The Python of the workspace's venv `name` (`.venv-crt`, `.venv-aio`: `scripts/setup`
/// creates them next to `.venv`).
pub fn venv_python(name: &str) -> PathBuf {
    workspace_root().join(name).join("bin").join("python")
}

/// Where environments for other SDK versions are kept: `$IMDS_HARNESS_CACHE`, else
/// `$XDG_CACHE_HOME/imds-harness`, else `~/.cache/imds-harness`.
pub fn default_cache() -> PathBuf {
    if let Some(dir) = std::env::var_os("IMDS_HARNESS_CACHE") {
        return PathBuf::from(dir);
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("imds-harness")
}

/// The built-in scenario suite: the workspace's `scenarios/`, wherever the command runs.
pub fn default_scenarios() -> PathBuf {
    workspace_root().join("scenarios")
}
