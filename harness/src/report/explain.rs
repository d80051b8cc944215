//! Readable accounts of one cell: its timeline as text, and a diagnosis derived from the
//! events (what `imds-harness explain CELL` prints, and JUnit's `<system-out>`).

use std::fmt::Write as _;

use mock_imds::{EventKind, StsOutcome};

use super::model::{CellOutcome, CellResult};
use crate::driver::CallOutcome;
use crate::ms::fmt_ms;
use crate::timeline::{DriverEvent, Entry, Timeline};
use crate::verdict::{Outcome, Verdict};

/// One line per event: `   812.3ms  IMDS  GET /latest/meta-data/… → 200 (token)`.
pub fn timeline_text(timeline: &Timeline) -> String {
    let mut out = String::new();
    for entry in timeline.entries() {
        let at = entry.at().as_secs_f64() * 1000.0;
        let line = match entry {
            Entry::Mock(e) => match &e.kind {
                EventKind::Transition {
                    state, asked_at, ..
                } => {
                    let late = e.at.saturating_sub(*asked_at);
                    if late >= std::time::Duration::from_millis(1) {
                        format!(
                            "IMDS  is now {state} (asked for at {}, {} later)",
                            fmt_ms(*asked_at),
                            fmt_ms(late)
                        )
                    } else {
                        format!("IMDS  is now {state}")
                    }
                }
                EventKind::FaultLifted { fault, after } => {
                    format!("IMDS  `{fault}` lifted itself after {after} requests")
                }
                EventKind::TransitionFailed {
                    state,
                    asked_at,
                    error,
                    ..
                } => format!(
                    "IMDS  could NOT be put in {state} (asked for at {}): {error}",
                    fmt_ms(*asked_at)
                ),
                EventKind::ImdsRequest {
                    method,
                    path,
                    status,
                    token_present,
                    latency,
                    ..
                } => format!(
                    "{}  {method} {path} → {}{} ({})",
                    // The container endpoints' credentials requests (ECS, Pod Identity).
                    if mock_imds::container::is_credentials_path(path) {
                        "CONT"
                    } else {
                        "IMDS"
                    },
                    status.map_or("no answer".to_string(), |s| s.to_string()),
                    if *token_present { " (token)" } else { "" },
                    fmt_ms(*latency)
                ),
                EventKind::ClockJump { by, offset_ms, .. } => format!(
                    "CLOCK jumped {by} (now {} from real time)",
                    mock_imds::SignedDuration::from_millis(*offset_ms)
                ),
                EventKind::CredentialsRotated {
                    access_key_id,
                    expiration,
                    forced,
                    ..
                } => format!(
                    "IMDS  credentials rotated{}: {access_key_id}, expires {expiration}",
                    if *forced { " (asked for)" } else { "" }
                ),
                EventKind::Notice { notice, time, .. } => {
                    format!("IMDS  notice {notice} (time {time})")
                }
                EventKind::ConfigReload { path, error } => match error {
                    None => format!("IMDS  config {path} reloaded"),
                    Some(why) => format!("IMDS  config {path} NOT reloaded: {why}"),
                },
                EventKind::TokenFileRotated { expires_at, .. } => {
                    format!("POD   service-account token file rotated, expires {expires_at}")
                }
                EventKind::StsRequest {
                    action,
                    access_key_id,
                    call_id,
                    outcome,
                    ..
                } => format!(
                    "STS   {action}{} signed by {} → {}",
                    call_id
                        .as_deref()
                        .map_or(String::new(), |id| format!(" (call {id})")),
                    access_key_id.as_deref().unwrap_or("nobody"),
                    match outcome {
                        StsOutcome::Accepted { arn, .. } => format!("accepted ({arn})"),
                        StsOutcome::Rejected { code } => format!("rejected ({code})"),
                    }
                ),
            },
            Entry::Driver { event, .. } => match event {
                DriverEvent::ClientCreated {
                    attempt,
                    duration,
                    outcome,
                } => format!(
                    "SDK   client created for attempt {attempt} in {}{}{}",
                    fmt_ms(*duration),
                    match outcome.credentials_resolved {
                        Some(true) => ", holding credentials",
                        Some(false) => ", WITHOUT credentials",
                        None => "",
                    },
                    outcome
                        .error
                        .as_ref()
                        .map(|e| format!(", error: {e}"))
                        .unwrap_or_default()
                ),
                DriverEvent::Attempt {
                    attempt,
                    call_id,
                    duration,
                    outcome,
                } => format!(
                    "SDK   attempt {attempt}{} ({}): {}",
                    if call_id.is_empty() {
                        String::new()
                    } else {
                        format!(" (call {call_id})")
                    },
                    fmt_ms(*duration),
                    match outcome {
                        CallOutcome::Ok {
                            arn, credentials, ..
                        } => format!("ok, {arn}{}", held_text(credentials.as_ref())),
                        CallOutcome::Err { kind, message } => format!("{kind}: {message}"),
                        CallOutcome::Hung => format!(
                            "HUNG: no answer and no error within the strategy's call_timeout ({}); the cell ends here",
                            fmt_ms(*duration)
                        ),
                    }
                ),
                DriverEvent::SdkWarning { attempt, warning } => format!(
                    "SDK   logged during attempt {attempt}: {} {}{}",
                    warning.level,
                    warning
                        .logger
                        .as_ref()
                        .map(|l| format!("{l}: "))
                        .unwrap_or_default(),
                    warning.message
                ),
            },
        };
        let _ = writeln!(out, "{at:>10.1}ms  {line}");
    }
    out
}

