//! Fault syntax: any UTF-8 text → `FaultSpec`, `Change` and `ImdsState` parsers. No input
//! may panic, and whatever parses must print (`Display`) to text that parses back to an
//! equal value, since reports, the control API and `ctl state` rely on that round trip;
//! so must a state holding any one fault that parses on its own.
#![no_main]

use std::fmt::{Debug, Display};
use std::str::FromStr;

use libfuzzer_sys::fuzz_target;
use mock_imds::{Change, FaultSpec, ImdsState};

fn round_trip<T>(input: &str)
where
    T: FromStr + Display + Debug + PartialEq,
    T::Err: Display,
{
    let Ok(value) = input.parse::<T>() else {
        return;
    };
    let printed = value.to_string();
    match printed.parse::<T>() {
        Ok(again) => assert_eq!(
            again, value,
            "{input:?} parsed to {value:?}, printed as {printed:?}, which parses to {again:?}"
        ),
        Err(e) => panic!("{input:?} parsed to {value:?}, printed as {printed:?}, which fails: {e}"),
    }
}

fuzz_target!(|input: &str| {
    round_trip::<FaultSpec>(input);
    round_trip::<Change>(input);
    round_trip::<ImdsState>(input);
    // A fault set on its own (`POST /faults`, `ctl fault`, a generator's `fault`) shows up
    // in a state (`GET /state`, the report's schedule), which must parse back too.
    if let Ok(Change::Set(spec)) = input.parse::<Change>() {
        let state = ImdsState::from(spec);
        let printed = state.to_string();
        assert_eq!(
            printed.parse::<ImdsState>().as_ref(),
            Ok(&state),
            "{input:?} as a state prints as {printed:?}"
        );
    }
});
