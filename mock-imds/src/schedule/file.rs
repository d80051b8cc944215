//! Schedule files: the `[[schedule]]` steps and `[[generate]]` generators of a scenario,
//! with the `seed` that expands the generators, read strictly (unknown keys are errors)
//! with every error at its line and column. `mock-imds serve --schedule` and
//! `mock-imds ctl schedule` read them; a scenario file holds the same tables
//! ([`StepTable`], [`GenerateTable`], [`expand_tables`]).
//!
//! ```toml
//! seed = 7                              # expands the generators (default 0)
//! [[schedule]]                          # IMDS state on the clock; up before the first step
//! at = "0s"
//! state = "refuse"                      # a fault, `up on TARGET` or `up`
//! [[schedule]]
//! at = "5s"
//! state = "up"
//! [[generate]]                          # seeded, expanded to steps before the run
//! kind = "flap"                         # flap: down, up = ["MIN", "MAX"], until
//! fault = "status(500) on token"
//! down = ["100ms", "300ms"]
//! up = ["100ms", "300ms"]
//! until = "10s"
//! [[generate]]
//! kind = "random-outages"               # random-outages: count, duration = ["MIN", "MAX"], within
//! fault = "reset"
//! count = 3
//! duration = ["200ms", "1s"]
//! within = "20s"
//! ```

use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::generate::{DurationRange, Generator};
use super::steps::{Schedule, ScheduleError, Step};
use crate::config::ConfigError;
use crate::fault::{Change, FaultSpec};

/// One `[[schedule]]` table: at `at`, apply `state`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepTable {
    /// When, as a duration (`500ms`, `2s`).
    pub at: Spanned<String>,
    /// The change: a fault, `up on TARGET` or `up`.
    pub state: Change,
}

/// One `[[generate]]` table; which keys it needs depends on `kind`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenerateTable {
    /// `flap` or `random-outages`.
    pub kind: Spanned<String>,
    /// The fault switched on and off.
    pub fault: FaultSpec,
    /// `flap`: length of each down period, `["MIN", "MAX"]`.
    pub down: Option<Spanned<[String; 2]>>,
    /// `flap`: length of each up period.
    pub up: Option<Spanned<[String; 2]>>,
    /// `flap`: no outage starts at or after this time.
    pub until: Option<Spanned<String>>,
    /// `random-outages`: how many.
    pub count: Option<u32>,
    /// `random-outages`: length of each outage.
    pub duration: Option<Spanned<[String; 2]>>,
    /// `random-outages`: every outage ends by this time.
    pub within: Option<Spanned<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    schedule: Vec<Spanned<StepTable>>,
    #[serde(default)]
    generate: Vec<Spanned<GenerateTable>>,
    seed: Option<u64>,
}

/// A schedule file, read and checked; [`ScheduleFile::expand`] gives the schedule.
#[derive(Debug, Clone)]
pub struct ScheduleFile {
    text: String,
    raw: RawFile,
}

impl ScheduleFile {
    /// Reads a schedule file's text.
    ///
    /// # Errors
    /// [`ConfigError`] at the offending key or value: unknown keys, wrong types, a fault
    /// that does not parse, a duration that is not one, a generator missing a key.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let raw: RawFile = toml::from_str(text).map_err(|e| ConfigError::from_toml(text, &e))?;
        let file = Self {
            text: text.to_string(),
            raw,
        };
        // Everything but the seed-dependent expansion is checked now.
        expand_tables(text, &file.raw.schedule, &file.raw.generate, 0)?;
        Ok(file)
    }

    /// The file's `seed`, if it has one.
    pub fn seed(&self) -> Option<u64> {
        self.raw.seed
    }

    /// The schedule: the steps, and the generators expanded with `seed` (generator `i`
    /// with `seed + i`, so adding one leaves the others alone).
    ///
    /// # Errors
    /// [`ConfigError`] when two steps at one time change the same target (at the second
    /// one), or a generator's parameters cannot produce a schedule.
    pub fn expand(&self, seed: u64) -> Result<Schedule, ConfigError> {
        expand_tables(&self.text, &self.raw.schedule, &self.raw.generate, seed).map(|(s, _)| s)
    }

    /// The generators, as written.
    ///
    /// # Errors
    /// Never for a parsed file (they were checked).
    pub fn generators(&self) -> Result<Vec<Generator>, ConfigError> {
        self.raw
            .generate
            .iter()
            .map(|g| generator(&self.text, g))
            .collect()
    }
}