/// The credentials a call reported, as `, holding credentials expiring …` (empty when
/// it reported none).
fn held_text(held: Option<&crate::driver::HeldCredentials>) -> String {
    let Some(h) = held else {
        return String::new();
    };
    let mut parts = Vec::new();
    if let Some(e) = &h.expiration {
        parts.push(match (&h.issued_expiration, h.extended()) {
            (Some(issued), Some(true)) => format!("expiring {e} (extended; IMDS issued {issued})"),
            (Some(issued), Some(false)) if issued != e => {
                format!("expiring {e} (IMDS issued {issued})")
            }
            _ => format!("expiring {e}"),
        });
    }
    if let Some(a) = &h.account_id {
        parts.push(format!("account {a}"));
    }
    format!(", holding credentials {}", parts.join(", "))
}

/// What the events say happened, in a sentence or two, with advice where it applies.
pub fn diagnose(cell: &CellResult) -> String {
    let run = match &cell.outcome {
        CellOutcome::Ran(run) => run,
        CellOutcome::SetupError(e) => return format!("the driver could not start: {e}"),
        CellOutcome::DriverError(e) => return format!("the driver broke during the run: {e}"),
        CellOutcome::Skipped(s) => {
            return format!(
                "skipped: the driver is not installed here ({}); install it with: {}",
                s.reason, s.install
            )
        }
    };
    if !run.inconclusive.is_empty() {
        return format!(
            "inconclusive: the run did not test what the scenario says, so this is a harness result, not an SDK verdict: {}",
            run.inconclusive.join("; ")
        );
    }
    let v = &run.verdict;
    let timeline = &run.timeline;
    let recoveries = timeline.recoveries();
    let last_recovery = recoveries.last().copied();
    let state_at_first_client = timeline
        .entries()
        .iter()
        .find(|e| {
            matches!(
                e,
                Entry::Driver {
                    event: DriverEvent::ClientCreated { .. },
                    ..
                }
            )
        })
        .map(|client| {
            let mut state = "up".to_string();
            for e in timeline.mock_events().filter(|e| e.at <= client.at()) {
                if let EventKind::Transition { state: s, .. } = &e.kind {
                    state = s.to_string();
                }
            }
            state
        })
        .unwrap_or_else(|| "up".into());
    let clients = timeline
        .entries()
        .iter()
        .filter(|e| {
            matches!(
                e,
                Entry::Driver {
                    event: DriverEvent::ClientCreated { .. },
                    ..
                }
            )
        })
        .count();
    let attempts_after_recovery =
        last_recovery.map_or(0, |r| timeline.attempts().filter(|a| a.start >= r).count());

    let per_outage = outages_text(v);
    if let Some(hung) = timeline
        .attempts()
        .find(|a| matches!(a.outcome, CallOutcome::Hung))
    {
        return format!(
            "attempt {} never returned: the SDK neither answered nor failed within the strategy's call_timeout ({}), so the harness abandoned the call and ended the cell; {} of {} calls accepted before it. {per_outage}",
            hung.attempt,
            fmt_ms(hung.duration),
            v.accepted_calls,
            v.attempts
        );
    }
    if v.recovered && v.outcome != Some(Outcome::NotRecovered) {
        let how = match (clients, v.first_success_attempt) {
            (1, Some(n)) if n > 1 => {
                "on the same client: this SDK re-resolves credentials on a later call"
            }
            (n, _) if n > 1 => "with new clients",
            _ => "on one client",
        };
        return match v.outcome {
            None => format!(
                "IMDS was up throughout; {} of {} calls accepted ({how}), the first {} into the run, signed by {}.",
                v.accepted_calls,
                v.attempts,
                v.recovery_time.map(fmt_ms).unwrap_or_else(|| "—".into()),
                v.access_key_id.as_deref().unwrap_or("an unreported key")
            ),
            Some(_) => format!(
                "{} of {} calls accepted ({how}). {per_outage}",
                v.accepted_calls, v.attempts
            ),
        };
    }
    if v.recovered {
        // Accepted calls, but some outage was not recovered from.
        return format!(
            "{} of {} calls accepted, but not after every outage. {per_outage}",
            v.accepted_calls, v.attempts
        );
    }
    let kinds: Vec<String> = v.error_kinds.keys().cloned().collect();
    let mut text = format!(
        "client created while IMDS was `{state_at_first_client}`; {} ({} failed with {}).",
        if v.outages.is_empty() {
            "no call was accepted"
        } else {
            "never recovered"
        },
        if v.attempts == 1 {
            "the one attempt".to_string()
        } else {
            format!("all {} attempts", v.attempts)
        },
        if kinds.is_empty() {
            "no error".to_string()
        } else {
            kinds.join(", ")
        }
    );
    match (last_recovery, v.imds_requests_after_recovery) {
        (Some(_), Some(0)) if clients == 1 && attempts_after_recovery > 0 => {
            let _ = write!(
                text,
                " No IMDS request during the {attempts_after_recovery} attempts after IMDS was back: this client never re-resolves credentials — recreate it (a new client from the same session works)."
            );
        }
        (Some(_), Some(n)) if n > 0 => {
            let _ = write!(
                text,
                " It asked IMDS {n} times after recovery without an accepted call: look at the IMDS answers above."
            );
        }
        (None, _) if v.outages.is_empty() => {
            let _ = write!(
                text,
                " IMDS was up throughout, so no outage caused this: look at the errors and the IMDS answers above."
            );
        }
        (None, _) | (_, None) => {
            let _ = write!(text, " IMDS was still down when the attempts ended: give the strategy more attempts or a longer interval.");
        }
        _ => {}
    }
    if !v.outages.is_empty() {
        let _ = write!(text, " {per_outage}");
    }
    text
}

