//! [`MockImds::builder`] and the [`MockImds`] handle a test holds.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use mock_imds::{EventType, Fault, MockImds, Target};
//! let imds = MockImds::builder().seed(7).start().await?;
//! println!("IMDS at {}, STS at {}", imds.endpoint(), imds.sts_endpoint());
//! imds.inject(Fault::Refuse).await?;                      // connection refused from now on
//! imds.inject(Fault::status(403).on(Target::Token)).await?;
//! let mark = imds.mark();
//! imds.recover().await?;                                  // up again
//! assert_eq!(imds.query().since(mark).of(EventType::ImdsRequest).len(), 0);
//! # Ok(()) }
//! ```

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::{CancellationToken, DropGuard};

use crate::clock::{Clock, ClockRangeError, SignedDuration};
use crate::config::ImdsConfig;
use crate::container::{Container, ContainerConfig, ContainerEndpoints, TokenFiles};
use crate::credentials::{CredentialStore, IssuedCredentials};
use crate::ec2_http::SERVER;
use crate::events::{Event, EventKind, EventLog, Events, Mark};
use crate::fault::{socket_mode, socket_mode_on, Change, FaultSpec, ImdsState, Target};
use crate::imds::Imds;
use crate::listener::{Handler, Listener, SocketMode};
use crate::schedule::Schedule;
use crate::sts::{AssumedSession, SessionStore, Sts};
use crate::switch::{Switch, TransitionError};

