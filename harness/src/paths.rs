//! Where the project's own files are: the Python venv `scripts/setup` creates and the
//! built-in scenarios.

use std::path::{Path, PathBuf};

/// The workspace root this binary was built from.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// The Python that has the pinned boto3: `$IMDS_HARNESS_PYTHON` when set, else
/// `.venv/bin/python` in the current directory or one of its parents, else the
/// workspace's `.venv/bin/python`.
pub fn default_python() -> PathBuf {
    if let Some(p) = std::env::var_os("IMDS_HARNESS_PYTHON") {
        return PathBuf::from(p);
    }
    let venv_python = |dir: &Path| dir.join(".venv").join("bin").join("python");
    if let Ok(cwd) = std::env::current_dir() {
        for dir in cwd.ancestors() {
            if venv_python(dir).exists() {
                return venv_python(dir);
            }
        }
    }
    venv_python(&workspace_root())
}

/// The built-in scenario suite: `scenarios/` in the current directory when it exists,
/// else the workspace's.
pub fn default_scenarios() -> PathBuf {
    let local = PathBuf::from("scenarios");
    if local.is_dir() {
        local
    } else {
        workspace_root().join("scenarios")
    }
}
