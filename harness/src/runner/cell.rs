//! One cell, start to end: start its driver, start its mocks (on their own runtime,
//! `super::mocks`), configure the driver, wait at the [`StartGate`], start the schedule
//! clock, play the strategy, and turn the timeline into the cell's report row.

use std::sync::Arc;
use std::time::Duration;

use mock_imds::MockImds;
use rand::rngs::StdRng;
use rand::SeedableRng;
use tokio::time::Instant;

use super::address;
use super::gate::{StartGate, Starting};
use super::mocks::mock_runtime;
use crate::driver::clock::CellClock;
use crate::driver::{self, Driver, DriverError, DriverKind, DriverSetup, Endpoints};
use crate::integrity;
use crate::report::model::{CellOutcome, CellResult, CellRun, CheckResult};
use crate::scenario::{Cell, Expectation, Scenario};
use crate::strategy::Wait;
use crate::timeline::{DriverEvent, Timeline};
use crate::verdict::Verdict;

/// How much longer than [`DriverSetup::operation_timeout`] the runner waits for one
/// driver operation before failing the cell itself (30 s; so 90 s by default). Child
/// drivers hit their own deadline first (and report their stderr); this backstop is for
/// an in-process driver that hangs.
pub const OPERATION_TIMEOUT_GRACE: Duration = Duration::from_secs(30);

/// Longest the runner holds a call for a schedule step that is due but not yet in force
/// (1 s): past it the call goes ahead and [`integrity::check`] finds the step late.
pub const STEP_WAIT: Duration = Duration::from_secs(1);

/// Why `rust-sdk` cannot take a container endpoint (measured on aws-config 1.13.0).
pub const RUST_SDK_CONTAINER: &str = "`rust-sdk` runs in this process, and aws-config's `EcsCredentialsProvider` reads AWS_CONTAINER_* only from the process environment (`ProviderConfig::with_env` is crate-private in aws-config 1.13), which the cells of a run share; leave it out of `[endpoint]` container scenarios";

/// The region every client uses.
pub const REGION: &str = "us-east-1";

/// Where a cell runs: on the harness's loopback, or in a network namespace of its own
/// ([`super::link_local`]).
pub(super) enum Place<'a> {
    /// Loopback: the mocks on the shared mock runtime, the driver beside the harness.
    Loopback,
    /// In `netns`: the mocks on `mocks` (a runtime whose threads are in it), the driver
    /// spawned from a thread in it, told so through the guard's variables.
    LinkLocal {
        /// The cell's namespace.
        netns: &'a crate::netns::CellNamespace,
        /// The mocks' runtime, inside it.
        mocks: &'a tokio::runtime::Handle,
    },
}

