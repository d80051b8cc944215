//! imds-harness: drives real AWS SDK clients through IMDS outages and tells, per SDK and
//! retry strategy, whether and how fast they recover.
//!
//! Data flows one way: scenario file → runner → (mock IMDS + STS + driver) → timeline →
//! verdict → reports. Map of the crate, one home per concern:
//! - [`scenario`]: scenario TOML, parsed strictly (errors carry file:line:column), one
//!   file per element (schedule, strategy, driver, matrix, expect); what an expectation
//!   means and how it is checked.
//! - [`strategy`]: retry strategies as data (`call-retry`, `client-retry`, …).
//! - [`driver`]: the [`driver::Driver`] interface, each SDK's typed settings, and the SDK
//!   drivers (`rust-sdk` in process; `boto3`, `boto3-crt`, `aiobotocore`, `aws-cli`,
//!   `js-v3`, `js-v2`, `go-v2`, `go-v1`, `ruby` and a user's own `command` in sanitised
//!   children); a driver that is not installed is a skip, with its install command.
//! - [`runner`]: runs each cell on fresh mocks, concurrently, and collects its timeline.
//! - [`netns`]: the link-local mode: a network namespace of the cell's own with the real
//!   IMDS (and container) addresses on its loopback, and the runtimes that run in it.
//! - [`timeline`]: mock events and driver events merged on the scenario clock.
//! - [`integrity`]: whether a timeline can carry a verdict (every schedule step took
//!   effect on time, every STS call is this cell's, the scenario's premise held); a cell
//!   that fails it is inconclusive, never an SDK verdict.
//! - [`verdict`]: what a timeline shows (recovered, how fast, …), per outage (each
//!   maximal interval the mock had a fault on: its failed calls and outcome).
//! - [`report`]: the report's rows ([`report::model`]) and their renderings: the terminal
//!   table, JSON, JUnit XML, SVG timelines, one cell's explanation, the recovery-matrix
//!   page (`--html`, each cell's outcome from [`report::outcome`]), `exec`'s summary.
//! - [`registry`]: an SDK's releases from PyPI or npm; [`bisect`]: the binary search
//!   over them for the first release whose verdict differs (`imds-harness bisect`).
//! - [`exec`]: `imds-harness exec`: any command through an outage, and what the mocks saw.
//! - [`handler`]: termination handlers: when a program first saw a notice, and the
//!   verdict "noticed within N" (`exec --notice-within`).
//! - [`paths`]: where the project's Python environment and scenarios are.
//! - [`glob`], [`ms`]: the harness's glob patterns and its millisecond formats.
//! - `fuzzing` (hidden, not an API): the body of the `fuzz/` `scenario` target, so that
//!   `cargo test` runs its seeds too.
//!
//! The `imds-harness` binary's subcommands are thin: `src/cli/`, one file each.

pub mod bisect;
pub mod driver;
pub mod exec;
#[doc(hidden)]
pub mod fuzzing;
pub mod glob;
pub mod handler;
pub mod integrity;
pub mod ms;
pub mod netns;
pub mod paths;
pub mod registry;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod strategy;
#[cfg(test)]
mod test_support;
pub mod timeline;
pub mod verdict;
