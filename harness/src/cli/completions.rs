//! `imds-harness completions SHELL`: a shell completion script.

use super::error::CliError;
use super::out;

#[derive(clap::Args, Debug)]
pub struct CompletionsArgs {
    /// The shell.
    shell: clap_complete::Shell,
}

/// Prints the script for `command` (the whole command line's definition).
pub fn run(args: CompletionsArgs, mut command: clap::Command) -> Result<(), CliError> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "imds-harness", &mut script);
    out::print(&String::from_utf8_lossy(&script));
    Ok(())
}
