//! How a subcommand ends when it does not succeed, and the exit status that says so: the
//! one place the statuses of `imds-harness` are decided.

use std::fmt;

/// A subcommand's unsuccessful end. Success is exit status 0.
#[derive(Debug)]
pub enum CliError {
    /// Bad input: a scenario, a filter, a cell name, a schedule. Exit 2; the message is
    /// printed to stderr as it is (scenario errors are `FILE:LINE:COLUMN: …` lines).
    Input(String),
    /// The harness could not do its part: read or write a file, start its runtime, run
    /// `exec`'s command. Exit 2; printed as `error: …`.
    Setup(String),
    /// A cell's driver could not be started (the report says which). Exit 2.
    CellSetup,
    /// `--require-all-drivers`: this many cells were skipped because their driver is not
    /// installed (the report says which, and how to install it). Exit 2.
    DriversMissing(usize),
    /// An expectation did not hold, a cell was inconclusive, or a driver broke mid-run
    /// (the report says which). Exit 1.
    Failed,
    /// Ctrl-C, after every driver process was stopped. Exit 130; the note, if any, is
    /// printed.
    Interrupted(Option<&'static str>),
    /// `exec`: the command's own status, not 0: 128 + the signal when a signal killed it
    /// (143 for SIGTERM, as a shell reports it), 1 when the status does not fit in 1..=255.
    Status(u8),
}

impl CliError {
    /// The process's exit status.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Input(_)
            | CliError::Setup(_)
            | CliError::CellSetup
            | CliError::DriversMissing(_) => 2,
            CliError::Failed => 1,
            CliError::Interrupted(_) => 130,
            CliError::Status(code) => *code,
        }
    }

    /// `exec`'s end for the command's exit code, or (`code` `None`) the signal that
    /// killed it: `Ok` for 0.
    pub fn from_status(code: Option<i32>, signal: Option<i32>) -> Result<(), CliError> {
        let status = match (code, signal) {
            (Some(c), _) => u8::try_from(c).unwrap_or(1),
            (None, Some(n)) => u8::try_from(128 + n).unwrap_or(1),
            (None, None) => 1,
        };
        match status {
            0 => Ok(()),
            n => Err(CliError::Status(n)),
        }
    }

    /// What to print to stderr, if anything.
    pub fn message(&self) -> Option<String> {
        match self {
            CliError::Input(text) => Some(text.clone()),
            CliError::Setup(text) => Some(format!("error: {text}")),
            CliError::Interrupted(note) => note.map(str::to_string),
            CliError::DriversMissing(n) => Some(format!(
                "error: {n} cell(s) skipped because their driver is not installed, and --require-all-drivers is set (the report says how to install each)"
            )),
            CliError::CellSetup | CliError::Failed | CliError::Status(_) => None,
        }
    }

    /// [`CliError::Setup`] from any error.
    pub fn setup(error: impl fmt::Display) -> Self {
        CliError::Setup(error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        assert_eq!(CliError::Input("x".into()).exit_code(), 2);
        assert_eq!(CliError::CellSetup.exit_code(), 2);
        assert_eq!(CliError::Failed.exit_code(), 1);
        assert_eq!(CliError::Interrupted(None).exit_code(), 130);
        assert!(CliError::from_status(Some(0), None).is_ok());
        assert_eq!(
            CliError::from_status(Some(3), None)
                .unwrap_err()
                .exit_code(),
            3
        );
        assert_eq!(
            CliError::from_status(Some(300), None)
                .unwrap_err()
                .exit_code(),
            1
        );
        assert_eq!(
            CliError::from_status(None, Some(15))
                .unwrap_err()
                .exit_code(),
            143
        );
        assert_eq!(
            CliError::from_status(None, Some(9))
                .unwrap_err()
                .exit_code(),
            137
        );
        assert_eq!(
            CliError::from_status(None, None).unwrap_err().exit_code(),
            1
        );
        assert_eq!(
            CliError::setup("cannot read x").message().as_deref(),
            Some("error: cannot read x")
        );
    }
}
