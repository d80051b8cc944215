//! IMDS request handling: an arbitrary method, URI and headers → `Imds::handle`, under a
//! state of up to two faults picked from a fixed list (never `blackhole`, which by design
//! never answers) plus one `latency` with fuzz-chosen delay, jitter and probability.
//!
//! Input layout: byte 0 picks the config (IMDSv1 allowed or not, endpoint on or off,
//! role or none); bytes 1 and 2 each pick a fault (or none); byte 3 is how many times
//! the request is sent (1..=3, to reach `throttle`); bytes 4..20 are the latency fault's
//! delay and jitter in seconds (u64 little-endian each) and byte 20 its probability.
//! The rest is newline-separated: the method, the URI, then `name:value` header lines.
//! A header value `$TOKEN` is replaced by a token the mock just issued. Inputs the
//! `http` crate refuses (bad method, URI, header name or value) are skipped.
//!
//! Checked: no panic; every answer has a status EC2 can send (200, 400, 401, 403, 404,
//! 405, 429, 431) or the status of an active `status(N)` fault; a closed connection only
//! under `refuse`/`drop-syn`, a reset only under `reset`; one event logged per request.
//!
//! The body is `mock_imds::fuzzing::imds_request`, which `cargo test` also runs on every
//! seed in `fuzz/seeds/imds_request/` (`tests/fuzz_seeds.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // A paused clock, so that `latency` faults cost nothing.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a runtime");
    mock_imds::fuzzing::imds_request(data, &runtime);
});
