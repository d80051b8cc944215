//! The text grammar of faults, targets, states and changes, the same in scenario files,
//! on the command line, in the control API and in reports:
//!
//! ```text
//! STATE  = "up" | SPEC ("; " SPEC)*
//! CHANGE = "up" | "up on " TARGET | SPEC
//! SPEC   = FAULT [" on " TARGET] [" p=" PROBABILITY] [" times=" COUNT]
//! TARGET = "listener" | "token" | "credentials" | "path(" GLOB ")" | "container"
//! ```
//!
//! Each fault's own syntax (`status(N)`, `latency(DELAY, JITTER)`, …) is in its row of
//! the catalogue. Everything here prints back (`Display`) to text that parses to an equal
//! value.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

use super::args::split_call;
use super::catalogue::{Fault, Layer, CATALOGUE};
use super::state::{Change, FaultSpec, ImdsState};
use super::target::Target;

/// Text that is not a valid fault, target, state or change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid fault `{input}`: {reason}; expected `up`, `up on TARGET` or `FAULT [on TARGET] [p=0..1] [times=N]` with FAULT one of {faults} and TARGET one of listener, token, credentials, path(GLOB), container", faults = fault_usage())]
pub struct ParseFaultError {
    /// The text that failed to parse.
    pub input: String,
    /// What was wrong with it.
    pub reason: String,
}

/// Every fault's usage, in catalogue order: `refuse, blackhole, …`.
fn fault_usage() -> String {
    CATALOGUE
        .iter()
        .map(|k| k.usage)
        .collect::<Vec<_>>()
        .join(", ")
}

impl FromStr for Target {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        match text.trim() {
            "listener" => Ok(Target::Listener),
            "token" => Ok(Target::Token),
            "credentials" => Ok(Target::Credentials),
            "container" => Ok(Target::Container),
            other => match split_call(other) {
                Some(("path", glob)) if glob.contains(';') => Err(
                    "a path glob cannot contain `;`, which separates the faults of a state".into(),
                ),
                Some(("path", glob)) if glob.trim().starts_with('/') => {
                    Ok(Target::Path(glob.trim().to_string()))
                }
                Some(("path", _)) => Err("a path target must start with `/`".into()),
                _ => Err(format!("unknown target `{other}`")),
            },
        }
    }
}

impl FromStr for FaultSpec {
    type Err = ParseFaultError;
    fn from_str(input: &str) -> Result<Self, ParseFaultError> {
        let err = |reason: String| ParseFaultError {
            input: input.to_string(),
            reason,
        };
        let mut text = input.trim();
        let mut times_text = None;
        if let Some(idx) = text.rfind(" times=") {
            times_text = Some(text[idx + 7..].trim());
            text = text[..idx].trim_end();
        }
        let mut probability_text = None;
        if let Some(idx) = text.rfind(" p=") {
            probability_text = Some(text[idx + 3..].trim());
            text = text[..idx].trim_end();
        }
        let (fault_text, target_text) = match text.split_once(" on ") {
            Some((f, t)) => (f, Some(t)),
            None => (text, None),
        };
        let fault: Fault = fault_text.parse().map_err(err)?;
        let target = match target_text {
            Some(t) => t.parse().map_err(err)?,
            None => fault.default_target(),
        };
        let kind = fault.kind();
        if !kind.targets.allow(&target) {
            return Err(err(kind.targets.refusal(kind.name)));
        }
        // Whether the fault takes a probability at all comes before its range.
        if kind.layer == Layer::Socket && probability_text.is_some() {
            return Err(err(format!(
                "`{fault}` acts on the socket and takes no probability"
            )));
        }
        if kind.layer == Layer::Socket && times_text.is_some() {
            return Err(err(format!(
                "`{fault}` acts on the socket and takes no count: the connections it refuses never reach the mock as requests, so they cannot be counted"
            )));
        }
        let times = match times_text {
            None => None,
            Some(n) => match n.parse::<u32>() {
                Ok(n) if n >= 1 => Some(n),
                _ => {
                    return Err(err(
                        "times takes a whole number of requests, at least 1".into()
                    ))
                }
            },
        };
        let probability = match probability_text {
            None => None,
            Some(p) => {
                let p: f64 = p
                    .parse()
                    .map_err(|_| err("the probability must be a number in 0..=1".into()))?;
                if !(0.0..=1.0).contains(&p) {
                    return Err(err("the probability must be in 0..=1".into()));
                }
                Some(p)
            }
        };
        Ok(FaultSpec {
            fault,
            target,
            probability,
            times,
        })
    }
}

impl FromStr for Change {
    type Err = ParseFaultError;
    fn from_str(input: &str) -> Result<Self, ParseFaultError> {
        let text = input.trim();
        if text == "up" {
            return Ok(Change::Up);
        }
        if let Some(target) = text.strip_prefix("up on ") {
            return target
                .parse()
                .map(Change::Clear)
                .map_err(|reason| ParseFaultError {
                    input: input.to_string(),
                    reason,
                });
        }
        text.parse().map(Change::Set)
    }
}

impl FromStr for ImdsState {
    type Err = ParseFaultError;
    /// `up`, or fault specs separated by `;`.
    fn from_str(input: &str) -> Result<Self, ParseFaultError> {
        let text = input.trim();
        let mut state = ImdsState::up();
        if text == "up" {
            return Ok(state);
        }
        for part in text.split(';') {
            state.set(part.parse()?);
        }
        Ok(state)
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Listener => f.write_str("listener"),
            Target::Token => f.write_str("token"),
            Target::Credentials => f.write_str("credentials"),
            Target::Container => f.write_str("container"),
            Target::Path(glob) => write!(f, "path({glob})"),
        }
    }
}