/// Starts the cell's mocks on their runtime, the IMDS on the address its driver needs
/// ([`super::address`]): the next free `127.0.0.N` when the SDK ignores the port; in a
/// link-local cell, IMDS's real address ([`crate::netns::LINK_LOCAL_BINDINGS`]).
async fn start_mocks(
    scenario: &Scenario,
    kind: &DriverKind,
    clock: &std::sync::Arc<mock_imds::Clock>,
    place: &Place<'_>,
) -> Result<MockImds, String> {
    let (runtime, candidates) = match place {
        Place::Loopback => (
            mock_runtime()?.handle().clone(),
            address::imds_candidates(kind),
        ),
        Place::LinkLocal { mocks, .. } => (
            (*mocks).clone(),
            vec![crate::netns::link_local_addr(crate::netns::Surface::Imds)],
        ),
    };
    let fixed_port = kind.fixed_imds_port().is_some() && matches!(place, Place::Loopback);
    let mut last = String::from("no address to try");
    for addr in candidates {
        let builder = MockImds::builder()
            .config(scenario.imds.config())
            .bind(addr)
            .defer_schedule()
            .clock(clock.clone())
            .seed(scenario.seed)
            .schedule(scenario.schedule.clone());
        let builder = match (scenario.endpoint.container_config(), place) {
            (Some(config), Place::Loopback) => builder.container(config),
            // The agent's real address inside the cell's namespace: 169.254.170.2:80
            // (ECS) or 169.254.170.23:80 (Pod Identity).
            (Some(config), Place::LinkLocal { .. }) => {
                let surface = scenario
                    .endpoint
                    .surface()
                    .expect("a container config has a surface");
                builder.container(mock_imds::ContainerConfig {
                    bind: crate::netns::link_local_addr(crate::netns::Surface::of_container(
                        surface,
                    )),
                    ..config
                })
            }
            (None, _) => builder,
        };
        match runtime.spawn(builder.start()).await {
            Err(e) => return Err(format!("could not start mock-imds: {e}")),
            Ok(Ok(mock)) => return Ok(mock),
            Ok(Err(e)) if fixed_port => match e.kind() {
                std::io::ErrorKind::AddrInUse => last = e.to_string(),
                std::io::ErrorKind::PermissionDenied => {
                    return Err(address::privileged_port_error(kind, addr, &e))
                }
                _ => return Err(format!("could not start mock-imds: {e}")),
            },
            Ok(Err(e)) => return Err(format!("could not start mock-imds on {addr}: {e}")),
        }
    }
    Err(format!(
        "could not start mock-imds: every loopback address 127.0.0.2-254 is taken on port {}: {last}",
        kind.fixed_imds_port().unwrap_or(0)
    ))
}

/// Runs one cell on fresh mocks, on its own (no other cell to wait for).
pub async fn run_cell(scenario: &Scenario, cell: &Cell, setup: &DriverSetup) -> CellResult {
    run_cell_with(scenario, cell, setup, &Arc::new(StartGate::default())).await
}

/// Runs one cell on fresh mocks; its scenario clock starts once `gate` is quiet. A
/// `[network] mode = "link-local"` scenario's cell runs in a network namespace of its own
/// ([`super::link_local`]).
pub async fn run_cell_with(
    scenario: &Scenario,
    cell: &Cell,
    setup: &DriverSetup,
    gate: &Arc<StartGate>,
) -> CellResult {
    let started = Instant::now();
    let mut result = if scenario.network.is_link_local() {
        super::link_local::run_cell(scenario, cell, setup, gate).await
    } else {
        run_cell_inner(scenario, cell, setup, gate, &Place::Loopback).await
    };
    result.wall = started.elapsed();
    result
}

/// A result row for `cell` with nothing run yet (a setup error with no message).
pub(super) fn blank_result(scenario: &Scenario, cell: &Cell) -> CellResult {
    CellResult {
        index: 0,
        scenario: scenario.name.clone(),
        cell: cell.id(),
        driver: cell.driver.name.clone(),
        strategy: cell.strategy.clone(),
        sdk_version: None,
        wall: Duration::ZERO,
        outcome: CellOutcome::SetupError(String::new()),
    }
}

