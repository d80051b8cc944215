//! Reports of a run. The rows every reporter reads are in [`model`] (the runner fills them
//! in, `merge` reads them back from JSON); each reporter renders them one way: the terminal
//! table ([`table`]), the JSON file ([`json`]), JUnit XML ([`junit`]), the timeline
//! pictures ([`svg`]), one cell's events and diagnosis ([`explain`]); [`exec`] prints what
//! the mocks saw during `imds-harness exec`; [`words`] counts and summaries in their words.

pub mod exec;
pub mod explain;
pub mod json;
pub mod junit;
pub mod model;
pub mod svg;
pub mod table;
pub mod words;
