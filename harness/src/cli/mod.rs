//! The `imds-harness` command line. Each subcommand is one file: its argument struct and
//! a `run` that returns `Result<(), CliError>`; [`error::CliError`] turns that into the
//! exit status. What several subcommands share: [`select`] (which scenarios and cells),
//! [`cells`] (running cells with progress, stopping on Ctrl-C), [`outputs`] (the report
//! files and the table), [`out`] (stdout, quiet when its reader goes away).

mod bisect;
mod cells;
mod completions;
mod error;
mod exec;
mod explain;
mod list;
mod merge;
mod out;
mod outputs;
mod run;
mod select;
mod validate;

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

use error::CliError;

const EXAMPLES: &str = "Examples:
  imds-harness run                                  # the built-in suite in scenarios/
  imds-harness run --filter 'trap-*/boto3/*' --junit junit.xml --timeline timelines/
  imds-harness run --shard 2/3 --json shard-2.json  # one of three CI runners
  imds-harness merge shard-*.json --junit junit.xml # …and the combined result
  imds-harness explain trap-refuse/boto3/call-retry # one cell's events and a diagnosis
  imds-harness exec --schedule 'refuse 0s..5s' -- python3 app.py
  imds-harness validate my-scenario.toml
  imds-harness run --html matrix/                   # the recovery matrix as one page
  imds-harness bisect scenarios/js-v3-cached-failure.toml --driver js-v3 --from 3.20.0 --to 3.40.0

Exit status: 0 every expectation holds, 1 one does not, 2 bad input or setup problem.";

/// Drives real AWS SDK clients through EC2 IMDS outages and prints, per SDK and retry
/// strategy, whether they recover, how fast, and with which credentials.
#[derive(Parser, Debug)]
#[command(name = "imds-harness", version, about, after_help = EXAMPLES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run scenarios and print the verdict table.
    Run(run::RunArgs),
    /// List the scenarios and their cells (after --filter and --shard).
    List(list::ListArgs),
    /// Show one cell's full event log, ending in a diagnosis: from a JSON report, or by
    /// running the cell now.
    Explain(explain::ExplainArgs),
    /// Check scenario files without running them.
    Validate(validate::ValidateArgs),
    /// Combine the JSON reports of shards into one table (and JSON, JUnit, timelines).
    Merge(merge::MergeArgs),
    /// Run any command through an IMDS outage and show what IMDS and STS saw.
    Exec(exec::ExecArgs),
    /// Find the first release of an SDK whose verdict on a scenario's cell differs from
    /// an earlier release's (releases from PyPI or npm, each in a cached environment).
    Bisect(bisect::BisectArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(completions::CompletionsArgs),
}

/// Parses the command line, runs the subcommand, and returns its exit status.
pub fn main() -> ExitCode {
    sanitize_own_environment();
    {
        // The harness's own log (RUST_LOG, to stderr), and beside it the in-process Rust
        // SDK's warnings, routed to the driver whose call logged them.
        use tracing_subscriber::layer::SubscriberExt;
        use tracing_subscriber::util::SubscriberInitExt;
        use tracing_subscriber::Layer;
        tracing_subscriber::registry()
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(std::io::stderr)
                    .with_filter(tracing_subscriber::EnvFilter::from_default_env()),
            )
            .with(harness::driver::rust_log::SdkLogLayer)
            .init();
    }
    match dispatch(Cli::parse().command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if let Some(message) = e.message() {
                eprintln!("{message}");
            }
            ExitCode::from(e.exit_code())
        }
    }
}

fn dispatch(command: Command) -> Result<(), CliError> {
    match command {
        Command::Run(args) => run::run(args),
        Command::List(args) => list::run(args),
        Command::Explain(args) => explain::run(args),
        Command::Validate(args) => validate::run(args),
        Command::Merge(args) => merge::run(args),
        Command::Exec(args) => exec::run(args),
        Command::Bisect(args) => bisect::run(args),
        Command::Completions(args) => completions::run(args, Cli::command()),
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
