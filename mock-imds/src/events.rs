//! The event log: every IMDS request, every state transition and every STS call, each
//! stamped with the monotonic time since one epoch (the scenario clock's zero).
//!
//! The harness merges this log with its own driver events into one timeline, so both
//! sides must use the same epoch: pass it to [`crate::MockImdsBuilder::epoch`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::fault::ImdsState;

/// Reads milliseconds (as [`serialize_ms`] writes them) back into a [`Duration`]
/// (the harness's own `*_ms` fields use it; see [`crate::ms`]).
pub use crate::ms::deserialize as deserialize_ms;
/// Serializes a [`Duration`] as milliseconds (a float, microsecond precision).
pub use crate::ms::serialize as serialize_ms;

/// One entry in the log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// When it happened (for a request: when it arrived), since the epoch; serialized
    /// as `at_ms`.
    #[serde(rename = "at_ms", with = "crate::ms")]
    pub at: Duration,
    /// What happened.
    #[serde(flatten)]
    pub kind: EventKind,
}

impl Event {
    /// True for a role credentials document (not the role listing) answered 200: one
    /// credential fetch by a client.
    pub fn is_credential_fetch(&self) -> bool {
        matches!(&self.kind, EventKind::ImdsRequest { path, status: Some(200), .. }
            if crate::fault::is_credentials_path(path) && !path.ends_with('/'))
    }
}

/// How the fake STS answered a call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "kebab-case")]
pub enum StsOutcome {
    /// Signature and session token matched credentials mock-imds issued.
    Accepted {
        /// The caller's assumed-role ARN, as returned.
        arn: String,
    },
    /// Rejected with this STS error code (`InvalidClientTokenId`, …).
    Rejected {
        /// The error code, as real STS names it.
        code: String,
    },
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// What happened.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum EventKind {
    /// IMDS went into a new state (a schedule step or a direct `set_state`); the event's
    /// time is when the state took effect (the socket, too, was in its new mode).
    Transition {
        /// The new state.
        state: ImdsState,
        /// When the transition was asked for: a schedule step's own time, or when the
        /// call (library or control API) arrived; serialized as `asked_at_ms`. The
        /// event's time minus this is how late the transition took effect.
        #[serde(default, rename = "asked_at_ms", with = "crate::ms")]
        asked_at: Duration,
        /// True when a schedule step asked for it (then `asked_at` is the step's time).
        #[serde(default, skip_serializing_if = "is_false")]
        scheduled: bool,
    },
    /// A transition that could not be put in force (the socket could not be opened again).
    /// Handlers serve the new state, but the socket refuses connections.
    TransitionFailed {
        /// The state that was asked for.
        state: ImdsState,
        /// When it was asked for; serialized as `asked_at_ms`.
        #[serde(rename = "asked_at_ms", with = "crate::ms")]
        asked_at: Duration,
        /// True when a schedule step asked for it.
        #[serde(default, skip_serializing_if = "is_false")]
        scheduled: bool,
        /// Why (the bind or listen error).
        error: String,
    },
    /// An HTTP request reached IMDS (connections refused by a closed socket never do).
    ImdsRequest {
        /// HTTP method.
        method: String,
        /// Request path (without query).
        path: String,
        /// The status sent, or `None` when no answer was sent (blackholed, or the
        /// connection was closed by a fault or by the client first).
        status: Option<u16>,
        /// Whether the request carried `X-aws-ec2-metadata-token`.
        token_present: bool,
        /// Time from arrival to answer (or to giving up), serialized as `latency_ms`.
        #[serde(rename = "latency_ms", with = "crate::ms")]
        latency: Duration,
    },
    /// An HTTP request reached the fake STS.
    StsRequest {
        /// The `Action` parameter, e.g. `GetCallerIdentity`.
        action: String,
        /// The access key named in the signature, when there was one.
        access_key_id: Option<String>,
        /// The caller's call id, when the request carried one (see
        /// [`crate::sts::CALL_ID_HEADER`]): how a harness ties an STS call to the attempt
        /// that made it without comparing timestamps.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        call_id: Option<String>,
        /// How STS answered.
        #[serde(flatten)]
        outcome: StsOutcome,
    },
}

