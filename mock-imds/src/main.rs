//! `mock-imds`: run the fake EC2 IMDS and fake STS, and switch them from a shell.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use anyhow::{bail, Context};
use bytes::Bytes;
use clap::{Parser, Subcommand};
use http_body_util::{BodyExt, Full};
use mock_imds::{HttpEndpoint, HttpTokens, ImdsConfig, ImdsState, MockImds, Schedule};
use std::io::Write as _;

use tokio::io::AsyncWriteExt;

mod load;

/// A fake EC2 Instance Metadata Service (IMDSv1/IMDSv2) and a fake STS that checks
/// SigV4 signatures against the credentials the fake IMDS issued, both of which fail on
/// command.
#[derive(Parser, Debug)]
#[command(
    version,
    about,
    after_help = "Reproduce the boto3 trap by hand:\n  terminal 1: mock-imds serve\n  terminal 2: mock-imds ctl down; python3 app.py   # (with the printed exports)\n              mock-imds ctl up"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve until Ctrl-C, printing the endpoints and the `export` lines first.
    Serve {
        /// IMDS port (0 picks a free one).
        #[arg(long, default_value_t = 1338)]
        port: u16,
        /// Fake STS port (0 picks a free one).
        #[arg(long, default_value_t = 1339)]
        sts_port: u16,
        /// Control API port (0 picks a free one).
        #[arg(long, default_value_t = 1340)]
        control_port: u16,
        /// Address to listen on. Loopback unless you name another (with a warning); the
        /// control API always listens on loopback.
        #[arg(long, default_value = "127.0.0.1")]
        host: IpAddr,
        /// Instance config (TOML): http_tokens, http_endpoint, role_name, identity, ….
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Schedule (TOML `[[schedule]]` steps) to run from start-up.
        #[arg(long, value_name = "FILE")]
        schedule: Option<PathBuf>,
        /// Initial state: `up`, or fault specs joined by `;` (e.g. `refuse`, `status(403) on token`).
        #[arg(long, default_value = "up")]
        state: ImdsState,
        /// Shortcut for `http_tokens = "required"` (IMDSv2 only).
        #[arg(long)]
        imdsv2_only: bool,
        /// Shortcut for `http_endpoint = "disabled"` (403 to everything).
        #[arg(long)]
        disabled: bool,
        /// EC2's HttpPutResponseHopLimit: IP TTL of the token answer (1..=64).
        #[arg(long, value_parser = clap::value_parser!(u8).range(1..=64))]
        hop_limit: Option<u8>,
        /// Append every event to this file as NDJSON, as it happens.
        #[arg(long, value_name = "FILE")]
        events: Option<PathBuf>,
        /// Seed for fault probabilities and jitter (default: random, printed).
        #[arg(long)]
        seed: Option<u64>,
        /// Events kept in memory for `ctl events` (older ones are dropped; --events keeps all).
        #[arg(long, default_value_t = mock_imds::events::DEFAULT_CAPACITY)]
        event_capacity: usize,
    },
    /// Load-test a running `mock-imds serve` (what `scripts/load-test` runs): hold many
    /// keep-alive connections, send a fixed number of requests over them while switching
    /// faults through the control API, then check the mock logged one event per request.
    /// Prints a JSON report; exits 1 when the accounting does not hold or the deadline hit.
    Load {
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
        toggle_every: std::time::Duration,
        /// The states cycled through, separated by `|` (each `up` or fault specs joined by `;`).
        #[arg(long, default_value = load::DEFAULT_FAULTS)]
        faults: String,
        /// Wall-clock bound on the whole run.
        #[arg(long, default_value = "600s", value_parser = humantime::parse_duration)]
        deadline: std::time::Duration,
        /// Soak mode: keep sending for this long (e.g. `30m`) instead of --requests;
        /// raise --deadline above it.
        #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
        soak: Option<std::time::Duration>,
    },
    /// Talk to a running `mock-imds serve` through its control API.
    Ctl {
        /// Control API port on loopback.
        #[arg(long, default_value_t = 1340)]
        control_port: u16,
        #[command(subcommand)]
        action: CtlAction,
    },
}

