//! The text of notices, the same in schedule files, on the command line and in the
//! control API (and printed back by `Display` to text that parses to an equal value):
//!
//! ```text
//! NOTICE = "spot-interruption(" ACTION [", " LEAD] ")"   ACTION = terminate | stop | hibernate
//!        | "rebalance"
//!        | "maintenance(" CODE [", " LEAD [", " WINDOW]] ")"
//!        | "lifecycle(" STATE ")"                         STATE = InService | Terminated | …
//!        | "clear"
//! ```
//!
//! LEAD is how far ahead of the virtual clock's now the notice's `time` lies (spot
//! default 2m, EC2's two-minute warning; maintenance default 1h); WINDOW is the
//! maintenance event's length, `NotAfter - NotBefore` (default 2h).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What a Spot interruption does to the instance: `spot/instance-action`'s `action`
/// (EC2 User Guide, "Spot Instance interruption notices").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpotAction {
    /// `terminate`; the only action that also serves `spot/termination-time`.
    Terminate,
    /// `stop`.
    Stop,
    /// `hibernate`.
    Hibernate,
}

impl SpotAction {
    /// The name EC2 writes (`terminate`, `stop`, `hibernate`).
    pub fn as_str(self) -> &'static str {
        match self {
            SpotAction::Terminate => "terminate",
            SpotAction::Stop => "stop",
            SpotAction::Hibernate => "hibernate",
        }
    }
}

/// EC2's scheduled event codes (EC2 User Guide, "Scheduled events for your instances").
pub const MAINTENANCE_CODES: &[&str] = &[
    "instance-reboot",
    "system-reboot",
    "system-maintenance",
    "instance-retirement",
    "instance-stop",
];

/// Amazon EC2 Auto Scaling's target lifecycle states (Auto Scaling User Guide, "Retrieve
/// the target lifecycle state through instance metadata").
pub const LIFECYCLE_STATES: &[&str] = &[
    "InService",
    "Terminated",
    "Detached",
    "Standby",
    "Warmed:Hibernated",
    "Warmed:Running",
    "Warmed:Stopped",
    "Warmed:Terminated",
];

/// The default lead of a Spot interruption notice: EC2 warns two minutes ahead.
pub const SPOT_LEAD: Duration = Duration::from_secs(120);
/// The default lead of a maintenance event (its `NotBefore` after now).
pub const MAINTENANCE_LEAD: Duration = Duration::from_secs(3600);
/// The default maintenance window (`NotAfter - NotBefore`).
pub const MAINTENANCE_WINDOW: Duration = Duration::from_secs(2 * 3600);

/// One notice the instance is given (posted by a schedule step, `ctl notice` or the
/// library); see the module docs for the text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Notice {
    /// A Spot interruption: `spot/instance-action` (and, for `terminate`,
    /// `spot/termination-time`) answer with `time` = now + `lead`.
    SpotInterruption {
        /// What happens to the instance.
        action: SpotAction,
        /// How far ahead the interruption lies.
        lead: Duration,
    },
    /// A rebalance recommendation: `events/recommendations/rebalance` answers
    /// `{"noticeTime": now}`.
    Rebalance,
    /// A scheduled maintenance event appended to `events/maintenance/scheduled`.
    Maintenance {
        /// One of [`MAINTENANCE_CODES`].
        code: String,
        /// `NotBefore` - now.
        lead: Duration,
        /// `NotAfter` - `NotBefore`.
        window: Duration,
    },
    /// `autoscaling/target-lifecycle-state` becomes this state.
    Lifecycle(String),
    /// Withdraws every notice: the paths answer as before the first one (scheduled
    /// maintenance events move to `history` as `canceled`).
    Clear,
}

fn lead_text(d: Duration) -> String {
    humantime::format_duration(d).to_string()
}

impl fmt::Display for Notice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Notice::SpotInterruption { action, lead } => {
                write!(
                    f,
                    "spot-interruption({}, {})",
                    action.as_str(),
                    lead_text(*lead)
                )
            }
            Notice::Rebalance => f.write_str("rebalance"),
            Notice::Maintenance { code, lead, window } => write!(
                f,
                "maintenance({code}, {}, {})",
                lead_text(*lead),
                lead_text(*window)
            ),
            Notice::Lifecycle(state) => write!(f, "lifecycle({state})"),
            Notice::Clear => f.write_str("clear"),
        }
    }
}

