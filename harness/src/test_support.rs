//! Builders for the unit tests of the timeline's readers ([`crate::verdict`],
//! [`crate::integrity`]): events and driver operations in milliseconds on the scenario
//! clock, so a test reads as the timeline it describes.

use std::time::Duration;

use mock_imds::{Event, EventKind, ImdsState, Schedule, Step, StsOutcome};

use crate::driver::CallOutcome;
use crate::timeline::DriverEvent;

/// `n` milliseconds.
pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A schedule of `(at ms, change)` steps, changes as the scenario language writes them.
pub fn schedule(steps: &[(u64, &str)]) -> Schedule {
    Schedule::new(
        steps
            .iter()
            .map(|(at, c)| Step::new(ms(*at), c.parse().unwrap()))
            .collect(),
    )
    .unwrap()
}

/// A scheduled transition to `state`, in force at `at` and asked for at `asked`.
pub fn transition_asked(at: u64, asked: u64, state: &str) -> Event {
    Event {
        at: ms(at),
        kind: EventKind::Transition {
            state: state.parse::<ImdsState>().unwrap(),
            asked_at: ms(asked),
            scheduled: true,
        },
    }
}

/// A scheduled transition to `state` that took effect when asked for, at `at`.
pub fn transition(at: u64, state: &str) -> Event {
    transition_asked(at, at, state)
}

/// An IMDS `GET path` arriving at `at`, answered `status` (`None`: not answered).
pub fn imds(at: u64, path: &str, status: Option<u16>) -> Event {
    Event {
        at: ms(at),
        kind: EventKind::ImdsRequest {
            method: "GET".into(),
            path: path.into(),
            status,
            token_present: false,
            user_agent: None,
            token_ttl_seconds: None,
            latency: ms(1),
        },
    }
}

/// A `GetCallerIdentity` arriving at STS at `at`, signed by `ASIAMOCKAAAAAAAAAAAA`,
/// accepted or rejected (`InvalidClientTokenId`).
pub fn sts(at: u64, call_id: Option<&str>, accepted: bool) -> Event {
    Event {
        at: ms(at),
        kind: EventKind::StsRequest {
            action: "GetCallerIdentity".into(),
            access_key_id: Some("ASIAMOCKAAAAAAAAAAAA".into()),
            call_id: call_id.map(str::to_string),
            user_agent: None,
            outcome: if accepted {
                StsOutcome::Accepted {
                    arn: "arn".into(),
                    issued_access_key_id: None,
                }
            } else {
                StsOutcome::Rejected {
                    code: "InvalidClientTokenId".into(),
                }
            },
        },
    }
}

/// The attempt named by `call_id` (`<nonce>.<attempt>`), started at `at` and taking
/// `duration` ms: the SDK returned a response (`ok`), else `NoCredentialsError`.
pub fn attempt(at: u64, call_id: &str, duration: u64, ok: bool) -> (Duration, DriverEvent) {
    let n = call_id
        .rsplit_once('.')
        .and_then(|(_, n)| n.parse().ok())
        .unwrap();
    (
        ms(at),
        DriverEvent::Attempt {
            attempt: n,
            call_id: call_id.to_string(),
            duration: ms(duration),
            outcome: if ok {
                CallOutcome::Ok {
                    arn: "arn".into(),
                    access_key_id: None,
                    credentials: None,
                }
            } else {
                CallOutcome::Err {
                    kind: "NoCredentialsError".into(),
                    message: String::new(),
                }
            },
        },
    )
}
