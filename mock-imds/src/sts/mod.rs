//! The fake STS: `GetCallerIdentity` and `AssumeRole` over the AWS Query protocol,
//! accepting only requests signed (SigV4) with credentials that mock-imds issued: the
//! instance's, or a session an earlier `AssumeRole` issued (role chaining).
//!
//! Responses imitate real STS: `GetCallerIdentityResult` with the caller's assumed-role
//! ARN (`arn:aws:sts::<account>:assumed-role/<role>/<instance-id>` for the instance's
//! credentials, `…/<assumed role>/<session name>` for a session's); `AssumeRoleResult`
//! with `Credentials` and `AssumedRoleUser`; on failure an `ErrorResponse` with the code
//! real STS uses (`InvalidClientTokenId`, `SignatureDoesNotMatch`, `ExpiredToken`,
//! `MissingAuthenticationToken`, `IncompleteSignature`, `InvalidAction`,
//! `ValidationError`, `AccessDenied`).
//!
//! - `assume_role.rs`: `AssumeRole`'s parameters and STS's validation of them.
//! - `sessions.rs`: the sessions issued ([`AssumedSession`]), looked up by access key.

mod assume_role;
mod sessions;

pub use assume_role::{
    DEFAULT_DURATION_SECONDS, MAX_DURATION_SECONDS, MIN_DURATION_SECONDS,
    ROLE_CHAINING_LIMIT_SECONDS,
};
pub use sessions::AssumedSession;
pub(crate) use sessions::SessionStore;

use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Limited};
use rand::distr::{Alphanumeric, SampleString};

use crate::clock::Clock;
use crate::config::InstanceIdentity;
use crate::credentials::{ec2_time, CredentialStore, IssuedCredentials};
use crate::ec2_http::{self, HttpResponse};
use crate::events::{EventKind, EventLog, StsOutcome};
use crate::sigv4_check::{self, parse_authorization};

/// The request header a caller may set to name its call (`[A-Za-z0-9._-]`, at most 64
/// characters); the STS event records it as `call_id`. Real STS ignores unknown headers,
/// and so does the signature check unless the header was signed.
pub const CALL_ID_HEADER: &str = "x-mock-imds-call-id";

/// The user-agent token that names a call for callers that cannot set a header (the AWS
/// CLI: `AWS_EXECUTION_ENV=mock-imds-call-ID` puts `exec-env/mock-imds-call-ID` in
/// botocore's `User-Agent`).
pub const CALL_ID_USER_AGENT_PREFIX: &str = "mock-imds-call-";

/// The call id of a request: the [`CALL_ID_HEADER`] value, else the id after
/// [`CALL_ID_USER_AGENT_PREFIX`] in `User-Agent`; `None` when neither names a valid id.
pub fn call_id(headers: &http::HeaderMap) -> Option<String> {
    let valid = |id: &str| {
        !id.is_empty()
            && id.len() <= 64
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    };
    if let Some(id) = headers.get(CALL_ID_HEADER).and_then(|v| v.to_str().ok()) {
        return valid(id.trim()).then(|| id.trim().to_string());
    }
    let agent = headers.get(http::header::USER_AGENT)?.to_str().ok()?;
    let rest = &agent[agent.find(CALL_ID_USER_AGENT_PREFIX)? + CALL_ID_USER_AGENT_PREFIX.len()..];
    let id: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        .collect();
    valid(&id).then_some(id)
}

/// True for an STS action a credential provider makes on its own before a client's call
/// (`AssumeRole`, role chaining from instance credentials), rather than the client call
/// itself: a harness tying STS calls to a driver's attempts leaves these out (they carry
/// no call id: the SDK's internal STS client is not the driver's).
pub fn is_credential_action(action: &str) -> bool {
    action == "AssumeRole"
}

/// Largest request body read (bytes); larger gets 413.
pub const MAX_BODY: usize = 64 * 1024;

const XMLNS: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

/// The fake STS service.
#[derive(Debug)]
pub(crate) struct Sts {
    identity: InstanceIdentity,
    credentials: Option<Arc<CredentialStore>>,
    /// The sessions `AssumeRole` issued (shared with the handle, which lists them).
    sessions: Arc<SessionStore>,
    events: EventLog,
    /// The virtual wall clock: the `X-Amz-Date` skew check, credential expiry and the
    /// `Date` header.
    clock: Arc<Clock>,
}

