//! Verdicts: what one cell's timeline shows, and whether the scenario's expectations hold.
//!
//! Derived from the timeline only. A call counts as successful only when the SDK returned
//! a response *and* the fake STS logged an accepted `GetCallerIdentity` carrying that
//! attempt's call id: an SDK answer STS never saw is not a recovery. Calls are tied to
//! attempts by that id, never by comparing timestamps (on a loaded machine STS may stamp
//! a call after the driver's clock says the attempt ended).
//!
//! Per outage (each maximal interval in which the mock had a fault on), see
//! [`outages`]: its failed calls and outcome; the cell's [`Verdict::outcome`] is the
//! worst of them.

mod outages;

pub use outages::{outages, worst, Outage, Outcome};

use std::collections::BTreeMap;
use std::time::Duration;

use mock_imds::{EventKind, StsOutcome};
use serde::{Deserialize, Serialize};

use crate::driver::CallOutcome;
use crate::timeline::Timeline;

/// What a cell's timeline shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Verdict {
    /// An STS-accepted call happened.
    pub recovered: bool,
    /// The attempt (1-based) that first succeeded.
    pub first_success_attempt: Option<u32>,
    /// From the last IMDS recovery before it (or from the start, when IMDS was never
    /// down before it) to the arrival at STS of the first accepted call; `recovery_ms`.
    #[serde(rename = "recovery_ms", with = "crate::ms::option")]
    pub recovery_time: Option<Duration>,
    /// Attempts that started at or after the last IMDS recovery before the first accepted
    /// call, up to and including it (0 when that call had started before IMDS was back).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempts_to_recover: Option<u32>,
    /// Calls made.
    pub attempts: u32,
    /// IMDS requests from the first attempt's start to the last attempt's end.
    pub imds_requests_during_attempts: usize,
    /// IMDS requests from the last recovery to the end of the attempts; `None` when IMDS
    /// was still down at the end of the attempts.
    pub imds_requests_after_recovery: Option<usize>,
    /// Of those, the metadata requests without an IMDSv2 session token (IMDSv1: not the
    /// token `PUT` itself); `None` as above.
    #[serde(default)]
    pub imds_v1_requests_after_recovery: Option<usize>,
    /// Failed attempts by error kind (SDK names).
    pub error_kinds: BTreeMap<String, u32>,
    /// The failed attempts' messages (the SDK's own), each once, in order of first
    /// appearance (what `[[expect]] error_message` checks).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub error_messages: Vec<String>,
    /// Calls that had not returned when their strategy's `call_timeout` ran out
    /// ([`CallOutcome::Hung`]; at most one, as the cell ends there). Failed calls without
    /// an error kind: not in [`Self::error_kinds`].
    #[serde(default, skip_serializing_if = "is_zero")]
    pub hung_calls: u32,
    /// The access key that signed the first accepted call (from the STS log).
    pub access_key_id: Option<String>,
    /// Calls the SDK reported as successful that STS never accepted (should be 0).
    pub unverified_successes: u32,
    /// STS calls rejected during the run, by error code (`SignatureDoesNotMatch`,
    /// `ExpiredToken`, …), including ones an SDK retried inside one attempt.
    #[serde(default)]
    pub sts_rejections: BTreeMap<String, u32>,
    /// Every distinct access key that signed an accepted call, in order of first use:
    /// one key is "kept using the old credentials", two is "fetched new ones".
    #[serde(default)]
    pub keys_used: Vec<String>,
    /// Every distinct caller ARN STS answered to accepted calls of attempts the SDK
    /// reported ok, in order of first answer: `…:assumed-role/<instance role>/<instance
    /// id>` for instance credentials, `…:assumed-role/<role>/<session>` for credentials
    /// chained through `AssumeRole` (the mock's own record, not the driver's claim).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub caller_arns: Vec<String>,
    /// The longest client creation (botocore resolves credentials there, so an outage
    /// makes it slow); serialized as `longest_client_creation_ms`.
    #[serde(
        default,
        rename = "longest_client_creation_ms",
        with = "crate::ms::option"
    )]
    pub longest_client_creation: Option<Duration>,
    /// Each outage the mock applied and what the calls did through it, in time order.
    #[serde(default)]
    pub outages: Vec<Outage>,
    /// The worst outcome of [`Self::outages`] (see [`worst`]); `None` when IMDS was up
    /// throughout.
    #[serde(default)]
    pub outcome: Option<Outcome>,
    /// Calls STS accepted under their call id; availability is this over `attempts`.
    #[serde(default)]
    pub accepted_calls: u32,
    /// Every IMDS request of the cell, in arrival order (what `[[expect]] imds_requests`
    /// checks).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub imds_requests: Vec<crate::scenario::imds_requests::SeenRequest>,
    /// A `[handler]` cell's notice and when the program first saw it (the time to
    /// notice); `None` for SDK cells. Filled in by the runner ([`crate::handler`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice: Option<crate::handler::NoticeSeen>,
    /// The credentials the SDK held after each call it answered successfully, in order
    /// (what `[[expect]] expiry_extended` and `account_id` check).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub held_credentials: Vec<AttemptCredentials>,
    /// What the SDK logged (the `sdk-warning` events' messages), in order (what
    /// `[[expect]] sdk_warnings` checks).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sdk_warnings: Vec<String>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// The credentials one successful call reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttemptCredentials {
    /// The attempt (1-based).
    pub attempt: u32,
    /// What the driver reported; `None` when it reports none (the AWS CLI driver).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<crate::driver::HeldCredentials>,
}

