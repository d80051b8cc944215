//! JUnit XML (`--junit FILE`) with the `quick-junit` crate: one test suite per scenario,
//! one test case per cell named `scenario/driver/strategy`. A failed expectation is a
//! `<failure>` whose message states expected vs observed; a driver or setup problem, or an
//! inconclusive run (the harness could not stand behind a verdict), is an `<error>`; the
//! cell's outages (one line each) and event timeline (readable, one event per line) go in
//! `<system-out>`; its worst outcome and accepted calls are properties.

use std::time::Duration;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::explain;
use super::model;
use super::model::{CellOutcome, CellResult};
use super::wording;

/// Builds the JUnit report.
pub fn report(report: &model::Report) -> Report {
    let mut junit = Report::new("imds-harness");
    for scenario in &report.scenarios {
        let mut suite = TestSuite::new(scenario.name.clone());
        for cell in report.cells.iter().filter(|c| c.scenario == scenario.name) {
            suite.add_test_case(test_case(cell));
        }
        junit.add_test_suite(suite);
    }
    junit
}

fn test_case(cell: &CellResult) -> TestCase {
    let name = format!("{}/{}", cell.scenario, cell.cell);
    let mut properties: Vec<(&str, String)> = Vec::new();
    let (status, time, out) = match &cell.outcome {
        CellOutcome::Ran(run) => {
            let failures: Vec<&String> = run.checks.iter().flat_map(|c| &c.failures).collect();
            let status = if !run.inconclusive.is_empty() {
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
                status
                    .set_message(format!("inconclusive: {}", run.inconclusive.join("; ")))
                    .set_type("inconclusive");
                status
            } else if failures.is_empty() {
                TestCaseStatus::success()
            } else {
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                status
                    .set_message(
                        failures
                            .iter()
                            .map(|f| f.as_str())
                            .collect::<Vec<_>>()
                            .join("; "),
                    )
                    .set_type("expectation");
                status
            };
            let end = run.timeline.end();
            let v = &run.verdict;
            properties.push(("outcome", wording::outcome_text(v)));
            properties.push(("accepted", v.availability_text()));
            let mut out = String::new();
            for o in &v.outages {
                out.push_str(&format!("outage {}\n", wording::outage_text(o)));
            }
            out.push_str(&explain::timeline_text(&run.timeline));
            (status, end, out)
        }
        CellOutcome::Skipped(s) => {
            let mut status = TestCaseStatus::skipped();
            status
                .set_message(format!("{}; install it with: {}", s.reason, s.install))
                .set_type("driver-unavailable");
            (status, Duration::ZERO, String::new())
        }
        CellOutcome::SetupError(e) | CellOutcome::DriverError(e) => {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
            status.set_message(e.clone()).set_type(match cell.outcome {
                CellOutcome::SetupError(_) => "setup-error",
                _ => "driver-error",
            });
            (status, Duration::ZERO, String::new())
        }
    };
    let mut case = TestCase::new(name, status);
    case.set_classname(cell.scenario.clone()).set_time(time);
    if let Some(version) = &cell.sdk_version {
        case.add_property(("sdk", version.as_str()));
    }
    for (name, value) in properties {
        case.add_property((name, value.as_str()));
    }
    if !out.is_empty() {
        case.set_system_out(out);
    }
    case
}

/// The report as XML text.
///
/// # Errors
/// The serializer's error (not expected).
pub fn to_string(report: &model::Report) -> Result<String, quick_junit::SerializeError> {
    self::report(report).to_string()
}
