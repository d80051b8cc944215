//! Fault syntax: any UTF-8 text → `FaultSpec`, `Change` and `ImdsState` parsers. No input
//! may panic, and whatever parses must print (`Display`) to text that parses back to an
//! equal value, since reports, the control API and `ctl state` rely on that round trip;
//! so must a state holding any one fault that parses on its own.
//!
//! The body is `mock_imds::fuzzing::fault_spec`, which `cargo test` also runs on every
//! seed in `fuzz/seeds/fault_spec/` (`tests/fuzz_seeds.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &str| mock_imds::fuzzing::fault_spec(input));
