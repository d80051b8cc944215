//! One IMDS request in, one response out, applying the current [`ImdsState`].
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

use std::sync::Arc;
use std::time::Duration;

use http::{header, HeaderValue, Method, Request, StatusCode};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::config::{HttpEndpoint, HttpTokens, ImdsConfig};
use crate::credentials::{ec2_time, CredentialStore};
use crate::ec2_http::{self, HttpResponse};
use crate::events::{EventKind, EventLog};
use crate::fault::{Fault, ImdsState};
use crate::metadata::{MetadataTree, Node};
use crate::tokens::{parse_ttl, TokenStore};

/// Header carrying the IMDSv2 session token on GETs.
pub const TOKEN_HEADER: &str = "x-aws-ec2-metadata-token";
/// Header carrying the requested token TTL (seconds) on the PUT, echoed in its answer.
pub const TTL_HEADER: &str = "x-aws-ec2-metadata-token-ttl-seconds";
/// Path of the IMDSv2 token endpoint.
pub const TOKEN_PATH: &str = "/latest/api/token";

/// The handler answered nothing and the connection must be closed (used for `refuse`
/// on a connection that was already open).
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("connection closed by the `refuse` fault")]
pub struct ConnectionClosed;

/// Everything a request needs: config, tree, tokens, credentials, state, event log.
#[derive(Debug)]
pub struct Imds {
    config: ImdsConfig,
    tree: MetadataTree,
    tokens: TokenStore,
    credentials: Option<Arc<CredentialStore>>,
    state: watch::Sender<ImdsState>,
    events: EventLog,
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
    /// Builds the service. `credentials` is `None` when the config has no role.
    pub fn new(
        config: ImdsConfig,
        credentials: Option<Arc<CredentialStore>>,
        state: watch::Sender<ImdsState>,
        events: EventLog,
    ) -> Self {
        Self {
            tree: MetadataTree::new(&config),
            config,
            tokens: TokenStore::default(),
            credentials,
            state,
            events,
        }
    }

    /// The state channel (the listener watches it to close its socket on `refuse`).
    pub fn state(&self) -> &watch::Sender<ImdsState> {
        &self.state
    }

    /// Answers one request under the current state.
    ///
    /// # Errors
    /// [`ConnectionClosed`] when the state is `refuse`: the caller closes the connection
    /// without answering.
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
        let response = match state {
            ImdsState::Up => self.route(&req),
            ImdsState::Down(Fault::Refuse) => return Err(ConnectionClosed),
            ImdsState::Down(Fault::Status { code, body }) => status_fault(code, body),
            ImdsState::Down(Fault::Blackhole) => {
                // Never answer. The future ends when the connection is closed: by the
                // client giving up, by `refuse`, or by the mock shutting down.
                return std::future::pending().await;
            }
        };
        record.status = Some(response.status().as_u16());
        Ok(response)
    }

    fn route<B>(&self, req: &Request<B>) -> HttpResponse {
        if self.config.http_endpoint == HttpEndpoint::Disabled {
            return ec2_http::error_page(StatusCode::FORBIDDEN);
        }
        let path = req.uri().path();
        if path == TOKEN_PATH {
            return if req.method() == Method::PUT {
                self.issue_token(req)
            } else {
                method_not_allowed()
            };
        }
        if req.method() != Method::GET && req.method() != Method::HEAD {
            return method_not_allowed();
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
        match self.tree.resolve(path) {
            None => ec2_http::error_page(StatusCode::NOT_FOUND),
            Some(Node::Listing(listing)) => ec2_http::text(listing.clone()),
            Some(Node::Text(value)) => ec2_http::text(value.clone()),
            Some(Node::IamInfo) => self.iam_info(),
            Some(Node::RoleCredentials) => match &self.credentials {
                Some(store) => ec2_http::text(store.current(chrono::Utc::now()).to_document()),
                None => ec2_http::error_page(StatusCode::NOT_FOUND),
            },
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
        let q = |s: &str| serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into());
        ec2_http::text(format!(
            "{{\n  \"Code\" : \"Success\",\n  \"LastUpdated\" : {},\n  \"InstanceProfileArn\" : {},\n  \"InstanceProfileId\" : \"AIPAMOCKINSTANCEPROFILE\"\n}}",
            q(&ec2_time(creds.issued_at)),
            q(&format!(
                "arn:aws:iam::{}:instance-profile/{}",
                id.account_id,
                store.role_name()
            )),
        ))
    }
}

