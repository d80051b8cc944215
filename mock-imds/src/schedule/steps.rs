//! Steps and schedules: `(at, change)` on the scenario clock.
//!
//! Before the first step IMDS is up. The state at time `t` is every step at or before `t`
//! applied in order, so for each target the last step that touched it wins. Steps are
//! kept sorted by time; two steps at one time that touch the same target (or an `up`
//! beside any other step) are an error, since which one wins would be ambiguous.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::fault::{Change, ImdsState};

/// One schedule step: at `at` (since the scenario clock's zero) apply `change`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// Offset from the scenario clock's zero; serialized as `at_ms`.
    #[serde(rename = "at_ms", with = "crate::ms")]
    pub at: Duration,
    /// What changes, e.g. `refuse`, `status(403) on token`, `up on token`, `up`.
    #[serde(rename = "state")]
    pub change: Change,
}

impl Step {
    /// A step from a time and a change.
    pub fn new(at: Duration, change: Change) -> Self {
        Self { at, change }
    }
}

/// A schedule that is not well formed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// Two steps at one time touch the same target.
    #[error("two schedule steps at {} change the same target: give each its own time", humantime::format_duration(*.0))]
    Conflict(Duration),
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
    /// [`ScheduleError::Conflict`] when two steps at one time touch the same target.
    pub fn new(mut steps: Vec<Step>) -> Result<Self, ScheduleError> {
        steps.sort_by_key(|s| s.at);
        for group in steps.chunk_by(|a, b| a.at == b.at) {
            for (i, a) in group.iter().enumerate() {
                for b in &group[i + 1..] {
                    let clash = match (a.change.target(), b.change.target()) {
                        (Some(x), Some(y)) => x == y,
                        _ => true,
                    };
                    if clash {
                        return Err(ScheduleError::Conflict(a.at));
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
            state.apply(&step.change);
        }
        state
    }

    /// Times at which IMDS goes from having a fault to having none (recoveries), in order.
    pub fn recoveries(&self) -> Vec<Duration> {
        let mut state = ImdsState::up();
        let mut out = Vec::new();
        for group in self.steps.chunk_by(|a, b| a.at == b.at) {
            let was_up = state.is_up();
            for step in group {
                state.apply(&step.change);
            }
            if state.is_up() && !was_up {
                out.push(group[0].at);
            }
        }
        out
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
}
