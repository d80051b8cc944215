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
//! state = "up on listener"              # (a bare `up` while a generator's fault is on is
//! [[schedule]]                          #  an error: it would end that one too)
//! at = "5s"                             # steps may share a time; applied as written
//! clock = "+5h52m"                      # jump the virtual wall clock (signed)
//! rotate = true                         # new credentials now (after the jump)
//! [[generate]]                          # seeded, expanded to steps before the run; the
//!                                       # steps and each generator are layers: a window
//!                                       # inside another restores the outer fault at its end
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
use super::layers::LayerError;
use super::steps::{Schedule, Step, StepChange};
use crate::clock::SignedDuration;
use crate::config::ConfigError;
use crate::fault::{Change, FaultSpec};

/// One `[[schedule]]` table: at `at`, jump the clock by `clock`, `rotate` the
/// credentials, and apply `state` (at least one of the three).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepTable {
    /// When, as a duration (`500ms`, `2s`).
    pub at: Spanned<String>,
    /// The state change: a fault, `up on TARGET` or `up`.
    pub state: Option<Change>,
    /// A jump of the virtual wall clock, signed (`+5h52m`, `-10m`).
    pub clock: Option<Spanned<String>>,
    /// Replace the credentials now.
    #[serde(default)]
    pub rotate: bool,
    /// A notice to post (`spot-interruption(terminate, 2m)`, `rebalance`, …).
    pub notice: Option<Spanned<String>>,
    /// Write a new Pod Identity service-account token over the token file.
    #[serde(default)]
    pub rotate_token: bool,
}

impl StepTable {
    /// The step this table describes.
    ///
    /// # Errors
    /// [`ConfigError`] at `at` or `clock` when it does not parse, or at the table when it
    /// changes nothing.
    pub fn step(text: &str, table: &Spanned<StepTable>) -> Result<Step, ConfigError> {
        let t = table.get_ref();
        let clock = match &t.clock {
            None => None,
            Some(c) => Some(
                c.get_ref()
                    .parse::<SignedDuration>()
                    .map_err(|e| ConfigError::at(text, c.span().start, format!("`clock`: {e}")))?,
            ),
        };
        let notice =
            match &t.notice {
                None => None,
                Some(n) => Some(n.get_ref().parse::<crate::notice::Notice>().map_err(|e| {
                    ConfigError::at(text, n.span().start, format!("`notice`: {e}"))
                })?),
            };
        let change = StepChange {
            state: t.state.clone(),
            clock,
            rotate: t.rotate,
            notice,
            rotate_token: t.rotate_token,
        };
        if change.is_empty() {
            return Err(ConfigError::at(
                text,
                table.span().start,
                format!("{NOTHING}; a step needs `state` (a fault, `up on TARGET`, `up`), `clock` (a signed jump like \"+5h52m\"), `rotate = true` or `notice` (like \"spot-interruption(terminate, 2m)\")"),
            ));
        }
        Ok(Step::with(duration(text, &t.at)?, change))
    }
}

