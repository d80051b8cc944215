//! Checks a SigV4-signed request against the credential store, the way STS does.
//!
//! The signature is recomputed with the `aws-sigv4` crate from the headers the client
//! listed in `SignedHeaders`, the body, the `X-Amz-Date` time and the region/service of
//! the credential scope, using the secret key the store issued for the access key id.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use chrono::{DateTime, NaiveDateTime, Utc};
use http::HeaderMap;

use crate::credentials::IssuedCredentials;

/// How far `X-Amz-Date` may be from the server's clock (AWS allows 15 minutes).
pub const MAX_CLOCK_SKEW: Duration = Duration::from_secs(15 * 60);

/// Why a request's signature was not accepted. Each maps to one STS error code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// No `Authorization` header (STS: `MissingAuthenticationToken`, 403).
    #[error("Request is missing Authentication Token")]
    Missing,
    /// The `Authorization` header or `X-Amz-Date` cannot be parsed
    /// (STS: `IncompleteSignature`, 400).
    #[error("{0}")]
    Malformed(String),
    /// The access key id was never issued by this store (STS: `InvalidClientTokenId`).
    #[error("The security token included in the request is invalid.")]
    UnknownAccessKey,
    /// `X-Amz-Security-Token` is missing or belongs to other credentials
    /// (STS: `InvalidClientTokenId`).
    #[error("The security token included in the request is invalid.")]
    WrongSessionToken,
    /// The credentials have expired (STS: `ExpiredToken`).
    #[error("The security token included in the request is expired")]
    Expired,
    /// `X-Amz-Date` is more than 15 minutes away from now (STS: `SignatureDoesNotMatch`).
    #[error(
        "Signature expired: {0} is now earlier or later than the allowed 15 minutes of clock skew"
    )]
    Stale(String),
    /// The recomputed signature differs (STS: `SignatureDoesNotMatch`).
    #[error("The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")]
    Mismatch,
}

impl SignatureError {
    /// The STS error code and HTTP status for this error.
    pub fn sts_code(&self) -> (&'static str, u16) {
        match self {
            SignatureError::Missing => ("MissingAuthenticationToken", 403),
            SignatureError::Malformed(_) => ("IncompleteSignature", 400),
            SignatureError::UnknownAccessKey | SignatureError::WrongSessionToken => {
                ("InvalidClientTokenId", 403)
            }
            SignatureError::Expired => ("ExpiredToken", 403),
            SignatureError::Stale(_) | SignatureError::Mismatch => ("SignatureDoesNotMatch", 403),
        }
    }
}

/// The parsed `Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    /// The access key id from the credential scope.
    pub access_key_id: String,
    /// Scope date, `YYYYMMDD`.
    pub date: String,
    /// Scope region, e.g. `us-east-1`.
    pub region: String,
    /// Scope service, e.g. `sts`.
    pub service: String,
    /// Lower-case header names, in the order given.
    pub signed_headers: Vec<String>,
    /// Hex signature.
    pub signature: String,
}

/// Parses an `Authorization` header value.
///
/// # Errors
/// [`SignatureError::Malformed`] naming what is missing.
pub fn parse_authorization(value: &str) -> Result<Authorization, SignatureError> {
    let malformed = |what: &str| SignatureError::Malformed(format!("Authorization header {what}"));
    let rest = value
        .strip_prefix("AWS4-HMAC-SHA256 ")
        .ok_or_else(|| malformed("does not use AWS4-HMAC-SHA256"))?;
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let (key, val) = part
            .trim()
            .split_once('=')
            .ok_or_else(|| malformed("has a part without `=`"))?;
        match key {
            "Credential" => credential = Some(val),
            "SignedHeaders" => signed = Some(val),
            "Signature" => signature = Some(val),
            _ => return Err(malformed("has an unknown part")),
        }
    }
    let credential = credential.ok_or_else(|| malformed("lacks Credential"))?;
    let scope: Vec<&str> = credential.split('/').collect();
    let [access_key_id, date, region, service, "aws4_request"] = scope.as_slice() else {
        return Err(malformed(
            "has a Credential that is not KEY/DATE/REGION/SERVICE/aws4_request",
        ));
    };
    Ok(Authorization {
        access_key_id: access_key_id.to_string(),
        date: date.to_string(),
        region: region.to_string(),
        service: service.to_string(),
        signed_headers: signed
            .ok_or_else(|| malformed("lacks SignedHeaders"))?
            .split(';')
            .map(str::to_ascii_lowercase)
            .collect(),
        signature: signature
            .ok_or_else(|| malformed("lacks Signature"))?
            .to_string(),
    })
}

