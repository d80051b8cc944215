//! The runner: for each cell, start a fresh mock IMDS + STS on the scenario clock, start
//! the driver, play the strategy, and collect one timeline; cells run concurrently, each
//! with its own mocks on their own loopback ports, at most `jobs` at a time.

use std::sync::Arc;
use std::time::Duration;

use mock_imds::{ImdsConfig, MockImds};
use serde::Serialize;
use tokio::sync::Semaphore;
use tokio::time::Instant;

use crate::driver::{self, Driver, DriverError, DriverSetup, Endpoints};
use crate::scenario::{Cell, Scenario};
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

/// How one expectation fared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckResult {
    /// The expectation, in words.
    pub expectation: String,
    /// Why it does not hold; empty when it does.
    pub failures: Vec<String>,
}

/// A cell that ran to the end.
#[derive(Debug, Clone, Serialize)]
pub struct CellRun {
    /// What the timeline shows.
    pub verdict: Verdict,
    /// The expectations that apply to this cell and how they fared.
    pub checks: Vec<CheckResult>,
    /// Everything that happened.
    pub timeline: Timeline,
}

/// One cell's result.
#[derive(Debug, Clone, Serialize)]
pub struct CellResult {
    /// The scenario's name.
    pub scenario: String,
    /// `driver/strategy`.
    pub cell: String,
    /// The driver.
    pub driver: String,
    /// The strategy.
    pub strategy: crate::strategy::Strategy,
    /// The SDK the driver ran, with versions.
    pub sdk_version: Option<String>,
    /// The run, or why the driver failed.
    #[serde(flatten)]
    pub outcome: CellOutcome,
}

/// A run or a driver failure.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CellOutcome {
    /// The cell ran.
    Ran(CellRun),
    /// The driver could not be started (a setup problem: exit status 2).
    SetupError(String),
    /// The driver crashed, hung or broke its protocol during the run.
    DriverError(String),
}

impl CellResult {
    /// True when the cell ran and every expectation that applies holds.
    pub fn passed(&self) -> bool {
        matches!(&self.outcome, CellOutcome::Ran(run) if run.checks.iter().all(|c| c.failures.is_empty()))
    }
}

/// Runs every cell of every scenario, at most `options.jobs` at a time, and returns the
/// results in scenario and cell order. `progress` is called as each cell finishes, with
/// the number finished so far.
pub async fn run_all(
    scenarios: &[Scenario],
    options: &RunOptions,
    progress: &(dyn Fn(&CellResult, usize) + Sync),
) -> Vec<CellResult> {
    let permits = Arc::new(Semaphore::new(options.jobs.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    let mut index = 0usize;
    for scenario in scenarios {
        let scenario = Arc::new(scenario.clone());
        for cell in scenario.cells.clone() {
            let (scenario, permits, setup) =
                (scenario.clone(), permits.clone(), options.setup.clone());
            let i = index;
            index += 1;
            tasks.spawn(async move {
                let _permit = permits.acquire_owned().await;
                (i, run_cell(&scenario, &cell, &setup).await)
            });
        }
    }
    let mut results: Vec<Option<CellResult>> = vec![None; index];
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

/// Runs one cell on fresh mocks.
pub async fn run_cell(scenario: &Scenario, cell: &Cell, setup: &DriverSetup) -> CellResult {
    let mut result = CellResult {
        scenario: scenario.name.clone(),
        cell: cell.id(),
        driver: cell.driver.to_string(),
        strategy: cell.strategy.clone(),
        sdk_version: None,
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

    let config = ImdsConfig {
        http_tokens: scenario.imds.http_tokens,
        ..ImdsConfig::default()
    };
    let mock = MockImds::builder()
        .config(config)
        .epoch(Instant::now())
        .seed(scenario.seed)
        .schedule(scenario.schedule.clone())
        .start()
        .await;
    let mock = match mock {
        Ok(mock) => mock,
        Err(e) => {
            result.outcome = CellOutcome::SetupError(format!("could not start mock-imds: {e}"));
            return result;
        }
    };
    let mut driver_events = Vec::new();
    let limit = setup.operation_timeout + OPERATION_TIMEOUT_GRACE;
    let played = play(driver.as_mut(), &mock, cell, &mut driver_events, limit).await;
    let timeline = Timeline::merge(mock.events(), driver_events);
    drop(mock);
    result.outcome = match played {
        Err(e) => CellOutcome::DriverError(e.to_string()),
        Ok(()) => {
            let verdict = Verdict::from_timeline(&timeline);
            let checks = scenario
                .expectations
                .iter()
                .filter(|e| e.applies_to(cell))
                .map(|e| CheckResult {
                    expectation: e.to_string(),
                    failures: verdict.check(e),
                })
                .collect();
            CellOutcome::Ran(CellRun {
                verdict,
                checks,
                timeline,
            })
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
    events: &mut Vec<(Duration, DriverEvent)>,
    limit: Duration,
) -> Result<(), DriverError> {
    let clock = mock.event_log();
    let kind = &cell.driver;
    let endpoints = Endpoints {
        imds: mock.endpoint(),
        sts: mock.sts_endpoint(),
        region: REGION.to_string(),
    };
    timed(driver.configure(&endpoints), "configure", kind, limit).await?;
    let strategy = &cell.strategy;
    let first = Instant::now();
    for attempt in 1..=strategy.attempts {
        tokio::time::sleep_until(first + strategy.planned_start(attempt)).await;
        if strategy.new_client_before(attempt) {
            if attempt > 1 {
                timed(driver.drop_client(), "drop_client", kind, limit).await?;
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
        let at = clock.now();
        let (outcome, duration) = timed(driver.call(), "call", kind, limit).await?;
        let ok = outcome.is_ok();
        events.push((
            at,
            DriverEvent::Attempt {
                attempt,
                duration,
                outcome,
            },
        ));
        if ok {
            break;
        }
    }
    Ok(())
}
