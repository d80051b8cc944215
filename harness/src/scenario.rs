//! Scenario files: TOML, parsed strictly.
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

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use mock_imds::{Change, DurationRange, FaultSpec, Generator, HttpTokens, Schedule, Step};
use serde::{Deserialize, Deserializer};
use toml::Spanned;

use crate::driver::spec::{parse_sdk, SdkError};
use crate::driver::{DriverKind, DriverSpec, SdkSettings};
use crate::strategy::{Pacing, Strategy, StrategyKind};

/// Most attempts a strategy may make.
pub const MAX_ATTEMPTS: u32 = 10_000;

/// Longest a strategy's attempts may span (first to last attempt start): 1 h, so that a
/// unit typo (`500m` for `500ms`) is an error rather than a run that never ends.
pub const MAX_CELL_SPAN: Duration = Duration::from_secs(3600);

/// A scenario file that cannot be used: where, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}:{line}:{column}: {message}", file.display())]
pub struct ScenarioError {
    /// The file.
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column (characters).
    pub column: usize,
    /// What is wrong and what is accepted, on one line.
    pub message: String,
}

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

/// IMDS options a scenario may set.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ImdsSettings {
    /// EC2 `HttpTokens`: `optional` (default) or `required`.
    #[serde(default)]
    pub http_tokens: HttpTokens,
    /// Lifetime of issued role credentials (default 6 h, as EC2): set it just above an
    /// SDK's refresh window (botocore: 15 min advisory, 10 min mandatory) to reach the
    /// refresh within seconds.
    #[serde(default, deserialize_with = "optional_duration")]
    pub credential_lifetime: Option<Duration>,
    /// A new set is issued once the current one has less than this left (default 5 min).
    #[serde(default, deserialize_with = "optional_duration")]
    pub rotate_before_expiry: Option<Duration>,
}

impl ImdsSettings {
    /// The mock's config for these settings.
    pub fn config(&self) -> mock_imds::ImdsConfig {
        let defaults = mock_imds::ImdsConfig::default();
        mock_imds::ImdsConfig {
            http_tokens: self.http_tokens,
            credential_lifetime: self
                .credential_lifetime
                .unwrap_or(defaults.credential_lifetime),
            rotate_before_expiry: self
                .rotate_before_expiry
                .unwrap_or(defaults.rotate_before_expiry),
            ..defaults
        }
    }
}

/// One cell of the matrix: a driver under a strategy.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    /// The SDK driver.
    pub driver: DriverSpec,
    /// The retry strategy.
    pub strategy: Strategy,
}

impl Cell {
    /// `driver/strategy`, e.g. `boto3/call-retry`.
    pub fn id(&self) -> String {
        format!("{}/{}", self.driver, self.strategy.name)
    }
}

/// What a cell's verdict must show. `None` fields are not checked.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Expectation {
    /// Only cells whose driver name matches this glob, e.g. `boto3` or `boto3*` (all
    /// when `None`).
    pub driver: Option<String>,
    /// Only cells with this strategy name (all when `None`).
    pub strategy: Option<String>,
    /// Whether an STS-accepted call must happen (`true`) or must not (`false`).
    pub recovers: Option<bool>,
    /// Upper bound on the time from IMDS recovery to the first accepted call.
    pub within: Option<Duration>,
    /// Upper bound on the attempts that started after IMDS recovered, up to and including
    /// the first accepted one (0 when that one had started before): load-independent, for
    /// drivers whose every call pays a process start-up (the AWS CLI), where a time bound
    /// measures the machine rather than the SDK.
    pub within_attempts: Option<u32>,
    /// Every failed attempt must have failed with this error kind (and one must have).
    pub error_kind: Option<String>,
    /// Exact number of IMDS requests between recovery and the end of the attempts.
    pub imds_requests_after_recovery: Option<usize>,
    /// Exact number of distinct access keys that signed accepted calls (1: kept the old
    /// credentials; 2: fetched new ones).
    pub keys_used: Option<usize>,
    /// Exact number of calls STS rejected (bad signature, expired token, …), retries
    /// inside one SDK call included.
    pub sts_rejections: Option<usize>,
    /// What the run must show before this expectation's verdict counts (else the cell is
    /// inconclusive; see [`crate::integrity`]).
    pub premise: Option<crate::integrity::Premise>,
}

