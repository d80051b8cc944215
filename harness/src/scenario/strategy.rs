//! `[strategy.NAME]` tables → [`Strategy`] values: the kind (the table's name when it has
//! no `kind`), attempts, pacing (`interval` or `backoff`) and `call_timeout`, each checked
//! with a message that says what is accepted; and the names the matrix and expectations
//! use.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use mock_imds::Schedule;
use toml::Spanned;

use super::diag::{At, Unknown};
use super::raw::RawStrategy;
use crate::strategy::{Pacing, Strategy, StrategyKind, UnknownStrategyKind};

/// Most attempts a strategy may make.
pub const MAX_ATTEMPTS: u32 = 10_000;

/// Longest a strategy's attempts may span (first to last attempt start): 1 h, so that a
/// unit typo (`500m` for `500ms`) is an error rather than a run that never ends.
pub const MAX_CELL_SPAN: Duration = Duration::from_secs(3600);

/// A `[strategy.NAME]` table that is not a strategy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StrategyError {
    /// `kind` (or, without one, the table's name) is not a strategy kind.
    #[error("{}{error}", kind_hint(.name, *.implicit))]
    Kind {
        /// The table's name.
        name: String,
        /// True when the table has no `kind` and its name was tried as one.
        implicit: bool,
        /// The kind that is not one.
        error: UnknownStrategyKind,
    },
    /// `attempts` out of `1..=MAX_ATTEMPTS`.
    #[error("strategy `{name}`: attempts must be between 1 and {MAX_ATTEMPTS}, not {attempts}")]
    Attempts {
        /// The table's name.
        name: String,
        /// As written.
        attempts: u32,
    },
    /// `sdk-retry` makes one call.
    #[error("strategy `{name}` is sdk-retry: one call, the SDK's own retries only; drop `attempts` (or set it to 1)")]
    SdkRetryAttempts {
        /// The table's name.
        name: String,
    },
    /// A backoff whose first delay is longer than its largest.
    #[error("strategy `{name}`: backoff `base` must not exceed `max`")]
    BackoffBaseOverMax {
        /// The table's name.
        name: String,
    },
    /// More than one attempt and no pacing.
    #[error("strategy `{name}` needs `interval = \"500ms\"` or `backoff = {{ base = \"100ms\", max = \"2s\", jitter = true }}`")]
    NoPacing {
        /// The table's name.
        name: String,
    },
    /// Both `interval` and `backoff`.
    #[error("strategy `{name}`: give `interval` or `backoff`, not both")]
    BothPacings {
        /// The table's name.
        name: String,
    },
    /// A `call_timeout` of zero, or not below the default operation timeout (a call
    /// that runs that long ends its cell as a driver error first).
    #[error(
        "strategy `{name}`: call_timeout must be more than 0 and less than {} (the drivers' default operation timeout, which would end the cell first), not {}",
        humantime::format_duration(crate::driver::DEFAULT_OPERATION_TIMEOUT),
        humantime::format_duration(*.call_timeout)
    )]
    CallTimeout {
        /// The table's name.
        name: String,
        /// As written.
        call_timeout: Duration,
    },
    /// Attempts that would span more than [`MAX_CELL_SPAN`].
    #[error(
        "strategy `{name}` would run for {} ({attempts} attempts); a cell may run for at most {} (did you mean ms rather than m?)",
        humantime::format_duration(*.span),
        humantime::format_duration(MAX_CELL_SPAN)
    )]
    TooLong {
        /// The table's name.
        name: String,
        /// The span its attempts would have.
        span: Duration,
        /// Its attempts.
        attempts: u32,
    },
}

fn kind_hint(name: &str, implicit: bool) -> String {
    if implicit {
        format!("strategy `{name}` has no `kind` and its name is not a kind: ")
    } else {
        String::new()
    }
}

/// Reads every `[strategy.NAME]` table, in name order.
///
/// # Errors
/// The first table that is not a strategy, at the table (or at its `kind`).
pub(super) fn read(
    tables: &BTreeMap<String, Spanned<RawStrategy>>,
) -> Result<BTreeMap<String, Strategy>, At<StrategyError>> {
    let mut strategies = BTreeMap::new();
    for (name, spanned) in tables {
        let strategy = read_one(name, spanned.get_ref()).map_err(|e| match e {
            // A bad kind is reported at `kind`, or at the table when it has none.
            e @ StrategyError::Kind { .. } => At::new(
                spanned
                    .get_ref()
                    .kind
                    .as_ref()
                    .map_or(spanned.span(), |k| k.span()),
                e,
            ),
            e => At::new(spanned.span(), e),
        })?;
        strategies.insert(name.clone(), strategy);
    }
    Ok(strategies)
}

