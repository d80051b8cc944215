//! `[[schedule]]` steps and `[[generate]]` generators → the scenario's [`Schedule`]: the
//! explicit steps, then each generator expanded with the scenario's seed (each from its
//! own stream, so adding one leaves the others alone).

use mock_imds::{GenerateError, Generator, Schedule, ScheduleError, Step};
use toml::Spanned;

use super::diag::{At, Unknown};
use super::raw::{RawGenerate, RawStep};

/// The generator kinds, as scenario files write them (their keys:
/// [`mock_imds::GENERATOR_KEYS`]).
pub const GENERATOR_KINDS: &[&str] = &["flap", "random-outages"];

/// A schedule that cannot be played.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleProblem {
    /// A generator without a key its kind needs.
    #[error("a `{kind}` generator needs `{key}`")]
    Missing {
        /// The generator's kind.
        kind: String,
        /// The key, as it would be written (`until`, `down = ["MIN", "MAX"]`).
        key: &'static str,
    },
    /// A key of another generator kind (`count` in a `flap`).
    #[error("{0}")]
    ForeignKey(String),
    /// A generator kind that is not one.
    #[error(transparent)]
    UnknownKind(Unknown),
    /// A generator whose parameters produce no schedule.
    #[error(transparent)]
    Generate(GenerateError),
    /// Two steps at one time on the same target.
    #[error(transparent)]
    Conflict(ScheduleError),
}

/// The schedule and the generators as written (their steps are in the schedule).
///
/// # Errors
/// A generator that is incomplete, unknown or cannot expand (at the generator or its
/// `kind`), or steps that conflict (at the second step at that time, else at the first
/// generator).
pub(super) fn read(
    steps: &[Spanned<RawStep>],
    generate: &[Spanned<RawGenerate>],
    seed: u64,
) -> Result<(Schedule, Vec<Generator>), At<ScheduleProblem>> {
    let mut all: Vec<Step> = steps
        .iter()
        .map(|s| Step::new(s.get_ref().at.0, s.get_ref().state.clone()))
        .collect();
    let explicit = all.len();
    let mut generators = Vec::new();
    for (i, spanned) in generate.iter().enumerate() {
        let generator = generator(spanned)?;
        let expanded = generator
            .expand(seed.wrapping_add(i as u64))
            .map_err(|e| At::new(spanned.span(), ScheduleProblem::Generate(e)))?;
        all.extend(expanded);
        generators.push(generator);
    }
    let schedule = Schedule::new(all.clone()).map_err(|e| {
        let ScheduleError::Conflict(t) = &e;
        let span = steps
            .iter()
            .filter(|s| s.get_ref().at.0 == *t)
            .nth(1)
            .map(|s| s.span())
            .or_else(|| (all.len() > explicit).then(|| generate[0].span()));
        At {
            span,
            error: ScheduleProblem::Conflict(e),
        }
    })?;
    Ok((schedule, generators))
}

fn generator(spanned: &Spanned<RawGenerate>) -> Result<Generator, At<ScheduleProblem>> {
    let g = spanned.get_ref();
    let kind = g.kind.get_ref();
    let missing = |key: &'static str| {
        At::new(
            spanned.span(),
            ScheduleProblem::Missing {
                kind: kind.clone(),
                key,
            },
        )
    };
    let present: Vec<&str> = [
        ("down", g.down.is_some()),
        ("up", g.up.is_some()),
        ("until", g.until.is_some()),
        ("count", g.count.is_some()),
        ("duration", g.duration.is_some()),
        ("within", g.within.is_some()),
    ]
    .into_iter()
    .filter_map(|(key, here)| here.then_some(key))
    .collect();
    if let Some(why) = mock_imds::foreign_key(kind, &present) {
        return Err(At::new(spanned.span(), ScheduleProblem::ForeignKey(why)));
    }
    Ok(match kind.as_str() {
        "flap" => Generator::Flap {
            fault: g.fault.clone(),
            down: g
                .down
                .ok_or_else(|| missing("down = [\"MIN\", \"MAX\"]"))?
                .0,
            up: g.up.ok_or_else(|| missing("up = [\"MIN\", \"MAX\"]"))?.0,
            until: g.until.ok_or_else(|| missing("until"))?.0,
        },
        "random-outages" => Generator::RandomOutages {
            fault: g.fault.clone(),
            count: g.count.ok_or_else(|| missing("count"))?,
            duration: g
                .duration
                .ok_or_else(|| missing("duration = [\"MIN\", \"MAX\"]"))?
                .0,
            within: g.within.ok_or_else(|| missing("within"))?.0,
        },
        other => {
            return Err(At::new(
                g.kind.span(),
                ScheduleProblem::UnknownKind(Unknown::new(
                    "generator kind",
                    other,
                    GENERATOR_KINDS,
                    "seeded schedule generators",
                )),
            ))
        }
    })
}
