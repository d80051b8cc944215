//! mock-imds: a fake EC2 Instance Metadata Service (IMDS) and a fake STS, both of which
//! fail on command, for testing how AWS SDK clients survive metadata outages.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use mock_imds::{Fault, MockImds, Target};
//! let imds = MockImds::builder().seed(7).start().await?;
//! let _env = imds.sdk_env();                          // point an SDK at it
//! let outage = imds.inject_scoped(Fault::status(403).on(Target::Token)).await?;
//! // ... run a client: its token PUT is refused ...
//! outage.lift().await?;                               // or let the guard drop
//! # Ok(()) }
//! ```
//!
//! Map of the crate (one concern per module):
//! - [`clock`]: the mock's virtual wall clock ([`Clock`]: real time plus an offset only
//!   jumps move) and the signed durations jumps are written in ([`SignedDuration`]).
//! - [`config`]: what the fake instance looks like (identity, role, `HttpTokens`,
//!   `HttpEndpoint`, credential lifetime), with EC2-like defaults.
//! - [`config_watch`]: instance config files (TOML, or an AEMM JSON config read by
//!   `aemm`) and their hot reload while serving.
//! - [`notice`]: Spot interruptions, rebalance recommendations, scheduled maintenance and
//!   Auto Scaling lifecycle states, posted on the virtual clock; `instance`: the config
//!   and tree in force, swapped whole by a notice or a reload.
//! - [`fault`]: every fault behaviour: the catalogue ([`Fault`]), the syntax
//!   (`status(403) on token p=0.5`), targets ([`Target`]), the state ([`ImdsState`]) and
//!   one interpreter per layer (socket, answer, document, body).
//! - `schedule`: `(at, change)` steps on the scenario clock ([`Schedule`]; a step changes
//!   the state, jumps the virtual clock or rotates credentials, [`StepChange`]), seeded
//!   generators ([`Generator`]) and the schedule file reader ([`ScheduleFile`]).
//! - [`events`]: the event log: every request, every transition, every STS call, with a
//!   monotonic timestamp from one epoch; [`Events`] to query it.
//! - `tokens`: IMDSv2 session tokens (issue with a TTL, validate, expire).
//! - `ttl_header`: what the token answer's TTL header says ([`TokenTtlHeader`]: echo,
//!   absent, a chosen value), settable at runtime.
//! - `credentials`: the credential store: issues, rotates and remembers role credentials.
//! - `metadata`: the metadata tree (listings and leaves) as EC2 serves it.
//! - `ec2_http`: EC2's response shapes (error pages, `text/plain` bodies).
//! - `imds`: EC2's IMDS: one request → one response, once the faults have had their say.
//! - [`container`]: the ECS agent's and the EKS Pod Identity agent's credentials
//!   endpoints on a listener of their own ([`ContainerConfig`]), and the token files
//!   (the Pod Identity JWT the mock rotates as the kubelet does).
//! - `listener`: the TCP side: bind, accept, refuse (close the socket), kill connections.
//! - `sigv4_check`: checks a SigV4-signed request against the credential store.
//! - [`sts`]: the fake STS endpoint (`GetCallerIdentity`, `AssumeRole` with role
//!   chaining: [`AssumedSession`]) and its call ids.
//! - `switch`: the state in force and the schedule runner; every change goes through it.
//! - `handle`: [`MockImds::builder`] and the [`MockImds`] handle a test holds.
//! - `sdk_env`: the variables that divert an SDK from the mock
//!   ([`DIVERTING_VARIABLES`], measured on boto3).
//! - [`control`]: the HTTP control API (JSON) for other languages and `mock-imds ctl`,
//!   and [`ControlClient`].
//! - `ms`: durations as milliseconds in JSON; `bounds`: every duration is at most
//!   [`MAX_DURATION`] (24 h).
//! - `fuzzing` (hidden, not an API): the bodies of the `fuzz/` targets and the in-process
//!   service the benchmarks and fault tests drive.
//!
//! The `mock-imds` binary (`src/bin/mock-imds/`) is `serve`, `ctl` and `load` on top of
//! this API.

mod aemm;
mod bounds;
pub mod clock;
pub mod config;
pub mod config_watch;
pub mod container;
pub mod control;
mod credentials;
mod ec2_http;
pub mod events;
pub mod fault;
#[doc(hidden)]
pub mod fuzzing;
mod handle;
mod imds;
mod instance;
mod listener;
mod metadata;
mod ms;
pub mod notice;
mod schedule;
mod sdk_env;
mod sigv4_check;
pub mod sts;
mod switch;
mod tokens;
mod ttl_header;

pub use aemm::from_aemm_json;
pub use bounds::{check_bounded, parse_bounded_duration, MAX_DURATION};
pub use clock::{Clock, SignedDuration};
pub use config::{
    check_credential_times, ConfigError, HttpEndpoint, HttpTokens, ImdsConfig, InstanceIdentity,
};
pub use config_watch::{read_config_file, ConfigWatch};
pub use container::{ContainerConfig, ContainerEndpoints, ServiceAccountToken};
pub use control::{ControlClient, ControlClientError};
pub use credentials::{CredentialStore, IssuedCredentials};
pub use events::{Event, EventKind, EventLog, EventType, Events, Mark, StsOutcome};
pub use fault::{Change, Fault, FaultSpec, ImdsState, ParseFaultError, Target};
pub use handle::{ContainerSurface, FaultGuard, MockImds, MockImdsBuilder, SdkEnv};
pub use schedule::{
    expand_tables, foreign_key, DurationRange, GenerateError, GenerateTable, Generator, LayerError,
    Schedule, ScheduleError, ScheduleFile, Step, StepChange, StepTable, GENERATOR_KEYS,
};
pub use sdk_env::DIVERTING_VARIABLES;
pub use sts::{AssumedSession, CALL_ID_HEADER};
pub use switch::{InFlight, TransitionError, JUMP_HOLD_LIMIT};
pub use ttl_header::TokenTtlHeader;

#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
