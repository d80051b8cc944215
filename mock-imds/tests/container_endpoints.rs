//! The container credentials endpoints (ECS agent, EKS Pod Identity agent) over real TCP:
//! a missing or wrong authorization token is refused on both; an expired service-account
//! JWT gets the agent's plain-text 400; a rotated token file holds a new JWT that works
//! while the old one stops at its `exp`; `… on container` faults reach only them.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use mock_imds::{ContainerConfig, ContainerSurface, Fault, MockImds, SignedDuration, Target};

/// One GET with `authorization` (if any) on a fresh connection: status, content type,
/// body; or how it failed.
async fn get(
    base: &str,
    path: &str,
    authorization: Option<&str>,
) -> Result<(u16, String, String), String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr: SocketAddr = base.trim_start_matches("http://").parse().unwrap();
    let exchange = async {
        let mut conn = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let auth = authorization
            .map(|a| format!("Authorization: {a}\r\n"))
            .unwrap_or_default();
        conn.write_all(
            format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Connection: close\r\n\r\n")
                .as_bytes(),
        )
        .await
        .map_err(|e| format!("write: {e}"))?;
        let mut answer = Vec::new();
        conn.read_to_end(&mut answer)
            .await
            .map_err(|e| format!("read: {e}"))?;
        let text = String::from_utf8_lossy(&answer).to_string();
        let (head, body) = text.split_once("\r\n\r\n").ok_or("no head")?;
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or("no status")?;
        let content_type = head
            .lines()
            .find_map(|l| l.strip_prefix("content-type: "))
            .unwrap_or_default()
            .to_string();
        Ok((status, content_type, body.to_string()))
    };
    tokio::time::timeout(support::WAIT, exchange)
        .await
        .unwrap_or_else(|_| Err("no answer in time".into()))
}

async fn mock(lifetime: Duration) -> MockImds {
    MockImds::builder()
        .container(ContainerConfig {
            token_lifetime: lifetime,
            ..ContainerConfig::default()
        })
        .start()
        .await
        .unwrap()
}

#[tokio::test]
async fn ecs_full_uri_refuses_a_missing_or_wrong_token_and_serves_the_right_one() {
    let imds = mock(Duration::from_secs(3600)).await;
    let c = imds.container_endpoints().unwrap().clone();
    let path = c.ecs_relative_uri.clone();
    let token = c.ecs_token.clone().unwrap();
    for wrong in [None, Some("nope"), Some("")] {
        let (status, ctype, body) = get(&c.base, &path, wrong).await.unwrap();
        assert_eq!(status, 401, "{wrong:?}: {body}");
        assert_eq!(ctype, "application/json");
        let doc: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(doc["code"], "InvalidAuthorizationToken");
        assert_eq!(doc["HTTPErrorCode"], 401);
        assert!(doc.get("AccessKeyId").is_none());
    }
    let (status, _, body) = get(&c.base, &path, Some(&token)).await.unwrap();
    assert_eq!(status, 200, "{body}");
    let doc: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(doc["AccessKeyId"].as_str().unwrap().starts_with("ASIAMOCK"));
    assert!(doc["RoleArn"]
        .as_str()
        .unwrap()
        .ends_with(":role/mock-imds-role"));
    assert!(doc["Expiration"].as_str().unwrap().ends_with('Z'));
    // The token file holds the same token.
    assert_eq!(std::fs::read_to_string(&c.ecs_token_file).unwrap(), token);
    let (status, _, body) = get(&c.base, "/v2/credentials/other", Some(&token))
        .await
        .unwrap();
    assert_eq!(status, 400);
    assert!(body.contains("\"InvalidIdInRequest\""), "{body}");
    assert!(
        body.contains("CredentialsV2Request: ID not found"),
        "{body}"
    );
    let (status, _, body) = get(&c.base, "/v2/credentials/", Some(&token))
        .await
        .unwrap();
    assert_eq!(status, 400);
    assert!(body.contains("\"NoIdInRequest\""), "{body}");
    // Every request is in the event log with its path.
    let paths: Vec<String> = imds
        .events()
        .into_iter()
        .filter_map(|e| match e.kind {
            mock_imds::EventKind::ImdsRequest { path, .. } => Some(path),
            _ => None,
        })
        .collect();
    assert_eq!(paths.iter().filter(|p| **p == path).count(), 4, "{paths:?}");
}

