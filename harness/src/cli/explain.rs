//! `imds-harness explain CELL`: one cell's full event log and a diagnosis, from a JSON
//! report or by running the cell now.

use std::path::PathBuf;

use harness::report::explain;
use harness::report::model::{CellOutcome, CellResult};
use harness::runner::{self, Selection};

use super::cells;
use super::error::CliError;
use super::out;
use super::outputs;
use super::select;

#[derive(clap::Args, Debug)]
pub struct ExplainArgs {
    /// The cell: `scenario/driver/strategy` (a glob matching exactly one cell).
    cell: String,
    /// Read the cell from this JSON report instead of running it.
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// Scenario files or directories, read with their subfolders (default: the built-in `scenarios/`).
    #[arg(long = "scenarios", value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Python with the pinned boto3.
    #[arg(long, value_name = "PATH")]
    python: Option<PathBuf>,
}

/// Prints the one cell `args.cell` names: its SDK, its timeline, the diagnosis.
pub fn run(args: ExplainArgs) -> Result<(), CliError> {
    let cell = &args.cell;
    let cells: Vec<CellResult> = match &args.report {
        Some(path) => outputs::read_report(path)?.cells,
        None => run_one(&args)?,
    };
    let matching: Vec<&CellResult> = cells
        .iter()
        .filter(|c| harness::glob::matches(cell, &format!("{}/{}", c.scenario, c.cell)))
        .collect();
    let [one] = matching.as_slice() else {
        return Err(CliError::Input(format!(
            "`{cell}` matches {} cells of the report; name exactly one",
            matching.len()
        )));
    };
    out::line(&format!(
        "{}/{} — {}",
        one.scenario,
        one.cell,
        one.sdk_version.as_deref().unwrap_or("SDK unknown")
    ));
    if let CellOutcome::Ran(run) = &one.outcome {
        out::print(&explain::timeline_text(&run.timeline));
    }
    out::line(&format!("diagnosis: {}", explain::diagnose(one)));
    Ok(())
}

/// Runs the one cell of the scenarios that `args.cell` matches.
fn run_one(args: &ExplainArgs) -> Result<Vec<CellResult>, CliError> {
    let scenarios = select::load(&args.paths, None)?;
    let planned = runner::plan(
        &scenarios,
        &Selection {
            filter: Some(args.cell.clone()),
            shard: None,
        },
    );
    if planned.len() != 1 {
        let all = runner::plan(&scenarios, &Selection::default());
        return Err(CliError::Input(format!(
            "`{}` matches {} cells; name one of:\n  {}",
            args.cell,
            planned.len(),
            all.iter().map(|c| c.id()).collect::<Vec<_>>().join("\n  ")
        )));
    }
    let options = cells::options(
        Some(1),
        args.python.clone(),
        harness::driver::DEFAULT_OPERATION_TIMEOUT,
    );
    cells::run_cells(planned, &options)?.ok_or(CliError::Interrupted(None))
}
