//! `imds-harness`: run scenario files against real SDKs and print the verdict table.
//!
//! Exit status: 0 when every expectation holds, 1 when one does not (or a driver broke
//! mid-run), 2 on bad input or a setup problem (invalid scenario, missing Python venv),
//! 130 when interrupted (every driver process is stopped first). `exec` exits with the
//! command's own status.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};
use harness::driver::DriverSetup;
use harness::ms::fmt_ms;
use harness::report::explain;
use harness::report::json::Report;
use harness::report::model::{CellOutcome, CellResult};
use harness::runner::{self, RunOptions, Selection};
use harness::scenario::{self, Scenario};
use harness::{exec, paths, report};

const EXAMPLES: &str = "Examples:
  imds-harness run                                  # the built-in suite in scenarios/
  imds-harness run --filter 'trap-*/boto3/*' --junit junit.xml --timeline timelines/
  imds-harness run --shard 2/3 --json shard-2.json  # one of three CI runners
  imds-harness merge shard-*.json --junit junit.xml # …and the combined result
  imds-harness explain trap-refuse/boto3/call-retry # one cell's events and a diagnosis
  imds-harness exec --schedule 'refuse 0s..5s' -- python3 app.py
  imds-harness validate my-scenario.toml

Exit status: 0 every expectation holds, 1 one does not, 2 bad input or setup problem.";