/// Text that is not a notice: what was wrong and what is accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid notice `{input}`: {reason}; expected spot-interruption(terminate|stop|hibernate[, LEAD]), rebalance, maintenance(CODE[, LEAD[, WINDOW]]) with CODE one of {codes}, lifecycle(STATE) with STATE one of {states}, or clear", codes = MAINTENANCE_CODES.join(", "), states = LIFECYCLE_STATES.join(", "))]
pub struct ParseNoticeError {
    /// The text that failed to parse.
    pub input: String,
    /// What was wrong with it.
    pub reason: String,
}

fn duration(text: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(text.trim())
        .map_err(|e| format!("`{}` is not a duration ({e})", text.trim()))?;
    crate::bounds::check_bounded(d).map_err(|why| format!("`{}`: {why}", text.trim()))
}

fn parse(text: &str) -> Result<Notice, String> {
    let text = text.trim();
    match text {
        "rebalance" => return Ok(Notice::Rebalance),
        "clear" => return Ok(Notice::Clear),
        _ => {}
    }
    let Some((name, inner)) = text
        .find('(')
        .and_then(|open| Some((&text[..open], text[open + 1..].strip_suffix(')')?)))
    else {
        return Err(format!("unknown notice `{text}`"));
    };
    let args: Vec<&str> = inner.split(',').map(str::trim).collect();
    match (name.trim(), args.as_slice()) {
        ("spot-interruption", [action, rest @ ..]) if rest.len() <= 1 => {
            let action = match *action {
                "terminate" => SpotAction::Terminate,
                "stop" => SpotAction::Stop,
                "hibernate" => SpotAction::Hibernate,
                other => return Err(format!("unknown spot action `{other}`")),
            };
            let lead = rest.first().map_or(Ok(SPOT_LEAD), |l| duration(l))?;
            Ok(Notice::SpotInterruption { action, lead })
        }
        ("maintenance", [code, rest @ ..]) if rest.len() <= 2 => {
            if !MAINTENANCE_CODES.contains(code) {
                return Err(format!("unknown maintenance event code `{code}`"));
            }
            let lead = rest.first().map_or(Ok(MAINTENANCE_LEAD), |l| duration(l))?;
            let window = rest
                .get(1)
                .map_or(Ok(MAINTENANCE_WINDOW), |w| duration(w))?;
            Ok(Notice::Maintenance {
                code: (*code).to_string(),
                lead,
                window,
            })
        }
        ("lifecycle", [state]) => {
            if !LIFECYCLE_STATES.contains(state) {
                return Err(format!("unknown lifecycle state `{state}`"));
            }
            Ok(Notice::Lifecycle((*state).to_string()))
        }
        ("spot-interruption" | "maintenance" | "lifecycle", _) => {
            Err(format!("wrong number of arguments to `{}`", name.trim()))
        }
        _ => Err(format!("unknown notice `{}`", name.trim())),
    }
}

impl FromStr for Notice {
    type Err = ParseNoticeError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        parse(text).map_err(|reason| ParseNoticeError {
            input: text.to_string(),
            reason,
        })
    }
}

impl Serialize for Notice {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Notice {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_parse_with_defaults_and_print_back() {
        let n: Notice = "spot-interruption(terminate)".parse().unwrap();
        assert_eq!(
            n,
            Notice::SpotInterruption {
                action: SpotAction::Terminate,
                lead: SPOT_LEAD
            }
        );
        for text in [
            "spot-interruption(stop, 30s)",
            "rebalance",
            "maintenance(system-reboot, 10m, 1h)",
            "lifecycle(Terminated)",
            "lifecycle(Warmed:Running)",
            "clear",
        ] {
            let n: Notice = text.parse().unwrap();
            assert_eq!(n.to_string(), text);
            assert_eq!(n.to_string().parse::<Notice>().unwrap(), n);
        }
        assert_eq!(
            "maintenance(instance-stop)"
                .parse::<Notice>()
                .unwrap()
                .to_string(),
            "maintenance(instance-stop, 1h, 2h)"
        );
    }

    #[test]
    fn bad_notices_say_what_is_accepted() {
        for (text, why) in [
            (
                "spot-interruption(explode)",
                "unknown spot action `explode`",
            ),
            ("spot-interruption(stop, soon)", "`soon` is not a duration"),
            (
                "maintenance(reboot)",
                "unknown maintenance event code `reboot`",
            ),
            ("lifecycle(Gone)", "unknown lifecycle state `Gone`"),
            ("lifecycle()", "unknown lifecycle state ``"),
            ("lifecycle(InService, 1s)", "wrong number of arguments"),
            ("tsunami", "unknown notice `tsunami`"),
        ] {
            let e = text.parse::<Notice>().unwrap_err().to_string();
            assert!(e.contains(why), "{text}: {e}");
            assert!(e.contains("expected spot-interruption("), "{e}");
        }
    }
}
