//! The JSON report (`--json FILE`), versioned by [`SCHEMA_VERSION`].
//!
//! Shape (every time in milliseconds, as floats with microsecond precision, keys `*_ms`):
//!
//! ```text
//! { "schema_version": 2, "passed": bool,
//!   "scenarios": [ { "name", "file", "description", "seed", "schedule": [ {"at_ms", "state"} ],
//!                    "generators": [ … ] } ],
//!   "cells": [ { "scenario", "cell", "driver", "strategy": {"name","kind","attempts","interval_ms"},
//!                "sdk_version",
//!                "ran": { "verdict": { …, "outcome": "recovered" | … | null, "accepted_calls",
//!                                      "outages": [ {"index", "start_ms", "end_ms", "states",
//!                                                    "failed_calls", "error_kinds", "outcome",
//!                                                    "recovery_ms", "recovered_by_attempt",
//!                                                    "failures_after_recovery", "calls_after"} ] },
//!                         "checks": [ {"expectation", "failures": [..]} ],
//!                         "timeline": [ event… ] }
//!                | "setup-error": "…" | "driver-error": "…" } ] }
//! ```
//!
//! Timeline events carry `type`: `transition`, `imds-request`, `sts-request` (from the
//! mock), `client-created`, `attempt` (from the driver). The types below are the schema:
//! a report read back with [`from_str`] and written again is unchanged. The types are in
//! [`super::model`] (re-exported here).

pub use super::model::{Report, ScenarioSummary, SCHEMA_VERSION};

/// Serializes a report as pretty JSON.
///
/// # Errors
/// Serialization errors (not expected for these types).
pub fn to_string(report: &Report) -> serde_json::Result<String> {
    serde_json::to_string_pretty(report)
}

/// A text that is not a report this build reads.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Not JSON, or not the report's shape.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// Another version of the shape.
    #[error("report schema_version {0} is not {SCHEMA_VERSION}, the version this build reads")]
    Version(u32),
}

/// Reads a report back.
///
/// # Errors
/// [`ReadError`]: the JSON error, or a schema version this build does not read.
pub fn from_str(text: &str) -> Result<Report, ReadError> {
    let report: Report = serde_json::from_str(text)?;
    if report.schema_version != SCHEMA_VERSION {
        return Err(ReadError::Version(report.schema_version));
    }
    Ok(report)
}