/// Runs one cell at `place` (the caller has put this task there).
pub(super) async fn run_cell_inner(
    scenario: &Scenario,
    cell: &Cell,
    setup: &DriverSetup,
    gate: &StartGate,
    place: &Place<'_>,
) -> CellResult {
    let starting = gate.enter();
    let mut result = blank_result(scenario, cell);
    // One wall clock for the cell's mock, STS and driver. A child driver follows it
    // through libfaketime, preloaded only where it can move.
    let moves = scenario.schedule.moves_clock() || cell.driver.settings.has_clock_offset();
    if moves && cell.driver.kind.ignores_libfaketime() {
        result.outcome = CellOutcome::SetupError(format!(
            "`{}` cannot follow the cell clock: Go programs read the time without libc, so \
             libfaketime does not reach them; leave it out of scenarios that jump the clock \
             or set `clock_offset_s`",
            cell.driver.kind
        ));
        return result;
    }
    if scenario.endpoint.surface().is_some() && cell.driver.kind == DriverKind::RustSdk {
        result.outcome = CellOutcome::SetupError(RUST_SDK_CONTAINER.to_string());
        return result;
    }
    if let Some(bound) = cell.strategy.call_timeout {
        if bound >= setup.operation_timeout {
            // The driver's own deadline would end the cell as a driver error first.
            result.outcome = CellOutcome::SetupError(format!(
                "strategy `{}` has call_timeout = {}, not shorter than the operation timeout \
                 ({}): raise --operation-timeout or lower call_timeout",
                cell.strategy.name,
                humantime::format_duration(bound),
                humantime::format_duration(setup.operation_timeout)
            ));
            return result;
        }
    }
    // Parsing refuses it too; this is for a scenario built in code: on loopback the SDK
    // would go to 169.254.170.2 on the host's network (the child guards refuse it too).
    if scenario.endpoint.surface() == Some(mock_imds::ContainerSurface::EcsRelativeUri)
        && matches!(place, Place::Loopback)
    {
        result.outcome = CellOutcome::SetupError(
            crate::scenario::endpoint::EndpointProblem::RelativeOnLoopback.to_string(),
        );
        return result;
    }
    let cell_clock = if moves && cell.driver.kind != DriverKind::RustSdk {
        match CellClock::faked(cell.driver.settings.clock_offset()) {
            Ok(clock) => clock,
            Err(e) => {
                result.outcome = CellOutcome::SetupError(e);
                return result;
            }
        }
    } else {
        CellClock::real()
    };
    if let Some(spec) = &cell.handler {
        // A `[handler]` scenario: the user's program, no driver protocol.
        let mock = match start_mocks(scenario, &cell.driver.kind, cell_clock.clock(), place).await {
            Ok(mock) => mock,
            Err(e) => {
                result.outcome = CellOutcome::SetupError(e);
                return result;
            }
        };
        result.outcome = super::handler::run(scenario, spec, &mock, starting, gate).await;
        return result;
    }
    // The driver starts (interpreter, imports) before the scenario clock does.
    let mut child_env = cell_clock.child_env();
    if let Place::LinkLocal { netns, .. } = place {
        match crate::netns::host_netns_id() {
            Ok(host) => child_env.extend(crate::netns::guard_env(netns.id(), &host)),
            Err(e) => {
                result.outcome = CellOutcome::SetupError(e.to_string());
                return result;
            }
        }
    }
    let mut driver = match driver::start_with(&cell.driver, setup, &child_env).await {
        Ok(driver) => driver,
        Err(e) => {
            result.outcome = CellOutcome::not_started(&e);
            return result;
        }
    };
    result.sdk_version = Some(driver.sdk_version());

    let mock = match start_mocks(scenario, &cell.driver.kind, cell_clock.clock(), place).await {
        Ok(mock) => mock,
        Err(e) => {
            result.outcome = CellOutcome::SetupError(e);
            return result;
        }
    };
    let mut driver_events = Vec::new();
    let limit = setup.operation_timeout + OPERATION_TIMEOUT_GRACE;
    let nonce = format!("{:08x}", rand::random::<u32>());
    let stage = Stage {
        mock: &mock,
        cell,
        seed: scenario.seed,
        nonce: &nonce,
        limit,
        gate,
        surface: scenario.endpoint.surface(),
    };
    let played = play(driver.as_mut(), &stage, starting, &mut driver_events).await;
    // A schedule step at or just before the end of the run may still be taking effect:
    // give it its bound, so the check below sees it (or rightly finds it late).
    let end = driver_events
        .iter()
        .filter_map(|(at, e)| match e {
            DriverEvent::Attempt { duration, .. } | DriverEvent::ClientCreated { duration, .. } => {
                Some(*at + *duration)
            }
            DriverEvent::SdkWarning { .. } => None,
        })
        .max()
        .unwrap_or_default();
    if let Some(step) = integrity::last_step_before(&scenario.schedule, end) {
        let settle = (step + integrity::TRANSITION_BOUND).saturating_sub(mock.event_log().now());
        tokio::time::sleep(settle + Duration::from_millis(1)).await;
    }
    let timeline = Timeline::merge(mock.events(), driver_events);
    let foreign = integrity::foreign_keys(&timeline, |key| {
        mock.credentials()
            .is_some_and(|store| store.lookup(key).is_some())
            || mock
                .assumed_sessions()
                .iter()
                .any(|s| s.credentials.access_key_id == key)
    });
    drop(mock);
    result.outcome = match played {
        Err(e) => CellOutcome::DriverError(e.to_string()),
        Ok(()) => {
            let verdict = Verdict::from_timeline(&timeline);
            let applying: Vec<&Expectation> = scenario
                .expectations
                .iter()
                .filter(|e| e.applies_to(cell))
                .collect();
            let mut inconclusive =
                integrity::check(&scenario.schedule, &nonce, &applying, &timeline);
            inconclusive.extend(foreign);
            let checks = applying
                .iter()
                .map(|e| CheckResult {
                    expectation: e.to_string(),
                    failures: e.check(&verdict),
                })
                .collect();
            CellOutcome::Ran(Box::new(CellRun {
                inconclusive,
                verdict,
                checks,
                timeline,
            }))
        }
    };
    result
}

