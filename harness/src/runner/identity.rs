//! Which run a report belongs to: an id every shard of one run computes alike, on
//! whichever machine it runs, so `merge` can tell the shards of one run from a report of
//! another and count each cell once.

use sha2::{Digest, Sha256};

use super::PlannedCell;

/// Hex digits of a run id.
const ID_LEN: usize = 12;

/// The run id of the cells a run selected before `--shard` split them: the first
/// [`ID_LEN`] hex digits of a SHA-256 over each cell's position, `scenario/driver/strategy`
/// name, seed and expanded schedule. Every shard of `run --shard I/N` over the same files,
/// filter and seed computes the same id; another suite, filter or seed computes another.
pub fn run_id(cells: &[PlannedCell]) -> String {
    let mut hash = Sha256::new();
    for cell in cells {
        let schedule = serde_json::to_string(&cell.scenario.schedule).unwrap_or_default();
        hash.update(
            format!(
                "{}\n{}\n{}\n{}\n",
                cell.index,
                cell.id(),
                cell.scenario.seed,
                schedule
            )
            .as_bytes(),
        );
    }
    hash.finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>()[..ID_LEN]
        .to_string()
}
