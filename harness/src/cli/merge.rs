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
    outputs::finish(&Report::merge(parts), &args.outputs)
}
