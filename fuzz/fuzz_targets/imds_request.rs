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
#![no_main]

use std::sync::Arc;
use std::time::Duration;

use http::{HeaderName, HeaderValue, Method, Request, Uri};
use libfuzzer_sys::fuzz_target;
use mock_imds::events::{EventKind, EventLog};
use mock_imds::imds_service::{ConnectionClosed, Imds, TOKEN_PATH, TTL_HEADER};
use mock_imds::{
    CredentialStore, Fault, FaultSpec, HttpEndpoint, HttpTokens, ImdsConfig, ImdsState,
};
use tokio::sync::watch;
use tokio::time::Instant;

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
    "throttle(0) on token",
];

/// Statuses EC2's IMDS answers with, apart from those a `status(N)` fault sets.
const EC2_STATUSES: &[u16] = &[200, 400, 401, 403, 404, 405, 429, 431];

fn imds(selector: u8) -> (Imds, EventLog) {
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
    // As the unit tests of `mock_imds::imds_service` build it.
    let store = config.role_name.clone().map(|role| {
        Arc::new(CredentialStore::new(
            role,
            config.credential_lifetime,
            config.rotate_before_expiry,
        ))
    });
    let (state, _) = watch::channel(Arc::new(ImdsState::up()));
    let events = EventLog::new(Instant::now());
    (Imds::new(config, store, state, events.clone(), 7), events)
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

fuzz_target!(|data: &[u8]| {
    if data.len() < 21 {
        return;
    }
    let lines: Vec<&[u8]> = data[21..].split(|&b| b == b'\n').collect();
    let state = state(data);
    let (imds, events) = imds(data[0]);
    let repeat = 1 + usize::from(data[3] % 3);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a runtime");
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
        imds.state().send_replace(Arc::new(state.clone()));
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
    let requests = events
        .snapshot()
        .iter()
        .filter(|e| matches!(e.kind, EventKind::ImdsRequest { .. }))
        .count();
    assert_eq!(requests, 1 + sent, "one event per request");
});
