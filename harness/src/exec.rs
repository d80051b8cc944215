//! `imds-harness exec`: put any program through an IMDS outage.
//!
//! Starts mock IMDS + STS, runs the command with a sanitised environment pointing at them
//! (`AWS_EC2_METADATA_SERVICE_ENDPOINT`, `AWS_ENDPOINT_URL_STS`, a region, empty AWS config
//! files, a temporary `HOME`; no inherited `AWS_*`), applies the schedule on a clock that
//! starts with the command, and afterwards summarises what IMDS and STS saw.

use std::fmt::Write as _;
use std::path::PathBuf;

use mock_imds::{Change, EventKind, ImdsConfig, MockImds, Schedule, Step, StsOutcome};

use crate::driver::child::sanitized_command;
use crate::ms::fmt_ms;

/// Parses `FAULT START..END` (e.g. `refuse 0s..5s`, `status(500) on token 2s..4s`): the
/// fault is on from START until END. `FAULT START..` leaves it on.
///
/// # Errors
/// What is wrong with the text and what is accepted.
pub fn parse_window(text: &str) -> Result<Vec<Step>, String> {
    let hint = "write `FAULT START..END`, e.g. `refuse 0s..5s` or `status(403) on token 1s..3s`";
    let (fault, window) = text
        .trim()
        .rsplit_once(' ')
        .ok_or_else(|| format!("`{text}`: no time window; {hint}"))?;
    let (start, end) = window
        .split_once("..")
        .ok_or_else(|| format!("`{text}`: `{window}` is not START..END; {hint}"))?;
    let parse = |t: &str| {
        humantime::parse_duration(t)
            .map_err(|e| format!("`{text}`: `{t}` is not a duration ({e}); {hint}"))
    };
    let change: Change = fault.parse().map_err(|e| format!("`{text}`: {e}"))?;
    let Change::Set(spec) = change else {
        return Err(format!("`{text}`: name a fault, not `up`; {hint}"));
    };
    let start = parse(start)?;
    let mut steps = vec![Step::new(start, Change::Set(spec.clone()))];
    if !end.is_empty() {
        let end = parse(end)?;
        if end <= start {
            return Err(format!(
                "`{text}`: the window ends before it starts; {hint}"
            ));
        }
        steps.push(Step::new(end, Change::Clear(spec.target)));
    }
    Ok(steps)
}

/// What the mocks saw while the command ran.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Requests IMDS answered, by path (method included), in first-seen order.
    pub imds_requests: Vec<(String, usize)>,
    /// Role credentials documents served (status 200).
    pub credential_fetches: usize,
    /// STS calls accepted.
    pub sts_accepted: usize,
    /// STS calls rejected, by error code.
    pub sts_rejected: Vec<(String, usize)>,
    /// Access keys that signed accepted calls, in first-use order.
    pub keys_used: Vec<String>,
}

impl Summary {
    /// Counts the events of a run.
    pub fn of(events: &[mock_imds::Event]) -> Self {
        let mut s = Summary::default();
        let bump = |list: &mut Vec<(String, usize)>, key: String| match list
            .iter_mut()
            .find(|(k, _)| *k == key)
        {
            Some((_, n)) => *n += 1,
            None => list.push((key, 1)),
        };
        for e in events {
            match &e.kind {
                EventKind::ImdsRequest { method, path, .. } => {
                    bump(&mut s.imds_requests, format!("{method} {path}"));
                    if e.is_credential_fetch() {
                        s.credential_fetches += 1;
                    }
                }
                EventKind::StsRequest {
                    access_key_id,
                    outcome,
                    ..
                } => match outcome {
                    StsOutcome::Accepted { .. } => {
                        s.sts_accepted += 1;
                        if let Some(key) = access_key_id {
                            if !s.keys_used.contains(key) {
                                s.keys_used.push(key.clone());
                            }
                        }
                    }
                    StsOutcome::Rejected { code } => bump(&mut s.sts_rejected, code.clone()),
                },
                EventKind::Transition { .. } | EventKind::TransitionFailed { .. } => {}
            }
        }
        s
    }
}

