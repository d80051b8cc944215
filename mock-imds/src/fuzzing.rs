//! Not an API: what the fuzz targets, the benchmarks and the in-process fault tests need
//! from inside the crate.
//!
//! - The bodies of the `cargo fuzz` targets in `fuzz/fuzz_targets/` that exercise this
//!   crate, as functions, so that the fuzz targets call them and `cargo test` runs them on
//!   every seed in `fuzz/seeds/TARGET/` (`tests/fuzz_seeds.rs` in the workspace root) on
//!   stable Rust. Each function panics when its property does not hold.
//! - [`InProcess`]: the IMDS service without sockets (`benches/handle.rs`,
//!   `tests/fault_layers.rs`).

use std::fmt::{Debug, Display};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderName, HeaderValue, Method, Request, Uri};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::config::{HttpEndpoint, HttpTokens, ImdsConfig};
use crate::credentials::CredentialStore;
pub use crate::ec2_http::{Body, HttpResponse};
use crate::events::{EventKind, EventLog};
use crate::fault::{Change, Fault, FaultSpec, ImdsState};
use crate::imds::Imds;
pub use crate::imds::{TOKEN_HEADER, TOKEN_PATH, TTL_HEADER};
pub use crate::listener::ConnectionClosed;

/// The IMDS service of a mock without its sockets: requests go straight to the handler.
#[derive(Debug)]
pub struct InProcess {
    imds: Imds,
    state: watch::Sender<Arc<ImdsState>>,
    events: EventLog,
}

impl InProcess {
    /// The service for `config` (with a credential store when it has a role), its fault
    /// draws seeded with `seed`, up, its event log's clock starting now.
    pub fn new(config: ImdsConfig, seed: u64) -> Self {
        let store = config.role_name.clone().map(|role| {
            Arc::new(CredentialStore::new(
                role,
                config.credential_lifetime,
                config.rotate_before_expiry,
            ))
        });
        let (state, receiver) = watch::channel(Arc::new(ImdsState::up()));
        let events = EventLog::new(Instant::now());
        Self {
            imds: Imds::new(
                config,
                store,
                receiver,
                events.clone(),
                seed,
                crate::clock::Clock::new(),
            ),
            state,
            events,
        }
    }

    /// Puts `state` in force (for the next request).
    pub fn set(&self, state: ImdsState) {
        self.state.send_replace(Arc::new(state));
    }

    /// Answers one request.
    ///
    /// # Errors
    /// [`ConnectionClosed`] when a fault ends the connection instead.
    pub async fn handle<B>(&self, req: Request<B>) -> Result<HttpResponse, ConnectionClosed> {
        self.imds.handle(req, None).await
    }

    /// The service's event log.
    pub fn events(&self) -> &EventLog {
        &self.events
    }
}

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

/// The `fault_spec` target. Fault syntax: any UTF-8 text → `FaultSpec`, `Change` and
/// `ImdsState` parsers. No input may panic, and whatever parses must print (`Display`)
/// to text that parses back to an equal value, since reports, the control API and
/// `ctl state` rely on that round trip; so must a state holding any one fault that
/// parses on its own.
pub fn fault_spec(input: &str) {
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
}

/// The faults a state is made of. `blackhole` is left out: it never answers.
const FAULTS: &[&str] = &[
    "refuse",
    "drop-syn",
    "status(500)",
    "status(503, \"busy\")",
    "status(500) on token",
    "status(502) on path(/latest/meta-data/*) p=0.5",
    "latency(200ms, 50ms)",
    "latency(1s, 1s) on credentials p=0.5",
    "reset",
    "reset on token p=0.3",
    "truncate",
    "truncate on credentials",
    "malformed-json",
    "malformed-json on listener",
    "no-role",
    "no-role on path(/latest/*)",
    "expired-credentials",
    "error-document(AssumeRoleUnauthorizedAccess)",
    "throttle(1)",
    // Was `throttle(0) on token` (every token PUT 429), refused since: the same answer.
    "status(429) on token",
];

/// Statuses EC2's IMDS answers with, apart from those a `status(N)` fault sets.
const EC2_STATUSES: &[u16] = &[200, 400, 401, 403, 404, 405, 429, 431];

fn imds(selector: u8) -> InProcess {
    let config = ImdsConfig {
        http_tokens: if selector & 1 == 0 {
            HttpTokens::Optional
        } else {
            HttpTokens::Required
        },
        http_endpoint: if selector & 2 == 0 {
            HttpEndpoint::Enabled
        } else {
            HttpEndpoint::Disabled
        },
        role_name: (selector & 4 == 0).then(|| "mock-imds-role".to_string()),
        extended_credentials: selector & 8 != 0,
        ..ImdsConfig::default()
    };
    InProcess::new(config, 7)
}

fn u64_at(data: &[u8], at: usize) -> u64 {
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&data[at..at + 8]);
    u64::from_le_bytes(bytes)
}

