//! `imds-harness bisect SCENARIO --driver KIND --from V1 --to V2`: the first release of
//! an SDK whose verdict on one of the scenario's cells differs from V1's.
//!
//! The releases between V1 and V2 come from the SDK's registry ([`harness::registry`]);
//! the cell runs on each release the binary search ([`harness::bisect`]) needs, each in
//! the `kind@VERSION` environment the drivers create and cache (see
//! [`harness::driver::envs`]), so a second bisect over the same releases builds nothing.
//! The cell keeps the scenario's schedule, strategy, SDK settings and the premises the
//! scenario sets for that SDK's cells; its other expectations are not checked: bisect
//! compares outcomes.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use harness::bisect::{self, Finding, Probe, Tested};
use harness::driver::envs;
use harness::driver::kind::DriverKind;
use harness::driver::DriverSpec;
use harness::registry::{self, Source};
use harness::report::outcome::{cell_outcome, Outcome};
use harness::runner::{self, Selection};
use harness::scenario::{Cell, Expectation, Scenario};
use serde::Serialize;

use super::cells;
use super::error::CliError;
use super::select;

#[derive(clap::Args, Debug)]
pub struct BisectArgs {
    /// The scenario file.
    scenario: PathBuf,
    /// The SDK: boto3, aws-cli or js-v3.
    #[arg(long, value_name = "KIND")]
    driver: DriverKind,
    /// The first release of the range, e.g. 3.20.0: its verdict is the reference (or the
    /// first testable release's after it, when it cannot be tested).
    #[arg(long, value_name = "VERSION")]
    from: String,
    /// The last release of the range, e.g. 3.40.0.
    #[arg(long, value_name = "VERSION")]
    to: String,
    /// Which of the scenario's cells of that SDK, `DRIVER/STRATEGY` (a glob, e.g.
    /// `js-v3/call-retry`); needed when they differ in strategy or SDK settings.
    #[arg(long, value_name = "DRIVER/STRATEGY")]
    cell: Option<String>,
    /// Write the result (releases, runs, finding) as JSON.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Seed for schedule generators and fault probabilities (default: the file's).
    #[arg(long)]
    seed: Option<u64>,
}

/// One run, as the report lists it.
#[derive(Debug, Serialize)]
struct Run {
    #[serde(flatten)]
    tested: Tested,
    /// The SDK the driver loaded (`boto3 1.26.0 (botocore 1.29.0)`).
    sdk_version: Option<String>,
    /// For boto3 and the AWS CLI: the botocore the release requires, as its environment
    /// recorded it from the release's wheel (its lowest allowed version is installed).
    botocore_required: Option<String>,
    /// This run created the release's environment (it was not cached).
    environment_built: bool,
}

/// The whole result, for `--json`.
#[derive(Debug, Serialize)]
struct BisectReport {
    scenario: String,
    cell: String,
    registry: String,
    releases: Vec<String>,
    runs: Vec<Run>,
    #[serde(flatten)]
    finding: Finding,
    environments_built: usize,
    #[serde(rename = "took_ms", with = "harness::ms")]
    took: Duration,
}

/// The one cell the bisect varies: the scenario's cells of `kind` matching `--cell`.
fn template(scenario: &Scenario, kind: &DriverKind, glob: Option<&str>) -> Result<Cell, CliError> {
    let matching: Vec<&Cell> = scenario
        .cells
        .iter()
        .filter(|c| c.driver.kind == *kind)
        .filter(|c| glob.is_none_or(|g| harness::glob::matches(g, &c.id())))
        .collect();
    let Some(first) = matching.first() else {
        let all: Vec<String> = scenario.cells.iter().map(Cell::id).collect();
        return Err(CliError::Input(format!(
            "{}: no {kind} cell{}; its cells: {}",
            scenario.file.display(),
            glob.map(|g| format!(" matches --cell {g}"))
                .unwrap_or_default(),
            all.join(", ")
        )));
    };
    if matching
        .iter()
        .any(|c| c.strategy != first.strategy || c.driver.settings != first.driver.settings)
    {
        let ids: Vec<String> = matching.iter().map(|c| c.id()).collect();
        return Err(CliError::Input(format!(
            "{}: the {kind} cells differ in strategy or SDK settings ({}); name one with --cell DRIVER/STRATEGY",
            scenario.file.display(),
            ids.join(", ")
        )));
    }
    Ok((*first).clone())
}

