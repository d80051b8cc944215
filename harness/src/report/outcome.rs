//! A cell's outcome in one word, as the recovery-matrix page colours it and `bisect`
//! compares releases by: [`cell_outcome`] is the one place that word is computed.
//!
//! Today it is derived from the cell's whole-run [`crate::verdict::Verdict`] (the first
//! accepted call and the failed attempts before it). When verdicts become per outage
//! (`rode-through` / `recovered` / `not-recovered` per outage, the worst one per cell),
//! this function is the one to switch to them; the page and `bisect` follow.

use std::fmt;
use std::time::Duration;

use super::model::{CellOutcome, CellResult};
use crate::ms::fmt_ms;

/// What one cell shows, in the field's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every call was accepted by STS: no call failed during the run.
    RodeThrough,
    /// Calls failed, then one was accepted by STS.
    Recovered {
        /// From IMDS's last recovery before the first accepted call to that call's
        /// arrival at STS (the verdict's `recovery_ms`).
        after: Option<Duration>,
    },
    /// No call was accepted by STS.
    NotRecovered {
        /// The SDK's error names of the failed calls, most frequent first.
        error_kinds: Vec<String>,
    },
    /// The run cannot carry an SDK verdict (see [`crate::integrity`]): a harness result.
    Inconclusive {
        /// Why.
        why: Vec<String>,
    },
    /// The driver could not start, crashed, hung or broke its protocol.
    Error {
        /// The driver's error.
        message: String,
    },
}

impl Outcome {
    /// The outcome's class as the page's CSS class and filter value, and what `bisect`
    /// compares: `rode-through`, `recovered`, `not-recovered`, `inconclusive`, `error`.
    pub fn class(&self) -> &'static str {
        match self {
            Outcome::RodeThrough => "rode-through",
            Outcome::Recovered { .. } => "recovered",
            Outcome::NotRecovered { .. } => "not-recovered",
            Outcome::Inconclusive { .. } => "inconclusive",
            Outcome::Error { .. } => "error",
        }
    }

    /// True for an SDK verdict (rode through, recovered, not recovered); false for a
    /// harness result (inconclusive) or a driver error.
    pub fn is_verdict(&self) -> bool {
        matches!(
            self,
            Outcome::RodeThrough | Outcome::Recovered { .. } | Outcome::NotRecovered { .. }
        )
    }
}

impl fmt::Display for Outcome {
    /// `rode through`, `recovered after 1.2s`, `not recovered (NoCredentialsError)`, …
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::RodeThrough => f.write_str("rode through"),
            Outcome::Recovered { after: Some(t) } => write!(f, "recovered after {}", fmt_ms(*t)),
            Outcome::Recovered { after: None } => f.write_str("recovered"),
            Outcome::NotRecovered { error_kinds } if error_kinds.is_empty() => {
                f.write_str("not recovered")
            }
            Outcome::NotRecovered { error_kinds } => {
                write!(f, "not recovered ({})", error_kinds.join(", "))
            }
            Outcome::Inconclusive { .. } => f.write_str("inconclusive"),
            Outcome::Error { .. } => f.write_str("driver error"),
        }
    }
}

/// The outcome of `cell`, from today's report fields: a driver error is
/// [`Outcome::Error`]; a run that fails [`crate::integrity`] is
/// [`Outcome::Inconclusive`]; an STS-accepted call with no failed call and no unverified
/// success is [`Outcome::RodeThrough`]; with failed calls, [`Outcome::Recovered`] (time
/// from the verdict's `recovery_ms`); no accepted call is [`Outcome::NotRecovered`]
/// with the error kinds.
pub fn cell_outcome(cell: &CellResult) -> Outcome {
    let run = match &cell.outcome {
        CellOutcome::Ran(run) => run,
        CellOutcome::SetupError(message) | CellOutcome::DriverError(message) => {
            return Outcome::Error {
                message: message.clone(),
            }
        }
    };
    if !run.inconclusive.is_empty() {
        return Outcome::Inconclusive {
            why: run.inconclusive.clone(),
        };
    }
    let v = &run.verdict;
    let failed: u32 = v.error_kinds.values().sum();
    if !v.recovered {
        let mut kinds: Vec<(&String, &u32)> = v.error_kinds.iter().collect();
        kinds.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        return Outcome::NotRecovered {
            error_kinds: kinds.into_iter().map(|(k, _)| k.clone()).collect(),
        };
    }
    if failed == 0 && v.unverified_successes == 0 {
        Outcome::RodeThrough
    } else {
        Outcome::Recovered {
            after: v.recovery_time,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::report::model::CellRun;
    use crate::timeline::Timeline;
    use crate::verdict::Verdict;

    fn cell(outcome: CellOutcome) -> CellResult {
        CellResult {
            index: 0,
            scenario: "s".into(),
            cell: "boto3/call-retry".into(),
            driver: "boto3".into(),
            strategy: serde_json::from_str(
                r#"{"name":"call-retry","kind":"call-retry","attempts":3,"pacing":"interval","interval_ms":0}"#,
            )
            .unwrap(),
            sdk_version: None,
            wall: Duration::ZERO,
            outcome,
        }
    }

    fn ran(verdict: Verdict, inconclusive: Vec<String>) -> CellResult {
        cell(CellOutcome::Ran(Box::new(CellRun {
            inconclusive,
            verdict,
            checks: Vec::new(),
            timeline: Timeline::default(),
        })))
    }

    #[test]
    fn each_class_from_the_verdict() {
        let errors = BTreeMap::from([
            ("EndpointConnectionError".to_string(), 1),
            ("NoCredentialsError".to_string(), 5),
        ]);
        let not = ran(
            Verdict {
                attempts: 6,
                error_kinds: errors.clone(),
                ..Verdict::default()
            },
            vec![],
        );
        assert_eq!(
            cell_outcome(&not),
            Outcome::NotRecovered {
                error_kinds: vec![
                    "NoCredentialsError".into(),
                    "EndpointConnectionError".into()
                ]
            }
        );
        assert_eq!(
            cell_outcome(&not).to_string(),
            "not recovered (NoCredentialsError, EndpointConnectionError)"
        );
        let recovered = Verdict {
            recovered: true,
            recovery_time: Some(Duration::from_millis(1500)),
            attempts: 3,
            error_kinds: errors,
            ..Verdict::default()
        };
        assert_eq!(
            cell_outcome(&ran(recovered.clone(), vec![])),
            Outcome::Recovered {
                after: Some(Duration::from_millis(1500))
            }
        );
        let through = Verdict {
            error_kinds: BTreeMap::new(),
            ..recovered.clone()
        };
        assert_eq!(
            cell_outcome(&ran(through.clone(), vec![])),
            Outcome::RodeThrough
        );
        // An SDK success STS never saw is not riding through.
        let unverified = Verdict {
            unverified_successes: 1,
            ..through
        };
        assert_eq!(cell_outcome(&ran(unverified, vec![])).class(), "recovered");
        let why = vec!["step 1 late".to_string()];
        assert_eq!(
            cell_outcome(&ran(recovered, why.clone())),
            Outcome::Inconclusive { why }
        );
        let broken = cell(CellOutcome::DriverError("exited".into()));
        assert_eq!(cell_outcome(&broken).class(), "error");
        assert!(!cell_outcome(&broken).is_verdict());
    }
}
