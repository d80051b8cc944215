//! Schedules: `(at, state)` steps on the scenario clock.
//!
//! Before the first step IMDS is up. The state at time `t` is the state of the last step
//! at or before `t`. Steps are kept sorted by time; two steps at the same time are an
//! error (which one wins would be ambiguous).

use std::time::Duration;

use serde::Serialize;

use crate::fault::ImdsState;

/// One schedule step: from `at` (since the scenario clock's zero) IMDS is in `state`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Step {
    /// Offset from the scenario clock's zero.
    #[serde(serialize_with = "crate::events::serialize_ms")]
    pub at: Duration,
    /// The state IMDS takes at `at`.
    pub state: ImdsState,
}

/// A schedule that is not well formed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// Two steps at the same time.
    #[error("two schedule steps at {}: each step needs its own time", humantime::format_duration(*.0))]
    DuplicateTime(Duration),
}

/// An ordered list of steps.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Schedule {
    steps: Vec<Step>,
}

impl Schedule {
    /// Builds a schedule from steps in any order.
    ///
    /// # Errors
    /// [`ScheduleError::DuplicateTime`] when two steps share a time.
    pub fn new(mut steps: Vec<Step>) -> Result<Self, ScheduleError> {
        steps.sort_by_key(|s| s.at);
        if let Some(pair) = steps.windows(2).find(|w| w[0].at == w[1].at) {
            return Err(ScheduleError::DuplicateTime(pair[0].at));
        }
        Ok(Self { steps })
    }

    /// The steps, sorted by time.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// The state at `t`: the last step at or before `t`, or up before the first step.
    pub fn state_at(&self, t: Duration) -> ImdsState {
        self.steps
            .iter()
            .take_while(|s| s.at <= t)
            .last()
            .map(|s| s.state.clone())
            .unwrap_or_default()
    }

    /// Times at which IMDS goes from a fault back to up (recoveries), in order.
    pub fn recoveries(&self) -> Vec<Duration> {
        let mut previous = ImdsState::Up;
        let mut out = Vec::new();
        for step in &self.steps {
            if step.state.is_up() && !previous.is_up() {
                out.push(step.at);
            }
            previous = step.state.clone();
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
    use crate::fault::Fault;

    fn step(ms: u64, state: &str) -> Step {
        Step {
            at: Duration::from_millis(ms),
            state: state.parse().unwrap(),
        }
    }

    #[test]
    fn state_at_is_last_step_at_or_before() {
        let s = Schedule::new(vec![step(2000, "up"), step(0, "refuse")]).unwrap();
        assert_eq!(s.state_at(Duration::ZERO), ImdsState::Down(Fault::Refuse));
        assert_eq!(
            s.state_at(Duration::from_millis(1999)),
            ImdsState::Down(Fault::Refuse)
        );
        assert_eq!(s.state_at(Duration::from_millis(2000)), ImdsState::Up);
        assert_eq!(s.recoveries(), vec![Duration::from_millis(2000)]);
        assert_eq!(
            Schedule::new(vec![step(500, "blackhole")])
                .unwrap()
                .state_at(Duration::from_millis(10)),
            ImdsState::Up
        );
    }

    #[test]
    fn duplicate_times_are_rejected() {
        let err = Schedule::new(vec![step(1000, "up"), step(1000, "refuse")]).unwrap_err();
        assert!(err.to_string().contains("1s"), "{err}");
    }
}