/// `scenario` with one cell: `template` at `version`, and the premises the scenario
/// sets for any cell of that SDK and strategy.
fn one_cell(scenario: &Scenario, template: &Cell, version: &str) -> Scenario {
    let kind = &template.driver.kind;
    let premises: Vec<Expectation> = scenario
        .expectations
        .iter()
        .filter(|e| e.premise.is_some())
        .filter(|e| {
            scenario.cells.iter().any(|c| {
                c.driver.kind == *kind && c.strategy == template.strategy && e.applies_to(c)
            })
        })
        .map(|e| Expectation {
            premise: e.premise,
            ..Expectation::default()
        })
        .collect();
    let mut premises_once: Vec<Expectation> = Vec::new();
    for p in premises {
        if !premises_once.contains(&p) {
            premises_once.push(p);
        }
    }
    Scenario {
        cells: vec![Cell {
            driver: DriverSpec {
                name: format!("{kind}@{version}"),
                kind: kind.clone(),
                version: Some(version.to_string()),
                settings: template.driver.settings.clone(),
                passthrough: template.driver.passthrough.clone(),
            },
            strategy: template.strategy.clone(),
            handler: None,
        }],
        expectations: premises_once,
        warnings: Vec::new(),
        ..scenario.clone()
    }
}

fn release(
    text: &str,
    flag: &str,
    releases: &[semver::Version],
    source: Source,
) -> Result<usize, CliError> {
    let wanted = registry::release_version(text).ok_or_else(|| {
        CliError::Input(format!(
            "{flag} {text}: not a release version like 3.27.0 (pre-releases are not bisected)"
        ))
    })?;
    releases.iter().position(|v| *v == wanted).ok_or_else(|| {
        let near: Vec<String> = releases
            .iter()
            .filter(|v| v.major == wanted.major && v.minor.abs_diff(wanted.minor) <= 2)
            .map(ToString::to_string)
            .collect();
        CliError::Input(format!(
            "{flag} {text}: {source} has no such release{}",
            if near.is_empty() {
                String::new()
            } else {
                format!(" (near it: {})", near.join(", "))
            }
        ))
    })
}