/// The start of the message for a step that changes nothing.
const NOTHING: &str = "this schedule step changes nothing";

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
    let mut explicit = Vec::with_capacity(steps.len());
    for step in steps {
        explicit.push(StepTable::step(text, step)?);
    }
    let mut layers = vec![explicit.clone()];
    let mut generators = Vec::new();
    for (i, table) in generate.iter().enumerate() {
        let g = generator(text, table)?;
        let expanded = g
            .expand(seed.wrapping_add(i as u64))
            .map_err(|e| ConfigError::at(text, table.span().start, e.to_string()))?;
        layers.push(expanded);
        generators.push(g);
    }
    // The explicit steps and each generator are layers: overlapping windows nest.
    let schedule = Schedule::layered(layers).map_err(|e| {
        let t = e.at();
        let offset = match e.layer() {
            0 => {
                let at_t = || steps.iter().zip(&explicit).filter(|(_, s)| s.at == t);
                let pick = match &e {
                    LayerError::Layer { .. } => at_t().filter(|(_, s)| s.state().is_some()).nth(1),
                    LayerError::UpOverOther { .. } => {
                        at_t().find(|(_, s)| s.state() == Some(&Change::Up))
                    }
                    LayerError::Tie { .. } => at_t().next(),
                };
                pick.map(|(table, _)| table.span().start)
            }
            g => generate.get(g - 1).map(|table| table.span().start),
        };
        ConfigError::at(text, offset.unwrap_or(0), e.to_string())
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

    #[test]
    fn notice_steps_read_and_point_at_bad_notices() {
        let s = Schedule::from_toml(
            "[[schedule]]\nat = \"30s\"\nnotice = \"spot-interruption(terminate, 2m)\"\nstate = \"latency(1s, 0s) on path(/latest/meta-data/spot/*)\"\n",
        )
        .unwrap();
        assert_eq!(
            s.steps()[0].change.to_string(),
            "notice spot-interruption(terminate, 2m), latency(1s, 0s) on path(/latest/meta-data/spot/*)"
        );
        let e = Schedule::from_toml("[[schedule]]\nat = \"1s\"\nnotice = \"lifecycle(Dead)\"\n")
            .unwrap_err();
        assert_eq!((e.line, e.column), (3, 10), "{e}");
        assert!(e.message.contains("unknown lifecycle state `Dead`"), "{e}");
    }

    #[test]
    fn clock_and_rotate_steps_read_and_point_at_bad_values() {
        let s = Schedule::from_toml(
            "[[schedule]]\nat = \"1s\"\nstate = \"refuse\"\n[[schedule]]\nat = \"1s\"\nclock = \"+5h52m\"\nrotate = true\n[[schedule]]\nat = \"2s\"\nstate = \"up\"\nclock = \"-1m\"\n",
        )
        .unwrap();
        let texts: Vec<String> = s.steps().iter().map(|s| s.change.to_string()).collect();
        assert_eq!(texts, ["refuse", "clock +5h 52m, rotate", "clock -1m, up"]);
        assert_eq!(s.recoveries(), vec![Duration::from_secs(2)]);
        let e = Schedule::from_toml("[[schedule]]\nat = \"1s\"\nclock = \"5h\"\n").unwrap_err();
        assert_eq!((e.line, e.column), (3, 9), "{e}");
        assert!(e.message.contains("`+` or `-`"), "{e}");
        let e = Schedule::from_toml("[[schedule]]\nat = \"1s\"\nclock = \"+soon\"\n").unwrap_err();
        assert_eq!((e.line, e.column), (3, 9), "{e}");
        let e = Schedule::from_toml("[[schedule]]\nat = \"1s\"\nrotate = false\n").unwrap_err();
        assert_eq!((e.line, e.column), (1, 1), "{e}");
        assert!(e.message.starts_with(NOTHING), "{e}");
        let e = Schedule::from_toml("[[schedule]]\nat = \"1s\"\nrotate = \"yes\"\n").unwrap_err();
        assert_eq!(e.line, 3, "{e}");
        // Two fault changes at one time on one target stay an error, even between jumps.
        let e = Schedule::from_toml(
            "[[schedule]]\nat = \"1s\"\nstate = \"refuse\"\n[[schedule]]\nat = \"1s\"\nclock = \"+1h\"\n[[schedule]]\nat = \"1s\"\nstate = \"blackhole\"\n",
        )
        .unwrap_err();
        assert_eq!((e.line, e.column), (7, 1), "{e}");
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

    /// `serve --schedule` and `ctl schedule` files: a flap inside a refuse restores the
    /// refuse; a bare `up` over the flap is an error at its line and column.
    #[test]
    fn steps_and_generators_nest_as_layers() {
        let text = "[[schedule]]\nat = \"50ms\"\nstate = \"refuse\"\n[[schedule]]\nat = \"1s\"\nstate = \"up on listener\"\n[[generate]]\nkind = \"flap\"\nfault = \"status(500)\"\ndown = [\"100ms\", \"100ms\"]\nup = [\"100ms\", \"100ms\"]\nuntil = \"400ms\"\n";
        let s = Schedule::from_toml(text).unwrap();
        let at = |ms: u64| s.state_at(Duration::from_millis(ms)).to_string();
        assert_eq!(
            [at(0), at(100), at(250), at(350), at(999), at(1000)],
            [
                "status(500)",
                "refuse",
                "status(500)",
                "refuse",
                "refuse",
                "up"
            ]
        );
        let bare = text
            .replace("state = \"up on listener\"", "state = \"up\"")
            .replace("until = \"400ms\"", "until = \"2s\"");
        let e = Schedule::from_toml(&bare).unwrap_err().to_string();
        assert!(e.starts_with("4:1: `up` at 1s would also end"), "{e}");
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