/// Runs `command` against fresh mocks following `schedule`; returns its exit code (or
/// `None` when killed by a signal), the events and a printable summary.
///
/// # Errors
/// The mocks or the command could not be started.
pub async fn run(
    command: &[String],
    schedule: Schedule,
    config: ImdsConfig,
) -> Result<(Option<i32>, String), String> {
    let (program, args) = command
        .split_first()
        .ok_or("no command given: write it after `--`")?;
    let home = tempfile::Builder::new()
        .prefix("imds-harness-exec-")
        .tempdir()
        .map_err(|e| format!("temporary HOME: {e}"))?;
    // The child's environment is cleared, so a bare name is resolved here.
    let program_path = if program.contains('/') {
        PathBuf::from(program)
    } else {
        crate::driver::envs::which(program).unwrap_or_else(|| PathBuf::from(program))
    };
    let mut cmd = sanitized_command(&program_path, home.path()).map_err(|e| e.to_string())?;
    cmd.args(args)
        .current_dir(std::env::current_dir().map_err(|e| e.to_string())?)
        .stdin(std::process::Stdio::inherit())
        .stdout(std::process::Stdio::inherit())
        .stderr(std::process::Stdio::inherit());
    let mock = MockImds::builder()
        .config(config)
        .epoch(tokio::time::Instant::now())
        .schedule(schedule.clone())
        .start()
        .await
        .map_err(|e| format!("could not start mock-imds: {e}"))?;
    cmd.env(
        "AWS_EC2_METADATA_SERVICE_ENDPOINT",
        format!("{}/", mock.endpoint()),
    )
    .env("AWS_ENDPOINT_URL_STS", mock.sts_endpoint())
    .env("AWS_DEFAULT_REGION", "us-east-1")
    .env("AWS_REGION", "us-east-1");
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot run `{program}`: {e}"))?;
    let started = tokio::time::Instant::now();
    let status = child
        .wait()
        .await
        .map_err(|e| format!("waiting for `{program}`: {e}"))?;
    let ran_for = started.elapsed();
    let events = mock.events();
    let summary = Summary::of(&events);

    let mut out = String::new();
    let steps: Vec<String> = schedule
        .steps()
        .iter()
        .map(|s| format!("{} at {}", s.change, humantime::format_duration(s.at)))
        .collect();
    let _ = writeln!(
        out,
        "── what IMDS and STS saw ─────────────────────────────"
    );
    let _ = writeln!(
        out,
        "schedule: {}",
        if steps.is_empty() {
            "IMDS up throughout".into()
        } else {
            steps.join(", ")
        }
    );
    let _ = writeln!(
        out,
        "IMDS requests: {}",
        summary.imds_requests.iter().map(|(_, n)| n).sum::<usize>()
    );
    for (what, n) in &summary.imds_requests {
        let _ = writeln!(out, "  {n:>4} × {what}");
    }
    let _ = writeln!(out, "credential fetches: {}", summary.credential_fetches);
    let _ = writeln!(out, "STS calls accepted: {}", summary.sts_accepted);
    for (code, n) in &summary.sts_rejected {
        let _ = writeln!(out, "STS calls rejected: {n} × {code}");
    }
    let _ = writeln!(
        out,
        "keys used: {}",
        if summary.keys_used.is_empty() {
            "none".to_string()
        } else {
            summary.keys_used.join(", ")
        }
    );
    if let Some(recovery) = schedule.recoveries().last() {
        let after = events
            .iter()
            .filter(|e| e.at >= *recovery && matches!(e.kind, EventKind::ImdsRequest { .. }))
            .count();
        let _ = writeln!(
            out,
            "IMDS requests after it came back at {}: {after}{}",
            humantime::format_duration(*recovery),
            if after == 0 && ran_for > *recovery {
                " — the program never asked again: a client created during the outage keeps no credentials (recreate it)"
            } else {
                ""
            }
        );
    }
    let code = status.code();
    let _ = writeln!(
        out,
        "command {} after {}",
        code.map_or("was killed by a signal".to_string(), |c| format!(
            "exited with status {c}"
        )),
        fmt_ms(ran_for)
    );
    Ok((code, out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn windows_parse_into_set_and_clear() {
        let steps = parse_window("refuse 0s..5s").unwrap();
        assert_eq!(steps.len(), 2);
        assert_eq!(steps[0].change.to_string(), "refuse");
        assert_eq!(steps[1].at, Duration::from_secs(5));
        assert_eq!(steps[1].change.to_string(), "up on listener");
        let open = parse_window("status(403) on token 1s..").unwrap();
        assert_eq!(open.len(), 1);
        for (bad, why) in [
            ("refuse", "no time window"),
            ("refuse 0s-5s", "is not START..END"),
            ("refuse 5s..1s", "ends before it starts"),
            ("refuse 0s..soon", "is not a duration"),
            ("up 0s..1s", "name a fault"),
            ("refused 0s..1s", "invalid fault"),
        ] {
            let e = parse_window(bad).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }
}