impl Schedule {
    /// Reads a schedule file (TOML): the `[[schedule]]` steps and `[[generate]]`
    /// generators a scenario has, the generators expanded with the file's `seed` (0 when
    /// it has none). See [`ScheduleFile`] for the format and for another seed.
    ///
    /// # Errors
    /// [`crate::config::ConfigError`] with the line and column of the offending value.
    pub fn from_toml(text: &str) -> Result<Self, crate::config::ConfigError> {
        let file = ScheduleFile::parse(text)?;
        file.expand(file.seed().unwrap_or(0))
    }
}

fn duration(text: &str, value: &Spanned<String>) -> Result<Duration, ConfigError> {
    crate::bounds::parse_bounded_duration(value.get_ref())
        .map_err(|why| ConfigError::at(text, value.span().start, why))
}

fn range(text: &str, value: &Spanned<[String; 2]>) -> Result<DurationRange, ConfigError> {
    let at = |message: String| ConfigError::at(text, value.span().start, message);
    let [min, max] = value.get_ref();
    let parse = |d: &str| crate::bounds::parse_bounded_duration(d).map_err(at);
    DurationRange::new(parse(min)?, parse(max)?)
        .ok_or_else(|| at("a range is [\"MIN\", \"MAX\"] with MIN no larger than MAX".into()))
}

