//! Properties of schedules and of the seeded generators.
//!
//! `Schedule::state_at` is checked against an independent model ([`model_at`]: per
//! target, the last writer at or before `t` wins), over arbitrary steps (every target,
//! `Set`, `Clear` and `up`, several at one time, given out of order) as well as over the
//! generators' schedules.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use mock_imds::{Change, DurationRange, FaultSpec, Generator, Schedule, Step, Target};
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

/// The state change of a step (these tests only make state steps).
fn state(step: &Step) -> &Change {
    step.state().expect("a state step")
}

/// The independent model of a schedule: for each target, the last step at or before `t`
/// that wrote it (a `Set` or `Clear` of that target, or an `up`, which writes every
/// target) decides, and only a `Set` leaves a fault there. It works per target over the
/// steps in the order given (unsorted), by comparing times, and never calls
/// `ImdsState::apply` or anything else `Schedule::state_at` is built on. Steps at one
/// time never write the same target (such schedules are rejected; see
/// [`model_conflict`]), so "last" is unambiguous.
fn model_at(steps: &[Step], t: Duration, inclusive: bool) -> BTreeMap<Target, FaultSpec> {
    let in_time = |s: &&Step| if inclusive { s.at <= t } else { s.at < t };
    let mut targets = BTreeSet::new();
    for step in steps {
        match state(step) {
            Change::Set(spec) => {
                targets.insert(spec.target.clone());
            }
            Change::Clear(target) => {
                targets.insert(target.clone());
            }
            Change::Up => {}
        }
    }
    let mut model = BTreeMap::new();
    for target in targets {
        let writes = |s: &&Step| match state(s) {
            Change::Set(spec) => spec.target == target,
            Change::Clear(cleared) => *cleared == target,
            Change::Up => true,
        };
        let last = steps
            .iter()
            .filter(in_time)
            .filter(writes)
            .max_by_key(|s| s.at);
        if let Some(Change::Set(spec)) = last.map(state) {
            model.insert(target, spec.clone());
        }
    }
    model
}

/// The model's conflict rule: two steps at one time that write a common target (an `up`
/// writes all of them).
fn model_conflict(steps: &[Step]) -> bool {
    let written = |c: &Change| match c {
        Change::Set(spec) => Some(spec.target.clone()),
        Change::Clear(target) => Some(target.clone()),
        Change::Up => None, // every target
    };
    steps.iter().enumerate().any(|(i, a)| {
        steps[i + 1..].iter().any(|b| {
            a.at == b.at
                && match (written(state(a)), written(state(b))) {
                    (Some(x), Some(y)) => x == y,
                    _ => true,
                }
        })
    })
}

/// What `state_at` says, in the model's shape.
fn observed(schedule: &Schedule, t: Duration) -> BTreeMap<Target, FaultSpec> {
    schedule
        .state_at(t)
        .faults()
        .map(|f| (f.target.clone(), f.clone()))
        .collect()
}

/// The times to compare at: zero, each step's time and a millisecond either side, past
/// the end, and some random ones.
fn probe_times(steps: &[Step], random: &[u64]) -> Vec<Duration> {
    let mut times = vec![Duration::ZERO];
    for step in steps {
        times.push(step.at);
        times.push(step.at.saturating_sub(ms(1)));
        times.push(step.at + ms(1));
    }
    times.push(steps.iter().map(|s| s.at).max().unwrap_or_default() + ms(1000));
    times.extend(random.iter().map(|&t| ms(t)));
    times
}

fn target() -> impl Strategy<Value = Target> {
    prop_oneof![
        Just(Target::Listener),
        Just(Target::Token),
        Just(Target::Credentials),
        Just(Target::Path("/latest/meta-data/iam/*".into())),
        Just(Target::Path("/latest/meta-data/placement/*".into())),
    ]
}

/// Any fault a target can take (socket faults only on the listener), sometimes with a
/// probability.
fn spec() -> impl Strategy<Value = FaultSpec> {
    let request_level = prop_oneof![
        Just("blackhole"),
        Just("status(500)"),
        Just("status(403)"),
        Just("latency(50ms, 10ms)"),
        Just("reset"),
        Just("truncate"),
        Just("no-role"),
        Just("throttle(5)"),
    ];
    (
        target(),
        request_level,
        any::<bool>(),
        prop::option::of(0.0f64..=1.0),
    )
        .prop_map(|(target, fault, socket, probability)| {
            if socket && target == Target::Listener {
                let fault = if probability.is_some() {
                    "refuse"
                } else {
                    "drop-syn"
                };
                return FaultSpec::new(fault.parse().unwrap());
            }
            FaultSpec {
                fault: fault.parse().unwrap(),
                target,
                probability,
                times: None,
            }
        })
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        4 => spec().prop_map(Change::Set),
        2 => target().prop_map(Change::Clear),
        1 => Just(Change::Up),
    ]
}

/// Steps in no particular order, on a coarse clock so that several share a time.
fn raw_steps() -> impl Strategy<Value = Vec<Step>> {
    proptest::collection::vec((0u64..12, change()), 0..16).prop_map(|steps| {
        steps
            .into_iter()
            .map(|(tick, change)| Step::new(ms(tick * 100), change))
            .collect()
    })
}

/// Like [`raw_steps`], with each step that would conflict with an earlier one dropped.
fn valid_steps() -> impl Strategy<Value = Vec<Step>> {
    raw_steps().prop_map(|steps| {
        let mut kept: Vec<Step> = Vec::new();
        for step in steps {
            let mut with = kept.clone();
            with.push(step.clone());
            if !model_conflict(&with) {
                kept.push(step);
            }
        }
        kept
    })
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
            let is_set = matches!(state(step), Change::Set(_));
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
        for t in probe_times(&steps, &probes) {
            prop_assert_eq!(observed(&schedule, t), model_at(&steps, t, true), "at {:?}", t);
        }
        // From a set until just before its clear the fault is on; at the clear, off.
        for pair in steps.chunks(2) {
            prop_assert!(!schedule.state_at(pair[0].at).is_up());
            prop_assert!(!schedule.state_at(pair[1].at - ms(1)).is_up());
            prop_assert!(schedule.state_at(pair[1].at).is_up());
        }
    }

    #[test]
    fn state_at_matches_the_last_writer_model(steps in valid_steps(), probes in proptest::collection::vec(0u64..1500, 0..8)) {
        let schedule = Schedule::new(steps.clone()).unwrap();
        for t in probe_times(&steps, &probes) {
            prop_assert_eq!(observed(&schedule, t), model_at(&steps, t, true), "at {:?} of {:?}", t, steps);
        }
        // Recoveries: the step times at which the model goes from some fault to none.
        let mut times: Vec<Duration> = steps.iter().map(|s| s.at).collect();
        times.sort();
        times.dedup();
        let recoveries: Vec<Duration> = times
            .into_iter()
            .filter(|&t| !model_at(&steps, t, false).is_empty() && model_at(&steps, t, true).is_empty())
            .collect();
        prop_assert_eq!(schedule.recoveries(), recoveries, "{:?}", steps);
        prop_assert_eq!(schedule.duration(), steps.iter().map(|s| s.at).max().unwrap_or_default());
    }

    #[test]
    fn schedules_are_rejected_exactly_when_steps_at_one_time_write_one_target(steps in raw_steps()) {
        prop_assert_eq!(Schedule::new(steps.clone()).is_err(), model_conflict(&steps), "{:?}", steps);
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