impl Expectation {
    /// True when this expectation applies to `cell`.
    pub fn applies_to(&self, cell: &Cell) -> bool {
        self.driver
            .as_ref()
            .is_none_or(|d| crate::glob::matches(d, &cell.driver.name))
            && self
                .strategy
                .as_ref()
                .is_none_or(|s| *s == cell.strategy.name)
    }
}

impl fmt::Display for Expectation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(r) = self.recovers {
            parts.push(if r {
                "recovers".to_string()
            } else {
                "never recovers".to_string()
            });
        }
        if let Some(w) = self.within {
            parts.push(format!("within {}", humantime::format_duration(w)));
        }
        if let Some(n) = self.within_attempts {
            parts.push(format!(
                "within {n} attempt{} after recovery",
                if n == 1 { "" } else { "s" }
            ));
        }
        if let Some(k) = &self.error_kind {
            parts.push(format!("fails with {k}"));
        }
        if let Some(n) = self.imds_requests_after_recovery {
            parts.push(format!("{n} IMDS requests after recovery"));
        }
        if let Some(n) = self.keys_used {
            parts.push(format!("{n} signing keys"));
        }
        if let Some(n) = self.sts_rejections {
            parts.push(format!("{n} STS rejections"));
        }
        if let Some(p) = self.premise {
            parts.push(format!("(premise: {p})"));
        }
        f.write_str(&parts.join(", "))
    }
}

// ---- raw TOML shapes -------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    #[serde(default)]
    description: String,
    #[serde(default)]
    imds: ImdsSettings,
    #[serde(default)]
    schedule: Vec<Spanned<RawStep>>,
    seed: Option<u64>,
    #[serde(default)]
    generate: Vec<Spanned<RawGenerate>>,
    matrix: RawMatrix,
    #[serde(default)]
    strategy: BTreeMap<String, Spanned<RawStrategy>>,
    #[serde(default)]
    driver: BTreeMap<String, Spanned<RawDriver>>,
    #[serde(default)]
    expect: Vec<RawExpect>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    #[serde(deserialize_with = "duration")]
    at: Duration,
    state: Change,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGenerate {
    kind: Spanned<String>,
    fault: FaultSpec,
    #[serde(default, deserialize_with = "optional_range")]
    down: Option<DurationRange>,
    #[serde(default, deserialize_with = "optional_range")]
    up: Option<DurationRange>,
    #[serde(default, deserialize_with = "optional_duration")]
    until: Option<Duration>,
    count: Option<u32>,
    #[serde(default, deserialize_with = "optional_range")]
    duration: Option<DurationRange>,
    #[serde(default, deserialize_with = "optional_duration")]
    within: Option<Duration>,
}

