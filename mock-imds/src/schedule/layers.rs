//! Schedules from several sources at once (a file's `[[schedule]]` steps and each of its
//! `[[generate]]` generators; each `--schedule` window of `imds-harness exec`): the one
//! place where overlapping windows are combined.
//!
//! Each source is a *layer*: its own steps, read as a schedule of their own (for each
//! target the layer's last step wins). The combined state has, on each target, the fault
//! of the layer that set its fault there most recently, among the layers that have one:
//! an inner window wins while it lasts, and when it ends the outer window's fault is back
//! (`refuse 0s..3s` with `status(500) 1s..2s` is `refuse`, `status(500)` from 1 s, `refuse`
//! again from 2 s, up from 3 s). The result is a plain [`Schedule`] of the changes of the
//! combined state at each boundary, so the mock applies, and the event log records, the
//! combined state.
//!
//! Clock jumps and rotations (`clock`, `rotate` in a step) are not layered: they pass
//! through at their time, before that time's state changes (a single layer is returned
//! as written).
//!
//! Rejected, since no order of the layers could be meant: two layers setting different
//! faults on one target at one time ([`LayerError::Tie`]), and a bare `up` in one layer
//! while another layer has a fault on ([`LayerError::UpOverOther`]: write `up on TARGET`).

use std::collections::BTreeMap;
use std::time::Duration;

use super::steps::{Schedule, ScheduleError, Step, StepChange};
use crate::fault::{Change, FaultSpec, ImdsState, Target};

/// Layers that cannot be combined.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LayerError {
    /// One layer's own steps conflict.
    #[error("{error}")]
    Layer {
        /// The layer (0-based, in the order given).
        layer: usize,
        /// Its conflict.
        error: ScheduleError,
    },
    /// Two layers set different faults on one target at one time.
    #[error("two overlapping windows set different faults on {target} at {}: which one is inside the other cannot be told; start one of them at another time", humantime::format_duration(*at))]
    Tie {
        /// When.
        at: Duration,
        /// The target.
        target: Target,
        /// The two layers (0-based), in order.
        layers: (usize, usize),
    },
    /// A bare `up` in one layer while another has a fault on.
    #[error("`up` at {} would also end the fault of an overlapping window or generator; write `up on TARGET` for the faults of these steps", humantime::format_duration(*at))]
    UpOverOther {
        /// When.
        at: Duration,
        /// The layer (0-based) with the `up`.
        layer: usize,
    },
}

impl LayerError {
    /// The layer to point at (0-based): the one whose step is in question.
    pub fn layer(&self) -> usize {
        match self {
            LayerError::Layer { layer, .. } | LayerError::UpOverOther { layer, .. } => *layer,
            LayerError::Tie { layers, .. } => layers.1,
        }
    }

    /// When the problem is.
    pub fn at(&self) -> Duration {
        match self {
            LayerError::Layer {
                error: ScheduleError::Conflict(at) | ScheduleError::Empty(at),
                ..
            }
            | LayerError::Tie { at, .. }
            | LayerError::UpOverOther { at, .. } => *at,
        }
    }
}

