//! `[[expect]]` tables → [`Expectation`]s, and how one is checked against a cell's
//! [`Verdict`]: the one home of what an expectation means.
//!
//! Each expectation applies to every cell it matches (`driver` a glob over driver names,
//! `strategy` a strategy name; all cells when omitted) and must match at least one.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use super::diag::{At, Unknown};
use super::imds_requests::{RequestPatternError, RequestSequence};
use super::matrix::Cell;
use super::raw::{RawExpect, RawMatrix};
use super::strategy;
use crate::ms::fmt_ms;
use crate::strategy::Strategy;
use crate::verdict::{Outcome, Verdict};

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
    /// Upper bound on the time from each outage's end (outage [`Self::outage`] only, when
    /// set) to the first call accepted after it; without outages, from the start to the
    /// first accepted call.
    pub within: Option<Duration>,
    /// Upper bound on the attempts that started after IMDS recovered, up to and including
    /// the first accepted one (0 when that one had started before): load-independent, for
    /// drivers whose every call pays a process start-up (the AWS CLI), where a time bound
    /// measures the machine rather than the SDK.
    pub within_attempts: Option<u32>,
    /// Every failed attempt must have failed with this error kind (and one must have).
    pub error_kind: Option<String>,
    /// A glob (`*`, `?`; see [`crate::glob`]) every failed attempt's message must match
    /// as a whole (and one attempt must have failed): `"*invalid token*"` pins the
    /// SDK's wording where the error kind alone does not tell two failures apart.
    pub error_message: Option<String>,
    /// `true`: some call never returned, neither answered nor failed, within its
    /// strategy's `call_timeout` (the SDK hung; [`crate::driver::CallOutcome::Hung`]);
    /// `false`: every call returned. Needs `call_timeout` on every strategy it applies to.
    pub hangs: Option<bool>,
    /// Exact number of IMDS requests between recovery and the end of the attempts.
    pub imds_requests_after_recovery: Option<usize>,
    /// Exact number of distinct access keys that signed accepted calls (1: kept the old
    /// credentials; 2: fetched new ones).
    pub keys_used: Option<usize>,
    /// Exact number of calls STS rejected (bad signature, expired token, …), retries
    /// inside one SDK call included.
    pub sts_rejections: Option<usize>,
    /// The outcome of the worst outage, or of outage [`Self::outage`] when set
    /// (`rode-through`, `recovered`, `not-recovered`; see [`crate::verdict::outages`]).
    pub outcome: Option<Outcome>,
    /// Which outage (1-based, in time order) [`Self::outcome`] is about; the worst when
    /// `None`.
    pub outage: Option<u32>,
    /// Exact number of IMDS metadata requests without a session token (IMDSv1; the
    /// token `PUT` does not count) from the last
    /// recovery to the end of the attempts: whether an SDK went back to IMDSv2 once IMDS
    /// was back (Go's token providers switch to IMDSv1 after a failed token PUT).
    pub imds_v1_requests_after_recovery: Option<usize>,
    /// What the run must show before this expectation's verdict counts (else the cell is
    /// inconclusive; see [`crate::integrity`]).
    pub premise: Option<Premise>,
    /// Every IMDS request of the cell, in order (see [`super::imds_requests`]).
    pub imds_requests: Option<RequestSequence>,
    /// The caller ARN STS must have answered to every verified successful call (and
    /// to one at least): `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`. With a
    /// chained role (`role_arn` + `credential_source = "Ec2InstanceMetadata"`) it is the
    /// assumed role's session, which only credentials from the fake STS's `AssumeRole`
    /// can show.
    pub caller_arn: Option<String>,
    /// Whether the SDK held, after some successful call, an expiry later than the one
    /// IMDS issued with those credentials (`true`: it extended them, as static stability
    /// does) or after none (`false`: every successful call reported the issued expiry or
    /// an earlier one). See [`super::expect_credentials::check_expiry_extended`].
    pub expiry_extended: Option<bool>,
    /// The account id every successful call's credentials must carry as the SDK holds
    /// them (12 digits; from the extended IMDS document's `AccountId`).
    pub account_id: Option<String>,
    /// Globs over the messages the SDK logged: each must match one, and each message one
    /// of them (`[]`: the SDK logged nothing). See
    /// [`super::expect_credentials::check_warnings`].
    pub sdk_warnings: Option<Vec<String>>,
}

/// What the run must have shown before a cell's verdict counts, beyond the automatic
/// checks of [`crate::integrity`]. Set per expectation as `premise = "…"`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    strum::Display,
    strum::EnumString,
    strum::VariantNames,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case", parse_err_fn = unknown_premise, parse_err_ty = UnknownPremise)]
pub enum Premise {
    /// Every IMDS request until the first call returned arrived during the opening outage.
    ResolvedDuringOutage,
}

impl Premise {
    /// Every premise, as written in scenario files.
    pub const NAMES: &'static [&'static str] = <Self as strum::VariantNames>::VARIANTS;
}

/// A name that is not a premise.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown premise `{0}`; expected one of: {names}", names = Premise::NAMES.join(", "))]
pub struct UnknownPremise(pub String);

