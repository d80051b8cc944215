//! Scenario files: TOML, parsed strictly.
//!
//! The file is read in two steps, in the style of nextest's config: serde reads the TOML
//! into raw shapes (`raw`: unknown keys and wrong types are errors at their line and
//! column), then each element turns its part into checked values, one file each:
//! [`schedule`] (`[[schedule]]`, `[[generate]]`), [`strategy`] (`[strategy.NAME]`),
//! [`driver`] (`[driver.NAME]`), [`matrix`] (`[matrix]` → cells), [`expect`]
//! (`[[expect]]`, and how an expectation is checked), [`imds`] (`[imds]`), [`handler`]
//! (`[handler]`: a termination-handler scenario, in place of `[matrix]`), [`network`]
//! (`[network]`); [`names`] tells
//! same-named files of one run apart. Each element's
//! errors are a type of its own; [`ScenarioError`] adds the file, line and column
//! ([`diag`]). A new key is one field in `raw` and its meaning in its element.
//!
//! Every error names the file, line and column and says what is accepted: unknown keys,
//! wrong types, bad durations, unknown drivers or strategies (with a "did you mean"),
//! two schedule steps at one time. The format (see `scenarios/*.toml` for examples):
//!
//! ```toml
//! description = "What this scenario shows"
//! [imds]
//! http_tokens = "optional"            # optional | required
//! [[schedule]]                        # IMDS state on the scenario clock; up before the first step
//! at = "0s"
//! state = "refuse"                    # a fault (see mock_imds::fault), `up on TARGET` or `up`
//! [[schedule]]
//! at = "2s"
//! state = "up"
//! [matrix]
//! drivers = ["rust-sdk", "boto3"]
//! strategies = ["call-retry", "client-retry"]
//! [strategy.call-retry]               # `kind` defaults to the table's name
//! attempts = 10
//! interval = "500ms"
//! [[expect]]                          # applies to every cell it matches; omit driver/strategy for all
//! driver = "boto3"
//! strategy = "call-retry"
//! recovers = false
//! error_kind = "NoCredentialsError"
//! imds_requests_after_recovery = 0
//! ```

use std::path::{Path, PathBuf};

pub mod diag;
#[cfg(test)]
mod discover_tests;
pub mod driver;
pub mod endpoint;
pub mod error_kinds;
pub mod expect;
pub mod expect_credentials;
pub mod handler;
pub mod imds;
pub mod imds_requests;
pub mod matrix;
pub mod names;
pub mod network;
mod raw;
pub mod schedule;
pub mod strategy;
#[cfg(test)]
mod tests;

use mock_imds::{Generator, Schedule};

pub use diag::line_column;
use diag::{At, Span};
pub use endpoint::EndpointSettings;
pub use expect::{Expectation, Premise, UnknownPremise};
pub use imds::ImdsSettings;
pub use matrix::Cell;
pub use network::{NetworkMode, NetworkSettings};
pub use raw::parse_duration;
pub use strategy::{MAX_ATTEMPTS, MAX_CELL_SPAN};

/// A parsed, validated scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The file name without `.toml`.
    pub name: String,
    /// Where it was read from.
    pub file: PathBuf,
    /// What it shows, for the report.
    pub description: String,
    /// IMDS options.
    pub imds: ImdsSettings,
    /// The credentials surface the cells take (`[endpoint]`; default IMDS).
    pub endpoint: EndpointSettings,
    /// `[network]`: loopback (default) or a link-local namespace of each cell's own.
    pub network: NetworkSettings,
    /// The IMDS schedule on the scenario clock: explicit steps and expanded generators.
    pub schedule: Schedule,
    /// The seed that expanded the generators and seeds the mock's fault draws.
    pub seed: u64,
    /// The generators, as written (their steps are in `schedule`).
    pub generators: Vec<Generator>,
    /// The cells: every driver × every strategy, in file order.
    pub cells: Vec<Cell>,
    /// Expectations, each with the cells it applies to.
    pub expectations: Vec<Expectation>,
    /// Things that are valid but probably not what was meant (printed by `run` and
    /// `validate`), e.g. a strategy whose attempts end before IMDS recovers.
    pub warnings: Vec<String>,
}

/// A scenario file that cannot be used: where, and what is wrong. Displayed as one line,
/// `FILE:LINE:COLUMN: PROBLEM`, with control characters in the problem escaped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}:{line}:{column}: {}", file.display(), self.message())]
pub struct ScenarioError {
    /// The file.
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column (characters).
    pub column: usize,
    /// What is wrong (boxed: the error stays small on the happy path).
    pub problem: Box<Problem>,
}

impl ScenarioError {
    /// What is wrong and what is accepted, on one line of plain text.
    pub fn message(&self) -> String {
        diag::escape_controls(&self.problem.to_string())
    }
}

