//! `imds-harness run`: run scenarios and print the verdict table.

use std::path::PathBuf;
use std::time::Duration;

use harness::report::model::{Report, RunInfo, Shard};
use harness::runner::{self, Selection};
use harness::scenario::Scenario;

use super::cells;
use super::error::CliError;
use super::outputs::{self, Outputs};
use super::select::{self, Select};

#[derive(clap::Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    select: Select,
    #[command(flatten)]
    outputs: Outputs,
    /// Cells run at the same time, at most (default: 4 × the CPU count; lower it on a busy
    /// machine, where a late driver start-up makes a cell inconclusive).
    #[arg(long, short = 'j', value_parser = clap::value_parser!(u16).range(1..))]
    jobs: Option<u16>,
    /// Python with the pinned boto3 (default: $IMDS_HARNESS_PYTHON, else the project's .venv/bin/python).
    #[arg(long, value_name = "PATH")]
    python: Option<PathBuf>,
    /// Longest a driver may take to start or to answer one operation before it counts as hung and its cell fails as a driver error, e.g. `2s`, `90s`.
    #[arg(long, value_name = "DURATION", env = "IMDS_HARNESS_OPERATION_TIMEOUT", default_value = "60s", value_parser = parse_timeout)]
    operation_timeout: Duration,
}

/// A positive duration such as `2s` or `500ms`, at most 24 h.
fn parse_timeout(text: &str) -> Result<Duration, String> {
    match humantime::parse_duration(text) {
        Ok(d) if d.is_zero() => Err("must be longer than zero".into()),
        Ok(d) => mock_imds::check_bounded(d),
        Err(e) => Err(format!("not a duration like \"2s\" or \"500ms\": {e}")),
    }
}

/// Runs the selected cells and reports them.
pub fn run(args: RunArgs) -> Result<(), CliError> {
    let RunArgs {
        select,
        outputs,
        jobs,
        python,
        operation_timeout,
    } = args;
    outputs.check()?;
    let scenarios = select::load(&select.paths, select.seed)?;
    let unsharded = runner::plan(
        &scenarios,
        &Selection {
            shard: None,
            ..select.selection()
        },
    );
    if unsharded.is_empty() {
        return Err(CliError::Input(match &select.filter {
            Some(glob) => format!("no cell matches --filter {glob}"),
            None => "the scenarios have no cells".to_string(),
        }));
    }
    // A shard may be empty (more CI runners than cells): an empty, passing report.
    let run_info = RunInfo {
        id: runner::run_id(&unsharded),
        shard: select.shard.map(|(index, count)| Shard { index, count }),
    };
    let planned = runner::plan(&scenarios, &select.selection());
    let ran: Vec<Scenario> = scenarios
        .iter()
        .filter(|s| planned.iter().any(|c| c.scenario.name == s.name))
        .cloned()
        .collect();
    let options = cells::options(jobs, python, operation_timeout);
    let started = outputs::run_date(std::time::SystemTime::now());
    let Some(results) = cells::run_cells(planned, &options)? else {
        return Err(CliError::Interrupted(Some(
            "interrupted: every driver process was stopped",
        )));
    };
    outputs::finish(&Report::new(run_info, &ran, &results), &outputs, &started)
}
