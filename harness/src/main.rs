//! `imds-harness`: run scenario files against real SDKs and print the verdict table.
//!
//! Exit status: 0 when every expectation holds, 1 when one does not (or a driver broke
//! mid-run: crashed, hung past `--operation-timeout`, or printed something that is not
//! the protocol), 2 on bad input or a setup problem (invalid scenario, missing Python
//! venv, a driver that could not start), 130 when interrupted (every driver process is
//! stopped first and its temporary home removed).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use harness::driver::DriverSetup;
use harness::runner::{self, CellOutcome, CellResult, RunOptions};
use harness::scenario::{self, Scenario};
use harness::verdict::fmt_ms;
use harness::{paths, report};

/// Drives real AWS SDK clients through EC2 IMDS outages and prints, per SDK and retry
/// strategy, whether they recover, how fast, and with which credentials.
#[derive(Parser, Debug)]
#[command(
    version,
    about,
    after_help = "Examples:\n  imds-harness run                       # the built-in suite in scenarios/\n  imds-harness run scenarios/trap-refuse.toml --json report.json\n  imds-harness validate my-scenario.toml\n\nExit status: 0 every expectation holds, 1 one does not, 2 bad input or setup problem."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run scenarios and print the verdict table.
    Run {
        /// Scenario files or directories of `*.toml` (default: the built-in `scenarios/`).
        paths: Vec<PathBuf>,
        /// Also write the full report (verdicts and timelines) as JSON to this file.
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
        /// Cells run at the same time, at most (default: twice the CPU count).
        #[arg(long, short = 'j', value_parser = clap::value_parser!(u16).range(1..))]
        jobs: Option<u16>,
        /// Python with the pinned boto3 (default: $IMDS_HARNESS_PYTHON, else the project's .venv/bin/python).
        #[arg(long, value_name = "PATH")]
        python: Option<PathBuf>,
        /// Seed for schedule generators and fault probabilities (default: each file's `seed`, else 0).
        #[arg(long)]
        seed: Option<u64>,
        /// Longest a driver may take to start or to answer one operation before it counts as hung and its cell fails as a driver error, e.g. `2s`, `90s`.
        #[arg(long, value_name = "DURATION", env = "IMDS_HARNESS_OPERATION_TIMEOUT", default_value = "60s", value_parser = parse_timeout)]
        operation_timeout: Duration,
    },
    /// Check scenario files without running them.
    Validate {
        /// Scenario files or directories (default: the built-in `scenarios/`).
        paths: Vec<PathBuf>,
    },
}

/// A positive duration such as `2s` or `500ms`.
fn parse_timeout(text: &str) -> Result<Duration, String> {
    match humantime::parse_duration(text) {
        Ok(d) if d.is_zero() => Err("must be longer than zero".into()),
        Ok(d) => Ok(d),
        Err(e) => Err(format!("not a duration like \"2s\" or \"500ms\": {e}")),
    }
}

fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

/// Loads every file; returns the good ones and the error lines of the bad ones.
fn load_all(paths: Vec<PathBuf>, seed: Option<u64>) -> (Vec<Scenario>, Vec<String>) {
    let paths = if paths.is_empty() {
        vec![paths::default_scenarios()]
    } else {
        paths
    };
    let files = match scenario::discover(&paths) {
        Ok(files) => files,
        Err(e) => return (Vec::new(), vec![e.to_string()]),
    };
    if files.is_empty() {
        let listed = paths
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ");
        return (
            Vec::new(),
            vec![format!("no scenario files (*.toml) in {listed}")],
        );
    }
    let mut scenarios = Vec::new();
    let mut errors = Vec::new();
    for file in files {
        match scenario::load_with_seed(&file, seed) {
            Ok(s) => scenarios.push(s),
            Err(e) => errors.push(e.to_string()),
        }
    }
    for s in &scenarios {
        for w in &s.warnings {
            eprintln!("warning: {w}");
        }
    }
    (scenarios, errors)
}

