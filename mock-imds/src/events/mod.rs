//! The event log: every IMDS request, every state transition and every STS call, each
//! stamped with the monotonic time since one epoch (the scenario clock's zero).
//!
//! The harness merges this log with its own driver events into one timeline, so both
//! sides must use the same epoch: pass it to [`crate::MockImdsBuilder::epoch`].

//! - `kinds.rs`: [`Event`], [`EventKind`], [`EventType`], [`StsOutcome`].
//! - `log.rs`: [`EventLog`], the ring buffer every part of a mock writes to.
//! - `view.rs`: [`Mark`] and [`Events`], to look through a snapshot.

mod kinds;
mod log;
mod view;

pub use kinds::{Event, EventKind, EventType, StsOutcome};
pub(crate) use log::RequestEvent;
pub use log::{EventLog, DEFAULT_CAPACITY};
pub use view::{Events, Mark};

/// Reads milliseconds (as [`serialize_ms`] writes them) back into a [`Duration`](std::time::Duration)
/// (the harness's own `*_ms` fields use it; see `crate::ms`).
pub use crate::ms::deserialize as deserialize_ms;
/// Serializes a [`Duration`](std::time::Duration) as milliseconds (a float, microsecond precision).
pub use crate::ms::serialize as serialize_ms;
