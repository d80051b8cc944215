//! What `imds-harness exec` prints after the command: what IMDS and STS saw during its run
//! (an [`ExecReport`]), with the trap's tell-tale called out — no IMDS request after the
//! outage ended.

use std::fmt::Write as _;

use mock_imds::EventKind;

use crate::exec::ExecReport;
use crate::ms::fmt_ms;

/// The summary, one fact per line, ending with the command's exit.
pub fn render(report: &ExecReport) -> String {
    let ExecReport {
        schedule,
        events,
        summary,
        ran_for,
        code,
        signal,
        notice,
        stopped_at_deadline,
    } = report;
    let ran_for = *ran_for;
    let mut out = String::new();
    let steps: Vec<String> = schedule
        .steps()
        .iter()
        .map(|s| {
            format!(
                "{} at {}",
                super::change_text(&s.change),
                humantime::format_duration(s.at)
            )
        })
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
    if summary.sts_sessions_issued > 0 {
        let _ = writeln!(
            out,
            "STS sessions issued (AssumeRole): {}",
            summary.sts_sessions_issued
        );
    }
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
        if ran_for < *recovery {
            // Nothing after the recovery was measured: say so, not "0 requests".
            let _ = writeln!(
                out,
                "IMDS came back at {}, after the command ended: nothing after the recovery was seen",
                humantime::format_duration(*recovery)
            );
        } else {
            let after = events
                .iter()
                .filter(|e| e.at >= *recovery && matches!(e.kind, EventKind::ImdsRequest { .. }))
                .count();
            let _ = writeln!(
                out,
                "IMDS requests after it came back at {}: {after}{}",
                humantime::format_duration(*recovery),
                if after == 0 {
                    " — the program never asked again: a client created during the outage keeps no credentials (recreate it)"
                } else {
                    ""
                }
            );
        }
    }
    if let Some(verdict) = notice {
        let _ = writeln!(out, "{}", verdict.line());
    }
    let _ = writeln!(
        out,
        "command {}{} after {}",
        match (code, signal) {
            (Some(c), _) => format!("exited with status {c}"),
            (None, Some(n)) => format!(
                "was killed by {}, exit status {}",
                crate::exec::signal_name(*n)
                    .map_or(format!("signal {n}"), |name| format!("{name} (signal {n})")),
                128 + n
            ),
            (None, None) => "was killed by a signal".to_string(),
        },
        if *stopped_at_deadline {
            " (stopped by the harness at the notice deadline)"
        } else {
            ""
        },
        fmt_ms(ran_for)
    );
    out
}
