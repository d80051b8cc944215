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
/// `outages[]`, `outcome` and `accepted_calls`; `run`, the run id and shard a report covers).
pub const SCHEMA_VERSION: u32 = 2;

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// True when every cell ran and every expectation held.
    pub passed: bool,
    /// Which run this report is, and which shard of it.
    pub run: RunInfo,
    /// The scenarios that ran.
    pub scenarios: Vec<ScenarioSummary>,
    /// Every cell, in scenario and matrix order.
    pub cells: Vec<CellResult>,
}

/// Which run a report is of ([`crate::runner::run_id`]), and which part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunInfo {
    /// The run id: alike for every shard of one run (same files, filter and seed).
    pub id: String,
    /// The shard this report holds; `None` for the whole run (unsharded, or merged).
    pub shard: Option<Shard>,
}

/// Shard `index` of `count` (`--shard I/N`, 1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Shard {
    /// I, 1..=count.
    pub index: usize,
    /// N.
    pub count: usize,
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// Why reports cannot be merged: each would count a cell twice or miss one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MergeError {
    /// Reports of different runs (other files, filter or seed).
    #[error("{0} is of run {1}, {2} of run {3}: merge combines the shards of one run")]
    OtherRun(String, String, String, String),
    /// A whole-run report (unsharded or merged) beside other reports of its run.
    #[error("{0} holds the whole run {1} (unsharded or already merged): with {2} beside it, cells would count twice")]
    Whole(String, String, String),
    /// One shard twice (the same file twice, or two copies).
    #[error("{0} and {1} are both shard {2} of run {3}")]
    Duplicate(String, String, Shard, String),
    /// Shards of different splits (`--shard 1/2` and `--shard 2/3`).
    #[error("{0} is shard {1}, {2} is shard {3}: shards of one run share N")]
    OtherSplit(String, Shard, String, Shard),
    /// A shard is not among the reports.
    #[error("shard {missing} of run {run} is missing (have {have})")]
    Missing {
        /// The missing shards, `I/N, …`.
        missing: String,
        /// The run id.
        run: String,
        /// The shards given, `I/N, …`.
        have: String,
    },
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
    /// The report of a run (or of one shard of it).
    pub fn new(run: RunInfo, scenarios: &[Scenario], cells: &[CellResult]) -> Self {
        Self {
            schema_version: SCHEMA_VERSION,
            passed: cells.iter().all(CellResult::passed_or_skipped),
            run,
            scenarios: scenarios.iter().map(ScenarioSummary::from).collect(),
            cells: cells.to_vec(),
        }
    }

    /// Combines the reports of every shard of one run (`--shard I/N`, each named by its
    /// file for errors) into the whole run's report: scenarios once each, cells in run
    /// order. A single report is returned as it is.
    ///
    /// # Errors
    /// [`MergeError`]: reports of different runs, a whole-run report beside others, a
    /// shard twice, shards of different N, or a missing shard; never a cell counted twice.
    pub fn merge(reports: Vec<(String, Report)>) -> Result<Self, MergeError> {
        check_shards(&reports)?;
        let mut reports = reports.into_iter().map(|(_, r)| r);
        let Some(first) = reports.next() else {
            return Err(MergeError::Missing {
                missing: "every shard".into(),
                run: "(none)".into(),
                have: "none".into(),
            });
        };
        let run = RunInfo {
            id: first.run.id.clone(),
            shard: None,
        };
        let mut scenarios: Vec<ScenarioSummary> = Vec::new();
        let mut cells: Vec<CellResult> = Vec::new();
        for report in std::iter::once(first).chain(reports) {
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
        cells.sort_by_key(|c| c.index);
        Ok(Self {
            schema_version: SCHEMA_VERSION,
            passed: cells.iter().all(CellResult::passed_or_skipped),
            run,
            scenarios,
            cells,
        })
    }
}

/// Every report of one run, each shard once, none missing (see [`Report::merge`]).
fn check_shards(reports: &[(String, Report)]) -> Result<(), MergeError> {
    let Some((first_name, first)) = reports.first() else {
        return Ok(());
    };
    for (name, r) in reports {
        if r.run.id != first.run.id {
            return Err(MergeError::OtherRun(
                first_name.clone(),
                first.run.id.clone(),
                name.clone(),
                r.run.id.clone(),
            ));
        }
    }
    if reports.len() == 1 && first.run.shard.is_none() {
        return Ok(());
    }
    let mut shards: Vec<(Shard, &String)> = Vec::new();
    for (name, r) in reports {
        let Some(shard) = r.run.shard else {
            let other = reports
                .iter()
                .map(|(n, _)| n)
                .find(|n| *n != name)
                .unwrap_or(name);
            return Err(MergeError::Whole(
                name.clone(),
                r.run.id.clone(),
                other.clone(),
            ));
        };
        if let Some((known, known_name)) = shards.iter().find(|(s, _)| s.count != shard.count) {
            return Err(MergeError::OtherSplit(
                (*known_name).clone(),
                *known,
                name.clone(),
                shard,
            ));
        }
        if let Some((_, known_name)) = shards.iter().find(|(s, _)| *s == shard) {
            return Err(MergeError::Duplicate(
                (*known_name).clone(),
                name.clone(),
                shard,
                r.run.id.clone(),
            ));
        }
        shards.push((shard, name));
    }
    shards.sort();
    let count = shards[0].0.count;
    let missing: Vec<String> = (1..=count)
        .filter(|i| !shards.iter().any(|(s, _)| s.index == *i))
        .map(|index| Shard { index, count }.to_string())
        .collect();
    if !missing.is_empty() {
        return Err(MergeError::Missing {
            missing: missing.join(", "),
            run: first.run.id.clone(),
            have: shards
                .iter()
                .map(|(s, _)| s.to_string())
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    Ok(())
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
