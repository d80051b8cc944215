//! The report's rows: what a run produced, cell by cell, as every reporter reads it and
//! the JSON report stores it ([`Report`], versioned by [`SCHEMA_VERSION`]). The runner
//! fills these in; [`super::json`], [`super::table`], [`super::junit`], [`super::svg`] and
//! [`super::explain`] render them, and `merge` reads them back.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::scenario::Scenario;
use crate::strategy::Strategy;
use crate::timeline::Timeline;
use crate::verdict::Verdict;

/// Version of the report's shape; bumped on incompatible changes (2: the verdict's
/// `outages[]`, `outcome` and `accepted_calls`).
pub const SCHEMA_VERSION: u32 = 2;

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// True when every cell ran and every expectation held.
    pub passed: bool,
    /// The scenarios that ran.
    pub scenarios: Vec<ScenarioSummary>,
    /// Every cell, in scenario and matrix order.
    pub cells: Vec<CellResult>,
}

/// A scenario, as the report lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioSummary {
    /// File stem.
    pub name: String,
    /// File path.
    pub file: String,
    /// What it shows.
    pub description: String,
    /// The seed that expanded the generators and drew fault probabilities.
    pub seed: u64,
    /// The IMDS schedule, generators expanded.
    pub schedule: mock_imds::Schedule,
    /// The generators as written.
    pub generators: Vec<mock_imds::Generator>,
}

impl From<&Scenario> for ScenarioSummary {
    fn from(s: &Scenario) -> Self {
        Self {
            name: s.name.clone(),
            file: s.file.display().to_string(),
            description: s.description.clone(),
            seed: s.seed,
            schedule: s.schedule.clone(),
            generators: s.generators.clone(),
        }
    }
}

impl Report {
    /// The report of a run.
    pub fn new(scenarios: &[Scenario], cells: &[CellResult]) -> Self {
        Self {
            schema_version: SCHEMA_VERSION,
            passed: cells.iter().all(CellResult::passed_or_skipped),
            scenarios: scenarios.iter().map(ScenarioSummary::from).collect(),
            cells: cells.to_vec(),
        }
    }

    /// Combines reports of shards of one run (`--shard I/N`) into one: scenarios once
    /// each, cells in scenario order then in the order each shard listed them.
    pub fn merge(reports: Vec<Report>) -> Self {
        let mut scenarios: Vec<ScenarioSummary> = Vec::new();
        let mut cells: Vec<CellResult> = Vec::new();
        for report in reports {
            for s in report.scenarios {
                if !scenarios
                    .iter()
                    .any(|known| known.name == s.name && known.file == s.file)
                {
                    scenarios.push(s);
                }
            }
            cells.extend(report.cells);
        }
        let order = |c: &CellResult| {
            scenarios
                .iter()
                .position(|s| s.name == c.scenario)
                .unwrap_or(usize::MAX)
        };
        cells.sort_by_key(|c| (order(c), c.index));
        Self {
            schema_version: SCHEMA_VERSION,
            passed: cells.iter().all(CellResult::passed_or_skipped),
            scenarios,
            cells,
        }
    }
}

/// How one expectation fared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckResult {
    /// The expectation, in words.
    pub expectation: String,
    /// Why it does not hold; empty when it does.
    pub failures: Vec<String>,
}

/// A cell that ran to the end.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CellRun {
    /// Why the run cannot carry a verdict (a schedule step that did not take effect on
    /// time, an STS call of another cell, a premise that did not hold; see
    /// [`crate::integrity`]); empty when it can. A cell with any is *inconclusive*: a
    /// harness result, reported as an error, never an SDK verdict.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inconclusive: Vec<String>,
    /// What the timeline shows.
    pub verdict: Verdict,
    /// The expectations that apply to this cell and how they fared.
    pub checks: Vec<CheckResult>,
    /// Everything that happened.
    pub timeline: Timeline,
}

/// One cell's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CellResult {
    /// Position of the cell in the whole run (all scenarios, before `--filter` and
    /// `--shard`), so shards merge back in order.
    pub index: usize,
    /// The scenario's name.
    pub scenario: String,
    /// `driver/strategy`.
    pub cell: String,
    /// The driver.
    pub driver: String,
    /// The strategy.
    pub strategy: Strategy,
    /// The SDK the driver ran, with versions.
    pub sdk_version: Option<String>,
    /// The cell's whole wall time: driver start-up, the run, tear-down; serialized as
    /// `wall_ms`. Minus the timeline's length, the harness's per-cell overhead.
    #[serde(default, rename = "wall_ms", with = "crate::ms")]
    pub wall: Duration,
    /// The run, or why the driver failed.
    #[serde(flatten)]
    pub outcome: CellOutcome,
}

/// A run or a driver failure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CellOutcome {
    /// The cell ran.
    Ran(Box<CellRun>),
    /// The driver could not be started (a setup problem: exit status 2).
    SetupError(String),
    /// The driver crashed, hung or broke its protocol during the run.
    DriverError(String),
    /// The driver's toolchain or SDK is not installed here: the cell did not run and
    /// carries no verdict (`imds-harness run --require-all-drivers` makes it exit 2).
    Skipped(Skip),
}

/// Why a cell was skipped, and how to make it run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skip {
    /// What is missing, e.g. `no aws-sdk in harness/drivers/js/node_modules`.
    pub reason: String,
    /// The command that installs it, e.g. `./scripts/setup`.
    pub install: String,
}

impl CellOutcome {
    /// The outcome of a driver that could not start: [`CellOutcome::Skipped`] for
    /// [`crate::driver::DriverError::Unavailable`], else [`CellOutcome::SetupError`].
    pub fn not_started(error: &crate::driver::DriverError) -> Self {
        match error {
            crate::driver::DriverError::Unavailable {
                reason, install, ..
            } => CellOutcome::Skipped(Skip {
                reason: reason.clone(),
                install: install.clone(),
            }),
            other => CellOutcome::SetupError(other.to_string()),
        }
    }
}

impl CellResult {
    /// True when the cell ran, its run can carry a verdict, and every expectation that
    /// applies holds.
    pub fn passed(&self) -> bool {
        matches!(&self.outcome, CellOutcome::Ran(run)
            if run.inconclusive.is_empty() && run.checks.iter().all(|c| c.failures.is_empty()))
    }

    /// True when the cell was skipped (its driver is not installed here).
    pub fn skipped(&self) -> bool {
        matches!(self.outcome, CellOutcome::Skipped(_))
    }

    /// Passed, or skipped: what a run's overall `passed` counts (a skip fails a run only
    /// under `--require-all-drivers`).
    pub fn passed_or_skipped(&self) -> bool {
        self.passed() || self.skipped()
    }

    /// Why the cell is inconclusive (empty when it is not, or did not run).
    pub fn inconclusive(&self) -> &[String] {
        match &self.outcome {
            CellOutcome::Ran(run) => &run.inconclusive,
            _ => &[],
        }
    }
}
