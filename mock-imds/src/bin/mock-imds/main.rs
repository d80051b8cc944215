//! `mock-imds`: run the fake EC2 IMDS and fake STS, and switch them from a shell.
//!
//! One file per subcommand, each with its argument struct: `serve.rs` (serve until
//! Ctrl-C), `ctl.rs` (a client of a running mock's control API), `load.rs` (a bounded
//! load generator); `out.rs` is stdout, quiet when its reader goes away. Exit codes: 0 success, 1 a load run whose accounting failed, 2 an
//! error (printed as `error: …`).

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod ctl;
mod load;
mod out;
mod serve;

/// A fake EC2 Instance Metadata Service (IMDSv1/IMDSv2) and a fake STS that checks
/// SigV4 signatures against the credentials the fake IMDS issued, both of which fail on
/// command.
#[derive(Parser, Debug)]
#[command(
    version,
    about,
    after_help = "Reproduce the boto3 trap by hand:\n  terminal 1: mock-imds serve\n  terminal 2: mock-imds ctl down; python3 app.py   # (with the printed exports)\n              mock-imds ctl up"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve until Ctrl-C, printing the endpoints and the `export` lines first.
    Serve(serve::ServeArgs),
    /// Load-test a running `mock-imds serve` (what `scripts/load-test` runs): hold many
    /// keep-alive connections, send a fixed number of requests over them while switching
    /// faults through the control API, then check the mock logged one event per request.
    /// Prints a JSON report; exits 1 when the accounting does not hold or the deadline hit.
    Load(load::LoadArgs),
    /// Talk to a running `mock-imds serve` through its control API.
    Ctl(ctl::CtlArgs),
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let result = match Cli::parse().command {
        Command::Serve(args) => serve::main(args).await.map(|()| ExitCode::SUCCESS),
        Command::Ctl(args) => ctl::main(args).await.map(|()| ExitCode::SUCCESS),
        Command::Load(args) => load::main(args).await,
    };
    result.unwrap_or_else(|e| {
        eprintln!("error: {e:#}");
        ExitCode::from(2)
    })
}

/// Reads a schedule file (`[[schedule]]` steps, `[[generate]]` generators, `seed`);
/// errors say `FILE:LINE:COLUMN: what`.
fn read_schedule_file(path: &std::path::Path) -> anyhow::Result<mock_imds::ScheduleFile> {
    use anyhow::Context;
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    mock_imds::ScheduleFile::parse(&text).map_err(|e| anyhow::anyhow!("{}:{e}", path.display()))
}
