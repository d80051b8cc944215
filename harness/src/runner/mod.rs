//! The runner: for each cell, start the driver, start a fresh mock IMDS + STS, configure
//! the driver, and only then start the scenario clock (so a slow interpreter or SDK
//! import never eats into the outage), play the strategy, and collect one timeline;
//! cells run concurrently, each with its own mocks on their own loopback ports (held for
//! the cell's whole life, so no cell can reach another's), at most `jobs` at a time.
//! Every call carries a call id `<cell nonce>.<attempt>` that the fake STS records; the
//! timeline is then checked ([`crate::integrity`]) before its verdict counts.
//!
//! - [`cell`]: one cell, start to end;
//! - `handler`: a `[handler]` scenario's cell (the user's program, judged on a notice);
//! - [`gate`]: cells start their scenario clocks together, a little apart;
//! - [`identity`]: the run id shards of one run share;
//! - `link_local`: a `[network] mode = "link-local"` cell, run in a network namespace
//!   of its own ([`crate::netns`]);
//! - `mocks`: the runtime every cell's mocks run on.
//!
//! The rows it produces ([`CellResult`]) are the report's ([`crate::report::model`]).

pub mod address;
pub mod cell;
pub mod gate;
mod handler;
pub mod identity;
mod link_local;
mod mocks;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

pub use cell::{run_cell, run_cell_with, OPERATION_TIMEOUT_GRACE, REGION};
pub use gate::{StartGate, Starting, CLOCK_STAGGER};
pub use identity::run_id;

use crate::driver::{self, DriverSetup, DriverSpec};
use crate::report::model::{CellOutcome, CellResult};
use crate::scenario::{Cell, Scenario};

/// How to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Cells run at the same time, at most (at least 1).
    pub jobs: usize,
    /// Where the child drivers' interpreters are.
    pub setup: DriverSetup,
}

/// A cell chosen to run: its place in the whole run, its scenario, the cell.
#[derive(Debug, Clone)]
pub struct PlannedCell {
    /// Position among all cells of all scenarios, in file and matrix order.
    pub index: usize,
    /// The scenario it belongs to.
    pub scenario: Arc<Scenario>,
    /// The cell.
    pub cell: Cell,
}

impl PlannedCell {
    /// `scenario/driver/strategy`, what `--filter` and `explain` match.
    pub fn id(&self) -> String {
        format!("{}/{}", self.scenario.name, self.cell.id())
    }
}

/// Which of the run's cells this invocation runs.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Only cells whose `scenario/driver/strategy` matches this glob (`*` any run, `?`
    /// one character).
    pub filter: Option<String>,
    /// `(I, N)`: only the I-th of N shards (1-based): the matching cells whose position
    /// among the matching cells is I-1 modulo N. Deterministic, so N runners that each
    /// take one shard run every cell exactly once.
    pub shard: Option<(usize, usize)>,
}

/// The cells of `scenarios` that `selection` picks, in order.
pub fn plan(scenarios: &[Scenario], selection: &Selection) -> Vec<PlannedCell> {
    let mut all = Vec::new();
    for scenario in scenarios {
        let scenario = Arc::new(scenario.clone());
        for cell in &scenario.cells {
            all.push(PlannedCell {
                index: all.len(),
                scenario: scenario.clone(),
                cell: cell.clone(),
            });
        }
    }
    all.into_iter()
        .filter(|c| {
            selection
                .filter
                .as_ref()
                .is_none_or(|glob| crate::glob::matches(glob, &c.id()))
        })
        .enumerate()
        .filter(|(k, _)| selection.shard.is_none_or(|(i, n)| k % n == i - 1))
        .map(|(_, c)| c)
        .collect()
}

/// Runs every cell of every scenario (see [`run_planned`]).
pub async fn run_all(
    scenarios: &[Scenario],
    options: &RunOptions,
    progress: &(dyn Fn(&CellResult, usize) + Sync),
) -> Vec<CellResult> {
    run_planned(plan(scenarios, &Selection::default()), options, progress).await
}

/// Runs the planned cells, at most `options.jobs` at a time, and returns the results in
/// plan order. `progress` is called as each cell finishes, with the number finished.
pub async fn run_planned(
    cells: Vec<PlannedCell>,
    options: &RunOptions,
    progress: &(dyn Fn(&CellResult, usize) + Sync),
) -> Vec<CellResult> {
    // Create every SDK environment first, one at a time; a failure shows up as the
    // setup error of each cell that needs it.
    let mut prepared: Vec<(DriverSpec, Result<(), CellOutcome>)> = Vec::new();
    for planned in &cells {
        if !prepared
            .iter()
            .any(|(spec, _)| *spec == planned.cell.driver)
        {
            let outcome = driver::prepare(&planned.cell.driver, &options.setup)
                .await
                .map_err(|e| CellOutcome::not_started(&e));
            prepared.push((planned.cell.driver.clone(), outcome));
        }
    }
    let permits = Arc::new(Semaphore::new(options.jobs.max(1)));
    let gate = Arc::new(StartGate::default());
    let mut tasks = tokio::task::JoinSet::new();
    let count = cells.len();
    // Longest cells first (by schedule and strategy length), so the suite's wall time is
    // not a long cell started last; results still come back in plan order.
    let mut order: Vec<(usize, PlannedCell)> = cells.into_iter().enumerate().collect();
    order.sort_by_key(|(_, c)| {
        std::cmp::Reverse(
            c.scenario
                .schedule
                .duration()
                .max(c.cell.strategy.max_span()),
        )
    });
    for (i, planned) in order {
        let (permits, setup, gate) = (permits.clone(), options.setup.clone(), gate.clone());
        let failed_setup = prepared
            .iter()
            .find(|(spec, outcome)| *spec == planned.cell.driver && outcome.is_err())
            .and_then(|(_, outcome)| outcome.clone().err());
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await;
            let mut result = match failed_setup {
                Some(e) => CellResult {
                    index: planned.index,
                    scenario: planned.scenario.name.clone(),
                    cell: planned.cell.id(),
                    driver: planned.cell.driver.name.clone(),
                    strategy: planned.cell.strategy.clone(),
                    sdk_version: None,
                    wall: Duration::ZERO,
                    outcome: e,
                },
                None => run_cell_with(&planned.scenario, &planned.cell, &setup, &gate).await,
            };
            result.index = planned.index;
            (i, result)
        });
    }
    let mut results: Vec<Option<CellResult>> = vec![None; count];
    let mut finished = 0;
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((i, result)) => {
                finished += 1;
                progress(&result, finished);
                results[i] = Some(result);
            }
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }
    results.into_iter().flatten().collect()
}
