//! `mock-imds`: run the fake EC2 IMDS and fake STS from the command line.

use std::net::SocketAddr;

use anyhow::Context;
use clap::{Parser, Subcommand};
use mock_imds::{HttpEndpoint, HttpTokens, ImdsConfig, ImdsState, MockImds};

/// A fake EC2 Instance Metadata Service (IMDSv1/IMDSv2) and a fake STS that checks
/// SigV4 signatures against the credentials the fake IMDS issued.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve until Ctrl-C, printing the endpoints first.
    ///
    /// Example: `mock-imds serve --state refuse`, then point an SDK at it with
    /// AWS_EC2_METADATA_SERVICE_ENDPOINT=<printed IMDS endpoint>.
    Serve {
        /// IMDS listen address. Loopback unless you name another address.
        #[arg(long, default_value = "127.0.0.1:0")]
        bind: SocketAddr,
        /// Fake STS listen address.
        #[arg(long, default_value = "127.0.0.1:0")]
        sts_bind: SocketAddr,
        /// Initial state: up, refuse, blackhole, status(N) or status(N, "body").
        #[arg(long, default_value = "up")]
        state: ImdsState,
        /// EC2 HttpTokens: optional (IMDSv1 allowed) or required (IMDSv2 only).
        #[arg(long, value_enum, default_value = "optional")]
        http_tokens: TokensArg,
        /// Answer 403 to everything, like EC2's HttpEndpoint=disabled.
        #[arg(long)]
        disabled: bool,
        /// Instance profile role name.
        #[arg(long, default_value = "mock-imds-role")]
        role: String,
    },
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum TokensArg {
    Optional,
    Required,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let Cli { command } = Cli::parse();
    match command {
        Command::Serve {
            bind,
            sts_bind,
            state,
            http_tokens,
            disabled,
            role,
        } => {
            for addr in [bind, sts_bind] {
                if !addr.ip().is_loopback() {
                    eprintln!("warning: listening on non-loopback address {addr}: anything that can reach it gets credentials");
                }
            }
            let config = ImdsConfig {
                http_tokens: match http_tokens {
                    TokensArg::Optional => HttpTokens::Optional,
                    TokensArg::Required => HttpTokens::Required,
                },
                http_endpoint: if disabled {
                    HttpEndpoint::Disabled
                } else {
                    HttpEndpoint::Enabled
                },
                role_name: Some(role),
                ..ImdsConfig::default()
            };
            let imds = MockImds::builder()
                .config(config)
                .bind(bind)
                .sts_bind(sts_bind)
                .initial_state(state.clone())
                .start()
                .await
                .context("could not start mock-imds")?;
            println!("IMDS endpoint: {}", imds.endpoint());
            println!("STS endpoint:  {}", imds.sts_endpoint());
            println!("state: {state}");
            println!(
                "try: AWS_EC2_METADATA_SERVICE_ENDPOINT={} AWS_ENDPOINT_URL_STS={} aws sts get-caller-identity",
                imds.endpoint(),
                imds.sts_endpoint()
            );
            tokio::signal::ctrl_c()
                .await
                .context("waiting for Ctrl-C")?;
            let events = imds.events();
            eprintln!("stopping; {} events logged", events.len());
            Ok(())
        }
    }
}
