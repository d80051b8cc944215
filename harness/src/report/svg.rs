//! Timeline pictures (`--timeline DIR`): one SVG per scenario and an `index.html` linking
//! them. On top, the IMDS state as a band over time (up in green, each fault in its own
//! colour); below, one lane per cell, its verdict under its name and its outages (as its
//! mock applied them) as a thin bar above it in the colour of their outcome, with every attempt as a
//! bar from start to return and a mark where its outcome was known (green: accepted, at
//! its arrival at STS; red: failed, when it returned; grey: an SDK answer STS never
//! accepted; hover for the error kind), each client creation as a blue triangle and
//! every IMDS request as a tick under the lane (grey: answered 2xx, orange: anything else).
//! boto3's call-retry lane in the trap scenarios is a row of red marks with no ticks after
//! recovery.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use mock_imds::{EventKind, Fault, ImdsState, StsOutcome};

use super::model::{CellOutcome, CellResult};
use super::model::{Report, ScenarioSummary};
use super::wording;
use crate::driver::CallOutcome;
use crate::timeline::{DriverEvent, Entry};
use crate::verdict::Outcome;

const WIDTH: f64 = 1100.0;
const LEFT: f64 = 200.0;
const RIGHT: f64 = 30.0;
const BAND_TOP: f64 = 40.0;
const BAND_HEIGHT: f64 = 22.0;
const LANES_TOP: f64 = 100.0;
const LANE_HEIGHT: f64 = 40.0;

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The colour of a state in the band.
fn color(state: &ImdsState) -> &'static str {
    match state.faults().next().map(|f| &f.fault) {
        None => "#cfe8cf",
        Some(Fault::Refuse) => "#d9534f",
        Some(Fault::Blackhole) => "#555555",
        Some(Fault::DropSyn) => "#8e44ad",
        Some(Fault::Status { .. }) => "#f0ad4e",
        Some(Fault::Latency { .. }) => "#5bc0de",
        Some(Fault::Reset | Fault::Truncate) => "#c0392b",
        Some(_) => "#b07cc6",
    }
}

/// Marks the harness puts in the SVGs it writes, so it removes only its own old ones.
const GENERATOR: &str = "imds-harness";
const ACCEPTED: &str = "#27ae60";
const FAILED: &str = "#d9534f";
const UNVERIFIED: &str = "#999999";

/// The cell's verdict under its lane name: worst outcome and accepted calls.
fn lane_verdict(cell: &CellResult) -> (String, &'static str) {
    match &cell.outcome {
        CellOutcome::Ran(run) if !run.inconclusive.is_empty() => {
            ("? inconclusive".to_string(), "#b8860b")
        }
        CellOutcome::Ran(run) => {
            let v = &run.verdict;
            let color = match v.outcome {
                Some(Outcome::NotRecovered) => FAILED,
                Some(Outcome::Recovered | Outcome::RodeThrough) => ACCEPTED,
                _ => "#666666",
            };
            (
                format!(
                    "{} · {} accepted",
                    wording::outcome_text(v),
                    v.availability_text()
                ),
                color,
            )
        }
        _ => ("driver error".to_string(), FAILED),
    }
}

/// When STS accepted the call `call_id` (its arrival), if it did.
fn accepted_at(timeline: &crate::timeline::Timeline, call_id: &str) -> Option<Duration> {
    if call_id.is_empty() {
        return None;
    }
    timeline.mock_events().find_map(|e| match &e.kind {
        EventKind::StsRequest {
            action,
            outcome: StsOutcome::Accepted { .. },
            call_id: Some(id),
            ..
        } if id == call_id && !mock_imds::sts::is_credential_action(action) => Some(e.at),
        _ => None,
    })
}

fn end_of(cell: &CellResult) -> Duration {
    match &cell.outcome {
        CellOutcome::Ran(run) => run.timeline.end(),
        _ => Duration::ZERO,
    }
}

/// A tick spacing that gives 5–12 ticks over `span`.
fn tick_step(span: f64) -> f64 {
    [
        0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0,
    ]
    .into_iter()
    .find(|step| span / step <= 12.0)
    .unwrap_or(1800.0)
}

