//! [`MockImds::builder`] and the [`MockImds`] handle a test holds.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use mock_imds::{Fault, MockImds, Target};
//! let imds = MockImds::builder().seed(7).start().await?;
//! println!("IMDS at {}, STS at {}", imds.endpoint(), imds.sts_endpoint());
//! imds.set_fault(Target::Listener, Fault::Refuse).await?; // connection refused from now on
//! imds.set_fault(Target::Token, Fault::Status { code: 403, body: None }).await?;
//! let mark = imds.mark();
//! imds.clear().await?;                                    // up again
//! assert_eq!(imds.credential_fetches_since(mark), 0);
//! # Ok(()) }
//! ```

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::config::ImdsConfig;
use crate::credentials::CredentialStore;
use crate::events::{Event, EventKind, EventLog};
use crate::fault::{Change, Fault, FaultSpec, ImdsState, Target};
use crate::imds_service::Imds;
use crate::listener::{Handler, Listener, SocketMode};
use crate::schedule::Schedule;
use crate::sts::Sts;

/// Configures and starts a [`MockImds`].
#[derive(Debug)]
pub struct MockImdsBuilder {
    config: ImdsConfig,
    imds_addr: SocketAddr,
    sts_addr: SocketAddr,
    epoch: Option<Instant>,
    initial: ImdsState,
    schedule: Option<Schedule>,
    seed: Option<u64>,
    control_addr: Option<SocketAddr>,
    event_sink: Option<tokio::sync::mpsc::UnboundedSender<Event>>,
    event_capacity: usize,
    defer_schedule: bool,
}

impl Default for MockImdsBuilder {
    fn default() -> Self {
        let loopback = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        Self {
            config: ImdsConfig::default(),
            imds_addr: loopback,
            sts_addr: loopback,
            epoch: None,
            initial: ImdsState::up(),
            schedule: None,
            seed: None,
            control_addr: None,
            event_sink: None,
            event_capacity: crate::events::DEFAULT_CAPACITY,
            defer_schedule: false,
        }
    }
}

impl MockImdsBuilder {
    /// The instance and IMDS options to serve.
    pub fn config(mut self, config: ImdsConfig) -> Self {
        self.config = config;
        self
    }

    /// Where IMDS listens (default `127.0.0.1:0`: loopback, a free port).
    pub fn bind(mut self, addr: SocketAddr) -> Self {
        self.imds_addr = addr;
        self
    }

    /// Where the fake STS listens (default `127.0.0.1:0`).
    pub fn sts_bind(mut self, addr: SocketAddr) -> Self {
        self.sts_addr = addr;
        self
    }

    /// The zero of the event log's clock and of schedules (default: when `start` runs).
    pub fn epoch(mut self, epoch: Instant) -> Self {
        self.epoch = Some(epoch);
        self
    }

    /// The state IMDS starts in (default up). Logged as the first transition.
    pub fn initial_state(mut self, state: ImdsState) -> Self {
        self.initial = state;
        self
    }

    /// Seed of the RNG that draws fault probabilities and latency jitter (default: a
    /// random seed, readable with [`MockImds::seed`]).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Runs `schedule` from the epoch: IMDS starts in the schedule's state at time zero
    /// (replacing [`Self::initial_state`]) and a task applies the later steps.
    pub fn schedule(mut self, schedule: Schedule) -> Self {
        self.initial = schedule.state_at(std::time::Duration::ZERO);
        self.schedule = Some(schedule);
        self
    }

    /// Hold the schedule's clock until [`MockImds::start_schedule_clock`]: the mock
    /// serves the schedule's state at time zero from the start, but the event log's zero
    /// and the schedule's later steps wait, so a client that needs a while to get ready
    /// (an interpreter importing its SDK, a session loading its data files) meets the
    /// schedule from its beginning however slow the machine is. Events before the clock
    /// starts are stamped zero. Replaces [`Self::epoch`].
    pub fn defer_schedule(mut self) -> Self {
        self.defer_schedule = true;
        self
    }

    /// Also serve the HTTP control API (see [`crate::control`]) on `addr`.
    pub fn control(mut self, addr: SocketAddr) -> Self {
        self.control_addr = Some(addr);
        self
    }

