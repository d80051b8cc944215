//! The terminal verdict table: one row per cell.

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Cell as TableCell, Color, ContentArrangement, Table};

use super::model::CellOutcome;
use super::model::Report;
use crate::ms::fmt_ms;
use crate::verdict::{Outcome, Verdict};

/// Columns when neither `COLUMNS` nor the terminal says (80, the VT100's).
pub const DEFAULT_WIDTH: usize = 80;

/// The width to render for: `COLUMNS` when set to a positive number; else, when stdout
/// is a terminal, its width (or [`DEFAULT_WIDTH`] when it cannot be read); else `None`
/// (a file or a pipe: no limit, the full table).
pub fn width(stdout_is_tty: bool) -> Option<usize> {
    if let Some(n) = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|n| *n > 0)
    {
        return Some(n);
    }
    stdout_is_tty.then(|| terminal_columns().unwrap_or(DEFAULT_WIDTH))
}

#[cfg(unix)]
fn terminal_columns() -> Option<usize> {
    // SAFETY: TIOCGWINSZ writes one `winsize` into the struct it is given.
    let mut size: libc::winsize = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut size) } == 0;
    (ok && size.ws_col > 0).then_some(usize::from(size.ws_col))
}

#[cfg(not(unix))]
fn terminal_columns() -> Option<usize> {
    None
}

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

/// The worst outcome in words: `recovered in 505ms`, `rode through`, `NOT recovered`, …
pub fn outcome_text(v: &Verdict) -> String {
    match v.outcome {
        None => "no outage".to_string(),
        Some(Outcome::Untested) if v.outages.iter().any(|o| o.failed_calls > 0) => {
            "failed; recovery untested (no call after)".to_string()
        }
        Some(Outcome::Untested) => "untested (no call met an outage)".to_string(),
        Some(Outcome::RodeThrough) if v.outages.iter().any(|o| o.recovery.is_some()) => {
            "rode through (waited)".to_string()
        }
        Some(Outcome::RodeThrough) => "rode through".to_string(),
        Some(Outcome::NotRecovered) => "NOT recovered".to_string(),
        Some(Outcome::Recovered) => {
            let slowest = v
                .outages
                .iter()
                .filter_map(|o| o.recovery)
                .max()
                .map_or("—".to_string(), fmt_ms);
            if v.outages.len() == 1 {
                format!("recovered in {slowest}")
            } else {
                format!("recovered (slowest {slowest})")
            }
        }
    }
}

/// The outages in words: `1`, or `12: 9 recovered, 3 rode through`, with the failures
/// after recovery when there were any.
pub fn outages_text(v: &Verdict) -> String {
    if v.outages.is_empty() {
        return "0".to_string();
    }
    let mut text = v.outages.len().to_string();
    if v.outages.len() > 1 {
        let mut counts: Vec<String> = Vec::new();
        for (outcome, words) in [
            (Outcome::NotRecovered, "NOT recovered"),
            (Outcome::Recovered, "recovered"),
            (Outcome::RodeThrough, "rode through"),
            (Outcome::Untested, "untested"),
        ] {
            let n = v.outages.iter().filter(|o| o.outcome == outcome).count();
            if n > 0 {
                counts.push(format!("{n} {words}"));
            }
        }
        text = format!("{text}: {}", counts.join(", "));
    }
    let relapses: u32 = v.outages.iter().map(|o| o.failures_after_recovery).sum();
    if relapses > 0 {
        text.push_str(&format!("; {relapses} failed after recovering"));
    }
    text
}

/// One outage in words: `#2 recovered in 40ms (3 failed)`.
pub fn outage_text(o: &crate::verdict::Outage) -> String {
    let what = match (o.outcome, o.recovery) {
        (Outcome::Recovered, Some(r)) => format!("recovered in {}", fmt_ms(r)),
        (Outcome::NotRecovered, _) => "NOT recovered".to_string(),
        (Outcome::RodeThrough, Some(r)) => {
            format!("rode through (waited: accepted {} after it)", fmt_ms(r))
        }
        (Outcome::RodeThrough, None) => "rode through".to_string(),
        (Outcome::Untested, _) if o.failed_calls > 0 => "recovery untested".to_string(),
        (outcome, _) => outcome.to_string(),
    };
    let mut text = format!("#{} {what}", o.index);
    if o.failed_calls > 0 {
        text.push_str(&format!(" ({} failed)", o.failed_calls));
    }
    if o.failures_after_recovery > 0 {
        text.push_str(&format!(" then {} failed again", o.failures_after_recovery));
    }
    text
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
/// not when `NO_COLOR` is set). `width`: the terminal's columns (see [`width`]); when the
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
        "{} cells, {recovered} recovered, {failed_expectations} expectations failed{}\n",
        results.len(),
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