/// The generator a `[[generate]]` table describes.
fn generator(text: &str, table: &Spanned<GenerateTable>) -> Result<Generator, ConfigError> {
    let g = table.get_ref();
    let missing = |key: &str| {
        ConfigError::at(
            text,
            table.span().start,
            format!("a `{}` generator needs `{key}`", g.kind.get_ref()),
        )
    };
    let need = |value: &Option<Spanned<[String; 2]>>, key: &str| match value {
        Some(v) => range(text, v),
        None => Err(missing(&format!("{key} = [\"MIN\", \"MAX\"]"))),
    };
    let need_time = |value: &Option<Spanned<String>>, key: &str| match value {
        Some(v) => duration(text, v),
        None => Err(missing(key)),
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
    if let Some(why) = super::generate::foreign_key(g.kind.get_ref(), &present) {
        return Err(ConfigError::at(text, table.span().start, why));
    }
    match g.kind.get_ref().as_str() {
        "flap" => Ok(Generator::Flap {
            fault: g.fault.clone(),
            down: need(&g.down, "down")?,
            up: need(&g.up, "up")?,
            until: need_time(&g.until, "until")?,
        }),
        "random-outages" => Ok(Generator::RandomOutages {
            fault: g.fault.clone(),
            count: g.count.ok_or_else(|| missing("count"))?,
            duration: need(&g.duration, "duration")?,
            within: need_time(&g.within, "within")?,
        }),
        other => Err(ConfigError::at(
            text,
            g.kind.span().start,
            format!("unknown generator kind `{other}`; the seeded schedule generators are flap and random-outages"),
        )),
    }
}

/// The schedule of `[[schedule]]` and `[[generate]]` tables read from `text`, and the
/// generators: steps in time order, generator `i` expanded with `seed + i`.
///
/// # Errors
/// [`ConfigError`] at the offending table or value: a bad duration, a generator missing
/// a key or unable to produce a schedule, two steps at one time changing the same target
/// (at the second step, or the first generator when generated steps clash).
pub fn expand_tables(
    text: &str,
    steps: &[Spanned<StepTable>],
    generate: &[Spanned<GenerateTable>],
    seed: u64,
) -> Result<(Schedule, Vec<Generator>), ConfigError> {
    let mut all = Vec::with_capacity(steps.len());
    for step in steps {
        let s = step.get_ref();
        all.push(Step::new(duration(text, &s.at)?, s.state.clone()));
    }
    let explicit = all.clone();
    let mut generators = Vec::new();
    for (i, table) in generate.iter().enumerate() {
        let g = generator(text, table)?;
        let expanded = g
            .expand(seed.wrapping_add(i as u64))
            .map_err(|e| ConfigError::at(text, table.span().start, e.to_string()))?;
        all.extend(expanded);
        generators.push(g);
    }
    let generated = all.len() > explicit.len();
    let schedule = Schedule::new(all).map_err(|e| {
        let ScheduleError::Conflict(t) = &e;
        let offset = steps
            .iter()
            .zip(&explicit)
            .filter(|(_, s)| s.at == *t)
            .nth(1)
            .map(|(table, _)| table.span().start)
            .or_else(|| generated.then(|| generate[0].span().start))
            .unwrap_or(0);
        ConfigError::at(text, offset, e.to_string())
    })?;
    Ok((schedule, generators))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_steps_and_points_at_bad_values() {
        let s = Schedule::from_toml("[[schedule]]\nat = \"0s\"\nstate = \"refuse\"\n[[schedule]]\nat = \"5s\"\nstate = \"up\"\n").unwrap();
        assert_eq!(s.recoveries(), vec![Duration::from_secs(5)]);
        let e =
            Schedule::from_toml("[[schedule]]\nat = \"0s\"\nstate = \"refused\"\n").unwrap_err();
        assert_eq!((e.line, e.column), (3, 9), "{e}");
        let e = Schedule::from_toml("[[schedule]]\nat = \"soon\"\nstate = \"up\"\n").unwrap_err();
        assert_eq!((e.line, e.column), (2, 6), "{e}");
        assert!(e.message.starts_with("invalid duration `soon`"), "{e}");
        let e = Schedule::from_toml("[[schedule]]\nat = \"0s\"\nstate = \"up\"\nwhen = 1\n")
            .unwrap_err();
        assert!(e.message.contains("unknown field `when`"), "{e}");
    }

    #[test]
    fn conflicts_point_at_the_second_step() {
        let e = Schedule::from_toml(
            "[[schedule]]\nat = \"1s\"\nstate = \"up\"\n\n[[schedule]]\nat = \"1s\"\nstate = \"refuse\"\n",
        )
        .unwrap_err();
        assert_eq!((e.line, e.column), (5, 1), "{e}");
        assert!(e.message.contains("same target"), "{e}");
    }

    const FLAP: &str = "[[generate]]\nkind = \"flap\"\nfault = \"status(500) on token\"\ndown = [\"100ms\", \"300ms\"]\nup = [\"100ms\", \"300ms\"]\nuntil = \"1s\"\n";

    #[test]
    fn generators_expand_with_the_seed() {
        let file = ScheduleFile::parse(FLAP).unwrap();
        assert_eq!(file.seed(), None);
        let a = file.expand(1).unwrap();
        assert_eq!(a, file.expand(1).unwrap());
        assert_ne!(a, file.expand(2).unwrap());
        assert!(a.steps().len() > 4);
        let seeded = ScheduleFile::parse(&format!("seed = 2\n{FLAP}")).unwrap();
        assert_eq!(seeded.seed(), Some(2));
        assert_eq!(
            Schedule::from_toml(&format!("seed = 2\n{FLAP}")).unwrap(),
            file.expand(2).unwrap()
        );
        assert_eq!(file.generators().unwrap().len(), 1);
        // The same steps a scenario with this table and seed expands to.
        let generator = &file.generators().unwrap()[0];
        assert_eq!(
            a.steps(),
            Schedule::new(generator.expand(1).unwrap()).unwrap().steps()
        );
    }

    #[test]
    fn generator_errors_say_what_is_missing_or_wrong() {
        let e =
            ScheduleFile::parse("[[generate]]\nkind = \"flap\"\nfault = \"reset\"\n").unwrap_err();
        assert_eq!(e.line, 1, "{e}");
        assert!(
            e.message.contains("needs `down = [\"MIN\", \"MAX\"]`"),
            "{e}"
        );
        let e =
            ScheduleFile::parse("[[generate]]\nkind = \"flip\"\nfault = \"reset\"\n").unwrap_err();
        assert_eq!((e.line, e.column), (2, 8), "{e}");
        assert!(e.message.contains("flap and random-outages"), "{e}");
        let e = ScheduleFile::parse(
            "[[generate]]\nkind = \"random-outages\"\nfault = \"reset\"\ncount = 10\nduration = [\"1s\", \"2s\"]\nwithin = \"3s\"\n",
        )
        .unwrap_err();
        assert!(e.message.contains("do not fit"), "{e}");
        let e = ScheduleFile::parse(
            "[[generate]]\nkind = \"flap\"\nfault = \"reset\"\ndown = [\"2s\", \"1s\"]\nup = [\"1s\", \"1s\"]\nuntil = \"3s\"\n",
        )
        .unwrap_err();
        assert_eq!(e.line, 4, "{e}");
        assert!(e.message.contains("MIN no larger than MAX"), "{e}");
    }
}
