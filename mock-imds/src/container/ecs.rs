//! The ECS agent's task-credentials endpoint, `GET /v2/credentials/<id>`.
//!
//! Behaviour imitated (aws/amazon-ecs-agent, `agent/handlers/v1/credentials_handler.go`,
//! shared by its v2 handler with the prefix `CredentialsV2Request: `):
//! - success: `{"RoleArn","AccessKeyId","SecretAccessKey","Token","Expiration"}` as
//!   `application/json`, `Expiration` in seconds (`2006-01-02T15:04:05Z`);
//! - no id → 400 `{"code":"NoIdInRequest","message":"CredentialsV2Request: No ID in the
//!   request","HTTPErrorCode":400}`; an unknown id → 400 `InvalidIdInRequest`
//!   (`… ID not found`); no role behind it → 503 `CredentialsUninitialized`
//!   (`… Credentials uninitialized for ID`), as the agent answers while it reconciles.
//!
//! With `AWS_CONTAINER_CREDENTIALS_FULL_URI` the SDKs send the authorization token as
//! `Authorization`; the agent itself serves only `RELATIVE_URI` and checks no token, so
//! the answer to a missing or wrong token is the mock's own, in the agent's error shape:
//! 401 `{"code":"InvalidAuthorizationToken","message":"CredentialsV2Request: Authorization
//! token missing or invalid","HTTPErrorCode":401}`. Nothing is served without the token
//! when the mock has one.

use http::{HeaderValue, StatusCode};

use super::ContainerConfig;
use crate::credentials::CredentialStore;
use crate::ec2_http::{self, HttpResponse};

/// The path every ECS credentials request starts with; the id follows.
pub(crate) const PATH_PREFIX: &str = "/v2/credentials/";

const PREFIX: &str = "CredentialsV2Request: ";

/// The agent's error document, `{"code","message","HTTPErrorCode"}`.
fn error(status: StatusCode, code: &str, message: &str) -> HttpResponse {
    let body = serde_json::json!({
        "code": code,
        "message": format!("{PREFIX}{message}"),
        "HTTPErrorCode": status.as_u16(),
    });
    ec2_http::with_body(status, "application/json", body.to_string().into())
}

/// The answer to `GET /v2/credentials/{id}` carrying `authorization`.
pub(crate) fn answer(
    id: &str,
    authorization: Option<&HeaderValue>,
    config: &ContainerConfig,
    store: Option<&CredentialStore>,
    account_id: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> HttpResponse {
    if let Some(token) = &config.ecs_authorization_token {
        if authorization.map(HeaderValue::as_bytes) != Some(token.as_bytes()) {
            return error(
                StatusCode::UNAUTHORIZED,
                "InvalidAuthorizationToken",
                "Authorization token missing or invalid",
            );
        }
    }
    if id.is_empty() {
        return error(
            StatusCode::BAD_REQUEST,
            "NoIdInRequest",
            "No ID in the request",
        );
    }
    if id != config.ecs_credentials_id {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidIdInRequest",
            "ID not found",
        );
    }
    let Some(store) = store else {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "CredentialsUninitialized",
            "Credentials uninitialized for ID",
        );
    };
    let creds = store.current(now);
    let body = serde_json::json!({
        "RoleArn": format!("arn:aws:iam::{account_id}:role/{}", store.role_name()),
        "AccessKeyId": creds.access_key_id,
        "SecretAccessKey": creds.secret_access_key,
        "Token": creds.session_token,
        "Expiration": creds.expiration.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    });
    super::json_ok(body.to_string())
}