#[derive(Subcommand, Debug)]
enum CtlAction {
    /// Remove every fault.
    Up,
    /// Take IMDS down: refuse connections (`fault refuse`).
    Down,
    /// Set a fault, e.g. `blackhole`, `status(500)`, `status(403) on token`, `reset p=0.5`.
    Fault {
        /// The fault spec.
        spec: String,
    },
    /// Remove the fault on one target (listener, token, credentials, path(GLOB)), or all.
    Clear {
        /// The target; all when omitted.
        target: Option<String>,
    },
    /// Run a schedule file (TOML `[[schedule]]` steps) from now.
    Schedule {
        /// The schedule file.
        file: PathBuf,
    },
    /// Print the current state.
    State,
    /// Print the events so far as NDJSON.
    Events {
        /// Only events at or after this many milliseconds on the mock's clock.
        #[arg(long, default_value_t = 0.0)]
        since_ms: f64,
    },
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve { .. } => serve(cli.command).await,
        Command::Ctl {
            control_port,
            action,
        } => ctl(control_port, action).await,
        Command::Load {
            port,
            control_port,
            connections,
            requests,
            toggle_every,
            faults,
            deadline,
            soak,
        } => {
            let options = load::LoadOptions {
                imds: SocketAddr::from(([127, 0, 0, 1], port)),
                control: SocketAddr::from(([127, 0, 0, 1], control_port)),
                connections,
                requests,
                toggle_every: (!toggle_every.is_zero()).then_some(toggle_every),
                faults: faults.split('|').map(|f| f.trim().to_string()).collect(),
                deadline,
                soak,
            };
            match load::run(options).await {
                Ok(report) => {
                    println!(
                        "{}",
                        serde_json::to_string_pretty(&report).unwrap_or_default()
                    );
                    if report.accounting_ok && !report.deadline_hit {
                        Ok(())
                    } else {
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
                        return std::process::ExitCode::from(1);
                    }
                }
                Err(e) => Err(e),
            }
        }
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}

async fn serve(command: Command) -> anyhow::Result<()> {
    let Command::Serve {
        port,
        sts_port,
        control_port,
        host,
        config,
        schedule,
        state,
        imdsv2_only,
        disabled,
        hop_limit,
        events,
        seed,
        event_capacity,
    } = command
    else {
        unreachable!("serve called with another command")
    };
    if !host.is_loopback() {
        eprintln!("warning: listening on {host}, not loopback: anything that can reach it gets credentials");
    }
    let mut imds_config = match &config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            ImdsConfig::from_toml(&text).map_err(|e| anyhow::anyhow!("{}:{e}", path.display()))?
        }
        None => ImdsConfig::default(),
    };
    if imdsv2_only {
        imds_config.http_tokens = HttpTokens::Required;
    }
    if disabled {
        imds_config.http_endpoint = HttpEndpoint::Disabled;
    }
    if let Some(hops) = hop_limit {
        imds_config.http_put_response_hop_limit = hops;
    }
    let options = format!(
        "http_tokens: {:?}, http_endpoint: {:?}, hop limit: {}",
        imds_config.http_tokens, imds_config.http_endpoint, imds_config.http_put_response_hop_limit
    )
    .to_lowercase();
    let mut builder = MockImds::builder()
        .config(imds_config)
        .bind(SocketAddr::new(host, port))
        .sts_bind(SocketAddr::new(host, sts_port))
        .control(SocketAddr::from(([127, 0, 0, 1], control_port)))
        .initial_state(state)
        .event_capacity(event_capacity);
    if let Some(seed) = seed {
        builder = builder.seed(seed);
    }
    if let Some(path) = &schedule {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let parsed =
            Schedule::from_toml(&text).map_err(|e| anyhow::anyhow!("{}:{e}", path.display()))?;
        builder = builder.schedule(parsed);
    }
    let mut writer = None;
    if let Some(path) = &events {
        let file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .await
            .with_context(|| format!("cannot open {}", path.display()))?;
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<mock_imds::Event>();
        builder = builder.event_sink(tx);
        writer = Some(tokio::spawn(async move {
            let mut file = tokio::io::BufWriter::new(file);
            while let Some(event) = rx.recv().await {
                let mut line = serde_json::to_string(&event).unwrap_or_default();
                line.push('\n');
                if file.write_all(line.as_bytes()).await.is_err() {
                    break;
                }
                if rx.is_empty() {
                    let _ = file.flush().await;
                }
            }
            let _ = file.flush().await;
        }));
    }
    let imds = builder
        .start()
        .await
        .context("could not start mock-imds (is the port in use? pass --port 0 for a free one)")?;
    let banner = format!(
        "IMDS endpoint:    {imds_url}\nSTS endpoint:     {sts_url}\ncontrol endpoint: {control}\n\
state: {state}   seed: {seed}   {options}\n\
# point an SDK at it (and keep your real credentials out of the way):\n\
export AWS_EC2_METADATA_SERVICE_ENDPOINT={imds_url}/\n\
export AWS_ENDPOINT_URL_STS={sts_url}\n\
export AWS_DEFAULT_REGION=us-east-1 AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null\n\
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE\n",
        imds_url = imds.endpoint(),
        sts_url = imds.sts_endpoint(),
        control = imds.control_endpoint().unwrap_or_default(),
        state = imds.state(),
        seed = imds.seed(),
    );
    // Whoever started us may stop reading our output; serving goes on regardless.
    let mut stdout = std::io::stdout();
    let _ = stdout
        .write_all(banner.as_bytes())
        .and_then(|()| stdout.flush());
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    eprintln!("stopping; {} events logged", imds.events().len());
    drop(imds);
    if let Some(writer) = writer {
        let _ = writer.await;
    }
    Ok(())
}

