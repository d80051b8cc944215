//! The log itself: a ring buffer of the newest events, a clock, and an optional sink.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use super::kinds::{Event, EventKind};

/// The events kept in memory, oldest first, and how many older ones were dropped.
#[derive(Debug, Default)]
struct Kept {
    events: std::collections::VecDeque<Slot>,
    dropped: u64,
    imds_requests: u64,
    paths: Paths,
}

impl Kept {
    fn keep(&mut self, slot: Slot, request: bool, capacity: usize) {
        if request {
            self.imds_requests += 1;
        }
        if self.events.len() >= capacity {
            self.events.pop_front();
            self.dropped += 1;
        }
        self.events.push_back(slot);
    }
}

/// Most distinct request paths the log keeps by number ([`Paths`]); requests for others
/// are kept as whole events (a hostile client's random paths cannot grow the table).
const MAX_PATHS: usize = 4096;

/// One event as the ring keeps it. IMDS requests, nearly every event, are kept as 32
/// bytes (times in nanoseconds, the path, `User-Agent` and TTL header by number in one
/// table of strings, a standard method by number), so
/// recording one allocates nothing, a slot is a quarter of a cache line, and evicting
/// one frees nothing; they become [`Event`]s when read. Everything else is kept whole.
#[derive(Debug)]
enum Slot {
    Request(Compact),
    Other(Box<Event>),
}

#[derive(Debug, Clone, Copy)]
struct Compact {
    at_ns: u64,
    latency_ns: u64,
    path: u32,
    /// 0 for no answer (statuses are 100..=599).
    status: u16,
    /// Index in [`METHODS`].
    method: u8,
    token_present: bool,
    /// The `User-Agent` header's number in [`Paths`] plus one; 0 for none.
    user_agent: u32,
    /// The TTL request header's number in [`Paths`] plus one; 0 for none.
    token_ttl_seconds: u32,
}

/// The methods a compact request slot can name.
const METHODS: [http::Method; 9] = [
    http::Method::GET,
    http::Method::PUT,
    http::Method::HEAD,
    http::Method::POST,
    http::Method::DELETE,
    http::Method::PATCH,
    http::Method::OPTIONS,
    http::Method::CONNECT,
    http::Method::TRACE,
];

/// The request paths (and `User-Agent` and TTL header values) seen, each kept once and
/// named by its number.
#[derive(Debug, Default)]
struct Paths {
    ids: HashMap<Box<str>, u32, BuildHasherDefault<WordHasher>>,
    names: Vec<Box<str>>,
}

impl Paths {
    /// The number of `path`, given one if it is new and the table has room.
    fn id(&mut self, path: &str) -> Option<u32> {
        if let Some(id) = self.ids.get(path) {
            return Some(*id);
        }
        if self.names.len() >= MAX_PATHS {
            return None;
        }
        let id = u32::try_from(self.names.len()).ok()?;
        self.names.push(path.into());
        self.ids.insert(path.into(), id);
        Some(id)
    }

    fn name(&self, id: u32) -> &str {
        self.names.get(id as usize).map_or("", |n| n)
    }

    /// The number plus one of an optional string (0 for none), or `None` when the table
    /// is full.
    fn optional_id(&mut self, text: Option<&str>) -> Option<u32> {
        match text {
            None => Some(0),
            Some(text) => self.id(text)?.checked_add(1),
        }
    }

    /// The string [`Self::optional_id`] numbered.
    fn optional_name(&self, id: u32) -> Option<String> {
        (id != 0).then(|| self.name(id - 1).to_owned())
    }
}

/// A fast hash for short keys that no client chooses the number of (see [`MAX_PATHS`]):
/// eight bytes at a time, rotate, xor, multiply (the `FxHash` recipe).
#[derive(Debug, Default, Clone, Copy)]
struct WordHasher(u64);

