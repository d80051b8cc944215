//! Scenario files: any bytes (as lossy UTF-8) → `harness::scenario::parse`. No input may
//! panic, and a refusal must be one line of text (no control characters) starting
//! `fuzz.toml:LINE:COLUMN: ` (the CLI prints it as is and editors jump to it).
//!
//! The body is `harness::fuzzing::scenario`, which `cargo test` also runs on every seed
//! in `fuzz/seeds/scenario/` (`tests/fuzz_seeds.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| harness::fuzzing::scenario(data));
