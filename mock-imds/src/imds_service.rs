//! One IMDS request in, one response out, applying the active faults.
//!
//! Behaviour imitated (EC2 User Guide, "Use the Instance Metadata Service to access
//! instance metadata" and "IMDSv2"):
//! - `PUT /latest/api/token` needs `X-aws-ec2-metadata-token-ttl-seconds` in 1..=21600
//!   (else 400), is refused with 403 when it carries `X-Forwarded-For`, and answers the
//!   token as `text/plain` with the TTL header echoed.
//! - A GET carrying `X-aws-ec2-metadata-token` needs a valid, unexpired token (else 401);
//!   a GET without one is served only when `HttpTokens` is `optional` (else 401).
//! - `HttpEndpoint=disabled` answers 403 to everything.
//! - Other methods get 405; unknown paths 404 with EC2's error page.
//!
//! Faults are met most specific target first (see [`crate::fault`]); each fires with its
//! probability, drawn from one seeded RNG, so a seed reproduces a run's draws.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::{header, HeaderValue, Method, Request, StatusCode};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::config::{HttpEndpoint, HttpTokens, ImdsConfig};
use crate::credentials::{ec2_time, CredentialStore};
use crate::ec2_http::{self, Body, HttpResponse};
use crate::events::{EventKind, EventLog};
use crate::fault::{is_credentials_path, Fault, FaultSpec, ImdsState, Target};
use crate::listener::ConnectionSocket;
use crate::metadata::{MetadataTree, Node};
use crate::tokens::{parse_ttl, TokenStore};

/// Header carrying the IMDSv2 session token on GETs.
pub const TOKEN_HEADER: &str = "x-aws-ec2-metadata-token";
/// Header carrying the requested token TTL (seconds) on the PUT, echoed in its answer.
pub const TTL_HEADER: &str = "x-aws-ec2-metadata-token-ttl-seconds";
/// TTL of every answer but the token PUT's (Linux's default).
pub const DEFAULT_HOP_LIMIT: u32 = 64;

/// Path of the IMDSv2 token endpoint.
pub const TOKEN_PATH: &str = "/latest/api/token";

/// The handler answers nothing and the connection ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ConnectionClosed {
    /// Closed (FIN): `refuse`/`drop-syn` met on a connection that was already open.
    #[error("connection closed by a fault")]
    Close,
    /// Reset (RST): the `reset` fault.
    #[error("connection reset by a fault")]
    Reset,
}

/// How the role credentials path is served under the active faults.
#[derive(Debug, Clone, PartialEq)]
enum CredentialsMode {
    Normal,
    Expired,
    ErrorDocument(String),
    NoRole,
}

/// Changes applied to a response after it is built.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
struct BodyFaults {
    truncate: bool,
    malformed: bool,
}

/// Everything a request needs: config, tree, tokens, credentials, state, event log.
#[derive(Debug)]
pub struct Imds {
    config: ImdsConfig,
    tree: MetadataTree,
    tokens: TokenStore,
    credentials: Option<Arc<CredentialStore>>,
    state: watch::Sender<Arc<ImdsState>>,
    events: EventLog,
    rng: Mutex<StdRng>,
    throttle: Mutex<HashMap<Target, (Instant, u32)>>,
}

/// Writes the request's event when dropped, so a request whose future is dropped
/// (connection killed, client gone) is logged too, with no status.
struct RequestRecord {
    events: EventLog,
    arrived: Duration,
    started: Instant,
    method: String,
    path: String,
    token_present: bool,
    status: Option<u16>,
}

impl Drop for RequestRecord {
    fn drop(&mut self) {
        self.events.record_at(
            self.arrived,
            EventKind::ImdsRequest {
                method: std::mem::take(&mut self.method),
                path: std::mem::take(&mut self.path),
                status: self.status,
                token_present: self.token_present,
                latency: self.started.elapsed(),
            },
        );
    }
}