async fn ctl(control_port: u16, action: CtlAction) -> anyhow::Result<()> {
    use serde_json::json;
    let (method, path, body) = match action {
        CtlAction::Up => ("DELETE", "/faults".to_string(), None),
        CtlAction::Down => (
            "POST",
            "/faults".to_string(),
            Some(json!({"fault": "refuse"})),
        ),
        CtlAction::Fault { spec } => (
            "POST",
            "/faults".to_string(),
            Some(json!({ "fault": spec })),
        ),
        CtlAction::Clear { target: None } => ("DELETE", "/faults".to_string(), None),
        CtlAction::Clear { target: Some(t) } => {
            let encoded: String = form_urlencoded::byte_serialize(t.as_bytes()).collect();
            ("DELETE", format!("/faults/{encoded}"), None)
        }
        CtlAction::Schedule { file } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let schedule = Schedule::from_toml(&text)
                .map_err(|e| anyhow::anyhow!("{}:{e}", file.display()))?;
            let steps: Vec<_> = schedule
                .steps()
                .iter()
                .map(|s| json!({"at": format!("{}ms", s.at.as_millis()), "state": s.change.to_string()}))
                .collect();
            (
                "POST",
                "/schedule".to_string(),
                Some(json!({ "steps": steps })),
            )
        }
        CtlAction::State => ("GET", "/state".to_string(), None),
        CtlAction::Events { since_ms } => ("GET", format!("/events?since_ms={since_ms}"), None),
    };
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<Bytes>>();
    let request = http::Request::builder()
        .method(method)
        .uri(format!("http://127.0.0.1:{control_port}{path}"))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(
            body.map(|b| b.to_string()).unwrap_or_default(),
        )))?;
    let response = client
        .request(request)
        .await
        .with_context(|| format!("cannot reach the control API on 127.0.0.1:{control_port}: is `mock-imds serve` running?"))?;
    let status = response.status();
    let bytes = response.into_body().collect().await?.to_bytes();
    let value: serde_json::Value =
        serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    if !status.is_success() {
        bail!(
            "{}",
            value["error"]
                .as_str()
                .unwrap_or(&String::from_utf8_lossy(&bytes))
        );
    }
    match value {
        serde_json::Value::Array(events) => {
            for e in events {
                println!("{e}");
            }
        }
        v if v.get("state").is_some() => println!("state: {}", v["state"].as_str().unwrap_or("?")),
        v => println!("{v}"),
    }
    Ok(())
}
