//! Whether a cell's timeline can carry a verdict at all.
//!
//! A verdict says what an SDK did under the outage the scenario describes. It is only as
//! good as the run behind it: if a schedule step never took effect (or took effect late),
//! if the mock could not reopen its socket, if an STS call reached this cell's mock from
//! another cell, or if the cell's client was not made under the outage the scenario is
//! about, then the cell did not test what it says, and any verdict — red or green — would
//! be about the harness, not the SDK. Such a cell is *inconclusive*: a harness result, shown
//! as an error in every report, never an SDK verdict.
//!
//! The checks, each from the timeline alone:
//! - every schedule step at or before the driver's last operation ended took effect
//!   (a scheduled `transition` event asked for at the step's time) within
//!   [`TRANSITION_BOUND`], and no transition failed; a step of clock jumps and rotations
//!   only (its `clock-jump`/`credentials-rotated` event) before any call that started
//!   after its time;
//! - every STS call carries a call id of this cell (`<nonce>.<attempt>`): a call without
//!   one cannot be tied to an attempt, and one with another cell's nonce is cross-talk (a
//!   credential provider's own `AssumeRole` may carry none:
//!   [`mock_imds::sts::is_credential_action`]);
//! - when the schedule opens with an outage, the cell's first operation started before it
//!   ended (else the client was made after the outage, not during it);
//! - no call in flight when the clock jumped was rejected by STS: such a call may have
//!   been signed on the old clock and judged on the new one (`SignatureDoesNotMatch`,
//!   `ExpiredToken`), which is the jump's doing, not the SDK's (no real clock jumps
//!   hours mid-request);
//! - ([`foreign_keys`], with the cell's mock) every access key STS was sent is one the
//!   cell's mock issued: any other came from another mock (cross-talk);
//! - an expectation with `premise = "resolved-during-outage"`: every IMDS request the cell
//!   made until its first call returned arrived while the opening outage was in force, so
//!   the client's first credential resolution saw only the outage (botocore's 1 s timeouts
//!   make a trap cell depend on this).

use std::time::Duration;

use mock_imds::{EventKind, Schedule};

use crate::ms::fmt_ms;
use crate::scenario::{Expectation, Premise};
use crate::timeline::{DriverEvent, Entry, Timeline};

/// How late a scheduled transition may take effect before the cell is inconclusive: 50 ms.
/// The mock applies a step in one task on the scenario clock; on a 2-core machine with
/// every built-in cell running at once beside two CPU-bound processes it stays well under
/// this (see RELIABILITY.md, `scripts/stress-suite`).
pub const TRANSITION_BOUND: Duration = Duration::from_millis(50);

/// When the driver's last operation ended (zero when it made none): the end of the run
/// for the checks here.
pub fn run_end(timeline: &Timeline) -> Duration {
    timeline
        .entries()
        .iter()
        .filter_map(|e| match e {
            Entry::Driver {
                at,
                event:
                    DriverEvent::Attempt { duration, .. } | DriverEvent::ClientCreated { duration, .. },
            } => Some(*at + *duration),
            Entry::Mock(_)
            | Entry::Driver {
                event: DriverEvent::SdkWarning { .. },
                ..
            } => None,
        })
        .max()
        .unwrap_or_default()
}

/// The time of the latest schedule step at or before `end`, which the mock must have put
/// in force before the timeline is read (the runner waits for it, up to the bound).
pub fn last_step_before(schedule: &Schedule, end: Duration) -> Option<Duration> {
    schedule
        .steps()
        .iter()
        .map(|s| s.at)
        .filter(|at| *at <= end)
        .max()
}

/// Why a `[handler]` cell's timeline cannot carry a verdict: a schedule step up to `end`
/// (its deadline on the scenario clock) that did not take effect on time; empty when
/// none.
pub fn check_steps(schedule: &Schedule, end: Duration, timeline: &Timeline) -> Vec<String> {
    let mut problems = Vec::new();
    transitions(schedule, end, timeline, &mut problems);
    problems
}