/// What is wrong with a scenario file, by the element that found it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// The file could not be read.
    #[error("cannot read scenario file: {0}")]
    Unreadable(String),
    /// A path given to [`discover`] does not exist.
    #[error("cannot read: {0}")]
    Missing(String),
    /// Not TOML, an unknown key, or a value of the wrong type (the TOML reader's message).
    #[error("{0}")]
    Toml(String),
    /// `[[schedule]]` or `[[generate]]`.
    #[error(transparent)]
    Schedule(#[from] schedule::ScheduleProblem),
    /// `[strategy.NAME]`.
    #[error(transparent)]
    Strategy(#[from] strategy::StrategyError),
    /// `[driver.NAME]`.
    #[error(transparent)]
    Driver(#[from] driver::DriverProblem),
    /// `[matrix]`.
    #[error(transparent)]
    Matrix(#[from] matrix::MatrixError),
    /// `[[expect]]`.
    #[error(transparent)]
    Expect(#[from] expect::ExpectError),
    /// `[handler]`.
    #[error(transparent)]
    Handler(#[from] handler::HandlerProblem),
    /// `[imds]`: credential times that cannot mean anything.
    #[error("{0}")]
    Imds(String),
    /// `[endpoint]`.
    #[error(transparent)]
    Endpoint(#[from] endpoint::EndpointProblem),
    /// `rust-sdk` in a scenario whose `[endpoint]` is a container endpoint.
    #[error("{}", crate::runner::cell::RUST_SDK_CONTAINER)]
    RustSdkContainer,
    /// A driver in the matrix whose clock the scenario's `clock` steps cannot move.
    #[error("`{0}` cannot follow the cell clock this scenario's `clock` steps jump: Go programs read the time without libc, so libfaketime does not reach them; leave it out of this matrix")]
    ClockUnreachable(String),
}

/// Turns element errors into [`ScenarioError`]s of one file.
struct Locator<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Locator<'_> {
    fn error(&self, span: Option<Span>, problem: Problem) -> ScenarioError {
        let (line, column) = line_column(self.text, span.map_or(0, |s| s.start));
        ScenarioError {
            file: self.path.to_path_buf(),
            line,
            column,
            problem: Box::new(problem),
        }
    }

    fn at<E: Into<Problem>>(&self, at: At<E>) -> ScenarioError {
        self.error(at.span, at.error.into())
    }
}

/// Reads and validates a scenario file.
///
/// # Errors
/// [`ScenarioError`] for an unreadable or invalid file (I/O errors at line 1, column 1).
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    load_with_seed(path, None)
}

/// Like [`load`], with `seed` (when given) replacing the file's `seed`.
///
/// # Errors
/// As [`load`].
pub fn load_with_seed(path: &Path, seed: Option<u64>) -> Result<Scenario, ScenarioError> {
    let text = std::fs::read_to_string(path).map_err(|e| ScenarioError {
        file: path.to_path_buf(),
        line: 1,
        column: 1,
        problem: Box::new(Problem::Unreadable(e.to_string())),
    })?;
    parse_with_seed(path, &text, seed)
}

/// Parses scenario text; `path` names it in errors and gives the scenario its name.
///
/// # Errors
/// [`ScenarioError`] pointing at the offending key or value.
pub fn parse(path: &Path, text: &str) -> Result<Scenario, ScenarioError> {
    parse_with_seed(path, text, None)
}

/// Like [`parse`], with `seed` (when given) replacing the file's `seed`.
///
/// # Errors
/// As [`parse`].
pub fn parse_with_seed(
    path: &Path,
    text: &str,
    seed: Option<u64>,
) -> Result<Scenario, ScenarioError> {
    let loc = Locator { path, text };
    let raw: raw::RawScenario = toml::from_str(text)
        .map_err(|e| loc.error(e.span(), Problem::Toml(diag::one_line(e.message()))))?;
    let seed = seed.or(raw.seed).unwrap_or(0);
    mock_imds::check_credential_times(
        raw.imds.credential_lifetime.map(|d| d.0),
        raw.imds.rotate_before_expiry.map(|d| d.0),
    )
    .map_err(|why| {
        // At the key that says it (the `[imds]` table is read without positions).
        let at = ["credential_lifetime", "rotate_before_expiry"]
            .iter()
            .find_map(|k| {
                text.find(&format!("{k} "))
                    .or_else(|| text.find(&format!("{k}=")))
            });
        loc.error(at.map(|start| start..start), Problem::Imds(why))
    })?;
    let endpoint =
        EndpointSettings::read(raw.endpoint.as_ref(), raw.network.mode).map_err(|e| loc.at(e))?;
    let (schedule, generators) =
        schedule::read(&raw.schedule, &raw.generate, seed).map_err(|e| loc.at(e))?;
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let name = path
        .file_stem()
        .map_or_else(|| "scenario".into(), |s| s.to_string_lossy().into_owned());
    let (cells, expectations, warnings) = match (raw.matrix, &raw.handler) {
        (Some(matrix), None) => {
            let strategies = strategy::read(&raw.strategy).map_err(|e| loc.at(e))?;
            let drivers = driver::read_tables(&raw.driver, dir).map_err(|e| loc.at(e))?;
            let cells = matrix::cells(&matrix, &strategies, &drivers).map_err(|e| loc.at(e))?;
            // Where a driver is named in `[matrix] drivers`: errors about a cell point there.
            let driver_span = |name: &str| {
                matrix
                    .drivers
                    .iter()
                    .find(|d| d.get_ref() == name)
                    .map(|d| d.span())
            };
            // A clock only some drivers could follow would give those cells a verdict on the
            // wrong clock (the runner refuses such a cell too, for scenarios built in code).
            if let Some(cell) = cells.iter().find(|c| {
                c.driver.kind.ignores_libfaketime()
                    && (schedule.moves_clock() || c.driver.settings.has_clock_offset())
            }) {
                let at = driver_span(&cell.driver.name);
                return Err(loc.error(at, Problem::ClockUnreachable(cell.driver.name.clone())));
            }
            if endpoint.surface().is_some() {
                if let Some(cell) = cells
                    .iter()
                    .find(|c| c.driver.kind == crate::driver::DriverKind::RustSdk)
                {
                    return Err(
                        loc.error(driver_span(&cell.driver.name), Problem::RustSdkContainer)
                    );
                }
            }
            let expectations = expect::read(raw.expect, &matrix, &strategies, &cells, &schedule)
                .map_err(|e| loc.at(e))?;
            let mut warnings = expect::warnings(path, &cells, &expectations);
            warnings.extend(strategy::warnings(path, &strategies, &schedule));
            (cells, expectations, warnings)
        }
        (None, Some(handler)) => {
            // A handler scenario: one cell, judged on its notice (no strategies,
            // drivers or expectations of its own).
            if !raw.expect.is_empty() || !raw.strategy.is_empty() || !raw.driver.is_empty() {
                let at = ["[[expect]]", "[strategy.", "[driver."]
                    .iter()
                    .filter_map(|k| text.find(k))
                    .min();
                return Err(loc.error(at.map(|a| a..a), handler::HandlerProblem::MatrixKey.into()));
            }
            let spec = handler::read(handler, &schedule, dir).map_err(|e| loc.at(e))?;
            (vec![Cell::handler(spec)], Vec::new(), Vec::new())
        }
        (Some(_), Some(handler)) => {
            return Err(loc.error(
                Some(handler.span()),
                handler::HandlerProblem::MatrixOrHandler("both").into(),
            ))
        }
        (None, None) => {
            return Err(loc.error(
                None,
                handler::HandlerProblem::MatrixOrHandler("neither").into(),
            ))
        }
    };
    Ok(Scenario {
        warnings,
        name,
        file: path.to_path_buf(),
        description: raw.description.trim().to_string(),
        imds: raw.imds.into(),
        endpoint,
        network: raw.network,
        schedule,
        seed,
        generators,
        cells,
        expectations,
    })
}

/// Finds scenario files: each path that is a file, and every `*.toml` in each path that
/// is a directory or in its subfolders (`scenarios/sdk-tests/`), sorted by path (a
/// folder's files before its subfolders'); a file given twice (also through another path
/// to it) is listed once, where it first appears.
///
/// # Errors
/// A [`ScenarioError`] (line 1, column 1) for a path that does not exist or a folder
/// that cannot be read.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<PathBuf>, ScenarioError> {
    let mut files = Vec::new();
    for path in paths {
        let missing = |at: &Path, e: std::io::Error| ScenarioError {
            file: at.to_path_buf(),
            line: 1,
            column: 1,
            problem: Box::new(Problem::Missing(e.to_string())),
        };
        if path.is_dir() {
            discover_dir(path, &mut files).map_err(|(at, e)| missing(&at, e))?;
        } else {
            std::fs::metadata(path).map_err(|e| missing(path, e))?;
            files.push(path.clone());
        }
    }
    let mut seen = Vec::new();
    files.retain(|f| {
        let key = std::fs::canonicalize(f).unwrap_or_else(|_| f.clone());
        let new = !seen.contains(&key);
        seen.push(key);
        new
    });
    Ok(files)
}

/// Appends the `*.toml` files of `dir`, sorted, then those of each subfolder in name
/// order. Symbolic links to folders are not followed (no loops); links to files are.
fn discover_dir(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), (PathBuf, std::io::Error)> {
    let mut entries: Vec<(PathBuf, bool)> = std::fs::read_dir(dir)
        .map_err(|e| (dir.to_path_buf(), e))?
        .filter_map(|e| e.ok())
        .map(|e| (e.path(), e.file_type().is_ok_and(|t| t.is_dir())))
        .collect();
    entries.sort();
    let mut subfolders = Vec::new();
    for (path, is_dir) in entries {
        if is_dir {
            subfolders.push(path);
        } else if path.extension().is_some_and(|x| x == "toml") {
            files.push(path);
        }
    }
    for sub in subfolders {
        discover_dir(&sub, files)?;
    }
    Ok(())
}
