//! The switch: the state in force and the schedule runner. Every change of state goes
//! through it, whoever asks (the library handle, the control API, a schedule step), so
//! each is serialized, put in force (socket included) before it returns, and logged.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::task::AbortOnDropHandle;

use crate::clock::{Clock, ClockRangeError, SignedDuration};
use crate::container::{ServiceAccountToken, TokenFiles};
use crate::credentials::{CredentialStore, IssuedCredentials};
use crate::events::{EventKind, EventLog};
use crate::fault::{socket_mode, socket_mode_on, Change, ImdsState, Lifted, Target};
use crate::instance::Instance;
use crate::listener::{Listener, SocketMode};
use crate::notice::Notice;
use crate::schedule::Schedule;
use crate::ttl_header::{TokenTtlHeader, TtlHeaderSetting};

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

/// Longest a scheduled clock jump waits for the calls in flight to end (5 s), and never
/// past the schedule's next step: then the clock jumps under the call, and the harness's
/// integrity check judges that call.
pub const JUMP_HOLD_LIMIT: Duration = Duration::from_secs(5);

/// A call marked in flight ([`crate::MockImds::call_in_flight`]) until this drops.
#[derive(Debug)]
#[must_use = "the call is in flight only while the guard lives"]
pub struct InFlight(watch::Sender<usize>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n = n.saturating_sub(1));
    }
}

/// The state in force, the IMDS listener it drives, and the running schedule.
#[derive(Debug)]
pub(crate) struct Switch {
    state: watch::Sender<Arc<ImdsState>>,
    listener: Listener,
    /// The container credentials listener and its token files, when the mock serves the
    /// container endpoints ([`Switch::with_container`]).
    container: Option<(Listener, Arc<TokenFiles>)>,
    events: EventLog,
    /// Serializes transitions; holds the sockets' current modes (IMDS, container), so a
    /// switch between request-level faults never waits for a listener task.
    socket: tokio::sync::Mutex<(SocketMode, SocketMode)>,
    /// The running schedule; replacing or dropping it stops it.
    schedule: Mutex<Option<AbortOnDropHandle<()>>>,
    /// A schedule waiting for [`Switch::start_deferred`].
    deferred: Mutex<Option<Schedule>>,
    /// When the running schedule's next step not yet in force is due, on the event log's
    /// clock (`None`: no step pending): [`Switch::caught_up`] waits on it.
    next_due: watch::Sender<Option<Duration>>,
    /// How many calls a harness has marked in flight ([`Switch::call_in_flight`]): a
    /// scheduled clock jump waits for none.
    in_flight: watch::Sender<usize>,
    /// The runtime the mock was started on: its schedule task runs there too, whoever
    /// starts it (a harness keeps its mocks on a runtime of their own, so that in-process
    /// SDK work cannot delay a transition).
    runtime: tokio::runtime::Handle,
    /// The mock's virtual wall clock.
    clock: Arc<Clock>,
    /// The credential store (`None` without a role).
    credentials: Option<Arc<CredentialStore>>,
    /// What the token answer's TTL header says (shared with IMDS).
    ttl_header: TtlHeaderSetting,
    /// The instance IMDS serves: notices go there.
    instance: Arc<Instance>,
}

fn locked<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

impl Switch {
    /// A switch over `state` (whose receivers the handlers read) and `listener` (whose
    /// socket is already in the mode `state` asks for), on the current runtime; clock
    /// steps move `clock`, rotations go to `credentials`, notices to `instance`.
    pub(crate) fn new(
        state: watch::Sender<Arc<ImdsState>>,
        listener: Listener,
        events: EventLog,
        clock: Arc<Clock>,
        credentials: Option<Arc<CredentialStore>>,
        ttl_header: TtlHeaderSetting,
        instance: Arc<Instance>,
    ) -> Self {
        let mode = socket_mode(&state.borrow());
        Self {
            state,
            listener,
            container: None,
            events,
            socket: tokio::sync::Mutex::new((mode, SocketMode::Open)),
            schedule: Mutex::new(None),
            deferred: Mutex::new(None),
            next_due: watch::Sender::new(None),
            in_flight: watch::Sender::new(0),
            runtime: tokio::runtime::Handle::current(),
            clock,
            credentials,
            ttl_header,
            instance,
        }
    }

