//! `AssumeRole` through the wire: a `mock-imds serve` child, instance credentials fetched
//! from its IMDS over HTTP, requests signed with `aws-sigv4` as an SDK signs them, and
//! `mock-imds ctl` (clock jumps, events, sessions) driving and reading it.

mod support;

use std::net::SocketAddr;
use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use support::{ctl, ctl_events, raw_exchange, Serve};

/// A key, secret and token, as IMDS or `AssumeRole` gave them.
#[derive(Debug, Clone)]
struct Keys {
    id: String,
    secret: String,
    token: String,
}

/// The text between `<tag>` and `</tag>` in `xml`.
fn tag<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = start + xml[start..].find(&format!("</{tag}>"))?;
    Some(&xml[start..end])
}

/// A JSON string field of the credentials document.
fn field(doc: &str, name: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(doc).unwrap_or_else(|e| panic!("{e}: {doc}"));
    v[name]
        .as_str()
        .unwrap_or_else(|| panic!("{name} in {doc}"))
        .to_string()
}

fn body_of(raw: &[u8]) -> (u16, String) {
    let text = String::from_utf8_lossy(raw).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status: {text}"));
    let body = text
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_string();
    (status, body)
}

/// The instance's credentials, as an SDK fetches them (IMDSv2).
async fn instance_keys(imds: SocketAddr) -> Keys {
    let get = |path: &str, token: &str| {
        format!("GET {path} HTTP/1.1\r\nHost: x\r\nX-aws-ec2-metadata-token: {token}\r\nConnection: close\r\n\r\n")
    };
    let (_, token) = body_of(
        &raw_exchange(imds, "PUT /latest/api/token HTTP/1.1\r\nHost: x\r\nX-aws-ec2-metadata-token-ttl-seconds: 60\r\nConnection: close\r\n\r\n")
            .await
            .unwrap(),
    );
    let base = "/latest/meta-data/iam/security-credentials/";
    let (_, role) = body_of(&raw_exchange(imds, &get(base, &token)).await.unwrap());
    let (status, doc) = body_of(
        &raw_exchange(imds, &get(&format!("{base}{}", role.trim()), &token))
            .await
            .unwrap(),
    );
    assert_eq!(status, 200, "{doc}");
    Keys {
        id: field(&doc, "AccessKeyId"),
        secret: field(&doc, "SecretAccessKey"),
        token: field(&doc, "Token"),
    }
}

/// POSTs the Query-protocol form `body` to STS, signed with `keys` at `at` (SigV4,
/// us-east-1/sts, `X-Amz-Security-Token` included): the status and body.
async fn sts(sts: SocketAddr, keys: &Keys, at: SystemTime, body: &str) -> (u16, String) {
    let identity: Identity = Credentials::new(
        keys.id.clone(),
        keys.secret.clone(),
        Some(keys.token.clone()),
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
    let host = sts.to_string();
    let base = [
        ("host", host.as_str()),
        (
            "content-type",
            "application/x-www-form-urlencoded; charset=utf-8",
        ),
    ];
    let signable = SignableRequest::new(
        "POST",
        "/",
        base.into_iter(),
        SignableBody::Bytes(body.as_bytes()),
    )
    .unwrap();
    let (instructions, _) = sign(signable, &params.into()).unwrap().into_parts();
    let mut request = String::from("POST / HTTP/1.1\r\n");
    for (k, v) in base.iter().copied().chain(instructions.headers()) {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    ));
    body_of(&raw_exchange(sts, &request).await.unwrap())
}

