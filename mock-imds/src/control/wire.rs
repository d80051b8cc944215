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

/// One step of a [`ScheduleRequest`]: `state`, `clock`, `rotate`, or several (at least
/// one); steps may share `at` and apply in the order given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepRequest {
    /// When, from the time the schedule is posted: a duration such as `500ms`, `2s`.
    pub at: String,
    /// The state change: a fault, `up on TARGET` or `up`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// A jump of the virtual wall clock, signed: `+5h52m`, `-10m`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock: Option<String>,
    /// Replace the credentials (after the step's clock jump, if any).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rotate: bool,
    /// Write a new Pod Identity service-account token over the token file (after
    /// `rotate`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rotate_token: bool,
    /// A notice to post (`spot-interruption(terminate, 2m)`, `rebalance`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice: Option<String>,
}

/// `POST /notice`: put a notice in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoticeRequest {
    /// The notice: `spot-interruption(terminate, 2m)`, `rebalance`,
    /// `maintenance(system-reboot, 1h)`, `lifecycle(Terminated)`, `clear`.
    pub notice: String,
}

/// The answer to `POST /notice`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeAnswer {
    /// The notice as parsed (defaults filled in).
    pub notice: String,
    /// The notice's time on the virtual clock, RFC 3339 UTC (now + its lead).
    pub time: String,
}

/// `POST /clock`: jump the virtual wall clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClockRequest {
    /// How far, signed: `+5h52m`, `-10m` (humantime units after the sign).
    pub by: String,
}

/// The answer to `GET /clock` and `POST /clock`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockAnswer {
    /// The virtual wall-clock time, RFC 3339 UTC (`2026-12-02T13:00:00.123Z`).
    pub now: String,
    /// The clock's offset from real time, milliseconds (positive: ahead).
    pub offset_ms: i64,
}

/// `PUT /token-ttl-header`, and the answer to it and to `GET /token-ttl-header`: what the
/// token answer's TTL header says (`"echo"`, `"absent"` or seconds as a number).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenTtlHeaderBody {
    /// The mode.
    pub token_ttl_header: crate::TokenTtlHeader,
}

/// The answer to `POST /rotate`: the new credentials' key and expiry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RotateAnswer {
    /// The new set's access key id.
    pub access_key_id: String,
    /// The new set's `Expiration`, RFC 3339 UTC on the virtual clock.
    pub expiration: String,
}

/// The answer to `POST /rotate-token`: the new Pod Identity token's file and expiry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RotateTokenAnswer {
    /// The token file written (renamed over the old one).
    pub token_file: String,
    /// The new token's `exp`, RFC 3339 UTC on the virtual clock.
    pub expires_at: String,
}

/// One entry of the answer to `GET /sts/sessions`: a role session the fake STS issued on
/// `AssumeRole` (no secret, no token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StsSessionAnswer {
    /// The session's access key id.
    pub access_key_id: String,
    /// Its `Expiration`, RFC 3339 UTC on the virtual clock.
    pub expiration: String,
    /// The role ARN as requested.
    pub role_arn: String,
    /// The `RoleSessionName`.
    pub session_name: String,
    /// `AssumedRoleUser.Arn` (what `GetCallerIdentity` answers the session).
    pub arn: String,
    /// `AssumedRoleUser.AssumedRoleId`.
    pub assumed_role_id: String,
    /// The key that signed the `AssumeRole` (the instance's, or a session's: chaining).
    pub source_access_key_id: String,
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
