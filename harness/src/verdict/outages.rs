//! Verdicts per outage: what the calls did through each outage the mock actually applied.
//!
//! An *outage* is a maximal interval in which some fault is active, taken from the
//! transitions in the mock's event log (`transition`, and `transition-failed`, whose socket
//! refuses connections), not from the schedule: a step that took effect late moves the
//! outage with it. For each outage:
//! - the calls that failed in it: every failed attempt that overlaps it, and every failed
//!   attempt that starts after it ended and before its recovery (or the next outage);
//! - its outcome ([`Outcome`]): `rode-through` (calls met it, none failed), `recovered`
//!   (calls failed; a call was accepted by STS after it ended and before the next outage
//!   began, and the time from its end to that call's arrival at STS), `not-recovered`
//!   (calls failed, and IMDS never came back or no call made after it and before the next
//!   outage was accepted), `untested` (no call and no client creation overlapped it and
//!   none failed after it; or calls failed but no call was made after it ended, before
//!   the next outage, so its recovery was not tested);
//! - failures after recovery: failed attempts that started after the recovering call and
//!   before the next outage (a relapse while IMDS was up).
//!
//! A call is accepted only when the SDK returned a response and the fake STS logged an
//! accepted call carrying that attempt's call id (see [`super`]); its time is the STS
//! arrival.

use std::collections::BTreeMap;
use std::time::Duration;

use mock_imds::{EventKind, StsOutcome};
use serde::{Deserialize, Serialize};

use crate::driver::CallOutcome;
use crate::timeline::{AttemptView, DriverEvent, Entry, Timeline};

/// What the calls did through one outage; ordered from best to worst ([`Outcome::Untested`]
/// first: it says nothing).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    strum::Display,
    strum::EnumString,
    strum::VariantNames,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum Outcome {
    /// The run did not test the outage, or not its recovery: no call and no client
    /// creation overlapped it and none failed after it; or calls failed but none was made
    /// after it ended, before the next outage. Never the worst outcome while another
    /// outage was tested.
    Untested,
    /// Calls met the outage and none failed (cached credentials carried them).
    RodeThrough,
    /// Calls failed; one was accepted after the outage ended, before the next one began.
    Recovered,
    /// Calls failed; IMDS never came back, or calls were made after it ended (before the
    /// next one began) and none was accepted.
    NotRecovered,
}

impl Outcome {
    /// The outcomes an `[[expect]] outcome = "…"` may name.
    pub const EXPECTABLE: &'static [&'static str] = &["rode-through", "recovered", "not-recovered"];
}

/// One outage and what the calls did through it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outage {
    /// 1-based, in time order.
    pub index: u32,
    /// When the first fault took effect (mock event log), serialized as `start_ms`.
    #[serde(rename = "start_ms", with = "crate::ms")]
    pub start: Duration,
    /// When IMDS was up again, serialized as `end_ms`; `None` (`null`) when it was still
    /// down at the end of the timeline.
    #[serde(rename = "end_ms", with = "crate::ms::option")]
    pub end: Option<Duration>,
    /// The states IMDS went through during it, as the fault grammar writes them.
    pub states: Vec<String>,
    /// The calls that failed in it (see the module docs).
    pub failed_calls: u32,
    /// Those failures by error kind (SDK names); a hung call has none, so these may
    /// add up to fewer than [`Self::failed_calls`].
    pub error_kinds: BTreeMap<String, u32>,
    /// What the calls did.
    pub outcome: Outcome,
    /// For `recovered`, and for `rode-through` when no call was accepted during the
    /// outage (the calls waited it out): from the outage's end to the arrival at STS of
    /// the first call accepted after it, serialized as `recovery_ms`.
    #[serde(
        default,
        rename = "recovery_ms",
        with = "crate::ms::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub recovery: Option<Duration>,
    /// The attempt (1-based) of that call, when `recovery_ms` is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovered_by_attempt: Option<u32>,
    /// Failed attempts that started after the recovering call, before the next outage.
    pub failures_after_recovery: u32,
    /// Attempts that started after the outage ended, before the next one began.
    pub calls_after: u32,
}