fn unknown_premise(name: &str) -> UnknownPremise {
    UnknownPremise(name.to_string())
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

    /// The failures of this expectation against `verdict` (empty when it holds).
    pub fn check(&self, verdict: &Verdict) -> Vec<String> {
        let mut failures = Vec::new();
        if let Some(want) = self.recovers {
            if want != verdict.recovered {
                failures.push(if want {
                    format!(
                        "expected recovery, but no call was accepted in {} attempts",
                        verdict.attempts
                    )
                } else {
                    format!(
                        "expected no recovery, but attempt {} was accepted",
                        verdict.first_success_attempt.unwrap_or_default()
                    )
                });
            }
        }
        if let Some(within) = self.within {
            match slowest_recovery(verdict, self.outage) {
                Some((took, _)) if took <= within => {}
                Some((took, after)) => failures.push(format!(
                    "expected recovery within {}, took {}{}",
                    fmt_ms(within),
                    fmt_ms(took),
                    after
                        .map(|n| format!(" after outage {n}"))
                        .unwrap_or_default()
                )),
                // (A run whose every outage was ridden through has no recovery time.)
                None if self.recovers != Some(true) && !verdict.recovered => {
                    failures.push(format!(
                        "expected recovery within {}, but it did not recover",
                        fmt_ms(within)
                    ))
                }
                None => {}
            }
        }
        if let Some(most) = self.within_attempts {
            match verdict.attempts_to_recover {
                Some(took) if took <= most => {}
                Some(took) => failures.push(format!(
                    "expected recovery within {most} attempt(s) after IMDS was back, took {took}"
                )),
                None if self.recovers != Some(true) => failures.push(format!(
                    "expected recovery within {most} attempt(s) after IMDS was back, but it did not recover"
                )),
                None => {}
            }
        }
        if let Some(kind) = &self.error_kind {
            let others: Vec<String> = verdict
                .error_kinds
                .iter()
                .filter(|(k, _)| *k != kind)
                .map(|(k, n)| format!("{k} ×{n}"))
                .chain(hung_text(verdict))
                .collect();
            if verdict.error_kinds.is_empty() && verdict.hung_calls == 0 {
                failures.push(format!(
                    "expected failures with {kind}, but no attempt failed"
                ));
            } else if !others.is_empty() {
                failures.push(format!(
                    "expected every failure to be {kind}, also saw {}",
                    others.join(", ")
                ));
            }
        }
        if let Some(glob) = &self.error_message {
            let others: Vec<String> = verdict
                .error_messages
                .iter()
                .filter(|m| !crate::glob::matches(glob, m))
                .map(|m| format!("`{m}`"))
                .chain(hung_text(verdict))
                .collect();
            if verdict.error_messages.is_empty() && verdict.hung_calls == 0 {
                failures.push(format!(
                    "expected failures whose message matches `{glob}`, but no attempt failed"
                ));
            } else if !others.is_empty() {
                failures.push(format!(
                    "expected every failure's message to match `{glob}`, also saw {}",
                    others.join(", ")
                ));
            }
        }
        if let Some(want) = self.hangs {
            match (want, verdict.hung_calls) {
                (true, 0) => failures.push(format!(
                    "expected a call to hang, but all {} returned within the call_timeout",
                    verdict.attempts
                )),
                (false, n) if n > 0 => failures.push(format!(
                    "expected every call to return, but {n} hung (no answer within the call_timeout)"
                )),
                _ => {}
            }
        }
        if let Some(want) = self.sts_rejections {
            let total: u32 = verdict.sts_rejections.values().sum();
            if total as usize != want {
                let seen: Vec<String> = verdict
                    .sts_rejections
                    .iter()
                    .map(|(k, n)| format!("{k} ×{n}"))
                    .collect();
                failures.push(format!(
                    "expected {want} STS rejections, saw {total}{}",
                    if seen.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", seen.join(", "))
                    }
                ));
            }
        }
        if let Some(want) = &self.caller_arn {
            match verdict.caller_arns.as_slice() {
                [] => failures.push(format!(
                    "expected calls answered as {want}, but STS accepted no call of a successful attempt"
                )),
                [only] if only == want => {}
                seen => failures.push(format!(
                    "expected every accepted call answered as {want}, STS answered {}",
                    seen.join(", ")
                )),
            }
        }
        if let Some(want) = self.keys_used {
            if verdict.keys_used.len() != want {
                failures.push(format!(
                    "expected {want} distinct signing keys, saw {}{}",
                    verdict.keys_used.len(),
                    if verdict.keys_used.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", verdict.keys_used.join(", "))
                    }
                ));
            }
        }
        if let Some(want) = self.outcome {
            if let Some(failure) = check_outcome(want, self.outage, verdict) {
                failures.push(failure);
            }
        }
        if let Some(want) = self.imds_requests_after_recovery {
            match verdict.imds_requests_after_recovery {
                Some(n) if n == want => {}
                Some(n) => failures.push(format!("expected {want} IMDS requests after recovery, saw {n}")),
                None => failures.push(format!(
                    "expected {want} IMDS requests after recovery, but IMDS had not recovered by the last attempt"
                )),
            }
        }
        if let Some(want) = self.imds_v1_requests_after_recovery {
            match verdict.imds_v1_requests_after_recovery {
                Some(n) if n == want => {}
                Some(n) => failures.push(format!(
                    "expected {want} IMDSv1 (tokenless) requests after recovery, saw {n}"
                )),
                None => failures.push(format!(
                    "expected {want} IMDSv1 (tokenless) requests after recovery, but IMDS had not recovered by the last attempt"
                )),
            }
        }
        if let Some(want) = &self.imds_requests {
            if let Some(why) = want.mismatch(&verdict.imds_requests) {
                failures.push(why);
            }
        }
        use super::expect_credentials as reported;
        if let Some(want) = self.expiry_extended {
            failures.extend(reported::check_expiry_extended(want, verdict));
        }
        if let Some(want) = &self.account_id {
            failures.extend(reported::check_account_id(want, verdict));
        }
        if let Some(want) = &self.sdk_warnings {
            failures.extend(reported::check_warnings(want, verdict));
        }
        failures
    }
}

