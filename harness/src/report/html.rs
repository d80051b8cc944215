//! The recovery-matrix page (`--html DIR`): one self-contained `index.html` (inline CSS
//! and JavaScript, no network: its Content-Security-Policy allows nothing else) with one
//! row per driver (SDK@version, the versions the drivers loaded under it), one column
//! per scenario grouped by surface and fault, and in each cell one block per strategy
//! coloured by its [`Outcome`]; a filter by SDK, fault and strategy; the SDK versions,
//! seeds and run date. Beside it: `timelines/` (the [`super::svg`] pictures, one per
//! scenario, which every block links to) and `explain/` (one text file per cell: what
//! `imds-harness explain` prints for it).
//!
//! Everything from the report (scenario names and descriptions are user input, error
//! messages come from SDKs) is HTML-escaped; file names in links are percent-encoded.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use mock_imds::Change;

use super::explain;
use super::model::{CellOutcome, CellResult, Report, ScenarioSummary};
use super::outcome::{cell_outcome, Outcome};
use super::svg;

const CSS: &str = include_str!("html/page.css");
const JS: &str = include_str!("html/page.js");

/// The surface every scenario runs on today: the EC2 instance metadata service.
/// (Scenarios name no other surface yet; when they do, [`surface_of`] reads it.)
pub const IMDS_SURFACE: &str = "IMDS";

/// What the page says about the run besides the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageInfo {
    /// When the run happened, as shown (e.g. `2026-12-02 07:10:00 UTC`).
    pub run_date: String,
}

/// Replaces `& < > " '` with entities: safe in element content and quoted attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `text` as one URL path segment: unreserved bytes kept, every other byte `%XX`.
fn url_segment(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~@".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// `text` reduced to `[A-Za-z0-9._@-]` (others become `_`), for file names.
fn file_safe(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._@-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The surface a scenario exercises (today always [`IMDS_SURFACE`]).
pub fn surface_of(_scenario: &ScenarioSummary) -> &'static str {
    IMDS_SURFACE
}

/// The fault a scenario injects: the first fault its schedule sets (as the scenario
/// language writes it, e.g. `refuse`, `status 500`), or `no fault`.
pub fn fault_of(scenario: &ScenarioSummary) -> String {
    scenario
        .schedule
        .steps()
        .iter()
        .find_map(|step| match step.state() {
            Some(Change::Set(spec)) => Some(spec.fault.to_string()),
            _ => None,
        })
        .unwrap_or_else(|| "no fault".to_string())
}

/// The explain file of `cell`, relative to the page's directory.
pub fn explain_file(cell: &CellResult) -> String {
    format!(
        "explain/{:03}-{}-{}.txt",
        cell.index,
        file_safe(&cell.scenario),
        file_safe(&cell.cell)
    )
}

/// The timeline picture of `scenario`, relative to the page's directory (what
/// [`svg::write_all`] writes into `timelines/`), as a link.
pub fn timeline_href(scenario: &str) -> String {
    format!("timelines/{}", url_segment(&format!("{scenario}.svg")))
}

/// What `imds-harness explain` prints for `cell`: the SDK, its timeline, the diagnosis.
pub fn explain_text(cell: &CellResult) -> String {
    let mut out = format!(
        "{}/{} — {}\n",
        cell.scenario,
        cell.cell,
        cell.sdk_version.as_deref().unwrap_or("SDK unknown")
    );
    if let CellOutcome::Ran(run) = &cell.outcome {
        out.push_str(&explain::timeline_text(&run.timeline));
    }
    let _ = writeln!(out, "diagnosis: {}", explain::diagnose(cell));
    out
}

/// A scenario column: its surface and fault group.
struct Column<'a> {
    surface: &'static str,
    fault: String,
    scenario: &'a ScenarioSummary,
}

/// The columns: surfaces in order of first appearance, within each its faults in order
/// of first appearance, within each its scenarios in report order.
fn columns(report: &Report) -> Vec<Column<'_>> {
    let columns: Vec<Column<'_>> = report
        .scenarios
        .iter()
        .map(|s| Column {
            surface: surface_of(s),
            fault: fault_of(s),
            scenario: s,
        })
        .collect();
    let keys: Vec<(usize, usize, usize)> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let surface = columns.iter().position(|d| d.surface == c.surface);
            let fault = columns
                .iter()
                .position(|d| d.surface == c.surface && d.fault == c.fault);
            (surface.unwrap_or(i), fault.unwrap_or(i), i)
        })
        .collect();
    let mut keyed: Vec<((usize, usize, usize), Column<'_>)> =
        keys.into_iter().zip(columns).collect();
    keyed.sort_by_key(|(key, _)| *key);
    keyed.into_iter().map(|(_, c)| c).collect()
}