    /// What the token answer's TTL header says now.
    pub(crate) fn token_ttl_header(&self) -> TokenTtlHeader {
        self.ttl_header.get()
    }

    /// Puts `mode` in force for the next token answers.
    pub(crate) fn set_token_ttl_header(&self, mode: TokenTtlHeader) {
        self.ttl_header.set(mode);
    }

    /// The instance IMDS serves (config and notices).
    pub(crate) fn instance(&self) -> &Arc<Instance> {
        &self.instance
    }

    /// Puts `notice` in force, stamped on the virtual clock, and logs a `notice` event;
    /// returns the notice's time (now + its lead). `step`: as for [`Switch::transition`].
    pub(crate) fn post_notice(
        &self,
        step: Option<Duration>,
        notice: &Notice,
    ) -> chrono::DateTime<chrono::Utc> {
        let asked_at = step.unwrap_or_else(|| self.events.now());
        let at = self.instance.post(notice, self.clock.now());
        self.events.record(EventKind::Notice {
            notice: notice.clone(),
            time: crate::credentials::ec2_time(at),
            asked_at,
            scheduled: step.is_some(),
        });
        at
    }

    /// Also drives `listener`, the container credentials listener (already in the mode
    /// the state asks for), and rotates `files`.
    pub(crate) fn with_container(mut self, listener: Listener, files: Arc<TokenFiles>) -> Self {
        self.socket.get_mut().1 = socket_mode_on(&self.state.borrow(), &Target::Container);
        self.container = Some((listener, files));
        self
    }

    /// The container credentials listener and token files, if served.
    pub(crate) fn container(&self) -> Option<&(Listener, Arc<TokenFiles>)> {
        self.container.as_ref()
    }

    /// Writes a new Pod Identity service-account token over the token file (as the kubelet
    /// rotates it), logged as `token-file-rotated`; `None` without container endpoints.
    /// `step`: as for [`Switch::transition`].
    pub(crate) fn rotate_token(
        &self,
        step: Option<Duration>,
    ) -> Option<std::io::Result<ServiceAccountToken>> {
        let (_, files) = self.container.as_ref()?;
        let asked_at = step.unwrap_or_else(|| self.events.now());
        let rotated = files.rotate(self.clock.now());
        if let Ok(token) = &rotated {
            self.events.record(EventKind::TokenFileRotated {
                expires_at: crate::credentials::ec2_time(token.expires_at),
                asked_at,
                scheduled: step.is_some(),
            });
        }
        Some(rotated)
    }

    /// The mock's virtual wall clock.
    pub(crate) fn clock(&self) -> &Arc<Clock> {
        &self.clock
    }

    /// Jumps the virtual clock by `by` and logs a `clock-jump` event; returns the new
    /// offset. `step`: as for [`Switch::transition`].
    pub(crate) fn jump_clock(
        &self,
        step: Option<Duration>,
        by: SignedDuration,
    ) -> Result<SignedDuration, ClockRangeError> {
        let asked_at = step.unwrap_or_else(|| self.events.now());
        let offset = self.clock.jump(by)?;
        self.events.record(EventKind::ClockJump {
            by,
            offset_ms: offset.as_millis(),
            asked_at,
            scheduled: step.is_some(),
        });
        Ok(offset)
    }

    /// Replaces the credentials now, on the virtual clock (logged by the store as
    /// `credentials-rotated`); `None` when the instance has no role. `step`: as for
    /// [`Switch::transition`].
    pub(crate) fn rotate(&self, step: Option<Duration>) -> Option<Arc<IssuedCredentials>> {
        let store = self.credentials.as_ref()?;
        Some(store.rotate_for(self.clock.now(), step))
    }

    /// The IMDS listener.
    pub(crate) fn listener(&self) -> &Listener {
        &self.listener
    }

    /// The event log transitions are written to.
    pub(crate) fn events(&self) -> &EventLog {
        &self.events
    }

    /// The state in force.
    pub(crate) fn state(&self) -> ImdsState {
        (**self.state.borrow()).clone()
    }

    /// Replaces the whole state; returns once it is in force.
    pub(crate) async fn set_state(&self, state: ImdsState) -> Result<(), TransitionError> {
        self.transition(None, |s| *s = state).await
    }

    /// Applies one change; returns once it is in force.
    pub(crate) async fn apply(&self, change: &Change) -> Result<(), TransitionError> {
        self.transition(None, |s| s.apply(change)).await
    }