impl Hasher for WordHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let mut rest = [0; 8];
        rest[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
        self.add(u64::from_le_bytes(rest) ^ bytes.len() as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

impl WordHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Slot {
    fn at(&self) -> Duration {
        match self {
            Slot::Request(r) => Duration::from_nanos(r.at_ns),
            Slot::Other(e) => e.at,
        }
    }

    fn event(&self, paths: &Paths) -> Event {
        match self {
            Slot::Request(r) => Event {
                at: Duration::from_nanos(r.at_ns),
                kind: EventKind::ImdsRequest {
                    method: METHODS[usize::from(r.method)].as_str().to_owned(),
                    path: paths.name(r.path).to_owned(),
                    status: (r.status != 0).then_some(r.status),
                    token_present: r.token_present,
                    user_agent: paths.optional_name(r.user_agent),
                    token_ttl_seconds: paths.optional_name(r.token_ttl_seconds),
                    latency: Duration::from_nanos(r.latency_ns),
                },
            },
            Slot::Other(e) => (**e).clone(),
        }
    }
}

/// An IMDS request to record: [`EventLog::record_request`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct RequestEvent<'a> {
    /// When it arrived, on the log's clock.
    pub(crate) at: Duration,
    /// Its method.
    pub(crate) method: &'a http::Method,
    /// Its path.
    pub(crate) path: &'a str,
    /// The status answered, `None` for none.
    pub(crate) status: Option<u16>,
    /// Whether it carried a session token.
    pub(crate) token_present: bool,
    /// Its `User-Agent` header, if any.
    pub(crate) user_agent: Option<&'a str>,
    /// Its `X-aws-ec2-metadata-token-ttl-seconds` header, if any.
    pub(crate) token_ttl_seconds: Option<&'a str>,
    /// From arrival to answer (or to giving up).
    pub(crate) latency: Duration,
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
        self.at(Instant::now())
    }

    /// `instant` on the log's clock (zero before the epoch).
    pub fn at(&self, instant: Instant) -> Duration {
        instant.saturating_duration_since(self.epoch())
    }

    /// Appends an event stamped `at`, dropping the oldest when the log is full.
    pub fn record_at(&self, at: Duration, kind: EventKind) {
        let event = Event { at, kind };
        if let Some(sink) = &self.sink {
            let _ = sink.send(event.clone());
        }
        let request = matches!(event.kind, EventKind::ImdsRequest { .. });
        let mut kept = self.lock();
        kept.keep(Slot::Other(Box::new(event)), request, self.capacity);
    }

    /// Appends an IMDS request event (what [`Self::record_at`] with
    /// [`EventKind::ImdsRequest`] does, without allocating).
    pub(crate) fn record_request(&self, request: RequestEvent<'_>) {
        let event = || Event {
            at: request.at,
            kind: EventKind::ImdsRequest {
                method: request.method.as_str().to_owned(),
                path: request.path.to_owned(),
                status: request.status,
                token_present: request.token_present,
                user_agent: request.user_agent.map(str::to_owned),
                token_ttl_seconds: request.token_ttl_seconds.map(str::to_owned),
                latency: request.latency,
            },
        };
        if let Some(sink) = &self.sink {
            let _ = sink.send(event());
        }
        let mut kept = self.lock();
        let compact = (|| {
            Some(Compact {
                at_ns: u64::try_from(request.at.as_nanos()).ok()?,
                latency_ns: u64::try_from(request.latency.as_nanos()).ok()?,
                method: METHODS.iter().position(|m| m == request.method)? as u8,
                status: request.status.unwrap_or(0),
                token_present: request.token_present,
                path: kept.paths.id(request.path)?,
                user_agent: kept.paths.optional_id(request.user_agent)?,
                token_ttl_seconds: kept.paths.optional_id(request.token_ttl_seconds)?,
            })
        })();
        let slot = match compact {
            Some(compact) => Slot::Request(compact),
            None => Slot::Other(Box::new(event())),
        };
        kept.keep(slot, true, self.capacity);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Kept> {
        self.kept
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Appends an event stamped now.
    pub fn record(&self, kind: EventKind) {
        self.record_at(self.now(), kind);
    }

    /// A copy of the events kept, sorted by time (stable for equal times).
    pub fn snapshot(&self) -> Vec<Event> {
        let kept = self
            .kept
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // Sorted before they are converted: a ring in time order (the usual case) sorts
        // in one pass.
        let mut slots: Vec<&Slot> = kept.events.iter().collect();
        slots.sort_by_key(|s| s.at());
        slots.into_iter().map(|s| s.event(&kept.paths)).collect()
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
    use crate::fault::ImdsState;

    #[test]
    fn paths_past_the_table_are_kept_whole() {
        let log = EventLog::new(Instant::now());
        for i in 0..MAX_PATHS + 10 {
            log.record_request(RequestEvent {
                at: Duration::from_nanos(i as u64),
                method: &http::Method::GET,
                path: &format!("/p/{i}"),
                status: None,
                token_present: false,
                user_agent: None,
                token_ttl_seconds: None,
                latency: Duration::from_nanos(1),
            });
        }
        let events = log.snapshot();
        assert_eq!(events.len(), MAX_PATHS + 10);
        for (i, e) in events.iter().enumerate() {
            match &e.kind {
                EventKind::ImdsRequest { path, status, .. } => {
                    assert_eq!(path, &format!("/p/{i}"));
                    assert_eq!(*status, None);
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn requests_are_kept_compactly_and_read_back_whole() {
        let log = EventLog::new(Instant::now());
        let long = format!("/latest/{}", "x".repeat(200));
        for (i, (method, path)) in [
            (
                http::Method::GET,
                "/latest/meta-data/iam/security-credentials/mock-imds-role",
            ),
            (http::Method::from_bytes(b"BREW").unwrap(), long.as_str()),
            (http::Method::PUT, "/\u{e9}t\u{e9}"),
        ]
        .into_iter()
        .enumerate()
        {
            log.record_request(RequestEvent {
                at: Duration::from_millis(3),
                method: &method,
                path,
                status: Some(200),
                token_present: true,
                user_agent: (i == 0).then_some("aws-sdk-rust/1.3"),
                token_ttl_seconds: (i == 2).then_some("21600"),
                latency: Duration::from_micros(7),
            });
        }
        let events = log.snapshot();
        let read: Vec<(String, String)> = events
            .iter()
            .map(|e| match &e.kind {
                EventKind::ImdsRequest { method, path, .. } => (method.clone(), path.clone()),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            read[0].1,
            "/latest/meta-data/iam/security-credentials/mock-imds-role"
        );
        assert_eq!(read[1], ("BREW".to_string(), long.clone()));
        assert_eq!(read[2], ("PUT".to_string(), "/\u{e9}t\u{e9}".to_string()));
        assert!(
            matches!(&events[2].kind, EventKind::ImdsRequest { user_agent: None, token_ttl_seconds: Some(t), .. } if t == "21600")
        );
        assert_eq!(log.imds_requests_recorded(), 3);
        assert!(std::mem::size_of::<Slot>() <= 32);
        assert_eq!(
            events[0],
            Event {
                at: Duration::from_millis(3),
                kind: EventKind::ImdsRequest {
                    method: "GET".into(),
                    path: "/latest/meta-data/iam/security-credentials/mock-imds-role".into(),
                    status: Some(200),
                    token_present: true,
                    user_agent: Some("aws-sdk-rust/1.3".into()),
                    token_ttl_seconds: None,
                    latency: Duration::from_micros(7),
                },
            }
        );
    }

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
