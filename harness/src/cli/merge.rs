//! `imds-harness merge`: the JSON reports of shards as one report.

use std::path::PathBuf;

use harness::report::model::Report;

use super::error::CliError;
use super::outputs::{self, Outputs};

#[derive(clap::Args, Debug)]
pub struct MergeArgs {
    /// The shards' JSON reports.
    #[arg(required = true)]
    reports: Vec<PathBuf>,
    #[command(flatten)]
    outputs: Outputs,
}

/// Reads every shard and reports them as one run; refuses reports that would count a
/// cell twice (the same shard twice, a merged report beside its shards) or miss one.
pub fn run(args: MergeArgs) -> Result<(), CliError> {
    args.outputs.check()?;
    let parts = args
        .reports
        .iter()
        .map(|path| Ok((path.display().to_string(), outputs::read_report(path)?)))
        .collect::<Result<Vec<_>, CliError>>()?;
    // The shards' run date: when the last of their reports was written.
    let written = args
        .reports
        .iter()
        .filter_map(|path| std::fs::metadata(path).and_then(|m| m.modified()).ok())
        .max();
    let run_date = written.map_or_else(
        || "unknown".to_string(),
        |at| format!("{} (the last shard report written)", outputs::run_date(at)),
    );
    let merged = Report::merge(parts).map_err(|e| CliError::Input(format!("error: {e}")))?;
    outputs::finish(&merged, &args.outputs, &run_date)
}
