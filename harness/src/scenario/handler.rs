//! `[handler]`: a termination-handler scenario. Instead of a `[matrix]` of SDK drivers
//! under retry strategies, one program of the user's (a Spot, rebalance, maintenance or
//! lifecycle handler: something that polls an IMDS path for a notice) runs against the
//! mock through the scenario's schedule. Its one cell's verdict is "did the program notice
//! the schedule's first notice within `notice_within`", with "noticed" as
//! [`crate::handler`] defines it from the event log (the first `200` on the notice's path
//! answered after the notice), and the time to notice in the report.
//!
//! ```toml
//! [[schedule]]
//! at = "2s"
//! notice = "spot-interruption(terminate, 2m)"
//! [handler]
//! command = ["python3", "../examples/termination_handler.py"]  # ./ and ../ words: this file's folder
//! notice_within = "3s"                                         # the verdict's bound
//! name = "termination-handler"                                 # the report's driver column (default `handler`)
//! ```
//!
//! The program gets the sanitised environment of the child drivers plus
//! `AWS_EC2_METADATA_SERVICE_ENDPOINT` (the mock). The scenario clock starts at its first
//! IMDS request (any path), so its start-up is not counted; it is stopped
//! (SIGKILL to its process group) `notice_within` + 1 s after the notice's step.

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::diag::At;
use super::raw::HumanDuration;

/// The strategy name a handler cell reports (`scenario/NAME/notice`).
pub const STRATEGY_NAME: &str = "notice";

/// The `[handler]` table as serde reads it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHandler {
    pub command: Spanned<Vec<String>>,
    pub notice_within: Spanned<HumanDuration>,
    pub name: Option<Spanned<String>>,
}

/// A checked `[handler]`: what the runner runs and how it is judged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandlerSpec {
    /// The report's driver column.
    pub name: String,
    /// The program and its arguments (`./`, `../` words made absolute).
    pub command: Vec<String>,
    /// The verdict's bound: noticed at most this long after the notice was in force.
    pub notice_within: Duration,
    /// The first notice's step on the scenario clock.
    pub notice_at: Duration,
    /// The path the notice appears on (what the program should poll).
    pub path: &'static str,
}

impl HandlerSpec {
    /// How long after the scenario clock starts the program is stopped:
    /// [`Self::notice_at`] + [`Self::notice_within`] + 1 s.
    pub fn deadline(&self) -> Duration {
        self.notice_at + self.notice_within + Duration::from_secs(1)
    }
}

/// A `[handler]` table that cannot be run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandlerProblem {
    /// Both `[handler]` and `[matrix]`, or neither.
    #[error("a scenario has either a [matrix] (SDK drivers under strategies) or a [handler] (one program judged on noticing a notice), not {0}")]
    MatrixOrHandler(&'static str),
    /// `command = []` or an empty program name.
    #[error("`command` is the program and its arguments, e.g. [\"python3\", \"../examples/termination_handler.py\"]")]
    EmptyCommand,
    /// No `notice` step (other than `clear`) to notice.
    #[error("a [handler] scenario needs a [[schedule]] step with a `notice` (spot-interruption, rebalance, maintenance or lifecycle) for the program to notice")]
    NoNotice,
    /// `notice_within = "0s"`.
    #[error("`notice_within` must be more than 0s")]
    ZeroBound,
    /// A key that belongs to `[matrix]` scenarios.
    #[error("[[expect]], [strategy.NAME] and [driver.NAME] are for [matrix] scenarios; a [handler] scenario's verdict is its `notice_within`")]
    MatrixKey,
    /// A name that is not one path segment.
    #[error("`name` `{0}` must be 1 to 64 of A-Z a-z 0-9 - _ . (it names the cell)")]
    BadName(String),
}

/// Checks `raw` against the schedule; `dir` is the scenario file's folder.
///
/// # Errors
/// [`HandlerProblem`] at the key that is wrong.
pub(super) fn read(
    table: &Spanned<RawHandler>,
    schedule: &mock_imds::Schedule,
    dir: &Path,
) -> Result<HandlerSpec, At<HandlerProblem>> {
    let raw = table.get_ref();
    let words = raw.command.get_ref();
    if words.first().is_none_or(String::is_empty) {
        return Err(At::new(raw.command.span(), HandlerProblem::EmptyCommand));
    }
    let within = raw.notice_within.get_ref().0;
    if within.is_zero() {
        return Err(At::new(raw.notice_within.span(), HandlerProblem::ZeroBound));
    }
    let name = match &raw.name {
        None => "handler".to_string(),
        Some(n) => {
            let text = n.get_ref();
            let ok = (1..=64).contains(&text.len())
                && text
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
            if !ok {
                return Err(At::new(n.span(), HandlerProblem::BadName(text.clone())));
            }
            text.clone()
        }
    };
    let (notice_at, path) = schedule
        .steps()
        .iter()
        .find_map(|s| {
            let path = crate::handler::notice_path(s.change.notice.as_ref()?)?;
            Some((s.at, path))
        })
        .ok_or_else(|| At::new(table.span(), HandlerProblem::NoNotice))?;
    Ok(HandlerSpec {
        name,
        command: super::driver::absolute_words(words, dir),
        notice_within: within,
        notice_at,
        path,
    })
}