/// The SVG of one scenario: band, axis, one lane per cell.
///
/// The axis spans what the cells did (their timelines' ends), not the schedule's horizon:
/// a step long after the last attempt is drawn at the right edge, not given the width.
/// Only when no cell ran does the schedule set the span.
pub fn scenario_svg(scenario: &ScenarioSummary, cells: &[&CellResult]) -> String {
    let ran = cells.iter().map(|c| end_of(c)).max().unwrap_or_default();
    let end = if ran.is_zero() {
        scenario.schedule.duration()
    } else {
        ran
    }
    .max(Duration::from_secs(1));
    let span = end.as_secs_f64() * 1.05;
    let plot = WIDTH - LEFT - RIGHT;
    let x = |t: Duration| LEFT + (t.as_secs_f64() / span).min(1.0) * plot;
    let height = LANES_TOP + LANE_HEIGHT * cells.len() as f64 + 60.0;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" data-generator="{GENERATOR}" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        svg,
        r#"<text x="10" y="22" font-size="15" font-weight="bold">{}</text>"#,
        escape(&scenario.name)
    );

    // The IMDS state band, from the schedule.
    let _ = writeln!(
        svg,
        r#"<g class="imds-state"><text x="10" y="{}">IMDS</text>"#,
        BAND_TOP + 15.0
    );
    let mut boundaries: Vec<Duration> = vec![Duration::ZERO];
    boundaries.extend(
        scenario
            .schedule
            .steps()
            .iter()
            .map(|s| s.at)
            .filter(|t| !t.is_zero()),
    );
    boundaries.dedup();
    let span_end = Duration::from_secs_f64(span);
    boundaries.retain(|t| *t < span_end);
    for (i, start) in boundaries.iter().enumerate() {
        let stop = boundaries.get(i + 1).copied().unwrap_or(span_end);
        let state = scenario.schedule.state_at(*start);
        let (x0, x1) = (x(*start), x(stop));
        let _ = writeln!(
            svg,
            r#"<rect x="{x0:.1}" y="{BAND_TOP}" width="{:.1}" height="{BAND_HEIGHT}" fill="{}"><title>{} from {}</title></rect>"#,
            (x1 - x0).max(0.5),
            color(&state),
            escape(&state.to_string()),
            humantime::format_duration(*start)
        );
        if x1 - x0 > 60.0 {
            let _ = writeln!(
                svg,
                r#"<text x="{:.1}" y="{}" fill="{}">{}</text>"#,
                x0 + 4.0,
                BAND_TOP + 15.0,
                if state.is_up() { "#225522" } else { "white" },
                escape(&state.to_string())
            );
        }
    }
    let _ = writeln!(svg, "</g>");

    // Time axis.
    let step = tick_step(span);
    let axis_y = BAND_TOP + BAND_HEIGHT + 22.0;
    let _ = writeln!(svg, r##"<g class="axis" stroke="#999">"##);
    let mut t = 0.0;
    while t <= span {
        let tx = x(Duration::from_secs_f64(t));
        let _ = writeln!(
            svg,
            r##"<line x1="{tx:.1}" y1="{}" x2="{tx:.1}" y2="{:.1}" stroke="#eee"/><text x="{tx:.1}" y="{axis_y}" stroke="none" fill="#666" text-anchor="middle">{}s</text>"##,
            axis_y + 6.0,
            height - 50.0,
            (t * 10.0).round() / 10.0
        );
        t += step;
    }
    let _ = writeln!(svg, "</g>");

    for (i, cell) in cells.iter().enumerate() {
        let top = LANES_TOP + LANE_HEIGHT * i as f64;
        let mid = top + LANE_HEIGHT / 2.0 - 4.0;
        let _ = writeln!(
            svg,
            r#"<g class="lane" data-cell="{}">"#,
            escape(&cell.cell)
        );
        let _ = writeln!(
            svg,
            r#"<text x="10" y="{:.1}">{}</text>"#,
            mid,
            escape(&cell.cell)
        );
        let (verdict, verdict_color) = lane_verdict(cell);
        let _ = writeln!(
            svg,
            r#"<text class="lane-verdict" x="10" y="{:.1}" font-size="10" fill="{verdict_color}">{}</text>"#,
            mid + 13.0,
            escape(&verdict)
        );
        let _ = writeln!(
            svg,
            r##"<line x1="{LEFT}" y1="{mid:.1}" x2="{:.1}" y2="{mid:.1}" stroke="#ccc"/>"##,
            WIDTH - RIGHT
        );
        match &cell.outcome {
            CellOutcome::Ran(run) => {
                // The cell's outages as its mock applied them, in their outcome's colour.
                for o in &run.verdict.outages {
                    let stop = o.end.unwrap_or(span_end);
                    let (x0, x1) = (x(o.start), x(stop));
                    let fill = match o.outcome {
                        Outcome::NotRecovered => FAILED,
                        Outcome::Recovered | Outcome::RodeThrough => ACCEPTED,
                        Outcome::Untested => UNVERIFIED,
                    };
                    let _ = writeln!(
                        svg,
                        r#"<rect class="outage" x="{x0:.1}" y="{:.1}" width="{:.1}" height="3" fill="{fill}" opacity="0.6"><title>{}</title></rect>"#,
                        mid - 12.0,
                        (x1 - x0).max(0.5),
                        escape(&format!("outage {}", wording::outage_text(o)))
                    );
                }
                for entry in run.timeline.entries() {
                    match entry {
                        Entry::Mock(e) => {
                            if let EventKind::ImdsRequest {
                                method,
                                path,
                                status,
                                ..
                            } = &e.kind
                            {
                                let ok = status.is_some_and(|s| (200..300).contains(&s));
                                let ex = x(e.at);
                                let _ = writeln!(
                                    svg,
                                    r#"<line class="imds-request" x1="{ex:.1}" y1="{:.1}" x2="{ex:.1}" y2="{:.1}" stroke="{}"><title>{} {} → {}</title></line>"#,
                                    mid + 9.0,
                                    mid + 16.0,
                                    if ok { "#888" } else { "#e67e22" },
                                    escape(method),
                                    escape(path),
                                    status.map_or("no answer".to_string(), |s| s.to_string())
                                );
                            }
                        }
                        Entry::Driver {
                            at,
                            event: DriverEvent::ClientCreated { attempt, .. },
                        } => {
                            let cx = x(*at);
                            let _ = writeln!(
                                svg,
                                r##"<path class="client" d="M{:.1},{:.1} l4,-7 l-8,0 z" fill="#2e6da4"><title>client created before attempt {attempt}</title></path>"##,
                                cx,
                                mid - 7.0
                            );
                        }
                        Entry::Driver {
                            at,
                            event:
                                DriverEvent::Attempt {
                                    attempt,
                                    call_id,
                                    duration,
                                    outcome,
                                },
                        } => {
                            let (cx, ex) = (x(*at), x(*at + *duration));
                            // The mark sits where the outcome was known: an accepted call
                            // at its arrival at STS, anything else when the call returned.
                            let accepted_at = accepted_at(&run.timeline, call_id);
                            let (fill, what, mark_at) = match (outcome, accepted_at) {
                                (CallOutcome::Ok { .. }, Some(t)) => {
                                    (ACCEPTED, "accepted by STS".to_string(), t)
                                }
                                (CallOutcome::Ok { .. }, None) => (
                                    UNVERIFIED,
                                    "SDK answered, STS never accepted it".to_string(),
                                    *at + *duration,
                                ),
                                (CallOutcome::Err { kind, .. }, _) => {
                                    (FAILED, kind.clone(), *at + *duration)
                                }
                                (CallOutcome::Hung, _) => (
                                    FAILED,
                                    "hung (no answer within call_timeout)".to_string(),
                                    *at + *duration,
                                ),
                            };
                            let _ = writeln!(
                                svg,
                                r#"<rect x="{cx:.1}" y="{:.1}" width="{:.1}" height="4" fill="{fill}" opacity="0.3"/><circle class="attempt" cx="{:.1}" cy="{mid:.1}" r="5" fill="{fill}"><title>attempt {attempt} from {:.0}ms, {} at {:.0}ms</title></circle>"#,
                                mid - 2.0,
                                (ex - cx).max(0.5),
                                x(mark_at),
                                at.as_secs_f64() * 1000.0,
                                escape(&what),
                                mark_at.as_secs_f64() * 1000.0,
                            );
                        }
                        // What the SDK logged shows in the text timeline, not here.
                        Entry::Driver {
                            event: DriverEvent::SdkWarning { .. },
                            ..
                        } => {}
                    }
                }
            }
            CellOutcome::Skipped(s) => {
                let _ = writeln!(
                    svg,
                    r##"<text x="{LEFT}" y="{:.1}" fill="#8a6d3b">skipped: {} (install: {})</text>"##,
                    mid + 4.0,
                    escape(&s.reason),
                    escape(&s.install)
                );
            }
            CellOutcome::SetupError(e) | CellOutcome::DriverError(e) => {
                let _ = writeln!(
                    svg,
                    r##"<text x="{LEFT}" y="{:.1}" fill="#d9534f">driver error: {}</text>"##,
                    mid + 4.0,
                    escape(&e.chars().take(120).collect::<String>())
                );
            }
        }
        let _ = writeln!(svg, "</g>");
    }
    let legend_y = height - 20.0;
    let _ = writeln!(
        svg,
        r##"<text class="legend" x="10" y="{legend_y}" fill="#666"><tspan fill="{ACCEPTED}">●</tspan> call accepted by STS (at its arrival) · <tspan fill="{FAILED}">●</tspan> call failed (when it returned) · <tspan fill="{UNVERIFIED}">●</tspan> SDK answer STS never accepted · <tspan fill="#2e6da4">▼</tspan> client created · <tspan fill="#888">|</tspan>/<tspan fill="#e67e22">|</tspan> IMDS request answered 2xx / otherwise</text>"##
    );
    svg.push_str("</svg>\n");
    svg
}