fn read_one(name: &str, s: &RawStrategy) -> Result<Strategy, StrategyError> {
    let name_owned = || name.to_string();
    let kind_text = s.kind.as_ref().map_or(name, |k| k.get_ref().as_str());
    let kind: StrategyKind = kind_text.parse().map_err(|error| StrategyError::Kind {
        name: name_owned(),
        implicit: s.kind.is_none(),
        error,
    })?;
    let attempts = s.attempts.unwrap_or(1);
    if attempts == 0 || attempts > MAX_ATTEMPTS {
        return Err(StrategyError::Attempts {
            name: name_owned(),
            attempts,
        });
    }
    if kind == StrategyKind::SdkRetry && attempts != 1 {
        return Err(StrategyError::SdkRetryAttempts { name: name_owned() });
    }
    let pacing = match (&s.interval, &s.backoff) {
        (Some(interval), None) => Pacing::Interval {
            interval: interval.0,
        },
        (None, Some(b)) if b.base.0 <= b.max.0 => Pacing::Backoff {
            base: b.base.0,
            max: b.max.0,
            jitter: b.jitter,
        },
        (None, Some(_)) => return Err(StrategyError::BackoffBaseOverMax { name: name_owned() }),
        (None, None) if attempts == 1 => Pacing::Interval {
            interval: Duration::ZERO,
        },
        (None, None) => return Err(StrategyError::NoPacing { name: name_owned() }),
        (Some(_), Some(_)) => return Err(StrategyError::BothPacings { name: name_owned() }),
    };
    let call_timeout = s.call_timeout.as_ref().map(|t| t.0);
    if let Some(t) = call_timeout {
        if t.is_zero() || t >= crate::driver::DEFAULT_OPERATION_TIMEOUT {
            return Err(StrategyError::CallTimeout {
                name: name_owned(),
                call_timeout: t,
            });
        }
    }
    let strategy = Strategy {
        name: name_owned(),
        kind,
        attempts,
        pacing,
        continue_after_success: s.continue_after_success,
        call_timeout,
    };
    let span = strategy.max_span();
    if span > MAX_CELL_SPAN {
        return Err(StrategyError::TooLong {
            name: name_owned(),
            span,
            attempts,
        });
    }
    Ok(strategy)
}

/// The strategy `name` names, as the matrix and expectations refer to strategies.
///
/// # Errors
/// [`Unknown`] at the name, listing the defined strategies.
pub fn named(
    name: &Spanned<String>,
    strategies: &BTreeMap<String, Strategy>,
) -> Result<String, At<Unknown>> {
    if strategies.contains_key(name.get_ref()) {
        return Ok(name.get_ref().clone());
    }
    let defined: Vec<&str> = strategies.keys().map(String::as_str).collect();
    Err(At::new(
        name.span(),
        Unknown::new(
            "strategy",
            name.get_ref(),
            &defined,
            "define it as a [strategy.NAME] table",
        ),
    ))
}

/// Strategies whose last attempt starts before IMDS last recovers, so no cell with them
/// can recover (a single call may span the recovery with the SDK's own retries: those are
/// left alone), as warnings naming `path`.
pub fn warnings(
    path: &Path,
    strategies: &BTreeMap<String, Strategy>,
    schedule: &Schedule,
) -> Vec<String> {
    let Some(last_recovery) = schedule.recoveries().last().copied() else {
        return Vec::new();
    };
    strategies
        .values()
        .filter(|s| s.attempts > 1)
        .filter_map(|s| Some((s, s.min_span()?)))
        .filter(|(_, ends)| *ends < last_recovery)
        .map(|(strategy, ends)| {
            format!(
                "{}: strategy `{}` makes its last attempt at {}, before IMDS recovers at {}: no cell with it can recover",
                path.display(),
                strategy.name,
                humantime::format_duration(ends),
                humantime::format_duration(last_recovery)
            )
        })
        .collect()
}
