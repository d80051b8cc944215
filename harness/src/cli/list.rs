//! `imds-harness list`: the scenarios and their cells, after `--filter` and `--shard`.

use harness::report::wording;
use harness::runner;

use super::error::CliError;
use super::out;
use super::select::{self, Select};

/// Characters of a scenario's description `list` shows: its first sentence, cut at a word.
const DESCRIPTION_WIDTH: usize = 160;

#[derive(clap::Args, Debug)]
pub struct ListArgs {
    #[command(flatten)]
    select: Select,
}

/// Prints each scenario with cells selected, then its cells.
pub fn run(args: ListArgs) -> Result<(), CliError> {
    let select = args.select;
    let scenarios = select::load(&select.paths, select.seed)?;
    let planned = runner::plan(&scenarios, &select.selection());
    for s in &scenarios {
        let cells: Vec<String> = planned
            .iter()
            .filter(|c| c.scenario.name == s.name)
            .map(|c| c.id())
            .collect();
        if cells.is_empty() {
            continue;
        }
        out::line(&format!(
            "{} ({}){}",
            s.name,
            s.file.display(),
            if s.description.is_empty() {
                String::new()
            } else {
                format!(": {}", wording::summary(&s.description, DESCRIPTION_WIDTH))
            }
        ));
        for c in cells {
            out::line(&format!("  {c}"));
        }
    }
    Ok(())
}