    /// Keep at most this many events in memory (default
    /// [`crate::events::DEFAULT_CAPACITY`]); older ones are dropped, so a soak run's memory
    /// stays bounded. Events sent to a sink are unaffected.
    pub fn event_capacity(mut self, capacity: usize) -> Self {
        self.event_capacity = capacity;
        self
    }

    /// Also send every event, as it is recorded, to `sink`.
    pub fn event_sink(mut self, sink: tokio::sync::mpsc::UnboundedSender<Event>) -> Self {
        self.event_sink = Some(sink);
        self
    }

    /// Binds the listeners and starts serving, on the current tokio runtime (listeners
    /// and schedule run there).
    ///
    /// # Errors
    /// The bind error of either listener.
    pub async fn start(self) -> std::io::Result<MockImds> {
        let now = Instant::now();
        // A deferred clock starts in the far future (every event so far at zero) until
        // `start_schedule_clock` moves it to when it is called.
        let epoch = if self.defer_schedule {
            now.checked_add(DEFERRED_EPOCH).unwrap_or(now)
        } else {
            self.epoch.unwrap_or(now)
        };
        let events = match self.event_sink {
            Some(sink) => EventLog::with_sink(epoch, sink),
            None => EventLog::new(epoch),
        }
        .with_capacity(self.event_capacity);
        let seed = self.seed.unwrap_or_else(rand::random);
        let credentials = self.config.role_name.clone().map(|role| {
            Arc::new(CredentialStore::new(
                role,
                self.config.credential_lifetime,
                self.config.rotate_before_expiry,
            ))
        });
        let (state_tx, _) = watch::channel(Arc::new(self.initial.clone()));
        let imds = Arc::new(Imds::new(
            self.config.clone(),
            credentials.clone(),
            state_tx,
            events.clone(),
            seed,
        ));
        let sts = Arc::new(Sts::new(
            self.config.identity.clone(),
            credentials.clone(),
            events.clone(),
        ));

        let imds_handler: Handler = {
            let imds = imds.clone();
            Arc::new(move |req| {
                let imds = imds.clone();
                Box::pin(async move { imds.handle(req).await })
            })
        };
        let sts_handler: Handler = Arc::new(move |req| {
            let sts = sts.clone();
            Box::pin(async move { Ok(sts.handle(req).await) })
        });
        let mode = SocketMode::for_fault(self.initial.socket_fault());
        let starts_scheduled = self.schedule.is_some();
        let imds_listener = Listener::start(self.imds_addr, imds_handler, mode)
            .await
            .map_err(|e| named("IMDS", self.imds_addr, e))?;
        let sts_listener = Listener::start(self.sts_addr, sts_handler, SocketMode::Open)
            .await
            .map_err(|e| named("STS", self.sts_addr, e))?;
        events.record(EventKind::Transition {
            state: self.initial,
            asked_at: Duration::ZERO,
            scheduled: starts_scheduled,
        });
        let mut mock = MockImds {
            inner: Arc::new(Inner {
                imds,
                imds_listener,
                sts_listener,
                events,
                credentials,
                seed,
                transition_lock: tokio::sync::Mutex::new(mode),
                schedule_task: std::sync::Mutex::new(None),
                deferred: std::sync::Mutex::new(None),
                runtime: tokio::runtime::Handle::current(),
            }),
            control: None,
        };
        match (self.schedule, self.defer_schedule) {
            (Some(schedule), false) => mock.run_schedule(schedule),
            (Some(schedule), true) => {
                *mock
                    .inner
                    .deferred
                    .lock()
                    .unwrap_or_else(|p| p.into_inner()) = Some(schedule);
            }
            (None, _) => {}
        }
        if let Some(addr) = self.control_addr {
            let handler = crate::control::handler(Control(mock.inner.clone()));
            mock.control = Some(
                ControlThread::start(addr, handler)
                    .await
                    .map_err(|e| named("control API", addr, e))?,
            );
        }
        Ok(mock)
    }
}

