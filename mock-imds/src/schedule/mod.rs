//! Schedules: `(at, change)` steps on the scenario clock ([`Schedule`]), seeded
//! generators expanded to steps ([`Generator`]), and schedule files ([`ScheduleFile`]).
//!
//! - `steps.rs`: [`Step`], [`Schedule`] (the state at any time, the recoveries).
//! - `generate.rs`: `flap` and `random-outages`, expanded with a seed.
//! - `layers.rs`: several sources' steps combined ([`Schedule::layered`]): overlapping
//!   windows, an inner one restoring the outer fault when it ends.
//! - `file.rs`: the `[[schedule]]`/`[[generate]]` reader shared by `serve --schedule`,
//!   `ctl schedule` and (later) scenarios.

mod file;
mod generate;
mod layers;
mod steps;

pub use file::{expand_tables, GenerateTable, ScheduleFile, StepTable};
pub use generate::{foreign_key, DurationRange, GenerateError, Generator, GENERATOR_KEYS};
pub use layers::LayerError;
pub use steps::{Schedule, ScheduleError, Step, StepChange};