impl Schedule {
    /// Combines layers of steps (see the module docs): the changes of the combined state
    /// at each boundary. One layer gives the same states as [`Schedule::new`].
    ///
    /// # Errors
    /// [`LayerError`]: a layer's own conflict, a tie between two layers, or a bare `up`
    /// over another layer's fault.
    pub fn layered(layers: Vec<Vec<Step>>) -> Result<Schedule, LayerError> {
        let layers: Vec<Schedule> = layers
            .into_iter()
            .enumerate()
            .map(|(layer, steps)| {
                Schedule::new(steps).map_err(|error| LayerError::Layer { layer, error })
            })
            .collect::<Result<_, _>>()?;
        // One layer is its own schedule, steps kept as written (a step that jumps the
        // clock and changes the state stays one step).
        if layers.len() == 1 {
            return Ok(layers.into_iter().next().expect("one layer"));
        }
        let mut times: Vec<Duration> = layers
            .iter()
            .flat_map(|l| l.steps().iter().map(|s| s.at))
            .collect();
        times.sort_unstable();
        times.dedup();
        // Per layer: its state, and when it set the fault on each target.
        let mut states: Vec<ImdsState> = vec![ImdsState::up(); layers.len()];
        let mut set_at: Vec<BTreeMap<Target, Duration>> = vec![BTreeMap::new(); layers.len()];
        let mut combined = ImdsState::up();
        let mut out = Vec::new();
        let mut cursors = vec![0usize; layers.len()];
        for t in times {
            let mut ups = Vec::new();
            for (i, layer) in layers.iter().enumerate() {
                // Each layer's steps are sorted: take those at `t` from its cursor.
                let steps = layer.steps();
                while cursors[i] < steps.len() && steps[cursors[i]].at < t {
                    cursors[i] += 1;
                }
                while cursors[i] < steps.len() && steps[cursors[i]].at == t {
                    let step = &steps[cursors[i]];
                    cursors[i] += 1;
                    // A clock jump or rotation passes through as written (in layer
                    // order, before the state changes at `t`): layers nest faults only.
                    if step.change.clock.is_some() || step.change.rotate {
                        out.push(Step::with(
                            t,
                            StepChange {
                                state: None,
                                ..step.change.clone()
                            },
                        ));
                    }
                    let Some(change) = step.state() else {
                        continue;
                    };
                    states[i].apply(change);
                    match change {
                        Change::Set(spec) => {
                            set_at[i].insert(spec.target.clone(), t);
                        }
                        Change::Clear(target) => {
                            set_at[i].remove(target);
                        }
                        Change::Up => {
                            set_at[i].clear();
                            ups.push(i);
                        }
                    }
                }
            }
            if let Some(&layer) = ups
                .iter()
                .find(|&&i| states.iter().enumerate().any(|(j, s)| j != i && !s.is_up()))
            {
                return Err(LayerError::UpOverOther { at: t, layer });
            }
            let mut next = ImdsState::up();
            let targets: std::collections::BTreeSet<Target> = states
                .iter()
                .flat_map(|s| s.faults().map(|f| f.target.clone()))
                .collect();
            for target in targets {
                let mut best: Option<(Duration, usize, &FaultSpec)> = None;
                for (i, state) in states.iter().enumerate() {
                    let Some(spec) = state.fault_on(&target) else {
                        continue;
                    };
                    let when = set_at[i].get(&target).copied().unwrap_or_default();
                    match best {
                        Some((b, j, other)) if b == when && other != spec => {
                            return Err(LayerError::Tie {
                                at: when,
                                target,
                                layers: (j, i),
                            })
                        }
                        Some((b, _, _)) if b >= when => {}
                        _ => best = Some((when, i, spec)),
                    }
                }
                if let Some((_, _, spec)) = best {
                    next.set(spec.clone());
                }
            }
            // The changes from the combined state before, target by target (a bare `up`
            // where a layer wrote one and every fault ends, as written).
            if next.is_up() && !combined.is_up() && !ups.is_empty() {
                out.push(Step::new(t, Change::Up));
                combined = next;
                continue;
            }
            for spec in next.faults() {
                if combined.fault_on(&spec.target) != Some(spec) {
                    out.push(Step::new(t, Change::Set(spec.clone())));
                }
            }
            for spec in combined.faults() {
                if next.fault_on(&spec.target).is_none() {
                    out.push(Step::new(t, Change::Clear(spec.target.clone())));
                }
            }
            combined = next;
        }
        Ok(Schedule::new(out).expect("one change per target and time"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn layer(steps: &[(u64, &str)]) -> Vec<Step> {
        steps
            .iter()
            .map(|(at, c)| Step::new(ms(*at), c.parse().unwrap()))
            .collect()
    }

    fn states(s: &Schedule, at: &[u64]) -> Vec<String> {
        at.iter().map(|t| s.state_at(ms(*t)).to_string()).collect()
    }

    #[test]
    fn clock_jumps_and_rotations_pass_through_layers() {
        // A step that jumps the clock and sets a fault, beside a generator's window: the
        // jump and the rotation survive (at their time, before the state change), and the
        // faults still nest.
        let by: crate::clock::SignedDuration = "+5h52m".parse().unwrap();
        let mut outer = layer(&[(3000, "up on listener")]);
        outer.insert(
            0,
            Step::with(
                ms(0),
                StepChange {
                    state: Some("refuse".parse().unwrap()),
                    clock: Some(by),
                    rotate: true,
                    notice: None,
                    rotate_token: false,
                },
            ),
        );
        let s = Schedule::layered(vec![
            outer,
            layer(&[(1000, "status(500)"), (2000, "up on listener")]),
        ])
        .unwrap();
        let at0: Vec<String> = s
            .steps()
            .iter()
            .filter(|st| st.at == ms(0))
            .map(|st| st.change.to_string())
            .collect();
        assert_eq!(at0, ["clock +5h 52m, rotate", "refuse"]);
        assert!(s.moves_clock());
        assert_eq!(
            states(&s, &[0, 1500, 2000, 3000]),
            ["refuse", "status(500)", "refuse", "up"]
        );
    }

    #[test]
    fn a_nested_window_restores_the_outer_fault() {
        let s = Schedule::layered(vec![
            layer(&[(0, "refuse"), (3000, "up on listener")]),
            layer(&[(1000, "status(500)"), (2000, "up on listener")]),
        ])
        .unwrap();
        assert_eq!(
            states(&s, &[0, 1500, 2000, 2999, 3000]),
            ["refuse", "status(500)", "refuse", "refuse", "up"]
        );
        assert_eq!(s.recoveries(), vec![ms(3000)]);
    }

    #[test]
    fn a_flap_inside_a_refuse_does_not_cut_it_short() {
        let s = Schedule::layered(vec![
            layer(&[(100, "refuse"), (5000, "up")]),
            layer(&[
                (0, "status(500)"),
                (163, "up on listener"),
                (400, "status(500)"),
                (600, "up on listener"),
            ]),
        ])
        .unwrap();
        assert_eq!(
            states(&s, &[50, 100, 163, 450, 600, 4999, 5000]),
            [
                "status(500)",
                "refuse",
                "refuse",
                "status(500)",
                "refuse",
                "refuse",
                "up"
            ]
        );
    }

    #[test]
    fn partial_overlaps_and_other_targets_compose() {
        let s = Schedule::layered(vec![
            layer(&[(0, "refuse"), (3000, "up on listener")]),
            layer(&[(1000, "status(500)"), (5000, "up on listener")]),
            layer(&[(2000, "status(403) on token"), (4000, "up on token")]),
        ])
        .unwrap();
        assert_eq!(
            states(&s, &[500, 1000, 2500, 3500, 4500, 5000]),
            [
                "refuse",
                "status(500)",
                "status(403) on token; status(500)",
                "status(403) on token; status(500)",
                "status(500)",
                "up"
            ]
        );
    }

    #[test]
    fn one_layer_is_the_plain_schedule() {
        let steps = layer(&[(0, "refuse"), (1000, "status(500)"), (2000, "up")]);
        let s = Schedule::layered(vec![steps.clone()]).unwrap();
        let plain = Schedule::new(steps).unwrap();
        for t in [0, 999, 1000, 1999, 2000] {
            assert_eq!(s.state_at(ms(t)), plain.state_at(ms(t)), "{t}");
        }
    }

    #[test]
    fn ambiguous_layers_are_rejected() {
        let tie = Schedule::layered(vec![
            layer(&[(1000, "refuse")]),
            layer(&[(1000, "status(500)")]),
        ])
        .unwrap_err();
        assert!(
            matches!(tie, LayerError::Tie { layers: (0, 1), .. }),
            "{tie}"
        );
        assert_eq!(tie.layer(), 1);
        let up = Schedule::layered(vec![
            layer(&[(0, "status(403) on token"), (2000, "up")]),
            layer(&[(1000, "refuse"), (3000, "up on listener")]),
        ])
        .unwrap_err();
        assert_eq!(
            up,
            LayerError::UpOverOther {
                at: ms(2000),
                layer: 0
            }
        );
        assert!(up.to_string().contains("up on TARGET"), "{up}");
        let own = Schedule::layered(vec![layer(&[(0, "refuse"), (0, "up")])]).unwrap_err();
        assert_eq!(own.layer(), 0);
        // The same fault twice at one time is no tie.
        assert!(Schedule::layered(vec![layer(&[(0, "refuse")]), layer(&[(0, "refuse")])]).is_ok());
    }
}
