//! Seeded schedule generators, expanded to explicit steps before a run, so the same seed
//! always gives the same schedule (and the expanded steps can be printed in a report).
//!
//! - [`Generator::Flap`]: the fault on and off repeatedly, each down and up period drawn
//!   from a range, from time zero until `until` (IMDS is up from then on).
//! - [`Generator::RandomOutages`]: `count` outages of a duration drawn from a range,
//!   placed at random, never overlapping, all ending by `within`.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use super::steps::Step;
use crate::fault::{Change, FaultSpec};

/// The keys of each generator kind in a `[[generate]]` table, besides `kind` and `fault`
/// (scenario files and schedule files alike).
pub const GENERATOR_KEYS: &[(&str, &[&str])] = &[
    ("flap", &["down", "up", "until"]),
    ("random-outages", &["count", "duration", "within"]),
];

/// Why a `[[generate]]` table of `kind` cannot have the keys `present` (those it holds
/// besides `kind` and `fault`): the first that belongs to another kind, named with the
/// kind it belongs to and the keys `kind` takes. `None` when every key is `kind`'s (or
/// `kind` is unknown, which is its own error).
pub fn foreign_key(kind: &str, present: &[&str]) -> Option<String> {
    let (_, own) = GENERATOR_KEYS.iter().find(|(k, _)| *k == kind)?;
    let key = present.iter().find(|key| !own.contains(key))?;
    let owner = GENERATOR_KEYS
        .iter()
        .find(|(_, keys)| keys.contains(key))
        .map_or(String::new(), |(k, _)| format!(" (it is a `{k}` key)"));
    Some(format!(
        "`{key}` is not a key of a `{kind}` generator{owner}; a `{kind}` generator takes kind, fault, {}",
        own.join(", ")
    ))
}

/// The least time IMDS is up between two random outages (so they never touch).
const GAP: Duration = Duration::from_millis(1);

/// An inclusive range of durations to draw from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DurationRange {
    /// Shortest.
    #[serde(with = "crate::ms", rename = "min_ms")]
    pub min: Duration,
    /// Longest (at least `min`).
    #[serde(with = "crate::ms", rename = "max_ms")]
    pub max: Duration,
}

impl DurationRange {
    /// A range; `None` when `max < min`.
    pub fn new(min: Duration, max: Duration) -> Option<Self> {
        (min <= max).then_some(Self { min, max })
    }

    fn draw(&self, rng: &mut StdRng) -> Duration {
        if self.min == self.max {
            return self.min;
        }
        let nanos = rng.random_range(self.min.as_nanos()..=self.max.as_nanos());
        // Whole milliseconds keep printed schedules readable.
        Duration::from_millis((nanos / 1_000_000) as u64)
            .max(self.min)
            .min(self.max)
    }
}

/// A schedule generator.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Generator {
    /// Down, up, down, up… from zero until `until`.
    Flap {
        /// The fault during down periods.
        fault: FaultSpec,
        /// Length of each down period.
        down: DurationRange,
        /// Length of each up period.
        up: DurationRange,
        /// No outage starts at or after this time.
        #[serde(with = "crate::ms", rename = "until_ms")]
        until: Duration,
    },
    /// `count` non-overlapping outages inside `[0, within)`.
    RandomOutages {
        /// The fault during outages.
        fault: FaultSpec,
        /// Number of outages.
        count: u32,
        /// Length of each outage.
        duration: DurationRange,
        /// Every outage ends by this time.
        #[serde(with = "crate::ms", rename = "within_ms")]
        within: Duration,
    },
}

/// A generator whose parameters cannot produce a schedule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GenerateError {
    /// A period or outage that can be zero long would set and clear at one instant.
    #[error("down, up and outage durations must be longer than zero")]
    ZeroPeriod,
    /// The outages cannot fit: `count × (longest duration + 1 ms)` exceeds `within`.
    #[error("{count} outages of up to {} do not fit in {}", humantime::format_duration(*longest), humantime::format_duration(*within))]
    DoesNotFit {
        /// Outages asked for.
        count: u32,
        /// Longest outage.
        longest: Duration,
        /// The window.
        within: Duration,
    },
}

impl Generator {
    /// Checks the parameters.
    ///
    /// # Errors
    /// [`GenerateError`] when they cannot produce a schedule.
    pub fn validate(&self) -> Result<(), GenerateError> {
        match self {
            Generator::Flap { down, up, .. } if down.min.is_zero() || up.min.is_zero() => {
                Err(GenerateError::ZeroPeriod)
            }
            Generator::RandomOutages { duration, .. } if duration.min.is_zero() => {
                Err(GenerateError::ZeroPeriod)
            }
            Generator::RandomOutages {
                count,
                duration,
                within,
                ..
            } if (duration.max + GAP).saturating_mul(*count) > *within => {
                Err(GenerateError::DoesNotFit {
                    count: *count,
                    longest: duration.max,
                    within: *within,
                })
            }
            _ => Ok(()),
        }
    }

    /// The fault this generator switches.
    pub fn fault(&self) -> &FaultSpec {
        match self {
            Generator::Flap { fault, .. } | Generator::RandomOutages { fault, .. } => fault,
        }
    }

    /// Expands to explicit steps: pairs of (set the fault, clear its target), in time
    /// order, never overlapping. The same `seed` gives the same steps.
    ///
    /// # Errors
    /// [`GenerateError`] from [`Self::validate`].
    pub fn expand(&self, seed: u64) -> Result<Vec<Step>, GenerateError> {
        self.validate()?;
        let mut rng = StdRng::seed_from_u64(seed);
        let fault = self.fault();
        let outages: Vec<(Duration, Duration)> = match self {
            Generator::Flap {
                down, up, until, ..
            } => {
                let mut out = Vec::new();
                let mut t = Duration::ZERO;
                while t < *until {
                    let length = down.draw(&mut rng);
                    out.push((t, t + length));
                    t += length + up.draw(&mut rng);
                }
                out
            }
            Generator::RandomOutages {
                count,
                duration,
                within,
                ..
            } => {
                let lengths: Vec<Duration> = (0..*count).map(|_| duration.draw(&mut rng)).collect();
                let slack = within.saturating_sub(lengths.iter().sum::<Duration>() + GAP * *count);
                // Split the slack into count + 1 gaps at sorted random cut points.
                let mut cuts: Vec<u128> = (0..*count)
                    .map(|_| rng.random_range(0..=slack.as_millis()))
                    .collect();
                cuts.sort_unstable();
                let mut out = Vec::new();
                let mut t = Duration::ZERO;
                let mut previous_cut = 0;
                for (i, (length, cut)) in lengths.into_iter().zip(cuts).enumerate() {
                    t += Duration::from_millis((cut - previous_cut) as u64);
                    if i > 0 {
                        t += GAP;
                    }
                    previous_cut = cut;
                    out.push((t, t + length));
                    t += length;
                }
                out
            }
        };
        let mut steps = Vec::new();
        for (start, end) in outages {
            steps.push(Step::new(start, Change::Set(fault.clone())));
            steps.push(Step::new(end, Change::Clear(fault.target.clone())));
        }
        Ok(steps)
    }
}
