//! The runner: for each cell, start the driver, start a fresh mock IMDS + STS, configure
//! the driver, and only then start the scenario clock (so a slow interpreter or SDK
//! import never eats into the outage), play the strategy, and collect one timeline;
//! cells run concurrently, each with its own mocks on their own loopback ports (held for
//! the cell's whole life, so no cell can reach another's), at most `jobs` at a time.
//! Every call carries a call id `<cell nonce>.<attempt>` that the fake STS records; the
//! timeline is then checked ([`crate::integrity`]) before its verdict counts. The rows it
//! produces ([`CellResult`]) are the report's ([`crate::report::model`]).

use std::sync::Arc;
use std::time::Duration;

use mock_imds::MockImds;
use rand::rngs::StdRng;
use rand::SeedableRng;
use tokio::sync::Semaphore;
use tokio::time::Instant;

use crate::driver::{self, Driver, DriverError, DriverSetup, Endpoints};
use crate::report::model::{CellOutcome, CellResult, CellRun, CheckResult};
use crate::scenario::{Cell, Scenario};
use crate::strategy::Wait;
use crate::timeline::{DriverEvent, Timeline};
use crate::verdict::Verdict;

/// How much longer than [`DriverSetup::operation_timeout`] the runner waits for one
/// driver operation before failing the cell itself (30 s; so 90 s by default). Child
/// drivers hit their own deadline first (and report their stderr); this backstop is for
/// an in-process driver that hangs.
pub const OPERATION_TIMEOUT_GRACE: Duration = Duration::from_secs(30);

/// The region every client uses.
pub const REGION: &str = "us-east-1";

/// How to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Cells run at the same time, at most (at least 1).
    pub jobs: usize,
    /// Where the child drivers' interpreters are.
    pub setup: DriverSetup,
}

/// A cell chosen to run: its place in the whole run, its scenario, the cell.
#[derive(Debug, Clone)]
pub struct PlannedCell {
    /// Position among all cells of all scenarios, in file and matrix order.
    pub index: usize,
    /// The scenario it belongs to.
    pub scenario: Arc<Scenario>,
    /// The cell.
    pub cell: Cell,
}

impl PlannedCell {
    /// `scenario/driver/strategy`, what `--filter` and `explain` match.
    pub fn id(&self) -> String {
        format!("{}/{}", self.scenario.name, self.cell.id())
    }
}

/// Which of the run's cells this invocation runs.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Only cells whose `scenario/driver/strategy` matches this glob (`*` any run, `?`
    /// one character).
    pub filter: Option<String>,
    /// `(I, N)`: only the I-th of N shards (1-based): the matching cells whose position
    /// among the matching cells is I-1 modulo N. Deterministic, so N runners that each
    /// take one shard run every cell exactly once.
    pub shard: Option<(usize, usize)>,
}

/// The cells of `scenarios` that `selection` picks, in order.
pub fn plan(scenarios: &[Scenario], selection: &Selection) -> Vec<PlannedCell> {
    let mut all = Vec::new();
    for scenario in scenarios {
        let scenario = Arc::new(scenario.clone());
        for cell in &scenario.cells {
            all.push(PlannedCell {
                index: all.len(),
                scenario: scenario.clone(),
                cell: cell.clone(),
            });
        }
    }
    all.into_iter()
        .filter(|c| {
            selection
                .filter
                .as_ref()
                .is_none_or(|glob| crate::glob::matches(glob, &c.id()))
        })
        .enumerate()
        .filter(|(k, _)| selection.shard.is_none_or(|(i, n)| k % n == i - 1))
        .map(|(_, c)| c)
        .collect()
}

/// Runs every cell of every scenario (see [`run_planned`]).
pub async fn run_all(
    scenarios: &[Scenario],
    options: &RunOptions,
    progress: &(dyn Fn(&CellResult, usize) + Sync),
) -> Vec<CellResult> {
    run_planned(plan(scenarios, &Selection::default()), options, progress).await
}