#[derive(Debug)]
struct Inner {
    imds: Arc<Imds>,
    imds_listener: Listener,
    sts_listener: Listener,
    events: EventLog,
    credentials: Option<Arc<CredentialStore>>,
    seed: u64,
    /// Serializes transitions; holds the socket's current mode, so a switch between
    /// request-level faults never waits for the listener task.
    transition_lock: tokio::sync::Mutex<SocketMode>,
    schedule_task: std::sync::Mutex<Option<JoinHandle<()>>>,
    /// A schedule waiting for [`MockImds::start_schedule_clock`].
    deferred: std::sync::Mutex<Option<Schedule>>,
    /// The runtime the mock was started on: its schedule task runs there too, whoever
    /// starts it (a harness keeps its mocks on a runtime of their own, so that in-process
    /// SDK work cannot delay a transition).
    runtime: tokio::runtime::Handle,
}

/// How far ahead a deferred clock's epoch starts (so everything before it reads zero).
const DEFERRED_EPOCH: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// A transition that could not be put in force.
#[derive(Debug, thiserror::Error)]
#[error("could not put `{state}` in force: the IMDS socket could not be opened again: {source}")]
pub struct TransitionError {
    /// The state asked for (handlers serve it; the socket refuses connections).
    pub state: ImdsState,
    /// The bind or listen error.
    #[source]
    pub source: std::io::Error,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(task) = self
            .schedule_task
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            task.abort();
        }
    }
}

/// A bind error that says which listener and address.
fn named(which: &str, addr: SocketAddr, err: std::io::Error) -> std::io::Error {
    std::io::Error::new(err.kind(), format!("{which} listener on {addr}: {err}"))
}

/// A position in the event log, from [`MockImds::mark`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Mark(std::time::Duration);

/// A running fake IMDS and fake STS (and, when asked for, the control API). Dropping it
/// stops them all and closes every connection.
#[derive(Debug)]
pub struct MockImds {
    inner: Arc<Inner>,
    control: Option<ControlThread>,
}

/// The control API on a thread and runtime of its own, so that a switch from a second
/// terminal or a load test's fault toggler is answered at once even while thousands of
/// IMDS connections keep the main runtime busy.
#[derive(Debug)]
struct ControlThread {
    addr: SocketAddr,
    /// Dropping it stops the thread's runtime (and with it the listener).
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl ControlThread {
    async fn start(addr: SocketAddr, handler: Handler) -> std::io::Result<Self> {
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<std::io::Result<SocketAddr>>();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        std::thread::Builder::new()
            .name("mock-imds-control".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                runtime.block_on(async move {
                    match Listener::start(addr, handler, SocketMode::Open).await {
                        Ok(listener) => {
                            let _ = ready_tx.send(Ok(listener.local_addr()));
                            let _ = stop_rx.await;
                            drop(listener);
                        }
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                        }
                    }
                });
            })?;
        let addr = ready_rx
            .await
            .map_err(|_| std::io::Error::other("the control API thread ended before binding"))??;
        Ok(Self {
            addr,
            _stop: stop_tx,
        })
    }
}

impl Drop for MockImds {
    fn drop(&mut self) {
        self.control.take();
        if let Some(task) = self
            .inner
            .schedule_task
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            task.abort();
        }
    }
}

impl MockImds {
    /// A builder with EC2-like defaults on loopback.
    pub fn builder() -> MockImdsBuilder {
        MockImdsBuilder::default()
    }