/// Configures and starts a [`MockImds`]. The settings do not depend on the order they
/// are given in.
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
    clock: Option<Arc<Clock>>,
    container: Option<ContainerConfig>,
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
            clock: None,
            container: None,
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

    /// The zero of the event log's clock and of schedules (default: when `start` runs;
    /// ignored with [`Self::defer_schedule`]).
    pub fn epoch(mut self, epoch: Instant) -> Self {
        self.epoch = Some(epoch);
        self
    }

    /// The state IMDS starts in (default up), logged as the first transition. With a
    /// [`Self::schedule`], the schedule's state at time zero is the start instead.
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
    /// (in place of any [`Self::initial_state`]) and a task applies the later steps.
    pub fn schedule(mut self, schedule: Schedule) -> Self {
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

    /// Tell wall-clock time by `clock` (default: a clock of its own at real time), so the
    /// clients under test can share it: the credential store, token expiry and the fake
    /// STS all read it, and every jump (a schedule step, [`MockImds::jump_clock`], the
    /// control API) moves it.
    pub fn clock(mut self, clock: Arc<Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Also serve the container credentials endpoints (the ECS agent's and the EKS Pod
    /// Identity agent's, see [`crate::container`]) on a listener of their own at
    /// `config.bind`, from the same credential store, clock, faults (`… on container`) and
    /// event log; the token files are written at start.
    /// [`MockImds::container_endpoints`] and [`MockImds::container_env`] say how to reach
    /// them.
    pub fn container(mut self, config: ContainerConfig) -> Self {
        self.container = Some(config);
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
    /// The bind error of either listener (or of the control API's).
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
        let clock = self.clock.unwrap_or_default();
        let credentials = self.config.role_name.clone().map(|role| {
            Arc::new(
                CredentialStore::new(
                    role,
                    self.config.credential_lifetime,
                    self.config.rotate_before_expiry,
                )
                .with_events(events.clone()),
            )
        });
        let initial = match &self.schedule {
            Some(schedule) => schedule.state_at(Duration::ZERO),
            None => self.initial,
        };
        let (state_tx, state_rx) = watch::channel(Arc::new(initial.clone()));
        let instance = Arc::new(crate::instance::Instance::new(self.config.clone()));
        let imds = Arc::new(Imds::on(
            instance.clone(),
            credentials.clone(),
            state_rx,
            events.clone(),
            seed,
            clock.clone(),
        ));
        let ttl_header = imds.ttl_header();
        let (lifted_tx, mut lifted_rx) = tokio::sync::mpsc::unbounded_channel();
        imds.announce_lifted_to(lifted_tx.clone());
        let sessions = Arc::new(SessionStore::default());
        let sts = Arc::new(Sts::new(
            self.config.identity.clone(),
            credentials.clone(),
            sessions.clone(),
            events.clone(),
            clock.clone(),
        ));

        let imds_handler: Handler = Arc::new(move |req, socket| {
            let imds = imds.clone();
            Box::pin(async move { imds.handle(req, Some(&socket)).await })
        });
        let sts_handler: Handler = Arc::new(move |req, _| {
            let sts = sts.clone();
            Box::pin(async move { Ok(sts.handle(req).await) })
        });
        let mode = socket_mode(&initial);
        let imds_listener = Listener::start(self.imds_addr, imds_handler, mode, Some(SERVER))
            .await
            .map_err(|e| named("IMDS", self.imds_addr, e))?;
        let sts_listener = Listener::start(self.sts_addr, sts_handler, SocketMode::Open, None)
            .await
            .map_err(|e| named("STS", self.sts_addr, e))?;
        let container = match self.container {
            None => None,
            Some(config) => {
                let files = Arc::new(
                    TokenFiles::create(
                        config.token_dir.as_deref(),
                        config.ecs_authorization_token.as_deref().unwrap_or(""),
                        config.token_lifetime,
                        clock.now(),
                    )
                    .map_err(|e| {
                        std::io::Error::new(e.kind(), format!("container token files: {e}"))
                    })?,
                );
                let bind = config.bind;
                let service = Arc::new(Container::new(
                    config.clone(),
                    credentials.clone(),
                    state_tx.subscribe(),
                    events.clone(),
                    seed,
                    clock.clone(),
                    files.clone(),
                    self.config.identity.account_id.clone(),
                ));
                service.announce_lifted_to(lifted_tx.clone());
                let handler: Handler = Arc::new(move |req, _| {
                    let service = service.clone();
                    Box::pin(async move { service.handle(req).await })
                });
                let mode = socket_mode_on(&initial, &Target::Container);
                let listener = Listener::start(bind, handler, mode, None)
                    .await
                    .map_err(|e| named("container", bind, e))?;
                let endpoints = ContainerEndpoints::new(listener.local_addr(), &config, &files);
                Some((listener, files, endpoints))
            }
        };
        events.record(EventKind::Transition {
            state: initial,
            asked_at: Duration::ZERO,
            scheduled: self.schedule.is_some(),
        });
        let mut switch = Switch::new(
            state_tx,
            imds_listener,
            events.clone(),
            clock,
            credentials.clone(),
            ttl_header,
            instance,
        );
        let container_endpoints = match container {
            Some((listener, files, endpoints)) => {
                switch = switch.with_container(listener, files);
                Some(endpoints)
            }
            None => None,
        };
        let switch = Arc::new(switch);
        // Counted faults that ran out are cleared by the switch. The task holds the switch
        // weakly (the switch owns the listener, whose handlers own the sender), and ends
        // with the mock.
        let weak = Arc::downgrade(&switch);
        tokio::spawn(async move {
            while let Some(lifted) = lifted_rx.recv().await {
                let Some(switch) = weak.upgrade() else { break };
                let _ = switch.lift(lifted).await;
            }
        });
        // The schedule's clock jumps, rotations and notices at time zero apply now, with its state
        // at zero (the schedule task skips time zero).
        for step in self.schedule.iter().flat_map(|s| s.steps()) {
            if !step.at.is_zero() {
                break;
            }
            if let Some(by) = step.change.clock {
                let _ = switch.jump_clock(Some(Duration::ZERO), by);
            }
            if step.change.rotate {
                switch.rotate(Some(Duration::ZERO));
            }
            if let Some(notice) = &step.change.notice {
                switch.post_notice(Some(Duration::ZERO), notice);
            }
            if step.change.rotate_token {
                switch.rotate_token(Some(Duration::ZERO));
            }
        }
        match self.schedule {
            Some(schedule) if self.defer_schedule => switch.defer(schedule),
            Some(schedule) => switch.run_schedule(schedule, events.epoch(), true),
            None => {}
        }
        let control = match self.control_addr {
            None => None,
            Some(addr) => {
                let handler = crate::control::handler(switch.clone(), seed, sessions.clone());
                Some(
                    ControlThread::start(addr, handler)
                        .await
                        .map_err(|e| named("control API", addr, e))?,
                )
            }
        };
        Ok(MockImds {
            switch,
            container: container_endpoints,
            sts_listener,
            events,
            credentials,
            sessions,
            seed,
            control,
        })
    }
}

/// How far ahead a deferred clock's epoch starts (so everything before it reads zero).
const DEFERRED_EPOCH: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// A bind error that says which listener and address.
fn named(which: &str, addr: SocketAddr, err: std::io::Error) -> std::io::Error {
    std::io::Error::new(err.kind(), format!("{which} listener on {addr}: {err}"))
}

/// A running fake IMDS and fake STS (and, when asked for, the control API). Dropping it
/// stops them all and closes every connection.
#[derive(Debug)]
pub struct MockImds {
    switch: Arc<Switch>,
    /// How to reach the container endpoints, when served.
    container: Option<ContainerEndpoints>,
    sts_listener: Listener,
    events: EventLog,
    credentials: Option<Arc<CredentialStore>>,
    sessions: Arc<SessionStore>,
    seed: u64,
    control: Option<ControlThread>,
}

/// The control API on a thread and runtime of its own, so that a switch from a second
/// terminal or a load test's fault toggler is answered at once even while thousands of
/// IMDS connections keep the main runtime busy.
#[derive(Debug)]
struct ControlThread {
    addr: SocketAddr,
    /// Dropping it cancels the thread's runtime (and with it the listener).
    _stop: DropGuard,
}

impl ControlThread {
    async fn start(addr: SocketAddr, handler: Handler) -> std::io::Result<Self> {
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<std::io::Result<SocketAddr>>();
        let stop = CancellationToken::new();
        let stopped = stop.clone();
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
                    match Listener::start(addr, handler, SocketMode::Open, None).await {
                        Ok(listener) => {
                            let _ = ready_tx.send(Ok(listener.local_addr()));
                            stopped.cancelled().await;
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
            _stop: stop.drop_guard(),
        })
    }
}

impl Drop for MockImds {
    fn drop(&mut self) {
        self.control.take();
        // The schedule task holds the switch: stop it, so the listener goes with us.
        self.switch.stop_schedule();
    }
}

/// The environment that points an AWS SDK at a mock: [`MockImds::sdk_env`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdkEnv {
    /// Variables to set, in order: the IMDS endpoint, the STS endpoint, then the region
    /// and empty config and credentials files.
    pub set: Vec<(&'static str, String)>,
    /// Variables to remove, so real credentials and other credential providers stay out
    /// of the way: [`crate::DIVERTING_VARIABLES`].
    pub unset: &'static [&'static str],
}

impl MockImds {
    /// A builder with EC2-like defaults on loopback.
    pub fn builder() -> MockImdsBuilder {
        MockImdsBuilder::default()
    }

    /// The IMDS base URL, e.g. `http://127.0.0.1:41234` (no trailing slash).
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr())
    }

    /// The IMDS socket address.
    pub fn addr(&self) -> SocketAddr {
        self.switch.listener().local_addr()
    }

    /// The fake STS base URL.
    pub fn sts_endpoint(&self) -> String {
        format!("http://{}", self.sts_listener.local_addr())
    }

    /// The control API's base URL, when it was asked for.
    pub fn control_endpoint(&self) -> Option<String> {
        self.control.as_ref().map(|c| format!("http://{}", c.addr))
    }

    /// The environment that points an SDK at this mock: `AWS_EC2_METADATA_SERVICE_ENDPOINT`
    /// (with its trailing slash), `AWS_ENDPOINT_URL_STS`, `AWS_DEFAULT_REGION=us-east-1`,
    /// `AWS_CONFIG_FILE` and `AWS_SHARED_CREDENTIALS_FILE` set to `/dev/null`, and every
    /// variable that would divert an SDK from the mock, to unset
    /// ([`crate::DIVERTING_VARIABLES`]).
    pub fn sdk_env(&self) -> SdkEnv {
        SdkEnv {
            set: vec![
                (
                    "AWS_EC2_METADATA_SERVICE_ENDPOINT",
                    format!("{}/", self.endpoint()),
                ),
                ("AWS_ENDPOINT_URL_STS", self.sts_endpoint()),
                ("AWS_DEFAULT_REGION", "us-east-1".into()),
                ("AWS_CONFIG_FILE", "/dev/null".into()),
                ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null".into()),
            ],
            unset: crate::sdk_env::DIVERTING_VARIABLES,
        }
    }

    /// How to reach the container credentials endpoints (URLs, token, token files), when
    /// the mock serves them ([`MockImdsBuilder::container`]).
    pub fn container_endpoints(&self) -> Option<&ContainerEndpoints> {
        self.container.as_ref()
    }

    /// The variables that point an SDK's container credential provider at this mock's
    /// `surface`, or `None` without container endpoints (or, for
    /// [`ContainerSurface::EcsRelativeUri`], when the ECS path takes a token: the
    /// relative URI carries none). Set them beside [`Self::sdk_env`]'s (whose `unset` list
    /// names them too: set these after unsetting).
    pub fn container_env(&self, surface: ContainerSurface) -> Option<Vec<(&'static str, String)>> {
        let c = self.container.as_ref()?;
        let file = |p: &std::path::Path| p.display().to_string();
        Some(match surface {
            ContainerSurface::EcsRelativeUri => {
                if c.ecs_token.is_some() {
                    return None;
                }
                vec![(
                    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                    c.ecs_relative_uri.clone(),
                )]
            }
            ContainerSurface::EcsToken => vec![
                ("AWS_CONTAINER_CREDENTIALS_FULL_URI", c.ecs_full_uri.clone()),
                ("AWS_CONTAINER_AUTHORIZATION_TOKEN", c.ecs_token.clone()?),
            ],
            ContainerSurface::EcsTokenFile => vec![
                ("AWS_CONTAINER_CREDENTIALS_FULL_URI", c.ecs_full_uri.clone()),
                (
                    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
                    file(&c.ecs_token_file),
                ),
            ],
            ContainerSurface::PodIdentity => vec![
                (
                    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                    c.pod_identity_uri.clone(),
                ),
                (
                    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
                    file(&c.pod_identity_token_file),
                ),
            ],
        })
    }

    /// Writes a new Pod Identity service-account token over the token file, as the
    /// kubelet rotates it (new `iat` and `exp`, written to a temporary file and renamed);
    /// the old token stays accepted until its `exp`. Logged as `token-file-rotated`.
    /// `None` without container endpoints.
    ///
    /// # Errors
    /// The write or rename error, inside the `Some`.
    pub fn rotate_token(&self) -> Option<std::io::Result<crate::container::ServiceAccountToken>> {
        self.switch.rotate_token(None)
    }

    /// The seed of the RNG behind fault probabilities and jitter.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The current state.
    pub fn state(&self) -> ImdsState {
        self.switch.state()
    }

    /// Sets a fault (`Fault::Refuse`, `Fault::status(403).on(Target::Token)`, a parsed
    /// [`FaultSpec`]), replacing the fault on its target, and returns once it is in force:
    /// the next request (and, for socket faults, the next connection attempt) sees it.
    /// Logged as a transition.
    ///
    /// # Errors
    /// [`TransitionError`] when the socket could not be opened again (logged as a
    /// `transition-failed` event).
    pub async fn inject(&self, fault: impl Into<FaultSpec>) -> Result<(), TransitionError> {
        self.apply(Change::Set(fault.into())).await
    }

    /// Like [`Self::inject`], and the fault is lifted when the guard drops (if it is still
    /// the fault on its target then). [`FaultGuard::lift`] lifts it and returns once that
    /// is in force; a plain drop lifts it in the background.
    ///
    /// # Errors
    /// As [`Self::inject`].
    pub async fn inject_scoped(
        &self,
        fault: impl Into<FaultSpec>,
    ) -> Result<FaultGuard, TransitionError> {
        let spec = fault.into();
        self.apply(Change::Set(spec.clone())).await?;
        Ok(FaultGuard {
            switch: Some(self.switch.clone()),
            spec,
        })
    }

    /// Lifts every fault: IMDS is up.
    ///
    /// # Errors
    /// As [`Self::inject`].
    pub async fn recover(&self) -> Result<(), TransitionError> {
        self.apply(Change::Up).await
    }

    /// Replaces the whole state (`up`, or faults joined by `;`).
    ///
    /// # Errors
    /// As [`Self::inject`].
    pub async fn set_state(&self, state: ImdsState) -> Result<(), TransitionError> {
        self.switch.set_state(state).await
    }

    /// Lifts the fault on `target` (`up on TARGET`), if any.
    ///
    /// # Errors
    /// As [`Self::inject`].
    pub async fn lift(&self, target: Target) -> Result<(), TransitionError> {
        self.apply(Change::Clear(target)).await
    }

    /// Applies one change, as a schedule step does.
    async fn apply(&self, change: Change) -> Result<(), TransitionError> {
        self.switch.apply(&change).await
    }

    /// Starts the clock of a schedule held by [`MockImdsBuilder::defer_schedule`]: the
    /// event log's zero moves to now and the schedule's later steps run from it. A no-op
    /// when there is no deferred schedule (the clock started with the mock).
    pub fn start_schedule_clock(&self) {
        self.switch.start_deferred();
    }

    /// Waits until every schedule step due by now (on the event log's clock) is in force:
    /// its jumps, rotations and notices made and its transition's socket in place; up to
    /// `limit`, returning `false` when a step is still pending then. Returns `true` at
    /// once when no schedule runs (or its clock has not started) or no step is due.
    ///
    /// A harness calls it before each call it makes, so a call meant to come after a step
    /// (a clock jump, say) never races the step's task: the call starts a few
    /// milliseconds later instead of meeting the state before the step.
    pub async fn schedule_caught_up(&self, limit: Duration) -> bool {
        self.switch.caught_up(limit).await
    }

    /// Marks an SDK call in flight until the returned guard drops: a scheduled clock jump
    /// waits (up to [`crate::JUMP_HOLD_LIMIT`], 5 s) until no marked call is in flight,
    /// so no call is signed on one clock and judged on the other. A real clock does not
    /// jump hours in the middle of a request; the jump is what a scenario uses to skip
    /// the hours between calls. The group's state change, if any, is not held: an outage
    /// starts on time, under the call.
    pub fn call_in_flight(&self) -> crate::InFlight {
        self.switch.call_in_flight()
    }

    /// Applies `schedule` on the event log's clock in a background task (replacing any
    /// schedule already running). Steps already in the past are applied at once, in order,
    /// except steps at time zero, which [`MockImdsBuilder::schedule`] applies at start.
    pub fn run_schedule(&self, schedule: Schedule) {
        self.switch
            .run_schedule(schedule, self.events.epoch(), true);
    }

    /// All events so far, sorted by time.
    pub fn events(&self) -> Vec<Event> {
        self.events.snapshot()
    }

    /// All events so far, to narrow down: `imds.query().since(mark).path("/latest/api/token")`.
    pub fn query(&self) -> Events {
        Events::from(self.events.snapshot())
    }

    /// The shared event log (its clock is the scenario clock).
    pub fn event_log(&self) -> &EventLog {
        &self.events
    }

    /// The current position in the event log, for [`Events::since`].
    pub fn mark(&self) -> Mark {
        Mark(self.events.now())
    }

    /// Events that happened at or after `mark`.
    pub fn events_since(&self, mark: Mark) -> Vec<Event> {
        self.query().since(mark).into_vec()
    }

    /// IMDS requests for the role credentials document (not the listing) at or after
    /// `mark` that were answered 200: how often clients fetched credentials.
    pub fn credential_fetches_since(&self, mark: Mark) -> usize {
        self.query().since(mark).credential_fetches().len()
    }

    /// The mock's virtual wall clock (shared with whoever passed it to
    /// [`MockImdsBuilder::clock`]).
    pub fn clock(&self) -> &Arc<Clock> {
        self.switch.clock()
    }

    /// The virtual wall-clock time now: what `LastUpdated`, `Expiration`, token expiry and
    /// the fake STS's checks are measured against.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.switch.clock().now()
    }

    /// Jumps the virtual wall clock by `by` (back when negative), logged as a `clock-jump`
    /// event; returns the clock's new offset from real time. Credentials whose rotation
    /// instant the jump passes are replaced at the next request for them, tokens whose
    /// TTL it passes expire, and the fake STS judges signatures by the new time (a request
    /// signed on the old clock more than 15 minutes away is `SignatureDoesNotMatch`).
    ///
    /// # Errors
    /// [`ClockRangeError`] when the clock would move more than 100 years from real time.
    pub fn jump_clock(&self, by: SignedDuration) -> Result<SignedDuration, ClockRangeError> {
        self.switch.jump_clock(None, by)
    }

    /// Sets what the token PUT's answer says in `X-aws-ec2-metadata-token-ttl-seconds`
    /// from the next token on (see [`crate::TokenTtlHeader`]).
    pub fn set_token_ttl_header(&self, mode: crate::TokenTtlHeader) {
        self.switch.set_token_ttl_header(mode);
    }

    /// What the token answer's TTL header says now.
    pub fn token_ttl_header(&self) -> crate::TokenTtlHeader {
        self.switch.token_ttl_header()
    }

    /// Replaces the role credentials now, as EC2 does at a rotation (the old set stays
    /// valid until its `Expiration`), logged as `credentials-rotated`; `None` when the
    /// instance has no role.
    pub fn rotate_credentials(&self) -> Option<Arc<IssuedCredentials>> {
        self.switch.rotate(None)
    }

    /// The credential store (`None` when the instance has no role).
    pub fn credentials(&self) -> Option<&Arc<CredentialStore>> {
        self.credentials.as_ref()
    }

    /// Puts a notice in force ([`crate::notice`]), stamped on the virtual clock and
    /// logged as a `notice` event; returns the notice's time (now + its lead).
    pub fn post_notice(&self, notice: &crate::notice::Notice) -> chrono::DateTime<chrono::Utc> {
        self.switch.post_notice(None, notice)
    }

    /// Serves `config` from the next request on: identity, paths, tags, user data,
    /// `HttpTokens`, `HttpEndpoint`, hop limit. Open connections, the faults, the
    /// schedule, the notices, tokens and credentials stay; the role and credential
    /// lifetimes are the ones the mock started with (they shape the credential store), and
    /// so is `token_ttl_header` unless set since ([`MockImds::set_token_ttl_header`]): a
    /// runtime setting, like the faults.
    pub fn reconfigure(&self, config: ImdsConfig) {
        self.switch.instance().reconfigure(config);
    }

    /// Watches the instance config file `path` every `every` and serves each change that
    /// reads (after `adjust`), as [`MockImds::reconfigure`]; one that does not is logged
    /// and the old config kept. `report` hears every reload (the warnings, or why not).
    /// See [`crate::config_watch`]. Dropping the returned watch stops it.
    pub fn watch_config(
        &self,
        path: std::path::PathBuf,
        every: Duration,
        adjust: impl Fn(&mut ImdsConfig) + Send + Sync + 'static,
        report: impl Fn(crate::config_watch::ReloadOutcome<'_>) + Send + Sync + 'static,
    ) -> crate::config_watch::ConfigWatch {
        crate::config_watch::spawn(self.switch.clone(), path, every, adjust, report)
    }

    /// Every role session the fake STS issued on `AssumeRole`, oldest first (expired
    /// ones included: STS still recognises their keys, answering `ExpiredToken`).
    pub fn assumed_sessions(&self) -> Vec<Arc<AssumedSession>> {
        self.sessions.all()
    }
}

