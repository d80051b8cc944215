//! `mock-imds load`: a bounded load generator for a running `mock-imds serve` (part of the
//! binary, not the library; `scripts/load-test` drives it).
//!
//! Opens many keep-alive connections at once, then sends a fixed number of requests over
//! them (one at a time per connection), while a task switches the mock's faults through
//! the control API at a fixed interval. At the end it closes every connection, clears the
//! faults, counts the IMDS request events the mock logged (`GET /events`) and compares
//! them with what it saw: every request it wrote was either answered (a response head
//! arrived) or dropped (the connection failed first), and each of those reached the
//! mock's handler exactly once, so `events == answered + dropped`. That equality holds
//! for faults met inside the handler (`status`, `reset`, `latency`, `truncate`,
//! `throttle`, …); socket-level faults (`refuse`, `drop-syn`) can close a connection with
//! a request still unread in it, so with those only `events <= answered + dropped` holds.
//!
//! Everything is bounded: the request count, the connection count (and what the file
//! descriptor limit allows), and a wall-clock deadline after which it stops and fails.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use mock_imds::ControlClient;
use serde::Serialize;
use tokio::net::TcpStream;

/// The default fault cycle: handler-level faults only, with `up` between them.
const DEFAULT_FAULTS: &str = "status(500)|up|reset p=0.01|up|latency(2ms, 1ms) p=0.1|up|truncate on credentials p=0.05|up|throttle(20000)|up|status(503) on token|up";

/// `mock-imds load`'s arguments.
#[derive(clap::Args, Debug)]
pub struct LoadArgs {
    /// IMDS port on loopback.
    #[arg(long)]
    port: u16,
    /// Control API port on loopback.
    #[arg(long)]
    control_port: u16,
    /// Keep-alive connections to hold open at once (fewer if the descriptor limit says so).
    #[arg(long, default_value_t = 1000)]
    connections: usize,
    /// Requests to send in total.
    #[arg(long, default_value_t = 100_000)]
    requests: u64,
    /// How often to switch the faults, e.g. `10ms`; `0s` never switches.
    #[arg(long, default_value = "10ms", value_parser = humantime::parse_duration)]
    toggle_every: Duration,
    /// The states cycled through, separated by `|` (each `up` or fault specs joined by `;`).
    #[arg(long, default_value = DEFAULT_FAULTS)]
    faults: String,
    /// Wall-clock bound on the whole run.
    #[arg(long, default_value = "600s", value_parser = humantime::parse_duration)]
    deadline: Duration,
    /// Soak mode: keep sending for this long (e.g. `30m`) instead of --requests;
    /// raise --deadline above it.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    soak: Option<Duration>,
}

impl LoadArgs {
    fn options(self) -> LoadOptions {
        LoadOptions {
            imds: SocketAddr::from(([127, 0, 0, 1], self.port)),
            control: SocketAddr::from(([127, 0, 0, 1], self.control_port)),
            connections: self.connections,
            requests: self.requests,
            toggle_every: (!self.toggle_every.is_zero()).then_some(self.toggle_every),
            faults: self
                .faults
                .split('|')
                .map(|f| f.trim().to_string())
                .collect(),
            deadline: self.deadline,
            soak: self.soak,
        }
    }
}

/// Runs `mock-imds load`: prints the JSON report; [`ExitCode`](std::process::ExitCode)
/// 1 when the accounting does not hold or the deadline hit.
///
/// # Errors
/// When the control API cannot be reached or a fault state is refused.
pub async fn main(args: LoadArgs) -> anyhow::Result<std::process::ExitCode> {
    let report = run(args.options()).await?;
    crate::out::line(&serde_json::to_string_pretty(&report).unwrap_or_default());
    if report.accounting_ok && !report.deadline_hit {
        return Ok(std::process::ExitCode::SUCCESS);
    }
    eprintln!(
        "load: {} (events {}, answered {} + dropped {})",
        if report.deadline_hit {
            "the deadline stopped the run"
        } else {
            "the event count does not match the requests"
        },
        report.imds_request_events,
        report.answered,
        report.dropped
    );
    Ok(std::process::ExitCode::from(1))
}

