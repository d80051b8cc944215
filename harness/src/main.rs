//! `imds-harness`: run scenario files against real SDKs and print the verdict table.
//!
//! Exit status: 0 when every expectation holds, 1 when one does not (or a driver broke
//! mid-run), 2 on bad input or a setup problem (invalid scenario, missing Python venv),
//! 130 when interrupted (every driver process is stopped first). `exec` exits with the
//! command's own status (128 + the signal when one killed it). The subcommands are in
//! `cli/`, one file each; `cli/error.rs` owns these statuses.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