impl Imds {
    /// Builds the service. `credentials` is `None` when the config has no role; `seed`
    /// seeds the RNG that draws fault probabilities and latency jitter.
    pub fn new(
        config: ImdsConfig,
        credentials: Option<Arc<CredentialStore>>,
        state: watch::Sender<Arc<ImdsState>>,
        events: EventLog,
        seed: u64,
    ) -> Self {
        Self {
            tree: MetadataTree::new(&config),
            config,
            tokens: TokenStore::default(),
            credentials,
            state,
            events,
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
            throttle: Mutex::default(),
        }
    }

    /// The state channel (the listener watches it for socket-level faults).
    pub fn state(&self) -> &watch::Sender<Arc<ImdsState>> {
        &self.state
    }

    fn fires(&self, spec: &FaultSpec) -> bool {
        match spec.probability {
            None => true,
            Some(p) => self
                .rng
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .random_bool(p),
        }
    }

    fn jittered(&self, delay: Duration, jitter: Duration) -> Duration {
        if jitter.is_zero() {
            return delay;
        }
        let j = jitter.as_secs_f64();
        let offset = self
            .rng
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .random_range(-j..=j);
        // A delay near `Duration::MAX` (`latency(18446744073709551615s, 1s)` parses) rounds
        // past it as f64: saturate rather than panic in `from_secs_f64`.
        Duration::try_from_secs_f64((delay.as_secs_f64() + offset).max(0.0))
            .unwrap_or(Duration::MAX)
    }

    /// True when this request is one too many for `target`'s one-second window.
    fn throttled(&self, target: &Target, per_second: u32) -> bool {
        let now = Instant::now();
        let mut windows = self.throttle.lock().unwrap_or_else(|e| e.into_inner());
        let window = windows.entry(target.clone()).or_insert((now, 0));
        if now.duration_since(window.0) >= Duration::from_secs(1) {
            *window = (now, 0);
        }
        window.1 += 1;
        window.1 > per_second
    }

    /// Answers one request under the current state.
    ///
    /// # Errors
    /// [`ConnectionClosed`] when a fault says to close or reset the connection instead.
    pub async fn handle<B>(&self, req: Request<B>) -> Result<HttpResponse, ConnectionClosed> {
        let mut record = RequestRecord {
            events: self.events.clone(),
            arrived: self.events.now(),
            started: Instant::now(),
            method: req.method().to_string(),
            path: req.uri().path().to_string(),
            token_present: req.headers().contains_key(TOKEN_HEADER),
            status: None,
        };
        let state = self.state.borrow().clone();
        let path = req.uri().path();
        let mut mode = CredentialsMode::Normal;
        let mut body_faults = BodyFaults::default();
        let mut answer = None;
        for spec in state.matching(path) {
            if !self.fires(spec) {
                continue;
            }
            match &spec.fault {
                Fault::Refuse | Fault::DropSyn => return Err(ConnectionClosed::Close),
                Fault::Reset => return Err(ConnectionClosed::Reset),
                Fault::Blackhole => {
                    // Never answer. The future ends when the connection is closed: by the
                    // client giving up, by a socket fault, or by the mock shutting down.
                    return std::future::pending().await;
                }
                Fault::Latency { delay, jitter } => {
                    tokio::time::sleep(self.jittered(*delay, *jitter)).await
                }
                Fault::Status { code, body } => {
                    answer = Some(status_fault(*code, body.clone()));
                    break;
                }
                Fault::Throttle { per_second } => {
                    if self.throttled(&spec.target, *per_second) {
                        answer = Some(ec2_http::error_page(StatusCode::TOO_MANY_REQUESTS));
                        break;
                    }
                }
                Fault::NoRole if mode == CredentialsMode::Normal => mode = CredentialsMode::NoRole,
                Fault::ExpiredCredentials if mode == CredentialsMode::Normal => {
                    mode = CredentialsMode::Expired
                }
                Fault::ErrorDocument { code } if mode == CredentialsMode::Normal => {
                    mode = CredentialsMode::ErrorDocument(code.clone())
                }
                Fault::NoRole | Fault::ExpiredCredentials | Fault::ErrorDocument { .. } => {}
                Fault::Truncate => body_faults.truncate = true,
                Fault::MalformedJson => body_faults.malformed = true,
            }
        }
        // Only the token answer carries the hop limit; everything else leaves with the
        // system default, on a kept-alive connection too.
        if let Some(socket) = req.extensions().get::<ConnectionSocket>() {
            let _ = socket.set_hop_limit(DEFAULT_HOP_LIMIT);
        }
        let mut response = answer.unwrap_or_else(|| self.route(&req, &mode));
        if body_faults.malformed {
            response = malformed(response);
        }
        if body_faults.truncate {
            response = truncated(response);
        }
        record.status = Some(response.status().as_u16());
        Ok(response)
    }