    /// Clears a counted fault that has acted on its last request (`times=N`), when it
    /// is still the one set on its target (not replaced or cleared meanwhile): logs a
    /// `fault-lifted` event, then the transition.
    pub(crate) async fn lift(&self, lifted: Lifted) -> Result<(), TransitionError> {
        let target = lifted.spec.target.clone();
        if self.state().arming(&target) != Some(lifted.arming) {
            return Ok(());
        }
        self.events.record(EventKind::FaultLifted {
            after: lifted.spec.times.unwrap_or(0),
            fault: lifted.spec,
        });
        self.transition(None, |s| {
            if s.arming(&target) == Some(lifted.arming) {
                s.clear(&target);
            }
        })
        .await
    }

    /// Changes the state with `change` and puts it in force. `step`: when a schedule
    /// step asked for it, the step's time on the event log's clock, else `None` (asked
    /// for now). Logs a `transition` event when it is in force, stamped then, with the
    /// time it was asked for; or a `transition-failed` event.
    pub(crate) async fn transition(
        &self,
        step: Option<Duration>,
        change: impl FnOnce(&mut ImdsState),
    ) -> Result<(), TransitionError> {
        let asked_at = step.unwrap_or_else(|| self.events.now());
        let mut socket = self.socket.lock().await;
        let mut state = self.state();
        change(&mut state);
        // Handlers see the new state first (a kept-alive request must not be served in
        // the old one), then the socket follows — only when its mode changes, so that
        // switching request-level faults does not queue behind a listener busy accepting.
        let mode = socket_mode(&state);
        let container_mode = socket_mode_on(&state, &Target::Container);
        self.state.send_replace(Arc::new(state.clone()));
        if let Some((listener, _)) = &self.container {
            if container_mode != socket.1 {
                if let Err(source) = listener.apply(container_mode).await {
                    socket.1 = SocketMode::Refuse;
                    self.events.record(EventKind::TransitionFailed {
                        state: state.clone(),
                        asked_at,
                        scheduled: step.is_some(),
                        error: format!("container listener: {source}"),
                    });
                    return Err(TransitionError { state, source });
                }
                socket.1 = container_mode;
            }
        }
        if mode != socket.0 {
            if let Err(source) = self.listener.apply(mode).await {
                // The listener is left refusing connections.
                socket.0 = SocketMode::Refuse;
                self.events.record(EventKind::TransitionFailed {
                    state: state.clone(),
                    asked_at,
                    scheduled: step.is_some(),
                    error: source.to_string(),
                });
                return Err(TransitionError { state, source });
            }
            socket.0 = mode;
        }
        self.events.record(EventKind::Transition {
            state,
            asked_at,
            scheduled: step.is_some(),
        });
        Ok(())
    }

