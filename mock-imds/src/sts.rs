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

use crate::config::InstanceIdentity;
use crate::credentials::CredentialStore;
use crate::ec2_http::{self, HttpResponse};
use crate::events::{EventKind, EventLog, StsOutcome};
use crate::sigv4_check::{self, parse_authorization};

/// Largest request body read (bytes); larger gets 413.
pub const MAX_BODY: usize = 64 * 1024;

const XMLNS: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

/// The fake STS service.
#[derive(Debug)]
pub struct Sts {
    identity: InstanceIdentity,
    credentials: Option<Arc<CredentialStore>>,
    events: EventLog,
}

impl Sts {
    /// A fake STS trusting `credentials` (none: every key is unknown).
    pub fn new(
        identity: InstanceIdentity,
        credentials: Option<Arc<CredentialStore>>,
        events: EventLog,
    ) -> Self {
        Self {
            identity,
            credentials,
            events,
        }
    }

    /// Answers one request and logs it as an [`EventKind::StsRequest`].
    pub async fn handle<B>(&self, req: Request<B>) -> HttpResponse
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

        let (mut response, outcome) = self.answer(&parts, &body, &action);
        // EC2ws is IMDS's server name, not STS's.
        response.headers_mut().remove(http::header::SERVER);
        self.events.record_at(
            arrived,
            EventKind::StsRequest {
                action,
                access_key_id,
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
            chrono::Utc::now(),
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