/// Runs of equal keys: `(key, length)` in order.
fn runs<K: PartialEq + Clone>(keys: impl Iterator<Item = K>) -> Vec<(K, usize)> {
    let mut out: Vec<(K, usize)> = Vec::new();
    for k in keys {
        match out.last_mut() {
            Some((last, n)) if *last == k => *n += 1,
            _ => out.push((k, 1)),
        }
    }
    out
}

/// Distinct values in order of first appearance.
fn distinct<'a>(values: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    for v in values {
        if !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

/// Whether the cell's expectations held: `yes`, `no`, or `none` (none apply).
fn expected(cell: &CellResult) -> &'static str {
    match &cell.outcome {
        CellOutcome::Ran(run) if run.checks.is_empty() => "none",
        CellOutcome::Ran(_) if cell.passed() => "yes",
        _ => "no",
    }
}

/// The hover text of a cell: its outcome in full and why.
fn cell_title(cell: &CellResult, outcome: &Outcome) -> String {
    let mut title = format!("{}/{}: {outcome}", cell.scenario, cell.cell);
    match outcome {
        Outcome::Inconclusive { why } => {
            for w in why {
                let _ = write!(title, "\n? {w}");
            }
        }
        Outcome::Error { message } | Outcome::Skipped { why: message } => {
            let _ = write!(title, "\n{}", message.chars().take(300).collect::<String>());
        }
        _ => {}
    }
    if let CellOutcome::Ran(run) = &cell.outcome {
        for f in run.checks.iter().flat_map(|c| &c.failures) {
            let _ = write!(title, "\n✗ {f}");
        }
    }
    title
}

