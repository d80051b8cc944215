//! `mock-imds serve`: serve until Ctrl-C, printing the endpoints and the lines that
//! point an SDK at them.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use anyhow::Context;
use mock_imds::{HttpEndpoint, HttpTokens, ImdsConfig, ImdsState, MockImds};
use tokio::io::AsyncWriteExt;

/// How often `serve` looks at its `--config` file for a change.
const CONFIG_POLL: std::time::Duration = std::time::Duration::from_millis(250);

/// `mock-imds serve`'s arguments.
#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// IMDS port (0 picks a free one).
    #[arg(long, default_value_t = 1338)]
    port: u16,
    /// Fake STS port (0 picks a free one).
    #[arg(long, default_value_t = 1339)]
    sts_port: u16,
    /// Control API port (0 picks a free one; the banner prints the `ctl` command and
    /// `MOCK_IMDS_CONTROL` for it).
    #[arg(long, default_value_t = crate::ctl::DEFAULT_CONTROL_PORT)]
    control_port: u16,
    /// Address to listen on. Loopback unless you name another (with a warning); the
    /// control API always listens on loopback.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// Instance config: TOML (http_tokens, http_endpoint, role_name, identity, tags,
    /// paths, …), or an AEMM JSON config (`*.json`). Watched while serving: a change is
    /// served from the next request on; one that does not read is reported and the
    /// old config kept.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Schedule (TOML `[[schedule]]` steps and seeded `[[generate]]` generators) to run
    /// from start-up.
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
    /// Seed for fault probabilities and jitter, and for the schedule file's generators
    /// (default: the schedule file's `seed`, else random for the faults and 0 for the
    /// generators; printed).
    #[arg(long)]
    seed: Option<u64>,
    /// Events kept in memory for `ctl events` (older ones are dropped; --events keeps all).
    #[arg(long, default_value_t = mock_imds::events::DEFAULT_CAPACITY)]
    event_capacity: usize,
    /// How to print the endpoints once serving: `text` (the banner with its `export`
    /// lines) or `json` (one line for programs that start `serve`, such as the Python and
    /// Node clients: `{"imds", "sts", "control", "seed", "state", "env": {NAME: VALUE},
    /// "unset": [NAME]}`).
    #[arg(long, value_enum, default_value_t = PrintEndpoints::Text)]
    print_endpoints: PrintEndpoints,
    /// Stop when standard input reaches its end, as well as on Ctrl-C: a program that
    /// starts `serve` with a pipe for stdin stops it by closing the pipe, or by dying.
    #[arg(long)]
    stop_on_stdin_eof: bool,
    /// Also serve the container credentials endpoints (the ECS agent's
    /// `/v2/credentials/<id>` and the EKS Pod Identity agent's `/v1/credentials`) on this
    /// port (0 picks a free one); the banner prints the variables for `--container-surface`.
    #[arg(long)]
    container_port: Option<u16>,
    /// Which container provider the banner's `export` line points an SDK at.
    #[arg(long, value_enum, default_value_t = Surface::PodIdentity, requires = "container_port")]
    container_surface: Surface,
    /// Lifetime of each Pod Identity service-account token (its `exp` after `iat`),
    /// e.g. `24h`, `2m`.
    #[arg(long, default_value = "24h", value_parser = mock_imds::parse_bounded_duration, requires = "container_port")]
    token_lifetime: std::time::Duration,
}

/// `--container-surface`.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum Surface {
    /// EKS Pod Identity: `FULL_URI` `…/v1/credentials` and the service-account token file.
    PodIdentity,
    /// ECS: `FULL_URI` and `AWS_CONTAINER_AUTHORIZATION_TOKEN`.
    EcsToken,
    /// ECS: `FULL_URI` and `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`.
    EcsTokenFile,
}

impl From<Surface> for mock_imds::ContainerSurface {
    fn from(s: Surface) -> Self {
        match s {
            Surface::PodIdentity => Self::PodIdentity,
            Surface::EcsToken => Self::EcsToken,
            Surface::EcsTokenFile => Self::EcsTokenFile,
        }
    }
}

/// `--print-endpoints`: the banner for people, or one JSON line for programs.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum PrintEndpoints {
    /// The human-readable banner.
    Text,
    /// One JSON object on one line.
    Json,
}