/// What to do.
#[derive(Debug, Clone)]
struct LoadOptions {
    /// The IMDS address (loopback).
    pub imds: SocketAddr,
    /// The control API address (loopback).
    pub control: SocketAddr,
    /// Keep-alive connections to hold open at once.
    pub connections: usize,
    /// Requests to send in total.
    pub requests: u64,
    /// How often the faults change (wall-clock); `None`: never.
    pub toggle_every: Option<Duration>,
    /// The fault states cycled through, in control API syntax (`up`, `status(500)`, …).
    pub faults: Vec<String>,
    /// Wall-clock bound on the whole run.
    pub deadline: Duration,
    /// Soak mode: send requests for this long instead of a fixed number (`requests` is
    /// then ignored and reaching the end is not a deadline hit).
    pub soak: Option<Duration>,
}

/// What happened (printed as JSON).
#[derive(Debug, Default, Serialize)]
struct LoadReport {
    /// Connections asked for.
    pub connections_wanted: usize,
    /// Connections that were open at the same time before the requests started.
    pub connections_opened: usize,
    /// Why fewer were opened, if they were (e.g. the file descriptor limit).
    pub connection_limit: Option<String>,
    /// Requests asked for.
    pub requests_wanted: u64,
    /// Requests written to a connection.
    pub sent: u64,
    /// Requests whose response head arrived.
    pub answered: u64,
    /// Requests whose connection failed before a response head arrived.
    pub dropped: u64,
    /// Answered requests whose body then failed (e.g. `truncate`).
    pub body_errors: u64,
    /// Requests hyper handed back unsent (connection already closed); sent again.
    pub resent: u64,
    /// New connections opened after a failure.
    pub reconnects: u64,
    /// Answers by status code.
    pub statuses: BTreeMap<u16, u64>,
    /// Dropped requests by the client's error, and failed reconnects by their error.
    pub errors: BTreeMap<String, u64>,
    /// Fault changes made through the control API.
    pub fault_changes: u64,
    /// Fault changes that failed.
    pub fault_change_errors: u64,
    /// Mean time between fault changes, in milliseconds (wall-clock).
    pub mean_fault_change_interval_ms: f64,
    /// IMDS request events the mock logged.
    pub imds_request_events: u64,
    /// Whether `imds_request_events` must equal `answered + dropped` (no socket-level
    /// faults in the cycle) or only not exceed it.
    pub exact_accounting: bool,
    /// Whether the accounting check held.
    pub accounting_ok: bool,
    /// Wall-clock seconds for the requests.
    pub seconds: f64,
    /// Requests per second.
    pub requests_per_second: f64,
    /// Whether the deadline stopped the run early.
    pub deadline_hit: bool,
}

#[derive(Default)]
struct Counters {
    sent: AtomicU64,
    answered: AtomicU64,
    dropped: AtomicU64,
    body_errors: AtomicU64,
    resent: AtomicU64,
    reconnects: AtomicU64,
    statuses: Mutex<BTreeMap<u16, u64>>,
    errors: Mutex<BTreeMap<String, u64>>,
}

impl Counters {
    fn error(&self, what: &str, error: &dyn std::fmt::Display) {
        *self
            .errors
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(format!("{what}: {error}"))
            .or_default() += 1;
    }
}

type Sender = SendRequest<Empty<Bytes>>;

async fn connect(addr: SocketAddr) -> std::io::Result<Sender> {
    let stream = TcpStream::connect(addr).await?;
    let _ = stream.set_nodelay(true);
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(std::io::Error::other)?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(sender)
}