/// Checks `method uri headers body` at wall-clock `now` against the credentials
/// `lookup` finds for the signature's access key id (the instance store, then the
/// sessions STS issued); returns the credentials that signed it.
///
/// `uri` is the request target as received (path and query). Checks, in STS's order:
/// authorization present and well formed, key known, session token matches, credentials
/// unexpired, date within 15 minutes, signature equal.
///
/// # Errors
/// The first [`SignatureError`] found.
pub fn verify(
    method: &str,
    uri: &str,
    headers: &HeaderMap,
    body: &[u8],
    lookup: &dyn Fn(&str) -> Option<Arc<IssuedCredentials>>,
    now: DateTime<Utc>,
) -> Result<(Authorization, Arc<IssuedCredentials>), SignatureError> {
    let header_str = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let auth_value = header_str("authorization").ok_or(SignatureError::Missing)?;
    let auth = parse_authorization(auth_value)?;
    let creds = lookup(&auth.access_key_id).ok_or(SignatureError::UnknownAccessKey)?;
    if header_str("x-amz-security-token") != Some(creds.session_token.as_str()) {
        return Err(SignatureError::WrongSessionToken);
    }
    if creds.is_expired(now) {
        return Err(SignatureError::Expired);
    }
    let amz_date = header_str("x-amz-date")
        .ok_or_else(|| SignatureError::Malformed("X-Amz-Date header is missing".into()))?;
    let signed_at = NaiveDateTime::parse_from_str(amz_date, "%Y%m%dT%H%M%SZ")
        .map_err(|_| {
            SignatureError::Malformed(format!("X-Amz-Date `{amz_date}` is not YYYYMMDDTHHMMSSZ"))
        })?
        .and_utc();
    if (now - signed_at)
        .abs()
        .to_std()
        .map_or(true, |skew| skew > MAX_CLOCK_SKEW)
    {
        return Err(SignatureError::Stale(amz_date.to_string()));
    }

    // Re-sign with only the headers the client signed; the signer adds x-amz-date and
    // x-amz-security-token itself.
    let mut to_sign: Vec<(&str, &str)> = Vec::new();
    for name in &auth.signed_headers {
        if name == "x-amz-date" || name == "x-amz-security-token" {
            continue;
        }
        for value in headers.get_all(name.as_str()) {
            let value = value.to_str().map_err(|_| {
                SignatureError::Malformed(format!("signed header {name} is not text"))
            })?;
            to_sign.push((name.as_str(), value));
        }
    }
    let identity: Identity = Credentials::new(
        creds.access_key_id.clone(),
        creds.secret_access_key.clone(),
        Some(creds.session_token.clone()),
        None,
        "mock-imds",
    )
    .into();
    let mut settings = SigningSettings::default();
    settings.excluded_headers = Some(Vec::new());
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(&auth.region)
        .name(&auth.service)
        .time(SystemTime::from(signed_at))
        .settings(settings)
        .build()
        .map_err(|e| SignatureError::Malformed(e.to_string()))?;
    let signable =
        SignableRequest::new(method, uri, to_sign.into_iter(), SignableBody::Bytes(body))
            .map_err(|e| SignatureError::Malformed(e.to_string()))?;
    let output =
        sign(signable, &params.into()).map_err(|e| SignatureError::Malformed(e.to_string()))?;
    if output.signature() != auth.signature {
        return Err(SignatureError::Mismatch);
    }
    Ok((auth, creds))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    /// Signs a GetCallerIdentity request like an SDK would, with aws-sigv4.
    fn signed(
        creds: &IssuedCredentials,
        secret: &str,
        token: &str,
        at: SystemTime,
        body: &[u8],
    ) -> HeaderMap {
        let identity: Identity = Credentials::new(
            creds.access_key_id.clone(),
            secret,
            Some(token.to_string()),
            None,
            "test",
        )
        .into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region("us-east-1")
            .name("sts")
            .time(at)
            .settings(SigningSettings::default())
            .build()
            .unwrap();
        let base = [
            ("host", "127.0.0.1:9"),
            ("content-type", "application/x-www-form-urlencoded"),
        ];
        let signable =
            SignableRequest::new("POST", "/", base.into_iter(), SignableBody::Bytes(body)).unwrap();
        let (instructions, _) = sign(signable, &params.into()).unwrap().into_parts();
        let mut headers = HeaderMap::new();
        for (k, v) in base {
            headers.insert(k, HeaderValue::from_static(v));
        }
        for (k, v) in instructions.headers() {
            headers.insert(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        headers
    }

    use crate::credentials::CredentialStore;

    fn store() -> (CredentialStore, Arc<IssuedCredentials>) {
        let store =
            CredentialStore::new("role", Duration::from_secs(3600), Duration::from_secs(60));
        let creds = store.current(Utc::now());
        (store, creds)
    }

    const BODY: &[u8] = b"Action=GetCallerIdentity&Version=2011-06-15";

    #[test]
    fn accepts_a_correct_signature() {
        let (store, c) = store();
        let h = signed(
            &c,
            &c.secret_access_key,
            &c.session_token,
            SystemTime::now(),
            BODY,
        );
        let (auth, who) = verify("POST", "/", &h, BODY, &|k| store.lookup(k), Utc::now()).unwrap();
        assert_eq!(who.access_key_id, c.access_key_id);
        assert_eq!(auth.service, "sts");
    }

    #[test]
    fn rejects_wrong_secret_body_token_key_and_age() {
        let (store, c) = store();
        let now = SystemTime::now();
        let wrong_secret = signed(&c, "not-the-secret", &c.session_token, now, BODY);
        assert_eq!(
            verify(
                "POST",
                "/",
                &wrong_secret,
                BODY,
                &|k| store.lookup(k),
                Utc::now()
            )
            .unwrap_err(),
            SignatureError::Mismatch
        );

        let good = signed(&c, &c.secret_access_key, &c.session_token, now, BODY);
        let tampered = b"Action=GetCallerIdentity&Version=2011-06-16";
        assert_eq!(
            verify(
                "POST",
                "/",
                &good,
                tampered,
                &|k| store.lookup(k),
                Utc::now()
            )
            .unwrap_err(),
            SignatureError::Mismatch
        );

        let wrong_token = signed(&c, &c.secret_access_key, "other-token", now, BODY);
        assert_eq!(
            verify(
                "POST",
                "/",
                &wrong_token,
                BODY,
                &|k| store.lookup(k),
                Utc::now()
            )
            .unwrap_err(),
            SignatureError::WrongSessionToken
        );

        let mut unknown = good.clone();
        let auth = unknown["authorization"]
            .to_str()
            .unwrap()
            .replace(&c.access_key_id, "ASIAMOCKAAAAAAAAAAAA");
        unknown.insert("authorization", HeaderValue::from_str(&auth).unwrap());
        let err = verify(
            "POST",
            "/",
            &unknown,
            BODY,
            &|k| store.lookup(k),
            Utc::now(),
        )
        .unwrap_err();
        assert_eq!(err, SignatureError::UnknownAccessKey);
        assert_eq!(err.sts_code(), ("InvalidClientTokenId", 403));

        let old = signed(
            &c,
            &c.secret_access_key,
            &c.session_token,
            now - Duration::from_secs(16 * 60),
            BODY,
        );
        assert!(matches!(
            verify("POST", "/", &old, BODY, &|k| store.lookup(k), Utc::now()),
            Err(SignatureError::Stale(_))
        ));

        let later = Utc::now() + chrono::Duration::hours(2);
        let expired = verify("POST", "/", &good, BODY, &|k| store.lookup(k), later).unwrap_err();
        assert_eq!(expired.sts_code(), ("ExpiredToken", 403));

        let mut none = good.clone();
        none.remove("authorization");
        assert_eq!(
            verify("POST", "/", &none, BODY, &|k| store.lookup(k), Utc::now()).unwrap_err(),
            SignatureError::Missing
        );
    }

    #[test]
    fn parses_authorization_and_names_what_is_wrong() {
        let a = parse_authorization(
            "AWS4-HMAC-SHA256 Credential=ASIAX/20261129/us-east-1/sts/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc",
        )
        .unwrap();
        assert_eq!(a.signed_headers, vec!["host", "x-amz-date"]);
        for bad in [
            "Basic xyz",
            "AWS4-HMAC-SHA256 Credential=ASIAX/20261129, SignedHeaders=host, Signature=a",
            "AWS4-HMAC-SHA256 Credential=ASIAX/d/r/s/aws4_request",
        ] {
            assert!(
                matches!(parse_authorization(bad), Err(SignatureError::Malformed(_))),
                "{bad}"
            );
        }
    }
}