async fn timed<T>(
    op: impl std::future::Future<Output = Result<T, DriverError>>,
    what: &str,
    driver: &DriverKind,
    limit: Duration,
) -> Result<(T, Duration), DriverError> {
    let started = Instant::now();
    match tokio::time::timeout(limit, op).await {
        Ok(Ok(value)) => Ok((value, started.elapsed())),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(DriverError::Broken {
            driver: driver.clone(),
            message: format!(
                "{what} did not return within {}",
                humantime::format_duration(limit)
            ),
            stderr: String::new(),
        }),
    }
}

/// Records what the SDK logged during the operation that started at `at` as
/// `sdk-warning` events of `attempt`.
fn record_sdk_warnings(
    driver: &mut dyn Driver,
    at: Duration,
    attempt: u32,
    events: &mut Vec<(Duration, DriverEvent)>,
) {
    for warning in driver.take_sdk_warnings() {
        events.push((at, DriverEvent::SdkWarning { attempt, warning }));
    }
}

/// Adds to a successful call's reported credentials the `Expiration` the mock issued with
/// the access key the driver reported (its credential store, by key), so the verdict can
/// tell an SDK-extended expiry from the issued one.
fn add_issued_expiration(outcome: &mut driver::CallOutcome, mock: &MockImds) {
    let driver::CallOutcome::Ok {
        access_key_id: Some(key),
        credentials: Some(held),
        ..
    } = outcome
    else {
        return;
    };
    if let Some(issued) = mock.credentials().and_then(|store| store.lookup(key)) {
        // As the document serves it: whole seconds (`ec2_time`).
        use chrono::SubsecRound;
        held.issued_expiration = Some(driver::api::rfc3339_ms(issued.expiration.trunc_subsecs(0)));
    }
}

/// What playing a cell's strategy needs besides its driver.
struct Stage<'a> {
    /// The cell's mocks (schedule deferred until the driver is ready).
    mock: &'a MockImds,
    /// The cell.
    cell: &'a Cell,
    /// The scenario's seed: the driver's and the strategy's random draws.
    seed: u64,
    /// The cell's call-id prefix.
    nonce: &'a str,
    /// Longest one driver operation may take.
    limit: Duration,
    /// Where the cell waits for the others to be ready.
    gate: &'a StartGate,
    /// The container surface the driver is pointed at (`[endpoint]`), if any.
    surface: Option<mock_imds::ContainerSurface>,
}

/// Runs one SDK operation (a client's creation or a call) between the schedule's steps:
/// it starts once every step due by then is in force (`MockImds::schedule_caught_up`, up
/// to [`STEP_WAIT`]), so an operation written to come after a clock jump never races the
/// jump's task, and it is marked in flight (`MockImds::call_in_flight`), so a jump due
/// during it waits for it to end. Returns when it started, on the scenario clock.
async fn between_steps<T>(
    mock: &MockImds,
    op: impl std::future::Future<Output = T>,
) -> (Duration, T) {
    mock.schedule_caught_up(STEP_WAIT).await;
    let _in_flight = mock.call_in_flight();
    let at = mock.event_log().now();
    (at, op.await)
}

