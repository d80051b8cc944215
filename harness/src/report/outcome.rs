//! A cell's outcome in one word, as the recovery-matrix page colours it and `bisect`
//! compares releases by: [`cell_outcome`] is the one place that word is computed.
//!
//! It is the verdict's worst outage ([`crate::verdict::Verdict::outcome`]), plus the
//! harness's own results (inconclusive, driver error) that carry no SDK verdict.

use std::fmt;
use std::time::Duration;

use std::collections::BTreeMap;

use super::model::{CellOutcome, CellResult};
use crate::ms::fmt_ms;
use crate::verdict::Outcome as OutageOutcome;

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
    /// The run did not test its outages: no call met them, or none was made after one
    /// ended (see [`crate::verdict::Outcome::Untested`]).
    Untested,
    /// The run cannot carry an SDK verdict (see [`crate::integrity`]): a harness result.
    Inconclusive {
        /// Why.
        why: Vec<String>,
    },
    /// The driver's toolchain or SDK is not installed here: no run.
    Skipped {
        /// What is missing, and the command that installs it.
        why: String,
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
            Outcome::Untested => "untested",
            Outcome::Skipped { .. } => "skipped",
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
            Outcome::Untested => f.write_str("untested"),
            Outcome::Skipped { .. } => f.write_str("skipped"),
            Outcome::Inconclusive { .. } => f.write_str("inconclusive"),
            Outcome::Error { .. } => f.write_str("driver error"),
        }
    }
}

