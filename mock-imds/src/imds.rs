//! EC2's Instance Metadata Service: one request in, one response out.
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
//! What the active faults do is not here: [`crate::fault`] meets them first and hands
//! back what is left to do (an answer in place of this one, a different credentials
//! document, a changed body). Every request is logged, answered or not.

use std::sync::Arc;
use std::time::Duration;

use http::{header, HeaderName, HeaderValue, Method, Request, StatusCode};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::clock::Clock;
use crate::config::{HttpEndpoint, HttpTokens, ImdsConfig};
use crate::credentials::{ec2_time, CredentialStore, RoleDocument};
use crate::ec2_http::{self, HttpResponse};
use crate::events::{EventLog, RequestEvent};
use crate::fault::{is_credentials_path, ImdsState, Interpreter, Met};
use crate::instance::{Instance, Served};
use crate::listener::{ConnectionClosed, ConnectionSocket};
use crate::metadata::Node;
use crate::tokens::{parse_ttl, TokenStore};

/// Header carrying the IMDSv2 session token on GETs.
pub const TOKEN_HEADER: &str = "x-aws-ec2-metadata-token";
/// Header carrying the requested token TTL (seconds) on the PUT, echoed in its answer.
pub const TTL_HEADER: &str = "x-aws-ec2-metadata-token-ttl-seconds";
/// TTL of every answer but the token PUT's (Linux's default).
pub const DEFAULT_HOP_LIMIT: u32 = 64;

/// Path of the IMDSv2 token endpoint.
pub const TOKEN_PATH: &str = "/latest/api/token";

// The same names, parsed once (a lookup by `&str` parses the name every time).
const TOKEN: HeaderName = HeaderName::from_static(TOKEN_HEADER);
const TTL: HeaderName = HeaderName::from_static(TTL_HEADER);
const FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// Everything a request needs: config, tree, tokens, credentials, state, faults, log.
#[derive(Debug)]
pub struct Imds {
    /// The config and tree in force (swapped by notices and config reloads).
    instance: Arc<Instance>,
    tokens: TokenStore,
    credentials: Option<Arc<CredentialStore>>,
    state: watch::Receiver<Arc<ImdsState>>,
    faults: Interpreter,
    events: EventLog,
    /// The virtual wall clock: tokens, credentials and document times.
    clock: Arc<Clock>,
    /// What the token answer's TTL header says (shared with the switch).
    ttl_header: crate::ttl_header::TtlHeaderSetting,
}

/// Writes the request's event when dropped, so a request whose future is dropped
/// (connection killed, client gone) is logged too, with no status.
struct RequestRecord<'a> {
    events: &'a EventLog,
    arrived: Duration,
    started: Instant,
    method: &'a http::Method,
    path: &'a str,
    token_present: bool,
    user_agent: Option<std::borrow::Cow<'a, str>>,
    token_ttl_seconds: Option<std::borrow::Cow<'a, str>>,
    status: Option<u16>,
}

/// A header's value as text (lossily UTF-8), if the request had it.
fn header_text<'a, B>(req: &'a Request<B>, name: &HeaderName) -> Option<std::borrow::Cow<'a, str>> {
    req.headers()
        .get(name)
        .map(|v| String::from_utf8_lossy(v.as_bytes()))
}

impl Drop for RequestRecord<'_> {
    fn drop(&mut self) {
        self.events.record_request(RequestEvent {
            at: self.arrived,
            method: self.method,
            path: self.path,
            status: self.status,
            token_present: self.token_present,
            user_agent: self.user_agent.as_deref(),
            token_ttl_seconds: self.token_ttl_seconds.as_deref(),
            latency: self.started.elapsed(),
        });
    }
}

impl Imds {
    /// Builds the service over a new [`Instance`] with `config`. `credentials` is `None`
    /// when the config has no role; `state`
    /// is the state in force (see [`crate::switch`]); `seed` seeds the RNG that draws
    /// fault probabilities and latency jitter; `clock` is the mock's virtual wall clock.
    pub fn new(
        config: ImdsConfig,
        credentials: Option<Arc<CredentialStore>>,
        state: watch::Receiver<Arc<ImdsState>>,
        events: EventLog,
        seed: u64,
        clock: Arc<Clock>,
    ) -> Self {
        Self::on(
            Arc::new(Instance::new(config)),
            credentials,
            state,
            events,
            seed,
            clock,
        )
    }