impl ServeArgs {
    /// The instance config: the `--config` file (or the defaults) and the shortcuts.
    fn imds_config(&self) -> anyhow::Result<ImdsConfig> {
        let mut config = match &self.config {
            Some(path) => {
                let (config, warnings) =
                    mock_imds::read_config_file(path).map_err(anyhow::Error::msg)?;
                for w in warnings {
                    eprintln!("warning: {}: {w}", path.display());
                }
                config
            }
            None => ImdsConfig::default(),
        };
        self.shortcuts()(&mut config);
        Ok(config)
    }

    /// The command line's shortcuts over a config (applied to every reload too).
    fn shortcuts(&self) -> impl Fn(&mut ImdsConfig) + Send + Sync + 'static {
        let (imdsv2_only, disabled, hops) = (self.imdsv2_only, self.disabled, self.hop_limit);
        move |config: &mut ImdsConfig| {
            if imdsv2_only {
                config.http_tokens = HttpTokens::Required;
            }
            if disabled {
                config.http_endpoint = HttpEndpoint::Disabled;
            }
            if let Some(hops) = hops {
                config.http_put_response_hop_limit = hops;
            }
        }
    }
}

/// A task appending every event it receives to `path` as NDJSON.
async fn event_writer(
    path: &std::path::Path,
) -> anyhow::Result<(
    tokio::sync::mpsc::UnboundedSender<mock_imds::Event>,
    tokio::task::JoinHandle<()>,
)> {
    let file = tokio::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .await
        .with_context(|| format!("cannot open {}", path.display()))?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<mock_imds::Event>();
    let writer = tokio::spawn(async move {
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
    });
    Ok((tx, writer))
}

/// The banner: endpoints, state, seed, options, and the lines that point an SDK here.
fn banner(imds: &MockImds, options: &str, surface: Surface) -> String {
    let env = imds.sdk_env();
    let (endpoints, settings) = env.set.split_at(2);
    let mut out = format!(
        "IMDS endpoint:    {}\nSTS endpoint:     {}\ncontrol endpoint: {}\nstate: {}   seed: {}   {options}\n\
# point an SDK at it (and keep your real credentials out of the way):\n",
        imds.endpoint(),
        imds.sts_endpoint(),
        imds.control_endpoint().unwrap_or_default(),
        imds.state(),
        imds.seed(),
    );
    for (name, value) in endpoints {
        out.push_str(&format!("export {name}={value}\n"));
    }
    let settings: Vec<String> = settings.iter().map(|(n, v)| format!("{n}={v}")).collect();
    out.push_str(&format!("export {}\n", settings.join(" ")));
    out.push_str(&format!("unset {}\n", env.unset.join(" ")));
    if let (Some(c), Some(vars)) = (
        imds.container_endpoints(),
        imds.container_env(surface.into()),
    ) {
        out.push_str(&format!(
            "container endpoint: {}  (ECS: {}  Pod Identity: {}, token file {})\n# or take credentials from the container endpoint instead of IMDS:\n",
            c.base,
            c.ecs_full_uri,
            c.pod_identity_uri,
            c.pod_identity_token_file.display()
        ));
        let vars: Vec<String> = vars.iter().map(|(n, v)| format!("{n}={v}")).collect();
        out.push_str(&format!("export {}\n", vars.join(" ")));
    }
    if let Some(control) = imds.control_endpoint() {
        let port = control.rsplit(':').next().unwrap_or_default();
        out.push_str(&format!(
            "# switch it from another shell: mock-imds ctl --control-port {port} down|up|state|…, or\nexport {}={control}\n",
            crate::ctl::CONTROL_ENV
        ));
    }
    out
}

/// The endpoints as one JSON line (`--print-endpoints json`), newline-terminated.
fn endpoints_json(imds: &MockImds, surface: Surface) -> String {
    let env = imds.sdk_env();
    let set: serde_json::Map<String, serde_json::Value> = env
        .set
        .iter()
        .map(|(name, value)| ((*name).to_string(), value.clone().into()))
        .collect();
    let line = serde_json::json!({
        "imds": imds.endpoint(),
        "sts": imds.sts_endpoint(),
        "control": imds.control_endpoint(),
        "seed": imds.seed(),
        "state": imds.state().to_string(),
        "env": set,
        "unset": env.unset,
        "container": imds.container_endpoints().map(|c| serde_json::json!({
            "base": c.base,
            "ecs_full_uri": c.ecs_full_uri,
            "ecs_token": c.ecs_token,
            "ecs_token_file": c.ecs_token_file,
            "pod_identity_uri": c.pod_identity_uri,
            "pod_identity_token_file": c.pod_identity_token_file,
            "env": imds.container_env(surface.into()).map(|vars| vars
                .into_iter()
                .map(|(n, v)| (n.to_string(), serde_json::Value::from(v)))
                .collect::<serde_json::Map<_, _>>()),
        })),
    });
    format!("{line}\n")
}

