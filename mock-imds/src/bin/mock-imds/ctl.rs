//! `mock-imds ctl`: a client of a running mock's control API.

use std::net::SocketAddr;
use std::path::PathBuf;

use mock_imds::{ControlClient, ControlClientError};

/// `mock-imds ctl`'s arguments.
#[derive(clap::Args, Debug)]
pub struct CtlArgs {
    /// Control API port on loopback.
    #[arg(long, default_value_t = 1340)]
    control_port: u16,
    #[command(subcommand)]
    action: CtlAction,
}

#[derive(clap::Subcommand, Debug)]
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
    /// Run a schedule file (TOML `[[schedule]]` steps and seeded `[[generate]]`
    /// generators) from now.
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

/// Runs `mock-imds ctl`, printing the state after a change (`state: …`), the schedule's
/// step count, or the events as NDJSON.
///
/// # Errors
/// When the control API cannot be reached, or answers with an error (its message).
pub async fn main(args: CtlArgs) -> anyhow::Result<()> {
    let port = args.control_port;
    let client = ControlClient::new(SocketAddr::from(([127, 0, 0, 1], port)));
    let reached = |e: ControlClientError| match e {
        ControlClientError::Connect { source, .. } => anyhow::Error::new(source).context(format!(
            "cannot reach the control API on 127.0.0.1:{port}: is `mock-imds serve` running?"
        )),
        other => other.into(),
    };
    let state = match args.action {
        CtlAction::Up | CtlAction::Clear { target: None } => client.recover().await,
        CtlAction::Down => client.inject("refuse").await,
        CtlAction::Fault { spec } => client.inject(spec).await,
        CtlAction::Clear { target: Some(t) } => client.lift(t).await,
        CtlAction::State => client.state().await,
        CtlAction::Schedule { file: path } => {
            let file = crate::read_schedule_file(&path)?;
            let schedule = file
                .expand(file.seed().unwrap_or(0))
                .map_err(|e| anyhow::anyhow!("{}:{e}", path.display()))?;
            let answer = client.run_schedule(&schedule).await.map_err(reached)?;
            crate::out::line(&serde_json::to_string(&answer)?);
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
    crate::out::line(&format!("state: {}", state.map_err(reached)?.state));
    Ok(())
}