/// Why the cell's timeline cannot carry a verdict; empty when it can.
///
/// `nonce` is the cell's call-id prefix; `expectations` are those that apply to the cell.
pub fn check(
    schedule: &Schedule,
    nonce: &str,
    expectations: &[&Expectation],
    timeline: &Timeline,
) -> Vec<String> {
    let mut problems = Vec::new();
    let end = run_end(timeline);
    transitions(schedule, end, timeline, &mut problems);
    jumps_between_calls(timeline, &mut problems);
    call_ids(nonce, timeline, &mut problems);
    premises(schedule, expectations, timeline, &mut problems);
    problems
}

/// Why the cell's timeline cannot carry a verdict because STS saw credentials this cell's
/// mock never issued (`issued(key)` is false for them: neither its IMDS, nor its
/// container endpoints, nor its STS's `AssumeRole`); empty when every key is its own.
/// A driver's environment holds no credentials and its SDK cannot make any up, so such a
/// key came from another mock, another cell's or another run's: cross-talk (two mocks
/// answering on one address gave a Ruby cell another run's credentials, which STS then
/// rejected as `InvalidClientTokenId`: a failed expectation about the harness).
pub fn foreign_keys(timeline: &Timeline, issued: impl Fn(&str) -> bool) -> Vec<String> {
    let mut seen = std::collections::BTreeSet::new();
    timeline
        .mock_events()
        .filter_map(|e| match &e.kind {
            EventKind::StsRequest {
                access_key_id: Some(key),
                ..
            } if seen.insert(key.clone()) && !issued(key) => Some(format!(
                "STS was sent access key {key} (at {}), which this cell's mock never issued: \
                 the SDK got credentials from another mock",
                fmt_ms(e.at)
            )),
            _ => None,
        })
        .collect()
}

fn transitions(schedule: &Schedule, end: Duration, timeline: &Timeline, out: &mut Vec<String>) {
    for e in timeline.mock_events() {
        if let EventKind::TransitionFailed {
            state,
            asked_at,
            error,
            ..
        } = &e.kind
        {
            out.push(format!(
                "IMDS could not be put in `{state}` (asked for at {}): {error}",
                fmt_ms(*asked_at)
            ));
        }
    }
    for group in schedule.steps().chunk_by(|a, b| a.at == b.at) {
        let step = group[0].at;
        if step > end {
            break;
        }
        let what: Vec<String> = group.iter().map(|s| s.change.to_string()).collect();
        let what = what.join(", ");
        // A group with a state change is in force with its transition; a group of clock
        // jumps, rotations and notices with its first jump, rotation or notice.
        let changes_state = group.iter().any(|s| s.state().is_some());
        let applied = timeline.mock_events().find_map(|e| match &e.kind {
            EventKind::Transition {
                asked_at,
                scheduled: true,
                ..
            }
            | EventKind::TransitionFailed {
                asked_at,
                scheduled: true,
                ..
            } if changes_state && *asked_at == step => Some(e.at),
            EventKind::ClockJump {
                asked_at,
                scheduled: true,
                ..
            }
            | EventKind::CredentialsRotated {
                asked_at,
                scheduled: true,
                ..
            }
            | EventKind::Notice {
                asked_at,
                scheduled: true,
                ..
            }
            | EventKind::TokenFileRotated {
                asked_at,
                scheduled: true,
                ..
            } if !changes_state && *asked_at == step => Some(e.at),
            _ => None,
        });
        match applied {
            None => out.push(format!(
                "the schedule step at {} (`{what}`) never took effect, though the run lasted until {}",
                fmt_ms(step),
                fmt_ms(end)
            )),
            // A jump or rotation is late only for a call that started before it and
            // was meant to come after it (the calls between are what it is about).
            Some(at) if !changes_state => {
                if let Some(a) = timeline
                    .attempts()
                    .find(|a| a.start >= step && a.start < at)
                {
                    out.push(format!(
                        "the schedule step at {} (`{what}`) took effect at {}, after attempt {} started at {}",
                        fmt_ms(step),
                        fmt_ms(at),
                        a.attempt,
                        fmt_ms(a.start)
                    ));
                }
            }
            Some(at) if at.saturating_sub(step) > TRANSITION_BOUND => out.push(format!(
                "the schedule step at {} (`{what}`) took effect {} late (at {}; the bound is {})",
                fmt_ms(step),
                fmt_ms(at - step),
                fmt_ms(at),
                fmt_ms(TRANSITION_BOUND)
            )),
            Some(_) => {}
        }
    }
}

