//! The fault catalogue and the IMDS state.
//!
//! A state is written as a short string, the same in scenario files, on the command line
//! and in reports: `up`, `refuse`, `blackhole`, `status(500)`, `status(503, "busy")`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One way IMDS can fail. Each variant is one behaviour.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The listening socket is closed: new connections get `ECONNREFUSED` and
    /// connections already open (keep-alive) are closed, as when the IMDS endpoint
    /// goes away or a host firewall `REJECT`s.
    Refuse,
    /// Connections are accepted but a request that arrives while the fault lasts never
    /// gets an answer (not even after the fault lifts), as from a hung metadata service:
    /// the client sees a read timeout. Requests arriving after the fault lifts are served.
    Blackhole,
    /// Every request is answered with this HTTP status (100..=599) and the body given,
    /// or EC2's error page for that status when there is none.
    Status {
        /// The HTTP status code.
        code: u16,
        /// The response body; `None` serves EC2's HTML error page.
        body: Option<String>,
    },
}

/// What IMDS does right now: serve normally, or fail in one way.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ImdsState {
    /// Serving normally.
    #[default]
    Up,
    /// Failing with this fault.
    Down(Fault),
}

impl ImdsState {
    /// True when IMDS serves normally.
    pub fn is_up(&self) -> bool {
        matches!(self, ImdsState::Up)
    }
}

/// A state string that is not one of the accepted forms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid IMDS state `{input}`: {reason}; expected one of `up`, `refuse`, `blackhole`, `status(N)`, `status(N, \"body\")` with N in 100..=599")]
pub struct ParseStateError {
    /// The text that failed to parse.
    pub input: String,
    /// What was wrong with it.
    pub reason: String,
}

impl FromStr for ImdsState {
    type Err = ParseStateError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |reason: &str| ParseStateError {
            input: s.to_string(),
            reason: reason.to_string(),
        };
        let text = s.trim();
        match text {
            "up" => return Ok(ImdsState::Up),
            "refuse" => return Ok(ImdsState::Down(Fault::Refuse)),
            "blackhole" => return Ok(ImdsState::Down(Fault::Blackhole)),
            _ => {}
        }
        let Some(args) = text
            .strip_prefix("status(")
            .and_then(|rest| rest.strip_suffix(')'))
        else {
            return Err(err("unknown state"));
        };
        let (code_text, body) = match args.split_once(',') {
            None => (args, None),
            Some((code, body)) => {
                let body = body.trim();
                let unquoted = serde_json::from_str::<String>(body)
                    .map_err(|_| err("the body must be a double-quoted string"))?;
                (code, Some(unquoted))
            }
        };
        let code: u16 = code_text
            .trim()
            .parse()
            .map_err(|_| err("the status must be a number"))?;
        if !(100..=599).contains(&code) {
            return Err(err("the status must be in 100..=599"));
        }
        Ok(ImdsState::Down(Fault::Status { code, body }))
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Refuse => f.write_str("refuse"),
            Fault::Blackhole => f.write_str("blackhole"),
            Fault::Status { code, body: None } => write!(f, "status({code})"),
            Fault::Status {
                code,
                body: Some(body),
            } => {
                let quoted = serde_json::to_string(body).map_err(|_| fmt::Error)?;
                write!(f, "status({code}, {quoted})")
            }
        }
    }
}

impl fmt::Display for ImdsState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImdsState::Up => f.write_str("up"),
            ImdsState::Down(fault) => fault.fmt(f),
        }
    }
}

impl Serialize for ImdsState {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ImdsState {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form_and_round_trips() {
        for text in [
            "up",
            "refuse",
            "blackhole",
            "status(500)",
            "status(503, \"busy \\\"now\\\"\")",
        ] {
            let state: ImdsState = text.parse().unwrap();
            assert_eq!(state.to_string(), text);
        }
        assert_eq!(
            "status( 404 )".parse::<ImdsState>().unwrap(),
            ImdsState::Down(Fault::Status {
                code: 404,
                body: None
            })
        );
    }

    #[test]
    fn rejects_bad_forms_with_reason() {
        for (text, reason) in [
            ("down", "unknown state"),
            ("status(abc)", "must be a number"),
            ("status(99)", "100..=599"),
            ("status(600)", "100..=599"),
            ("status(500, body)", "double-quoted"),
            ("status(500", "unknown state"),
        ] {
            let err = text.parse::<ImdsState>().unwrap_err();
            assert!(err.to_string().contains(reason), "{text}: {err}");
            assert!(err.to_string().contains("expected one of"), "{err}");
        }
    }
}
