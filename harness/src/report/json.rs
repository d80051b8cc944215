//! The JSON report (`--json FILE`): every scenario, every cell with its verdict,
//! expectation checks and full timeline. Times are in milliseconds (`*_ms`).

use serde::Serialize;

use crate::runner::CellResult;
use crate::scenario::Scenario;

/// Version of the report's shape; bumped on incompatible changes.
pub const FORMAT_VERSION: u32 = 1;

/// The whole report.
#[derive(Debug, Serialize)]
pub struct Report<'a> {
    /// [`FORMAT_VERSION`].
    pub format_version: u32,
    /// True when every cell ran and every expectation held.
    pub passed: bool,
    /// The scenarios that ran.
    pub scenarios: Vec<ScenarioSummary<'a>>,
    /// Every cell, in scenario and matrix order.
    pub cells: &'a [CellResult],
}

/// A scenario, as the report lists it.
#[derive(Debug, Serialize)]
pub struct ScenarioSummary<'a> {
    /// File stem.
    pub name: &'a str,
    /// File path.
    pub file: String,
    /// What it shows.
    pub description: &'a str,
    /// The IMDS schedule, generators expanded.
    pub schedule: &'a mock_imds::Schedule,
    /// The seed that expanded the generators and drew fault probabilities.
    pub seed: u64,
    /// The generators as written.
    pub generators: &'a [mock_imds::Generator],
}

/// Builds the report.
pub fn report<'a>(scenarios: &'a [Scenario], cells: &'a [CellResult]) -> Report<'a> {
    Report {
        format_version: FORMAT_VERSION,
        passed: cells.iter().all(CellResult::passed),
        scenarios: scenarios
            .iter()
            .map(|s| ScenarioSummary {
                name: &s.name,
                file: s.file.display().to_string(),
                description: &s.description,
                schedule: &s.schedule,
                seed: s.seed,
                generators: &s.generators,
            })
            .collect(),
        cells,
    }
}

/// Serializes the report as pretty JSON.
///
/// # Errors
/// Serialization errors (not expected for these types).
pub fn to_string(scenarios: &[Scenario], cells: &[CellResult]) -> serde_json::Result<String> {
    serde_json::to_string_pretty(&report(scenarios, cells))
}
