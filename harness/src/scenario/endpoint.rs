//! `[endpoint]` → [`EndpointSettings`]: which credentials surface the cell's SDK is
//! pointed at: EC2 IMDS (the default), the ECS agent's task-credentials endpoint, or the
//! EKS Pod Identity agent (see `mock_imds::container`).
//!
//! ```toml
//! [endpoint]
//! kind = "pod-identity"      # imds (default) | ecs | pod-identity
//! token_lifetime = "10m"     # pod-identity: each service-account token's exp after iat (default 24h)
//! # kind = "ecs"
//! # uri = "full"             # ecs: full (default; AWS_CONTAINER_CREDENTIALS_FULL_URI) | relative
//! # token = "value"          # ecs: value (default; AWS_CONTAINER_AUTHORIZATION_TOKEN) | file (…_TOKEN_FILE)
//! ```
//!
//! `uri = "relative"` cannot work on loopback: every SDK prepends `http://169.254.170.2`
//! to `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`, so it needs the link-local mode
//! (`[network] mode = "link-local"`, a network namespace the harness creates, with the
//! ECS endpoint on `169.254.170.2:80`); elsewhere it is an error here. The relative URI
//! carries no authorization token (the ECS agent checks none), so `token` does not go
//! with it.

use std::time::Duration;

use mock_imds::{ContainerConfig, ContainerSurface};
use serde::Deserialize;
use toml::Spanned;

use super::diag::At;
use super::network::NetworkMode;
use super::raw::HumanDuration;

/// `[endpoint]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEndpoint {
    #[serde(default)]
    pub kind: Kind,
    pub uri: Option<Spanned<Uri>>,
    pub token: Option<Spanned<Token>>,
    pub token_lifetime: Option<Spanned<HumanDuration>>,
}

/// `kind`.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// EC2 IMDS.
    #[default]
    Imds,
    /// The ECS agent's task-credentials endpoint.
    Ecs,
    /// The EKS Pod Identity agent.
    PodIdentity,
}

/// `uri` (ECS).
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Uri {
    /// `AWS_CONTAINER_CREDENTIALS_FULL_URI`.
    Full,
    /// `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`.
    Relative,
}

/// `token` (ECS).
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Token {
    /// `AWS_CONTAINER_AUTHORIZATION_TOKEN`.
    Value,
    /// `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`.
    File,
}

/// The surface a scenario's cells take credentials from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum EndpointSettings {
    /// EC2 IMDS (no container endpoint is served).
    #[default]
    Imds,
    /// A container endpoint, reached through these variables; Pod Identity tokens live
    /// `token_lifetime`.
    Container {
        /// Which provider variables the SDK gets.
        surface: ContainerSurface,
        /// Lifetime of each Pod Identity service-account token.
        token_lifetime: Duration,
    },
}

/// What is wrong with `[endpoint]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointProblem {
    /// `uri = "relative"` on loopback.
    #[error("`uri = \"relative\"` needs the link-local mode (`[network] mode = \"link-local\"`, as root): SDKs prepend http://169.254.170.2 to AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, which on loopback would leave the machine; use `uri = \"full\"` (a loopback FULL_URI, which every SDK accepts)")]
    RelativeOnLoopback,
    /// `token` with `uri = "relative"`.
    #[error("`token` does not go with `uri = \"relative\"`: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI carries no authorization token (the ECS agent checks none); leave `token` out, or use `uri = \"full\"`")]
    TokenWithRelative,
    /// A key that the kind does not take.
    #[error("`{key}` applies only to `kind = \"{kind}\"`")]
    NotForKind {
        /// The key.
        key: &'static str,
        /// The kind it belongs to.
        kind: &'static str,
    },
}

impl EndpointSettings {
    /// Reads `[endpoint]` (absent: IMDS) of a scenario whose cells run in `network`
    /// (`uri = "relative"` only in [`NetworkMode::LinkLocal`]).
    ///
    /// # Errors
    /// [`EndpointProblem`] at the offending key.
    pub fn read(
        raw: Option<&RawEndpoint>,
        network: NetworkMode,
    ) -> Result<Self, At<EndpointProblem>> {
        let Some(raw) = raw else {
            return Ok(Self::Imds);
        };
        let not_for = |span: std::ops::Range<usize>, key, kind| {
            At::new(span, EndpointProblem::NotForKind { key, kind })
        };
        if raw.kind != Kind::Ecs {
            if let Some(uri) = &raw.uri {
                return Err(not_for(uri.span(), "uri", "ecs"));
            }
            if let Some(token) = &raw.token {
                return Err(not_for(token.span(), "token", "ecs"));
            }
        }
        if raw.kind != Kind::PodIdentity {
            if let Some(lifetime) = &raw.token_lifetime {
                return Err(not_for(lifetime.span(), "token_lifetime", "pod-identity"));
            }
        }
        let token_lifetime = raw
            .token_lifetime
            .as_ref()
            .map_or(mock_imds::container::DEFAULT_TOKEN_LIFETIME, |d| {
                d.get_ref().0
            });
        let surface = match raw.kind {
            Kind::Imds => return Ok(Self::Imds),
            Kind::PodIdentity => ContainerSurface::PodIdentity,
            Kind::Ecs => {
                if let Some(uri) = raw.uri.as_ref().filter(|u| *u.get_ref() == Uri::Relative) {
                    if network != NetworkMode::LinkLocal {
                        return Err(At::new(uri.span(), EndpointProblem::RelativeOnLoopback));
                    }
                    if let Some(token) = &raw.token {
                        return Err(At::new(token.span(), EndpointProblem::TokenWithRelative));
                    }
                    ContainerSurface::EcsRelativeUri
                } else {
                    match raw.token.as_ref().map(|t| *t.get_ref()) {
                        Some(Token::File) => ContainerSurface::EcsTokenFile,
                        None | Some(Token::Value) => ContainerSurface::EcsToken,
                    }
                }
            }
        };
        Ok(Self::Container {
            surface,
            token_lifetime,
        })
    }

    /// The mock's container config, when the cells take a container endpoint (bound on
    /// loopback; the runner moves it to its link-local address in a link-local cell).
    /// For [`ContainerSurface::EcsRelativeUri`] the ECS path takes no authorization
    /// token, as the agent's does.
    pub fn container_config(&self) -> Option<ContainerConfig> {
        match self {
            Self::Imds => None,
            Self::Container {
                token_lifetime,
                surface,
            } => {
                let config = ContainerConfig {
                    token_lifetime: *token_lifetime,
                    ..ContainerConfig::default()
                };
                Some(match surface {
                    ContainerSurface::EcsRelativeUri => ContainerConfig {
                        ecs_authorization_token: None,
                        ..config
                    },
                    _ => config,
                })
            }
        }
    }

    /// The container surface, when the cells take one.
    pub fn surface(&self) -> Option<ContainerSurface> {
        match self {
            Self::Imds => None,
            Self::Container { surface, .. } => Some(*surface),
        }
    }
}
