//! `imds-harness exec -- COMMAND`: any command through an IMDS outage, then what IMDS
//! and STS saw; exits with the command's status.

use std::path::PathBuf;

use harness::exec;
use harness::report;

use super::cells;
use super::error::CliError;

#[derive(clap::Args, Debug)]
pub struct ExecArgs {
    /// A fault window `FAULT START..END`, e.g. `refuse 0s..5s`; repeatable.
    #[arg(long = "schedule", value_name = "WINDOW")]
    windows: Vec<String>,
    /// A schedule file (TOML `[[schedule]]` steps, as in scenarios).
    #[arg(long, value_name = "FILE")]
    schedule_file: Option<PathBuf>,
    /// IMDSv2 only (`HttpTokens=required`).
    #[arg(long)]
    imdsv2_only: bool,
    /// Judge a termination handler: pass when the command sees the schedule's first
    /// notice (a `notice` step) within this long (`5s`); the command is stopped this
    /// long plus 1 s after the notice's step. Exit status 0 on pass, 1 otherwise.
    #[arg(long, value_name = "DURATION", value_parser = harness::scenario::parse_duration)]
    notice_within: Option<std::time::Duration>,
    /// Where the command's SDK takes credentials from: `imds` (default), or a container
    /// endpoint served beside IMDS on loopback, with the SDK's own variables set:
    /// `ecs` (`AWS_CONTAINER_CREDENTIALS_FULL_URI` + `AWS_CONTAINER_AUTHORIZATION_TOKEN`),
    /// `ecs-token-file` (… + `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`) or `pod-identity`
    /// (`…/v1/credentials` + the service-account token file the mock rotates). Faults
    /// reach it as `… on container`.
    #[arg(long, value_enum, default_value_t = Endpoint::Imds)]
    endpoint: Endpoint,
    /// A variable for the command, `NAME=VALUE` (an SDK setting such as
    /// `AWS_METADATA_SERVICE_NUM_ATTEMPTS=2` or `AWS_EC2_METADATA_DISABLED=true`, or the
    /// program's own, e.g. `PYTHONPATH=src`); repeatable. Credentials, the AWS config
    /// files, endpoints, the region and what the harness sets itself (HOME, PATH,
    /// libfaketime, proxies) are refused, saying why.
    #[arg(long = "env", value_name = "NAME=VALUE")]
    env: Vec<String>,
    /// A setting of the `[default]` profile in the command's own `~/.aws/config`,
    /// `KEY=VALUE` (`metadata_service_timeout=2`, `role_arn=…` with
    /// `credential_source=Ec2InstanceMetadata`); repeatable. Keys, source profiles, SSO,
    /// credential processes, web identity, endpoints and the region are refused.
    #[arg(long = "profile", value_name = "KEY=VALUE")]
    profile: Vec<String>,
    /// Set no region (`AWS_REGION`, `AWS_DEFAULT_REGION`): the SDK looks it up in IMDS
    /// (`placement/region` or the availability zone), so an outage meets that lookup too.
    #[arg(long)]
    region_from_imds: bool,
    /// The command and its arguments, after `--`.
    #[arg(last = true, required = true)]
    command: Vec<String>,
}

/// `--endpoint`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Endpoint {
    /// EC2 IMDS only.
    Imds,
    /// ECS, FULL_URI with the token in AWS_CONTAINER_AUTHORIZATION_TOKEN.
    Ecs,
    /// ECS, FULL_URI with AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE.
    EcsTokenFile,
    /// EKS Pod Identity.
    PodIdentity,
}

impl Endpoint {
    fn surface(self) -> Option<mock_imds::ContainerSurface> {
        match self {
            Endpoint::Imds => None,
            Endpoint::Ecs => Some(mock_imds::ContainerSurface::EcsToken),
            Endpoint::EcsTokenFile => Some(mock_imds::ContainerSurface::EcsTokenFile),
            Endpoint::PodIdentity => Some(mock_imds::ContainerSurface::PodIdentity),
        }
    }
}

/// The schedule the windows and the schedule file give: each window and the file a
/// layer ([`mock_imds::Schedule::layered`]), so a window inside another restores the
/// outer fault when it ends.
fn schedule(args: &ExecArgs) -> Result<mock_imds::Schedule, CliError> {
    let mut layers = Vec::new();
    for w in &args.windows {
        layers.push(exec::parse_window(w).map_err(CliError::setup)?);
    }
    if let Some(path) = &args.schedule_file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| CliError::Setup(format!("cannot read {}: {e}", path.display())))?;
        let file = mock_imds::Schedule::from_toml(&text)
            .map_err(|e| CliError::Input(format!("{}:{e}", path.display())))?;
        layers.push(file.steps().to_vec());
    }
    mock_imds::Schedule::layered(layers).map_err(|e| match e.layer() {
        i if i < args.windows.len() => {
            CliError::Setup(format!("--schedule `{}`: {e}", args.windows[i]))
        }
        _ => CliError::Setup(format!("--schedule-file: {e}")),
    })
}

/// Runs the command through the mocks and prints what they saw.
pub fn run(args: ExecArgs) -> Result<(), CliError> {
    let schedule = schedule(&args)?;
    let passthrough = harness::driver::passthrough::Passthrough::for_program(
        &args.env,
        &args.profile,
        args.region_from_imds,
    )
    .map_err(|e| CliError::Setup(e.to_string()))?;
    let config = mock_imds::ImdsConfig {
        http_tokens: if args.imdsv2_only {
            mock_imds::HttpTokens::Required
        } else {
            mock_imds::HttpTokens::Optional
        },
        ..mock_imds::ImdsConfig::default()
    };
    let runtime = cells::runtime()?;
    let outcome = runtime.block_on(async {
        let interrupted = cells::interrupt_listener();
        tokio::select! {
            outcome = exec::run(&args.command, schedule, config, args.notice_within, args.endpoint.surface(), &passthrough) => Some(outcome),
            _ = interrupted => None,
        }
    });
    drop(runtime);
    let ran = outcome
        .ok_or(CliError::Interrupted(None))?
        .map_err(CliError::setup)?;
    eprint!("{}", report::exec::render(&ran));
    match &ran.notice {
        Some(verdict) if verdict.passed() => Ok(()),
        Some(_) => Err(CliError::Failed),
        None => CliError::from_status(ran.code, ran.signal),
    }
}