/// The outages of a timeline, each with its outcome, in time order.
pub fn outages(timeline: &Timeline) -> Vec<Outage> {
    let intervals = intervals(timeline);
    let accepted = accepted_attempts(timeline);
    let attempts: Vec<AttemptView<'_>> = timeline.attempts().collect();
    let clients: Vec<(Duration, Duration)> = timeline
        .entries()
        .iter()
        .filter_map(|e| match e {
            Entry::Driver {
                at,
                event: DriverEvent::ClientCreated { duration, .. },
            } => Some((*at, *at + *duration)),
            _ => None,
        })
        .collect();
    let mut out = Vec::new();
    for (i, (start, end, states)) in intervals.iter().enumerate() {
        let next = intervals.get(i + 1).map(|(s, _, _)| *s);
        let overlaps = |from: Duration, to: Duration| {
            // [from, to] against [start, end): an instant call at the start counts.
            from < end.unwrap_or(Duration::MAX) && to >= *start
        };
        let met = attempts.iter().any(|a| overlaps(a.start, a.end()))
            || clients.iter().any(|(f, t)| overlaps(*f, *t));
        // After the end, up to the next outage (or the end of the run).
        let after = |a: &AttemptView<'_>| {
            end.is_some_and(|e| a.start >= e) && next.is_none_or(|n| a.start < n)
        };
        let recovery = end.and_then(|e| {
            attempts
                .iter()
                .filter_map(|a| accepted.get(&a.attempt).map(|at| (a, *at)))
                .filter(|(_, at)| *at >= e && next.is_none_or(|n| *at < n))
                .min_by_key(|(_, at)| *at)
                .map(|(a, at)| (a.attempt, a.start, at - e))
        });
        let mut failed_calls = 0;
        let mut error_kinds: BTreeMap<String, u32> = BTreeMap::new();
        let mut failures_after_recovery = 0;
        for a in &attempts {
            // A hung call failed too, with no error kind to count.
            let kind = match a.outcome {
                CallOutcome::Err { kind, .. } => Some(kind),
                CallOutcome::Hung => None,
                CallOutcome::Ok { .. } => continue,
            };
            let before_recovery = recovery.is_none_or(|(_, started, _)| a.start < started);
            if overlaps(a.start, a.end()) || (after(a) && before_recovery) {
                failed_calls += 1;
                if let Some(kind) = kind {
                    *error_kinds.entry(kind.clone()).or_default() += 1;
                }
            } else if after(a) {
                failures_after_recovery += 1;
            }
        }
        let calls_after = attempts.iter().filter(|a| after(a)).count() as u32;
        let outcome = match (failed_calls, recovery) {
            (0, _) if met => Outcome::RodeThrough,
            (0, _) => Outcome::Untested,
            (_, Some(_)) => Outcome::Recovered,
            // No call after it ended, before the next outage: recovery was not tested.
            (_, None) if end.is_some() && calls_after == 0 => Outcome::Untested,
            (_, None) => Outcome::NotRecovered,
        };
        // A ride-through with no call accepted during the outage waited it out: its first
        // accepted call after the end is kept too (how long the calls were held up).
        let accepted_during = accepted
            .values()
            .any(|at| *at >= *start && end.is_none_or(|e| *at < e));
        let keeps_recovery =
            outcome == Outcome::Recovered || (outcome == Outcome::RodeThrough && !accepted_during);
        let recovered = keeps_recovery.then_some(()).and(recovery);
        out.push(Outage {
            index: i as u32 + 1,
            start: *start,
            end: *end,
            states: states.clone(),
            failed_calls,
            error_kinds,
            outcome,
            recovery: recovered.map(|(_, _, took)| took),
            recovered_by_attempt: recovered.map(|(n, _, _)| n),
            failures_after_recovery,
            calls_after,
        });
    }
    out
}

/// The worst outcome of `outages`: `untested` only when every outage is; `None` when
/// there was no outage.
pub fn worst(outages: &[Outage]) -> Option<Outcome> {
    let tested = outages
        .iter()
        .map(|o| o.outcome)
        .filter(|o| *o != Outcome::Untested)
        .max();
    tested.or_else(|| outages.first().map(|_| Outcome::Untested))
}