/// The outcome of `cell`: a driver error is [`Outcome::Error`]; a run that fails
/// [`crate::integrity`] is [`Outcome::Inconclusive`]; a call that hung (strategy
/// `call_timeout`) is not recovered, with `hung` among its error kinds (the harness's
/// word, not an SDK's); otherwise the verdict's worst
/// outage ([`crate::verdict::Verdict::outcome`], see [`crate::verdict::worst`]):
/// rode through, recovered (the longest recovery among the recovered outages), not
/// recovered (the error kinds of the outages that did not recover, most frequent first)
/// or untested. A run with no outage (IMDS up throughout) falls back to the whole run:
/// accepted with no failed call and no unverified success is rode through, failed calls
/// then an accepted one is recovered, no accepted call is not recovered.
pub fn cell_outcome(cell: &CellResult) -> Outcome {
    let run = match &cell.outcome {
        CellOutcome::Ran(run) => run,
        CellOutcome::Skipped(skip) => {
            return Outcome::Skipped {
                why: format!("{}; install it with: {}", skip.reason, skip.install),
            }
        }
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
    if v.hung_calls > 0 {
        // A call that never returned ended the cell: nothing recovered after it, whatever
        // the outages say (its outage may read untested, with no call after the hang).
        let mut kinds: BTreeMap<&String, u32> =
            v.error_kinds.iter().map(|(k, n)| (k, *n)).collect();
        let hung = "hung".to_string();
        kinds.insert(&hung, v.hung_calls);
        return Outcome::NotRecovered {
            error_kinds: sorted_kinds(kinds),
        };
    }
    match v.outcome {
        Some(OutageOutcome::RodeThrough) if v.unverified_successes == 0 => Outcome::RodeThrough,
        Some(OutageOutcome::RodeThrough | OutageOutcome::Recovered) => Outcome::Recovered {
            after: v
                .outages
                .iter()
                .filter(|o| o.outcome == OutageOutcome::Recovered)
                .filter_map(|o| o.recovery)
                .max(),
        },
        Some(OutageOutcome::NotRecovered) => {
            let mut kinds: BTreeMap<&String, u32> = BTreeMap::new();
            for o in v
                .outages
                .iter()
                .filter(|o| o.outcome == OutageOutcome::NotRecovered)
            {
                for (k, n) in &o.error_kinds {
                    *kinds.entry(k).or_default() += n;
                }
            }
            if kinds.is_empty() {
                kinds = v.error_kinds.iter().map(|(k, n)| (k, *n)).collect();
            }
            Outcome::NotRecovered {
                error_kinds: sorted_kinds(kinds),
            }
        }
        Some(OutageOutcome::Untested) => Outcome::Untested,
        None => {
            let failed: u32 = v.error_kinds.values().sum();
            if !v.recovered {
                Outcome::NotRecovered {
                    error_kinds: sorted_kinds(v.error_kinds.iter().map(|(k, n)| (k, *n)).collect()),
                }
            } else if failed == 0 && v.unverified_successes == 0 {
                Outcome::RodeThrough
            } else {
                Outcome::Recovered {
                    after: v.recovery_time,
                }
            }
        }
    }
}

/// Error kinds, most frequent first (ties by name).
fn sorted_kinds(kinds: BTreeMap<&String, u32>) -> Vec<String> {
    let mut kinds: Vec<(&String, u32)> = kinds.into_iter().collect();
    kinds.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    kinds.into_iter().map(|(k, _)| k.clone()).collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::report::model::CellRun;
    use crate::timeline::Timeline;
    use crate::verdict::{Outage, Verdict};

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
        // A hung call: not recovered, whatever its outage says (untested: no call after).
        let hung = Verdict {
            attempts: 1,
            hung_calls: 1,
            outages: vec![outage(1, OutageOutcome::Untested, None, &[])],
            outcome: Some(OutageOutcome::Untested),
            ..Verdict::default()
        };
        assert_eq!(
            cell_outcome(&ran(hung, vec![])),
            Outcome::NotRecovered {
                error_kinds: vec!["hung".into()]
            }
        );
    }

    fn outage(
        index: u32,
        outcome: OutageOutcome,
        recovery_ms: Option<u64>,
        kinds: &[(&str, u32)],
    ) -> Outage {
        Outage {
            index,
            start: Duration::from_secs(u64::from(index)),
            end: Some(Duration::from_secs(u64::from(index)) + Duration::from_millis(500)),
            states: vec!["refuse".into()],
            failed_calls: kinds.iter().map(|(_, n)| n).sum(),
            error_kinds: kinds.iter().map(|(k, n)| (k.to_string(), *n)).collect(),
            outcome,
            recovery: recovery_ms.map(Duration::from_millis),
            recovered_by_attempt: None,
            failures_after_recovery: 0,
            calls_after: 1,
        }
    }

    #[test]
    fn the_worst_outage_decides() {
        // A flapping run: one outage recovered, a later one did not. The whole run had
        // an accepted call (the old whole-run rule said "recovered"); the page says what
        // the worst outage did, with only that outage's error kinds.
        let outages = vec![
            outage(
                1,
                OutageOutcome::Recovered,
                Some(1500),
                &[("EndpointConnectionError", 3)],
            ),
            outage(
                2,
                OutageOutcome::NotRecovered,
                None,
                &[("NoCredentialsError", 2)],
            ),
        ];
        let v = Verdict {
            recovered: true,
            attempts: 8,
            accepted_calls: 3,
            error_kinds: BTreeMap::from([
                ("EndpointConnectionError".to_string(), 3),
                ("NoCredentialsError".to_string(), 2),
            ]),
            outcome: crate::verdict::worst(&outages),
            outages: outages.clone(),
            ..Verdict::default()
        };
        assert_eq!(
            cell_outcome(&ran(v.clone(), vec![])),
            Outcome::NotRecovered {
                error_kinds: vec!["NoCredentialsError".into()]
            }
        );
        // Both recovered: the longest recovery is the cell's.
        let both = vec![
            outage(1, OutageOutcome::Recovered, Some(1500), &[("A", 1)]),
            outage(2, OutageOutcome::Recovered, Some(2500), &[("A", 1)]),
        ];
        let v2 = Verdict {
            outcome: crate::verdict::worst(&both),
            outages: both,
            ..v.clone()
        };
        assert_eq!(
            cell_outcome(&ran(v2, vec![])),
            Outcome::Recovered {
                after: Some(Duration::from_millis(2500))
            }
        );
        // Rode through every outage although a call failed while IMDS was up.
        let through = vec![outage(1, OutageOutcome::RodeThrough, None, &[])];
        let v3 = Verdict {
            outcome: crate::verdict::worst(&through),
            outages: through,
            ..v.clone()
        };
        assert_eq!(cell_outcome(&ran(v3, vec![])), Outcome::RodeThrough);
        let untested = vec![outage(1, OutageOutcome::Untested, None, &[])];
        let v4 = Verdict {
            outcome: crate::verdict::worst(&untested),
            outages: untested,
            ..v
        };
        let o = cell_outcome(&ran(v4, vec![]));
        assert_eq!(o, Outcome::Untested);
        assert!(!o.is_verdict(), "bisect must not compare untested runs");
    }
}