    /// The IMDS base URL, e.g. `http://127.0.0.1:41234` (no trailing slash).
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.inner.imds_listener.local_addr())
    }

    /// The IMDS socket address.
    pub fn addr(&self) -> SocketAddr {
        self.inner.imds_listener.local_addr()
    }

    /// The fake STS base URL.
    pub fn sts_endpoint(&self) -> String {
        format!("http://{}", self.inner.sts_listener.local_addr())
    }

    /// The seed of the RNG behind fault probabilities and jitter.
    pub fn seed(&self) -> u64 {
        self.inner.seed
    }

    /// The current state.
    pub fn state(&self) -> ImdsState {
        (**self.inner.imds.state().borrow()).clone()
    }

    /// Replaces the whole state and returns once it is in force: the next request (and,
    /// for socket faults, the next connection attempt) sees it. Logged as a transition.
    ///
    /// # Errors
    /// [`TransitionError`] when the socket could not be opened again (logged as a
    /// `transition-failed` event).
    pub async fn set_state(&self, state: ImdsState) -> Result<(), TransitionError> {
        transition(&self.inner, None, |s| *s = state).await
    }

    /// Applies one change (what a schedule step does).
    ///
    /// # Errors
    /// As for [`Self::set_state`].
    pub async fn apply(&self, change: Change) -> Result<(), TransitionError> {
        transition(&self.inner, None, |s| s.apply(&change)).await
    }

    /// Sets `fault` on `target` (replacing the fault there), always firing.
    ///
    /// # Errors
    /// As for [`Self::set_state`].
    pub async fn set_fault(&self, target: Target, fault: Fault) -> Result<(), TransitionError> {
        self.apply(Change::Set(FaultSpec::new(fault).on(target)))
            .await
    }

    /// Sets a fault with its target and probability.
    ///
    /// # Errors
    /// As for [`Self::set_state`].
    pub async fn set_spec(&self, spec: FaultSpec) -> Result<(), TransitionError> {
        self.apply(Change::Set(spec)).await
    }

    /// Removes every fault: IMDS is up.
    ///
    /// # Errors
    /// As for [`Self::set_state`].
    pub async fn clear(&self) -> Result<(), TransitionError> {
        self.apply(Change::Up).await
    }

    /// Starts the clock of a schedule held by [`MockImdsBuilder::defer_schedule`]: the
    /// event log's zero moves to now and the schedule's later steps run from it. A no-op
    /// when there is no deferred schedule (the clock started with the mock).
    pub fn start_schedule_clock(&self) {
        let deferred = self
            .inner
            .deferred
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(schedule) = deferred {
            let now = Instant::now();
            self.inner.events.restart_clock(now);
            start_schedule(&self.inner, schedule, now, true);
        }
    }

    /// Applies `schedule` on the event log's clock in a background task (replacing any
    /// schedule already running). Steps already in the past are applied at once, in order,
    /// except steps at time zero, which [`MockImdsBuilder::schedule`] applies at start.
    pub fn run_schedule(&self, schedule: Schedule) {
        let epoch = self.inner.events.epoch();
        start_schedule(&self.inner, schedule, epoch, true);
    }

    /// The control API's base URL, when it was asked for.
    pub fn control_endpoint(&self) -> Option<String> {
        self.control.as_ref().map(|l| format!("http://{}", l.addr))
    }

    /// All events so far, sorted by time.
    pub fn events(&self) -> Vec<Event> {
        self.inner.events.snapshot()
    }

    /// The shared event log (its clock is the scenario clock).
    pub fn event_log(&self) -> &EventLog {
        &self.inner.events
    }

    /// The current position in the event log, for the `*_since` assertions.
    pub fn mark(&self) -> Mark {
        Mark(self.inner.events.now())
    }

    /// Events that happened at or after `mark`.
    pub fn events_since(&self, mark: Mark) -> Vec<Event> {
        self.events()
            .into_iter()
            .filter(|e| e.at >= mark.0)
            .collect()
    }

    /// IMDS requests for the role credentials document (not the listing) at or after
    /// `mark` that were answered 200: how often clients fetched credentials.
    pub fn credential_fetches_since(&self, mark: Mark) -> usize {
        self.events_since(mark)
            .iter()
            .filter(|e| e.is_credential_fetch())
            .count()
    }

    /// The credential store (`None` when the instance has no role).
    pub fn credentials(&self) -> Option<&Arc<CredentialStore>> {
        self.inner.credentials.as_ref()
    }
}

