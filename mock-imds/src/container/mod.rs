//! The container credentials endpoints, served on one listener of their own beside IMDS,
//! from the same credential store, virtual clock, fault engine and event log:
//!
//! - the **ECS agent**'s task-credentials endpoint, `GET /v2/credentials/<id>` (`ecs.rs`):
//!   reached through `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` (on `169.254.170.2`) or
//!   `AWS_CONTAINER_CREDENTIALS_FULL_URI` with `AWS_CONTAINER_AUTHORIZATION_TOKEN` or
//!   `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`;
//! - the **EKS Pod Identity agent**'s `GET /v1/credentials` (`pod_identity.rs`): the
//!   service-account token (a JWT, from `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`) in
//!   `Authorization`.
//!
//! Faults reach this listener through the `container` target only (`status(429) on
//! container`, `refuse on container`); an IMDS fault never touches it. Every request is
//! in the event log as a request event (its path tells the surface; `token_present`
//! says whether it carried `Authorization`).

mod ecs;
mod pod_identity;
mod token_file;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use http::{header, HeaderValue, Request, StatusCode};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::clock::Clock;
use crate::credentials::CredentialStore;
use crate::ec2_http::{self, HttpResponse};
use crate::events::{EventLog, RequestEvent};
use crate::fault::{ImdsState, Interpreter, Target};
use crate::listener::ConnectionClosed;

pub use pod_identity::POD_IDENTITY_PATH;
pub(crate) use token_file::TokenFiles;
pub use token_file::{ServiceAccountToken, ECS_TOKEN_FILE, POD_IDENTITY_TOKEN_FILE};

/// Default ECS credentials id (the `<id>` of `/v2/credentials/<id>`; the agent's are
/// UUIDs).
pub const DEFAULT_ECS_CREDENTIALS_ID: &str = "6d4c9a1e-0b7f-4f38-9d2a-mock1mds0001";
/// Default lifetime of a Pod Identity service-account token: 86 400 s (24 h, what EKS
/// projects).
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(86_400);

/// How the container endpoints behave: [`crate::MockImdsBuilder::container`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerConfig {
    /// Where the container listener binds (default `127.0.0.1:0`; a link-local mode binds
    /// `169.254.170.2:80` inside a network namespace).
    pub bind: std::net::SocketAddr,
    /// The `<id>` of the ECS path `/v2/credentials/<id>`.
    pub ecs_credentials_id: String,
    /// The ECS authorization token (`AWS_CONTAINER_AUTHORIZATION_TOKEN`, also written to
    /// the ECS token file). `None`: the ECS path takes no token, as the agent's
    /// `RELATIVE_URI` endpoint does (only for the link-local mode).
    pub ecs_authorization_token: Option<String>,
    /// Lifetime of each Pod Identity service-account token (`exp` − `iat`), at most
    /// [`crate::MAX_DURATION`]; default [`DEFAULT_TOKEN_LIFETIME`].
    pub token_lifetime: Duration,
    /// The directory the token files are written to (default: a fresh temporary
    /// directory, removed with the mock).
    pub token_dir: Option<PathBuf>,
}

impl Default for ContainerConfig {
    fn default() -> Self {
        Self {
            bind: std::net::SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, 0)),
            ecs_credentials_id: DEFAULT_ECS_CREDENTIALS_ID.into(),
            ecs_authorization_token: Some(random_token()),
            token_lifetime: DEFAULT_TOKEN_LIFETIME,
            token_dir: None,
        }
    }
}

fn random_token() -> String {
    use rand::distr::{Alphanumeric, SampleString};
    Alphanumeric.sample_string(&mut rand::rng(), 40)
}

/// The container endpoints' service: one request in, one response out.
#[derive(Debug)]
pub(crate) struct Container {
    config: ContainerConfig,
    credentials: Option<Arc<CredentialStore>>,
    state: watch::Receiver<Arc<ImdsState>>,
    faults: Interpreter,
    events: EventLog,
    clock: Arc<Clock>,
    files: Arc<TokenFiles>,
    account_id: String,
}

impl Container {
    /// The service over the mock's shared parts; `files` holds the token files.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        config: ContainerConfig,
        credentials: Option<Arc<CredentialStore>>,
        state: watch::Receiver<Arc<ImdsState>>,
        events: EventLog,
        seed: u64,
        clock: Arc<Clock>,
        files: Arc<TokenFiles>,
        account_id: String,
    ) -> Self {
        Self {
            config,
            credentials,
            state,
            // Its own draws (seeded apart from IMDS's), so container requests do not shift
            // the IMDS faults' draws.
            faults: Interpreter::new(seed ^ 0xC0_47A1_4E75),
            events,
            clock,
            files,
            account_id,
        }
    }

    /// Announce each counted `container` fault (`times=N`) that has acted on its last
    /// request to `sink`, for the switch to clear it (as IMDS does).
    pub(crate) fn announce_lifted_to(
        &self,
        sink: tokio::sync::mpsc::UnboundedSender<crate::fault::Lifted>,
    ) {
        self.faults.announce_lifted_to(sink);
    }

    /// Answers one request under the `container` fault in force.
    ///
    /// # Errors
    /// [`ConnectionClosed`] when a fault says to close or reset the connection instead.
    pub(crate) async fn handle<B>(
        &self,
        req: Request<B>,
    ) -> Result<HttpResponse, ConnectionClosed> {
        let started = Instant::now();
        let path = req.uri().path().to_string();
        let mut record = Record {
            events: &self.events,
            arrived: self.events.at(started),
            started,
            method: req.method().clone(),
            path: &path,
            token_present: req.headers().contains_key(header::AUTHORIZATION),
            user_agent: req
                .headers()
                .get(header::USER_AGENT)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()),
            status: None,
        };
        let state = self.state.borrow().clone();
        let mut met = self.faults.meet_on(&state, &Target::Container).await?;
        let response = match met.take_answer() {
            Some(answer) => answer,
            None => self.route(&req),
        };
        let response = met.finish(response);
        record.status = Some(response.status().as_u16());
        Ok(response)
    }

    fn route<B>(&self, req: &Request<B>) -> HttpResponse {
        let path = req.uri().path();
        let authorization = req.headers().get(header::AUTHORIZATION);
        let now = self.clock.now();
        if path == POD_IDENTITY_PATH {
            return pod_identity::answer(
                authorization,
                &self.files,
                self.credentials.as_deref(),
                &self.account_id,
                now,
            );
        }
        if let Some(rest) = path.strip_prefix(ecs::PATH_PREFIX) {
            return ecs::answer(
                rest,
                authorization,
                &self.config,
                self.credentials.as_deref(),
                &self.account_id,
                now,
            );
        }
        // Both agents are Go servers whose mux answers an unknown path so.
        go_error(StatusCode::NOT_FOUND, "404 page not found")
    }
}