    fn route<B>(&self, req: &Request<B>, mode: &CredentialsMode) -> HttpResponse {
        if self.config.http_endpoint == HttpEndpoint::Disabled {
            return ec2_http::error_page(StatusCode::FORBIDDEN);
        }
        let path = req.uri().path();
        if path == TOKEN_PATH {
            return if req.method() == Method::PUT {
                self.issue_token(req)
            } else {
                method_not_allowed("PUT")
            };
        }
        if req.method() != Method::GET && req.method() != Method::HEAD {
            return method_not_allowed("GET, HEAD");
        }
        let tokens: Vec<&HeaderValue> = req.headers().get_all(TOKEN_HEADER).iter().collect();
        match tokens.as_slice() {
            [] if self.config.http_tokens == HttpTokens::Required => {
                return ec2_http::error_page(StatusCode::UNAUTHORIZED)
            }
            [] => {}
            [token] => {
                let valid = token
                    .to_str()
                    .is_ok_and(|t| self.tokens.is_valid(t, Instant::now()));
                if !valid {
                    return ec2_http::error_page(StatusCode::UNAUTHORIZED);
                }
            }
            _ => return ec2_http::error_page(StatusCode::BAD_REQUEST),
        }
        if *mode == CredentialsMode::NoRole && is_credentials_path(path) {
            return ec2_http::error_page(StatusCode::NOT_FOUND);
        }
        match self.tree.resolve(path) {
            None => ec2_http::error_page(StatusCode::NOT_FOUND),
            Some(Node::Listing(listing)) => ec2_http::text(listing.clone()),
            Some(Node::Text(value)) => ec2_http::text(value.clone()),
            Some(Node::IamInfo) => self.iam_info(),
            Some(node @ (Node::RoleCredentials | Node::RoleCredentialsExtended)) => {
                let Some(store) = &self.credentials else {
                    return ec2_http::error_page(StatusCode::NOT_FOUND);
                };
                let now = chrono::Utc::now();
                let creds = match mode {
                    CredentialsMode::ErrorDocument(code) => {
                        return ec2_http::text(error_document(code, store.role_name()))
                    }
                    CredentialsMode::Expired => store.expired(now),
                    _ => store.current(now),
                };
                ec2_http::text(match node {
                    Node::RoleCredentialsExtended => {
                        creds.to_extended_document(&self.config.identity.account_id)
                    }
                    _ => creds.to_document(),
                })
            }
        }
    }

    fn issue_token<B>(&self, req: &Request<B>) -> HttpResponse {
        if req.headers().contains_key("x-forwarded-for") {
            return ec2_http::error_page(StatusCode::FORBIDDEN);
        }
        let ttl_headers: Vec<&HeaderValue> = req.headers().get_all(TTL_HEADER).iter().collect();
        let ttl = match ttl_headers.as_slice() {
            [] => parse_ttl(None),
            [one] => parse_ttl(Some(one.as_bytes())),
            _ => return ec2_http::error_page(StatusCode::BAD_REQUEST),
        };
        let Ok(ttl) = ttl else {
            return ec2_http::error_page(StatusCode::BAD_REQUEST);
        };
        if let Some(socket) = req.extensions().get::<ConnectionSocket>() {
            if let Err(err) =
                socket.set_hop_limit(u32::from(self.config.http_put_response_hop_limit))
            {
                tracing::warn!(%err, "could not set the token answer's hop limit");
            }
        }
        let token = self.tokens.issue(Duration::from_secs(ttl), Instant::now());
        let mut response = ec2_http::text(token);
        response
            .headers_mut()
            .insert(TTL_HEADER, HeaderValue::from(ttl));
        response
    }