fn jumps_between_calls(timeline: &Timeline, out: &mut Vec<String>) {
    for e in timeline.mock_events() {
        let EventKind::ClockJump { by, .. } = &e.kind else {
            continue;
        };
        for a in timeline.attempts() {
            if !(a.start < e.at && e.at < a.end()) {
                continue;
            }
            // Only a rejection can be the jump's doing (a request signed on the old clock
            // and judged on the new); a call that failed before STS, or was accepted,
            // tells what the SDK did on the moved clock.
            let rejected = timeline.mock_events().find_map(|s| match &s.kind {
                EventKind::StsRequest {
                    call_id: Some(id),
                    outcome: mock_imds::StsOutcome::Rejected { code },
                    ..
                } if id == a.call_id => Some(code.clone()),
                _ => None,
            });
            if let Some(code) = rejected {
                out.push(format!(
                    "the clock jumped {by} at {} while attempt {} was in flight ({} to {}), and STS rejected it ({code}): it may have been signed on the old clock and judged on the new one",
                    fmt_ms(e.at),
                    a.attempt,
                    fmt_ms(a.start),
                    fmt_ms(a.end())
                ));
            }
        }
    }
}

fn call_ids(nonce: &str, timeline: &Timeline, out: &mut Vec<String>) {
    let prefix = format!("{nonce}.");
    let (mut anonymous, mut foreign) = (0, Vec::new());
    for e in timeline.mock_events() {
        if let EventKind::StsRequest {
            call_id, action, ..
        } = &e.kind
        {
            match call_id {
                // A credential provider's own AssumeRole is made by the SDK's internal
                // STS client, which carries no call id of the driver's.
                None if mock_imds::sts::is_credential_action(action) => {}
                None => anonymous += 1,
                Some(id) if !id.starts_with(&prefix) => {
                    if !foreign.contains(id) {
                        foreign.push(id.clone());
                    }
                }
                Some(_) => {}
            }
        }
    }
    if anonymous > 0 {
        out.push(format!(
            "{anonymous} STS call(s) carried no call id, so they cannot be tied to an attempt (the driver did not name its calls)"
        ));
    }
    if !foreign.is_empty() {
        out.push(format!(
            "STS calls of another run reached this cell's mock (call ids {}; this cell's are {prefix}N): cells must not reach each other",
            foreign.join(", ")
        ));
    }
}

/// The opening outage's end, when the schedule opens with one: `Some(None)` for one that
/// never ends, `None` when IMDS starts up.
fn opening_outage(schedule: &Schedule) -> Option<Option<Duration>> {
    if schedule.state_at(Duration::ZERO).is_up() {
        return None;
    }
    Some(schedule.recoveries().first().copied())
}

