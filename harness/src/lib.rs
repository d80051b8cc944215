//! imds-harness: drives real AWS SDK clients through IMDS outages and tells, per SDK and
//! retry strategy, whether and how fast they recover.
//!
//! Data flows one way: scenario file → runner → (mock IMDS + STS + driver) → timeline →
//! verdict → reports. Map of the crate:
//! - [`scenario`]: scenario TOML, parsed strictly (errors carry file:line:column), one
//!   file per element (schedule, strategy, driver, matrix, expect); what an expectation
//!   means and how it is checked.
//! - [`strategy`]: retry strategies as data (`call-retry`, `client-retry`).
//! - [`driver`]: the [`driver::Driver`] interface and the SDK drivers (`rust-sdk` in
//!   process, `boto3` in a sanitised Python child).
//! - [`runner`]: runs each cell on fresh mocks, concurrently, and collects its timeline.
//! - [`timeline`]: mock events and driver events merged on the scenario clock.
//! - [`integrity`]: whether a timeline can carry a verdict (every schedule step took
//!   effect on time, every STS call is this cell's, the scenario's premise held); a cell
//!   that fails it is inconclusive, never an SDK verdict.
//! - [`verdict`]: what a timeline shows (recovered, how fast, …).
//! - [`exec`]: `imds-harness exec`: any command through an outage, and what the mocks saw.
//! - [`explain`]: one cell's timeline as text, and a diagnosis derived from its events.
//! - [`report`]: the terminal table, JSON, JUnit XML and SVG timeline pictures.
//! - [`paths`]: where the project's Python environment and scenarios are.
//! - [`glob`], [`ms`]: the harness's glob patterns and its millisecond formats.
//! - `fuzzing` (hidden, not an API): the body of the `fuzz/` `scenario` target, so that
//!   `cargo test` runs its seeds too.

pub mod driver;
pub mod exec;
pub mod explain;
#[doc(hidden)]
pub mod fuzzing;
pub mod glob;
pub mod integrity;
pub mod ms;
pub mod paths;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod strategy;
#[cfg(test)]
mod test_support;
pub mod timeline;
pub mod verdict;