impl EventKind {
    /// Which kind of event this is.
    pub fn event_type(&self) -> EventType {
        match self {
            EventKind::Transition { .. } => EventType::Transition,
            EventKind::TransitionFailed { .. } => EventType::TransitionFailed,
            EventKind::ImdsRequest { .. } => EventType::ImdsRequest,
            EventKind::StsRequest { .. } => EventType::StsRequest,
        }
    }
}

/// The kinds of event, as the JSON `type` field names them (`transition`,
/// `transition-failed`, `imds-request`, `sts-request`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventType {
    /// [`EventKind::Transition`].
    Transition,
    /// [`EventKind::TransitionFailed`].
    TransitionFailed,
    /// [`EventKind::ImdsRequest`].
    ImdsRequest,
    /// [`EventKind::StsRequest`].
    StsRequest,
}

/// A position in the event log (its clock's time when taken), from
/// [`crate::MockImds::mark`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Mark(pub(crate) Duration);

impl Mark {
    /// The mark's time on the event log's clock.
    pub fn at(&self) -> Duration {
        self.0
    }
}

/// Events to look through: a snapshot of the log, sorted by time, narrowed step by step
/// (`imds.query().since(mark).path("/latest/meta-data/iam/*").len()`). Derefs to a
/// slice of [`Event`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Events(Vec<Event>);

impl Events {
    /// The events at or after `mark`.
    pub fn since(self, mark: Mark) -> Self {
        self.filter(|e| e.at >= mark.0)
    }

    /// The events of one kind.
    pub fn of(self, kind: EventType) -> Self {
        self.filter(|e| e.kind.event_type() == kind)
    }

    /// The IMDS requests whose path matches `glob` (`*` any run of characters, `?` one).
    pub fn path(self, glob: &str) -> Self {
        self.filter(|e| {
            matches!(&e.kind, EventKind::ImdsRequest { path, .. }
                if crate::fault::glob_match(glob.as_bytes(), path.as_bytes()))
        })
    }

    /// The credential fetches (see [`Event::is_credential_fetch`]).
    pub fn credential_fetches(self) -> Self {
        self.filter(Event::is_credential_fetch)
    }

    /// The events `keep` says yes to.
    pub fn filter(mut self, keep: impl FnMut(&Event) -> bool) -> Self {
        self.0.retain(keep);
        self
    }

    /// The events, as a vector.
    pub fn into_vec(self) -> Vec<Event> {
        self.0
    }
}

impl From<Vec<Event>> for Events {
    fn from(events: Vec<Event>) -> Self {
        Self(events)
    }
}

impl std::ops::Deref for Events {
    type Target = [Event];
    fn deref(&self) -> &[Event] {
        &self.0
    }
}

impl IntoIterator for Events {
    type Item = Event;
    type IntoIter = std::vec::IntoIter<Event>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

/// The events kept in memory, oldest first, and how many older ones were dropped.
#[derive(Debug, Default)]
struct Kept {
    events: std::collections::VecDeque<Event>,
    dropped: u64,
    imds_requests: u64,
}

/// Events a log keeps in memory unless told otherwise: enough for any scenario, bounded
/// for soak runs (about 200 MB at most; stream to a file with a sink for more).
pub const DEFAULT_CAPACITY: usize = 1_000_000;

/// A shared, append-only log that keeps the newest `capacity` events in memory (a ring
/// buffer) and can stream every event to a sink. Cloning shares the same log.
///
/// The log's clock is monotonic time since its epoch. The epoch can be moved later once,
/// with [`EventLog::restart_clock`], for a mock whose schedule waits until its client is
/// ready ([`crate::MockImdsBuilder::defer_schedule`]).
#[derive(Clone, Debug)]
pub struct EventLog {
    /// A fixed instant; the epoch is `base + epoch_ns`.
    base: Instant,
    epoch_ns: Arc<AtomicU64>,
    capacity: usize,
    kept: Arc<Mutex<Kept>>,
    sink: Option<tokio::sync::mpsc::UnboundedSender<Event>>,
}

impl EventLog {
    /// A new, empty log whose clock starts at `epoch`, keeping [`DEFAULT_CAPACITY`] events.
    pub fn new(epoch: Instant) -> Self {
        // The base is never after now, so the epoch can later move to any instant from
        // now on (an epoch in the future is an offset from the base).
        let base = epoch.min(Instant::now());
        let offset = u64::try_from(epoch.duration_since(base).as_nanos()).unwrap_or(u64::MAX);
        Self {
            base,
            epoch_ns: Arc::new(AtomicU64::new(offset)),
            capacity: DEFAULT_CAPACITY,
            kept: Arc::default(),
            sink: None,
        }
    }