impl Sts {
    /// A fake STS trusting `credentials` (none: every key is unknown) and the sessions it
    /// issues into `sessions`, telling time by `clock`.
    pub(crate) fn new(
        identity: InstanceIdentity,
        credentials: Option<Arc<CredentialStore>>,
        sessions: Arc<SessionStore>,
        events: EventLog,
        clock: Arc<Clock>,
    ) -> Self {
        Self {
            identity,
            credentials,
            sessions,
            events,
            clock,
        }
    }

    /// Answers one request and logs it as an [`EventKind::StsRequest`].
    pub(crate) async fn handle<B>(&self, req: Request<B>) -> HttpResponse
    where
        B: hyper::body::Body,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let arrived = self.events.now();
        let (parts, body) = req.into_parts();
        let body = match Limited::new(body, MAX_BODY).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(_) => return ec2_http::error_page(StatusCode::PAYLOAD_TOO_LARGE),
        };
        let params: Vec<(String, String)> = if parts.method == Method::POST {
            form_urlencoded::parse(&body).into_owned().collect()
        } else {
            form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
                .into_owned()
                .collect()
        };
        let action = params
            .iter()
            .find(|(k, _)| k == "Action")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        let access_key_id = parts
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_authorization(v).ok())
            .map(|a| a.access_key_id);
        let call_id = call_id(&parts.headers);
        let user_agent = parts
            .headers
            .get(http::header::USER_AGENT)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());

        let now = self.clock.now();
        let (mut response, outcome) = self.answer(&parts, &body, &params, &action, now);
        // The virtual time (hyper would stamp the real one): SDKs that correct their
        // clock skew from it (JS v3) must see the mock's clock.
        if let Ok(date) =
            http::HeaderValue::from_str(&now.format("%a, %d %b %Y %H:%M:%S GMT").to_string())
        {
            response.headers_mut().insert(http::header::DATE, date);
        }
        self.events.record_at(
            arrived,
            EventKind::StsRequest {
                action,
                access_key_id,
                call_id,
                user_agent,
                outcome,
            },
        );
        response
    }

    fn answer(
        &self,
        parts: &http::request::Parts,
        body: &Bytes,
        params: &[(String, String)],
        action: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> (HttpResponse, StsOutcome) {
        let target = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        let Some(store) = &self.credentials else {
            return error(
                403,
                "InvalidClientTokenId",
                "The security token included in the request is invalid.",
            );
        };
        let lookup = |key: &str| -> Option<Arc<IssuedCredentials>> {
            store
                .lookup(key)
                .or_else(|| self.sessions.lookup(key).map(|s| s.credentials.clone()))
        };
        let verified = sigv4_check::verify(
            parts.method.as_str(),
            target,
            &parts.headers,
            body,
            &lookup,
            now,
        );
        let creds = match verified {
            Ok((_, creds)) => creds,
            Err(err) => {
                let (code, status) = err.sts_code();
                return error(status, code, &err.to_string());
            }
        };
        let session = self.sessions.lookup(&creds.access_key_id);
        match action {
            "GetCallerIdentity" => self.caller_identity(&creds, session.as_deref()),
            "AssumeRole" => self.assume_role(params, &creds, session.as_deref(), now),
            _ => error(
                400,
                "InvalidAction",
                &format!("Could not find operation {action} for version 2011-06-15"),
            ),
        }
    }

    /// The caller's ARN: the session's, or the instance role's.
    fn caller_arn(&self, creds: &IssuedCredentials, session: Option<&AssumedSession>) -> String {
        match session {
            Some(s) => s.arn.clone(),
            None => format!(
                "arn:aws:sts::{}:assumed-role/{}/{}",
                self.identity.account_id, creds.role_name, self.identity.instance_id
            ),
        }
    }

    fn caller_identity(
        &self,
        creds: &IssuedCredentials,
        session: Option<&AssumedSession>,
    ) -> (HttpResponse, StsOutcome) {
        let id = &self.identity;
        let arn = self.caller_arn(creds, session);
        let (user_id, account) = match session {
            Some(s) => (s.assumed_role_id.clone(), s.account_id.clone()),
            None => (
                format!("AROAMOCKROLEID:{}", id.instance_id),
                id.account_id.clone(),
            ),
        };
        let body = format!(
            "<GetCallerIdentityResponse xmlns=\"{XMLNS}\">\n  <GetCallerIdentityResult>\n    <Arn>{arn}</Arn>\n    <UserId>{user_id}</UserId>\n    <Account>{account}</Account>\n  </GetCallerIdentityResult>\n  <ResponseMetadata>\n    <RequestId>{rid}</RequestId>\n  </ResponseMetadata>\n</GetCallerIdentityResponse>\n",
            arn = xml_text(&arn),
            user_id = xml_text(&user_id),
            rid = request_id(),
        );
        (
            ec2_http::with_body(StatusCode::OK, "text/xml", Bytes::from(body)),
            StsOutcome::Accepted {
                arn,
                issued_access_key_id: None,
            },
        )
    }

    /// `AssumeRole` with credentials already verified: validate, then issue a session
    /// that lives `DurationSeconds` on the virtual clock.
    fn assume_role(
        &self,
        params: &[(String, String)],
        creds: &IssuedCredentials,
        session: Option<&AssumedSession>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> (HttpResponse, StsOutcome) {
        let req = match assume_role::parse(params) {
            Ok(req) => req,
            Err(refusal) => return error(400, refusal.code, &refusal.message),
        };
        let Some(role) = assume_role::role_arn(&req.role_arn) else {
            // What STS answers for an ARN naming no role it could assume (aws-vault#668:
            // a mistyped ARN got "not authorized", not a validation error).
            return error(
                403,
                "AccessDenied",
                &format!(
                    "User: {} is not authorized to perform: sts:AssumeRole on resource: {}",
                    self.caller_arn(creds, session),
                    req.role_arn
                ),
            );
        };
        let issued = self.sessions.issue(&req, &role, &creds.access_key_id, now);
        let c = &issued.credentials;
        let body = format!(
            "<AssumeRoleResponse xmlns=\"{XMLNS}\">\n  <AssumeRoleResult>\n    <AssumedRoleUser>\n      <AssumedRoleId>{id}</AssumedRoleId>\n      <Arn>{arn}</Arn>\n    </AssumedRoleUser>\n    <Credentials>\n      <AccessKeyId>{key}</AccessKeyId>\n      <SecretAccessKey>{secret}</SecretAccessKey>\n      <SessionToken>{token}</SessionToken>\n      <Expiration>{expiration}</Expiration>\n    </Credentials>\n  </AssumeRoleResult>\n  <ResponseMetadata>\n    <RequestId>{rid}</RequestId>\n  </ResponseMetadata>\n</AssumeRoleResponse>\n",
            id = xml_text(&issued.assumed_role_id),
            arn = xml_text(&issued.arn),
            key = c.access_key_id,
            secret = c.secret_access_key,
            token = c.session_token,
            expiration = ec2_time(c.expiration),
            rid = request_id(),
        );
        (
            ec2_http::with_body(StatusCode::OK, "text/xml", Bytes::from(body)),
            StsOutcome::Accepted {
                arn: issued.arn.clone(),
                issued_access_key_id: Some(c.access_key_id.clone()),
            },
        )
    }
}

/// `text` escaped for an XML text node.
fn xml_text(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn request_id() -> String {
    Alphanumeric
        .sample_string(&mut rand::rng(), 32)
        .to_lowercase()
}

fn error(status: u16, code: &str, message: &str) -> (HttpResponse, StsOutcome) {
    let sender = if status >= 500 { "Receiver" } else { "Sender" };
    let message = xml_text(message);
    let body = format!(
        "<ErrorResponse xmlns=\"{XMLNS}\">\n  <Error>\n    <Type>{sender}</Type>\n    <Code>{code}</Code>\n    <Message>{message}</Message>\n  </Error>\n  <RequestId>{}</RequestId>\n</ErrorResponse>\n",
        request_id()
    );
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    (
        ec2_http::with_body(status, "text/xml", Bytes::from(body)),
        StsOutcome::Rejected {
            code: code.to_string(),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> http::HeaderMap {
        let mut map = http::HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, v.parse().unwrap());
        }
        map
    }

    #[test]
    fn call_id_comes_from_the_header_or_the_user_agent() {
        assert_eq!(
            call_id(&headers(&[(CALL_ID_HEADER, "c0ffee.3")])).as_deref(),
            Some("c0ffee.3")
        );
        let cli = "aws-cli/1.45.11 md/Botocore#1.43.11 ua/2.1 os/linux exec-env/mock-imds-call-ab12.7 md/prompt#off";
        assert_eq!(
            call_id(&headers(&[("user-agent", cli)])).as_deref(),
            Some("ab12.7")
        );
        // The header wins; an invalid id is no id.
        assert_eq!(
            call_id(&headers(&[(CALL_ID_HEADER, "x"), ("user-agent", cli)])).as_deref(),
            Some("x")
        );
        assert_eq!(call_id(&headers(&[(CALL_ID_HEADER, "a b")])), None);
        assert_eq!(
            call_id(&headers(&[("user-agent", "mock-imds-call-")])),
            None
        );
        assert_eq!(call_id(&headers(&[("user-agent", "boto3/1.43")])), None);
    }
}
