//! `imds-harness validate`: check scenario files without running them.

use std::path::PathBuf;

use super::error::CliError;
use super::out;
use super::select::{self, plural};

#[derive(clap::Args, Debug)]
pub struct ValidateArgs {
    /// Scenario files or directories, read with their subfolders (default: the built-in `scenarios/`).
    paths: Vec<PathBuf>,
}

/// Prints `FILE: ok (…)` for each good file; fails with the bad files' errors.
pub fn run(args: ValidateArgs) -> Result<(), CliError> {
    let (scenarios, errors) = select::load_all(&args.paths, None);
    for s in &scenarios {
        out::line(&format!(
            "{}: ok ({}, {})",
            s.file.display(),
            plural(s.cells.len(), "cell"),
            plural(s.expectations.len(), "expectation")
        ));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(CliError::Input(errors.join("\n")))
    }
}
