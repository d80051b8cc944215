//! Reports of a run. The rows every reporter reads are in [`model`] (the runner fills them
//! in, `merge` reads them back from JSON); each reporter renders them one way: the terminal
//! table ([`table`]), the JSON file ([`json`]), JUnit XML ([`junit`]), the timeline
//! pictures ([`svg`]), one cell's events and diagnosis ([`explain`]), the
//! recovery-matrix page ([`html`], colouring each cell by its [`outcome`]); [`exec`] prints what
//! the mocks saw during `imds-harness exec`.

pub mod exec;
pub mod explain;
pub mod html;
pub mod json;
pub mod junit;
pub mod model;
pub mod outcome;
pub mod svg;
pub mod table;
