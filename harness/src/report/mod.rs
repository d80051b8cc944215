//! Reports of a run: the terminal table ([`table`]), the JSON file ([`json`]), JUnit XML
//! ([`junit`]) and the timeline pictures ([`svg`]).

pub mod json;
pub mod junit;
pub mod svg;
pub mod table;
