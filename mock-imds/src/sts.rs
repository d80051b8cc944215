//! The fake STS: `GetCallerIdentity` over the AWS Query protocol, accepting only
//! requests signed (SigV4) with credentials that mock-imds issued.
//!
//! Responses imitate real STS: on success the `GetCallerIdentityResult` with the
//! assumed-role ARN `arn:aws:sts::<account>:assumed-role/<role>/<instance-id>`; on failure
//! an `ErrorResponse` with the code real STS uses (`InvalidClientTokenId`,
//! `SignatureDoesNotMatch`, `ExpiredToken`, `MissingAuthenticationToken`,
//! `IncompleteSignature`, `InvalidAction`).

use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Limited};
use rand::distr::{Alphanumeric, SampleString};

use crate::clock::Clock;
use crate::config::InstanceIdentity;
use crate::credentials::CredentialStore;
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

/// Largest request body read (bytes); larger gets 413.
pub const MAX_BODY: usize = 64 * 1024;

const XMLNS: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

/// The fake STS service.
#[derive(Debug)]
pub(crate) struct Sts {
    identity: InstanceIdentity,
    credentials: Option<Arc<CredentialStore>>,
    events: EventLog,
    /// The virtual wall clock: the `X-Amz-Date` skew check, credential expiry and the
    /// `Date` header.
    clock: Arc<Clock>,
}

impl Sts {
    /// A fake STS trusting `credentials` (none: every key is unknown), telling time by
    /// `clock`.
    pub(crate) fn new(
        identity: InstanceIdentity,
        credentials: Option<Arc<CredentialStore>>,
        events: EventLog,
        clock: Arc<Clock>,
    ) -> Self {
        Self {
            identity,
            credentials,
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
        let (mut response, outcome) = self.answer(&parts, &body, &action, now);
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
        let verified = sigv4_check::verify(
            parts.method.as_str(),
            target,
            &parts.headers,
            body,
            store,
            now,
        );
        let creds = match verified {
            Ok((_, creds)) => creds,
            Err(err) => {
                let (code, status) = err.sts_code();
                return error(status, code, &err.to_string());
            }
        };
        if action != "GetCallerIdentity" {
            return error(
                400,
                "InvalidAction",
                &format!("Could not find operation {action} for version 2011-06-15"),
            );
        }
        let id = &self.identity;
        let arn = format!(
            "arn:aws:sts::{}:assumed-role/{}/{}",
            id.account_id, creds.role_name, id.instance_id
        );
        let body = format!(
            "<GetCallerIdentityResponse xmlns=\"{XMLNS}\">\n  <GetCallerIdentityResult>\n    <Arn>{arn}</Arn>\n    <UserId>AROAMOCKROLEID:{instance}</UserId>\n    <Account>{account}</Account>\n  </GetCallerIdentityResult>\n  <ResponseMetadata>\n    <RequestId>{rid}</RequestId>\n  </ResponseMetadata>\n</GetCallerIdentityResponse>\n",
            instance = id.instance_id,
            account = id.account_id,
            rid = request_id(),
        );
        (
            ec2_http::with_body(StatusCode::OK, "text/xml", Bytes::from(body)),
            StsOutcome::Accepted { arn },
        )
    }
}

fn request_id() -> String {
    Alphanumeric
        .sample_string(&mut rand::rng(), 32)
        .to_lowercase()
}

fn error(status: u16, code: &str, message: &str) -> (HttpResponse, StsOutcome) {
    let sender = if status >= 500 { "Receiver" } else { "Sender" };
    let message = message
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
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