/// `hung ×N` when calls hung: failures with no error kind and no message.
fn hung_text(verdict: &Verdict) -> Option<String> {
    (verdict.hung_calls > 0).then(|| format!("hung ×{}", verdict.hung_calls))
}

/// Why `verdict` does not show `want` for outage `index` (the worst when `None`).
/// What [`Expectation::within`] bounds: the slowest recovery of the outages (outage
/// `index` only, when given) that have one, with its outage's number; without any outage,
/// the time from the start to the first accepted call. An outage the calls rode through
/// while it lasted, or that never recovered, has no recovery time (`recovers` and
/// `outcome` judge those). So a call accepted before the first outage (a client made
/// while IMDS was up) measures nothing here: that time is the machine's start-up, not
/// the SDK's recovery.
fn slowest_recovery(verdict: &Verdict, index: Option<u32>) -> Option<(Duration, Option<u32>)> {
    if verdict.outages.is_empty() {
        return verdict.recovery_time.map(|took| (took, None));
    }
    verdict
        .outages
        .iter()
        .filter(|o| index.is_none_or(|n| o.index == n))
        .filter_map(|o| o.recovery.map(|took| (took, Some(o.index))))
        .max_by_key(|(took, _)| *took)
}

fn check_outcome(want: Outcome, index: Option<u32>, verdict: &Verdict) -> Option<String> {
    let (seen, which) = match index {
        Some(n) => match verdict.outage(n) {
            Some(o) => (o.outcome, format!("outage {n}")),
            None => {
                return Some(format!(
                    "expected outage {n} to be {want}, but the run had {} outage(s)",
                    verdict.outages.len()
                ))
            }
        },
        None => match verdict.outcome {
            Some(o) => (o, "the worst outage".to_string()),
            None => {
                return Some(format!(
                    "expected the worst outage to be {want}, but IMDS had no outage"
                ))
            }
        },
    };
    (seen != want).then(|| {
        let detail = match index.and_then(|n| verdict.outage(n)) {
            Some(o) => o,
            None => verdict
                .outages
                .iter()
                .find(|o| o.outcome == seen)
                .expect("the worst outcome is one outage's"),
        };
        format!(
            "expected {which} to be {want}, it was {seen} (outage {}: {} failed call(s){})",
            detail.index,
            detail.failed_calls,
            detail.recovery.map_or(String::new(), |r| format!(
                ", recovered {} after it ended",
                fmt_ms(r)
            ))
        )
    })
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
        if let Some(m) = &self.error_message {
            parts.push(format!("failure messages match `{m}`"));
        }
        if let Some(h) = self.hangs {
            parts.push(if h {
                "a call hangs".to_string()
            } else {
                "no call hangs".to_string()
            });
        }
        if let Some(n) = self.imds_requests_after_recovery {
            parts.push(format!("{n} IMDS requests after recovery"));
        }
        if let Some(n) = self.keys_used {
            parts.push(format!("{n} signing keys"));
        }
        if let Some(arn) = &self.caller_arn {
            parts.push(format!("called as {arn}"));
        }
        if let Some(n) = self.sts_rejections {
            parts.push(format!("{n} STS rejections"));
        }
        if let Some(o) = self.outcome {
            parts.push(match self.outage {
                Some(n) => format!("outage {n} {o}"),
                None => format!("worst outage {o}"),
            });
        }
        if let Some(n) = self.imds_v1_requests_after_recovery {
            parts.push(format!("{n} IMDSv1 requests after recovery"));
        }
        if let Some(r) = &self.imds_requests {
            parts.push(r.to_string());
        }
        if let Some(x) = self.expiry_extended {
            parts.push(if x {
                "expiry extended by the SDK".to_string()
            } else {
                "the issued expiry".to_string()
            });
        }
        if let Some(a) = &self.account_id {
            parts.push(format!("account {a}"));
        }
        if let Some(w) = &self.sdk_warnings {
            parts.push(format!(
                "SDK warnings {}",
                super::expect_credentials::describe_warnings(w)
            ));
        }
        if let Some(p) = self.premise {
            parts.push(format!("(premise: {p})"));
        }
        f.write_str(&parts.join(", "))
    }
}