/// Drives real AWS SDK clients through EC2 IMDS outages and prints, per SDK and retry
/// strategy, whether they recover, how fast, and with which credentials.
#[derive(Parser, Debug)]
#[command(version, about, after_help = EXAMPLES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Debug)]
struct Outputs {
    /// Write the full report (verdicts, schedules, timelines) as JSON.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write JUnit XML: one test case per cell.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Write one SVG timeline per scenario and an index.html into this directory.
    #[arg(long, value_name = "DIR")]
    timeline: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
struct Select {
    /// Scenario files or directories of `*.toml` (default: the built-in `scenarios/`).
    paths: Vec<PathBuf>,
    /// Only cells whose `scenario/driver/strategy` matches this glob, e.g. `trap-*/boto3/*`.
    #[arg(long, value_name = "GLOB")]
    filter: Option<String>,
    /// Only shard I of N (e.g. `2/3`): a deterministic split of the cells for N CI runners.
    #[arg(long, value_name = "I/N", value_parser = parse_shard)]
    shard: Option<(usize, usize)>,
    /// Seed for schedule generators and fault probabilities (default: each file's `seed`, else 0).
    #[arg(long)]
    seed: Option<u64>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run scenarios and print the verdict table.
    Run {
        #[command(flatten)]
        select: Select,
        #[command(flatten)]
        outputs: Outputs,
        /// Cells run at the same time, at most (default: 32 × the CPU count, so the built-in
        /// suite runs all at once; lower it on a busy machine).
        #[arg(long, short = 'j', value_parser = clap::value_parser!(u16).range(1..))]
        jobs: Option<u16>,
        /// Python with the pinned boto3 (default: $IMDS_HARNESS_PYTHON, else the project's .venv/bin/python).
        #[arg(long, value_name = "PATH")]
        python: Option<PathBuf>,
        /// Longest a driver may take to start or to answer one operation before it counts as hung and its cell fails as a driver error, e.g. `2s`, `90s`.
        #[arg(long, value_name = "DURATION", env = "IMDS_HARNESS_OPERATION_TIMEOUT", default_value = "60s", value_parser = parse_timeout)]
        operation_timeout: std::time::Duration,
    },
    /// List the scenarios and their cells (after --filter and --shard).
    List {
        #[command(flatten)]
        select: Select,
    },
    /// Show one cell's full event log, ending in a diagnosis: from a JSON report, or by
    /// running the cell now.
    Explain {
        /// The cell: `scenario/driver/strategy` (a glob matching exactly one cell).
        cell: String,
        /// Read the cell from this JSON report instead of running it.
        #[arg(long, value_name = "FILE")]
        report: Option<PathBuf>,
        /// Scenario files or directories (default: the built-in `scenarios/`).
        #[arg(long = "scenarios", value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// Python with the pinned boto3.
        #[arg(long, value_name = "PATH")]
        python: Option<PathBuf>,
    },
    /// Check scenario files without running them.
    Validate {
        /// Scenario files or directories (default: the built-in `scenarios/`).
        paths: Vec<PathBuf>,
    },
    /// Combine the JSON reports of shards into one table (and JSON, JUnit, timelines).
    Merge {
        /// The shards' JSON reports.
        #[arg(required = true)]
        reports: Vec<PathBuf>,
        #[command(flatten)]
        outputs: Outputs,
    },
    /// Run any command through an IMDS outage and show what IMDS and STS saw.
    Exec {
        /// A fault window `FAULT START..END`, e.g. `refuse 0s..5s`; repeatable.
        #[arg(long = "schedule", value_name = "WINDOW")]
        windows: Vec<String>,
        /// A schedule file (TOML `[[schedule]]` steps, as in scenarios).
        #[arg(long, value_name = "FILE")]
        schedule_file: Option<PathBuf>,
        /// IMDSv2 only (`HttpTokens=required`).
        #[arg(long)]
        imdsv2_only: bool,
        /// The command and its arguments, after `--`.
        #[arg(last = true, required = true)]
        command: Vec<String>,
    },
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// A positive duration such as `2s` or `500ms`.
fn parse_timeout(text: &str) -> Result<std::time::Duration, String> {
    match humantime::parse_duration(text) {
        Ok(d) if d.is_zero() => Err("must be longer than zero".into()),
        Ok(d) => Ok(d),
        Err(e) => Err(format!("not a duration like \"2s\" or \"500ms\": {e}")),
    }
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

fn parse_shard(text: &str) -> Result<(usize, usize), String> {
    let err = || format!("`{text}` is not a shard: write I/N with 1 <= I <= N, e.g. 2/3");
    let (i, n) = text.split_once('/').ok_or_else(err)?;
    let (i, n): (usize, usize) = (
        i.trim().parse().map_err(|_| err())?,
        n.trim().parse().map_err(|_| err())?,
    );
    if n == 0 || i == 0 || i > n {
        return Err(err());
    }
    Ok((i, n))
}

fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

/// Loads every file; returns the good ones and the error lines of the bad ones.
fn load_all(paths: &[PathBuf], seed: Option<u64>) -> (Vec<Scenario>, Vec<String>) {
    let paths = if paths.is_empty() {
        vec![paths::default_scenarios()]
    } else {
        paths.to_vec()
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

fn load_or_exit(paths: &[PathBuf], seed: Option<u64>) -> Result<Vec<Scenario>, ExitCode> {
    let (scenarios, errors) = load_all(paths, seed);
    if errors.is_empty() {
        Ok(scenarios)
    } else {
        for e in errors {
            eprintln!("{e}");
        }
        Err(ExitCode::from(2))
    }
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
    };
    format!(
        "[{done}/{total}] {} {}: {what}",
        result.scenario, result.cell
    )
}

fn write_outputs(report: &Report, outputs: &Outputs) -> Result<(), String> {
    if let Some(path) = &outputs.json {
        let text = report::json::to_string(report).map_err(|e| e.to_string())?;
        std::fs::write(path, text)
            .map_err(|e| format!("cannot write JSON report to {}: {e}", path.display()))?;
        eprintln!("JSON report: {}", path.display());
    }
    if let Some(path) = &outputs.junit {
        let text = report::junit::to_string(report).map_err(|e| e.to_string())?;
        std::fs::write(path, text)
            .map_err(|e| format!("cannot write JUnit report to {}: {e}", path.display()))?;
        eprintln!("JUnit report: {}", path.display());
    }
    if let Some(dir) = &outputs.timeline {
        report::svg::write_all(report, dir)
            .map_err(|e| format!("cannot write timelines to {}: {e}", dir.display()))?;
        eprintln!("timelines: {}", dir.join("index.html").display());
    }
    Ok(())
}

/// Prints the table, writes the files, and turns the report into the exit status.
fn finish(report: &Report, outputs: &Outputs) -> ExitCode {
    let color = std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    print!("{}", report::table::render(report, color));
    if let Err(e) = write_outputs(report, outputs) {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    if report
        .cells
        .iter()
        .any(|r| matches!(r.outcome, CellOutcome::SetupError(_)))
    {
        ExitCode::from(2)
    } else if report.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("error: cannot start the async runtime: {e}");
            ExitCode::from(2)
        })
}

/// Runs `cells` with progress lines; `None` when interrupted (the runtime is dropped,
/// which stops every driver process and removes their temporary homes).
fn run_cells(
    cells: Vec<runner::PlannedCell>,
    options: &RunOptions,
) -> Result<Option<Vec<CellResult>>, ExitCode> {
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

fn options(
    jobs: Option<u16>,
    python: Option<PathBuf>,
    operation_timeout: std::time::Duration,
) -> RunOptions {
    RunOptions {
        // Cells mostly wait (on schedules and timeouts) and start their drivers before
        // their clocks run, so many per core: on 2 cores the 59 built-in cells all at once
        // hold every expectation (BENCHMARKS.md). The AWS CLI's per-call Python start-up
        // is what a busier machine would feel first.
        jobs: jobs.map_or_else(
            || std::thread::available_parallelism().map_or(64, |n| n.get() * 32),
            usize::from,
        ),
        setup: DriverSetup {
            operation_timeout,
            ..DriverSetup::with_python(python.unwrap_or_else(paths::default_python))
        },
    }
}

fn read_report(path: &Path) -> Result<Report, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    report::json::from_str(&text)
        .map_err(|e| format!("{}: not an imds-harness JSON report: {e}", path.display()))
}

fn main() -> ExitCode {
    sanitize_own_environment();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    match real_main(Cli::parse()) {
        Ok(code) | Err(code) => code,
    }
}

fn real_main(cli: Cli) -> Result<ExitCode, ExitCode> {
    match cli.command {
        Command::Validate { paths } => {
            let (scenarios, errors) = load_all(&paths, None);
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
            Ok(if errors.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            })
        }
        Command::List { select } => {
            let scenarios = load_or_exit(&select.paths, select.seed)?;
            let selection = Selection {
                filter: select.filter,
                shard: select.shard,
            };
            let planned = runner::plan(&scenarios, &selection);
            for s in &scenarios {
                let cells: Vec<String> = planned
                    .iter()
                    .filter(|c| c.scenario.name == s.name)
                    .map(|c| c.id())
                    .collect();
                if cells.is_empty() {
                    continue;
                }
                println!(
                    "{} ({}){}",
                    s.name,
                    s.file.display(),
                    if s.description.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", s.description.lines().next().unwrap_or(""))
                    }
                );
                for c in cells {
                    println!("  {c}");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Run {
            select,
            outputs,
            jobs,
            python,
            operation_timeout,
        } => {
            let scenarios = load_or_exit(&select.paths, select.seed)?;
            let selection = Selection {
                filter: select.filter.clone(),
                shard: select.shard,
            };
            let planned = runner::plan(&scenarios, &selection);
            if planned.is_empty() {
                eprintln!(
                    "no cell matches --filter {}",
                    select.filter.as_deref().unwrap_or("*")
                );
                return Err(ExitCode::from(2));
            }
            let ran: Vec<Scenario> = scenarios
                .iter()
                .filter(|s| planned.iter().any(|c| c.scenario.name == s.name))
                .cloned()
                .collect();
            let Some(results) = run_cells(planned, &options(jobs, python, operation_timeout))?
            else {
                eprintln!("interrupted: every driver process was stopped");
                return Err(ExitCode::from(130));
            };
            Ok(finish(&Report::new(&ran, &results), &outputs))
        }
        Command::Merge { reports, outputs } => {
            let mut parts = Vec::new();
            for path in &reports {
                parts.push(read_report(path).map_err(|e| {
                    eprintln!("error: {e}");
                    ExitCode::from(2)
                })?);
            }
            Ok(finish(&Report::merge(parts), &outputs))
        }
        Command::Explain {
            cell,
            report,
            paths,
            python,
        } => {
            let cells: Vec<CellResult> = match report {
                Some(path) => {
                    read_report(&path)
                        .map_err(|e| {
                            eprintln!("error: {e}");
                            ExitCode::from(2)
                        })?
                        .cells
                }
                None => {
                    let scenarios = load_or_exit(&paths, None)?;
                    let planned = runner::plan(
                        &scenarios,
                        &Selection {
                            filter: Some(cell.clone()),
                            shard: None,
                        },
                    );
                    if planned.len() != 1 {
                        let all = runner::plan(&scenarios, &Selection::default());
                        eprintln!(
                            "`{cell}` matches {} cells; name one of:\n  {}",
                            planned.len(),
                            all.iter().map(|c| c.id()).collect::<Vec<_>>().join("\n  ")
                        );
                        return Err(ExitCode::from(2));
                    }
                    match run_cells(
                        planned,
                        &options(Some(1), python, harness::driver::DEFAULT_OPERATION_TIMEOUT),
                    )? {
                        Some(results) => results,
                        None => return Err(ExitCode::from(130)),
                    }
                }
            };
            let matching: Vec<&CellResult> = cells
                .iter()
                .filter(|c| harness::glob::matches(&cell, &format!("{}/{}", c.scenario, c.cell)))
                .collect();
            let [one] = matching.as_slice() else {
                eprintln!(
                    "`{cell}` matches {} cells of the report; name exactly one",
                    matching.len()
                );
                return Err(ExitCode::from(2));
            };
            println!(
                "{}/{} — {}",
                one.scenario,
                one.cell,
                one.sdk_version.as_deref().unwrap_or("SDK unknown")
            );
            if let CellOutcome::Ran(run) = &one.outcome {
                print!("{}", explain::timeline_text(&run.timeline));
            }
            println!("diagnosis: {}", explain::diagnose(one));
            Ok(ExitCode::SUCCESS)
        }
        Command::Exec {
            windows,
            schedule_file,
            imdsv2_only,
            command,
        } => {
            let mut steps = Vec::new();
            for w in &windows {
                steps.extend(exec::parse_window(w).map_err(|e| {
                    eprintln!("error: {e}");
                    ExitCode::from(2)
                })?);
            }
            if let Some(path) = &schedule_file {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    eprintln!("error: cannot read {}: {e}", path.display());
                    ExitCode::from(2)
                })?;
                let file = mock_imds::Schedule::from_toml(&text).map_err(|e| {
                    eprintln!("{}:{e}", path.display());
                    ExitCode::from(2)
                })?;
                steps.extend(file.steps().iter().cloned());
            }
            let schedule = mock_imds::Schedule::new(steps).map_err(|e| {
                eprintln!("error: {e}");
                ExitCode::from(2)
            })?;
            let config = mock_imds::ImdsConfig {
                http_tokens: if imdsv2_only {
                    mock_imds::HttpTokens::Required
                } else {
                    mock_imds::HttpTokens::Optional
                },
                ..mock_imds::ImdsConfig::default()
            };
            let runtime = runtime()?;
            let outcome = runtime.block_on(async {
                let interrupted = interrupt_listener();
                tokio::select! {
                    outcome = exec::run(&command, schedule, config) => Some(outcome),
                    _ = interrupted => None,
                }
            });
            drop(runtime);
            match outcome {
                None => Err(ExitCode::from(130)),
                Some(Err(e)) => {
                    eprintln!("error: {e}");
                    Err(ExitCode::from(2))
                }
                Some(Ok(ran)) => {
                    eprint!("{}", report::exec::render(&ran));
                    Ok(ExitCode::from(
                        ran.code.map_or(1, |c| u8::try_from(c).unwrap_or(1)),
                    ))
                }
            }
        }
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "imds-harness",
                &mut std::io::stdout(),
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
