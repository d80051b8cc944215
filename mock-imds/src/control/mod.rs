//! The HTTP control API: switch a running mock from any language or a second terminal.
//!
//! JSON over HTTP on its own loopback port (`mock-imds serve --control-port`):
//!
//! | request | effect | answer |
//! | --- | --- | --- |
//! | `GET /state` | — | `{"events_dropped", "events_recorded", "imds_requests_recorded", "schedule_running": false, "seed": 7, "state": "refuse; status(403) on token", "up": false}` |
//! | `PUT /state` `{"state": "…"}` | replace the whole state (`up`, or specs joined by `;`) | the state |
//! | `POST /faults` `{"fault": "status(403) on token p=0.5"}` | set one fault (or `up on TARGET`) | the state |
//! | `DELETE /faults` | remove every fault (up) | the state |
//! | `DELETE /faults/TARGET` | remove the fault on `listener`, `token`, `credentials` or `path(GLOB)` (percent-encoded) | the state |
//! | `POST /schedule` `{"steps": [{"at": "0s", "state": "refuse"}, {"at": "1s", "clock": "+5h52m", "rotate": true}, …]}` | run a schedule from now (a step has `state`, `clock`, `rotate` or several) | `{"steps": n}` |
//! | `DELETE /schedule` | stop the running schedule | the state |
//! | `GET /events?since_ms=N` | — | the events at or after N ms, as a JSON array |
//! | `POST /reset` | stop the schedule and remove every fault | the state |
//! | `GET /clock` | — | `{"now": "2026-12-02T13:00:00.123Z", "offset_ms": 21120000}` (the virtual wall clock, RFC 3339 UTC) |
//! | `POST /clock` `{"by": "+5h52m"}` | jump the virtual wall clock (signed; `-10m` goes back) | the clock after the jump |
//! | `POST /rotate` (empty body or `{}`) | replace the credentials now | `{"access_key_id": "ASIAMOCK…", "expiration": "2026-12-02T19:00:00Z"}` |
//! | `GET /sts/sessions` | — | the sessions `AssumeRole` issued, oldest first: `[{"access_key_id", "expiration", "role_arn", "session_name", "arn", "assumed_role_id", "source_access_key_id"}]` (no secrets) |
//! | `GET /token-ttl-header` | — | `{"token_ttl_header": "echo"}` (what the token answer's TTL header says: `"echo"`, `"absent"` or seconds, e.g. `600`) |
//! | `PUT /token-ttl-header` `{"token_ttl_header": "absent"}` | set it, from the next token on | the same |
//! | `POST /notice` `{"notice": "spot-interruption(terminate, 2m)"}` | post a notice ([`crate::notice`]) on the virtual clock | `{"notice": "spot-interruption(terminate, 2m)", "time": "2026-12-02T10:02:00Z"}` |
//!
//! Every answer carries the header `x-mock-imds-control: 1`
//! ([`wire::CONTROL_HEADER`]), so a client pointed at the IMDS or STS port says so
//! instead of printing their pages. Every change returns once it is in force. Bad input gets 400 with
//! `{"error": "…"}` saying what is accepted; unknown paths 404, wrong methods 405; a
//! change that could not be put in force 500.
//!
//! - `wire.rs`: the JSON shapes, shared by both sides.
//! - `server.rs`: the routes, acting on the mock's switch (`switch.rs`).
//! - `client.rs`: [`ControlClient`], used by `mock-imds ctl`, `mock-imds load` and tests.

mod client;
mod server;
pub mod wire;

pub use client::{ControlClient, ControlClientError};
pub(crate) use server::handler;