fn cell_block(out: &mut String, cell: &CellResult) {
    let outcome = cell_outcome(cell);
    let class = outcome.class();
    let expected = expected(cell);
    let _ = write!(
        out,
        r#"<div class="cell o-{class}" data-cell="{id}" data-strategy="{strategy}" data-outcome="{class}" data-expected="{expected}" title="{title}"><a class="timeline" href="{timeline}">{strategy}<span class="what">{what}</span></a>"#,
        id = escape(&format!("{}/{}", cell.scenario, cell.cell)),
        strategy = escape(&cell.strategy.name),
        title = escape(&cell_title(cell, &outcome)),
        timeline = escape(&timeline_href(&cell.scenario)),
        what = escape(&outcome.to_string()),
    );
    if expected == "no" {
        out.push_str(r#"<span class="unexpected" title="an expectation does not hold">✗ not as expected</span>"#);
    }
    let _ = writeln!(
        out,
        r#"<a class="explain" href="{}">explain</a></div>"#,
        escape(&explain_file(cell))
    );
}

fn checkboxes(out: &mut String, name: &str, legend: &str, values: &[&str]) {
    let _ = write!(out, r#"<fieldset><legend>{}</legend>"#, escape(legend));
    for v in values {
        let _ = write!(
            out,
            r#"<label><input type="checkbox" name="{name}" value="{v}" checked> {v}</label>"#,
            v = escape(v)
        );
    }
    out.push_str("</fieldset>\n");
}

/// The page of `report`.
pub fn render(report: &Report, info: &PageInfo) -> String {
    let columns = columns(report);
    let rows = distinct(report.cells.iter().map(|c| c.driver.as_str()));
    let strategies = distinct(report.cells.iter().map(|c| c.strategy.name.as_str()));
    let faults = distinct(columns.iter().map(|c| c.fault.as_str()));
    let outcomes: Vec<Outcome> = report.cells.iter().map(cell_outcome).collect();
    let count = |class: &str| outcomes.iter().filter(|o| o.class() == class).count();

    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n");
    out.push_str("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src 'self'\">\n");
    out.push_str("<title>imds-harness recovery matrix</title>\n");
    let _ = writeln!(out, "<style>\n{CSS}</style></head><body>");
    out.push_str("<h1>Recovery matrix</h1>\n");

    // What ran: date, seeds, totals, SDK versions.
    // The seed most scenarios use, and the ones that differ.
    let common = report
        .scenarios
        .iter()
        .map(|s| s.seed)
        .max_by_key(|seed| report.scenarios.iter().filter(|s| s.seed == *seed).count())
        .unwrap_or(0);
    let others: Vec<String> = report
        .scenarios
        .iter()
        .filter(|s| s.seed != common)
        .map(|s| format!("{}: {}", escape(&s.name), s.seed))
        .collect();
    let seed_text = if others.is_empty() {
        format!("seed <span id=\"seed\">{common}</span>")
    } else {
        format!(
            "seed <span id=\"seed\">{common}</span> (except {})",
            others.join(", ")
        )
    };
    let _ = writeln!(
        out,
        r#"<p class="meta">Run <span id="run-date">{}</span> · {seed_text} · {} cells: {} rode through, {} recovered, {} not recovered, {} untested, {} skipped, {} inconclusive, {} driver errors · {}</p>"#,
        escape(&info.run_date),
        report.cells.len(),
        count("rode-through"),
        count("recovered"),
        count("not-recovered"),
        count("untested"),
        count("skipped"),
        count("inconclusive"),
        count("error"),
        if report.passed {
            "every expectation holds"
        } else {
            "<strong>not every expectation holds</strong>"
        }
    );

    // Filters.
    out.push_str("<form id=\"filters\">\n");
    checkboxes(&mut out, "sdk", "SDK", &rows);
    checkboxes(&mut out, "fault", "Fault", &faults);
    checkboxes(&mut out, "strategy", "Strategy", &strategies);
    out.push_str("<p id=\"shown\"></p></form>\n");
    out.push_str(
        "<p class=\"legend\"><span class=\"cell o-rode-through\">rode through</span> no call failed during an outage \
         <span class=\"cell o-recovered\">recovered</span> calls failed, then one was accepted by STS after the outage (time from its end to it) \
         <span class=\"cell o-not-recovered\">not recovered</span> no call accepted after an outage (the SDK's error names) \
         <span class=\"cell o-untested\">untested</span> no call met the outage, or none came after it \
         <span class=\"cell o-skipped\">skipped</span> the driver is not installed here \
         <span class=\"cell o-inconclusive\">inconclusive</span> the run could not carry a verdict \
         <span class=\"cell o-error\">driver error</span>. Click a strategy for the scenario's timeline; \
         \u{201c}explain\u{201d} for the cell's events and diagnosis.</p>\n",
    );

    // The matrix.
    out.push_str("<table id=\"matrix\"><thead>\n<tr><th rowspan=\"3\" class=\"corner\">SDK</th>");
    for (surface, n) in runs(columns.iter().map(|c| c.surface)) {
        let _ = write!(
            out,
            r#"<th class="surface" data-surface="{s}" colspan="{n}">{s}</th>"#,
            s = escape(surface)
        );
    }
    out.push_str("</tr>\n<tr>");
    for ((surface, fault), n) in runs(columns.iter().map(|c| (c.surface, c.fault.clone()))) {
        let _ = write!(
            out,
            r#"<th class="fault" data-surface="{}" data-fault="{f}" colspan="{n}">{f}</th>"#,
            escape(surface),
            f = escape(&fault)
        );
    }
    out.push_str("</tr>\n<tr class=\"scenarios\">");
    for c in &columns {
        let _ = write!(
            out,
            r#"<th class="scenario" data-surface="{}" data-fault="{}" data-scenario="{name}" title="{}"><a href="{}">{name}</a></th>"#,
            escape(c.surface),
            escape(&c.fault),
            escape(&c.scenario.description),
            escape(&timeline_href(&c.scenario.name)),
            name = escape(&c.scenario.name),
        );
    }
    out.push_str("</tr>\n</thead><tbody>\n");
    for driver in &rows {
        let versions = distinct(
            report
                .cells
                .iter()
                .filter(|c| c.driver == *driver)
                .filter_map(|c| c.sdk_version.as_deref()),
        );
        let _ = write!(
            out,
            r#"<tr data-sdk="{d}"><th class="sdk">{d}<small>{}</small></th>"#,
            escape(&versions.join("; ")),
            d = escape(driver)
        );
        for c in &columns {
            let _ = write!(
                out,
                r#"<td data-fault="{}" data-scenario="{}">"#,
                escape(&c.fault),
                escape(&c.scenario.name)
            );
            let mut any = false;
            for cell in report
                .cells
                .iter()
                .filter(|r| r.driver == *driver && r.scenario == c.scenario.name)
            {
                any = true;
                cell_block(&mut out, cell);
            }
            if !any {
                out.push_str(
                    r#"<span class="absent" title="not in this scenario's matrix">·</span>"#,
                );
            }
            out.push_str("</td>");
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table>\n");

    // SDK versions and scenarios in full.
    out.push_str("<h2>SDK versions</h2>\n<table class=\"list\" id=\"sdk-versions\"><tr><th>driver</th><th>SDK as loaded</th></tr>\n");
    for driver in &rows {
        let versions = distinct(
            report
                .cells
                .iter()
                .filter(|c| c.driver == *driver)
                .filter_map(|c| c.sdk_version.as_deref()),
        );
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td></tr>",
            escape(driver),
            if versions.is_empty() {
                "unknown (the driver did not start)".to_string()
            } else {
                escape(&versions.join("; "))
            }
        );
    }
    out.push_str("</table>\n<h2>Scenarios</h2>\n<dl class=\"scenarios\">\n");
    for s in &report.scenarios {
        let steps: Vec<String> = s
            .schedule
            .steps()
            .iter()
            .map(|step| format!("{} at {}", step.change, humantime::format_duration(step.at)))
            .collect();
        let _ = writeln!(
            out,
            "<dt><a href=\"{}\">{}</a> <small>seed {} · {}</small></dt><dd>{}<br><small>IMDS: {}</small></dd>",
            escape(&timeline_href(&s.name)),
            escape(&s.name),
            s.seed,
            escape(&s.file),
            escape(&s.description),
            escape(&if steps.is_empty() {
                "up throughout".to_string()
            } else {
                steps.join(", ")
            })
        );
    }
    out.push_str("</dl>\n");
    let _ = writeln!(out, "<script>\n{JS}</script>\n</body></html>");
    out
}

/// Writes `index.html`, `timelines/` and `explain/` into `dir` (created if needed);
/// returns the page's path.
///
/// # Errors
/// I/O errors creating the directories or writing a file.
pub fn write(report: &Report, dir: &Path, info: &PageInfo) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir.join("explain"))?;
    svg::write_all(report, &dir.join("timelines"))?;
    for cell in &report.cells {
        std::fs::write(dir.join(explain_file(cell)), explain_text(cell))?;
    }
    let page = dir.join("index.html");
    std::fs::write(&page, render(report, info))?;
    Ok(page)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use mock_imds::{Schedule, Step};

    use super::*;
    use crate::report::model::CellRun;
    use crate::timeline::Timeline;
    use crate::verdict::Verdict;

    fn scenario(name: &str, description: &str, fault: Option<&str>) -> ScenarioSummary {
        let steps = fault
            .map(|f| {
                vec![
                    Step::new(Duration::ZERO, f.parse().unwrap()),
                    Step::new(Duration::from_secs(2), "up".parse().unwrap()),
                ]
            })
            .unwrap_or_default();
        ScenarioSummary {
            name: name.into(),
            file: format!("{name}.toml"),
            description: description.into(),
            seed: 0,
            schedule: Schedule::new(steps).unwrap(),
            generators: Vec::new(),
        }
    }

    fn cell(
        index: usize,
        scenario: &str,
        driver: &str,
        strategy: &str,
        recovered: bool,
    ) -> CellResult {
        CellResult {
            index,
            scenario: scenario.into(),
            cell: format!("{driver}/{strategy}"),
            driver: driver.into(),
            strategy: serde_json::from_str(&format!(
                r#"{{"name":{strategy:?},"kind":"call-retry","attempts":3,"pacing":"interval","interval_ms":0}}"#
            ))
            .unwrap(),
            sdk_version: Some(format!("{driver} 1.0 <b>")),
            wall: Duration::ZERO,
            outcome: CellOutcome::Ran(Box::new(CellRun {
                inconclusive: Vec::new(),
                verdict: Verdict {
                    recovered,
                    recovery_time: recovered.then(|| Duration::from_millis(1500)),
                    attempts: 3,
                    error_kinds: [("NoCredentialsError".to_string(), 2)].into(),
                    ..Verdict::default()
                },
                checks: Vec::new(),
                timeline: Timeline::default(),
            })),
        }
    }

    fn report() -> Report {
        // A file stem holds no `/`; a description anything.
        let hostile = "x\"><img src=x onerror=alert(1)>";
        Report {
            schema_version: 1,
            passed: true,
            run: crate::report::model::RunInfo {
                id: "0123456789ab".into(),
                shard: None,
            },
            scenarios: vec![
                scenario("a-refuse", "refused", Some("refuse")),
                scenario(
                    "b-blackhole",
                    "<script>alert(1)</script>",
                    Some("blackhole"),
                ),
                scenario("c-refuse", "refused again", Some("refuse")),
                scenario(hostile, "quiet", None),
            ],
            cells: vec![
                cell(0, "a-refuse", "boto3", "call-retry", false),
                cell(1, "a-refuse", "boto3", "client-retry", true),
                cell(2, "b-blackhole", "js-v3@3.26.0", "call-retry", false),
                cell(3, "c-refuse", "boto3", "call-retry", false),
                cell(4, hostile, "boto3", "<i>", true),
            ],
        }
    }

    #[test]
    fn user_text_is_escaped_everywhere() {
        let page = render(
            &report(),
            &PageInfo {
                run_date: "<now>".into(),
            },
        );
        // The page's own script and nothing else.
        assert_eq!(page.matches("<script").count(), 1, "{page}");
        assert!(!page.contains("<b>") && !page.contains("<i>") && !page.contains("<now>"));
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(!page.contains("<img") && page.contains("x&quot;&gt;&lt;img src=x"));
        // Links are percent-encoded file names.
        assert!(page.contains("timelines/x%22%3E%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E.svg"));
        assert!(page.contains("explain/004-x___img_src_x_onerror_alert_1__-boto3__i_.txt"));
    }

    #[test]
    fn every_cell_once_in_its_row_and_column_grouped_by_fault() {
        let report = report();
        let page = render(
            &report,
            &PageInfo {
                run_date: "now".into(),
            },
        );
        for c in &report.cells {
            let id = escape(&format!("{}/{}", c.scenario, c.cell));
            assert_eq!(
                page.matches(&format!("data-cell=\"{id}\"")).count(),
                1,
                "{id}"
            );
        }
        // Columns: the refuse scenarios together (a, c), then blackhole, then no fault.
        let columns: Vec<&str> = page
            .split("class=\"scenario\"")
            .skip(1)
            .map(|s| {
                s.split("data-scenario=\"")
                    .nth(1)
                    .unwrap()
                    .split('"')
                    .next()
                    .unwrap()
            })
            .collect();
        assert_eq!(
            columns,
            [
                "a-refuse",
                "c-refuse",
                "b-blackhole",
                "x&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"
            ]
        );
        assert!(page.contains(r#"data-fault="refuse" colspan="2">refuse</th>"#));
        assert!(page.contains(r#"data-surface="IMDS" colspan="4">IMDS</th>"#));
        // Outcomes as classes and words.
        assert!(page.contains(r#"data-cell="a-refuse/boto3/client-retry" data-strategy="client-retry" data-outcome="recovered""#));
        assert!(page.contains("recovered after 1.50s"), "{page}");
        assert!(page.contains("not recovered (NoCredentialsError)"));
        // Two rows: boto3 first (first seen), then js-v3@3.26.0.
        let rows: Vec<&str> = page
            .split("<tr data-sdk=\"")
            .skip(1)
            .map(|s| s.split('"').next().unwrap())
            .collect();
        assert_eq!(rows, ["boto3", "js-v3@3.26.0"]);
    }

    #[test]
    fn writes_page_timelines_and_explain_files() {
        let dir = tempfile::tempdir().unwrap();
        let report = report();
        let page = write(
            &report,
            dir.path(),
            &PageInfo {
                run_date: "now".into(),
            },
        )
        .unwrap();
        assert_eq!(page, dir.path().join("index.html"));
        for c in &report.cells {
            let text = std::fs::read_to_string(dir.path().join(explain_file(c))).unwrap();
            assert!(
                text.starts_with(&format!("{}/{}", c.scenario, c.cell)),
                "{text}"
            );
            assert!(text.contains("diagnosis: "));
        }
        for s in &report.scenarios {
            assert!(dir
                .path()
                .join("timelines")
                .join(format!("{}.svg", s.name))
                .is_file());
        }
    }
}