/// Removes `AWS_*` variables from this process's environment so the in-process Rust SDK
/// driver can never pick up a real credential or setting of the user's.
fn sanitize_own_environment() {
    let names: Vec<_> = std::env::vars_os()
        .filter_map(|(k, _)| {
            k.to_str()
                .filter(|k| k.starts_with("AWS_"))
                .map(str::to_string)
        })
        .collect();
    for name in names {
        std::env::remove_var(name);
    }
}

fn progress_line(result: &CellResult, done: usize, total: usize) -> String {
    let what = match &result.outcome {
        CellOutcome::Ran(run) => {
            let v = &run.verdict;
            let recovered = match v.recovery_time {
                Some(t) if v.recovered => format!("recovered {} after IMDS", fmt_ms(t)),
                _ => format!(
                    "did not recover in {}",
                    plural(v.attempts as usize, "attempt")
                ),
            };
            let expected = if run.checks.is_empty() {
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
    };
    format!(
        "[{done}/{total}] {} {}: {what}",
        result.scenario, result.cell
    )
}

/// A future that completes on SIGINT (Ctrl-C). The handler is installed when this
/// function returns, not when the future is first polled. Must run inside the runtime.
fn interrupt_listener() -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
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

fn main() -> ExitCode {
    sanitize_own_environment();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match cli.command {
        Command::Validate { paths } => {
            let (scenarios, errors) = load_all(paths, None);
            for s in &scenarios {
                println!(
                    "{}: ok ({}, {})",
                    s.file.display(),
                    plural(s.cells.len(), "cell"),
                    plural(s.expectations.len(), "expectation")
                );
            }
            for e in &errors {
                eprintln!("{e}");
            }
            if errors.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            }
        }
        Command::Run {
            paths,
            json,
            jobs,
            python,
            seed,
            operation_timeout,
        } => {
            let (scenarios, errors) = load_all(paths, seed);
            if !errors.is_empty() {
                for e in errors {
                    eprintln!("{e}");
                }
                return ExitCode::from(2);
            }
            let jobs = jobs.map_or_else(
                || std::thread::available_parallelism().map_or(2, |n| n.get() * 2),
                usize::from,
            );
            let options = RunOptions {
                jobs,
                setup: DriverSetup {
                    python: python.unwrap_or_else(paths::default_python),
                    operation_timeout,
                },
            };
            let total: usize = scenarios.iter().map(|s| s.cells.len()).sum();
            eprintln!(
                "running {} from {}, {jobs} at a time…",
                plural(total, "cell"),
                plural(scenarios.len(), "scenario")
            );
            let progress =
                |r: &CellResult, done: usize| eprintln!("{}", progress_line(r, done, total));
            let results = runtime.block_on(async {
                // Listen for Ctrl-C before the first driver starts: a SIGINT that arrived
                // before the listener would kill this process and orphan the drivers.
                let interrupted = interrupt_listener();
                tokio::select! {
                    results = runner::run_all(&scenarios, &options, &progress) => Some(results),
                    _ = interrupted => None,
                }
            });
            // Dropping the runtime stops every cell: driver processes are killed and
            // their temporary homes removed.
            drop(runtime);
            let Some(results) = results else {
                eprintln!("interrupted: every driver process was stopped");
                return ExitCode::from(130);
            };
            print!(
                "{}",
                report::table::render(&scenarios, &results, std::io::stdout().is_terminal())
            );
            if let Some(path) = json {
                let written = report::json::to_string(&scenarios, &results)
                    .map_err(|e| e.to_string())
                    .and_then(|text| std::fs::write(&path, text).map_err(|e| e.to_string()));
                if let Err(e) = written {
                    eprintln!("error: cannot write JSON report to {}: {e}", path.display());
                    return ExitCode::from(2);
                }
                eprintln!("JSON report: {}", path.display());
            }
            if results
                .iter()
                .any(|r| matches!(r.outcome, CellOutcome::SetupError(_)))
            {
                ExitCode::from(2)
            } else if results.iter().all(CellResult::passed) {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
    }
}
