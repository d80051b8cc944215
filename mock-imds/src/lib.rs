//! mock-imds: a fake EC2 Instance Metadata Service (IMDS) and a fake STS, both of which
//! fail on command, for testing how AWS SDK clients survive metadata outages.
//!
//! Map of the crate (one concern per module):
//! - [`config`]: what the fake instance looks like (identity, role, `HttpTokens`,
//!   `HttpEndpoint`, credential lifetime), with EC2-like defaults.
//! - [`fault`]: the fault catalogue ([`Fault`]), targets ([`Target`]), the IMDS state
//!   ([`ImdsState`]: the active faults) and changes, with the string syntax used by
//!   scenarios, the CLI and the control API (`refuse`, `status(403) on token p=0.5`).
//! - [`schedule`]: `(at, change)` steps on the scenario clock.
//! - [`generate`]: seeded schedule generators (`flap`, `random-outages`) expanded to steps.
//! - [`events`]: the event log: every request, every transition, every STS call, with a
//!   monotonic timestamp from one epoch.
//! - [`tokens`]: IMDSv2 session tokens (issue with a TTL, validate, expire).
//! - [`credentials`]: the credential store: issues, rotates and remembers role credentials.
//! - [`metadata`]: the metadata tree (listings and leaves) as EC2 serves it.
//! - [`ec2_http`]: EC2's response shapes (error pages, `text/plain` bodies).
//! - [`imds_service`]: one IMDS request → one response, applying the current state.
//! - [`listener`]: the TCP side: bind, accept, refuse (close the socket), kill connections.
//! - [`sigv4_check`]: checks a SigV4-signed request against the credential store.
//! - [`sts`]: the fake STS endpoint (`GetCallerIdentity`).
//! - [`handle`]: [`MockImds::builder`] and the [`MockImds`] handle a test holds.
//! - [`control`]: the HTTP control API (JSON) for other languages and `mock-imds ctl`.
//! - `fuzzing` (hidden, not an API): the bodies of the `fuzz/` targets, so that `cargo test`
//!   runs their seeds too.

pub mod config;
pub mod control;
pub mod credentials;
pub mod ec2_http;
pub mod events;
pub mod fault;
#[doc(hidden)]
pub mod fuzzing;
pub mod generate;
pub mod handle;
pub mod imds_service;
pub mod listener;
pub mod metadata;
pub mod schedule;
pub mod sigv4_check;
pub mod sts;
pub mod tokens;

pub use config::{HttpEndpoint, HttpTokens, ImdsConfig, InstanceIdentity};
pub use credentials::{CredentialStore, IssuedCredentials};
pub use events::{Event, EventKind, EventLog, StsOutcome};
pub use fault::{Change, Fault, FaultSpec, ImdsState, ParseFaultError, Target};
pub use generate::{DurationRange, GenerateError, Generator};
pub use handle::{Mark, MockImds, MockImdsBuilder, TransitionError};
pub use schedule::{Schedule, ScheduleError, Step};