/// Configures the driver, waits at the gate, starts the schedule clock, and makes the
/// strategy's attempts, recording each operation in `events`.
async fn play(
    driver: &mut dyn Driver,
    stage: &Stage<'_>,
    starting: Starting<'_>,
    events: &mut Vec<(Duration, DriverEvent)>,
) -> Result<(), DriverError> {
    let Stage {
        mock,
        cell,
        seed,
        nonce,
        limit,
        gate,
        surface,
    } = *stage;
    let kind = &cell.driver.kind;
    let endpoints = Endpoints {
        imds: mock.endpoint(),
        sts: mock.sts_endpoint(),
        region: REGION.to_string(),
        settings: cell.driver.settings.clone(),
        passthrough: cell.driver.passthrough.clone(),
        seed,
        clock: mock.clock().clone(),
        container_env: surface
            .and_then(|surface| mock.container_env(surface))
            .unwrap_or_default()
            .into_iter()
            .map(|(name, value)| (name.to_string(), value))
            .collect(),
    };
    timed(driver.configure(&endpoints), "configure", kind, limit).await?;
    // The driver is ready (interpreter up, SDK imported, first session made); once every
    // cell starting with it is too, the scenario clock starts, so the outage meets the
    // client however slow the start was.
    starting.ready();
    gate.wait_quiet(limit).await;
    mock.start_schedule_clock();
    let strategy = &cell.strategy;
    let mut rng = StdRng::seed_from_u64(seed);
    let first = Instant::now();
    let mut previous_end = first;
    for attempt in 1..=strategy.attempts {
        if attempt > 1 {
            let start = match strategy.wait_before(attempt, &mut rng) {
                Wait::FromFirstStart(offset) => first + offset,
                Wait::FromPreviousEnd(delay) => previous_end + delay,
            };
            tokio::time::sleep_until(start).await;
        }
        if strategy.new_client_before(attempt) {
            if attempt > 1 {
                timed(driver.drop_client(), "drop_client", kind, limit).await?;
            }
            if strategy.new_session_before(attempt) {
                timed(driver.new_session(), "new_session", kind, limit).await?;
            }
            let (at, made) =
                between_steps(mock, timed(driver.new_client(), "new_client", kind, limit)).await;
            let (outcome, duration) = made?;
            events.push((
                at,
                DriverEvent::ClientCreated {
                    attempt,
                    duration,
                    outcome,
                },
            ));
            record_sdk_warnings(driver, at, attempt, events);
        }
        let call_id = format!("{nonce}.{attempt}");
        let call = timed(driver.call(&call_id), "call", kind, limit);
        let (at, called) = between_steps(mock, async {
            match strategy.call_timeout {
                None => Some(call.await),
                Some(bound) => tokio::time::timeout(bound, call).await.ok(),
            }
        })
        .await;
        let Some(called) = called else {
            // The SDK neither answered nor failed within `call_timeout`: a hang, recorded
            // as the attempt's outcome. The driver is mid-call (a child still waits on its
            // SDK), so no operation can follow: the cell ends here, and the driver is
            // stopped with it.
            events.push((
                at,
                DriverEvent::Attempt {
                    attempt,
                    call_id,
                    duration: strategy.call_timeout.unwrap_or_default(),
                    outcome: driver::CallOutcome::Hung,
                },
            ));
            return Ok(());
        };
        let (mut outcome, duration) = called?;
        previous_end = Instant::now();
        add_issued_expiration(&mut outcome, mock);
        let ok = outcome.is_ok();
        events.push((
            at,
            DriverEvent::Attempt {
                attempt,
                call_id,
                duration,
                outcome,
            },
        ));
        record_sdk_warnings(driver, at, attempt, events);
        if ok && !strategy.continue_after_success {
            break;
        }
    }
    Ok(())
}
