//! A `[network] mode = "link-local"` cell: made a network namespace of its own
//! ([`crate::netns::CellNamespace`]), two runtimes whose every thread is in it (the
//! cell's: the driver's process is spawned and the in-process Rust SDK's sockets are
//! made there; the mocks', at raised priority like [`super::mocks`]), and the cell run on
//! them. The runtimes and the namespace end with the cell.

use std::sync::Arc;

use super::cell::{blank_result, run_cell_inner, Place};
use super::gate::StartGate;
use crate::driver::DriverSetup;
use crate::netns::{current_thread_netns_id, CellNamespace, NetnsError};
use crate::report::model::{CellOutcome, CellResult, Skip};
use crate::scenario::{Cell, Scenario};

/// What a cell whose namespace could not be made shows: skipped, with the way to run it,
/// where the machine or the user cannot make one (not root, not Linux, no `ip`); else a
/// setup error.
fn outcome_of(e: &NetnsError) -> CellOutcome {
    let install = match e {
        NetnsError::Unshare(_) | NetnsError::Unsupported(_) => {
            "run imds-harness as root on Linux (e.g. `sudo target/debug/imds-harness run …`)"
        }
        NetnsError::Ip(_) => "apt-get install iproute2 (as root; scripts/setup does)",
        _ => return CellOutcome::SetupError(e.to_string()),
    };
    CellOutcome::Skipped(Skip {
        reason: e.to_string(),
        install: install.to_string(),
    })
}

/// Runs `cell` of `scenario` in a namespace of its own; a namespace that cannot be made
/// is a skip or a setup error ([`outcome_of`]).
pub(super) async fn run_cell(
    scenario: &Scenario,
    cell: &Cell,
    setup: &DriverSetup,
    gate: &Arc<StartGate>,
) -> CellResult {
    let fail = |message: String| {
        let mut result = blank_result(scenario, cell);
        result.outcome = CellOutcome::SetupError(message);
        result
    };
    let netns = match tokio::task::spawn_blocking(CellNamespace::create).await {
        Ok(Ok(netns)) => netns,
        Ok(Err(e)) => {
            let mut result = blank_result(scenario, cell);
            result.outcome = outcome_of(&e);
            return result;
        }
        Err(e) => return fail(format!("could not make the cell's network namespace: {e}")),
    };
    let runtimes = netns.runtime("cell-netns", 2, || {}).and_then(|cell_rt| {
        netns
            .runtime("mock-imds-netns", 2, super::mocks::raise_priority)
            .map(|mock_rt| (cell_rt, mock_rt))
    });
    let (cell_rt, mock_rt) = match runtimes {
        Ok(runtimes) => runtimes,
        Err(e) => return fail(format!("could not start the cell's runtimes: {e}")),
    };
    let mut ended = blank_result(scenario, cell);
    let (scenario, cell, setup, gate) =
        (scenario.clone(), cell.clone(), setup.clone(), gate.clone());
    let mocks = mock_rt.handle().clone();
    let ns = netns.clone();
    let joined = cell_rt
        .spawn(async move {
            // Every thread of this runtime entered the namespace when it started (or
            // aborted the process); checked once more where the cell's work begins.
            match current_thread_netns_id() {
                Ok(id) if id == ns.id() => {}
                other => {
                    let mut result = blank_result(&scenario, &cell);
                    result.outcome = CellOutcome::SetupError(format!(
                        "the cell's task is not in its network namespace {} ({other:?})",
                        ns.id()
                    ));
                    return result;
                }
            }
            let place = Place::LinkLocal {
                netns: &ns,
                mocks: &mocks,
            };
            run_cell_inner(&scenario, &cell, &setup, &gate, &place).await
        })
        .await;
    cell_rt.shutdown_background();
    mock_rt.shutdown_background();
    drop(netns);
    match joined {
        Ok(result) => result,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => {
            ended.outcome = CellOutcome::SetupError(format!("the cell's task ended: {e}"));
            ended
        }
    }
}