fn optional_range<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DurationRange>, D::Error> {
    let [min, max] = <[String; 2]>::deserialize(d)?;
    let min = parse_duration(&min).map_err(serde::de::Error::custom)?;
    let max = parse_duration(&max).map_err(serde::de::Error::custom)?;
    DurationRange::new(min, max).map(Some).ok_or_else(|| {
        serde::de::Error::custom("a range is [\"MIN\", \"MAX\"] with MIN no larger than MAX")
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMatrix {
    drivers: Vec<Spanned<String>>,
    strategies: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStrategy {
    kind: Option<Spanned<String>>,
    attempts: Option<u32>,
    #[serde(default, deserialize_with = "optional_duration")]
    interval: Option<Duration>,
    backoff: Option<RawBackoff>,
    #[serde(default)]
    continue_after_success: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBackoff {
    #[serde(deserialize_with = "duration")]
    base: Duration,
    #[serde(deserialize_with = "duration")]
    max: Duration,
    #[serde(default)]
    jitter: bool,
}

/// `[driver.NAME]`: `sdk = "kind[@version]"` plus the SDK's own settings.
#[derive(Deserialize)]
struct RawDriver {
    sdk: Spanned<String>,
    #[serde(flatten)]
    settings: BTreeMap<String, toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExpect {
    driver: Option<Spanned<String>>,
    strategy: Option<Spanned<String>>,
    recovers: Option<bool>,
    #[serde(default, deserialize_with = "optional_duration")]
    within: Option<Duration>,
    within_attempts: Option<u32>,
    error_kind: Option<String>,
    imds_requests_after_recovery: Option<usize>,
    keys_used: Option<usize>,
    sts_rejections: Option<usize>,
    premise: Option<Spanned<String>>,
}

/// Parses `500ms`, `2s`, `1m 30s` (humantime syntax).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text).map_err(|e| {
        format!("invalid duration `{text}` ({e}); write a number with a unit, e.g. \"500ms\", \"2s\", \"1m 30s\"")
    })
}

fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(d)?;
    parse_duration(&text).map_err(serde::de::Error::custom)
}

fn optional_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    duration(d).map(Some)
}

// ---- loading ---------------------------------------------------------------------

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
        message: format!("cannot read scenario file: {e}"),
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
    let at = |span: Option<Range<usize>>, message: String| {
        let (line, column) = line_column(text, span.map_or(0, |s| s.start));
        ScenarioError {
            file: path.to_path_buf(),
            line,
            column,
            message: escape_controls(&message),
        }
    };
    let raw: RawScenario = toml::from_str(text).map_err(|e| at(e.span(), one_line(e.message())))?;

    let seed = seed.or(raw.seed).unwrap_or(0);
    let mut steps: Vec<Step> = raw
        .schedule
        .iter()
        .map(|s| Step::new(s.get_ref().at, s.get_ref().state.clone()))
        .collect();
    let explicit = steps.len();
    let mut generators = Vec::new();
    for (i, spanned) in raw.generate.iter().enumerate() {
        let g = spanned.get_ref();
        let missing = |key: &str| {
            at(
                Some(spanned.span()),
                format!("a `{}` generator needs `{key}`", g.kind.get_ref()),
            )
        };
        let generator = match g.kind.get_ref().as_str() {
            "flap" => Generator::Flap {
                fault: g.fault.clone(),
                down: g.down.ok_or_else(|| missing("down = [\"MIN\", \"MAX\"]"))?,
                up: g.up.ok_or_else(|| missing("up = [\"MIN\", \"MAX\"]"))?,
                until: g.until.ok_or_else(|| missing("until"))?,
            },
            "random-outages" => Generator::RandomOutages {
                fault: g.fault.clone(),
                count: g.count.ok_or_else(|| missing("count"))?,
                duration: g
                    .duration
                    .ok_or_else(|| missing("duration = [\"MIN\", \"MAX\"]"))?,
                within: g.within.ok_or_else(|| missing("within"))?,
            },
            other => {
                return Err(at(
                    Some(g.kind.span()),
                    unknown(
                        "generator kind",
                        other,
                        &["flap", "random-outages"],
                        "seeded schedule generators",
                    ),
                ))
            }
        };
        // Each generator draws from its own stream, so adding one leaves the others alone.
        let expanded = generator
            .expand(seed.wrapping_add(i as u64))
            .map_err(|e| at(Some(spanned.span()), e.to_string()))?;
        steps.extend(expanded);
        generators.push(generator);
    }
    let schedule = Schedule::new(steps.clone()).map_err(|e| {
        let mock_imds::ScheduleError::Conflict(t) = &e;
        let span = raw
            .schedule
            .iter()
            .filter(|s| s.get_ref().at == *t)
            .nth(1)
            .map(|s| s.span())
            .or_else(|| (steps.len() > explicit).then(|| raw.generate[0].span()));
        at(span, e.to_string())
    })?;

    let mut strategies: BTreeMap<String, Strategy> = BTreeMap::new();
    for (name, spanned) in &raw.strategy {
        let s = spanned.get_ref();
        let kind_text = s
            .kind
            .as_ref()
            .map_or(name.as_str(), |k| k.get_ref().as_str());
        let kind_span = s.kind.as_ref().map_or(spanned.span(), |k| k.span());
        let kind: StrategyKind = kind_text.parse().map_err(|e: String| {
            let hint = if s.kind.is_none() {
                format!("strategy `{name}` has no `kind` and its name is not a kind: ")
            } else {
                String::new()
            };
            at(Some(kind_span.clone()), format!("{hint}{e}"))
        })?;
        let attempts = s.attempts.unwrap_or(1);
        if attempts == 0 || attempts > MAX_ATTEMPTS {
            return Err(at(
                Some(spanned.span()),
                format!("strategy `{name}`: attempts must be between 1 and {MAX_ATTEMPTS}, not {attempts}"),
            ));
        }
        if kind == StrategyKind::SdkRetry && attempts != 1 {
            return Err(at(
                Some(spanned.span()),
                format!("strategy `{name}` is sdk-retry: one call, the SDK's own retries only; drop `attempts` (or set it to 1)"),
            ));
        }
        let pacing = match (&s.interval, &s.backoff) {
            (Some(interval), None) => Pacing::Interval { interval: *interval },
            (None, Some(b)) if b.base <= b.max => Pacing::Backoff { base: b.base, max: b.max, jitter: b.jitter },
            (None, Some(_)) => {
                return Err(at(Some(spanned.span()), format!("strategy `{name}`: backoff `base` must not exceed `max`")))
            }
            (None, None) if attempts == 1 => Pacing::Interval { interval: Duration::ZERO },
            (None, None) => {
                return Err(at(
                    Some(spanned.span()),
                    format!("strategy `{name}` needs `interval = \"500ms\"` or `backoff = {{ base = \"100ms\", max = \"2s\", jitter = true }}`"),
                ))
            }
            (Some(_), Some(_)) => {
                return Err(at(Some(spanned.span()), format!("strategy `{name}`: give `interval` or `backoff`, not both")))
            }
        };
        let strategy = Strategy {
            name: name.clone(),
            kind,
            attempts,
            pacing,
            continue_after_success: s.continue_after_success,
        };
        let span = strategy.max_span();
        if span > MAX_CELL_SPAN {
            return Err(at(
                Some(spanned.span()),
                format!(
                    "strategy `{name}` would run for {} ({attempts} attempts); a cell may run for at most {} (did you mean ms rather than m?)",
                    humantime::format_duration(span),
                    humantime::format_duration(MAX_CELL_SPAN)
                ),
            ));
        }
        strategies.insert(name.clone(), strategy);
    }

    let strategy_names: Vec<&str> = strategies.keys().map(String::as_str).collect();
    let check_strategy = |name: &Spanned<String>| -> Result<String, ScenarioError> {
        if strategies.contains_key(name.get_ref()) {
            Ok(name.get_ref().clone())
        } else {
            Err(at(
                Some(name.span()),
                unknown(
                    "strategy",
                    name.get_ref(),
                    &strategy_names,
                    "define it as a [strategy.NAME] table",
                ),
            ))
        }
    };
    let mut variants: BTreeMap<String, DriverSpec> = BTreeMap::new();
    for (name, spanned) in &raw.driver {
        let d = spanned.get_ref();
        let (kind, version) = parse_sdk(d.sdk.get_ref()).map_err(|e| {
            at(
                Some(d.sdk.span()),
                format!(
                    "{e}; `sdk` is one of {} with an optional @VERSION",
                    DriverKind::NAMES.join(", ")
                ),
            )
        })?;
        let settings = SdkSettings::from_table(&kind, &d.settings)
            .map_err(|e| at(Some(spanned.span()), format!("[driver.{name}]: {e}")))?;
        variants.insert(
            name.clone(),
            DriverSpec {
                name: name.clone(),
                kind,
                version,
                settings,
            },
        );
    }
    let variant_names: Vec<&str> = variants.keys().map(String::as_str).collect();
    let parse_driver = |name: &Spanned<String>| -> Result<DriverSpec, ScenarioError> {
        if let Some(spec) = variants.get(name.get_ref()) {
            return Ok(spec.clone());
        }
        parse_sdk(name.get_ref())
            .map(|(kind, version)| DriverSpec {
                name: name.get_ref().clone(),
                settings: SdkSettings::defaults(&kind),
                kind,
                version,
            })
            .map_err(|e| match e {
                SdkError::UnknownKind(_) => {
                    let mut allowed: Vec<&str> = DriverKind::NAMES.to_vec();
                    allowed.extend(variant_names.iter());
                    at(
                        Some(name.span()),
                        unknown(
                            "driver",
                            name.get_ref(),
                            &allowed,
                            "a kind, kind@VERSION, or a [driver.NAME] table",
                        ),
                    )
                }
                e => at(Some(name.span()), e.to_string()),
            })
    };
    let check_driver_glob = |name: &Spanned<String>| -> Result<String, ScenarioError> {
        let glob = name.get_ref();
        let known = raw
            .matrix
            .drivers
            .iter()
            .any(|d| crate::glob::matches(glob, d.get_ref()));
        if known {
            Ok(glob.clone())
        } else {
            let listed: Vec<&str> = raw
                .matrix
                .drivers
                .iter()
                .map(|d| d.get_ref().as_str())
                .collect();
            Err(at(
                Some(name.span()),
                unknown("driver", glob, &listed, "the drivers of the [matrix]"),
            ))
        }
    };

    if raw.matrix.drivers.is_empty() || raw.matrix.strategies.is_empty() {
        return Err(at(
            None,
            "[matrix] needs at least one driver and one strategy".into(),
        ));
    }
    let mut cells = Vec::new();
    for d in &raw.matrix.drivers {
        let driver = parse_driver(d)?;
        for s in &raw.matrix.strategies {
            let strategy = strategies[&check_strategy(s)?].clone();
            let cell = Cell {
                driver: driver.clone(),
                strategy,
            };
            if cells.contains(&cell) {
                return Err(at(
                    Some(s.span()),
                    format!("cell {} is listed twice", cell.id()),
                ));
            }
            cells.push(cell);
        }
    }

    let mut expectations = Vec::new();
    let mut warnings = Vec::new();
    for e in raw.expect {
        let expectation = Expectation {
            driver: e.driver.as_ref().map(check_driver_glob).transpose()?,
            strategy: e.strategy.as_ref().map(check_strategy).transpose()?,
            recovers: e.recovers,
            within: e.within,
            within_attempts: e.within_attempts,
            error_kind: e.error_kind,
            imds_requests_after_recovery: e.imds_requests_after_recovery,
            keys_used: e.keys_used,
            sts_rejections: e.sts_rejections,
            premise: e
                .premise
                .as_ref()
                .map(|p| p.get_ref().parse().map_err(|m| at(Some(p.span()), m)))
                .transpose()?,
        };
        let span = e.driver.as_ref().or(e.strategy.as_ref()).map(|s| s.span());
        if expectation.recovers.is_none()
            && expectation.within.is_none()
            && expectation.within_attempts.is_none()
            && expectation.error_kind.is_none()
            && expectation.imds_requests_after_recovery.is_none()
            && expectation.keys_used.is_none()
            && expectation.sts_rejections.is_none()
        {
            return Err(at(
                span,
                "this [[expect]] checks nothing: give it recovers, within, error_kind or imds_requests_after_recovery".into(),
            ));
        }
        if expectation.recovers == Some(false) && expectation.within.is_some() {
            return Err(at(
                span,
                "`within` bounds the time to recover, so it cannot go with `recovers = false`"
                    .into(),
            ));
        }
        if expectation.recovers == Some(false) && expectation.within_attempts.is_some() {
            return Err(at(
                span,
                "`within_attempts` bounds the attempts to recover, so it cannot go with `recovers = false`"
                    .into(),
            ));
        }
        if !cells.iter().any(|c| expectation.applies_to(c)) {
            let span = e.driver.as_ref().or(e.strategy.as_ref()).map(|s| s.span());
            return Err(at(
                span,
                "this [[expect]] matches no cell of the [matrix]".into(),
            ));
        }
        expectations.push(expectation);
    }

    // A bare "never recovers" also holds for a driver that broke, a misrouted endpoint or
    // an SDK failing for some other reason: some expectation of the cell must say why.
    for cell in &cells {
        let applying: Vec<&Expectation> =
            expectations.iter().filter(|e| e.applies_to(cell)).collect();
        let never = applying.iter().any(|e| e.recovers == Some(false));
        let why = applying
            .iter()
            .any(|e| e.error_kind.is_some() || e.imds_requests_after_recovery.is_some());
        if never && !why {
            warnings.push(format!(
                "{}: cell {} is expected never to recover, but no [[expect]] says why: add error_kind or imds_requests_after_recovery, or it also holds when the cell fails for another reason",
                path.display(),
                cell.id()
            ));
        }
    }
    if let Some(last_recovery) = schedule.recoveries().last() {
        // A single call may span the recovery with the SDK's own retries: no warning.
        for strategy in strategies.values().filter(|s| s.attempts > 1) {
            let Some(ends) = strategy.min_span() else {
                continue;
            };
            if ends < *last_recovery {
                warnings.push(format!(
                    "{}: strategy `{}` makes its last attempt at {}, before IMDS recovers at {}: no cell with it can recover",
                    path.display(),
                    strategy.name,
                    humantime::format_duration(ends),
                    humantime::format_duration(*last_recovery)
                ));
            }
        }
    }

    Ok(Scenario {
        warnings,
        name: path
            .file_stem()
            .map_or_else(|| "scenario".into(), |s| s.to_string_lossy().into_owned()),
        file: path.to_path_buf(),
        description: raw.description.trim().to_string(),
        imds: raw.imds,
        schedule,
        seed,
        generators,
        cells,
        expectations,
    })
}