/// Resolves once standard input reaches its end (or fails) when `watch`, else never. A
/// plain thread reads it: a pending read on tokio's stdin would hold up the runtime's
/// shutdown after Ctrl-C.
fn stdin_eof(watch: bool) -> tokio::sync::oneshot::Receiver<()> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    if watch {
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
            let _ = tx.send(());
        });
    } else {
        // Never sent: the sender lives as long as the process.
        std::mem::forget(tx);
    }
    rx
}

/// Runs `mock-imds serve` until Ctrl-C.
///
/// # Errors
/// A config or schedule file that cannot be read, a port that cannot be bound.
pub async fn main(args: ServeArgs) -> anyhow::Result<()> {
    if !args.host.is_loopback() {
        eprintln!(
            "warning: listening on {}, not loopback: anything that can reach it gets credentials",
            args.host
        );
    }
    let imds_config = args.imds_config()?;
    let options = format!(
        "http_tokens: {:?}, http_endpoint: {:?}, hop limit: {}",
        imds_config.http_tokens, imds_config.http_endpoint, imds_config.http_put_response_hop_limit
    )
    .to_lowercase();
    let mut builder = MockImds::builder()
        .config(imds_config)
        .bind(SocketAddr::new(args.host, args.port))
        .sts_bind(SocketAddr::new(args.host, args.sts_port))
        .control(SocketAddr::from(([127, 0, 0, 1], args.control_port)))
        .initial_state(args.state.clone())
        .event_capacity(args.event_capacity);
    if let Some(port) = args.container_port {
        builder = builder.container(mock_imds::ContainerConfig {
            bind: SocketAddr::new(args.host, port),
            token_lifetime: args.token_lifetime,
            ..mock_imds::ContainerConfig::default()
        });
    }
    let mut seed = args.seed;
    if let Some(path) = &args.schedule {
        let file = crate::read_schedule_file(path)?;
        seed = seed.or(file.seed());
        let schedule = file
            .expand(seed.unwrap_or(0))
            .map_err(|e| anyhow::anyhow!("{}:{e}", path.display()))?;
        builder = builder.schedule(schedule);
    }
    if let Some(seed) = seed {
        builder = builder.seed(seed);
    }
    let mut writer = None;
    if let Some(path) = &args.events {
        let (sink, task) = event_writer(path).await?;
        builder = builder.event_sink(sink);
        writer = Some(task);
    }
    let imds = builder
        .start()
        .await
        .context("could not start mock-imds (is the port in use? pass --port 0 for a free one)")?;
    // Watching starts before the endpoints are printed: a change made by whoever reads
    // them is a change.
    let _watch = args.config.clone().map(|path| {
        let shown = path.display().to_string();
        imds.watch_config(
            path,
            CONFIG_POLL,
            args.shortcuts(),
            move |outcome| match outcome {
                Ok(warnings) => {
                    eprintln!("{shown}: reloaded");
                    for w in warnings {
                        eprintln!("warning: {shown}: {w}");
                    }
                }
                Err(why) => eprintln!("error: {why}; the config in force stays"),
            },
        )
    });
    // Whoever started us may stop reading our output; serving goes on regardless.
    let printed = match args.print_endpoints {
        PrintEndpoints::Text => banner(&imds, &options, args.container_surface),
        PrintEndpoints::Json => endpoints_json(&imds, args.container_surface),
    };
    crate::out::print(&printed);
    let stdin_closed = stdin_eof(args.stop_on_stdin_eof);
    tokio::select! {
        signal = tokio::signal::ctrl_c() => signal.context("waiting for Ctrl-C")?,
        _ = stdin_closed => {}
    }
    eprintln!("stopping; {} events logged", imds.events().len());
    drop(imds);
    if let Some(writer) = writer {
        let _ = writer.await;
    }
    Ok(())
}