/// Runs the planned cells, at most `options.jobs` at a time, and returns the results in
/// plan order. `progress` is called as each cell finishes, with the number finished.
pub async fn run_planned(
    cells: Vec<PlannedCell>,
    options: &RunOptions,
    progress: &(dyn Fn(&CellResult, usize) + Sync),
) -> Vec<CellResult> {
    // Create every SDK environment first, one at a time; a failure shows up as the
    // setup error of each cell that needs it.
    let mut prepared: Vec<(crate::driver::DriverSpec, Result<(), String>)> = Vec::new();
    for planned in &cells {
        if !prepared
            .iter()
            .any(|(spec, _)| *spec == planned.cell.driver)
        {
            let outcome = driver::prepare(&planned.cell.driver, &options.setup)
                .await
                .map_err(|e| e.to_string());
            prepared.push((planned.cell.driver.clone(), outcome));
        }
    }
    let permits = Arc::new(Semaphore::new(options.jobs.max(1)));
    let gate = Arc::new(StartGate::default());
    let mut tasks = tokio::task::JoinSet::new();
    let count = cells.len();
    // Longest cells first (by schedule and strategy length), so the suite's wall time is
    // not a long cell started last; results still come back in plan order.
    let mut order: Vec<(usize, PlannedCell)> = cells.into_iter().enumerate().collect();
    order.sort_by_key(|(_, c)| {
        std::cmp::Reverse(
            c.scenario
                .schedule
                .duration()
                .max(c.cell.strategy.max_span()),
        )
    });
    for (i, planned) in order {
        let (permits, setup, gate) = (permits.clone(), options.setup.clone(), gate.clone());
        let failed_setup = prepared
            .iter()
            .find(|(spec, outcome)| *spec == planned.cell.driver && outcome.is_err())
            .and_then(|(_, outcome)| outcome.clone().err());
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await;
            let mut result = match failed_setup {
                Some(e) => CellResult {
                    index: planned.index,
                    scenario: planned.scenario.name.clone(),
                    cell: planned.cell.id(),
                    driver: planned.cell.driver.name.clone(),
                    strategy: planned.cell.strategy.clone(),
                    sdk_version: None,
                    wall: Duration::ZERO,
                    outcome: CellOutcome::SetupError(e),
                },
                None => run_cell_with(&planned.scenario, &planned.cell, &setup, &gate).await,
            };
            result.index = planned.index;
            (i, result)
        });
    }
    let mut results: Vec<Option<CellResult>> = vec![None; count];
    let mut finished = 0;
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((i, result)) => {
                finished += 1;
                progress(&result, finished);
                results[i] = Some(result);
            }
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }
    results.into_iter().flatten().collect()
}

/// The runtime every cell's mocks run on (listeners, request handling, schedules): two
/// worker threads of their own, apart from the drivers' runtime. In-process SDK work (the
/// Rust SDK signs and parses on the runner's threads, slowly in a debug build) would
/// otherwise hold a worker for tens of milliseconds and delay a scheduled transition or
/// an IMDS answer sharing it; the OS schedules threads fairly, tokio does not preempt.
///
/// The threads also run at a higher CPU priority (nice -10) where the OS allows it (as
/// root): on EC2 the metadata service does not compete with the instance's processes for
/// CPU, so the mock should not lose a scheduler race to the SDK processes it serves.
fn mock_runtime() -> Result<&'static tokio::runtime::Runtime, String> {
    static RUNTIME: std::sync::OnceLock<Result<tokio::runtime::Runtime, String>> =
        std::sync::OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("mock-imds")
                .on_thread_start(raise_priority)
                .enable_all()
                .build()
                .map_err(|e| format!("could not start the mocks' runtime: {e}"))
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// Cells that run together start their scenario clocks together: each waits, after its
/// driver is ready (interpreter up, SDK imported, configured), until no admitted cell is
/// still starting its driver. Dozens of interpreters importing their SDKs at once are the
/// heaviest load a run puts on the machine; without the gate that storm fell inside the
/// first cells' outages (an AWS CLI process took over 4 s to reach IMDS beside two
/// CPU-bound processes), and a cell's premise held or not by luck.
///
/// Released cells then start their clocks at least [`CLOCK_STAGGER`] apart, so that their
/// first operations (an AWS CLI process per call, boto3 loading its service model) do not
/// all compete for the CPU in the same instant: with every built-in cell at t = 0 at once,
/// an AWS CLI process needed 6–7 s to reach IMDS on 2 cores, past a 4 s outage.
#[derive(Debug)]
pub struct StartGate {
    starting: tokio::sync::watch::Sender<usize>,
    last_release: std::sync::Mutex<Option<Instant>>,
}

