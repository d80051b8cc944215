//! A run's results out: the table on stdout, the `--json`, `--junit`, `--timeline` and
//! `--html` files, and the exit status they add up to; reading a JSON report back.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use harness::report;
use harness::report::model::{CellOutcome, Report};

use super::error::CliError;
use super::out;

#[derive(clap::Args, Debug)]
pub struct Outputs {
    /// Write the full report (verdicts, schedules, timelines) as JSON.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write JUnit XML: one test case per cell.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Write one SVG timeline per scenario and an index.html into this directory.
    #[arg(long, value_name = "DIR")]
    timeline: Option<PathBuf>,
    /// Write the recovery-matrix page into this directory: `index.html` (self-contained),
    /// with the timelines and each cell's `explain` text beside it.
    #[arg(long, value_name = "DIR")]
    html: Option<PathBuf>,
    /// Exit 2 when a cell was skipped because its driver's toolchain or SDK is not
    /// installed (without it, skipped cells are reported and counted but do not fail the run).
    #[arg(long)]
    require_all_drivers: bool,
}

impl Outputs {
    /// Fails when a report could not be written where asked, before anything runs: a
    /// `--json`/`--junit` file whose folder is missing or is itself a folder, a
    /// `--timeline` path that is a file or cannot be created (it is created now).
    pub fn check(&self) -> Result<(), CliError> {
        for (flag, path) in [("--json", &self.json), ("--junit", &self.junit)] {
            let Some(path) = path else { continue };
            let bad = |why: String| {
                CliError::Setup(format!("{flag} {}: {why}; nothing was run", path.display()))
            };
            if path.is_dir() {
                return Err(bad("is a directory, not a file".into()));
            }
            let parent = match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p,
                _ => Path::new("."),
            };
            if !parent.is_dir() {
                return Err(bad(format!("no directory {}", parent.display())));
            }
            let existed = path.exists();
            std::fs::OpenOptions::new()
                .append(true)
                .create(true)
                .open(path)
                .map_err(|e| bad(format!("cannot write: {e}")))?;
            if !existed {
                let _ = std::fs::remove_file(path);
            }
        }
        if let Some(dir) = &self.timeline {
            std::fs::create_dir_all(dir).map_err(|e| {
                CliError::Setup(format!(
                    "--timeline {}: cannot create the directory: {e}; nothing was run",
                    dir.display()
                ))
            })?;
        }
        Ok(())
    }
}

fn write_outputs(report: &Report, outputs: &Outputs, run_date: &str) -> Result<(), String> {
    let files = report::files::ReportFiles {
        json: outputs.json.as_deref(),
        junit: outputs.junit.as_deref(),
        timeline: outputs.timeline.as_deref(),
        html: outputs.html.as_deref(),
    };
    for (what, path) in report::files::write(report, &files, run_date)? {
        eprintln!("{what}: {}", path.display());
    }
    Ok(())
}

/// `at` as the page shows a run date: `2026-12-02 07:10:00 UTC`.
pub fn run_date(at: std::time::SystemTime) -> String {
    report::files::run_date(at)
}

/// Prints the table, writes the files, and turns the report into the exit status.
/// `run_date` (see [`run_date`]) is when the run happened, for the `--html` page.
pub fn finish(report: &Report, outputs: &Outputs, run_date: &str) -> Result<(), CliError> {
    let tty = std::io::stdout().is_terminal();
    let color = tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    out::print(&report::table::render(
        report,
        color,
        report::terminal::width(tty),
    ));
    write_outputs(report, outputs, run_date).map_err(CliError::Setup)?;
    let skipped = report.cells.iter().filter(|r| r.skipped()).count();
    if report
        .cells
        .iter()
        .any(|r| matches!(r.outcome, CellOutcome::SetupError(_)))
    {
        Err(CliError::CellSetup)
    } else if skipped > 0 && outputs.require_all_drivers {
        Err(CliError::DriversMissing(skipped))
    } else if report.passed {
        Ok(())
    } else {
        Err(CliError::Failed)
    }
}

/// Reads a JSON report.
pub fn read_report(path: &Path) -> Result<Report, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::Setup(format!("cannot read {}: {e}", path.display())))?;
    report::json::from_str(&text).map_err(|e| {
        CliError::Setup(format!(
            "{}: not an imds-harness JSON report: {e}",
            path.display()
        ))
    })
}