/// Removes the `.svg` files of `dir` that an earlier run of the harness wrote (marked
/// `data-generator="imds-harness"`, or with the IMDS band of older versions), so a reused
/// `--timeline` folder holds no stale pictures; every other file stays.
fn remove_own_svgs(dir: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_none_or(|e| e != "svg") || !path.is_file() {
            continue;
        }
        // The first kilobyte holds the `<svg>` tag and the band's group.
        let mut head = vec![0u8; 1024];
        let n = {
            use std::io::Read as _;
            std::fs::File::open(&path)?.read(&mut head)?
        };
        let head = String::from_utf8_lossy(&head[..n]);
        if head.contains(&format!("data-generator=\"{GENERATOR}\""))
            || (head.starts_with("<svg") && head.contains(r#"<g class="imds-state">"#))
        {
            std::fs::remove_file(&path)?;
        }
    }
    Ok(())
}

/// The SVG file of a scenario, relative to the timeline folder: `NAME.svg`, a name with
/// `/` (same-named files, [`crate::scenario::names`]) in sub-folders; a part that could
/// leave the folder (`..`, `.`, empty; a report read back may hold any name) becomes `_`.
pub fn svg_file(name: &str) -> String {
    let parts: Vec<&str> = name
        .split('/')
        .map(|part| match part {
            "" | "." | ".." => "_",
            part => part,
        })
        .collect();
    format!("{}.svg", parts.join("/"))
}

/// Writes one `<scenario>.svg` per scenario and an `index.html` into `dir` (created if
/// needed), after removing the harness's own SVGs of an earlier run there; returns the
/// paths written.
///
/// # Errors
/// I/O errors creating the directory or writing a file.
pub fn write_all(report: &Report, dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    remove_own_svgs(dir)?;
    let mut written = Vec::new();
    let mut index = String::from(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>imds-harness timelines</title></head>\n<body style=\"font-family: sans-serif\">\n<h1>imds-harness timelines</h1>\n",
    );
    for scenario in &report.scenarios {
        let cells: Vec<&CellResult> = report
            .cells
            .iter()
            .filter(|c| c.scenario == scenario.name)
            .collect();
        let file = svg_file(&scenario.name);
        let path = dir.join(&file);
        if let Some(folder) = path.parent() {
            std::fs::create_dir_all(folder)?;
        }
        std::fs::write(&path, scenario_svg(scenario, &cells))?;
        written.push(path);
        let _ = writeln!(
            index,
            "<h2>{name}</h2>\n<p>{description}</p>\n<p><a href=\"{file}\"><img src=\"{file}\" alt=\"timeline of {name}\" style=\"max-width: 100%\"></a></p>",
            name = escape(&scenario.name),
            description = escape(&scenario.description),
            file = escape(&file),
        );
    }
    index.push_str("</body></html>\n");
    let path = dir.join("index.html");
    std::fs::write(&path, index)?;
    written.push(path);
    Ok(written)
}

#[cfg(test)]
mod file_name_tests {
    use super::svg_file;

    #[test]
    fn svg_files_stay_in_the_folder() {
        assert_eq!(svg_file("trap"), "trap.svg");
        assert_eq!(svg_file("team-a/trap"), "team-a/trap.svg");
        assert_eq!(svg_file("../../etc/x"), "_/_/etc/x.svg");
        assert_eq!(svg_file("/abs"), "_/abs.svg");
    }
}