/// A fault set by [`MockImds::inject_scoped`]; dropping the guard lifts it.
#[derive(Debug)]
#[must_use = "the fault is lifted when the guard drops"]
pub struct FaultGuard {
    switch: Option<Arc<Switch>>,
    spec: FaultSpec,
}

impl FaultGuard {
    /// The fault this guard holds.
    pub fn spec(&self) -> &FaultSpec {
        &self.spec
    }

    /// Lifts the fault (if it is still the one on its target) and returns once that is in
    /// force.
    ///
    /// # Errors
    /// As [`MockImds::inject`].
    pub async fn lift(mut self) -> Result<(), TransitionError> {
        match self.switch.take() {
            Some(switch) => lift(&switch, &self.spec).await,
            None => Ok(()),
        }
    }
}

async fn lift(switch: &Switch, spec: &FaultSpec) -> Result<(), TransitionError> {
    switch
        .transition(None, |state| {
            if state.fault_on(&spec.target) == Some(spec) {
                state.clear(&spec.target);
            }
        })
        .await
}

impl Drop for FaultGuard {
    fn drop(&mut self) {
        if let Some(switch) = self.switch.take() {
            let spec = self.spec.clone();
            switch.clone().spawn(async move {
                let _ = lift(&switch, &spec).await;
            });
        }
    }
}

/// Which container credential provider an SDK is pointed at ([`MockImds::container_env`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContainerSurface {
    /// ECS, `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` (SDKs prepend `169.254.170.2`, so
    /// only in a link-local network namespace).
    EcsRelativeUri,
    /// ECS, `AWS_CONTAINER_CREDENTIALS_FULL_URI` + `AWS_CONTAINER_AUTHORIZATION_TOKEN`.
    EcsToken,
    /// ECS, `AWS_CONTAINER_CREDENTIALS_FULL_URI` + `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`.
    EcsTokenFile,
    /// EKS Pod Identity: `FULL_URI` `…/v1/credentials` + the service-account token file.
    PodIdentity,
}
