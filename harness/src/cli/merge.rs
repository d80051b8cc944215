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

/// Reads every shard and reports them as one run.
pub fn run(args: MergeArgs) -> Result<(), CliError> {
    let parts = args
        .reports
        .iter()
        .map(|path| outputs::read_report(path))
        .collect::<Result<Vec<_>, _>>()?;
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
    outputs::finish(&Report::merge(parts), &args.outputs, &run_date)
}