fn method_not_allowed() -> HttpResponse {
    let mut response = ec2_http::error_page(StatusCode::METHOD_NOT_ALLOWED);
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD, PUT"));
    response
}

fn status_fault(code: u16, body: Option<String>) -> HttpResponse {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match body {
        None => ec2_http::error_page(status),
        Some(body) => ec2_http::with_body(status, "text/plain", body.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::HttpTokens;

    fn imds(config: ImdsConfig) -> Imds {
        let store = config.role_name.clone().map(|role| {
            Arc::new(CredentialStore::new(
                role,
                config.credential_lifetime,
                config.rotate_before_expiry,
            ))
        });
        let (state, _) = watch::channel(ImdsState::Up);
        Imds::new(config, store, state, EventLog::new(Instant::now()))
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

    async fn token(imds: &Imds, ttl: &str) -> String {
        let r = imds
            .handle(req("PUT", TOKEN_PATH, &[(TTL_HEADER, ttl)]))
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()[TTL_HEADER], ttl, "TTL echoed");
        assert_eq!(r.headers()[header::CONTENT_TYPE], "text/plain");
        use http_body_util::BodyExt;
        let body = r.into_body().collect().await.unwrap().to_bytes();
        String::from_utf8(body.to_vec()).unwrap()
    }

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
        imds.state().send_replace("status(500)".parse().unwrap());
        assert_eq!(
            status(&imds, req("PUT", TOKEN_PATH, &[(TTL_HEADER, "60")])).await,
            500
        );
        assert_eq!(
            status(&imds, req("GET", "/latest/meta-data/", &[])).await,
            500
        );
        imds.state().send_replace("refuse".parse().unwrap());
        assert!(imds
            .handle(req("GET", "/latest/meta-data/", &[]))
            .await
            .is_err());
        let statuses: Vec<Option<u16>> = imds
            .events
            .snapshot()
            .into_iter()
            .map(|e| match e.kind {
                EventKind::ImdsRequest { status, .. } => status,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(statuses, vec![Some(500), Some(500), None]);
    }

    #[tokio::test]
    async fn credentials_document_is_text_plain_and_stable() {
        let imds = imds(ImdsConfig::default());
        let path = "/latest/meta-data/iam/security-credentials/mock-imds-role";
        let r = imds.handle(req("GET", path, &[])).await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()[header::CONTENT_TYPE], "text/plain");
        use http_body_util::BodyExt;
        let doc: serde_json::Value =
            serde_json::from_slice(&r.into_body().collect().await.unwrap().to_bytes()).unwrap();
        assert_eq!(doc["Code"], "Success");
        let again = imds.handle(req("GET", path, &[])).await.unwrap();
        let doc2: serde_json::Value =
            serde_json::from_slice(&again.into_body().collect().await.unwrap().to_bytes()).unwrap();
        assert_eq!(doc["AccessKeyId"], doc2["AccessKeyId"]);
        let info = imds
            .handle(req("GET", "/latest/meta-data/iam/info", &[]))
            .await
            .unwrap();
        let info: serde_json::Value =
            serde_json::from_slice(&info.into_body().collect().await.unwrap().to_bytes()).unwrap();
        assert_eq!(
            info["InstanceProfileArn"],
            "arn:aws:iam::123456789012:instance-profile/mock-imds-role"
        );
    }
}
