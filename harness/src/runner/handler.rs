//! A `[handler]` scenario's cell ([`crate::scenario::handler`]): run the user's program
//! against fresh mocks, start the scenario clock at its first IMDS request,
//! stop it at the deadline (notice step + `notice_within` + 1 s), and judge from the event
//! log whether it noticed the notice in time ([`crate::handler`]).

use std::process::Stdio;
use std::time::Duration;

use tokio::time::Instant;

use super::gate::{StartGate, Starting};
use crate::handler::{first_notice_seen, NoticeSeen};
use crate::report::model::{CellOutcome, CellRun, CheckResult};
use crate::scenario::handler::HandlerSpec;
use crate::scenario::Scenario;
use crate::timeline::Timeline;
use crate::verdict::Verdict;

/// How long the program may take to make its first IMDS request (an interpreter start
/// on a loaded machine takes seconds, not this).
pub const FIRST_POLL_LIMIT: Duration = Duration::from_secs(30);

/// How often the runner looks for the first poll in the event log.
const FIRST_POLL_CHECK: Duration = Duration::from_millis(10);

/// Keep at most this much of the program's stderr in a failure (bytes, the end).
const STDERR_KEEP: usize = 4 * 1024;

/// Runs the handler cell of `scenario` on `mock` (its schedule deferred); the outcome.
pub(super) async fn run(
    scenario: &Scenario,
    spec: &HandlerSpec,
    mock: &mock_imds::MockImds,
    starting: Starting<'_>,
    gate: &StartGate,
) -> CellOutcome {
    let home = match tempfile::Builder::new()
        .prefix("imds-harness-handler-")
        .tempdir()
    {
        Ok(home) => home,
        Err(e) => return CellOutcome::SetupError(format!("temporary HOME: {e}")),
    };
    let (program, args) = spec.command.split_first().expect("checked non-empty");
    let path = if program.contains('/') {
        Some(std::path::PathBuf::from(program))
    } else {
        crate::driver::envs::which(program)
    };
    let Some(path) = path.filter(|p| p.is_file()) else {
        return CellOutcome::SetupError(format!(
            "`{program}` (the [handler] command) does not exist or is not on PATH"
        ));
    };
    let mut cmd = match crate::driver::child::sanitized_command(&path, home.path()) {
        Ok(cmd) => cmd,
        Err(e) => return CellOutcome::SetupError(format!("temporary HOME: {e}")),
    };
    cmd.args(args)
        .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", mock.endpoint())
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    let mut child = match cmd.spawn() {
        Ok(child) => child,
        Err(e) => return CellOutcome::SetupError(format!("cannot start `{program}`: {e}")),
    };
    let stderr = child.stderr.take().map(|mut pipe| {
        tokio::spawn(async move {
            let mut text = Vec::new();
            let _ = tokio::io::AsyncReadExt::read_to_end(&mut pipe, &mut text).await;
            text
        })
    });
    let group = child.id();
    // Start-up (interpreter, imports) is not the program's time to notice: the scenario
    // clock starts at its first IMDS request (any path: a token, its first poll).
    let first_poll = Instant::now() + FIRST_POLL_LIMIT;
    let polled = loop {
        if mock
            .events()
            .iter()
            .any(|e| matches!(&e.kind, mock_imds::EventKind::ImdsRequest { .. }))
        {
            break true;
        }
        if Instant::now() >= first_poll || child.try_wait().ok().flatten().is_some() {
            break false;
        }
        tokio::time::sleep(FIRST_POLL_CHECK).await;
    };
    starting.ready();
    let mut exited = None;
    if polled {
        gate.wait_quiet(FIRST_POLL_LIMIT).await;
        mock.start_schedule_clock();
        let deadline = Instant::now() + spec.deadline();
        tokio::select! {
            status = child.wait() => exited = status.ok(),
            () = tokio::time::sleep_until(deadline) => {}
        }
    }
    if exited.is_none() {
        // Still running (or never polled): stop it and anything it started. Once it has
        // exited and been waited for, its pid may be reused: no group kill then.
        kill_group(group);
        let _ = child.start_kill();
    }
    let status = child.wait().await.ok();
    let stderr = match stderr {
        Some(task) => task.await.unwrap_or_default(),
        None => Vec::new(),
    };
    let stderr = tail(&stderr);
    if !polled {
        return CellOutcome::DriverError(format!(
            "the [handler] command made no IMDS request at {} ({}); stderr: {stderr}",
            mock.endpoint(),
            match status {
                Some(s) if exited.is_none() && s.code().is_some() => format!("exited: {s}"),
                _ => format!(
                    "not within {}",
                    humantime::format_duration(FIRST_POLL_LIMIT)
                ),
            }
        ));
    }
    // A step at the deadline may still be taking effect: give it its bound.
    tokio::time::sleep(crate::integrity::TRANSITION_BOUND).await;
    let timeline = Timeline::merge(mock.events(), Vec::new());
    let mut verdict = Verdict::from_timeline(&timeline);
    let seen = first_notice_seen(&mock.events());
    verdict.notice.clone_from(&seen);
    let inconclusive =
        crate::integrity::check_steps(&scenario.schedule, spec.deadline(), &timeline);
    let failures = judge(spec, seen.as_ref(), exited, &stderr);
    CellOutcome::Ran(Box::new(CellRun {
        inconclusive,
        verdict,
        checks: vec![CheckResult {
            expectation: format!(
                "noticed {} on {} within {}",
                seen.as_ref()
                    .map_or_else(|| "the notice".to_string(), |s| s.notice.to_string()),
                spec.path,
                humantime::format_duration(spec.notice_within)
            ),
            failures,
        }],
        timeline,
    }))
}

/// Why the program did not notice in time; empty when it did.
fn judge(
    spec: &HandlerSpec,
    seen: Option<&NoticeSeen>,
    exited: Option<std::process::ExitStatus>,
    stderr: &str,
) -> Vec<String> {
    let within = humantime::format_duration(spec.notice_within);
    let Some(seen) = seen else {
        return vec![format!(
            "no notice was put in force before the program ended ({}); stderr: {stderr}",
            exited.map_or_else(|| "stopped at the deadline".to_string(), |s| s.to_string())
        )];
    };
    match seen.time_to_notice() {
        Some(t) if t <= spec.notice_within => Vec::new(),
        Some(t) => vec![format!(
            "noticed after {}, later than {within}",
            crate::ms::fmt_ms(t)
        )],
        None => vec![format!(
            "not noticed: {} poll(s) of {} after the notice, none answered 200 ({}); stderr: {stderr}",
            seen.polls_after_notice,
            spec.path,
            exited.map_or_else(
                || "stopped at the deadline".to_string(),
                |s| format!("the program {s}")
            )
        )],
    }
}

/// The end of `bytes` as text, at most [`STDERR_KEEP`] bytes.
fn tail(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim();
    let cut = text.len().saturating_sub(STDERR_KEEP);
    let start = (cut..=text.len())
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(text.len());
    if text.is_empty() {
        "(empty)".to_string()
    } else {
        text[start..].to_string()
    }
}

/// SIGKILL to the program's process group (it and anything it started).
fn kill_group(group: Option<u32>) {
    #[cfg(unix)]
    if let Some(group) = group.and_then(|g| libc::pid_t::try_from(g).ok()) {
        // SAFETY: killpg has no memory-safety preconditions; the group is the one
        // `sanitized_command` created for this program, not yet waited for (so its pid
        // cannot have been reused).
        unsafe {
            libc::killpg(group, libc::SIGKILL);
        }
    }
    #[cfg(not(unix))]
    let _ = group;
}
