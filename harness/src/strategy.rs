//! Retry strategies: what the application does when a call fails. Data, not code paths:
//! the runner reads a [`Strategy`] and issues the same driver operations for every SDK.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How the application retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StrategyKind {
    /// Create one client before the first attempt and retry the call on it.
    CallRetry,
    /// Create a new client (dropping the old one) before every attempt.
    ClientRetry,
}

impl StrategyKind {
    /// Every kind's name, as written in scenario files.
    pub const NAMES: &'static [&'static str] = &["call-retry", "client-retry"];
}

impl FromStr for StrategyKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "call-retry" => Ok(Self::CallRetry),
            "client-retry" => Ok(Self::ClientRetry),
            other => Err(format!(
                "unknown strategy kind `{other}`; expected one of `call-retry` (same client, retry the call), `client-retry` (new client per attempt)"
            )),
        }
    }
}

impl fmt::Display for StrategyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::CallRetry => "call-retry",
            Self::ClientRetry => "client-retry",
        })
    }
}

/// A named retry strategy from a scenario.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Strategy {
    /// Its name in the scenario (the `[strategy.NAME]` table).
    pub name: String,
    /// What it does between attempts.
    pub kind: StrategyKind,
    /// Maximum number of calls (at least 1); the runner stops at the first success.
    pub attempts: u32,
    /// Time between the starts of consecutive attempts (an attempt that takes longer
    /// is followed at once by the next).
    #[serde(
        serialize_with = "mock_imds::events::serialize_ms",
        deserialize_with = "mock_imds::events::deserialize_ms",
        rename = "interval_ms"
    )]
    pub interval: Duration,
}

impl Strategy {
    /// Planned start of attempt `n` (1-based) relative to the first attempt.
    pub fn planned_start(&self, n: u32) -> Duration {
        self.interval * n.saturating_sub(1)
    }

    /// Whether a new client is created before attempt `n` (1-based).
    pub fn new_client_before(&self, n: u32) -> bool {
        match self.kind {
            StrategyKind::CallRetry => n == 1,
            StrategyKind::ClientRetry => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_attempts_and_clients() {
        let s = Strategy {
            name: "x".into(),
            kind: StrategyKind::CallRetry,
            attempts: 3,
            interval: Duration::from_millis(500),
        };
        assert_eq!(s.planned_start(1), Duration::ZERO);
        assert_eq!(s.planned_start(3), Duration::from_secs(1));
        assert!(s.new_client_before(1) && !s.new_client_before(2));
        let c = Strategy {
            kind: StrategyKind::ClientRetry,
            ..s
        };
        assert!(c.new_client_before(2));
        assert_eq!(
            "client-retry".parse::<StrategyKind>(),
            Ok(StrategyKind::ClientRetry)
        );
        assert!("retry"
            .parse::<StrategyKind>()
            .unwrap_err()
            .contains("expected one of"));
    }
}