/// True for a container credentials path: the Pod Identity `/v1/credentials`, or an ECS
/// `/v2/credentials/<id>` (a fetch of role credentials, like IMDS's role path).
pub fn is_credentials_path(path: &str) -> bool {
    path == POD_IDENTITY_PATH
        || path
            .strip_prefix(ecs::PATH_PREFIX)
            .is_some_and(|id| !id.is_empty())
}

/// Writes the request's event when dropped (also when a fault drops the request).
struct Record<'a> {
    events: &'a EventLog,
    arrived: Duration,
    started: Instant,
    method: http::Method,
    path: &'a str,
    token_present: bool,
    /// Its `User-Agent` header, if any.
    user_agent: Option<String>,
    status: Option<u16>,
}

impl Drop for Record<'_> {
    fn drop(&mut self) {
        self.events.record_request(RequestEvent {
            at: self.arrived,
            method: &self.method,
            path: self.path,
            status: self.status,
            token_present: self.token_present,
            user_agent: self.user_agent.as_deref(),
            // IMDS's TTL header; a container endpoint's client has no reason to send it.
            token_ttl_seconds: None,
            latency: self.started.elapsed(),
        });
    }
}

/// An error as Go's `http.Error(w, message, status)` writes it: `message` and a newline,
/// `text/plain; charset=utf-8`, `X-Content-Type-Options: nosniff` (the Pod Identity
/// agent's every error, `pkg/handlers/eks_credential_handler.go`).
pub(crate) fn go_error(status: StatusCode, message: &str) -> HttpResponse {
    let mut response = ec2_http::with_body(
        status,
        "text/plain; charset=utf-8",
        format!("{message}\n").into(),
    );
    response.headers_mut().insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// A JSON 200 as Go's `json.Marshal` + `Content-Type: application/json` writes it.
pub(crate) fn json_ok(body: String) -> HttpResponse {
    ec2_http::with_body(StatusCode::OK, "application/json", body.into())
}

/// What a container endpoint's client needs, for [`crate::MockImds::container_env`]: the
/// base URL and the token file paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerEndpoints {
    /// `http://127.0.0.1:PORT` (no trailing slash); on port 80 without the port
    /// (`http://169.254.170.23`, as EKS sets `AWS_CONTAINER_CREDENTIALS_FULL_URI`).
    pub base: String,
    /// The ECS `FULL_URI`: `{base}/v2/credentials/<id>`.
    pub ecs_full_uri: String,
    /// The ECS `RELATIVE_URI`: `/v2/credentials/<id>`.
    pub ecs_relative_uri: String,
    /// The ECS authorization token, when the ECS path takes one.
    pub ecs_token: Option<String>,
    /// The file holding the ECS authorization token.
    pub ecs_token_file: PathBuf,
    /// The Pod Identity `FULL_URI`: `{base}/v1/credentials`.
    pub pod_identity_uri: String,
    /// The Pod Identity service-account token file (rotated by the mock).
    pub pod_identity_token_file: PathBuf,
}

impl ContainerEndpoints {
    pub(crate) fn new(
        addr: std::net::SocketAddr,
        config: &ContainerConfig,
        files: &TokenFiles,
    ) -> Self {
        let base = base_url(addr);
        let relative = format!("{}{}", ecs::PATH_PREFIX, config.ecs_credentials_id);
        Self {
            ecs_full_uri: format!("{base}{relative}"),
            ecs_relative_uri: relative,
            ecs_token: config.ecs_authorization_token.clone(),
            ecs_token_file: files.ecs_token_path(),
            pod_identity_uri: format!("{base}{POD_IDENTITY_PATH}"),
            pod_identity_token_file: files.pod_identity_token_path(),
            base,
        }
    }
}

/// `http://ADDR`, without the port when it is HTTP's own (80).
fn base_url(addr: std::net::SocketAddr) -> String {
    match addr {
        std::net::SocketAddr::V4(a) if a.port() == 80 => format!("http://{}", a.ip()),
        std::net::SocketAddr::V6(a) if a.port() == 80 => format!("http://[{}]", a.ip()),
        _ => format!("http://{addr}"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn base_url_leaves_out_port_80_only() {
        let url = |a: &str| super::base_url(a.parse().unwrap());
        assert_eq!(url("169.254.170.23:80"), "http://169.254.170.23");
        assert_eq!(url("[fd00:ec2::23]:80"), "http://[fd00:ec2::23]");
        assert_eq!(url("127.0.0.1:8080"), "http://127.0.0.1:8080");
        assert_eq!(url("[::1]:8080"), "http://[::1]:8080");
    }
}
