//! Steps and schedules: `(at, change)` on the scenario clock.
//!
//! A step changes IMDS's state (a fault, `up on TARGET`, `up`), jumps the mock's virtual
//! wall clock (`clock = "+5h52m"`), rotates the credentials (`rotate = true`), posts a
//! notice (`notice = "spot-interruption(terminate, 2m)"`, see [`crate::notice`]), or any
//! of these at once ([`StepChange`]: clock first, then the rotation, then the notice,
//! then the state).
//!
//! Before the first step IMDS is up. The state at time `t` is every step at or before `t`
//! applied in order, so for each target the last step that touched it wins. Steps are
//! kept sorted by time; several steps may share one time and apply in the order written,
//! except that two state changes at one time on the same target (or an `up` beside any
//! other state change) are an error, since one would silently undo the other.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::clock::SignedDuration;
use crate::fault::{Change, ImdsState};

fn is_false(b: &bool) -> bool {
    !*b
}

/// What one step changes: IMDS's state, the virtual clock, the credentials, or several.
/// Applied in this order: the clock jump, then the rotation (so a rotation after a jump
/// issues credentials on the jumped clock), then the state change.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StepChange {
    /// The state change, e.g. `refuse`, `status(403) on token`, `up on token`, `up`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<Change>,
    /// How far the mock's virtual wall clock jumps (`+5h 52m`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock: Option<SignedDuration>,
    /// Replace the credentials now (the old set stays valid until it expires).
    #[serde(default, skip_serializing_if = "is_false")]
    pub rotate: bool,
    /// Post a notice (after the clock jump, so its time is on the jumped clock).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice: Option<crate::notice::Notice>,
    /// Write a new Pod Identity service-account token over the token file, as the kubelet
    /// does (the old one stays accepted until its `exp`); applied after `rotate`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub rotate_token: bool,
}

impl StepChange {
    /// True when the step changes nothing.
    pub fn is_empty(&self) -> bool {
        self.state.is_none()
            && self.clock.is_none()
            && !self.rotate
            && self.notice.is_none()
            && !self.rotate_token
    }
}

impl From<Change> for StepChange {
    fn from(change: Change) -> Self {
        Self {
            state: Some(change),
            ..Self::default()
        }
    }
}

impl fmt::Display for StepChange {
    /// `refuse`, `clock +5h 52m`, `rotate`, or several in the order they apply, joined
    /// by `, ` (`clock +5h 52m, rotate, refuse`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(by) = self.clock {
            parts.push(format!("clock {by}"));
        }
        if self.rotate {
            parts.push("rotate".to_string());
        }
        if let Some(notice) = &self.notice {
            parts.push(format!("notice {notice}"));
        }
        if self.rotate_token {
            parts.push("rotate-token".to_string());
        }
        if let Some(state) = &self.state {
            parts.push(state.to_string());
        }
        if parts.is_empty() {
            parts.push("nothing".to_string());
        }
        f.write_str(&parts.join(", "))
    }
}

/// One schedule step: at `at` (since the scenario clock's zero) apply `change`.
/// Serialized as `{"at_ms": 1000, "state": "refuse", "clock": "+5h 52m", "rotate": true}`
/// (each of `state`, `clock`, `rotate` only when set).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// Offset from the scenario clock's zero; serialized as `at_ms`.
    #[serde(rename = "at_ms", with = "crate::ms")]
    pub at: Duration,
    /// What changes.
    #[serde(flatten)]
    pub change: StepChange,
}

impl Step {
    /// A step that changes the state at `at`.
    pub fn new(at: Duration, change: Change) -> Self {
        Self::with(at, change.into())
    }

    /// A step that changes any of state, clock and credentials at `at`.
    pub fn with(at: Duration, change: StepChange) -> Self {
        Self { at, change }
    }

    /// A step that jumps the virtual clock by `by` at `at`.
    pub fn clock(at: Duration, by: SignedDuration) -> Self {
        Self::with(
            at,
            StepChange {
                clock: Some(by),
                ..StepChange::default()
            },
        )
    }

    /// A step that rotates the credentials at `at`.
    pub fn rotate(at: Duration) -> Self {
        Self::with(
            at,
            StepChange {
                rotate: true,
                ..StepChange::default()
            },
        )
    }

    /// The state change, if the step has one.
    pub fn state(&self) -> Option<&Change> {
        self.change.state.as_ref()
    }
}

/// A schedule that is not well formed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// Two state changes at one time touch the same target.
    #[error("two schedule steps at {} change the same target: give each its own time", humantime::format_duration(*.0))]
    Conflict(Duration),
    /// A step that changes nothing.
    #[error("the schedule step at {} changes nothing: give it a `state`, a `clock` jump, `rotate = true` or `rotate_token = true`", humantime::format_duration(*.0))]
    Empty(Duration),
}

impl ScheduleError {
    /// The time of the offending step.
    pub fn at(&self) -> Duration {
        match self {
            ScheduleError::Conflict(t) | ScheduleError::Empty(t) => *t,
        }
    }
}

/// An ordered list of steps.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Schedule {
    steps: Vec<Step>,
}

