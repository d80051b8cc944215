//! Which scenarios and cells a subcommand works on: the `PATHS… --filter --shard --seed`
//! arguments, and loading the files (printing their warnings).

use std::path::PathBuf;

use harness::paths;
use harness::runner::Selection;
use harness::scenario::{self, Scenario};

use super::error::CliError;

#[derive(clap::Args, Debug)]
pub struct Select {
    /// Scenario files or directories of `*.toml`, read with their subfolders (default: the built-in `scenarios/`).
    pub paths: Vec<PathBuf>,
    /// Only cells whose `scenario/driver/strategy` matches this glob, e.g. `trap-*/boto3/*`.
    #[arg(long, value_name = "GLOB")]
    pub filter: Option<String>,
    /// Only shard I of N (e.g. `2/3`): a deterministic split of the cells for N CI runners.
    #[arg(long, value_name = "I/N", value_parser = parse_shard)]
    pub shard: Option<(usize, usize)>,
    /// Seed for schedule generators and fault probabilities (default: each file's `seed`, else 0).
    #[arg(long)]
    pub seed: Option<u64>,
}

impl Select {
    /// The cells these arguments pick.
    pub fn selection(&self) -> Selection {
        Selection {
            filter: self.filter.clone(),
            shard: self.shard,
        }
    }
}

fn parse_shard(text: &str) -> Result<(usize, usize), String> {
    let err = || format!("`{text}` is not a shard: write I/N with 1 <= I <= N, e.g. 2/3");
    let (i, n) = text.split_once('/').ok_or_else(err)?;
    let (i, n): (usize, usize) = (
        i.trim().parse().map_err(|_| err())?,
        n.trim().parse().map_err(|_| err())?,
    );
    if n == 0 || i == 0 || i > n {
        return Err(err());
    }
    Ok((i, n))
}

pub use harness::report::wording::plural;

/// Loads every file (the built-in suite when `paths` is empty), printing the warnings of
/// the good ones; returns the good ones and the error lines of the bad ones.
pub fn load_all(paths: &[PathBuf], seed: Option<u64>) -> (Vec<Scenario>, Vec<String>) {
    let paths = if paths.is_empty() {
        vec![paths::default_scenarios()]
    } else {
        paths.to_vec()
    };
    let files = match scenario::discover(&paths) {
        Ok(files) => files,
        Err(e) => return (Vec::new(), vec![e.to_string()]),
    };
    if files.is_empty() {
        let listed = paths
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ");
        return (
            Vec::new(),
            vec![format!("no scenario files (*.toml) in {listed}")],
        );
    }
    let mut scenarios = Vec::new();
    let mut errors = Vec::new();
    for file in files {
        match scenario::load_with_seed(&file, seed) {
            Ok(s) => scenarios.push(s),
            Err(e) => errors.push(e.to_string()),
        }
    }
    scenario::names::make_distinct(&mut scenarios);
    for s in &scenarios {
        for w in &s.warnings {
            eprintln!("warning: {w}");
        }
    }
    (scenarios, errors)
}

/// Like [`load_all`], failing with every error line when any file is bad.
pub fn load(paths: &[PathBuf], seed: Option<u64>) -> Result<Vec<Scenario>, CliError> {
    let (scenarios, errors) = load_all(paths, seed);
    if errors.is_empty() {
        Ok(scenarios)
    } else {
        Err(CliError::Input(errors.join("\n")))
    }
}
