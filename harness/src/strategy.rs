//! Retry strategies: what the application does when a call fails. Data, not code paths:
//! the runner reads a [`Strategy`] and issues the same driver operations for every SDK.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::Rng;
use serde::{Deserialize, Serialize};

/// How the application retries. Its name, as scenario files write it, is its `Display`
/// and `FromStr` form; [`StrategyKind::NAMES`] lists every name.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    strum::Display,
    strum::EnumString,
    strum::VariantNames,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case", parse_err_fn = unknown_kind, parse_err_ty = UnknownStrategyKind)]
pub enum StrategyKind {
    /// Create one client before the first attempt and retry the call on it.
    CallRetry,
    /// Create a new client (dropping the old one) before every attempt.
    ClientRetry,
    /// Create a new session *and* client before every attempt (boto3's `Session`; for
    /// SDKs without sessions the same as `client-retry`).
    SessionRetry,
    /// No application retry: one client, one call; only the SDK's own retry settings
    /// (driver settings) act.
    SdkRetry,
}

impl StrategyKind {
    /// Every kind's name, as written in scenario files.
    pub const NAMES: &'static [&'static str] = <Self as strum::VariantNames>::VARIANTS;
}

/// A name that is not a strategy kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown strategy kind `{0}`; expected one of `call-retry` (same client, retry the call), `client-retry` (new client per attempt), `session-retry` (new session and client per attempt), `sdk-retry` (one call, the SDK's own retries only)")]
pub struct UnknownStrategyKind(pub String);

fn unknown_kind(name: &str) -> UnknownStrategyKind {
    UnknownStrategyKind(name.to_string())
}

/// When the next attempt starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "pacing", rename_all = "kebab-case")]
pub enum Pacing {
    /// Attempt `n` starts `interval × (n-1)` after the first (at once when the previous
    /// attempt ran past that).
    Interval {
        /// Time between attempt starts; serialized as `interval_ms`.
        #[serde(rename = "interval_ms", with = "crate::ms")]
        interval: Duration,
    },
    /// After failed attempt `n`, wait `min(max, base × 2^(n-1))`, or with `jitter` a
    /// uniformly drawn part of it ("full jitter"), from the scenario's seeded RNG.
    Backoff {
        /// First delay; serialized as `base_ms`.
        #[serde(rename = "base_ms", with = "crate::ms")]
        base: Duration,
        /// Largest delay; serialized as `max_ms`.
        #[serde(rename = "max_ms", with = "crate::ms")]
        max: Duration,
        /// Draw each delay uniformly from `0..=delay`.
        jitter: bool,
    },
}

/// A named retry strategy from a scenario.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Strategy {
    /// Its name in the scenario (the `[strategy.NAME]` table).
    pub name: String,
    /// What it does between attempts.
    pub kind: StrategyKind,
    /// Maximum number of calls (at least 1).
    pub attempts: u32,
    /// When attempts start.
    #[serde(flatten)]
    pub pacing: Pacing,
    /// Keep making the remaining attempts after a success (to watch refreshes and key
    /// rotation); by default the runner stops at the first success.
    #[serde(default)]
    pub continue_after_success: bool,
    /// Longest a call may take before the runner records it as hung
    /// ([`crate::driver::CallOutcome::Hung`]) and ends the cell there, so a scenario can
    /// pin an SDK call that never returns (`[[expect]] hangs = true`); without it a call
    /// that never returns ends the cell as a driver error at the run's operation timeout.
    /// Serialized as `call_timeout_ms`.
    #[serde(
        default,
        rename = "call_timeout_ms",
        with = "crate::ms::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub call_timeout: Option<Duration>,
}

impl Strategy {
    /// Whether a new client is created before attempt `n` (1-based).
    pub fn new_client_before(&self, n: u32) -> bool {
        match self.kind {
            StrategyKind::CallRetry | StrategyKind::SdkRetry => n == 1,
            StrategyKind::ClientRetry | StrategyKind::SessionRetry => true,
        }
    }

    /// Whether a new session is created before attempt `n` (the first session is made
    /// when the driver is configured).
    pub fn new_session_before(&self, n: u32) -> bool {
        self.kind == StrategyKind::SessionRetry && n > 1
    }

