//! The control API's JSON shapes, shared by the server and [`crate::ControlClient`].
//! Answers list their fields in alphabetical order, so their JSON keys come out sorted.

use serde::{Deserialize, Serialize};

/// `PUT /state`: replace the whole state (`up`, or fault specs joined by `;`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateRequest {
    /// The state, e.g. `refuse; status(403) on token`.
    pub state: String,
}

/// `POST /faults`: set one fault (or `up on TARGET`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRequest {
    /// The change, e.g. `status(403) on token p=0.5`.
    pub fault: String,
}

/// `POST /schedule`: run these steps from now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleRequest {
    /// The steps, in any order.
    pub steps: Vec<StepRequest>,
}

/// One step of a [`ScheduleRequest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepRequest {
    /// When, from the time the schedule is posted: a duration such as `500ms`, `2s`.
    pub at: String,
    /// The change: a fault, `up on TARGET` or `up`.
    pub state: String,
}

/// The answer to `GET /state` and to every change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateAnswer {
    /// Events dropped from memory because the log was full.
    pub events_dropped: u64,
    /// Events recorded so far, kept or dropped.
    pub events_recorded: u64,
    /// IMDS request events recorded so far, kept or dropped.
    pub imds_requests_recorded: u64,
    /// True while a schedule runs (posted, or from start-up) with steps still to come.
    #[serde(default)]
    pub schedule_running: bool,
    /// The seed of the mock's fault draws.
    pub seed: u64,
    /// The state in force, as text.
    pub state: String,
    /// True when no fault is active.
    pub up: bool,
}

/// The answer to `POST /schedule`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleAnswer {
    /// How many steps the schedule has.
    pub steps: usize,
}

/// The answer to a request that failed (4xx, 5xx).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorAnswer {
    /// What was wrong, and what is accepted.
    pub error: String,
}

/// The header every control API answer carries (value `1`), by which a client tells the
/// control API from another server on that port (the IMDS's or the STS's).
pub const CONTROL_HEADER: &str = "x-mock-imds-control";

/// Largest control request body, in bytes.
pub const MAX_BODY: usize = 1024 * 1024;
