//! Properties of schedules and of the seeded generators.

use std::time::Duration;

use mock_imds::{Change, DurationRange, FaultSpec, Generator, ImdsState, Schedule, Step};
use proptest::prelude::*;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn fault() -> impl Strategy<Value = FaultSpec> {
    prop_oneof![
        Just("refuse"),
        Just("blackhole"),
        Just("status(500)"),
        Just("status(403) on token"),
        Just("no-role"),
        Just("latency(50ms, 10ms) on credentials"),
    ]
    .prop_map(|s| s.parse().unwrap())
}

fn range() -> impl Strategy<Value = DurationRange> {
    (1u64..2000, 0u64..2000)
        .prop_map(|(min, extra)| DurationRange::new(ms(min), ms(min + extra)).unwrap())
}

fn generator() -> impl Strategy<Value = Generator> {
    prop_oneof![
        (fault(), range(), range(), 0u64..20_000).prop_map(|(fault, down, up, until)| {
            Generator::Flap {
                fault,
                down,
                up,
                until: ms(until),
            }
        }),
        (fault(), 0u32..8, range(), 0u64..10_000).prop_map(|(fault, count, duration, extra)| {
            let within = (duration.max + ms(1)) * count + ms(extra);
            Generator::RandomOutages {
                fault,
                count,
                duration,
                within,
            }
        }),
    ]
}

/// The state at `t` computed the slow way: every change at or before `t`, in order.
fn reference_state(steps: &[Step], t: Duration) -> ImdsState {
    let mut state = ImdsState::up();
    for step in steps.iter().filter(|s| s.at <= t) {
        state.apply(&step.change);
    }
    state
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn expansion_is_deterministic_per_seed(g in generator(), seed in any::<u64>()) {
        prop_assert_eq!(g.expand(seed).unwrap(), g.expand(seed).unwrap());
    }

    #[test]
    fn generated_steps_are_ordered_alternating_and_non_overlapping(g in generator(), seed in any::<u64>()) {
        let steps = g.expand(seed).unwrap();
        prop_assert!(steps.windows(2).all(|w| w[0].at < w[1].at), "strictly increasing times: {:?}", steps);
        for (i, step) in steps.iter().enumerate() {
            let is_set = matches!(step.change, Change::Set(_));
            prop_assert_eq!(is_set, i % 2 == 0, "set/clear alternate: {:?}", steps);
        }
        if let Generator::RandomOutages { count, within, duration, .. } = &g {
            prop_assert_eq!(steps.len(), 2 * *count as usize);
            prop_assert!(steps.last().is_none_or(|s| s.at <= *within));
            for pair in steps.chunks(2) {
                let length = pair[1].at - pair[0].at;
                prop_assert!(length >= duration.min && length <= duration.max);
            }
        }
        if let Generator::Flap { until, .. } = &g {
            prop_assert!(steps.iter().step_by(2).all(|s| s.at < *until));
        }
        // A generated schedule is a valid schedule, and ends up.
        let schedule = Schedule::new(steps.clone()).unwrap();
        prop_assert!(schedule.state_at(schedule.duration()).is_up());
    }

    #[test]
    fn state_at_t_is_the_last_step_at_or_before_t(g in generator(), seed in any::<u64>(), probes in proptest::collection::vec(0u64..25_000, 1..20)) {
        let steps = g.expand(seed).unwrap();
        let schedule = Schedule::new(steps.clone()).unwrap();
        for t in probes {
            prop_assert_eq!(schedule.state_at(ms(t)), reference_state(&steps, ms(t)));
        }
        // From a set until just before its clear the fault is on; at the clear, off.
        for pair in steps.chunks(2) {
            prop_assert!(!schedule.state_at(pair[0].at).is_up());
            prop_assert!(!schedule.state_at(pair[1].at - ms(1)).is_up());
            prop_assert!(schedule.state_at(pair[1].at).is_up());
        }
    }
}

#[test]
fn different_seeds_give_different_schedules() {
    let g = Generator::Flap {
        fault: "refuse".parse().unwrap(),
        down: DurationRange::new(ms(100), ms(900)).unwrap(),
        up: DurationRange::new(ms(100), ms(900)).unwrap(),
        until: ms(10_000),
    };
    assert_ne!(g.expand(1).unwrap(), g.expand(2).unwrap());
}

#[test]
fn impossible_generators_are_refused() {
    let too_many = Generator::RandomOutages {
        fault: "refuse".parse().unwrap(),
        count: 5,
        duration: DurationRange::new(ms(100), ms(1000)).unwrap(),
        within: ms(3000),
    };
    assert!(too_many
        .expand(0)
        .unwrap_err()
        .to_string()
        .contains("do not fit"));
    let zero = Generator::Flap {
        fault: "refuse".parse().unwrap(),
        down: DurationRange::new(ms(0), ms(10)).unwrap(),
        up: DurationRange::new(ms(10), ms(10)).unwrap(),
        until: ms(100),
    };
    assert!(zero.expand(0).is_err());
}