fn request(n: u64) -> http::Request<Empty<Bytes>> {
    // Mostly metadata and credentials GETs, and a token PUT now and then (short TTL, so
    // the token store stays small).
    let builder = http::Request::builder().header(http::header::HOST, "169.254.169.254");
    let builder = match n % 8 {
        0 => builder
            .method("PUT")
            .uri("/latest/api/token")
            .header("x-aws-ec2-metadata-token-ttl-seconds", "1"),
        1 | 2 => builder
            .method("GET")
            .uri("/latest/meta-data/iam/security-credentials/mock-imds-role"),
        _ => builder.method("GET").uri("/latest/meta-data/instance-id"),
    };
    builder
        .body(Empty::new())
        .unwrap_or_else(|_| http::Request::new(Empty::new()))
}

async fn worker(
    addr: SocketAddr,
    mut sender: Option<Sender>,
    next: Arc<AtomicU64>,
    total: u64,
    stop_at: Instant,
    counters: Arc<Counters>,
) {
    loop {
        let n = next.fetch_add(1, Ordering::Relaxed);
        if n >= total || Instant::now() >= stop_at {
            return;
        }
        let mut req = request(n);
        loop {
            if Instant::now() >= stop_at {
                return;
            }
            let mut s = match sender.take() {
                Some(s) if !s.is_closed() => s,
                _ => match connect(addr).await {
                    Ok(s) => {
                        counters.reconnects.fetch_add(1, Ordering::Relaxed);
                        s
                    }
                    Err(e) => {
                        counters.error("reconnect", &e);
                        // Refused or out of descriptors: back off briefly and retry.
                        tokio::time::sleep(Duration::from_millis(2)).await;
                        continue;
                    }
                },
            };
            if s.ready().await.is_err() {
                continue; // closed: reconnect
            }
            match s.try_send_request(req).await {
                Ok(response) => {
                    counters.sent.fetch_add(1, Ordering::Relaxed);
                    counters.answered.fetch_add(1, Ordering::Relaxed);
                    *counters
                        .statuses
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .entry(response.status().as_u16())
                        .or_default() += 1;
                    if response.into_body().collect().await.is_ok() {
                        sender = Some(s);
                    } else {
                        counters.body_errors.fetch_add(1, Ordering::Relaxed);
                    }
                    break;
                }
                Err(mut e) => match e.take_message() {
                    Some(unsent) => {
                        counters.resent.fetch_add(1, Ordering::Relaxed);
                        req = unsent;
                    }
                    None => {
                        counters.error("dropped", e.error());
                        counters.sent.fetch_add(1, Ordering::Relaxed);
                        counters.dropped.fetch_add(1, Ordering::Relaxed);
                        break;
                    }
                },
            }
        }
    }
}

/// Socket-level faults can drop requests before the handler sees them.
fn has_socket_fault(states: &[String]) -> bool {
    states
        .iter()
        .any(|s| s.contains("refuse") || s.contains("drop-syn"))
}

