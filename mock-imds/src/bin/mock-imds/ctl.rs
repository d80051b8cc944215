//! `mock-imds ctl`: a client of a running mock's control API. One subcommand enum
//! ([`CtlAction`]), one arm each in [`main`]; the control API's address is a global
//! option (`--control-port`, before or after the subcommand) or `MOCK_IMDS_CONTROL`.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;

use mock_imds::control::wire::StateAnswer;
use mock_imds::{ControlClient, ControlClientError};

/// The environment variable `ctl` reads the control API's URL from
/// (`http://127.0.0.1:PORT`, as `mock-imds serve` prints it).
pub const CONTROL_ENV: &str = "MOCK_IMDS_CONTROL";

/// The control port `serve` and `ctl` use when none is given.
pub const DEFAULT_CONTROL_PORT: u16 = 1340;

/// `mock-imds ctl`'s arguments.
#[derive(clap::Args, Debug)]
pub struct CtlArgs {
    /// Control API port on loopback (default: from $MOCK_IMDS_CONTROL, else 1340).
    #[arg(long, global = true)]
    control_port: Option<u16>,
    /// Control API URL, e.g. `http://127.0.0.1:41234`, as `serve` prints it.
    #[arg(long, global = true, env = CONTROL_ENV, value_name = "URL")]
    control: Option<String>,
    #[command(subcommand)]
    action: CtlAction,
}