/// Least time between two cells' clock starts (see [`StartGate`]): 50 ms, so the 59
/// built-in cells start within 3 s.
pub const CLOCK_STAGGER: Duration = Duration::from_millis(50);

impl Default for StartGate {
    fn default() -> Self {
        Self {
            starting: tokio::sync::watch::channel(0).0,
            last_release: std::sync::Mutex::new(None),
        }
    }
}

/// A cell still starting its driver; dropping it (or [`Starting::ready`]) says it is ready.
#[derive(Debug)]
pub struct Starting<'a>(Option<&'a StartGate>);

impl StartGate {
    /// Registers a cell whose driver is starting.
    pub fn enter(&self) -> Starting<'_> {
        self.starting.send_modify(|n| *n += 1);
        Starting(Some(self))
    }

    /// Waits until no registered cell is starting, or `limit` passes (a driver that takes
    /// longer fails its own cell; the others go on), then for this cell's turn: at least
    /// [`CLOCK_STAGGER`] after the previous cell released.
    pub async fn wait_quiet(&self, limit: Duration) {
        let mut rx = self.starting.subscribe();
        let _ = tokio::time::timeout(limit, rx.wait_for(|n| *n == 0)).await;
        let turn = {
            let mut last = self.last_release.lock().unwrap_or_else(|p| p.into_inner());
            let now = Instant::now();
            let turn = last.map_or(now, |l| (l + CLOCK_STAGGER).max(now));
            *last = Some(turn);
            turn
        };
        tokio::time::sleep_until(turn).await;
    }
}

impl Starting<'_> {
    /// This cell's driver is ready.
    pub fn ready(mut self) {
        self.release();
    }

    fn release(&mut self) {
        if let Some(gate) = self.0.take() {
            gate.starting.send_modify(|n| *n = n.saturating_sub(1));
        }
    }
}

impl Drop for Starting<'_> {
    fn drop(&mut self) {
        self.release();
    }
}

/// Raises the calling thread's priority to nice -10, silently keeping it where the OS
/// refuses (not root).
fn raise_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: gettid and setpriority have no memory-safety preconditions; on Linux the
    // nice value is per thread, and `who` names this thread.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, -10);
    }
}

/// Runs one cell on fresh mocks, on its own (no other cell to wait for).
pub async fn run_cell(scenario: &Scenario, cell: &Cell, setup: &DriverSetup) -> CellResult {
    run_cell_with(scenario, cell, setup, &StartGate::default()).await
}

/// Runs one cell on fresh mocks; its scenario clock starts once `gate` is quiet.
pub async fn run_cell_with(
    scenario: &Scenario,
    cell: &Cell,
    setup: &DriverSetup,
    gate: &StartGate,
) -> CellResult {
    let started = Instant::now();
    let mut result = run_cell_inner(scenario, cell, setup, gate).await;
    result.wall = started.elapsed();
    result
}