/// Maximal intervals in which some fault was active, from the event log's transitions:
/// `(start, end, states seen)`, `end` `None` when still down at the end.
fn intervals(timeline: &Timeline) -> Vec<(Duration, Option<Duration>, Vec<String>)> {
    let mut out: Vec<(Duration, Option<Duration>, Vec<String>)> = Vec::new();
    let mut open: Option<(Duration, Vec<String>)> = None;
    for e in timeline.mock_events() {
        let (down, name) = match &e.kind {
            EventKind::Transition { state, .. } => (!state.is_up(), state.to_string()),
            // The handlers serve the new state, but the socket refuses connections.
            EventKind::TransitionFailed { state, .. } => {
                (true, format!("{state} (socket not reopened: refusing)"))
            }
            _ => continue,
        };
        match (&mut open, down) {
            (None, true) => open = Some((e.at, vec![name])),
            (Some((_, states)), true) => {
                if states.last() != Some(&name) {
                    states.push(name);
                }
            }
            (Some(_), false) => {
                let (start, states) = open.take().unwrap_or_default();
                out.push((start, Some(e.at), states));
            }
            (None, false) => {}
        }
    }
    if let Some((start, states)) = open {
        out.push((start, None, states));
    }
    out
}

/// Attempts the SDK reported ok *and* STS accepted under their call id: attempt → the
/// STS arrival of its first accepted call.
fn accepted_attempts(timeline: &Timeline) -> BTreeMap<u32, Duration> {
    let mut out = BTreeMap::new();
    for a in timeline.attempts() {
        let CallOutcome::Ok { access_key_id, .. } = a.outcome else {
            continue;
        };
        if a.call_id.is_empty() {
            continue;
        }
        let at = timeline.mock_events().find_map(|e| match &e.kind {
            EventKind::StsRequest {
                action,
                outcome: StsOutcome::Accepted { .. },
                access_key_id: key,
                call_id: Some(id),
                ..
            } if id == a.call_id
                && !mock_imds::sts::is_credential_action(action)
                && (access_key_id.is_none() || key.as_ref() == access_key_id.as_ref()) =>
            {
                Some(e.at)
            }
            _ => None,
        });
        if let Some(at) = at {
            out.entry(a.attempt).or_insert(at);
        }
    }
    out
}