/// An `[[expect]]` table that cannot be checked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExpectError {
    /// `driver` matches no driver of the matrix.
    #[error(transparent)]
    Driver(Unknown),
    /// `strategy` names no strategy.
    #[error(transparent)]
    Strategy(Unknown),
    /// `error_kind` names a kind no driver reports.
    #[error(transparent)]
    ErrorKind(Unknown),
    /// `premise` is not one.
    #[error(transparent)]
    Premise(UnknownPremise),
    /// `outcome` is not one.
    #[error(transparent)]
    Outcome(Unknown),
    /// An `imds_requests` entry with a bad value.
    #[error(transparent)]
    ImdsRequests(RequestPatternError),
    /// A bad `account_id` or `sdk_warnings` value.
    #[error(transparent)]
    Reported(super::expect_credentials::ReportedError),
    /// `outage` without `outcome`.
    #[error("`outage` says which outage `outcome` is about: give `outcome` too")]
    OutageWithoutOutcome,
    /// `outage` beyond the schedule's outages (or 0).
    #[error("outage {index} does not exist: the schedule has {count} outage(s), numbered from 1 in time order")]
    NoSuchOutage {
        /// As written.
        index: u32,
        /// Outages the schedule has.
        count: u32,
    },
    /// No key that checks anything.
    #[error("this [[expect]] checks nothing: give it recovers, within, within_attempts, error_kind, error_message, hangs, outcome, imds_requests_after_recovery, keys_used, sts_rejections, caller_arn, imds_requests, expiry_extended, account_id or sdk_warnings")]
    ChecksNothing,
    /// `error_message` is empty: it would match only an empty message.
    #[error("`error_message` is a glob over the SDK's message (`\"*invalid token*\"`), not empty")]
    EmptyErrorMessage,
    /// `hangs = true` where a matching cell's strategy has no `call_timeout`.
    #[error("`hangs = true` needs `call_timeout` on strategy `{strategy}` (cell {cell}): without it a call that never returns ends the cell as a driver error, not as a hang")]
    HangsWithoutCallTimeout {
        /// The strategy without one.
        strategy: String,
        /// A cell it applies to, `driver/strategy`.
        cell: String,
    },
    /// `caller_arn` is not an assumed-role ARN.
    #[error("`caller_arn = \"{0}\"` is not what STS answers a role session: expected arn:PARTITION:sts::ACCOUNT:assumed-role/ROLE/SESSION")]
    CallerArn(String),
    /// `within` with `recovers = false`.
    #[error("`within` bounds the time to recover, so it cannot go with `recovers = false`")]
    WithinWithoutRecovery,
    /// `within_attempts` with `recovers = false`.
    #[error(
        "`within_attempts` bounds the attempts to recover, so it cannot go with `recovers = false`"
    )]
    WithinAttemptsWithoutRecovery,
    /// It and an earlier `[[expect]]` apply to one cell and cannot both hold.
    #[error("this [[expect]] contradicts [[expect]] number {earlier} for cell {cell}: {what}")]
    Contradicts {
        /// The earlier table's position among the `[[expect]]` tables, from 1.
        earlier: usize,
        /// A cell both apply to, `driver/strategy`.
        cell: String,
        /// What cannot hold together.
        what: String,
    },
    /// It applies to no cell.
    #[error("this [[expect]] matches no cell of the [matrix]")]
    MatchesNoCell,
}

