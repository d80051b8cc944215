//! Reports of a run. The rows every reporter reads are in [`model`] (the runner fills them
//! in, `merge` reads them back from JSON); each reporter renders them one way: the terminal
//! table ([`table`]), the JSON file ([`json`]), JUnit XML ([`junit`]), the timeline
//! pictures ([`svg`]), one cell's events and diagnosis ([`explain`]), the
//! recovery-matrix page ([`html`], colouring each cell by its [`outcome`]); [`exec`] prints what
//! the mocks saw during `imds-harness exec`; [`files`] writes a report to the files a run
//! asks for. [`wording`] puts a verdict in the words every
//! reporter uses, with counts and summaries; [`terminal`] finds the table's width.

pub mod exec;
pub mod explain;
pub mod files;
pub mod html;
pub mod json;
pub mod junit;
pub mod model;
pub mod outcome;
pub mod svg;
pub mod table;
pub mod terminal;
pub mod wording;

/// Longest schedule step the summaries print whole, in characters.
pub const STEP_TEXT_MAX: usize = 120;

/// A schedule step's change as the summaries print it: whole up to [`STEP_TEXT_MAX`]
/// characters, else cut with its full length (a `status(500, "…")` with a 200 KB body is
/// one line, not 200 KB of terminal).
pub fn change_text(change: &mock_imds::StepChange) -> String {
    let text = change.to_string();
    let chars = text.chars().count();
    if chars <= STEP_TEXT_MAX {
        return text;
    }
    let head: String = text.chars().take(STEP_TEXT_MAX - 40).collect();
    format!("{head}… ({chars} characters in all; see the JSON report)")
}