#[tokio::test]
async fn pod_identity_refuses_missing_and_wrong_tokens_as_plain_text() {
    let imds = mock(Duration::from_secs(3600)).await;
    let c = imds.container_endpoints().unwrap().clone();
    let (status, ctype, body) = get(&c.base, "/v1/credentials", None).await.unwrap();
    assert_eq!((status, ctype.as_str()), (400, "text/plain; charset=utf-8"));
    assert_eq!(body, "Service account token cannot be empty\n");
    let (status, _, body) = get(&c.base, "/v1/credentials", Some("not-a-jwt"))
        .await
        .unwrap();
    assert_eq!(status, 400);
    assert!(
        body.starts_with("Service account token cannot be parsed: token is malformed"),
        "{body}"
    );
    // The ECS token is no service-account token either.
    let ecs = c.ecs_token.clone().unwrap();
    let (status, _, _) = get(&c.base, "/v1/credentials", Some(&ecs)).await.unwrap();
    assert_eq!(status, 400);
    // A well-formed JWT the mock did not write: EKS Auth's rejection.
    let jwt = std::fs::read_to_string(&c.pod_identity_token_file).unwrap();
    let mut parts: Vec<&str> = jwt.split('.').collect();
    parts[2] = "Zm9yZ2Vk";
    let forged = parts.join(".");
    let (status, _, body) = get(&c.base, "/v1/credentials", Some(&forged))
        .await
        .unwrap();
    assert_eq!(status, 400);
    assert!(body.contains("(InvalidTokenException)"), "{body}");
    let (status, ctype, body) = get(&c.base, "/v1/credentials", Some(&jwt)).await.unwrap();
    assert_eq!(
        (status, ctype.as_str()),
        (200, "application/json"),
        "{body}"
    );
    let doc: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(doc["AccountId"], "123456789012");
    let expiration = doc["Expiration"].as_str().unwrap();
    assert!(
        chrono::DateTime::parse_from_rfc3339(expiration).is_ok(),
        "{expiration}"
    );
    // The same credential store as IMDS: the key is one STS knows.
    let key = doc["AccessKeyId"].as_str().unwrap();
    assert!(imds.credentials().unwrap().lookup(key).is_some());
}

#[tokio::test]
async fn an_expired_jwt_gets_the_agents_plain_text_400_and_a_rotated_file_works() {
    let imds = mock(Duration::from_secs(600)).await;
    let c = imds.container_endpoints().unwrap().clone();
    let old = std::fs::read_to_string(&c.pod_identity_token_file).unwrap();
    assert_eq!(
        get(&c.base, "/v1/credentials", Some(&old)).await.unwrap().0,
        200
    );
    // The kubelet writes a new token; the old one still works until its exp.
    imds.rotate_token().unwrap().unwrap();
    let new = std::fs::read_to_string(&c.pod_identity_token_file).unwrap();
    assert_ne!(new, old);
    assert_eq!(
        get(&c.base, "/v1/credentials", Some(&old)).await.unwrap().0,
        200
    );
    // Past the old token's exp (only the virtual clock moves).
    imds.jump_clock(SignedDuration::from_millis(601_000))
        .unwrap();
    let (status, ctype, body) = get(&c.base, "/v1/credentials", Some(&old)).await.unwrap();
    assert_eq!((status, ctype.as_str()), (400, "text/plain; charset=utf-8"));
    assert_eq!(
        body,
        "Service account token failed basic claim validations: token is expired\n"
    );
    // The new one was issued before the jump with the same lifetime: expired as well.
    assert_eq!(
        get(&c.base, "/v1/credentials", Some(&new)).await.unwrap().0,
        400
    );
    // A rotation on the jumped clock gives a token that works.
    imds.rotate_token().unwrap().unwrap();
    let newest = std::fs::read_to_string(&c.pod_identity_token_file).unwrap();
    assert_eq!(
        get(&c.base, "/v1/credentials", Some(&newest))
            .await
            .unwrap()
            .0,
        200
    );
    assert!(imds
        .events()
        .iter()
        .any(|e| matches!(e.kind, mock_imds::EventKind::TokenFileRotated { .. })));
}