/// Attempts accepted by STS (see [`accepted_attempts`]).
pub fn accepted_calls(timeline: &Timeline) -> u32 {
    accepted_attempts(timeline).len() as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{attempt, ms, sts, transition};

    fn outcomes(o: &[Outage]) -> Vec<Outcome> {
        o.iter().map(|o| o.outcome).collect()
    }

    /// A call accepted during the outage (cached credentials) is riding through, not a
    /// recovery, and no "recovery time" is claimed for it.
    #[test]
    fn a_call_accepted_during_the_fault_rides_through() {
        let t = Timeline::merge(
            vec![
                transition(0, "up"),
                transition(100, "refuse"),
                sts(505, Some("n.1"), true),
                transition(2000, "up"),
            ],
            vec![attempt(500, "n.1", 10, true)],
        );
        let o = outages(&t);
        assert_eq!(outcomes(&o), vec![Outcome::RodeThrough]);
        assert_eq!((o[0].start, o[0].end), (ms(100), Some(ms(2000))));
        assert_eq!(o[0].recovery, None);
        assert_eq!(worst(&o), Some(Outcome::RodeThrough));
        // A call that waited the outage out rides through too, and keeps its wait.
        let t = Timeline::merge(
            vec![
                transition(0, "status(500)"),
                transition(2000, "up"),
                sts(2012, Some("n.1"), true),
            ],
            vec![attempt(0, "n.1", 2020, true)],
        );
        let o = outages(&t);
        assert_eq!(outcomes(&o), vec![Outcome::RodeThrough]);
        assert_eq!(o[0].recovery, Some(ms(12)));
    }

    /// IMDS never came back: not recovered, even though a call was accepted before.
    #[test]
    fn an_outage_still_on_at_the_end_is_not_recovered() {
        let t = Timeline::merge(
            vec![sts(5, Some("n.1"), true), transition(100, "blackhole")],
            vec![attempt(0, "n.1", 10, true), attempt(500, "n.2", 10, false)],
        );
        let o = outages(&t);
        assert_eq!(outcomes(&o), vec![Outcome::NotRecovered]);
        assert_eq!(o[0].end, None);
        assert_eq!(o[0].failed_calls, 1);
    }

    /// A flapping run: each outage gets its own outcome, and failures after the first
    /// recovery are not hidden behind it.
    #[test]
    fn each_flap_gets_its_outcome_and_relapses_are_counted() {
        let t = Timeline::merge(
            vec![
                transition(0, "refuse"),
                transition(1000, "up"),
                sts(1205, Some("n.2"), true),
                transition(2000, "status(500)"),
                transition(3000, "up"),
                transition(4000, "refuse"),
            ],
            vec![
                attempt(500, "n.1", 10, false),  // outage 1
                attempt(1200, "n.2", 10, true),  // recovers outage 1, 205 ms after its end
                attempt(1500, "n.3", 10, false), // a relapse while IMDS is up
                attempt(2500, "n.4", 10, false), // outage 2
                attempt(3500, "n.5", 10, false), // after outage 2, not accepted
                attempt(4500, "n.6", 10, false), // outage 3, never ends
            ],
        );
        let o = outages(&t);
        assert_eq!(
            outcomes(&o),
            vec![
                Outcome::Recovered,
                Outcome::NotRecovered,
                Outcome::NotRecovered
            ]
        );
        assert_eq!(o[0].recovery, Some(ms(205)));
        assert_eq!(o[0].recovered_by_attempt, Some(2));
        assert_eq!(o[0].failures_after_recovery, 1);
        assert_eq!(o[0].failed_calls, 1);
        assert_eq!(o[1].failed_calls, 2, "{:?}", o[1]);
        assert_eq!(o[1].calls_after, 1);
        assert_eq!(o[2].index, 3);

        assert_eq!(worst(&o), Some(Outcome::NotRecovered));
        assert_eq!(accepted_calls(&t), 1);
        // Failures with no call after the end, before the next outage: recovery untested.
        let t = Timeline::merge(
            vec![
                transition(0, "refuse"),
                transition(1000, "up"),
                transition(1100, "refuse"),
                transition(2000, "up"),
                sts(2105, Some("n.3"), true),
            ],
            vec![
                attempt(500, "n.1", 10, false),
                attempt(900, "n.2", 300, false), // across the gap
                attempt(2100, "n.3", 10, true),
            ],
        );
        let o = outages(&t);
        assert_eq!(outcomes(&o), vec![Outcome::Untested, Outcome::Recovered]);
        assert_eq!(o[0].failed_calls, 2);
    }

    /// An outage no call met says nothing; it is the worst only when all are untested.
    #[test]
    fn an_outage_nothing_met_is_untested() {
        let t = Timeline::merge(
            vec![
                transition(0, "refuse"),
                transition(100, "up"),
                sts(1005, Some("n.2"), true),
                transition(5000, "refuse"),
                transition(5100, "up"),
            ],
            vec![attempt(50, "n.1", 0, false), attempt(1000, "n.2", 10, true)],
        );
        let o = outages(&t);
        assert_eq!(outcomes(&o), vec![Outcome::Recovered, Outcome::Untested]);
        let t = Timeline::merge(
            vec![transition(5000, "refuse"), transition(5100, "up")],
            vec![attempt(0, "n.1", 10, true)],
        );
        assert_eq!(worst(&outages(&t)), Some(Outcome::Untested));
        assert_eq!(worst(&[]), None);
    }

    /// An SDK answer STS never accepted under its call id is no recovery.
    #[test]
    fn an_unverified_success_does_not_recover() {
        let t = Timeline::merge(
            vec![transition(0, "refuse"), transition(100, "up")],
            vec![attempt(50, "n.1", 10, false), attempt(200, "n.2", 10, true)],
        );
        assert_eq!(outcomes(&outages(&t)), vec![Outcome::NotRecovered]);
    }
}