    fn iam_info(&self) -> HttpResponse {
        let Some(store) = &self.credentials else {
            return ec2_http::error_page(StatusCode::NOT_FOUND);
        };
        let creds = store.current(chrono::Utc::now());
        let id = &self.config.identity;
        let q = crate::ec2_http::json_string;
        ec2_http::text(format!(
            "{{\n  \"Code\" : \"Success\",\n  \"LastUpdated\" : {},\n  \"InstanceProfileArn\" : {},\n  \"InstanceProfileId\" : \"AIPAMOCKINSTANCEPROFILE\"\n}}",
            q(&ec2_time(creds.issued_at)),
            q(&format!("arn:aws:iam::{}:instance-profile/{}", id.account_id, store.role_name())),
        ))
    }
}

/// The credentials error document EC2 serves (status 200) when it cannot provide role
/// credentials, e.g. `AssumeRoleUnauthorizedAccess`.
pub fn error_document(code: &str, role: &str) -> String {
    let q = crate::ec2_http::json_string;
    format!(
        "{{\n  \"Code\" : {},\n  \"Message\" : {},\n  \"LastUpdated\" : {}\n}}",
        q(code),
        q(&format!(
            "EC2 cannot assume the role {role}. Please see documentation at https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_switch-role-ec2.html#troubleshoot_roles_ec2-cannot-assume-role"
        )),
        q(&ec2_time(chrono::Utc::now())),
    )
}

/// 405 with the methods the path does take: `PUT` for the token endpoint, `GET, HEAD`
/// for metadata.
fn method_not_allowed(allow: &'static str) -> HttpResponse {
    let mut response = ec2_http::error_page(StatusCode::METHOD_NOT_ALLOWED);
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    response
}

fn status_fault(code: u16, body: Option<String>) -> HttpResponse {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match body {
        None => ec2_http::error_page(status),
        Some(body) => ec2_http::with_body(status, "text/plain", body.into()),
    }
}

/// Cuts a JSON body (one that starts with `{`) to two thirds and drops any closing
/// brace, so it no longer parses; other bodies (listings, tokens) are left alone.
fn malformed(response: HttpResponse) -> HttpResponse {
    let body = response.body().bytes();
    if !body.starts_with(b"{") {
        return response;
    }
    let mut cut = body.slice(..body.len() * 2 / 3).to_vec();
    while cut
        .last()
        .is_some_and(|b| *b == b'}' || b.is_ascii_whitespace())
    {
        cut.pop();
    }
    let (parts, _) = response.into_parts();
    http::Response::from_parts(parts, Body::full(cut))
}