/// Reads every `[[expect]]` table, in file order.
///
/// # Errors
/// The first table that cannot be checked: at the name that is wrong, or at its
/// `driver` (else `strategy`, else the start of the file) for the table as a whole.
pub(super) fn read(
    tables: Vec<RawExpect>,
    matrix: &RawMatrix,
    strategies: &std::collections::BTreeMap<String, Strategy>,
    cells: &[Cell],
    schedule: &mock_imds::Schedule,
) -> Result<Vec<Expectation>, At<ExpectError>> {
    let mut expectations: Vec<Expectation> = Vec::new();
    for e in tables {
        let outcome = match &e.outcome {
            Some(o) => Some(outcome(o)?),
            None => None,
        };
        let outage = match (&e.outage, outcome) {
            (Some(n), None) => return Err(At::new(n.span(), ExpectError::OutageWithoutOutcome)),
            (Some(n), Some(_)) => {
                let count = schedule_outages(schedule);
                let index = *n.get_ref();
                if index == 0 || index > count {
                    return Err(At::new(
                        n.span(),
                        ExpectError::NoSuchOutage { index, count },
                    ));
                }
                Some(index)
            }
            (None, _) => None,
        };
        let driver = match &e.driver {
            Some(glob) => Some(driver_glob(glob, matrix).map_err(|u| u.map(ExpectError::Driver))?),
            None => None,
        };
        let strategy = match &e.strategy {
            Some(name) => {
                Some(strategy::named(name, strategies).map_err(|u| u.map(ExpectError::Strategy))?)
            }
            None => None,
        };
        let premise = match &e.premise {
            Some(p) => Some(
                p.get_ref()
                    .parse()
                    .map_err(|u| At::new(p.span(), ExpectError::Premise(u)))?,
            ),
            None => None,
        };
        if let Some(kind) = &e.error_kind {
            if !super::error_kinds::KNOWN_ERROR_KINDS.contains(&kind.get_ref().as_str()) {
                return Err(At::new(
                    kind.span(),
                    ExpectError::ErrorKind(Unknown::new(
                        "error kind",
                        kind.get_ref(),
                        super::error_kinds::KNOWN_ERROR_KINDS,
                        "the error kinds drivers report (harness/src/scenario/error_kinds.rs)",
                    )),
                ));
            }
        }
        let error_message = match &e.error_message {
            Some(m) if m.get_ref().is_empty() => {
                return Err(At::new(m.span(), ExpectError::EmptyErrorMessage))
            }
            Some(m) => Some(m.get_ref().clone()),
            None => None,
        };
        let imds_requests = match &e.imds_requests {
            Some(list) => Some(
                super::imds_requests::read(list).map_err(|a| a.map(ExpectError::ImdsRequests))?,
            ),
            None => None,
        };
        let caller_arn = match &e.caller_arn {
            Some(arn) if !is_assumed_role_arn(arn.get_ref()) => {
                return Err(At::new(
                    arn.span(),
                    ExpectError::CallerArn(arn.get_ref().clone()),
                ))
            }
            Some(arn) => Some(arn.get_ref().clone()),
            None => None,
        };
        use super::expect_credentials as reported;
        let account_id = match &e.account_id {
            Some(a) => {
                Some(reported::read_account_id(a).map_err(|a| a.map(ExpectError::Reported))?)
            }
            None => None,
        };
        let sdk_warnings = match &e.sdk_warnings {
            Some(w) => Some(reported::read_warnings(w).map_err(|a| a.map(ExpectError::Reported))?),
            None => None,
        };
        let expectation = Expectation {
            caller_arn,
            expiry_extended: e.expiry_extended,
            account_id,
            sdk_warnings,
            imds_requests,
            driver,
            strategy,
            recovers: e.recovers,
            within: e.within.map(|w| w.0),
            within_attempts: e.within_attempts,
            error_kind: e.error_kind.map(toml::Spanned::into_inner),
            error_message,
            hangs: e.hangs.as_ref().map(|h| *h.get_ref()),
            imds_requests_after_recovery: e.imds_requests_after_recovery,
            keys_used: e.keys_used,
            sts_rejections: e.sts_rejections,
            outcome,
            outage,
            imds_v1_requests_after_recovery: e.imds_v1_requests_after_recovery,
            premise,
        };
        let span = e.driver.as_ref().or(e.strategy.as_ref()).map(|s| s.span());
        let whole = |error| At {
            span: span.clone(),
            error,
        };
        if expectation.recovers.is_none()
            && expectation.within.is_none()
            && expectation.within_attempts.is_none()
            && expectation.error_kind.is_none()
            && expectation.error_message.is_none()
            && expectation.hangs.is_none()
            && expectation.imds_requests_after_recovery.is_none()
            && expectation.keys_used.is_none()
            && expectation.sts_rejections.is_none()
            && expectation.outcome.is_none()
            && expectation.imds_v1_requests_after_recovery.is_none()
            && expectation.imds_requests.is_none()
            && expectation.caller_arn.is_none()
            && expectation.expiry_extended.is_none()
            && expectation.account_id.is_none()
            && expectation.sdk_warnings.is_none()
        {
            return Err(whole(ExpectError::ChecksNothing));
        }
        if expectation.recovers == Some(false) && expectation.within.is_some() {
            return Err(whole(ExpectError::WithinWithoutRecovery));
        }
        if expectation.recovers == Some(false) && expectation.within_attempts.is_some() {
            return Err(whole(ExpectError::WithinAttemptsWithoutRecovery));
        }
        if !cells.iter().any(|c| expectation.applies_to(c)) {
            return Err(whole(ExpectError::MatchesNoCell));
        }
        if expectation.hangs == Some(true) {
            if let Some(cell) = cells
                .iter()
                .find(|c| expectation.applies_to(c) && c.strategy.call_timeout.is_none())
            {
                let at = e.hangs.as_ref().map(toml::Spanned::span).or(span.clone());
                return Err(At {
                    span: at,
                    error: ExpectError::HangsWithoutCallTimeout {
                        strategy: cell.strategy.name.clone(),
                        cell: cell.id(),
                    },
                });
            }
        }
        for (i, earlier) in expectations.iter().enumerate() {
            let Some(cell) = cells
                .iter()
                .find(|c| earlier.applies_to(c) && expectation.applies_to(c))
            else {
                continue;
            };
            if let Some(what) = contradiction(earlier, &expectation) {
                return Err(whole(ExpectError::Contradicts {
                    earlier: i + 1,
                    cell: cell.id(),
                    what,
                }));
            }
        }
        expectations.push(expectation);
    }
    Ok(expectations)
}

/// The outcome `text` names.
fn outcome(text: &toml::Spanned<String>) -> Result<Outcome, At<ExpectError>> {
    let name = text.get_ref();
    Outcome::EXPECTABLE
        .contains(&name.as_str())
        .then(|| name.parse().ok())
        .flatten()
        .ok_or_else(|| {
            At::new(
                text.span(),
                ExpectError::Outcome(Unknown::new(
                    "outcome",
                    name,
                    Outcome::EXPECTABLE,
                    "what calls do through an outage",
                )),
            )
        })
}

/// How many outages (maximal intervals with a fault on) `schedule` has.
fn schedule_outages(schedule: &mock_imds::Schedule) -> u32 {
    let mut times: Vec<Duration> = schedule.steps().iter().map(|s| s.at).collect();
    times.dedup();
    let mut up = true;
    let mut count = 0;
    for t in times {
        let now_up = schedule.state_at(t).is_up();
        if up && !now_up {
            count += 1;
        }
        up = now_up;
    }
    count
}