    /// How long after the first attempt's start (interval pacing), or after attempt
    /// `n - 1` ended (backoff), attempt `n` (≥ 2) starts.
    pub fn wait_before(&self, n: u32, rng: &mut StdRng) -> Wait {
        match self.pacing {
            Pacing::Interval { interval } => Wait::FromFirstStart(interval * n.saturating_sub(1)),
            Pacing::Backoff { base, max, jitter } => {
                let exponent = n.saturating_sub(2).min(30);
                let delay = base.saturating_mul(1 << exponent).min(max);
                let delay = if jitter {
                    Duration::from_secs_f64(rng.random_range(0.0..=delay.as_secs_f64()))
                } else {
                    delay
                };
                Wait::FromPreviousEnd(delay)
            }
        }
    }

    /// The longest the attempts can span (first start to last start), ignoring how long
    /// each takes: for checking a scenario stays within bounds.
    pub fn max_span(&self) -> Duration {
        match self.pacing {
            Pacing::Interval { interval } => interval * self.attempts.saturating_sub(1),
            Pacing::Backoff { base, max, .. } => (2..=self.attempts)
                .map(|n| {
                    base.saturating_mul(1 << n.saturating_sub(2).min(30))
                        .min(max)
                })
                .sum(),
        }
    }

    /// The earliest the last attempt can start, when it is known in advance (not with
    /// jittered backoff): for the "ends before recovery" warning.
    pub fn min_span(&self) -> Option<Duration> {
        match self.pacing {
            Pacing::Backoff { jitter: true, .. } => None,
            _ => Some(self.max_span()),
        }
    }
}

/// When the next attempt starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// At this offset from the first attempt's start.
    FromFirstStart(Duration),
    /// This long after the previous attempt ended.
    FromPreviousEnd(Duration),
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn strategy(kind: StrategyKind, pacing: Pacing) -> Strategy {
        Strategy {
            name: "x".into(),
            kind,
            attempts: 5,
            pacing,
            continue_after_success: false,
            call_timeout: None,
        }
    }

    #[test]
    fn plans_clients_sessions_and_waits() {
        let mut rng = StdRng::seed_from_u64(1);
        let s = strategy(
            StrategyKind::CallRetry,
            Pacing::Interval {
                interval: Duration::from_millis(500),
            },
        );
        assert_eq!(
            s.wait_before(3, &mut rng),
            Wait::FromFirstStart(Duration::from_secs(1))
        );
        assert!(s.new_client_before(1) && !s.new_client_before(2));
        assert_eq!(s.max_span(), Duration::from_secs(2));
        let c = Strategy {
            kind: StrategyKind::ClientRetry,
            ..s.clone()
        };
        assert!(c.new_client_before(2) && !c.new_session_before(2));
        let session = Strategy {
            kind: StrategyKind::SessionRetry,
            ..s
        };
        assert!(session.new_session_before(2) && !session.new_session_before(1));
        assert_eq!(
            "session-retry".parse::<StrategyKind>(),
            Ok(StrategyKind::SessionRetry)
        );
        assert!("retry"
            .parse::<StrategyKind>()
            .unwrap_err()
            .to_string()
            .contains("expected one of"));
        assert_eq!(
            StrategyKind::NAMES,
            &["call-retry", "client-retry", "session-retry", "sdk-retry"]
        );
        assert_eq!(StrategyKind::SdkRetry.to_string(), "sdk-retry");
    }

    #[test]
    fn backoff_doubles_up_to_max_and_jitter_is_seeded() {
        let mut rng = StdRng::seed_from_u64(1);
        let ms = Duration::from_millis;
        let s = strategy(
            StrategyKind::CallRetry,
            Pacing::Backoff {
                base: ms(100),
                max: ms(300),
                jitter: false,
            },
        );
        let waits: Vec<Wait> = (2..=5).map(|n| s.wait_before(n, &mut rng)).collect();
        assert_eq!(
            waits,
            vec![ms(100), ms(200), ms(300), ms(300)]
                .into_iter()
                .map(Wait::FromPreviousEnd)
                .collect::<Vec<_>>()
        );
        assert_eq!(s.max_span(), ms(900));
        let j = strategy(
            StrategyKind::CallRetry,
            Pacing::Backoff {
                base: ms(100),
                max: ms(300),
                jitter: true,
            },
        );
        let draw = |seed| {
            let mut rng = StdRng::seed_from_u64(seed);
            (2..=5)
                .map(|n| j.wait_before(n, &mut rng))
                .collect::<Vec<_>>()
        };
        assert_eq!(draw(7), draw(7));
        assert_ne!(draw(7), draw(8));
        for w in draw(9) {
            let Wait::FromPreviousEnd(d) = w else {
                panic!()
            };
            assert!(d <= ms(300));
        }
    }
}
