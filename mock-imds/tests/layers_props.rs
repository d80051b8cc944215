//! Properties of `Schedule::layered` (overlapping windows), against an independent model:
//! on each target, among the windows active at `t` (start ≤ t < end), the one that started
//! last wins; with none active the target is clear.

use std::collections::BTreeMap;
use std::time::Duration;

use mock_imds::{Change, FaultSpec, Schedule, Step, Target};
use proptest::prelude::*;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn fault() -> impl Strategy<Value = FaultSpec> {
    prop_oneof![
        Just("refuse"),
        Just("blackhole"),
        Just("status(500)"),
        Just("status(503)"),
        Just("status(403) on token"),
        Just("reset on token"),
        Just("no-role"),
    ]
    .prop_map(|s| s.parse().unwrap())
}

/// A window: its fault, start and length (ms).
fn window() -> impl Strategy<Value = (FaultSpec, u64, u64)> {
    (fault(), 0u64..3000, 1u64..3000)
}

fn model_at(windows: &[(FaultSpec, u64, u64)], t: u64) -> BTreeMap<Target, FaultSpec> {
    let mut best: BTreeMap<Target, (u64, FaultSpec)> = BTreeMap::new();
    for (spec, start, length) in windows {
        if *start <= t && t < start + length {
            let replace = best.get(&spec.target).is_none_or(|(s, _)| *start > *s);
            if replace {
                best.insert(spec.target.clone(), (*start, spec.clone()));
            }
        }
    }
    best.into_iter().map(|(k, (_, v))| (k, v)).collect()
}

proptest! {
    #[test]
    fn windows_nest_as_the_model_says(windows in prop::collection::vec(window(), 1..8)) {
        // Two windows starting together on one target are rejected (a tie), not modelled.
        let mut starts = std::collections::BTreeSet::new();
        let tie = windows
            .iter()
            .any(|(spec, start, _)| !starts.insert((spec.target.clone(), *start)));
        let layers: Vec<Vec<Step>> = windows
            .iter()
            .map(|(spec, start, length)| {
                vec![
                    Step::new(ms(*start), Change::Set(spec.clone())),
                    Step::new(ms(start + length), Change::Clear(spec.target.clone())),
                ]
            })
            .collect();
        let combined = Schedule::layered(layers);
        if tie {
            // Same fault twice at one time is allowed; anything else is an error.
            return Ok(());
        }
        let combined = combined.unwrap();
        for t in (0..6100).step_by(7) {
            let want = model_at(&windows, t);
            let got = combined.state_at(ms(t));
            let got: BTreeMap<Target, FaultSpec> =
                got.faults().map(|f| (f.target.clone(), f.clone())).collect();
            prop_assert_eq!(&got, &want, "at {} ms", t);
        }
    }

    #[test]
    fn one_layer_is_the_plain_schedule(
        steps in prop::collection::vec((0u64..3000, fault(), any::<bool>()), 0..12)
    ) {
        let steps: Vec<Step> = steps
            .into_iter()
            .map(|(at, spec, clear)| {
                Step::new(
                    ms(at),
                    if clear { Change::Clear(spec.target) } else { Change::Set(spec) },
                )
            })
            .collect();
        let Ok(plain) = Schedule::new(steps.clone()) else {
            prop_assert!(Schedule::layered(vec![steps]).is_err());
            return Ok(());
        };
        let layered = Schedule::layered(vec![steps]).unwrap();
        for t in (0..3100).step_by(11) {
            prop_assert_eq!(layered.state_at(ms(t)), plain.state_at(ms(t)), "at {} ms", t);
        }
    }
}