/// Runs the search and prints what it ran and found.
pub fn run(args: BisectArgs) -> Result<(), CliError> {
    let started = Instant::now();
    let source = Source::of(&args.driver).map_err(|e| CliError::Input(e.to_string()))?;
    let scenarios = select::load(std::slice::from_ref(&args.scenario), args.seed)?;
    let [scenario] = scenarios.as_slice() else {
        return Err(CliError::Input(format!(
            "{}: bisect takes one scenario file, found {}",
            args.scenario.display(),
            scenarios.len()
        )));
    };
    let template = template(scenario, &args.driver, args.cell.as_deref())?;
    let all = registry::releases(source).map_err(CliError::setup)?;
    let (from, to) = (
        release(&args.from, "--from", &all, source)?,
        release(&args.to, "--to", &all, source)?,
    );
    if from >= to {
        return Err(CliError::Input(format!(
            "--from {} must be an earlier release than --to {}",
            args.from, args.to
        )));
    }
    let releases = &all[from..=to];
    let cell_name = format!("{}/{}", args.driver, template.strategy.name);
    super::out::line(&format!(
        "{} releases of {source} from {} to {} (pre-releases excluded); cell {}/{cell_name}",
        releases.len(),
        args.from,
        args.to,
        scenario.name
    ));
    // Every release runs in its own environment (created with `python3` or `npm` from
    // PATH), so no --python here.
    let options = cells::options(None, None, harness::driver::DEFAULT_OPERATION_TIMEOUT);
    let mut runs: Vec<Run> = Vec::new();
    let mut interrupted = false;
    let (finding, _) = bisect::search(releases, |version| {
        let version = version.to_string();
        if interrupted {
            return Probe::Skipped {
                reason: "interrupted".into(),
            };
        }
        let cached = envs::is_cached(&args.driver, &version, &options.setup);
        let planned = runner::plan(
            &[one_cell(scenario, &template, &version)],
            &Selection::default(),
        );
        let result = match cells::run_cells(planned, &options) {
            Ok(Some(results)) => results.into_iter().next(),
            Ok(None) => {
                interrupted = true;
                None
            }
            Err(e) => {
                return Probe::Skipped {
                    reason: e.message().unwrap_or_default(),
                }
            }
        };
        let (probe, sdk_version) = match &result {
            None => (
                Probe::Skipped {
                    reason: "interrupted".into(),
                },
                None,
            ),
            Some(cell) => {
                let outcome = cell_outcome(cell);
                let probe = match &outcome {
                    o if o.is_verdict() => Probe::Verdict {
                        class: o.class().to_string(),
                        text: o.to_string(),
                    },
                    Outcome::Error { message } => Probe::Skipped {
                        reason: format!("driver error: {}", message.trim()),
                    },
                    Outcome::Inconclusive { why } => Probe::Skipped {
                        reason: format!("inconclusive: {}", why.join("; ")),
                    },
                    o => Probe::Skipped {
                        reason: o.to_string(),
                    },
                };
                // A verdict counts for a release only if the driver loaded that release.
                let loaded = cell.sdk_version.as_deref().unwrap_or("");
                let probe = match probe {
                    Probe::Verdict { .. }
                        if !loaded.split_whitespace().any(|word| word == version) =>
                    {
                        Probe::Skipped {
                            reason: format!(
                                "the driver loaded `{loaded}`, not {version}: no verdict for {version}"
                            ),
                        }
                    }
                    probe => probe,
                };
                (probe, cell.sdk_version.clone())
            }
        };
        let environment_built = !cached && envs::is_cached(&args.driver, &version, &options.setup);
        let botocore_required = match source {
            Source::PyPi(_) => Some(
                envs::botocore_requirement(&args.driver, &version, &options.setup).unwrap_or_else(
                    || "not recorded (no environment, or one created before it was kept)".into(),
                ),
            ),
            Source::Npm(_) => None,
        };
        super::out::line(&format!(
            "  {version}: {}{}{}",
            match &probe {
                Probe::Verdict { text, .. } => text.clone(),
                Probe::Skipped { reason } => format!("skipped — {reason}"),
            },
            sdk_version
                .as_deref()
                .map(|v| format!(" [{v}]"))
                .unwrap_or_default(),
            botocore_required
                .as_deref()
                .map(|b| format!(" [requires botocore {b}]"))
                .unwrap_or_default(),
        ));
        runs.push(Run {
            tested: Tested {
                version,
                probe: probe.clone(),
            },
            sdk_version,
            botocore_required,
            environment_built,
        });
        probe
    });
    if interrupted {
        return Err(CliError::Interrupted(Some(
            "interrupted: every driver process was stopped",
        )));
    }
    let built = runs.iter().filter(|r| r.environment_built).count();
    let took = started.elapsed();
    let from_note = |reference: &str| {
        if reference == args.from {
            String::new()
        } else {
            format!(
                " (the first release from {} that gave a verdict; the ones before it were skipped, see above)",
                args.from
            )
        }
    };
    let summary = match &finding {
        Finding::Changed {
            reference,
            last_same,
            before,
            first_different,
            after,
        } => format!(
            "first release whose verdict differs from {reference}'s{}: {first_different}\n  {last_same}: {before}\n  {first_different}: {after}",
            from_note(reference)
        ),
        Finding::Unchanged {
            reference,
            last_tested,
            first,
            last,
        } => format!(
            "the verdict does not change from {reference} to {last_tested}{}: {reference} {first}, {last_tested} {last} (the releases between were not run)",
            from_note(reference)
        ),
        Finding::Undecided {
            last_same,
            first_different,
            skipped,
        } => format!(
            "the verdict changes after {last_same} and by {first_different}, but no release between could be tested ({})",
            skipped.join(", ")
        ),
        Finding::Untestable { reason } => {
            format!("cannot bisect: no two releases gave a verdict ({reason})")
        }
    };
    super::out::line(&summary);
    super::out::line(&format!(
        "{} of {} releases run, {built} environment{} built ({} cached), took {}",
        runs.len(),
        releases.len(),
        if built == 1 { "" } else { "s" },
        runs.len() - built,
        humantime::format_duration(Duration::from_secs(took.as_secs()))
    ));
    if let Some(path) = &args.json {
        let report = BisectReport {
            scenario: scenario.name.clone(),
            cell: cell_name,
            registry: source.to_string(),
            releases: releases.iter().map(ToString::to_string).collect(),
            runs,
            finding: finding.clone(),
            environments_built: built,
            took,
        };
        let text = serde_json::to_string_pretty(&report).map_err(CliError::setup)?;
        std::fs::write(path, text + "\n")
            .map_err(|e| CliError::Setup(format!("cannot write {}: {e}", path.display())))?;
    }
    match finding {
        Finding::Changed { .. } | Finding::Unchanged { .. } => Ok(()),
        Finding::Undecided { .. } => Err(CliError::Failed),
        Finding::Untestable { .. } => Err(CliError::CellSetup),
    }
}