fn form(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

fn assume(role: &str, session: &str, duration: Option<&str>) -> String {
    let mut pairs = vec![
        ("Action", "AssumeRole"),
        ("Version", "2011-06-15"),
        ("RoleArn", role),
        ("RoleSessionName", session),
    ];
    if let Some(d) = duration {
        pairs.push(("DurationSeconds", d));
    }
    form(&pairs)
}

const WHO: &str = "Action=GetCallerIdentity&Version=2011-06-15";

fn keys_from(result: &str) -> Keys {
    Keys {
        id: tag(result, "AccessKeyId").unwrap().to_string(),
        secret: tag(result, "SecretAccessKey").unwrap().to_string(),
        token: tag(result, "SessionToken").unwrap().to_string(),
    }
}

fn addr(serve: &Serve, which: &str) -> SocketAddr {
    serve.endpoints[which]
        .as_str()
        .unwrap()
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .unwrap()
}

#[tokio::test]
async fn chained_sessions_are_issued_accepted_and_expire_on_the_virtual_clock() {
    let serve = Serve::start(&[]);
    let sts_addr = addr(&serve, "sts");
    let instance = instance_keys(serve.imds_addr()).await;
    let now = SystemTime::now();

    // Instance credentials → a session of `chained` (15 minutes).
    let role = "arn:aws:iam::210987654321:role/team/chained";
    let (status, xml) = sts(
        sts_addr,
        &instance,
        now,
        &assume(role, "hop-1", Some("900")),
    )
    .await;
    assert_eq!(status, 200, "{xml}");
    let arn = "arn:aws:sts::210987654321:assumed-role/chained/hop-1";
    assert_eq!(tag(&xml, "Arn"), Some(arn));
    let role_id = tag(&xml, "AssumedRoleId").unwrap();
    assert!(
        role_id.starts_with("AROA") && role_id.ends_with(":hop-1"),
        "{role_id}"
    );
    assert_eq!(role_id.split(':').next().unwrap().len(), 21);
    let hop1 = keys_from(&xml);
    assert!(hop1.id.starts_with("ASIAMOCK") && hop1.id != instance.id);
    let expiration: chrono::DateTime<chrono::Utc> =
        tag(&xml, "Expiration").unwrap().parse().unwrap();
    let left = (expiration - chrono::Utc::now()).num_seconds();
    assert!((880..=900).contains(&left), "{left} s left of 900");

    // The session signs GetCallerIdentity, answered with the assumed-role identity.
    let (status, xml) = sts(sts_addr, &hop1, now, WHO).await;
    assert_eq!(status, 200, "{xml}");
    assert_eq!(tag(&xml, "Arn"), Some(arn));
    assert_eq!(tag(&xml, "Account"), Some("210987654321"));
    assert_eq!(tag(&xml, "UserId"), Some(role_id));

    // Chaining on: the session assumes another role (default duration, one hour).
    let (status, xml) = sts(
        sts_addr,
        &hop1,
        now,
        &assume("arn:aws:iam::123456789012:role/second", "hop-2", None),
    )
    .await;
    assert_eq!(status, 200, "{xml}");
    let hop2 = keys_from(&xml);
    let (_, who) = sts(sts_addr, &hop2, now, WHO).await;
    assert_eq!(
        tag(&who, "Arn"),
        Some("arn:aws:sts::123456789012:assumed-role/second/hop-2")
    );

    // Validation, as STS words it.
    let (status, xml) = sts(sts_addr, &instance, now, &assume(role, "a b", Some("100"))).await;
    assert_eq!(
        (status, tag(&xml, "Code")),
        (400, Some("ValidationError")),
        "{xml}"
    );
    assert!(
        tag(&xml, "Message")
            .unwrap()
            .starts_with("2 validation errors detected: Value 'a b' at 'roleSessionName'"),
        "{xml}"
    );
    let (status, xml) = sts(
        sts_addr,
        &instance,
        now,
        &assume(role, "long", Some("7200")),
    )
    .await;
    assert_eq!(
        (status, tag(&xml, "Code")),
        (400, Some("ValidationError")),
        "{xml}"
    );
    assert!(
        tag(&xml, "Message").unwrap().contains("role chaining"),
        "{xml}"
    );
    let (status, xml) = sts(
        sts_addr,
        &instance,
        now,
        &assume("arn:aws:iam::210987654321:user/someone", "s1", None),
    )
    .await;
    assert_eq!(
        (status, tag(&xml, "Code")),
        (403, Some("AccessDenied")),
        "{xml}"
    );
    // Keys nobody issued, and a wrong secret.
    let stranger = Keys {
        id: "ASIAMOCKNOBODY000000".into(),
        ..hop1.clone()
    };
    let (status, xml) = sts(sts_addr, &stranger, now, &assume(role, "s1", None)).await;
    assert_eq!(
        (status, tag(&xml, "Code")),
        (403, Some("InvalidClientTokenId")),
        "{xml}"
    );
    let forged = Keys {
        secret: "x".repeat(40),
        ..hop1.clone()
    };
    let (_, xml) = sts(sts_addr, &forged, now, WHO).await;
    assert_eq!(tag(&xml, "Code"), Some("SignatureDoesNotMatch"), "{xml}");

    // 16 minutes on the virtual clock: the 15-minute session has expired, the one-hour
    // one has not.
    assert!(ctl(&serve.control_port, &["clock", "+16m"]).contains("offset 960000 ms"));
    let later = SystemTime::now() + std::time::Duration::from_secs(16 * 60);
    let (status, xml) = sts(sts_addr, &hop1, later, WHO).await;
    assert_eq!(
        (status, tag(&xml, "Code")),
        (403, Some("ExpiredToken")),
        "{xml}"
    );
    let (status, _) = sts(sts_addr, &hop2, later, WHO).await;
    assert_eq!(status, 200);

    // ctl events: each call an sts-request, the issued key on accepted AssumeRoles.
    let events: Vec<serde_json::Value> = ctl_events(&serve.control_port)
        .into_iter()
        .filter(|e| e["type"] == "sts-request")
        .collect();
    let seen: Vec<(String, String)> = events
        .iter()
        .map(|e| {
            let result = e["result"].as_str().unwrap_or_default();
            let code = e["code"].as_str().unwrap_or(result);
            (e["action"].as_str().unwrap().to_string(), code.to_string())
        })
        .collect();
    let want: Vec<(String, String)> = [
        ("AssumeRole", "accepted"),
        ("GetCallerIdentity", "accepted"),
        ("AssumeRole", "accepted"),
        ("GetCallerIdentity", "accepted"),
        ("AssumeRole", "ValidationError"),
        ("AssumeRole", "ValidationError"),
        ("AssumeRole", "AccessDenied"),
        ("AssumeRole", "InvalidClientTokenId"),
        ("GetCallerIdentity", "SignatureDoesNotMatch"),
        ("GetCallerIdentity", "ExpiredToken"),
        ("GetCallerIdentity", "accepted"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(seen, want);
    assert_eq!(events[0]["access_key_id"], instance.id.as_str());
    assert_eq!(events[0]["issued_access_key_id"], hop1.id.as_str());
    assert_eq!(events[0]["arn"], arn);
    assert_eq!(events[2]["access_key_id"], hop1.id.as_str());
    assert_eq!(events[2]["issued_access_key_id"], hop2.id.as_str());
    assert!(
        events[1].get("issued_access_key_id").is_none(),
        "{}",
        events[1]
    );

    // ctl sessions: both sessions, oldest first, each with the key that assumed it.
    let listed = ctl(&serve.control_port, &["sessions"]);
    let lines: Vec<&str> = listed.lines().collect();
    assert_eq!(lines.len(), 2, "{listed}");
    assert!(
        lines[0].starts_with(&format!("{} {arn} (expires ", hop1.id))
            && lines[0].ends_with(&format!(", assumed by {})", instance.id)),
        "{listed}"
    );
    assert!(
        lines[1].starts_with(&format!(
            "{} arn:aws:sts::123456789012:assumed-role/second/hop-2",
            hop2.id
        )) && lines[1].ends_with(&format!(", assumed by {})", hop1.id)),
        "{listed}"
    );
}