impl Schedule {
    /// Builds a schedule from steps in any order (steps at one time keep their order).
    ///
    /// # Errors
    /// [`ScheduleError::Conflict`] when two state changes at one time touch the same
    /// target; [`ScheduleError::Empty`] for a step that changes nothing.
    pub fn new(mut steps: Vec<Step>) -> Result<Self, ScheduleError> {
        if let Some(empty) = steps.iter().find(|s| s.change.is_empty()) {
            return Err(ScheduleError::Empty(empty.at));
        }
        steps.sort_by_key(|s| s.at);
        for group in steps.chunk_by(|a, b| a.at == b.at) {
            let changes: Vec<&Change> = group.iter().filter_map(Step::state).collect();
            for (i, a) in changes.iter().enumerate() {
                for b in &changes[i + 1..] {
                    let clash = match (a.target(), b.target()) {
                        (Some(x), Some(y)) => x == y,
                        _ => true,
                    };
                    if clash {
                        return Err(ScheduleError::Conflict(group[0].at));
                    }
                }
            }
        }
        Ok(Self { steps })
    }

    /// The steps, sorted by time.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// The state at `t`: every step at or before `t` applied in order.
    pub fn state_at(&self, t: Duration) -> ImdsState {
        let mut state = ImdsState::up();
        for step in self.steps.iter().take_while(|s| s.at <= t) {
            if let Some(change) = step.state() {
                state.apply(change);
            }
        }
        state
    }

    /// Times at which IMDS goes from having a fault to having none (recoveries), in order.
    pub fn recoveries(&self) -> Vec<Duration> {
        let mut state = ImdsState::up();
        let mut out = Vec::new();
        for group in self.steps.chunk_by(|a, b| a.at == b.at) {
            let was_up = state.is_up();
            for change in group.iter().filter_map(Step::state) {
                state.apply(change);
            }
            if state.is_up() && !was_up {
                out.push(group[0].at);
            }
        }
        out
    }

    /// True when a step jumps the virtual clock (so clients' clocks must be able to move
    /// with the mock's).
    pub fn moves_clock(&self) -> bool {
        self.steps.iter().any(|s| s.change.clock.is_some())
    }

    /// Time of the last step, or zero for an empty schedule.
    pub fn duration(&self) -> Duration {
        self.steps.last().map(|s| s.at).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fault::{Fault, FaultSpec, Target};

    fn step(ms: u64, change: &str) -> Step {
        Step::new(Duration::from_millis(ms), change.parse().unwrap())
    }

    #[test]
    fn state_at_applies_steps_up_to_t() {
        let s = Schedule::new(vec![step(2000, "up"), step(0, "refuse")]).unwrap();
        assert_eq!(
            s.state_at(Duration::ZERO),
            FaultSpec::new(Fault::Refuse).into()
        );
        assert_eq!(
            s.state_at(Duration::from_millis(1999)),
            FaultSpec::new(Fault::Refuse).into()
        );
        assert!(s.state_at(Duration::from_millis(2000)).is_up());
        assert_eq!(s.recoveries(), vec![Duration::from_millis(2000)]);
        assert!(Schedule::new(vec![step(500, "blackhole")])
            .unwrap()
            .state_at(Duration::from_millis(10))
            .is_up());
    }

    #[test]
    fn targets_compose_and_clear_separately() {
        let s = Schedule::new(vec![
            step(0, "status(403) on token"),
            step(0, "latency(10ms, 0s)"),
            step(100, "up on token"),
            step(200, "up on listener"),
        ])
        .unwrap();
        assert_eq!(s.state_at(Duration::from_millis(50)).faults().count(), 2);
        let mid = s.state_at(Duration::from_millis(150));
        assert_eq!(
            mid.faults().map(|f| f.target.clone()).collect::<Vec<_>>(),
            vec![Target::Listener]
        );
        assert!(s.state_at(Duration::from_millis(200)).is_up());
        assert_eq!(s.recoveries(), vec![Duration::from_millis(200)]);
    }

    #[test]
    fn conflicting_steps_are_rejected() {
        let err = Schedule::new(vec![step(1000, "up"), step(1000, "refuse")]).unwrap_err();
        assert!(err.to_string().contains("1s"), "{err}");
        assert!(Schedule::new(vec![
            step(0, "reset on token"),
            step(0, "status(500) on token")
        ])
        .is_err());
    }

    #[test]
    fn clock_and_rotate_steps_share_a_time_with_anything() {
        let jump: SignedDuration = "+5h52m".parse().unwrap();
        let at = Duration::from_secs(1);
        let s = Schedule::new(vec![
            step(1000, "refuse"),
            Step::clock(at, jump),
            Step::rotate(at),
            Step::clock(at, "-1m".parse().unwrap()),
            step(2000, "up"),
        ])
        .unwrap();
        let at_one: Vec<String> = s.steps()[..4]
            .iter()
            .map(|s| s.change.to_string())
            .collect();
        assert_eq!(
            at_one,
            ["refuse", "clock +5h 52m", "rotate", "clock -1m"],
            "written order kept"
        );
        assert!(s.moves_clock());
        assert_eq!(s.recoveries(), vec![Duration::from_secs(2)]);
        assert!(!s.state_at(at).is_up());
        let both = Step::with(
            at,
            StepChange {
                state: Some("refuse".parse().unwrap()),
                clock: Some(jump),
                rotate: true,
                notice: None,
                rotate_token: false,
            },
        );
        assert_eq!(both.change.to_string(), "clock +5h 52m, rotate, refuse");
        let json = serde_json::to_value(&both).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"at_ms": 1000.0, "state": "refuse", "clock": "+5h 52m", "rotate": true})
        );
        assert_eq!(serde_json::from_value::<Step>(json).unwrap(), both);
        let empty = Step::with(at, StepChange::default());
        let e = Schedule::new(vec![empty]).unwrap_err();
        assert_eq!(e, ScheduleError::Empty(at));
        assert!(e.to_string().contains("`clock` jump"), "{e}");
        assert!(!Schedule::new(vec![step(0, "refuse")])
            .unwrap()
            .moves_clock());
    }
}