/// Each outage in a sentence: when, which faults, what the calls did.
fn outages_text(v: &Verdict) -> String {
    v.outages
        .iter()
        .map(|o| {
            let when = match o.end {
                Some(end) => format!("{}–{}", fmt_ms(o.start), fmt_ms(end)),
                None => format!("from {}, still on at the end", fmt_ms(o.start)),
            };
            let failed = if o.failed_calls == 0 {
                "no call failed".to_string()
            } else {
                // A hung call failed without an error kind.
                let hung = o.failed_calls.saturating_sub(o.error_kinds.values().sum::<u32>());
                format!(
                    "{} call(s) failed ({})",
                    o.failed_calls,
                    o.error_kinds
                        .iter()
                        .map(|(k, n)| format!("{k} ×{n}"))
                        .chain((hung > 0).then(|| format!("hung ×{hung}")))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            let what = match o.outcome {
                Outcome::Recovered => format!(
                    "recovered: the first call accepted after it (attempt {}) reached STS {} after it ended",
                    o.recovered_by_attempt.unwrap_or_default(),
                    o.recovery.map(fmt_ms).unwrap_or_else(|| "—".into())
                ),
                Outcome::NotRecovered if o.end.is_none() => {
                    "not recovered: IMDS was still down when the run ended".to_string()
                }
                Outcome::NotRecovered => format!(
                    "not recovered: none of the {} call(s) after it was accepted",
                    o.calls_after
                ),
                Outcome::RodeThrough => match o.recovery {
                    Some(r) => format!(
                        "rode through: no call failed, but none was accepted during it; the first after it (attempt {}) reached STS {} after it ended",
                        o.recovered_by_attempt.unwrap_or_default(),
                        fmt_ms(r)
                    ),
                    None => "rode through".to_string(),
                },
                Outcome::Untested if o.failed_calls > 0 => {
                    "recovery untested: no call was made after it ended, before the next outage"
                        .to_string()
                }
                Outcome::Untested => "untested: no call met it".to_string(),
            };
            let relapse = if o.failures_after_recovery > 0 {
                format!(
                    "; {} call(s) failed after that while IMDS was up",
                    o.failures_after_recovery
                )
            } else {
                String::new()
            };
            format!(
                "Outage {} ({when}, {}): {failed}; {what}{relapse}.",
                o.index,
                o.states.join(" → ")
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}
