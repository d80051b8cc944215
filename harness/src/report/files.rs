//! A report written to the files a run asks for: the JSON report, JUnit XML, the timeline
//! pictures and the recovery-matrix page. One place for `run`, `merge` and the suite's CI
//! run (`tests/sdk_trap.rs`), so they write the same files the same way.

use std::path::{Path, PathBuf};

use super::model::Report;

/// Where to write each report; `None` skips it.
#[derive(Debug, Default, Clone, Copy)]
pub struct ReportFiles<'a> {
    /// The full report as JSON (schema in [`super::json`]).
    pub json: Option<&'a Path>,
    /// JUnit XML: one test case per cell.
    pub junit: Option<&'a Path>,
    /// A directory for one SVG timeline per scenario and an `index.html`.
    pub timeline: Option<&'a Path>,
    /// A directory for the recovery-matrix page (`index.html`, timelines, explain texts).
    pub html: Option<&'a Path>,
}

/// Writes `report` to every file `files` names; `run_date` (see [`run_date`]) is printed
/// on the page. Returns what was written, as `(what, path)` for the caller to announce.
///
/// # Errors
/// The first file that could not be written, naming it and the I/O error.
pub fn write(
    report: &Report,
    files: &ReportFiles<'_>,
    run_date: &str,
) -> Result<Vec<(&'static str, PathBuf)>, String> {
    let mut written = Vec::new();
    if let Some(path) = files.json {
        let text = super::json::to_string(report).map_err(|e| e.to_string())?;
        std::fs::write(path, text)
            .map_err(|e| format!("cannot write JSON report to {}: {e}", path.display()))?;
        written.push(("JSON report", path.to_path_buf()));
    }
    if let Some(path) = files.junit {
        let text = super::junit::to_string(report).map_err(|e| e.to_string())?;
        std::fs::write(path, text)
            .map_err(|e| format!("cannot write JUnit report to {}: {e}", path.display()))?;
        written.push(("JUnit report", path.to_path_buf()));
    }
    if let Some(dir) = files.timeline {
        super::svg::write_all(report, dir)
            .map_err(|e| format!("cannot write timelines to {}: {e}", dir.display()))?;
        written.push(("timelines", dir.join("index.html")));
    }
    if let Some(dir) = files.html {
        let info = super::html::PageInfo {
            run_date: run_date.to_string(),
        };
        let page = super::html::write(report, dir, &info)
            .map_err(|e| format!("cannot write the recovery matrix to {}: {e}", dir.display()))?;
        written.push(("recovery matrix", page));
    }
    Ok(written)
}

/// `at` as the page shows a run date: `2026-12-02 07:10:00 UTC`.
pub fn run_date(at: std::time::SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(at)
        .format("%Y-%m-%d %H:%M:%S UTC")
        .to_string()
}