/// What two expectations that apply to one cell cannot both hold on: recovery and no
/// recovery, two kinds every failure must be, two exact counts; `None` when they can.
fn contradiction(a: &Expectation, b: &Expectation) -> Option<String> {
    let recovers = |e: &Expectation| {
        e.recovers
            .or((e.within.is_some() || e.within_attempts.is_some()).then_some(true))
    };
    if let (Some(x), Some(y)) = (recovers(a), recovers(b)) {
        if x != y {
            return Some(format!(
                "one expects recovery, the other none (recovers = {x} / {y}, or a `within` that needs recovery)"
            ));
        }
    }
    if let (Some(x), Some(y)) = (&a.caller_arn, &b.caller_arn) {
        if x != y {
            return Some(format!(
                "every call cannot be answered as both {x} and {y} (caller_arn)"
            ));
        }
    }
    if let (Some(x), Some(y)) = (&a.error_kind, &b.error_kind) {
        if x != y {
            return Some(format!(
                "every failure cannot be both {x} and {y} (error_kind)"
            ));
        }
    }
    for (key, x, y) in [
        (
            "imds_requests_after_recovery",
            a.imds_requests_after_recovery,
            b.imds_requests_after_recovery,
        ),
        ("keys_used", a.keys_used, b.keys_used),
        ("sts_rejections", a.sts_rejections, b.sts_rejections),
    ] {
        if let (Some(x), Some(y)) = (x, y) {
            if x != y {
                return Some(format!("{key} cannot be both {x} and {y}"));
            }
        }
    }
    for (key, x, y) in [(
        "imds_v1_requests_after_recovery",
        a.imds_v1_requests_after_recovery,
        b.imds_v1_requests_after_recovery,
    )] {
        if let (Some(x), Some(y)) = (x, y) {
            if x != y {
                return Some(format!("{key} cannot be both {x} and {y}"));
            }
        }
    }
    if let (Some(x), Some(y)) = (a.hangs, b.hangs) {
        if x != y {
            return Some(format!("hangs cannot be both {x} and {y}"));
        }
    }
    if let (Some(x), Some(y)) = (a.expiry_extended, b.expiry_extended) {
        if x != y {
            return Some(format!("expiry_extended cannot be both {x} and {y}"));
        }
    }
    if let (Some(x), Some(y)) = (&a.account_id, &b.account_id) {
        if x != y {
            return Some(format!("account_id cannot be both {x} and {y}"));
        }
    }
    if let (Some(x), Some(y)) = (&a.imds_requests, &b.imds_requests) {
        if x.contradicts(y) {
            return Some(format!(
                "the IMDS requests cannot be both {x} and {y} (imds_requests)"
            ));
        }
    }
    if let (Some(x), Some(y)) = (a.outcome, b.outcome) {
        if a.outage == b.outage && x != y {
            let which = a
                .outage
                .map_or("the worst outage".to_string(), |n| format!("outage {n}"));
            return Some(format!("{which} cannot be both {x} and {y} (outcome)"));
        }
    }
    None
}

/// `glob` when it matches a driver name of the matrix (as written there).
fn driver_glob(glob: &toml::Spanned<String>, matrix: &RawMatrix) -> Result<String, At<Unknown>> {
    let pattern = glob.get_ref();
    if matrix
        .drivers
        .iter()
        .any(|d| crate::glob::matches(pattern, d.get_ref()))
    {
        return Ok(pattern.clone());
    }
    let listed: Vec<&str> = matrix
        .drivers
        .iter()
        .map(|d| d.get_ref().as_str())
        .collect();
    Err(At::new(
        glob.span(),
        Unknown::new("driver", pattern, &listed, "the drivers of the [matrix]"),
    ))
}

/// Cells expected never to recover with no expectation saying why, as warnings naming
/// `path`: a bare "never recovers" also holds for a driver that broke, a misrouted
/// endpoint or an SDK failing for some other reason, so some expectation of the cell must
/// give `error_kind`, `error_message`, `hangs = true` or `imds_requests_after_recovery`.
pub fn warnings(path: &Path, cells: &[Cell], expectations: &[Expectation]) -> Vec<String> {
    let mut warnings = Vec::new();
    for cell in cells {
        let applying: Vec<&Expectation> =
            expectations.iter().filter(|e| e.applies_to(cell)).collect();
        let never = applying
            .iter()
            .any(|e| e.recovers == Some(false) || e.outcome == Some(Outcome::NotRecovered));
        let why = applying.iter().any(|e| {
            e.error_kind.is_some()
                || e.error_message.is_some()
                || e.hangs == Some(true)
                || e.imds_requests_after_recovery.is_some()
        });
        if never && !why {
            warnings.push(format!(
                "{}: cell {} is expected never to recover, but no [[expect]] says why: add error_kind or imds_requests_after_recovery, or it also holds when the cell fails for another reason",
                path.display(),
                cell.id()
            ));
        }
    }
    warnings
}