fn state(data: &[u8]) -> ImdsState {
    let mut state = ImdsState::up();
    for &pick in &data[1..3] {
        let pick = usize::from(pick);
        if let Some(text) = FAULTS.get(pick) {
            state.set(text.parse().expect("the list's faults parse"));
        } else if pick == 255 {
            let delay = Duration::from_secs(u64_at(data, 4));
            let jitter = Duration::from_secs(u64_at(data, 12)).min(delay);
            let mut spec = FaultSpec::new(Fault::Latency { delay, jitter });
            if data[20] != 255 {
                spec = spec.with_probability(f64::from(data[20]) / 254.0);
            }
            state.set(spec);
        }
    }
    state
}

fn request(lines: &[&[u8]], token: &str) -> Option<Request<()>> {
    let method = Method::from_bytes(lines.first()?).ok()?;
    let uri = Uri::try_from(*lines.get(1)?).ok()?;
    let mut builder = Request::builder().method(method).uri(uri);
    for line in lines.iter().skip(2) {
        let colon = line.iter().position(|&b| b == b':')?;
        let name = HeaderName::from_bytes(&line[..colon]).ok()?;
        let value = match &line[colon + 1..] {
            b"$TOKEN" => HeaderValue::from_str(token).ok()?,
            raw => HeaderValue::from_bytes(raw).ok()?,
        };
        builder = builder.header(name, value);
    }
    builder.body(()).ok()
}

/// The `imds_request` target. IMDS request handling: an arbitrary method, URI and
/// headers → `Imds::handle`, under a state of up to two faults picked from a fixed list
/// (never `blackhole`, which by design never answers) plus one `latency` with
/// fuzz-chosen delay, jitter and probability.
///
/// `runtime` must be a current-thread runtime with time enabled and a paused clock
/// (`Builder::new_current_thread().enable_time().start_paused(true)`, which needs
/// tokio's `test-util` feature, so the caller builds it), so that `latency` faults cost
/// nothing; one fresh runtime per input.
///
/// Input layout: byte 0 picks the config (IMDSv1 allowed or not, endpoint on or off,
/// role or none); bytes 1 and 2 each pick a fault (or none); byte 3 is how many times
/// the request is sent (1..=3, to reach `throttle`); bytes 4..20 are the latency fault's
/// delay and jitter in seconds (u64 little-endian each) and byte 20 its probability.
/// The rest is newline-separated: the method, the URI, then `name:value` header lines.
/// A header value `$TOKEN` is replaced by a token the mock just issued. Inputs the
/// `http` crate refuses (bad method, URI, header name or value) are skipped.
///
/// Checked: no panic; every answer has a status EC2 can send (200, 400, 401, 403, 404,
/// 405, 429, 431) or the status of an active `status(N)` fault; a closed connection only
/// under `refuse`/`drop-syn`, a reset only under `reset`; one event logged per request.
pub fn imds_request(data: &[u8], runtime: &tokio::runtime::Runtime) {
    if data.len() < 21 {
        return;
    }
    let lines: Vec<&[u8]> = data[21..].split(|&b| b == b'\n').collect();
    let state = state(data);
    let imds = imds(data[0]);
    let repeat = 1 + usize::from(data[3] % 3);
    let sent = runtime.block_on(async {
        // A token issued before the faults are set, for `$TOKEN`.
        let put = Request::put(TOKEN_PATH)
            .header(TTL_HEADER, "21600")
            .body(())
            .expect("a token request");
        let answer = imds.handle(put).await.expect("no fault is set yet");
        let token = if answer.status() == 200 {
            String::from_utf8(answer.body().bytes().to_vec()).expect("a text token")
        } else {
            String::new()
        };
        if request(&lines, &token).is_none() {
            return 0;
        }
        let status_faults: Vec<u16> = state
            .faults()
            .filter_map(|s| match s.fault {
                Fault::Status { code, .. } => Some(code),
                _ => None,
            })
            .collect();
        let closes = state.faults().any(|s| s.fault.is_socket_level());
        let resets = state.faults().any(|s| s.fault == Fault::Reset);
        imds.set(state.clone());
        for _ in 0..repeat {
            let req = request(&lines, &token).expect("built once already");
            match imds.handle(req).await {
                Ok(answer) => {
                    let status = answer.status().as_u16();
                    assert!(
                        EC2_STATUSES.contains(&status) || status_faults.contains(&status),
                        "status {status} under `{state}`"
                    );
                }
                Err(ConnectionClosed::Close) => assert!(closes, "closed under `{state}`"),
                Err(ConnectionClosed::Reset) => assert!(resets, "reset under `{state}`"),
            }
        }
        repeat
    });
    let requests = imds
        .events()
        .snapshot()
        .iter()
        .filter(|e| matches!(e.kind, EventKind::ImdsRequest { .. }))
        .count();
    assert_eq!(requests, 1 + sent, "one event per request");
}
