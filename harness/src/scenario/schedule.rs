//! `[[schedule]]` steps and `[[generate]]` generators → the scenario's [`Schedule`]: the
//! explicit steps, then each generator expanded with the scenario's seed (each from its
//! own stream, so adding one leaves the others alone), combined as layers
//! ([`Schedule::layered`]): a generator's window inside a step's fault restores it.

use mock_imds::{Change, GenerateError, Generator, LayerError, Schedule, Step, StepChange};
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
    /// Two steps at one time on the same target, two overlapping windows that start
    /// together on one target, or a bare `up` over a generator's fault.
    #[error(transparent)]
    Conflict(LayerError),
    /// A step with none of `state`, `clock`, `rotate = true`, `notice`.
    #[error("this schedule step changes nothing; a step needs `state` (a fault, `up on TARGET`, `up`), `clock` (a signed jump like \"+5h52m\"), `rotate = true` or `notice` (like \"spot-interruption(terminate, 2m)\")")]
    Empty,
}

/// The schedule and the generators as written (their steps are in the schedule).
///
/// # Errors
/// A generator that is incomplete, unknown or cannot expand (at the generator or its
/// `kind`), or steps that conflict (at the second step at that time, or the `up`, or the
/// generator in question).
pub(super) fn read(
    steps: &[Spanned<RawStep>],
    generate: &[Spanned<RawGenerate>],
    seed: u64,
) -> Result<(Schedule, Vec<Generator>), At<ScheduleProblem>> {
    let mut explicit = Vec::with_capacity(steps.len());
    for spanned in steps {
        let s = spanned.get_ref();
        let change = StepChange {
            state: s.state.clone(),
            clock: s.clock,
            rotate: s.rotate,
            notice: s.notice.clone(),
            rotate_token: s.rotate_token,
        };
        if change.is_empty() {
            return Err(At::new(spanned.span(), ScheduleProblem::Empty));
        }
        explicit.push(Step::with(s.at.0, change));
    }
    let mut layers = vec![explicit];
    let mut generators = Vec::new();
    for (i, spanned) in generate.iter().enumerate() {
        let generator = generator(spanned)?;
        let expanded = generator
            .expand(seed.wrapping_add(i as u64))
            .map_err(|e| At::new(spanned.span(), ScheduleProblem::Generate(e)))?;
        layers.push(expanded);
        generators.push(generator);
    }
    // The steps and each generator are layers: a window inside another restores the
    // outer fault when it ends (mock-imds's `Schedule::layered`, the one place).
    let schedule = Schedule::layered(layers).map_err(|e| {
        let t = e.at();
        let span = match e.layer() {
            0 => {
                let at_t = || steps.iter().filter(|s| s.get_ref().at.0 == t);
                match &e {
                    LayerError::Layer { .. } => {
                        at_t().filter(|s| s.get_ref().state.is_some()).nth(1)
                    }
                    LayerError::UpOverOther { .. } => {
                        at_t().find(|s| s.get_ref().state == Some(Change::Up))
                    }
                    LayerError::Tie { .. } => at_t().next(),
                }
                .map(|s| s.span())
            }
            g => generate.get(g - 1).map(|s| s.span()),
        };
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