/// Runs `schedule` with `start` as its zero, replacing the running one. `skip_zero`: the
/// steps at zero were applied already (at start-up).
fn start_schedule(inner: &Arc<Inner>, schedule: Schedule, start: Instant, skip_zero: bool) {
    let task_inner = inner.clone();
    let task = inner.runtime.spawn(async move {
        let inner = task_inner;
        for group in schedule.steps().chunk_by(|a, b| a.at == b.at) {
            if skip_zero && group[0].at.is_zero() {
                continue;
            }
            tokio::time::sleep_until(start + group[0].at).await;
            // Asked for at the step's time, on the event log's clock (a schedule posted
            // to a running mock starts later than the log's zero).
            let asked_at = start.saturating_duration_since(inner.events.epoch()) + group[0].at;
            // A failure is in the event log (`transition-failed`); later steps still run.
            let _ = transition(&inner, Some(asked_at), |s| {
                for step in group {
                    s.apply(&step.change);
                }
            })
            .await;
        }
    });
    if let Some(old) = inner
        .schedule_task
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .replace(task)
    {
        old.abort();
    }
}

/// What the control API may do to a running mock.
#[derive(Debug, Clone)]
pub struct Control(Arc<Inner>);

impl Control {
    /// The current state.
    pub fn state(&self) -> ImdsState {
        (**self.0.imds.state().borrow()).clone()
    }

    /// Replaces the state (and returns once it is in force).
    ///
    /// # Errors
    /// As for [`MockImds::set_state`].
    pub async fn set_state(&self, state: ImdsState) -> Result<(), TransitionError> {
        transition(&self.0, None, |s| *s = state).await
    }

    /// Applies one change.
    ///
    /// # Errors
    /// As for [`MockImds::set_state`].
    pub async fn apply(&self, change: Change) -> Result<(), TransitionError> {
        transition(&self.0, None, |s| s.apply(&change)).await
    }

    /// Starts `schedule` from now, replacing any running schedule.
    pub fn run_schedule(&self, schedule: Schedule) {
        start_schedule(&self.0, schedule, Instant::now(), false);
    }

    /// Stops the running schedule, if any.
    pub fn stop_schedule(&self) {
        if let Some(task) = self
            .0
            .schedule_task
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            task.abort();
        }
    }

    /// `(recorded, dropped from memory, IMDS requests recorded)` event counts.
    pub fn event_counts(&self) -> (u64, u64, u64) {
        let log = &self.0.events;
        (log.recorded(), log.dropped(), log.imds_requests_recorded())
    }

    /// Events at or after `since` on the mock's clock.
    pub fn events_since(&self, since: std::time::Duration) -> Vec<Event> {
        self.0
            .events
            .snapshot()
            .into_iter()
            .filter(|e| e.at >= since)
            .collect()
    }

    /// The RNG seed.
    pub fn seed(&self) -> u64 {
        self.0.seed
    }
}

/// Applies `change` to the state and puts it in force. `step`: when a schedule step asked
/// for it, the step's time on the event log's clock, else `None` (asked for now). Logs a `transition` event when it is in force, stamped then, with the time
/// it was asked for; or a `transition-failed` event.
async fn transition(
    inner: &Inner,
    step: Option<Duration>,
    change: impl FnOnce(&mut ImdsState),
) -> Result<(), TransitionError> {
    let asked_at = step.unwrap_or_else(|| inner.events.now());
    let mut socket_mode = inner.transition_lock.lock().await;
    let mut state = (**inner.imds.state().borrow()).clone();
    change(&mut state);
    // Handlers see the new state first (a kept-alive request must not be served in the
    // old one), then the socket follows — only when its mode changes, so that switching
    // request-level faults does not queue behind a listener busy accepting.
    let mode = SocketMode::for_fault(state.socket_fault());
    inner.imds.state().send_replace(Arc::new(state.clone()));
    if mode != *socket_mode {
        if let Err(source) = inner.imds_listener.apply(mode).await {
            // The listener is left refusing connections.
            *socket_mode = SocketMode::Refuse;
            inner.events.record(EventKind::TransitionFailed {
                state: state.clone(),
                asked_at,
                scheduled: step.is_some(),
                error: source.to_string(),
            });
            return Err(TransitionError { state, source });
        }
        *socket_mode = mode;
    }
    inner.events.record(EventKind::Transition {
        state,
        asked_at,
        scheduled: step.is_some(),
    });
    Ok(())
}
