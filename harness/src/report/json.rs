//! The JSON report (`--json FILE`), versioned by [`SCHEMA_VERSION`].
//!
//! Shape (every time in milliseconds, as floats with microsecond precision, keys `*_ms`):
//!
//! ```text
//! { "schema_version": 1, "passed": bool,
//!   "scenarios": [ { "name", "file", "description", "seed", "schedule": [ {"at_ms", "state"} ],
//!                    "generators": [ … ] } ],
//!   "cells": [ { "scenario", "cell", "driver", "strategy": {"name","kind","attempts","interval_ms"},
//!                "sdk_version",
//!                "ran": { "verdict": {…}, "checks": [ {"expectation", "failures": [..]} ],
//!                         "timeline": [ event… ] }
//!                | "setup-error": "…" | "driver-error": "…" } ] }
//! ```
//!
//! Timeline events carry `type`: `transition`, `imds-request`, `sts-request` (from the
//! mock), `client-created`, `attempt` (from the driver). The types below are the schema:
//! a report read back with [`from_str`] and written again is unchanged.

use serde::{Deserialize, Serialize};

use crate::runner::CellResult;
use crate::scenario::Scenario;

/// Version of the report's shape; bumped on incompatible changes.
pub const SCHEMA_VERSION: u32 = 1;

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
            passed: cells.iter().all(CellResult::passed),
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
            passed: cells.iter().all(CellResult::passed),
            scenarios,
            cells,
        }
    }
}

/// Serializes a report as pretty JSON.
///
/// # Errors
/// Serialization errors (not expected for these types).
pub fn to_string(report: &Report) -> serde_json::Result<String> {
    serde_json::to_string_pretty(report)
}

/// Reads a report back.
///
/// # Errors
/// The JSON error, or a schema version this build does not read.
pub fn from_str(text: &str) -> Result<Report, String> {
    let report: Report = serde_json::from_str(text).map_err(|e| e.to_string())?;
    if report.schema_version != SCHEMA_VERSION {
        return Err(format!(
            "report schema_version {} is not {SCHEMA_VERSION}, the version this build reads",
            report.schema_version
        ));
    }
    Ok(report)
}