    /// Runs `schedule` with `start` as its zero in a task on the mock's runtime,
    /// replacing (and so stopping) the running one. `skip_zero`: the steps at zero were
    /// applied already (at start-up). Steps already in the past are applied at once, in
    /// order. A step that cannot be put in force is in the event log
    /// (`transition-failed`); later steps still run.
    pub(crate) fn run_schedule(
        self: &Arc<Self>,
        schedule: Schedule,
        start: Instant,
        skip_zero: bool,
    ) {
        let switch = self.clone();
        // The step's time on the event log's clock (a schedule posted to a running mock
        // starts later than the log's zero).
        let offset = start.saturating_duration_since(self.events.epoch());
        let pending = move |schedule: &Schedule, after: Option<Duration>| {
            schedule
                .steps()
                .iter()
                .map(|s| s.at)
                .find(|at| !(skip_zero && at.is_zero()) && after.is_none_or(|after| *at > after))
                .map(|at| offset + at)
        };
        // Set before the task first runs, so a caller asking at once already waits.
        self.next_due.send_replace(pending(&schedule, None));
        let task = self.runtime.spawn(async move {
            let groups: Vec<&[crate::schedule::Step]> =
                schedule.steps().chunk_by(|a, b| a.at == b.at).collect();
            for (i, group) in groups.iter().copied().enumerate() {
                if skip_zero && group[0].at.is_zero() {
                    continue;
                }
                // A held jump never delays the next step: it waits until then at most.
                let next = groups.get(i + 1).map(|g| start + g[0].at);
                tokio::time::sleep_until(start + group[0].at).await;
                let asked_at = offset + group[0].at;
                // Clock jumps, rotations and notices in the order written (a rotation
                // after a jump is issued on the jumped clock), then the group's state
                // changes as one transition. While a call is marked in flight, a group
                // with a jump puts its state in force first, on time, and jumps once
                // the calls have ended.
                let changes_state = group.iter().any(|s| s.state().is_some());
                let transition = || {
                    switch.transition(Some(asked_at), |s| {
                        for change in group.iter().filter_map(|step| step.state()) {
                            s.apply(change);
                        }
                    })
                };
                let held = group.iter().any(|s| s.change.clock.is_some())
                    && *switch.in_flight.borrow() > 0;
                if held {
                    if changes_state {
                        let _ = transition().await;
                    }
                    let limit = Instant::now() + JUMP_HOLD_LIMIT;
                    switch
                        .quiet(next.map_or(limit, |next| next.min(limit)))
                        .await;
                }
                for step in group {
                    if let Some(by) = step.change.clock {
                        // Out of range: the clock stays; the log shows no jump.
                        let _ = switch.jump_clock(Some(asked_at), by);
                    }
                    if step.change.rotate {
                        switch.rotate(Some(asked_at));
                    }
                    if let Some(notice) = &step.change.notice {
                        switch.post_notice(Some(asked_at), notice);
                    }
                    if step.change.rotate_token {
                        switch.rotate_token(Some(asked_at));
                    }
                }
                if changes_state && !held {
                    let _ = transition().await;
                }
                switch
                    .next_due
                    .send_replace(pending(&schedule, Some(group[0].at)));
            }
        });
        // The old task, if any, is aborted as its handle drops.
        *locked(&self.schedule) = Some(AbortOnDropHandle::new(task));
    }

    /// Marks a call in flight until the guard drops ([`JUMP_HOLD_LIMIT`]).
    pub(crate) fn call_in_flight(&self) -> InFlight {
        self.in_flight.send_modify(|n| *n += 1);
        InFlight(self.in_flight.clone())
    }

    /// Waits until no call is marked in flight, or until `deadline`.
    async fn quiet(&self, deadline: Instant) {
        let mut calls = self.in_flight.subscribe();
        let _ = tokio::time::timeout_at(deadline, calls.wait_for(|n| *n == 0)).await;
    }

    /// Waits until every step of the running schedule due by now (the event log's clock)
    /// is in force, up to `limit`; `false` when `limit` passed first (a step is late).
    /// Returns at once when no schedule runs or none is due.
    pub(crate) async fn caught_up(&self, limit: Duration) -> bool {
        let mut due = self.next_due.subscribe();
        let now = self.events.now();
        let waited =
            tokio::time::timeout(limit, due.wait_for(|next| next.is_none_or(|at| at > now))).await;
        // The sender lives as long as the switch: `Err` is the timeout.
        waited.is_ok_and(|seen| seen.is_ok())
    }

    /// Runs `task` on the mock's runtime and hands back its handle.
    pub(crate) fn runtime_spawn<F>(&self, task: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: std::future::Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.runtime.spawn(task)
    }

    /// Runs `task` on the mock's runtime (from anywhere, a drop included).
    pub(crate) fn spawn(&self, task: impl std::future::Future<Output = ()> + Send + 'static) {
        drop(self.runtime.spawn(task));
    }

    /// Stops the running schedule, if any; true when one was running.
    pub(crate) fn stop_schedule(&self) -> bool {
        locked(&self.schedule)
            .take()
            .is_some_and(|task| !task.is_finished())
    }

    /// True while a schedule has steps still to come.
    pub(crate) fn schedule_running(&self) -> bool {
        locked(&self.schedule)
            .as_ref()
            .is_some_and(|task| !task.is_finished())
    }

    /// Holds `schedule` until [`Switch::start_deferred`].
    pub(crate) fn defer(&self, schedule: Schedule) {
        *locked(&self.deferred) = Some(schedule);
    }

    /// Starts the clock of a deferred schedule: the event log's zero moves to now and the
    /// schedule's later steps run from it. A no-op when none is deferred.
    pub(crate) fn start_deferred(self: &Arc<Self>) {
        let deferred = locked(&self.deferred).take();
        if let Some(schedule) = deferred {
            let now = Instant::now();
            self.events.restart_clock(now);
            self.run_schedule(schedule, now, true);
        }
    }
}