impl Verdict {
    /// Availability: accepted calls over calls made (`None` when no call was made).
    pub fn availability(&self) -> Option<f64> {
        (self.attempts > 0).then(|| f64::from(self.accepted_calls) / f64::from(self.attempts))
    }

    /// Availability as `accepted/calls`, e.g. `5/6`.
    pub fn availability_text(&self) -> String {
        format!("{}/{}", self.accepted_calls, self.attempts)
    }

    /// The outage `index` (1-based), if the run had it.
    pub fn outage(&self, index: u32) -> Option<&Outage> {
        self.outages.iter().find(|o| o.index == index)
    }

    /// Derives the verdict from a cell's timeline.
    pub fn from_timeline(timeline: &Timeline) -> Self {
        // Accepted STS calls: (arrival, signing key, call id, caller ARN). A credential
        // provider's own `AssumeRole` is not a call of the driver's.
        let accepted: Vec<(Duration, Option<String>, Option<String>, &str)> = timeline
            .mock_events()
            .filter_map(|e| match &e.kind {
                EventKind::StsRequest {
                    action,
                    outcome: StsOutcome::Accepted { arn, .. },
                    access_key_id,
                    call_id,
                    ..
                } if !mock_imds::sts::is_credential_action(action) => {
                    Some((e.at, access_key_id.clone(), call_id.clone(), arn.as_str()))
                }
                _ => None,
            })
            .collect();
        let recoveries = timeline.recoveries();
        let mut sts_rejections: BTreeMap<String, u32> = BTreeMap::new();
        for e in timeline.mock_events() {
            if let EventKind::StsRequest {
                outcome: StsOutcome::Rejected { code },
                ..
            } = &e.kind
            {
                *sts_rejections.entry(code.clone()).or_default() += 1;
            }
        }
        let ok_call_ids: Vec<&str> = timeline
            .attempts()
            .filter(|a| a.outcome.is_ok() && !a.call_id.is_empty())
            .map(|a| a.call_id)
            .collect();
        let mut keys_used: Vec<String> = Vec::new();
        let mut caller_arns: Vec<String> = Vec::new();
        for (_, key, call_id, arn) in &accepted {
            let of_ok_attempt = call_id
                .as_deref()
                .is_some_and(|id| ok_call_ids.contains(&id));
            if let (true, Some(key)) = (of_ok_attempt, key) {
                if !keys_used.contains(key) {
                    keys_used.push(key.clone());
                }
            }
            if of_ok_attempt && !caller_arns.iter().any(|a| a == arn) {
                caller_arns.push(arn.to_string());
            }
        }
        let longest_client_creation = timeline
            .entries()
            .iter()
            .filter_map(|e| match e {
                crate::timeline::Entry::Driver {
                    event: crate::timeline::DriverEvent::ClientCreated { duration, .. },
                    ..
                } => Some(*duration),
                _ => None,
            })
            .max();
        let mut v = Verdict::default();
        let mut window: Option<(Duration, Duration)> = None;
        for a in timeline.attempts() {
            v.attempts += 1;
            window = Some((window.map_or(a.start, |w| w.0), a.end()));
            match a.outcome {
                CallOutcome::Err { kind, message } => {
                    *v.error_kinds.entry(kind.clone()).or_default() += 1;
                    if !v.error_messages.contains(message) {
                        v.error_messages.push(message.clone());
                    }
                }
                CallOutcome::Hung => v.hung_calls += 1,
                CallOutcome::Ok { access_key_id, .. } => {
                    let seen = accepted.iter().find(|(_, key, call_id, _)| {
                        !a.call_id.is_empty()
                            && call_id.as_deref() == Some(a.call_id)
                            && (access_key_id.is_none() || key.as_ref() == access_key_id.as_ref())
                    });
                    match seen {
                        Some((at, key, _, _)) if !v.recovered => {
                            v.recovered = true;
                            v.first_success_attempt = Some(a.attempt);
                            v.access_key_id = key.clone();
                            let since = recoveries
                                .iter()
                                .rev()
                                .find(|r| **r <= *at)
                                .copied()
                                .unwrap_or_default();
                            v.recovery_time = Some(at.saturating_sub(since));
                            let after = timeline
                                .attempts()
                                .filter(|b| b.start >= since && b.attempt <= a.attempt)
                                .count();
                            v.attempts_to_recover = Some(after as u32);
                        }
                        Some(_) => {}
                        None => v.unverified_successes += 1,
                    }
                }
            }
        }
        if let Some((first, last)) = window {
            let imds_from = |from: Duration, v1_only: bool| {
                timeline
                    .mock_events()
                    .filter(|e| {
                        matches!(&e.kind, EventKind::ImdsRequest { token_present, method, .. }
                            if !(v1_only && (*token_present || method == "PUT")))
                            && e.at >= from
                            && e.at <= last
                    })
                    .count()
            };
            let imds_at = |from: Duration| imds_from(from, false);
            v.imds_requests_during_attempts = imds_at(first);
            let down_at_end = timeline
                .mock_events()
                .filter(|e| e.at <= last)
                .filter_map(|e| match &e.kind {
                    EventKind::Transition { state, .. } => Some(!state.is_up()),
                    _ => None,
                })
                .last()
                .unwrap_or(false);
            let from = recoveries
                .iter()
                .rev()
                .find(|r| **r <= last)
                .copied()
                .unwrap_or(first);
            (
                v.imds_requests_after_recovery,
                v.imds_v1_requests_after_recovery,
            ) = if down_at_end {
                (None, None)
            } else {
                (Some(imds_at(from)), Some(imds_from(from, true)))
            };
        }
        v.keys_used = keys_used;
        v.caller_arns = caller_arns;
        v.sts_rejections = sts_rejections;
        v.longest_client_creation = longest_client_creation;
        v.outages = outages(timeline);
        v.outcome = worst(&v.outages);
        v.accepted_calls = outages::accepted_calls(timeline);
        v.imds_requests = timeline
            .mock_events()
            .filter_map(|e| match &e.kind {
                EventKind::ImdsRequest {
                    method,
                    path,
                    status,
                    token_present,
                    token_ttl_seconds,
                    user_agent,
                    ..
                } => Some(crate::scenario::imds_requests::SeenRequest {
                    method: method.clone(),
                    path: path.clone(),
                    status: *status,
                    token: *token_present,
                    token_ttl_seconds: token_ttl_seconds.clone(),
                    user_agent: user_agent.clone(),
                }),
                _ => None,
            })
            .collect();
        v.held_credentials = timeline
            .attempts()
            .filter_map(|a| match a.outcome {
                CallOutcome::Ok { credentials, .. } => Some(AttemptCredentials {
                    attempt: a.attempt,
                    credentials: credentials.clone(),
                }),
                CallOutcome::Err { .. } | CallOutcome::Hung => None,
            })
            .collect();
        v.sdk_warnings = timeline.sdk_warnings().map(|w| w.message.clone()).collect();
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{attempt, imds, ms, sts, transition};

    #[test]
    fn trap_never_recovers_and_sees_no_imds_request_after_recovery() {
        let t = Timeline::merge(
            vec![transition(0, "refuse"), transition(2000, "up")],
            (0..6)
                .map(|i| attempt(i * 500, &format!("n.{}", i + 1), 10, false))
                .collect(),
        );
        let v = Verdict::from_timeline(&t);
        assert!(!v.recovered);
        assert_eq!(v.attempts, 6);
        assert_eq!(v.error_kinds["NoCredentialsError"], 6);
        assert_eq!(v.imds_requests_after_recovery, Some(0));
    }

    #[test]
    fn a_hung_call_is_a_failure_without_a_kind_and_messages_are_kept_once() {
        use crate::timeline::DriverEvent;
        let failed = |at: u64, n: u32, message: &str| {
            (
                ms(at),
                DriverEvent::Attempt {
                    attempt: n,
                    call_id: format!("n.{n}"),
                    duration: ms(10),
                    outcome: CallOutcome::Err {
                        kind: "ProviderError".into(),
                        message: message.into(),
                    },
                },
            )
        };
        let hung = (
            ms(1000),
            DriverEvent::Attempt {
                attempt: 3,
                call_id: "n.3".into(),
                duration: ms(5000),
                outcome: CallOutcome::Hung,
            },
        );
        let t = Timeline::merge(
            vec![transition(0, "truncate")],
            vec![
                failed(0, 1, "invalid token"),
                failed(500, 2, "invalid token"),
                hung,
            ],
        );
        let v = Verdict::from_timeline(&t);
        assert_eq!(v.attempts, 3);
        assert_eq!(v.hung_calls, 1);
        assert_eq!(v.error_kinds["ProviderError"], 2);
        assert_eq!(v.error_messages, vec!["invalid token".to_string()]);
        assert_eq!(v.outages[0].failed_calls, 3);
        assert_eq!(v.outages[0].error_kinds["ProviderError"], 2);
        assert!(!v.recovered);
    }

    #[test]
    fn recovery_is_timed_from_the_last_recovery_to_the_accepted_call() {
        let t = Timeline::merge(
            vec![
                transition(0, "refuse"),
                transition(2000, "up"),
                imds(2501, "/", Some(200)),
                imds(2502, "/", Some(200)),
                sts(2505, Some("n.2"), true),
            ],
            vec![attempt(0, "n.1", 10, false), attempt(2500, "n.2", 10, true)],
        );
        let v = Verdict::from_timeline(&t);
        assert!(v.recovered);
        assert_eq!(v.first_success_attempt, Some(2));
        assert_eq!(v.recovery_time, Some(ms(505)));
        // Attempt 2 was the first to start after the recovery at 2 s.
        assert_eq!(v.attempts_to_recover, Some(1));
        assert_eq!(v.imds_requests_after_recovery, Some(2));
        assert_eq!(v.access_key_id.as_deref(), Some("ASIAMOCKAAAAAAAAAAAA"));
    }

    #[test]
    fn imdsv1_requests_after_recovery_count_only_tokenless_ones() {
        let with_token = |at: u64| {
            let mut e = imds(at, "/latest/meta-data/iam/security-credentials/", Some(200));
            if let EventKind::ImdsRequest { token_present, .. } = &mut e.kind {
                *token_present = true;
            }
            e
        };
        let t = Timeline::merge(
            vec![
                transition(0, "refuse"),
                imds(10, "/", None),
                transition(2000, "up"),
                {
                    let mut put = imds(2500, "/latest/api/token", Some(200));
                    if let EventKind::ImdsRequest { method, .. } = &mut put.kind {
                        *method = "PUT".into();
                    }
                    put
                },
                with_token(2501),
                imds(2502, "/", Some(200)),
                with_token(2503),
                sts(2505, Some("n.2"), true),
            ],
            vec![attempt(0, "n.1", 10, false), attempt(2500, "n.2", 10, true)],
        );
        let v = Verdict::from_timeline(&t);
        assert_eq!(v.imds_requests_after_recovery, Some(4));
        assert_eq!(v.imds_v1_requests_after_recovery, Some(1));
        // Still down at the end: no count, as for every request.
        let down = Timeline::merge(
            vec![transition(0, "refuse"), imds(10, "/", None)],
            vec![attempt(0, "n.1", 10, false)],
        );
        assert_eq!(
            Verdict::from_timeline(&down).imds_v1_requests_after_recovery,
            None
        );
    }

    #[test]
    fn sdk_success_without_sts_acceptance_is_not_recovery() {
        let t = Timeline::merge(
            vec![sts(5, Some("n.1"), false)],
            vec![attempt(0, "n.1", 10, true)],
        );
        let v = Verdict::from_timeline(&t);
        assert!(!v.recovered);
        assert_eq!(v.unverified_successes, 1);
    }

    #[test]
    fn outage_still_on_at_the_end_has_no_after_recovery_count() {
        let t = Timeline::merge(
            vec![transition(0, "blackhole")],
            vec![attempt(0, "n.1", 10, false)],
        );
        let v = Verdict::from_timeline(&t);
        assert_eq!(v.imds_requests_after_recovery, None);
    }

    /// On a loaded machine STS may stamp a call after the driver's clock says the attempt
    /// ended (trap-status-500: 65 ms after). The call id still ties it to its attempt.
    #[test]
    fn an_accepted_call_stamped_after_its_attempt_still_counts() {
        let t = Timeline::merge(
            vec![
                transition(0, "refuse"),
                transition(100, "up"),
                sts(4810, Some("n.1"), true),
            ],
            vec![attempt(4700, "n.1", 10, true)],
        );
        let v = Verdict::from_timeline(&t);
        assert!(v.recovered, "{v:?}");
        assert_eq!(v.unverified_successes, 0);
        assert_eq!(v.keys_used, vec!["ASIAMOCKAAAAAAAAAAAA".to_string()]);
    }

    /// An accepted call during attempt 2's time window but carrying attempt 1's id (a
    /// late retry of a failed call) does not make attempt 2 verified, and one from another
    /// cell counts for nothing.
    #[test]
    fn accepted_calls_count_only_for_the_attempt_they_name() {
        let t = Timeline::merge(
            vec![sts(1005, Some("n.1"), true)],
            vec![attempt(0, "n.1", 10, false), attempt(1000, "n.2", 10, true)],
        );
        let v = Verdict::from_timeline(&t);
        assert!(!v.recovered);
        assert_eq!(v.unverified_successes, 1);
        assert!(v.keys_used.is_empty());
    }

    /// A credential provider's `AssumeRole` carrying the attempt's call id (botocore puts
    /// the AWS CLI's call id in every client's User-Agent) is not the attempt's call: it
    /// neither verifies the attempt nor names its key or caller; the chained call does.
    #[test]
    fn an_assume_role_is_not_the_attempts_call_and_the_chained_caller_is_reported() {
        let assume = |at: u64| mock_imds::Event {
            at: ms(at),
            kind: EventKind::StsRequest {
                action: "AssumeRole".into(),
                access_key_id: Some("ASIAMOCKINSTANCE0000".into()),
                call_id: Some("n.1".into()),
                user_agent: None,
                outcome: StsOutcome::Accepted {
                    arn: "arn:aws:sts::123456789012:assumed-role/chained/s".into(),
                    issued_access_key_id: Some("ASIAMOCKAAAAAAAAAAAA".into()),
                },
            },
        };
        let only_assume = Timeline::merge(vec![assume(5)], vec![attempt(0, "n.1", 10, true)]);
        let v = Verdict::from_timeline(&only_assume);
        assert!(!v.recovered, "{v:?}");
        assert_eq!(v.unverified_successes, 1);
        assert!(v.keys_used.is_empty() && v.caller_arns.is_empty(), "{v:?}");

        let mut chained = sts(8, Some("n.1"), true);
        if let EventKind::StsRequest {
            outcome: StsOutcome::Accepted { arn, .. },
            ..
        } = &mut chained.kind
        {
            *arn = "arn:aws:sts::123456789012:assumed-role/chained/s".into();
        }
        let t = Timeline::merge(vec![assume(5), chained], vec![attempt(0, "n.1", 10, true)]);
        let v = Verdict::from_timeline(&t);
        assert!(v.recovered, "{v:?}");
        assert_eq!(v.keys_used, vec!["ASIAMOCKAAAAAAAAAAAA".to_string()]);
        assert_eq!(
            v.caller_arns,
            vec!["arn:aws:sts::123456789012:assumed-role/chained/s".to_string()]
        );
        assert_eq!(v.accepted_calls, 1);
    }

    /// "IMDS requests after recovery" counts from the last recovery to the end of the
    /// last attempt: not the requests before the recovery, not those after the attempts.
    #[test]
    fn imds_requests_after_recovery_counts_only_the_window_after_the_last_recovery() {
        let t = Timeline::merge(
            vec![
                transition(0, "refuse"),
                imds(100, "/", Some(200)), // during the outage (a hung connection answered, say)
                transition(1000, "up"),
                transition(1500, "status(500)"),
                imds(1600, "/", Some(200)), // between the two outages
                transition(2000, "up"),
                imds(2100, "/", Some(200)),
                imds(2990, "/", Some(200)),
                imds(3500, "/", Some(200)), // after the last attempt ended (2990 + 10)
            ],
            vec![
                attempt(0, "n.1", 10, false),
                attempt(1000, "n.2", 10, false),
                attempt(2000, "n.3", 10, false),
                attempt(2980, "n.4", 10, false), // ends at 2990
            ],
        );
        let v = Verdict::from_timeline(&t);
        // From the first attempt's start to the last one's end: 100, 1600, 2100, 2990.
        assert_eq!(v.imds_requests_during_attempts, 4);
        assert_eq!(v.imds_requests_after_recovery, Some(2), "{v:?}");
    }
}
