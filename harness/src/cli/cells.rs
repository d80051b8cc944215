//! Running planned cells from the command line: the async runtime, a progress bar (or a
//! line per cell in CI logs), and stopping every driver on Ctrl-C.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use harness::driver::DriverSetup;
use harness::paths;
use harness::report::model::{CellOutcome, CellResult};
use harness::runner::{self, PlannedCell, RunOptions};

use super::error::CliError;
use super::select::plural;

/// A multi-threaded runtime with every driver.
pub fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Setup(format!("cannot start the async runtime: {e}")))
}

/// A future that completes on SIGINT (Ctrl-C). The handler is installed when this
/// function returns, not when the future is first polled. Must run inside the runtime.
pub fn interrupt_listener() -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::interrupt()) {
            Ok(mut sigint) => Box::pin(async move {
                sigint.recv().await;
            }),
            Err(e) => {
                eprintln!("warning: cannot listen for Ctrl-C: {e}");
                Box::pin(std::future::pending())
            }
        }
    }
    #[cfg(not(unix))]
    {
        Box::pin(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}

/// Cells per CPU run at once by default: 8 (16 on 2 cores).
///
/// Cells mostly wait (on schedules and timeouts), so several per core. It was 32, the whole
/// 184-cell suite at once: on a fresh clone of 2026-12-02, right after the build, that left
/// 4 AWS CLI cells inconclusive (a CLI process, Python start-up per call, first reached IMDS
/// 4.6–9 s into a 4 s opening outage), so a new user's first `./scripts/suite` exited 1.
/// At 16 the 340-cell suite of a fresh clone's first `./scripts/suite` left one cell
/// inconclusive (a clock step 200 ms late); at 8 the suite's test (`tests/sdk_trap.rs`,
/// the same cells) held every expectation on a fresh clone.
pub const JOBS_PER_CPU: usize = 4;

/// How to run: `jobs` cells at a time (default: [`JOBS_PER_CPU`] × the CPU count), child drivers with
/// `python` (default: the project's), each operation bounded by `operation_timeout`.
pub fn options(
    jobs: Option<u16>,
    python: Option<PathBuf>,
    operation_timeout: Duration,
) -> RunOptions {
    RunOptions {
        jobs: jobs.map_or_else(
            || std::thread::available_parallelism().map_or(16, |n| n.get() * JOBS_PER_CPU),
            usize::from,
        ),
        setup: DriverSetup {
            operation_timeout,
            ..DriverSetup::with_python(python.unwrap_or_else(paths::default_python))
        },
    }
}

fn progress_line(result: &CellResult, done: usize, total: usize) -> String {
    let what = match &result.outcome {
        CellOutcome::Ran(run) => {
            let v = &run.verdict;
            // The same words as the table: the worst outage's outcome, and calls accepted.
            let recovered = format!(
                "{}, {} calls accepted",
                harness::report::wording::outcome_text(v),
                v.availability_text()
            );
            let expected = if !run.inconclusive.is_empty() {
                ", INCONCLUSIVE (a harness result, not an SDK verdict)"
            } else if run.checks.is_empty() {
                ""
            } else if result.passed() {
                ", as expected"
            } else {
                ", NOT as expected"
            };
            format!("{recovered}{expected}")
        }
        CellOutcome::SetupError(_) => "setup error".into(),
        CellOutcome::DriverError(_) => "driver error".into(),
        CellOutcome::Skipped(s) => format!("skipped ({}; install: {})", s.reason, s.install),
    };
    format!(
        "[{done}/{total}] {} {}: {what}",
        result.scenario, result.cell
    )
}

/// Runs `cells` with progress lines; `None` when interrupted (the runtime is dropped,
/// which stops every driver process and removes their temporary homes).
pub fn run_cells(
    cells: Vec<PlannedCell>,
    options: &RunOptions,
) -> Result<Option<Vec<CellResult>>, CliError> {
    let runtime = runtime()?;
    let total = cells.len();
    eprintln!(
        "running {}, {} at a time…",
        plural(total, "cell"),
        options.jobs
    );
    // A bar on a terminal; a line per finished cell in CI logs.
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(total as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{elapsed:>4} [{bar:30}] {pos}/{len} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar
    });
    let progress = |r: &CellResult, done: usize| match &bar {
        Some(bar) => {
            bar.set_position(done as u64);
            bar.set_message(progress_line(r, done, total));
        }
        None => eprintln!("{}", progress_line(r, done, total)),
    };
    let results = runtime.block_on(async {
        // Listen for Ctrl-C before the first driver starts: a SIGINT that arrived before
        // the listener would kill this process and orphan the drivers.
        let interrupted = interrupt_listener();
        tokio::select! {
            results = runner::run_planned(cells, options, &progress) => Some(results),
            _ = interrupted => None,
        }
    });
    drop(runtime);
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok(results)
}