#[derive(clap::Subcommand, Debug)]
enum CtlAction {
    /// Stop a running schedule and remove every fault: up, and it stays up.
    Up,
    /// Take IMDS down: refuse connections (`fault refuse`).
    Down,
    /// Set a fault, e.g. `blackhole`, `status(500)`, `status(403) on token`, `reset p=0.5`.
    Fault {
        /// The fault spec.
        spec: String,
    },
    /// Remove the fault on one target (listener, token, credentials, path(GLOB), container), or all;
    /// a running schedule goes on (see `stop`, `up`).
    Clear {
        /// The target; all when omitted.
        target: Option<String>,
    },
    /// Run a schedule file (TOML `[[schedule]]` steps and seeded `[[generate]]`
    /// generators) from now, replacing a running one.
    Schedule {
        /// The schedule file.
        file: PathBuf,
        /// Print the control API's answer as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Stop the running schedule; the faults in force stay.
    Stop,
    /// Stop the running schedule and remove every fault (as `up`).
    Reset,
    /// Print the current state.
    State,
    /// Print the mock's virtual wall clock, or jump it by a signed duration
    /// (`ctl clock +5h52m`, `ctl clock -- -10m`).
    Clock {
        /// How far to jump, signed (`+5h52m`, `-10m`); omitted: only print the clock.
        #[arg(allow_hyphen_values = true)]
        by: Option<String>,
    },
    /// Replace the role credentials now (the old set stays valid until it expires).
    Rotate,
    /// Print what the token answer's `X-aws-ec2-metadata-token-ttl-seconds` header says,
    /// or set it: `echo` (the TTL granted, as EC2), `absent`, or a number of seconds.
    TokenTtlHeader {
        /// `echo`, `absent` or seconds; omitted: only print it.
        mode: Option<String>,
    },
    /// Post a notice on the virtual clock: `spot-interruption(terminate, 2m)`,
    /// `rebalance`, `maintenance(system-reboot, 1h)`, `lifecycle(Terminated)`, `clear`.
    Notice {
        /// The notice (quote it for the shell).
        notice: String,
    },
    /// Write a new EKS Pod Identity service-account token over the token file, as the
    /// kubelet rotates it (the old token is accepted until its `exp`).
    RotateToken,
    /// Print the role sessions the fake STS issued on `AssumeRole`, one a line: key,
    /// assumed-role ARN, expiry and the key that signed the `AssumeRole`.
    Sessions,
    /// Print the events so far as NDJSON.
    Events {
        /// Only events at or after this many milliseconds on the mock's clock.
        #[arg(long, default_value_t = 0.0)]
        since_ms: f64,
    },
}

impl CtlArgs {
    /// The control API's address: `--control-port`, else `--control`/`$MOCK_IMDS_CONTROL`,
    /// else loopback port 1340.
    fn addr(&self) -> anyhow::Result<SocketAddr> {
        if let Some(port) = self.control_port {
            return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
        }
        match &self.control {
            Some(url) => ControlClient::for_endpoint(url)
                .map(|c| c.addr())
                .map_err(|_| {
                    anyhow::anyhow!(
                        "--control / ${CONTROL_ENV} = `{url}` is not a control URL like http://127.0.0.1:1340"
                    )
                }),
            None => Ok(SocketAddr::from(([127, 0, 0, 1], DEFAULT_CONTROL_PORT))),
        }
    }
}

/// `state: …`, and a note when a schedule is still running (its next step may change
/// the state again).
fn state_line(answer: &StateAnswer) -> String {
    let mut line = format!("state: {}", answer.state);
    if answer.schedule_running {
        line.push_str("\nnote: a schedule is running; its next steps change the state again (`mock-imds ctl stop` stops it, `ctl up` stops it and clears every fault)");
    }
    line
}

/// Runs `mock-imds ctl`, printing the state after a change (`state: …`), what a schedule
/// does, the clock (`now: … (offset N ms)`), the rotated key, or the events as NDJSON.
///
/// # Errors
/// When the control API cannot be reached, is not one, or answers with an error (its
/// message).
pub async fn main(args: CtlArgs) -> anyhow::Result<()> {
    let addr = args.addr()?;
    let client = ControlClient::new(addr);
    let reached = |e: ControlClientError| {
        match e {
        ControlClientError::Connect { source, .. } => anyhow::Error::new(source).context(format!(
            "cannot reach the control API on {addr}: is `mock-imds serve` running? (its `control endpoint:` line gives the port; pass --control-port PORT or set {CONTROL_ENV})"
        )),
        other => other.into(),
    }
    };
    let text = match args.action {
        CtlAction::Up | CtlAction::Reset => {
            let before = client.state().await.map_err(reached)?;
            let answer = client.reset().await.map_err(reached)?;
            let mut text = state_line(&answer);
            if before.schedule_running {
                text.push_str("\n(the running schedule was stopped)");
            }
            text
        }
        CtlAction::Down => state_line(&client.inject("refuse").await.map_err(reached)?),
        CtlAction::Fault { spec } => state_line(&client.inject(spec).await.map_err(reached)?),
        CtlAction::Clear { target: None } => state_line(&client.recover().await.map_err(reached)?),
        CtlAction::Clear { target: Some(t) } => state_line(&client.lift(t).await.map_err(reached)?),
        CtlAction::State => state_line(&client.state().await.map_err(reached)?),
        CtlAction::Stop => {
            let before = client.state().await.map_err(reached)?;
            let answer = client.stop_schedule().await.map_err(reached)?;
            format!(
                "{}\nstate: {}",
                if before.schedule_running {
                    "schedule stopped; the faults in force stay"
                } else {
                    "no schedule was running"
                },
                answer.state
            )
        }
        CtlAction::Schedule { file: path, json } => {
            let file = crate::read_schedule_file(&path)?;
            let schedule = file
                .expand(file.seed().unwrap_or(0))
                .map_err(|e| anyhow::anyhow!("{}:{e}", path.display()))?;
            let answer = client.run_schedule(&schedule).await.map_err(reached)?;
            if json {
                serde_json::to_string(&answer)?
            } else {
                let mut text = format!(
                    "running {} from now:",
                    match answer.steps {
                        1 => "1 step".to_string(),
                        n => format!("{n} steps"),
                    }
                );
                for step in schedule.steps() {
                    let _ = write!(
                        text,
                        "\n  at {}: {}",
                        humantime::format_duration(step.at),
                        step.change
                    );
                }
                text
            }
        }
        CtlAction::Clock { by } => {
            let answer = match by {
                None => client.clock().await,
                Some(by) => client.jump_clock(by).await,
            };
            let answer = answer.map_err(reached)?;
            println!("now: {} (offset {} ms)", answer.now, answer.offset_ms);
            return Ok(());
        }
        CtlAction::Sessions => {
            for s in client.sts_sessions().await.map_err(reached)? {
                println!(
                    "{} {} (expires {}, assumed by {})",
                    s.access_key_id, s.arn, s.expiration, s.source_access_key_id
                );
            }
            return Ok(());
        }
        CtlAction::Rotate => {
            let answer = client.rotate().await.map_err(reached)?;
            println!(
                "rotated: {} (expires {})",
                answer.access_key_id, answer.expiration
            );
            return Ok(());
        }
        CtlAction::TokenTtlHeader { mode } => {
            let mode = match mode {
                None => client.token_ttl_header().await,
                Some(text) => {
                    let mode: mock_imds::TokenTtlHeader =
                        text.parse().map_err(|e: String| anyhow::anyhow!(e))?;
                    client.set_token_ttl_header(mode).await
                }
            }
            .map_err(reached)?;
            format!("token_ttl_header: {mode}")
        }
        CtlAction::Notice { notice } => {
            let answer = client.post_notice(&notice).await.map_err(reached)?;
            println!("notice: {} (time {})", answer.notice, answer.time);
            return Ok(());
        }
        CtlAction::RotateToken => {
            let answer = client.rotate_token().await.map_err(reached)?;
            println!(
                "token rotated: {} (expires {})",
                answer.token_file, answer.expires_at
            );
            return Ok(());
        }
        CtlAction::Events { since_ms } => {
            for event in client.events_json(since_ms).await.map_err(reached)? {
                crate::out::line(&event.to_string());
                if crate::out::closed() {
                    break;
                }
            }
            return Ok(());
        }
    };
    crate::out::line(&text);
    Ok(())
}