#[tokio::test]
async fn container_faults_reach_only_the_container_listener() {
    let imds = mock(Duration::from_secs(3600)).await;
    let c = imds.container_endpoints().unwrap().clone();
    let jwt = std::fs::read_to_string(&c.pod_identity_token_file).unwrap();
    imds.inject(Fault::status(429).on(Target::Container))
        .await
        .unwrap();
    let (status, ctype, body) = get(&c.base, "/v1/credentials", Some(&jwt)).await.unwrap();
    assert_eq!(
        (status, ctype.as_str(), body.as_str()),
        (429, "text/plain; charset=utf-8", "Too Many Requests\n")
    );
    assert_eq!(
        support::raw_get(imds.addr(), "/latest/meta-data/").await,
        Ok(200)
    );
    imds.inject(Fault::Refuse.on(Target::Container))
        .await
        .unwrap();
    let refused = get(&c.base, "/v1/credentials", Some(&jwt))
        .await
        .unwrap_err();
    assert!(refused.contains("connect"), "{refused}");
    assert_eq!(
        support::raw_get(imds.addr(), "/latest/meta-data/").await,
        Ok(200)
    );
    // An IMDS fault leaves the container endpoints alone.
    imds.set_state("refuse".parse().unwrap()).await.unwrap();
    assert_eq!(
        get(&c.base, "/v1/credentials", Some(&jwt)).await.unwrap().0,
        200
    );
    assert!(support::raw_get(imds.addr(), "/latest/meta-data/")
        .await
        .is_err());
}

#[tokio::test]
async fn container_env_names_the_sdk_variables() {
    let imds = mock(Duration::from_secs(3600)).await;
    let c = imds.container_endpoints().unwrap().clone();
    let env = imds.container_env(ContainerSurface::PodIdentity).unwrap();
    assert_eq!(
        env[0],
        (
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            format!("{}/v1/credentials", c.base)
        )
    );
    assert_eq!(env[1].0, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    let env = imds.container_env(ContainerSurface::EcsToken).unwrap();
    assert_eq!(
        env[1],
        (
            "AWS_CONTAINER_AUTHORIZATION_TOKEN",
            c.ecs_token.clone().unwrap()
        )
    );
    assert!(
        imds.container_env(ContainerSurface::EcsRelativeUri)
            .is_none(),
        "no relative URI with a token"
    );
    assert!(MockImds::builder()
        .start()
        .await
        .unwrap()
        .container_env(ContainerSurface::EcsToken)
        .is_none());
}

/// A counted `container` fault (`times=N`) lifts itself after N container requests, as
/// on IMDS: the container listener announces it to the switch like IMDS does.
#[tokio::test]
async fn a_counted_container_fault_lifts_itself() {
    let imds = mock(Duration::from_secs(3600)).await;
    let c = imds.container_endpoints().unwrap().clone();
    let jwt = std::fs::read_to_string(&c.pod_identity_token_file).unwrap();
    imds.inject(Fault::status(429).on(Target::Container).times(2))
        .await
        .unwrap();
    for _ in 0..2 {
        let (status, _, _) = get(&c.base, "/v1/credentials", Some(&jwt)).await.unwrap();
        assert_eq!(status, 429);
    }
    // The lift is a transition the switch puts in force shortly after the last request.
    let deadline = tokio::time::Instant::now() + support::WAIT;
    while imds.state().to_string() != "up" {
        assert!(
            tokio::time::Instant::now() < deadline,
            "still {}",
            imds.state()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (status, _, body) = get(&c.base, "/v1/credentials", Some(&jwt)).await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(imds
        .events()
        .iter()
        .any(|e| matches!(e.kind, mock_imds::EventKind::FaultLifted { after: 2, .. })));
}
