//! Reports of a run: the terminal table ([`table`]) and the JSON file ([`json`]).

pub mod json;
pub mod table;
