//! The EKS Pod Identity agent's `GET /v1/credentials`.
//!
//! Behaviour imitated (aws/eks-pod-identity-agent, `pkg/handlers/eks_credential_handler.go`,
//! `internal/validation/request.go`, `pkg/errors/errors.go`): the raw service-account JWT
//! in `Authorization`; errors as plain text through Go's `http.Error`:
//! - empty → 400 `Service account token cannot be empty`;
//! - not a JWT → 400 `Service account token cannot be parsed: token is malformed: …`;
//! - `exp` passed (on the mock's virtual clock) → 400 `Service account token failed basic
//!   claim validations: token is expired` (botocore#3480);
//! - a well-formed, unexpired JWT the mock never wrote: EKS Auth's rejection passed
//!   through as the agent formats service errors, 400
//!   `[<request id>]: (InvalidTokenException): The service account token is invalid, fault: client`.
//!
//! Success: `{"AccessKeyId","SecretAccessKey","Token","AccountId","Expiration"}` as
//! `application/json`, `Expiration` in Go's RFC 3339 nano (fractional seconds, trailing
//! zeros trimmed: `2026-01-01T00:00:00.5Z`). The agent's `Host` check (403 unless
//! `169.254.170.23` or `[fd00:ec2::23]`) is not made: on loopback the Host is
//! `127.0.0.1:PORT` (the agent's own tests bind localhost too).

use chrono::{DateTime, Utc};
use http::{HeaderValue, StatusCode};

use super::token_file::{parse_exp, TokenFiles};
use super::{go_error, json_ok};
use crate::credentials::CredentialStore;
use crate::ec2_http::HttpResponse;

/// The Pod Identity credentials path.
pub const POD_IDENTITY_PATH: &str = "/v1/credentials";

/// Go's `time.RFC3339Nano`: fractional seconds with trailing zeros trimmed (none when
/// whole).
pub(crate) fn rfc3339_nano(t: DateTime<Utc>) -> String {
    let whole = t.format("%Y-%m-%dT%H:%M:%S").to_string();
    let nanos = t.timestamp_subsec_nanos();
    if nanos == 0 {
        return format!("{whole}Z");
    }
    let fraction = format!("{nanos:09}");
    format!("{whole}.{}Z", fraction.trim_end_matches('0'))
}

/// The answer to `GET /v1/credentials` carrying `authorization`.
pub(crate) fn answer(
    authorization: Option<&HeaderValue>,
    files: &TokenFiles,
    store: Option<&CredentialStore>,
    account_id: &str,
    now: DateTime<Utc>,
) -> HttpResponse {
    let jwt = authorization
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if jwt.is_empty() {
        return go_error(
            StatusCode::BAD_REQUEST,
            "Service account token cannot be empty",
        );
    }
    let exp = match parse_exp(jwt) {
        Ok(exp) => exp,
        Err(why) => {
            return go_error(
                StatusCode::BAD_REQUEST,
                &format!("Service account token cannot be parsed: {why}"),
            )
        }
    };
    if exp.is_some_and(|exp| now.timestamp() > exp) {
        return go_error(
            StatusCode::BAD_REQUEST,
            "Service account token failed basic claim validations: token is expired",
        );
    }
    if files.known(jwt).is_none_or(|t| now > t.expires_at) {
        return go_error(
            StatusCode::BAD_REQUEST,
            "[mock-imds-request]: (InvalidTokenException): The service account token is invalid, fault: client",
        );
    }
    let Some(store) = store else {
        // EKS Auth finds no association for the service account.
        return go_error(
            StatusCode::BAD_REQUEST,
            "[mock-imds-request]: (AccessDeniedException): No Pod Identity association for the service account, fault: client",
        );
    };
    let creds = store.current(now);
    let body = serde_json::json!({
        "AccessKeyId": creds.access_key_id,
        "SecretAccessKey": creds.secret_access_key,
        "Token": creds.session_token,
        "AccountId": account_id,
        "Expiration": rfc3339_nano(creds.expiration),
    });
    json_ok(body.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiration_reads_as_go_rfc3339_nano() {
        let t = DateTime::parse_from_rfc3339("2026-01-01T00:00:00.500Z")
            .unwrap()
            .to_utc();
        assert_eq!(rfc3339_nano(t), "2026-01-01T00:00:00.5Z");
        let t = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .to_utc();
        assert_eq!(rfc3339_nano(t), "2026-01-01T00:00:00Z");
    }
}