    /// Builds the service over `instance` (shared with the switch, which posts notices,
    /// and the config reloader); the other arguments as for [`Imds::new`].
    pub(crate) fn on(
        instance: Arc<Instance>,
        credentials: Option<Arc<CredentialStore>>,
        state: watch::Receiver<Arc<ImdsState>>,
        events: EventLog,
        seed: u64,
        clock: Arc<Clock>,
    ) -> Self {
        Self {
            ttl_header: crate::ttl_header::TtlHeaderSetting::new(
                instance.served().config.token_ttl_header,
            ),
            instance,
            tokens: TokenStore::default(),
            credentials,
            state,
            faults: Interpreter::new(seed),
            events,
            clock,
        }
    }

    /// The TTL header mode setting, to share with the switch.
    pub(crate) fn ttl_header(&self) -> crate::ttl_header::TtlHeaderSetting {
        self.ttl_header.clone()
    }

    /// Announce each counted fault that has acted on its last request to `sink`, for the
    /// switch to clear it (see [`crate::switch::Switch::lift`]).
    pub(crate) fn announce_lifted_to(
        &self,
        sink: tokio::sync::mpsc::UnboundedSender<crate::fault::Lifted>,
    ) {
        self.faults.announce_lifted_to(sink);
    }

    /// Answers one request under the current state; `socket` is the connection it came
    /// on (`None` in process), whose hop limit the answer sets.
    ///
    /// # Errors
    /// [`ConnectionClosed`] when a fault says to close or reset the connection instead.
    pub async fn handle<B>(
        &self,
        req: Request<B>,
        socket: Option<&ConnectionSocket>,
    ) -> Result<HttpResponse, ConnectionClosed> {
        let started = Instant::now();
        let mut record = RequestRecord {
            events: &self.events,
            arrived: self.events.at(started),
            started,
            method: req.method(),
            path: req.uri().path(),
            token_present: req.headers().contains_key(&TOKEN),
            user_agent: header_text(&req, &header::USER_AGENT),
            token_ttl_seconds: header_text(&req, &TTL),
            status: None,
        };
        let state = self.state.borrow().clone();
        let mut met = self.faults.meet(&state, req.uri().path()).await?;
        // Only the token answer carries the hop limit; everything else leaves with the
        // system default, on a kept-alive connection too.
        if let Some(socket) = socket {
            socket.set_hop_limit(DEFAULT_HOP_LIMIT);
        }
        let response = match met.take_answer() {
            Some(answer) => answer,
            None => self.route(&self.instance.served(), &req, socket, &met),
        };
        let response = met.finish(response);
        record.status = Some(response.status().as_u16());
        Ok(response)
    }

    fn route<B>(
        &self,
        served: &Served,
        req: &Request<B>,
        socket: Option<&ConnectionSocket>,
        met: &Met,
    ) -> HttpResponse {
        let config = &served.config;
        if config.http_endpoint == HttpEndpoint::Disabled {
            return ec2_http::error_page(StatusCode::FORBIDDEN);
        }
        let path = req.uri().path();
        if path == TOKEN_PATH {
            return if req.method() == Method::PUT {
                self.issue_token(config, req, socket)
            } else {
                method_not_allowed("PUT")
            };
        }
        if req.method() != Method::GET && req.method() != Method::HEAD {
            return method_not_allowed("GET, HEAD");
        }
        let tokens: Vec<&HeaderValue> = req.headers().get_all(&TOKEN).iter().collect();
        match tokens.as_slice() {
            [] if config.http_tokens == HttpTokens::Required => {
                return ec2_http::error_page(StatusCode::UNAUTHORIZED)
            }
            [] => {}
            [token] => {
                let valid = token
                    .to_str()
                    .is_ok_and(|t| self.tokens.is_valid(t, self.clock.now()));
                if !valid {
                    return ec2_http::error_page(StatusCode::UNAUTHORIZED);
                }
            }
            _ => return ec2_http::error_page(StatusCode::BAD_REQUEST),
        }
        let node = served.tree.resolve(path);
        let document = self.role_document(config, node);
        if is_credentials_path(path) {
            if let Some(answer) = met.credentials_answer(document.as_ref(), self.clock.now()) {
                return answer;
            }
        }
        match node {
            None => ec2_http::error_page(StatusCode::NOT_FOUND),
            Some(Node::Listing(listing)) => ec2_http::text(listing.clone()),
            Some(Node::Text(value)) => ec2_http::text(value.clone()),
            Some(Node::Data(bytes)) => ec2_http::text(bytes.clone()),
            Some(Node::IamInfo) => self.iam_info(config),
            Some(Node::RoleCredentials | Node::RoleCredentialsExtended) => match document {
                Some(doc) => ec2_http::text(doc.current(self.clock.now())),
                None => ec2_http::error_page(StatusCode::NOT_FOUND),
            },
        }
    }