/// Runs the load and returns the report (the caller decides the exit status).
///
/// # Errors
/// When the control API cannot be reached or a fault state is refused.
async fn run(options: LoadOptions) -> anyhow::Result<LoadReport> {
    for state in &options.faults {
        if state.contains("blackhole") {
            bail!("`blackhole` never answers: this load generator has no request timeout");
        }
    }
    let mut report = LoadReport {
        connections_wanted: options.connections,
        requests_wanted: options.requests,
        exact_accounting: !has_socket_fault(&options.faults),
        ..LoadReport::default()
    };
    let stop_at = Instant::now() + options.deadline;

    // Phase 1: open the connections, at most 256 handshakes at a time.
    let mut senders = Vec::with_capacity(options.connections);
    let mut pending = tokio::task::JoinSet::new();
    let mut asked = 0;
    while senders.len() < options.connections && Instant::now() < stop_at {
        while asked < options.connections && pending.len() < 256 {
            pending.spawn(connect(options.imds));
            asked += 1;
        }
        let Some(joined) = pending.join_next().await else {
            break;
        };
        match joined {
            Ok(Ok(sender)) => senders.push(sender),
            Ok(Err(e)) => {
                if report.connection_limit.is_none() {
                    report.connection_limit = Some(e.to_string());
                }
                // Stop asking for more; let the ones in flight finish.
                asked = options.connections;
            }
            Err(e) => bail!("a connect task failed: {e}"),
        }
        if asked >= options.connections && pending.is_empty() {
            break;
        }
    }
    report.connections_opened = senders.len();
    if senders.is_empty() {
        bail!(
            "could not open a single connection to {}: {:?}",
            options.imds,
            report.connection_limit
        );
    }

    // Phase 2: the requests, while the faults change: a fixed number, or for the soak
    // duration.
    let started = Instant::now();
    let (total, stop_at) = match options.soak {
        Some(soak) => (u64::MAX, stop_at.min(started + soak)),
        None => (options.requests, stop_at),
    };
    let counters = Arc::new(Counters::default());
    let next = Arc::new(AtomicU64::new(0));
    let mut workers = tokio::task::JoinSet::new();
    for sender in senders {
        workers.spawn(worker(
            options.imds,
            Some(sender),
            next.clone(),
            total,
            stop_at,
            counters.clone(),
        ));
    }
    // The fault switcher runs on its own thread and runtime, over one kept-alive control
    // connection, so the 10,000 workers do not delay its ticks.
    let stop_toggling = tokio_util::sync::CancellationToken::new();
    let toggler = options.toggle_every.map(|every| {
        let control = options.control;
        let faults = options.faults.clone();
        let stop = stop_toggling.clone();
        std::thread::spawn(move || -> (u64, u64) {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return (0, 1);
            };
            runtime.block_on(async move {
                let mut ticks = tokio::time::interval(every);
                ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                let (mut changes, mut errors) = (0u64, 0u64);
                let client = ControlClient::new(control);
                for state in faults.iter().cycle() {
                    tokio::select! {
                        biased;
                        _ = ticks.tick() => {}
                        () = stop.cancelled() => break,
                    }
                    match client.set_state(state).await {
                        Ok(_) => changes += 1,
                        Err(_) => errors += 1,
                    }
                }
                (changes, errors)
            })
        })
    });
    while let Some(joined) = workers.join_next().await {
        if let Err(e) = joined {
            bail!("a load worker failed: {e}");
        }
    }
    report.seconds = started.elapsed().as_secs_f64();
    stop_toggling.cancel();
    if let Some(toggler) = toggler {
        let (changes, errors) = toggler
            .join()
            .map_err(|_| anyhow::anyhow!("the fault switcher panicked"))?;
        report.fault_changes = changes;
        report.fault_change_errors = errors;
        report.mean_fault_change_interval_ms = report.seconds * 1000.0 / (changes.max(1) as f64);
    }
    let control = ControlClient::new(options.control);
    control.set_state("up").await.context("PUT /state \"up\"")?;

    report.sent = counters.sent.load(Ordering::Relaxed);
    report.answered = counters.answered.load(Ordering::Relaxed);
    report.dropped = counters.dropped.load(Ordering::Relaxed);
    report.body_errors = counters.body_errors.load(Ordering::Relaxed);
    report.resent = counters.resent.load(Ordering::Relaxed);
    report.reconnects = counters.reconnects.load(Ordering::Relaxed);
    report.statuses = counters
        .statuses
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    report.errors = counters
        .errors
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    report.deadline_hit = options.soak.is_none() && report.sent < options.requests;
    report.requests_per_second = report.sent as f64 / report.seconds.max(f64::EPSILON);

    // Every connection of ours is closed (the workers own them and have ended), so no
    // request of ours is still in the mock's hands: count its events.
    // The counters of GET /state include events the bounded log has dropped from memory
    // (a soak run records more than it keeps) and cost nothing to fetch.
    let state = control.state().await.context("GET /state")?;
    report.imds_request_events = state.imds_requests_recorded;
    let seen = report.answered + report.dropped;
    report.accounting_ok = if report.exact_accounting {
        report.imds_request_events == seen
    } else {
        report.imds_request_events <= seen
    };
    Ok(report)
}
