//! `[matrix]` → the scenario's [`Cell`]s: every driver × every strategy, in file order.

use std::collections::BTreeMap;

use super::diag::{At, Unknown};
use super::driver::{self, DriverProblem};
use super::raw::RawMatrix;
use super::strategy;
use crate::driver::DriverSpec;
use crate::strategy::Strategy;

/// One cell of the matrix: a driver under a strategy; or a `[handler]` scenario's one
/// cell ([`Cell::handler`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    /// The SDK driver (a handler cell: a `command` driver named after the handler).
    pub driver: DriverSpec,
    /// The retry strategy (a handler cell: one named `notice`, which the runner does not
    /// play).
    pub strategy: Strategy,
    /// `Some` for a `[handler]` scenario's cell: the program and its bound.
    pub handler: Option<super::handler::HandlerSpec>,
}

impl Cell {
    /// A `[handler]` scenario's cell, `NAME/notice`: `spec`'s program, judged by
    /// [`crate::runner`] on noticing the notice (no driver protocol, no attempts).
    pub fn handler(spec: super::handler::HandlerSpec) -> Self {
        let mut driver = DriverSpec::new(crate::driver::DriverKind::Command);
        driver.name.clone_from(&spec.name);
        driver.settings =
            crate::driver::SdkSettings::Command(crate::driver::settings::CommandSettings {
                command: crate::driver::settings::CommandLine(spec.command.clone()),
                clock_offset_s: None,
            });
        Self {
            driver,
            strategy: Strategy {
                name: super::handler::STRATEGY_NAME.to_string(),
                kind: crate::strategy::StrategyKind::SdkRetry,
                attempts: 1,
                pacing: crate::strategy::Pacing::Interval {
                    interval: std::time::Duration::ZERO,
                },
                continue_after_success: false,
                call_timeout: None,
            },
            handler: Some(spec),
        }
    }

    /// `driver/strategy`, e.g. `boto3/call-retry`.
    pub fn id(&self) -> String {
        format!("{}/{}", self.driver, self.strategy.name)
    }
}

/// A matrix that names no cell, or names one wrongly.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MatrixError {
    /// No driver or no strategy.
    #[error("[matrix] needs at least one driver and one strategy")]
    Empty,
    /// A driver name that names no driver.
    #[error(transparent)]
    Driver(DriverProblem),
    /// A strategy name that names no strategy.
    #[error(transparent)]
    Strategy(Unknown),
    /// The same driver and strategy twice.
    #[error("cell {0} is listed twice")]
    Twice(String),
}

/// The cells, driver by driver, each driver under every strategy.
///
/// # Errors
/// The first name that names nothing or a cell listed twice, at the name.
pub(super) fn cells(
    matrix: &RawMatrix,
    strategies: &BTreeMap<String, Strategy>,
    drivers: &BTreeMap<String, DriverSpec>,
) -> Result<Vec<Cell>, At<MatrixError>> {
    if matrix.drivers.is_empty() || matrix.strategies.is_empty() {
        return Err(At::file(MatrixError::Empty));
    }
    let mut cells = Vec::new();
    for d in &matrix.drivers {
        let driver = driver::resolve(d, drivers).map_err(|e| e.map(MatrixError::Driver))?;
        for s in &matrix.strategies {
            let name = strategy::named(s, strategies).map_err(|e| e.map(MatrixError::Strategy))?;
            let cell = Cell {
                driver: driver.clone(),
                strategy: strategies[&name].clone(),
                handler: None,
            };
            if cells.contains(&cell) {
                return Err(At::new(s.span(), MatrixError::Twice(cell.id())));
            }
            cells.push(cell);
        }
    }
    Ok(cells)
}
