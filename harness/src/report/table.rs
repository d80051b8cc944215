//! The terminal verdict table: one row per cell.

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Cell as TableCell, Color, ContentArrangement, Table};

use super::model::CellOutcome;
use super::model::Report;
use super::wording::plural;
use super::wording::{outage_text, outages_text, outcome_text};
use crate::ms::fmt_ms;

/// `line` without ANSI colour codes.
fn strip_ansi(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The columns of the full table.
const HEADER: [&str; 11] = [
    "scenario",
    "driver",
    "strategy",
    "outcome",
    "outages",
    "accepted",
    "IMDS reqs after up",
    "errors seen",
    "signing keys",
    "client init",
    "expected?",
];

/// One cell's row, as text.
struct Row {
    /// `HEADER`'s columns.
    columns: Vec<String>,
    /// The verdict column's colour.
    color: Option<Color>,
}

fn rows(report: &Report, notes: &mut Vec<String>) -> Vec<Row> {
    let mut rows = Vec::new();
    for r in &report.cells {
        let mut columns = vec![
            r.scenario.clone(),
            r.driver.clone(),
            r.strategy.name.clone(),
        ];
        let color;
        match &r.outcome {
            CellOutcome::Ran(run) => {
                let v = &run.verdict;
                let errors = v
                    .error_kinds
                    .iter()
                    .map(|(k, n)| format!("{k} ×{n}"))
                    // Not an SDK error kind: the harness's word for a call that never
                    // returned (`call_timeout`).
                    .chain((v.hung_calls > 0).then(|| format!("hung ×{}", v.hung_calls)))
                    .collect::<Vec<_>>()
                    .join(", ");
                let failures: Vec<&String> = run.checks.iter().flat_map(|c| &c.failures).collect();
                let verdict = if !run.inconclusive.is_empty() {
                    // The run did not test what the scenario says: no SDK verdict.
                    for why in &run.inconclusive {
                        notes.push(format!("? {} {} inconclusive: {why}", r.scenario, r.cell));
                    }
                    color = Some(Color::Yellow);
                    "? inconclusive"
                } else if run.checks.is_empty() {
                    color = None;
                    "(none)"
                } else if failures.is_empty() {
                    color = Some(Color::Green);
                    "✓ as expected"
                } else {
                    for f in &failures {
                        notes.push(format!("✗ {} {}: {f}", r.scenario, r.cell));
                    }
                    color = Some(Color::Red);
                    "✗ no"
                };
                if v.outages.len() > 1 && v.outages.iter().any(|o| o.failed_calls > 0) {
                    notes.push(format!(
                        "  {} {} outages: {}",
                        r.scenario,
                        r.cell,
                        v.outages
                            .iter()
                            .map(outage_text)
                            .collect::<Vec<_>>()
                            .join("; ")
                    ));
                }
                columns.extend([
                    outcome_text(v),
                    outages_text(v),
                    v.availability_text(),
                    v.imds_requests_after_recovery
                        .map_or("—".to_string(), |n| n.to_string()),
                    if errors.is_empty() {
                        "—".to_string()
                    } else {
                        errors
                    },
                    match v.keys_used.as_slice() {
                        [] => "—".to_string(),
                        [one] => one.clone(),
                        [first, rest @ ..] => format!("{first} +{} more", rest.len()),
                    },
                    v.longest_client_creation.map_or("—".to_string(), fmt_ms),
                    verdict.to_string(),
                ]);
            }
            CellOutcome::Skipped(s) => {
                columns.extend((0..7).map(|_| "—".to_string()));
                columns.push("○ skipped".to_string());
                color = Some(Color::Yellow);
                notes.push(format!(
                    "○ {} {}: skipped, {}; install it with: {}",
                    r.scenario, r.cell, s.reason, s.install
                ));
            }
            CellOutcome::SetupError(e) | CellOutcome::DriverError(e) => {
                columns.extend((0..7).map(|_| "—".to_string()));
                columns.push("✗ error".to_string());
                color = Some(Color::Red);
                notes.push(format!("✗ {} {}: {e}", r.scenario, r.cell));
            }
        }
        rows.push(Row { columns, color });
    }
    rows
}

/// The full table: one row per cell, every column.
fn full_table(rows: &[Row], color: bool) -> String {
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(HEADER.to_vec());
    if !color {
        table.force_no_tty();
    }
    for row in rows {
        let mut cells: Vec<TableCell> = row.columns.iter().map(TableCell::new).collect();
        if let Some(last) = cells.pop() {
            let mut last = last.add_attribute(comfy_table::Attribute::Bold);
            if let Some(c) = row.color {
                last = last.fg(c);
            }
            cells.push(last);
        }
        table.add_row(cells);
    }
    table.to_string()
}

/// The compact layout for a narrow terminal: per cell, a line with its verdict and name,
/// then `column: value` lines indented under it, each cut to `width`.
fn compact(rows: &[Row], color: bool, width: usize) -> String {
    let mut out = String::new();
    for row in rows {
        let c = &row.columns;
        let mark = match c[10].as_str() {
            "(none)" => "·",
            mark => mark,
        };
        let head = format!("{mark}  {} {}/{}", c[0], c[1], c[2]);
        let head = cut(&head, width);
        match (color, row.color) {
            (true, Some(col)) => {
                let code = match col {
                    Color::Green => "32",
                    Color::Red => "31",
                    _ => "33",
                };
                out.push_str(&format!("\x1b[1;{code}m{head}\x1b[0m\n"));
            }
            _ => {
                out.push_str(&head);
                out.push('\n');
            }
        }
        for (name, value) in HEADER[3..10].iter().zip(&c[3..10]) {
            if value == "—" {
                continue;
            }
            out.push_str(&cut(&format!("    {name}: {value}"), width));
            out.push('\n');
        }
    }
    out
}

/// `text` cut to `width` characters, ending in `…` when cut.
fn cut(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(width.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// Renders the verdict table of a report, the failures under it, a legend of schedules
/// and SDKs, and the summary lines. `color` adds ANSI colours (only for a terminal, and
/// not when `NO_COLOR` is set). `width`: the terminal's columns (see
/// [`super::terminal::width`]); when the
/// full table is wider, each cell is printed as a short block instead (as `cargo nextest`
/// and `kubectl` do); `None` is no limit.
pub fn render(report: &Report, color: bool, width: Option<usize>) -> String {
    let (scenarios, results) = (&report.scenarios, &report.cells);
    let mut notes = Vec::new();
    let rows = rows(report, &mut notes);
    let full = full_table(&rows, color);
    let full_width = full
        .lines()
        .map(|l| strip_ansi(l).chars().count())
        .max()
        .unwrap_or(0);
    let mut out = match width {
        Some(w) if full_width > w => compact(&rows, color, w),
        _ => full,
    };
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
            .map(|step| {
                format!(
                    "{} at {}",
                    super::change_text(&step.change),
                    humantime::format_duration(step.at)
                )
            })
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
    let skipped = results.iter().filter(|r| r.skipped()).count();
    out.push_str(&format!(
        "{passed} passed, {} failed{}\n",
        results.len() - passed - skipped,
        if skipped > 0 {
            format!(", {skipped} skipped")
        } else {
            String::new()
        }
    ));
    out
}