impl fmt::Display for FaultSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.fault)?;
        if self.target != self.fault.default_target() {
            write!(f, " on {}", self.target)?;
        }
        if let Some(p) = self.probability {
            write!(f, " p={p}")?;
        }
        if let Some(n) = self.times {
            write!(f, " times={n}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::Set(spec) => spec.fmt(f),
            Change::Clear(target) => write!(f, "up on {target}"),
            Change::Up => f.write_str("up"),
        }
    }
}

impl fmt::Display for ImdsState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_up() {
            return f.write_str("up");
        }
        let parts: Vec<String> = self.faults().map(ToString::to_string).collect();
        f.write_str(&parts.join("; "))
    }
}

macro_rules! string_serde {
    ($($t:ty),*) => {$(
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    )*};
}
string_serde!(ImdsState, FaultSpec, Change);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fault_parses_and_round_trips() {
        for text in [
            "refuse",
            "blackhole",
            "drop-syn",
            "status(500)",
            "status(503, \"busy \\\"now\\\"\")",
            "latency(200ms, 50ms)",
            "reset",
            "truncate",
            "malformed-json",
            "no-role",
            "expired-credentials",
            "error-document(AssumeRoleUnauthorizedAccess)",
            "throttle(5)",
            "status(403) on token",
            "reset on path(/latest/meta-data/iam/*) p=0.3",
            "latency(1s, 0s) on credentials p=1",
            "status(401) on token times=2",
            "status(500) on token p=0.5 times=3",
            "truncate times=1",
        ] {
            let spec: FaultSpec = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(spec.to_string(), text);
        }
        let state: ImdsState = "status(403) on token; latency(10ms, 0s)".parse().unwrap();
        assert_eq!(state.faults().count(), 2);
        assert_eq!(state.to_string(), "status(403) on token; latency(10ms, 0s)");
        assert_eq!("up".parse::<ImdsState>().unwrap(), ImdsState::up());
        assert_eq!(
            "up on token".parse::<Change>().unwrap(),
            Change::Clear(Target::Token)
        );
    }

    #[test]
    fn rejects_bad_specs_with_reasons() {
        for (text, reason) in [
            ("down", "unknown fault"),
            ("status(abc)", "must be a number"),
            ("status(99)", "200..=599"),
            ("status(101)", "informational (1xx)"),
            ("status(199)", "200..=599"),
            ("throttle(0)", "at least 1 per second"),
            (
                "no-role on token",
                "can only be `credentials` or a `path(GLOB)`",
            ),
            (
                "expired-credentials on listener",
                "can only be `credentials`",
            ),
            ("error-document(X) on token", "can only be `credentials`"),
            ("malformed-json on token", "not `token`"),
            ("refuse p=2", "takes no probability"),
            ("drop-syn p=-1", "takes no probability"),
            ("status(500, body)", "double-quoted"),
            ("latency(fast)", "not a duration"),
            ("latency(10ms, 20ms)", "cannot exceed"),
            ("refuse on token", "only be `listener`"),
            ("refuse p=0.5", "takes no probability"),
            ("reset p=2", "in 0..=1"),
            ("reset on nowhere", "unknown target"),
            ("reset on path(latest)", "start with `/`"),
            ("throttle(-1)", "whole number"),
            ("error-document()", "error-document code"),
            ("reset on path(/a;b)", "cannot contain `;`"),
            ("refuse()", "unknown fault"),
            ("status", "unknown fault"),
            ("status(500) times=0", "at least 1"),
            ("status(500) times=two", "whole number"),
            ("reset times=-1", "whole number"),
            ("refuse times=2", "takes no count"),
            ("drop-syn times=1", "takes no count"),
        ] {
            let err = text.parse::<FaultSpec>().unwrap_err().to_string();
            assert!(err.contains(reason), "{text}: {err}");
            assert!(err.contains("expected `up`"), "{err}");
        }
    }

    /// The error lists every fault, in catalogue order, as it always has (new rows are
    /// listed after these).
    #[test]
    fn the_error_lists_the_catalogue() {
        let err = "down".parse::<FaultSpec>().unwrap_err().to_string();
        assert!(
            err.starts_with("invalid fault `down`: unknown fault; expected `up`, `up on TARGET` or `FAULT [on TARGET] [p=0..1] [times=N]` with FAULT one of refuse, blackhole, drop-syn, status(N), status(N, \"body\"), latency(DELAY, JITTER), reset, truncate, malformed-json, no-role, expired-credentials, error-document(CODE), throttle(PER_SECOND)"),
            "{err}"
        );
        assert!(
            err.ends_with(" and TARGET one of listener, token, credentials, path(GLOB), container"),
            "{err}"
        );
    }

    /// Found by the `fault_spec` fuzz target: a status body holding what the parser
    /// splits on (`;`, ` on `, ` p=`), written with JSON escapes, printed as text that
    /// no longer parsed (or parsed to something else).
    #[test]
    fn status_bodies_with_separators_round_trip() {
        for text in [
            r#"status(500, "a\u0020on b")"#,
            r#"status(500, "\u0020p=1")"#,
            r#"status(500, "x\u0020on\u0020on y") on token p=0.5"#,
            r#"status(503, "a\u003bb")"#,
            r#"status(503, "a\u0020times=2") times=1"#,
        ] {
            let spec: FaultSpec = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
            let printed = spec.to_string();
            assert_eq!(printed.parse::<FaultSpec>(), Ok(spec.clone()), "{printed}");
            let state = ImdsState::from(spec);
            assert_eq!(
                state.to_string().parse::<ImdsState>(),
                Ok(state),
                "{printed}"
            );
        }
        // What does not need escaping stays readable.
        let text = r#"status(503, "busy now\u003b later")"#;
        assert_eq!(text.parse::<FaultSpec>().unwrap().to_string(), text);
    }
}