/// `arn:PARTITION:sts::ACCOUNT:assumed-role/ROLE/SESSION`, the shape of every caller ARN
/// the fake STS answers (a 12-digit account, role and session non-empty).
fn is_assumed_role_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let ["arn", partition, "sts", "", account, resource] = parts.as_slice() else {
        return false;
    };
    let mut resource = resource.splitn(3, '/');
    !partition.is_empty()
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && resource.next() == Some("assumed-role")
        && resource.next().is_some_and(|r| !r.is_empty())
        && resource.next().is_some_and(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// boto3's trap: six NoCredentialsError attempts, no IMDS request after recovery.
    fn trapped() -> Verdict {
        Verdict {
            attempts: 6,
            error_kinds: [("NoCredentialsError".to_string(), 6)].into(),
            imds_requests_after_recovery: Some(0),
            ..Verdict::default()
        }
    }

    /// Accepted on attempt 2, 505 ms after IMDS was back, the first attempt after it.
    fn recovered() -> Verdict {
        Verdict {
            recovered: true,
            first_success_attempt: Some(2),
            recovery_time: Some(ms(505)),
            attempts_to_recover: Some(1),
            attempts: 2,
            error_kinds: [("NoCredentialsError".to_string(), 1)].into(),
            imds_requests_after_recovery: Some(2),
            ..Verdict::default()
        }
    }

    #[test]
    fn never_recovering_with_one_error_kind() {
        let v = trapped();
        let holds = Expectation {
            recovers: Some(false),
            error_kind: Some("NoCredentialsError".into()),
            imds_requests_after_recovery: Some(0),
            ..Expectation::default()
        };
        assert!(holds.check(&v).is_empty());
        let fails = Expectation {
            recovers: Some(true),
            within: Some(ms(1000)),
            ..Expectation::default()
        };
        assert_eq!(
            fails.check(&v),
            vec!["expected recovery, but no call was accepted in 6 attempts".to_string()]
        );
        let other = Expectation {
            error_kind: Some("ProviderTimedOut".into()),
            ..Expectation::default()
        };
        assert_eq!(
            other.check(&v),
            vec![
                "expected every failure to be ProviderTimedOut, also saw NoCredentialsError ×6"
                    .to_string()
            ]
        );
    }

    #[test]
    fn error_message_globs_every_failure_and_a_hang_matches_none() {
        let mut v = trapped();
        v.error_messages =
            vec!["failed to load IMDS session token: service error: invalid token".into()];
        let want = |glob: &str| Expectation {
            error_message: Some(glob.into()),
            ..Expectation::default()
        };
        assert!(want("*invalid token*").check(&v).is_empty());
        // The glob matches the whole message: no implicit stars.
        assert_eq!(want("invalid token").check(&v).len(), 1);
        v.error_messages
            .push("token response did not contain a TTL header".into());
        assert_eq!(
            want("*invalid token*").check(&v),
            vec!["expected every failure's message to match `*invalid token*`, also saw `token response did not contain a TTL header`".to_string()]
        );
        assert!(want("*t*").check(&v).is_empty());
        let ok = recovered();
        let mut none = ok.clone();
        none.error_kinds.clear();
        assert_eq!(
            want("*").check(&none),
            vec!["expected failures whose message matches `*`, but no attempt failed".to_string()]
        );
        let hung = Verdict {
            attempts: 1,
            hung_calls: 1,
            ..Verdict::default()
        };
        assert_eq!(
            want("*").check(&hung),
            vec!["expected every failure's message to match `*`, also saw hung ×1".to_string()]
        );
        let kind = Expectation {
            error_kind: Some("ProviderError".into()),
            ..Expectation::default()
        };
        assert_eq!(
            kind.check(&hung),
            vec!["expected every failure to be ProviderError, also saw hung ×1".to_string()]
        );
    }

    #[test]
    fn hangs_holds_only_on_a_call_that_never_returned() {
        let hangs = |h: bool| Expectation {
            hangs: Some(h),
            ..Expectation::default()
        };
        let hung = Verdict {
            attempts: 1,
            hung_calls: 1,
            ..Verdict::default()
        };
        assert!(hangs(true).check(&hung).is_empty());
        assert_eq!(
            hangs(false).check(&hung),
            vec![
                "expected every call to return, but 1 hung (no answer within the call_timeout)"
                    .to_string()
            ]
        );
        let v = trapped();
        assert!(hangs(false).check(&v).is_empty());
        assert_eq!(
            hangs(true).check(&v),
            vec!["expected a call to hang, but all 6 returned within the call_timeout".to_string()]
        );
    }

    #[test]
    fn caller_arn_holds_only_when_every_verified_call_was_answered_so() {
        let arn = "arn:aws:sts::123456789012:assumed-role/chained/s";
        let want = Expectation {
            caller_arn: Some(arn.into()),
            ..Expectation::default()
        };
        let mut v = recovered();
        v.caller_arns = vec![arn.into()];
        assert!(want.check(&v).is_empty());
        v.caller_arns = vec![
            "arn:aws:sts::123456789012:assumed-role/mock-role/i-0".into(),
            arn.into(),
        ];
        assert_eq!(
            want.check(&v),
            vec![format!("expected every accepted call answered as {arn}, STS answered arn:aws:sts::123456789012:assumed-role/mock-role/i-0, {arn}")]
        );
        v.caller_arns.clear();
        assert_eq!(want.check(&v).len(), 1);
        assert!(is_assumed_role_arn(arn));
        for bad in [
            "arn:aws:iam::123456789012:role/chained",
            "arn:aws:sts::1234:assumed-role/chained/s",
            "arn:aws:sts::123456789012:assumed-role/chained",
            "arn:aws:sts::123456789012:assumed-role//s",
        ] {
            assert!(!is_assumed_role_arn(bad), "{bad}");
        }
    }

    #[test]
    fn within_bounds_each_outage_not_the_start_up() {
        use crate::verdict::{Outage, Outcome as Seen};
        let outage = |index, recovery: Option<u64>| Outage {
            index,
            start: ms(2750),
            end: Some(ms(6750)),
            states: vec!["refuse".into()],
            failed_calls: 8,
            error_kinds: Default::default(),
            outcome: if recovery.is_some() {
                Seen::Recovered
            } else {
                Seen::RodeThrough
            },
            recovery: recovery.map(ms),
            recovered_by_attempt: recovery.map(|_| 15),
            failures_after_recovery: 0,
            calls_after: 8,
        };
        // The first call was accepted 2.51 s in, before the outage (a slow start-up).
        let mut v = Verdict {
            recovery_time: Some(ms(2510)),
            outages: vec![outage(1, Some(380))],
            ..recovered()
        };
        let two = Expectation {
            within: Some(ms(2000)),
            ..Expectation::default()
        };
        assert!(two.check(&v).is_empty(), "{:?}", two.check(&v));
        v.outages.push(outage(2, Some(2430)));
        assert_eq!(
            two.check(&v),
            vec!["expected recovery within 2.00s, took 2.43s after outage 2".to_string()]
        );
        let first = Expectation {
            outage: Some(1),
            ..two.clone()
        };
        assert!(first.check(&v).is_empty());
        // Ridden through: nothing to bound, and recovered.
        v.outages = vec![outage(1, None)];
        assert!(two.check(&v).is_empty());
    }

    #[test]
    fn recovery_within_a_time_and_within_attempts() {
        let v = recovered();
        let one = Expectation {
            within_attempts: Some(1),
            ..Expectation::default()
        };
        assert!(one.check(&v).is_empty());
        let none = Expectation {
            within_attempts: Some(0),
            ..Expectation::default()
        };
        assert_eq!(
            none.check(&v),
            vec!["expected recovery within 0 attempt(s) after IMDS was back, took 1".to_string()]
        );
        let slow = Expectation {
            within: Some(ms(400)),
            ..Expectation::default()
        };
        assert_eq!(
            slow.check(&v),
            vec!["expected recovery within 400ms, took 505ms".to_string()]
        );
        let never = Expectation {
            recovers: Some(false),
            ..Expectation::default()
        };
        assert_eq!(
            never.check(&v),
            vec!["expected no recovery, but attempt 2 was accepted".to_string()]
        );
    }

    #[test]
    fn imds_requests_after_recovery_is_exact() {
        let e = Expectation {
            imds_requests_after_recovery: Some(0),
            ..Expectation::default()
        };
        assert_eq!(
            e.check(&recovered()),
            vec!["expected 0 IMDS requests after recovery, saw 2".to_string()]
        );
        let still_down = Verdict {
            imds_requests_after_recovery: None,
            ..trapped()
        };
        assert!(e.check(&still_down)[0].contains("had not recovered"));
    }

    #[test]
    fn outcome_is_the_worst_outage_or_the_one_named() {
        use crate::verdict::Outage;
        let outage = |index, outcome| Outage {
            index,
            start: ms(0),
            end: Some(ms(100)),
            states: vec!["refuse".into()],
            failed_calls: 1,
            error_kinds: Default::default(),
            outcome,
            recovery: None,
            recovered_by_attempt: None,
            failures_after_recovery: 0,
            calls_after: 1,
        };
        let v = Verdict {
            outages: vec![
                outage(1, Outcome::Recovered),
                outage(2, Outcome::NotRecovered),
            ],
            outcome: Some(Outcome::NotRecovered),
            ..recovered()
        };
        let worst = |o| Expectation {
            outcome: Some(o),
            ..Expectation::default()
        };
        assert!(worst(Outcome::NotRecovered).check(&v).is_empty());
        assert_eq!(
            worst(Outcome::Recovered).check(&v),
            vec!["expected the worst outage to be recovered, it was not-recovered (outage 2: 1 failed call(s))".to_string()]
        );
        let first = Expectation {
            outage: Some(1),
            ..worst(Outcome::Recovered)
        };
        assert!(first.check(&v).is_empty());
        assert_eq!(first.to_string(), "outage 1 recovered");
        let third = Expectation {
            outage: Some(3),
            ..first
        };
        assert_eq!(
            third.check(&v),
            vec!["expected outage 3 to be recovered, but the run had 2 outage(s)".to_string()]
        );
        assert!(worst(Outcome::RodeThrough).check(&recovered())[0].contains("IMDS had no outage"));
    }

    #[test]
    fn expectations_read_as_words() {
        let e = Expectation {
            recovers: Some(true),
            within: Some(ms(1500)),
            within_attempts: Some(1),
            premise: Some(Premise::ResolvedDuringOutage),
            ..Expectation::default()
        };
        assert_eq!(
            e.to_string(),
            "recovers, within 1s 500ms, within 1 attempt after recovery, (premise: resolved-during-outage)"
        );
        assert_eq!(Premise::NAMES, &["resolved-during-outage"]);
        assert_eq!(
            "resolved".parse::<Premise>().unwrap_err().to_string(),
            "unknown premise `resolved`; expected one of: resolved-during-outage"
        );
    }
}