async fn run_cell_inner(
    scenario: &Scenario,
    cell: &Cell,
    setup: &DriverSetup,
    gate: &StartGate,
) -> CellResult {
    let starting = gate.enter();
    let mut result = CellResult {
        index: 0,
        scenario: scenario.name.clone(),
        cell: cell.id(),
        driver: cell.driver.name.clone(),
        strategy: cell.strategy.clone(),
        sdk_version: None,
        wall: Duration::ZERO,
        outcome: CellOutcome::SetupError(String::new()),
    };
    // The driver starts (interpreter, imports) before the scenario clock does.
    let mut driver = match driver::start(&cell.driver, setup).await {
        Ok(driver) => driver,
        Err(e) => {
            result.outcome = CellOutcome::SetupError(e.to_string());
            return result;
        }
    };
    result.sdk_version = Some(driver.sdk_version());

    let config = scenario.imds.config();
    let builder = MockImds::builder()
        .config(config)
        .defer_schedule()
        .seed(scenario.seed)
        .schedule(scenario.schedule.clone());
    let mock = match mock_runtime().map(|rt| rt.spawn(builder.start())) {
        Ok(started) => started
            .await
            .map_err(|e| e.to_string())
            .and_then(|r| r.map_err(|e| e.to_string())),
        Err(e) => Err(e),
    };
    let mock = match mock {
        Ok(mock) => mock,
        Err(e) => {
            result.outcome = CellOutcome::SetupError(format!("could not start mock-imds: {e}"));
            return result;
        }
    };
    let mut driver_events = Vec::new();
    let limit = setup.operation_timeout + OPERATION_TIMEOUT_GRACE;
    let nonce = format!("{:08x}", rand::random::<u32>());
    let played = play(
        driver.as_mut(),
        &mock,
        cell,
        scenario.seed,
        &nonce,
        &mut driver_events,
        limit,
        (starting, gate),
    )
    .await;
    // A schedule step at or just before the end of the run may still be taking effect:
    // give it its bound, so the check below sees it (or rightly finds it late).
    let end = driver_events
        .iter()
        .map(|(at, e)| match e {
            DriverEvent::Attempt { duration, .. } | DriverEvent::ClientCreated { duration, .. } => {
                *at + *duration
            }
        })
        .max()
        .unwrap_or_default();
    if let Some(step) = crate::integrity::last_step_before(&scenario.schedule, end) {
        let settle =
            (step + crate::integrity::TRANSITION_BOUND).saturating_sub(mock.event_log().now());
        tokio::time::sleep(settle + Duration::from_millis(1)).await;
    }
    let timeline = Timeline::merge(mock.events(), driver_events);
    drop(mock);
    result.outcome = match played {
        Err(e) => CellOutcome::DriverError(e.to_string()),
        Ok(()) => {
            let verdict = Verdict::from_timeline(&timeline);
            let applying: Vec<&crate::scenario::Expectation> = scenario
                .expectations
                .iter()
                .filter(|e| e.applies_to(cell))
                .collect();
            let inconclusive =
                crate::integrity::check(&scenario.schedule, &nonce, &applying, &timeline);
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
    driver: &crate::driver::DriverKind,
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

async fn play(
    driver: &mut dyn Driver,
    mock: &MockImds,
    cell: &Cell,
    seed: u64,
    nonce: &str,
    events: &mut Vec<(Duration, DriverEvent)>,
    limit: Duration,
    (starting, gate): (Starting<'_>, &StartGate),
) -> Result<(), DriverError> {
    let clock = mock.event_log();
    let kind = &cell.driver.kind;
    let endpoints = Endpoints {
        imds: mock.endpoint(),
        sts: mock.sts_endpoint(),
        region: REGION.to_string(),
        settings: cell.driver.settings.clone(),
        seed,
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
            let at = clock.now();
            let (outcome, duration) = timed(driver.new_client(), "new_client", kind, limit).await?;
            events.push((
                at,
                DriverEvent::ClientCreated {
                    attempt,
                    duration,
                    outcome,
                },
            ));
        }
        let call_id = format!("{nonce}.{attempt}");
        let at = clock.now();
        let (outcome, duration) = timed(driver.call(&call_id), "call", kind, limit).await?;
        previous_end = Instant::now();
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
        if ok && !strategy.continue_after_success {
            break;
        }
    }
    Ok(())
}