    /// The same log keeping at most `capacity` events in memory (at least 1).
    pub fn with_capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity.max(1);
        self
    }

    /// A new log that also sends a copy of every event to `sink` (e.g. a task writing
    /// NDJSON), in the order recorded.
    pub fn with_sink(epoch: Instant, sink: tokio::sync::mpsc::UnboundedSender<Event>) -> Self {
        Self {
            sink: Some(sink),
            ..Self::new(epoch)
        }
    }

    /// The log's zero.
    pub fn epoch(&self) -> Instant {
        self.base + Duration::from_nanos(self.epoch_ns.load(Ordering::Acquire))
    }

    /// Moves the log's zero to `epoch` (not before the log was created). Events
    /// recorded before keep their times; a clock moved from a far-future epoch (a
    /// deferred schedule) has stamped them all zero.
    pub fn restart_clock(&self, epoch: Instant) {
        let offset = epoch.saturating_duration_since(self.base).as_nanos();
        self.epoch_ns
            .store(u64::try_from(offset).unwrap_or(u64::MAX), Ordering::Release);
    }

    /// Time since the epoch (zero before it).
    pub fn now(&self) -> Duration {
        Instant::now().saturating_duration_since(self.epoch())
    }

    /// Appends an event stamped `at`, dropping the oldest when the log is full.
    pub fn record_at(&self, at: Duration, kind: EventKind) {
        let event = Event { at, kind };
        if let Some(sink) = &self.sink {
            let _ = sink.send(event.clone());
        }
        let mut kept = self
            .kept
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if matches!(event.kind, EventKind::ImdsRequest { .. }) {
            kept.imds_requests += 1;
        }
        if kept.events.len() >= self.capacity {
            kept.events.pop_front();
            kept.dropped += 1;
        }
        kept.events.push_back(event);
    }

    /// Appends an event stamped now.
    pub fn record(&self, kind: EventKind) {
        self.record_at(self.now(), kind);
    }

    /// A copy of the events kept, sorted by time (stable for equal times).
    pub fn snapshot(&self) -> Vec<Event> {
        let mut events: Vec<Event> = self
            .kept
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .events
            .iter()
            .cloned()
            .collect();
        events.sort_by_key(|e| e.at);
        events
    }

    /// How many events were dropped from memory because the log was full.
    pub fn dropped(&self) -> u64 {
        self.kept
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .dropped
    }

    /// IMDS request events recorded so far, kept or dropped: the count a load test
    /// compares with the requests it saw answered.
    pub fn imds_requests_recorded(&self) -> u64 {
        self.kept
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .imds_requests
    }

    /// Events recorded so far, kept or dropped.
    pub fn recorded(&self) -> u64 {
        let kept = self
            .kept
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        kept.events.len() as u64 + kept.dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deferred_clock_reads_zero_until_restarted_then_counts_from_the_restart() {
        let start = Instant::now();
        let log = EventLog::new(start + Duration::from_secs(3600));
        assert_eq!(log.now(), Duration::ZERO);
        let restart = start + Duration::from_millis(5);
        log.restart_clock(restart);
        assert_eq!(log.epoch(), restart);
        let since_restart = Instant::now().saturating_duration_since(restart);
        let now = log.now();
        assert!(now <= since_restart + Duration::from_millis(1), "{now:?}");
        assert!(
            now + Duration::from_millis(1)
                >= since_restart.saturating_sub(Duration::from_millis(1)),
            "{now:?}"
        );
    }

    #[test]
    fn keeps_the_newest_events_up_to_capacity() {
        let log = EventLog::new(Instant::now()).with_capacity(3);
        for i in 0..5u64 {
            log.record_at(
                Duration::from_millis(i),
                EventKind::Transition {
                    state: ImdsState::up(),
                    asked_at: Duration::ZERO,
                    scheduled: false,
                },
            );
        }
        let kept: Vec<Duration> = log.snapshot().iter().map(|e| e.at).collect();
        assert_eq!(
            kept,
            vec![
                Duration::from_millis(2),
                Duration::from_millis(3),
                Duration::from_millis(4)
            ]
        );
        assert_eq!((log.dropped(), log.recorded()), (2, 5));
        assert_eq!(log.imds_requests_recorded(), 0);
    }
}
