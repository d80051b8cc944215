//! The terminal verdict table: one row per cell.

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Cell as TableCell, Color, ContentArrangement, Table};

use super::model::CellOutcome;
use super::model::Report;
use super::words::plural;
use crate::ms::fmt_ms;

/// Renders the verdict table of a report, the failures under it, a legend of schedules
/// and SDKs, and the summary lines. `color` adds ANSI colours (only for a terminal, and
/// not when `NO_COLOR` is set).
pub fn render(report: &Report, color: bool) -> String {
    let (scenarios, results) = (&report.scenarios, &report.cells);
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(vec![
            "scenario",
            "driver",
            "strategy",
            "recovered",
            "up→accepted",
            "attempts",
            "IMDS reqs after up",
            "errors seen",
            "signing keys",
            "client init",
            "expected?",
        ]);
    let mut notes = Vec::new();
    if !color {
        table.force_no_tty();
    }
    for r in results {
        let mut row = vec![
            TableCell::new(&r.scenario),
            TableCell::new(&r.driver),
            TableCell::new(&r.strategy.name),
        ];
        match &r.outcome {
            CellOutcome::Ran(run) => {
                let v = &run.verdict;
                let recovered = match v.first_success_attempt {
                    Some(n) => format!("yes (attempt {n})"),
                    None => "NO".to_string(),
                };
                let errors = v
                    .error_kinds
                    .iter()
                    .map(|(k, n)| format!("{k} ×{n}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let failures: Vec<&String> = run.checks.iter().flat_map(|c| &c.failures).collect();
                let verdict_cell = if !run.inconclusive.is_empty() {
                    // The run did not test what the scenario says: no SDK verdict.
                    for why in &run.inconclusive {
                        notes.push(format!("? {} {} inconclusive: {why}", r.scenario, r.cell));
                    }
                    TableCell::new("? inconclusive").fg(Color::Yellow)
                } else if run.checks.is_empty() {
                    TableCell::new("(none)")
                } else if failures.is_empty() {
                    TableCell::new("✓ as expected").fg(Color::Green)
                } else {
                    for f in &failures {
                        notes.push(format!("✗ {} {}: {f}", r.scenario, r.cell));
                    }
                    TableCell::new("✗ no").fg(Color::Red)
                };
                row.extend([
                    TableCell::new(recovered),
                    TableCell::new(v.recovery_time.map_or("—".to_string(), fmt_ms)),
                    TableCell::new(v.attempts),
                    TableCell::new(
                        v.imds_requests_after_recovery
                            .map_or("—".to_string(), |n| n.to_string()),
                    ),
                    TableCell::new(if errors.is_empty() {
                        "—".to_string()
                    } else {
                        errors
                    }),
                    TableCell::new(match v.keys_used.as_slice() {
                        [] => "—".to_string(),
                        [one] => one.clone(),
                        [first, rest @ ..] => format!("{first} +{} more", rest.len()),
                    }),
                    TableCell::new(v.longest_client_creation.map_or("—".to_string(), fmt_ms)),
                    verdict_cell.add_attribute(comfy_table::Attribute::Bold),
                ]);
            }
            CellOutcome::SetupError(e) | CellOutcome::DriverError(e) => {
                row.extend((0..7).map(|_| TableCell::new("—")));
                row.push(TableCell::new("✗ error").fg(Color::Red));
                notes.push(format!("✗ {} {}: {e}", r.scenario, r.cell));
            }
        }
        table.add_row(row);
    }
    let mut out = table.to_string();
    out.push('\n');
    for note in notes {
        out.push_str(&note);
        out.push('\n');
    }
    for s in scenarios {
        let steps: Vec<String> = s
            .schedule
            .steps()
            .iter()
            .map(|step| format!("{} at {}", step.change, humantime::format_duration(step.at)))
            .collect();
        out.push_str(&format!(
            "{}: IMDS {}{}\n",
            s.name,
            if steps.is_empty() {
                "up throughout".to_string()
            } else {
                steps.join(", ")
            },
            if s.description.is_empty() {
                String::new()
            } else {
                format!(" — {}", s.description.lines().next().unwrap_or(""))
            }
        ));
    }
    let mut sdks: Vec<String> = results
        .iter()
        .filter_map(|r| r.sdk_version.as_ref().map(|v| format!("{}: {v}", r.driver)))
        .collect();
    sdks.sort();
    sdks.dedup();
    if !sdks.is_empty() {
        out.push_str(&format!("SDKs: {}\n", sdks.join("; ")));
    }
    let passed = results.iter().filter(|r| r.passed()).count();
    let recovered = results
        .iter()
        .filter(|r| matches!(&r.outcome, CellOutcome::Ran(run) if run.verdict.recovered))
        .count();
    let failed_expectations: usize = results
        .iter()
        .map(|r| match &r.outcome {
            CellOutcome::Ran(run) if run.inconclusive.is_empty() => {
                run.checks.iter().filter(|c| !c.failures.is_empty()).count()
            }
            _ => 0,
        })
        .sum();
    let inconclusive = results
        .iter()
        .filter(|r| !r.inconclusive().is_empty())
        .count();
    out.push_str(&format!(
        "{}, {recovered} recovered, {} failed{}\n",
        plural(results.len(), "cell"),
        plural(failed_expectations, "expectation"),
        if inconclusive > 0 {
            format!(", {inconclusive} inconclusive (harness results, not SDK verdicts)")
        } else {
            String::new()
        }
    ));
    out.push_str(&format!(
        "{passed} passed, {} failed\n",
        results.len() - passed
    ));
    out
}