    /// The credentials document `node` is, when it is one and the instance has a role.
    fn role_document<'a>(
        &'a self,
        config: &'a ImdsConfig,
        node: Option<&Node>,
    ) -> Option<RoleDocument<'a>> {
        let store = self.credentials.as_deref()?;
        match node? {
            Node::RoleCredentials => Some(RoleDocument {
                store,
                extended_account: None,
            }),
            Node::RoleCredentialsExtended => Some(RoleDocument {
                store,
                extended_account: Some(&config.identity.account_id),
            }),
            _ => None,
        }
    }

    fn issue_token<B>(
        &self,
        config: &ImdsConfig,
        req: &Request<B>,
        socket: Option<&ConnectionSocket>,
    ) -> HttpResponse {
        if req.headers().contains_key(&FORWARDED_FOR) {
            return ec2_http::error_page(StatusCode::FORBIDDEN);
        }
        let ttl_headers: Vec<&HeaderValue> = req.headers().get_all(&TTL).iter().collect();
        let ttl = match ttl_headers.as_slice() {
            [] => parse_ttl(None),
            [one] => parse_ttl(Some(one.as_bytes())),
            _ => return ec2_http::error_page(StatusCode::BAD_REQUEST),
        };
        let Ok(ttl) = ttl else {
            return ec2_http::error_page(StatusCode::BAD_REQUEST);
        };
        if let Some(socket) = socket {
            socket.set_hop_limit(u32::from(config.http_put_response_hop_limit));
        }
        let token = self
            .tokens
            .issue(Duration::from_secs(ttl), self.clock.now());
        let mut response = ec2_http::text(token);
        if let Some(value) = self.ttl_header.get().value(ttl) {
            response.headers_mut().insert(TTL, HeaderValue::from(value));
        }
        response
    }

    fn iam_info(&self, config: &ImdsConfig) -> HttpResponse {
        let Some(store) = &self.credentials else {
            return ec2_http::error_page(StatusCode::NOT_FOUND);
        };
        let creds = store.current(self.clock.now());
        let id = &config.identity;
        let q = crate::ec2_http::json_string;
        ec2_http::text(format!(
            "{{\n  \"Code\" : \"Success\",\n  \"LastUpdated\" : {},\n  \"InstanceProfileArn\" : {},\n  \"InstanceProfileId\" : \"AIPAMOCKINSTANCEPROFILE\"\n}}",
            q(&ec2_time(creds.issued_at)),
            q(&format!("arn:aws:iam::{}:instance-profile/{}", id.account_id, store.role_name())),
        ))
    }
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
        imds_on(config, store, Clock::new())
    }

    fn imds_on(config: ImdsConfig, store: Option<Arc<CredentialStore>>, clock: Arc<Clock>) -> Imds {
        let (_, state) = watch::channel(Arc::new(ImdsState::up()));
        Imds::new(
            config,
            store,
            state,
            EventLog::new(Instant::now()),
            7,
            clock,
        )
    }

    fn req(method: &str, path: &str, headers: &[(&str, &str)]) -> Request<()> {
        let mut b = Request::builder().method(method).uri(path);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(()).unwrap()
    }

    async fn status(imds: &Imds, r: Request<()>) -> u16 {
        imds.handle(r, None).await.unwrap().status().as_u16()
    }

    async fn body(imds: &Imds, r: Request<()>) -> (u16, String) {
        let r = imds.handle(r, None).await.unwrap();
        let status = r.status().as_u16();
        let bytes = r.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8(bytes.to_vec()).unwrap())
    }

    async fn token(imds: &Imds, ttl: &str) -> String {
        let r = imds
            .handle(req("PUT", TOKEN_PATH, &[(TTL_HEADER, ttl)]), None)
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

    #[tokio::test]
    async fn tokens_expire_after_ttl_on_the_virtual_clock() {
        let clock = Clock::new();
        let imds = imds_on(ImdsConfig::default(), None, clock.clone());
        let t = token(&imds, "1").await;
        let path = "/latest/meta-data/instance-id";
        assert_eq!(
            status(&imds, req("GET", path, &[(TOKEN_HEADER, &t)])).await,
            200
        );
        // No real time passes: only the clock moves past the TTL.
        clock
            .jump(crate::clock::SignedDuration::from_millis(1001))
            .unwrap();
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
    async fn credentials_document_is_text_plain_and_stable() {
        let imds = imds(ImdsConfig::default());
        let r = imds.handle(req("GET", CREDS, &[]), None).await.unwrap();
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