fn unknown(what: &str, name: &str, allowed: &[&str], source: &str) -> String {
    if allowed.is_empty() {
        return format!("unknown {what} `{name}`: none is defined ({source})");
    }
    let suggestion = allowed
        .iter()
        .map(|a| (strsim::levenshtein(name, a), a))
        .filter(|(d, a)| *d <= 2.max(a.len() / 3))
        .min()
        .map(|(_, a)| format!(" (did you mean `{a}`?)"))
        .unwrap_or_default();
    format!(
        "unknown {what} `{name}`{suggestion}; expected one of {} ({source})",
        allowed
            .iter()
            .map(|a| format!("`{a}`"))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `message` with control characters (and U+2028/U+2029) written as Rust escapes
/// (`\n`, `\u{1b}`): messages quote names and values from the file, and a TOML string
/// can hold a newline or an ESC, which would break the one-line `FILE:LINE:COLUMN:`
/// format or reach the terminal raw.
fn escape_controls(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    for c in message.chars() {
        if c.is_control() || c == '\u{2028}' || c == '\u{2029}' {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

pub use mock_imds::config::line_column;

/// Finds scenario files: each path that is a file, and every `*.toml` directly in each
/// path that is a directory, sorted by name.
///
/// # Errors
/// A [`ScenarioError`] (line 1, column 1) for a path that does not exist.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<PathBuf>, ScenarioError> {
    let mut files = Vec::new();
    for path in paths {
        let missing = |e: std::io::Error| ScenarioError {
            file: path.clone(),
            line: 1,
            column: 1,
            message: format!("cannot read: {e}"),
        };
        if path.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(missing)?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .collect();
            found.sort();
            files.extend(found);
        } else {
            std::fs::metadata(path).map_err(missing)?;
            files.push(path.clone());
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
description = "trap"
[[schedule]]
at = "0s"
state = "refuse"
[[schedule]]
at = "2s"
state = "up"
[matrix]
drivers = ["rust-sdk", "boto3"]
strategies = ["call-retry", "fresh"]
[strategy.call-retry]
attempts = 10
interval = "500ms"
[strategy.fresh]
kind = "client-retry"
attempts = 3
interval = "1s"
[[expect]]
driver = "boto3"
strategy = "call-retry"
recovers = false
error_kind = "NoCredentialsError"
imds_requests_after_recovery = 0
[[expect]]
driver = "rust-sdk"
recovers = true
within = "1500ms"
"#;

    fn err(text: &str) -> String {
        parse(Path::new("s/x.toml"), text).unwrap_err().to_string()
    }

    #[test]
    fn parses_a_full_scenario() {
        let s = parse(Path::new("scenarios/trap.toml"), GOOD).unwrap();
        assert_eq!(s.name, "trap");
        assert_eq!(s.cells.len(), 4);
        assert_eq!(s.cells[1].id(), "rust-sdk/fresh");
        assert_eq!(s.cells[1].strategy.kind, StrategyKind::ClientRetry);
        assert_eq!(s.schedule.recoveries(), vec![Duration::from_secs(2)]);
        assert_eq!(s.expectations[1].within, Some(Duration::from_millis(1500)));
        assert!(s.expectations[1].applies_to(&s.cells[0]));
        assert!(!s.expectations[0].applies_to(&s.cells[0]));
        assert!(s.warnings.is_empty(), "{:?}", s.warnings);

        let short = parse(
            Path::new("short.toml"),
            &GOOD.replace("attempts = 3", "attempts = 2"),
        )
        .unwrap();
        assert_eq!(short.warnings.len(), 1);
        assert!(
            short.warnings[0].contains(
                "strategy `fresh` makes its last attempt at 1s, before IMDS recovers at 2s"
            ),
            "{:?}",
            short.warnings
        );
    }

    /// A bare `recovers = false` also holds when the driver broke or the SDK failed for
    /// another reason: validation warns unless some expectation of the cell says why.
    #[test]
    fn a_never_recovers_expectation_without_a_reason_is_warned_about() {
        let bare = GOOD.replace(
            "error_kind = \"NoCredentialsError\"\nimds_requests_after_recovery = 0\n",
            "",
        );
        let s = parse(Path::new("bare.toml"), &bare).unwrap();
        assert_eq!(s.warnings.len(), 1, "{:?}", s.warnings);
        assert!(
            s.warnings[0].contains(
                "cell boto3/call-retry is expected never to recover, but no [[expect]] says why"
            ),
            "{:?}",
            s.warnings
        );
        // The reason may come from another block that applies to the same cell.
        let split = format!(
            "{bare}\n[[expect]]\ndriver = \"boto3\"\nerror_kind = \"NoCredentialsError\"\n"
        );
        let s = parse(Path::new("split.toml"), &split).unwrap();
        assert!(s.warnings.is_empty(), "{:?}", s.warnings);
    }

    #[test]
    fn premise_is_checked_and_named() {
        let good = GOOD.replace(
            "imds_requests_after_recovery = 0\n",
            "imds_requests_after_recovery = 0\npremise = \"resolved-during-outage\"\n",
        );
        let s = parse(Path::new("p.toml"), &good).unwrap();
        assert_eq!(
            s.expectations[0].premise,
            Some(crate::integrity::Premise::ResolvedDuringOutage)
        );
        let bad = GOOD.replace(
            "imds_requests_after_recovery = 0\n",
            "imds_requests_after_recovery = 0\npremise = \"resolved\"\n",
        );
        let e = err(&bad);
        assert!(e.starts_with("s/x.toml:"), "{e}");
        assert!(
            e.contains("unknown premise `resolved`; expected one of: resolved-during-outage"),
            "{e}"
        );
    }

    /// Found by the `scenario` fuzz target: a name or value with an escaped newline or
    /// ESC was quoted raw, so the error spanned lines or sent ESC to the terminal.
    #[test]
    fn errors_quote_control_characters_escaped() {
        for (text, expected) in [
            (
                "[matrix]\ndrivers = [\"rust\\nsdk\"]\nstrategies = [\"call-retry\"]\n",
                "x.toml:2:12: unknown driver `rust\\nsdk`",
            ),
            (
                "[matrix]\ndrivers = [\"rust-sdk\"]\nstrategies = [\"call\\u2028retry\"]\n",
                "x.toml:3:15: unknown strategy `call\\u{2028}retry`",
            ),
            (
                "[strategy.x]\ninterval = \"100\\u001bms\"\n",
                "x.toml:2:12: invalid duration `100\\u{1b}ms`",
            ),
        ] {
            let e = parse(Path::new("x.toml"), text).unwrap_err().to_string();
            assert!(e.starts_with(expected), "{e}");
            assert!(!e.chars().any(char::is_control), "{e:?}");
        }
    }

    #[test]
    fn errors_name_file_line_column_and_what_is_allowed() {
        let e = err(&GOOD.replace("attempts = 10", "atempts = 10"));
        assert!(
            e.starts_with("s/x.toml:13:1: unknown field `atempts`"),
            "{e}"
        );
        assert!(!e.contains('\n'), "one line: {e}");

        let e = err(&GOOD.replace("interval = \"500ms\"", "interval = \"fast\""));
        assert!(
            e.starts_with("s/x.toml:14:12: invalid duration `fast`"),
            "{e}"
        );

        let e = err(&GOOD.replace("\"boto3\"]", "\"boto\"]"));
        assert!(
            e.starts_with("s/x.toml:10:24: unknown driver `boto` (did you mean `boto3`?)"),
            "{e}"
        );

        let e = err(&GOOD.replace("\"fresh\"]", "\"frsh\"]"));
        assert!(
            e.contains("unknown strategy `frsh` (did you mean `fresh`?)"),
            "{e}"
        );
        assert!(e.starts_with("s/x.toml:11:"), "{e}");

        let e = err(&GOOD.replace("at = \"2s\"", "at = \"0s\""));
        assert!(
            e.starts_with("s/x.toml:6:1: two schedule steps at 0s"),
            "{e}"
        );

        let e = err(&GOOD.replace("state = \"refuse\"", "state = \"refused\""));
        assert!(e.contains("invalid fault `refused`"), "{e}");
        assert!(e.starts_with("s/x.toml:5:9"), "{e}");

        let e = err(&GOOD.replace("attempts = 3", "attempts = \"3\""));
        assert!(
            e.contains("invalid type: string \"3\", expected u32"),
            "{e}"
        );

        let e = err(&GOOD.replace("kind = \"client-retry\"", "kind = \"retry\""));
        assert!(e.contains("unknown strategy kind `retry`"), "{e}");

        let e = err(&GOOD.replace("[matrix]", "[matrx]"));
        assert!(e.contains("unknown field `matrx`"), "{e}");

        let e = err(&GOOD.replace("interval = \"500ms\"", "interval = \"500m\""));
        assert!(
            e.contains("would run for 3days 3h") && e.contains("did you mean ms"),
            "{e}"
        );
        let e = err(&GOOD.replace("attempts = 10", "attempts = 100000"));
        assert!(e.contains("attempts must be between 1 and 10000"), "{e}");

        let e = err(&GOOD.replace("recovers = true\nwithin", "recovers = false\nwithin"));
        assert!(e.contains("cannot go with `recovers = false`"), "{e}");
        let e = err(&format!("{GOOD}[[expect]]\ndriver = \"boto3\"\n"));
        assert!(e.contains("checks nothing"), "{e}");

        let no_tables = GOOD[..GOOD.find("[strategy.call-retry]").unwrap()].to_string();
        let e = err(&no_tables);
        assert!(
            e.contains("unknown strategy `call-retry`: none is defined"),
            "{e}"
        );
    }

    #[test]
    fn generators_expand_with_the_seed() {
        let text = GOOD.replace(
            "[matrix]",
            "[[generate]]\nkind = \"flap\"\nfault = \"status(500) on token\"\ndown = [\"100ms\", \"300ms\"]\nup = [\"100ms\", \"300ms\"]\nuntil = \"1s\"\n[matrix]",
        );
        let a = parse_with_seed(Path::new("g.toml"), &text, Some(1)).unwrap();
        let b = parse_with_seed(Path::new("g.toml"), &text, Some(1)).unwrap();
        let c = parse_with_seed(Path::new("g.toml"), &text, Some(2)).unwrap();
        assert_eq!(a.schedule, b.schedule);
        assert_ne!(a.schedule, c.schedule);
        assert!(a.schedule.steps().len() > 4);
        assert_eq!(a.seed, 1);

        let e = err(&text.replace("until = \"1s\"\n", ""));
        assert!(e.contains("a `flap` generator needs `until`"), "{e}");
        let e = err(&text.replace("kind = \"flap\"", "kind = \"flip\""));
        assert!(
            e.contains("unknown generator kind `flip` (did you mean `flap`?)"),
            "{e}"
        );
        let e = err(&text.replace("[\"100ms\", \"300ms\"]\nup", "[\"300ms\", \"100ms\"]\nup"));
        assert!(e.contains("MIN no larger than MAX"), "{e}");
    }

    #[test]
    fn line_column_counts_characters() {
        assert_eq!(line_column("ab\ncé\nx", 0), (1, 1));
        assert_eq!(line_column("ab\ncé\nx", 3), (2, 1));
        assert_eq!(line_column("ab\ncé\nx", 7), (3, 1));
        assert_eq!(line_column("ab", 99), (1, 3));
    }
}