/// Declares the full length but carries half the body: hyper sends what there is and
/// closes the connection, so the client reads a short body.
fn truncated(response: HttpResponse) -> HttpResponse {
    let body = response.body().bytes();
    let (mut parts, _) = response.into_parts();
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    http::Response::from_parts(parts, Body::cut(body.slice(..body.len() / 2)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::HttpTokens;
    use http_body_util::BodyExt;

    fn imds(config: ImdsConfig) -> Imds {
        let store = config.role_name.clone().map(|role| {
            Arc::new(CredentialStore::new(
                role,
                config.credential_lifetime,
                config.rotate_before_expiry,
            ))
        });
        let (state, _) = watch::channel(Arc::new(ImdsState::up()));
        Imds::new(config, store, state, EventLog::new(Instant::now()), 7)
    }

    fn set(imds: &Imds, state: &str) {
        imds.state().send_replace(Arc::new(state.parse().unwrap()));
    }

    fn req(method: &str, path: &str, headers: &[(&str, &str)]) -> Request<()> {
        let mut b = Request::builder().method(method).uri(path);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(()).unwrap()
    }

    async fn status(imds: &Imds, r: Request<()>) -> u16 {
        imds.handle(r).await.unwrap().status().as_u16()
    }

    async fn body(imds: &Imds, r: Request<()>) -> (u16, String) {
        let r = imds.handle(r).await.unwrap();
        let status = r.status().as_u16();
        let bytes = r.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8(bytes.to_vec()).unwrap())
    }

    async fn token(imds: &Imds, ttl: &str) -> String {
        let r = imds
            .handle(req("PUT", TOKEN_PATH, &[(TTL_HEADER, ttl)]))
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()[TTL_HEADER], ttl, "TTL echoed");
        assert_eq!(r.headers()[header::CONTENT_TYPE], "text/plain");
        let body = r.into_body().collect().await.unwrap().to_bytes();
        String::from_utf8(body.to_vec()).unwrap()
    }

    const CREDS: &str = "/latest/meta-data/iam/security-credentials/mock-imds-role";

    #[tokio::test]
    async fn token_put_validates_ttl_and_forwarding() {
        let imds = imds(ImdsConfig::default());
        for bad in ["0", "21601", "-1", "abc", ""] {
            assert_eq!(
                status(&imds, req("PUT", TOKEN_PATH, &[(TTL_HEADER, bad)])).await,
                400,
                "{bad}"
            );
        }
        assert_eq!(status(&imds, req("PUT", TOKEN_PATH, &[])).await, 400);
        assert_eq!(
            status(
                &imds,
                req(
                    "PUT",
                    TOKEN_PATH,
                    &[(TTL_HEADER, "60"), ("x-forwarded-for", "203.0.113.1")]
                )
            )
            .await,
            403
        );
        assert_eq!(status(&imds, req("GET", TOKEN_PATH, &[])).await, 405);
        assert_eq!(token(&imds, "21600").await.len(), 56);
    }

    #[tokio::test]
    async fn gets_check_tokens() {
        let imds = imds(ImdsConfig::default());
        let good = token(&imds, "60").await;
        let path = "/latest/meta-data/instance-id";
        assert_eq!(
            status(&imds, req("GET", path, &[(TOKEN_HEADER, &good)])).await,
            200
        );
        assert_eq!(
            status(&imds, req("GET", path, &[(TOKEN_HEADER, "AQAEbogus")])).await,
            401
        );
        assert_eq!(
            status(&imds, req("GET", path, &[])).await,
            200,
            "IMDSv1 allowed by default"
        );
        assert_eq!(status(&imds, req("POST", path, &[])).await, 405);
        assert_eq!(
            status(&imds, req("GET", "/latest/meta-data/nope", &[])).await,
            404
        );

        let v2_only = imds_required();
        assert_eq!(status(&v2_only, req("GET", path, &[])).await, 401);
        let t = token(&v2_only, "60").await;
        assert_eq!(
            status(&v2_only, req("GET", path, &[(TOKEN_HEADER, &t)])).await,
            200
        );
    }

    fn imds_required() -> Imds {
        imds(ImdsConfig {
            http_tokens: HttpTokens::Required,
            ..ImdsConfig::default()
        })
    }

    #[tokio::test(start_paused = true)]
    async fn tokens_expire_after_ttl() {
        let imds = imds(ImdsConfig::default());
        let t = token(&imds, "1").await;
        let path = "/latest/meta-data/instance-id";
        assert_eq!(
            status(&imds, req("GET", path, &[(TOKEN_HEADER, &t)])).await,
            200
        );
        tokio::time::advance(Duration::from_millis(1001)).await;
        assert_eq!(
            status(&imds, req("GET", path, &[(TOKEN_HEADER, &t)])).await,
            401
        );
    }

    #[tokio::test]
    async fn disabled_endpoint_forbids_everything() {
        let imds = imds(ImdsConfig {
            http_endpoint: HttpEndpoint::Disabled,
            ..ImdsConfig::default()
        });
        assert_eq!(
            status(&imds, req("GET", "/latest/meta-data/", &[])).await,
            403
        );
        assert_eq!(
            status(&imds, req("PUT", TOKEN_PATH, &[(TTL_HEADER, "60")])).await,
            403
        );
    }

    #[tokio::test]
    async fn status_fault_and_refuse_apply_to_every_path() {
        let imds = imds(ImdsConfig::default());
        set(&imds, "status(500)");
        assert_eq!(
            status(&imds, req("PUT", TOKEN_PATH, &[(TTL_HEADER, "60")])).await,
            500
        );
        assert_eq!(
            status(&imds, req("GET", "/latest/meta-data/", &[])).await,
            500
        );
        set(&imds, "refuse");
        assert_eq!(
            imds.handle(req("GET", "/latest/meta-data/", &[]))
                .await
                .unwrap_err(),
            ConnectionClosed::Close
        );
        set(&imds, "reset");
        assert_eq!(
            imds.handle(req("GET", "/latest/meta-data/", &[]))
                .await
                .unwrap_err(),
            ConnectionClosed::Reset
        );
        let statuses: Vec<Option<u16>> = imds
            .events
            .snapshot()
            .into_iter()
            .map(|e| match e.kind {
                EventKind::ImdsRequest { status, .. } => status,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(statuses, vec![Some(500), Some(500), None, None]);
    }

    #[tokio::test]
    async fn token_fault_composes_with_working_gets() {
        let imds = imds(ImdsConfig::default());
        set(&imds, "status(403) on token");
        assert_eq!(
            status(&imds, req("PUT", TOKEN_PATH, &[(TTL_HEADER, "60")])).await,
            403
        );
        assert_eq!(status(&imds, req("GET", CREDS, &[])).await, 200);
    }

    #[tokio::test]
    async fn credentials_faults_change_only_the_credentials_paths() {
        let imds = imds(ImdsConfig::default());
        set(&imds, "no-role");
        assert_eq!(
            status(
                &imds,
                req("GET", "/latest/meta-data/iam/security-credentials/", &[])
            )
            .await,
            404
        );
        assert_eq!(status(&imds, req("GET", CREDS, &[])).await, 404);
        assert_eq!(
            status(&imds, req("GET", "/latest/meta-data/instance-id", &[])).await,
            200
        );

        set(&imds, "expired-credentials");
        let (code, doc) = body(&imds, req("GET", CREDS, &[])).await;
        assert_eq!(code, 200);
        let doc: serde_json::Value = serde_json::from_str(&doc).unwrap();
        let expiration: chrono::DateTime<chrono::Utc> =
            doc["Expiration"].as_str().unwrap().parse().unwrap();
        assert!(expiration < chrono::Utc::now());

        set(&imds, "error-document(AssumeRoleUnauthorizedAccess)");
        let (code, doc) = body(&imds, req("GET", CREDS, &[])).await;
        assert_eq!(code, 200);
        let doc: serde_json::Value = serde_json::from_str(&doc).unwrap();
        assert_eq!(doc["Code"], "AssumeRoleUnauthorizedAccess");
        assert!(doc.get("AccessKeyId").is_none());

        set(&imds, "malformed-json");
        let (code, doc) = body(&imds, req("GET", CREDS, &[])).await;
        assert_eq!(code, 200);
        assert!(
            serde_json::from_str::<serde_json::Value>(&doc).is_err(),
            "{doc}"
        );
        assert!(doc.starts_with("{\n  \"Code\" : \"Success\""), "{doc}");
    }

    #[tokio::test]
    async fn truncate_declares_more_than_it_sends() {
        let imds = imds(ImdsConfig::default());
        set(&imds, "truncate");
        let r = imds.handle(req("GET", CREDS, &[])).await.unwrap();
        let declared: usize = r.headers()[header::CONTENT_LENGTH]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        let sent = r.into_body().collect().await.unwrap().to_bytes().len();
        assert!(sent < declared, "{sent} < {declared}");
    }

    #[tokio::test(start_paused = true)]
    async fn throttle_answers_429_past_the_rate() {
        let imds = imds(ImdsConfig::default());
        set(&imds, "throttle(3)");
        let mut statuses = Vec::new();
        for _ in 0..5 {
            statuses.push(status(&imds, req("GET", "/latest/meta-data/", &[])).await);
        }
        assert_eq!(statuses, vec![200, 200, 200, 429, 429]);
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(
            status(&imds, req("GET", "/latest/meta-data/", &[])).await,
            200,
            "a new window"
        );
    }

    #[tokio::test]
    async fn probability_draws_are_seeded() {
        let draws = |seed| async move {
            let imds = imds(ImdsConfig::default());
            *imds.rng.lock().unwrap() = StdRng::seed_from_u64(seed);
            set(&imds, "status(500) p=0.5");
            let mut out = Vec::new();
            for _ in 0..32 {
                out.push(status(&imds, req("GET", "/latest/meta-data/", &[])).await);
            }
            out
        };
        let a = draws(1).await;
        assert_eq!(a, draws(1).await, "same seed, same draws");
        assert!(a.contains(&200) && a.contains(&500), "{a:?}");
        assert_ne!(a, draws(2).await);
    }

    #[tokio::test(start_paused = true)]
    async fn latency_delays_then_serves() {
        let imds = imds(ImdsConfig::default());
        set(&imds, "latency(250ms, 0s) on credentials");
        let start = Instant::now();
        assert_eq!(status(&imds, req("GET", CREDS, &[])).await, 200);
        assert_eq!(start.elapsed(), Duration::from_millis(250));
        let start = Instant::now();
        assert_eq!(
            status(&imds, req("GET", "/latest/meta-data/", &[])).await,
            200
        );
        assert_eq!(start.elapsed(), Duration::ZERO);
    }

    /// Found by the `imds_request` fuzz target: a jittered delay near `Duration::MAX`
    /// overflowed `Duration::from_secs_f64` and panicked the connection's task.
    #[tokio::test(start_paused = true)]
    async fn latency_near_duration_max_does_not_panic() {
        let imds = imds(ImdsConfig::default());
        set(&imds, "latency(18446744073709551615s, 1s)");
        for _ in 0..8 {
            let answer = tokio::time::timeout(
                Duration::from_secs(3600),
                imds.handle(req("GET", "/latest/meta-data/", &[])),
            )
            .await;
            assert!(answer.is_err(), "still waiting after an hour");
        }
    }

    #[tokio::test]
    async fn credentials_document_is_text_plain_and_stable() {
        let imds = imds(ImdsConfig::default());
        let r = imds.handle(req("GET", CREDS, &[])).await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()[header::CONTENT_TYPE], "text/plain");
        let doc: serde_json::Value =
            serde_json::from_slice(&r.into_body().collect().await.unwrap().to_bytes()).unwrap();
        assert_eq!(doc["Code"], "Success");
        let (_, again) = body(&imds, req("GET", CREDS, &[])).await;
        let doc2: serde_json::Value = serde_json::from_str(&again).unwrap();
        assert_eq!(doc["AccessKeyId"], doc2["AccessKeyId"]);
        let (_, info) = body(&imds, req("GET", "/latest/meta-data/iam/info", &[])).await;
        let info: serde_json::Value = serde_json::from_str(&info).unwrap();
        assert_eq!(
            info["InstanceProfileArn"],
            "arn:aws:iam::123456789012:instance-profile/mock-imds-role"
        );
    }
}