fn premises(
    schedule: &Schedule,
    expectations: &[&Expectation],
    timeline: &Timeline,
    out: &mut Vec<String>,
) {
    let Some(Some(outage_end)) = opening_outage(schedule) else {
        return;
    };
    let first_op = timeline.entries().iter().find_map(|e| match e {
        Entry::Driver { at, .. } => Some(*at),
        Entry::Mock(_) => None,
    });
    if let Some(first) = first_op {
        if first >= outage_end {
            out.push(format!(
                "the cell's first operation started at {}, after the opening outage had ended at {}: it did not test a client made during the outage",
                fmt_ms(first),
                fmt_ms(outage_end)
            ));
            return;
        }
    }
    let wanted = expectations
        .iter()
        .any(|e| e.premise == Some(Premise::ResolvedDuringOutage));
    if !wanted {
        return;
    }
    let Some(first_call_end) = timeline.attempts().next().map(|a| a.end()) else {
        return;
    };
    let late: Vec<Duration> = timeline
        .mock_events()
        .filter(|e| matches!(e.kind, EventKind::ImdsRequest { .. }))
        .map(|e| e.at)
        .filter(|at| *at >= outage_end && *at <= first_call_end)
        .collect();
    if let Some(first_late) = late.first() {
        out.push(format!(
            "premise resolved-during-outage does not hold: {} IMDS request(s) before the first call returned at {} arrived after the opening outage ended at {} (the first at {}): the client's first credential resolution saw IMDS back",
            late.len(),
            fmt_ms(first_call_end),
            fmt_ms(outage_end),
            fmt_ms(*first_late)
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{attempt, imds, ms, schedule, sts, transition_asked};
    use mock_imds::{Event, ImdsState};

    const TRAP: &[(u64, &str)] = &[(0, "refuse"), (2000, "up")];

    #[test]
    fn a_clean_run_has_no_problems() {
        let t = Timeline::merge(
            vec![
                transition_asked(0, 0, "refuse"),
                transition_asked(2003, 2000, "up"),
                sts(2500, Some("cafe.2"), true),
            ],
            vec![
                attempt(0, "cafe.1", 10, false),
                attempt(2500, "cafe.2", 10, false),
            ],
        );
        assert_eq!(
            check(&schedule(TRAP), "cafe", &[], &t),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_key_the_mock_never_issued_is_cross_talk() {
        let t = Timeline::merge(
            vec![
                sts(100, Some("cafe.1"), false),
                sts(200, Some("cafe.2"), false),
            ],
            vec![],
        );
        assert!(foreign_keys(&t, |key| key == "ASIAMOCKAAAAAAAAAAAA").is_empty());
        let found = foreign_keys(&t, |_| false);
        assert_eq!(found.len(), 1, "once per key: {found:?}");
        assert!(
            found[0].starts_with("STS was sent access key ASIAMOCKAAAAAAAAAAAA (at 100ms), which this cell's mock never issued"),
            "{found:?}"
        );
    }

    fn jump(at_ms: u64, asked_ms: u64) -> Event {
        Event {
            at: ms(at_ms),
            kind: EventKind::ClockJump {
                by: "+5h52m".parse().unwrap(),
                offset_ms: 21_120_000,
                asked_at: ms(asked_ms),
                scheduled: true,
            },
        }
    }

    #[test]
    fn a_clock_step_takes_effect_by_its_jump_and_must_fall_between_calls() {
        let steps = mock_imds::Schedule::new(vec![mock_imds::Step::clock(
            ms(1000),
            "+5h52m".parse().unwrap(),
        )])
        .unwrap();
        let calls = || {
            vec![
                attempt(0, "cafe.1", 10, false),
                attempt(2000, "cafe.2", 10, false),
            ]
        };
        let clean = Timeline::merge(vec![jump(1001, 1000)], calls());
        assert!(check(&steps, "cafe", &[], &clean).is_empty());
        // 500 ms late is harmless while no call started in between; not once one did.
        let late = Timeline::merge(vec![jump(1500, 1000)], calls());
        assert!(check(&steps, "cafe", &[], &late).is_empty());
        let overtaken = Timeline::merge(vec![jump(2001, 1000)], calls());
        let problems = check(&steps, "cafe", &[], &overtaken);
        assert!(
            problems[0].contains("took effect at 2.00s, after attempt 2 started at 2.00s"),
            "{problems:?}"
        );
        let lost = Timeline::merge(vec![], calls());
        let problems = check(&steps, "cafe", &[], &lost);
        assert!(
            problems[0].contains("(`clock +5h 52m`) never took effect"),
            "{problems:?}"
        );
        // A call from 990 ms to 1010 ms spans the jump at 1001 ms: fine when STS
        // accepted it, inconclusive when STS rejected it.
        let straddled = |accepted| {
            Timeline::merge(
                vec![jump(1001, 1000), sts(1005, Some("cafe.1"), accepted)],
                vec![attempt(990, "cafe.1", 20, accepted)],
            )
        };
        assert!(check(&steps, "cafe", &[], &straddled(true)).is_empty());
        let problems = check(&steps, "cafe", &[], &straddled(false));
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].contains("the clock jumped +5h 52m at 1.00s while attempt 1 was in flight"),
            "{problems:?}"
        );
    }

    /// The lost `up` of the flaky `strategies-refuse js-v3/call-retry` run: the run went on
    /// past 4 s and the log has no transition for the step.
    #[test]
    fn a_step_that_never_took_effect_is_found() {
        let t = Timeline::merge(
            vec![transition_asked(0, 0, "refuse")],
            vec![
                attempt(0, "cafe.1", 10, false),
                attempt(3000, "cafe.2", 10, false),
            ],
        );
        let problems = check(&schedule(TRAP), "cafe", &[], &t);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].contains("the schedule step at 2.00s (`up`) never took effect"),
            "{problems:?}"
        );
    }

    #[test]
    fn a_late_step_is_found_and_one_after_the_run_is_not_required() {
        let t = Timeline::merge(
            vec![
                transition_asked(0, 0, "refuse"),
                transition_asked(2051, 2000, "up"),
            ],
            vec![
                attempt(0, "cafe.1", 10, false),
                attempt(2500, "cafe.2", 10, false),
            ],
        );
        let problems = check(&schedule(TRAP), "cafe", &[], &t);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].contains("took effect 51ms late"),
            "{problems:?}"
        );
        // The run ended at 1 s: the step at 2 s need not have happened.
        let short = Timeline::merge(
            vec![transition_asked(0, 0, "refuse")],
            vec![attempt(0, "cafe.1", 1000, false)],
        );
        assert!(check(&schedule(TRAP), "cafe", &[], &short).is_empty());
    }

    #[test]
    fn a_failed_transition_is_found() {
        let failed = Event {
            at: ms(2001),
            kind: EventKind::TransitionFailed {
                state: ImdsState::up(),
                asked_at: ms(2000),
                scheduled: true,
                error: "Address already in use".into(),
            },
        };
        let t = Timeline::merge(
            vec![transition_asked(0, 0, "refuse"), failed],
            vec![
                attempt(0, "cafe.1", 10, false),
                attempt(2500, "cafe.2", 10, false),
            ],
        );
        let problems = check(&schedule(TRAP), "cafe", &[], &t);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].contains("could not be put in `up`"),
            "{problems:?}"
        );
        assert!(
            problems[0].contains("Address already in use"),
            "{problems:?}"
        );
    }

    /// The cross-talk of the flaky `js-v3-cached-failure` run: STS calls signed with a key
    /// of another cell's mock reached this one.
    #[test]
    fn sts_calls_of_another_cell_or_without_an_id_are_found() {
        let t = Timeline::merge(
            vec![
                transition_asked(0, 0, "refuse"),
                transition_asked(2000, 2000, "up"),
                sts(1100, Some("beef.3"), true),
                sts(2600, None, true),
            ],
            vec![
                attempt(0, "cafe.1", 10, false),
                attempt(2500, "cafe.2", 200, false),
            ],
        );
        let problems = check(&schedule(TRAP), "cafe", &[], &t);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems
                .iter()
                .any(|p| p.contains("1 STS call(s) carried no call id")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p
                .contains("STS calls of another run reached this cell's mock (call ids beef.3")),
            "{problems:?}"
        );
    }

    /// A credential provider's own AssumeRole (role chaining) comes from the SDK's
    /// internal STS client, without the driver's call id: not a problem. One carrying
    /// another cell's id still is.
    #[test]
    fn an_assume_role_without_a_call_id_is_no_problem() {
        let assume = |at: u64, id: Option<&str>| {
            let mut e = sts(at, id, true);
            if let EventKind::StsRequest { action, .. } = &mut e.kind {
                *action = "AssumeRole".into();
            }
            e
        };
        let t = Timeline::merge(
            vec![
                transition_asked(0, 0, "refuse"),
                transition_asked(2000, 2000, "up"),
                assume(2550, None),
                sts(2600, Some("cafe.2"), true),
            ],
            vec![
                attempt(0, "cafe.1", 10, false),
                attempt(2500, "cafe.2", 200, true),
            ],
        );
        assert!(check(&schedule(TRAP), "cafe", &[], &t).is_empty());
        let t = Timeline::merge(
            vec![
                transition_asked(0, 0, "refuse"),
                transition_asked(2000, 2000, "up"),
                assume(2550, Some("beef.2")),
            ],
            vec![attempt(0, "cafe.1", 10, false)],
        );
        let problems = check(&schedule(TRAP), "cafe", &[], &t);
        assert_eq!(problems.len(), 1, "{problems:?}");
    }

    #[test]
    fn a_client_made_after_the_opening_outage_is_found() {
        let t = Timeline::merge(
            vec![
                transition_asked(0, 0, "refuse"),
                transition_asked(2000, 2000, "up"),
            ],
            vec![attempt(2100, "cafe.1", 10, false)],
        );
        let problems = check(&schedule(TRAP), "cafe", &[], &t);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].contains(
                "first operation started at 2.10s, after the opening outage had ended at 2.00s"
            ),
            "{problems:?}"
        );
    }

    /// trap-blackhole: botocore's IMDSv1 GET must land in the blackhole; if it arrives
    /// after IMDS is back, the client did not resolve during the outage.
    #[test]
    fn premise_resolved_during_outage_is_checked_when_asked_for() {
        let premise = Expectation {
            premise: Some(Premise::ResolvedDuringOutage),
            ..Expectation::default()
        };
        let blackhole: &[(u64, &str)] = &[(0, "blackhole"), (2000, "up")];
        let held = Timeline::merge(
            vec![
                transition_asked(0, 0, "blackhole"),
                imds(100, "/latest/meta-data/iam/security-credentials/", None),
                imds(1150, "/latest/meta-data/iam/security-credentials/", None),
                transition_asked(2000, 2000, "up"),
            ],
            vec![attempt(2400, "cafe.1", 5, false)],
        );
        // The first operation (here the call) must still start during the outage.
        let held = Timeline::merge(
            held.mock_events().cloned().collect(),
            vec![
                (
                    ms(0),
                    DriverEvent::ClientCreated {
                        attempt: 1,
                        duration: ms(2300),
                        outcome: crate::driver::ClientOutcome {
                            credentials_resolved: Some(false),
                            error: None,
                        },
                    },
                ),
                attempt(2400, "cafe.1", 5, false),
            ],
        );
        assert!(check(&schedule(blackhole), "cafe", &[&premise], &held).is_empty());
        let missed = Timeline::merge(
            vec![
                transition_asked(0, 0, "blackhole"),
                imds(900, "/latest/meta-data/iam/security-credentials/", None),
                imds(2050, "/latest/meta-data/iam/security-credentials/", None),
                transition_asked(2000, 2000, "up"),
            ],
            held.entries()
                .iter()
                .filter_map(|e| match e {
                    Entry::Driver { at, event } => Some((*at, event.clone())),
                    Entry::Mock(_) => None,
                })
                .collect(),
        );
        let problems = check(&schedule(blackhole), "cafe", &[&premise], &missed);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].contains("premise resolved-during-outage does not hold: 1 IMDS request(s)"),
            "{problems:?}"
        );
        // Without the premise, the same run is fine.
        assert!(check(&schedule(blackhole), "cafe", &[], &missed).is_empty());
    }
}
