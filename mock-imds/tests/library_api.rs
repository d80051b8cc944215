//! The library API a test holds: faults set in the grammar's words, scoped faults, the
//! events view, the SDK environment, the control client, and which answers carry EC2's
//! `Server` header.

use std::net::SocketAddr;
use std::time::Duration;

use mock_imds::{
    Change, ControlClient, ControlClientError, EventType, Fault, ImdsState, MockImds, Schedule,
    Step, Target,
};

mod support;
use support::{raw_get, WAIT};

#[tokio::test]
async fn scoped_faults_lift_when_the_guard_goes() {
    let imds = MockImds::builder().start().await.unwrap();
    let token = Fault::status(403).on(Target::Token);
    let guard = imds.inject_scoped(token.clone()).await.unwrap();
    assert_eq!(imds.state().to_string(), "status(403) on token");
    guard.lift().await.unwrap();
    assert!(imds.state().is_up());
    imds.inject(Fault::NoRole).await.unwrap();
    imds.lift(Target::Credentials).await.unwrap();
    assert!(imds.state().is_up());

    // A plain drop lifts it in the background.
    drop(imds.inject_scoped(Fault::Reset).await.unwrap());
    let deadline = tokio::time::Instant::now() + WAIT;
    while !imds.state().is_up() {
        assert!(tokio::time::Instant::now() < deadline, "{}", imds.state());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    // A guard lifts only its own fault: one set over it on the same target stays.
    let guard = imds.inject_scoped(Fault::Reset).await.unwrap();
    imds.inject(Fault::status(500)).await.unwrap();
    guard.lift().await.unwrap();
    assert_eq!(imds.state().to_string(), "status(500)");
    imds.recover().await.unwrap();
    assert!(imds.state().is_up());
}

#[tokio::test]
async fn the_events_view_narrows_by_mark_kind_and_path() {
    let imds = MockImds::builder().start().await.unwrap();
    let before = imds.mark();
    assert_eq!(
        raw_get(imds.addr(), "/latest/meta-data/instance-id").await,
        Ok(200)
    );
    imds.inject(Fault::NoRole).await.unwrap();
    let after = imds.mark();
    let creds = "/latest/meta-data/iam/security-credentials/mock-imds-role";
    assert_eq!(raw_get(imds.addr(), creds).await, Ok(404));
    imds.recover().await.unwrap();
    assert_eq!(raw_get(imds.addr(), creds).await, Ok(200));

    let requests = imds.query().since(before).of(EventType::ImdsRequest);
    assert_eq!(requests.len(), 3);
    assert_eq!(
        imds.query()
            .since(after)
            .path("/latest/meta-data/iam/*")
            .len(),
        2
    );
    assert_eq!(imds.query().path("*/instance-id").len(), 1);
    assert_eq!(imds.query().since(after).of(EventType::Transition).len(), 1);
    assert_eq!(imds.query().since(before).credential_fetches().len(), 1);
    assert_eq!(imds.credential_fetches_since(after), 1);
}

#[tokio::test]
async fn sdk_env_points_at_the_mocks() {
    let imds = MockImds::builder().start().await.unwrap();
    let env = imds.sdk_env();
    let get = |name: &str| {
        env.set
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(
        get("AWS_EC2_METADATA_SERVICE_ENDPOINT"),
        Some(format!("{}/", imds.endpoint()))
    );
    assert_eq!(get("AWS_ENDPOINT_URL_STS"), Some(imds.sts_endpoint()));
    assert_eq!(get("AWS_CONFIG_FILE").as_deref(), Some("/dev/null"));
    assert!(env.unset.contains(&"AWS_ACCESS_KEY_ID"));
}

#[tokio::test]
async fn the_builder_does_not_depend_on_order() {
    let schedule =
        Schedule::new(vec![Step::new(Duration::ZERO, "refuse".parse().unwrap())]).unwrap();
    let a = MockImds::builder()
        .schedule(schedule.clone())
        .initial_state("status(500)".parse().unwrap())
        .start()
        .await
        .unwrap();
    let b = MockImds::builder()
        .initial_state("status(500)".parse().unwrap())
        .schedule(schedule)
        .start()
        .await
        .unwrap();
    assert_eq!(a.state(), b.state());
    assert_eq!(a.state().to_string(), "refuse");
}

/// Only IMDS answers carry EC2's `Server: EC2ws`; STS and the control API send none.
#[tokio::test]
async fn only_imds_answers_say_ec2ws() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let imds = MockImds::builder()
        .control(SocketAddr::from(([127, 0, 0, 1], 0)))
        .start()
        .await
        .unwrap();
    let head = |addr: String, request: &'static str| async move {
        let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
        conn.write_all(request.as_bytes()).await.unwrap();
        let mut answer = Vec::new();
        conn.read_to_end(&mut answer).await.unwrap();
        String::from_utf8_lossy(&answer).to_lowercase()
    };
    let get = "GET /latest/meta-data/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    let no_host = "GET /state HTTP/1.1\r\nConnection: close\r\n\r\n";
    let imds_addr = imds.addr().to_string();
    let sts_addr = imds
        .sts_endpoint()
        .trim_start_matches("http://")
        .to_string();
    let control_addr = imds
        .control_endpoint()
        .unwrap()
        .trim_start_matches("http://")
        .to_string();
    assert!(head(imds_addr.clone(), get).await.contains("server: ec2ws"));
    assert!(
        head(imds_addr, no_host).await.contains("server: ec2ws"),
        "the listener's own 400"
    );
    let sts = head(
        sts_addr,
        "GET /?Action=GetCallerIdentity HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(
        sts.starts_with("http/1.1 403") && !sts.contains("server:"),
        "{sts}"
    );
    let control = head(
        control_addr.clone(),
        "GET /state HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(
        control.starts_with("http/1.1 200") && !control.contains("server:"),
        "{control}"
    );
    assert!(!head(control_addr, no_host).await.contains("server:"));
}

#[tokio::test]
async fn the_control_client_speaks_every_endpoint() {
    let imds = MockImds::builder()
        .seed(3)
        .control(SocketAddr::from(([127, 0, 0, 1], 0)))
        .start()
        .await
        .unwrap();
    let client = ControlClient::for_endpoint(&imds.control_endpoint().unwrap()).unwrap();
    let state = client.state().await.unwrap();
    assert_eq!(
        (state.state.as_str(), state.up, state.seed),
        ("up", true, 3)
    );
    client
        .inject(Fault::status(403).on(Target::Token))
        .await
        .unwrap();
    // A target with `+` and a space goes through percent-encoded (a `+` stays a `+`).
    let glob = Target::Path("/latest/a+b c/*".into());
    let state = client.inject(Fault::Reset.on(glob.clone())).await.unwrap();
    assert_eq!(
        state.state,
        "reset on path(/latest/a+b c/*); status(403) on token"
    );
    let state = client.lift(&glob).await.unwrap();
    assert_eq!(state.state, "status(403) on token");
    assert_eq!(
        client.set_state("refuse; no-role").await.unwrap().state,
        "no-role; refuse"
    );
    assert_eq!(client.recover().await.unwrap().state, "up");
    match client.inject("sometimes").await {
        Err(ControlClientError::Api {
            status: 400,
            message,
        }) => {
            assert!(message.contains("unknown fault"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    let schedule = Schedule::new(vec![
        Step::new(Duration::ZERO, Change::Set(Fault::Blackhole.into())),
        Step::new(Duration::from_secs(3600), Change::Up),
    ])
    .unwrap();
    assert_eq!(client.run_schedule(&schedule).await.unwrap().steps, 2);
    let deadline = tokio::time::Instant::now() + WAIT;
    while imds.state() != "blackhole".parse::<ImdsState>().unwrap() {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    client.stop_schedule().await.unwrap();
    assert_eq!(client.reset().await.unwrap().state, "up");
    let events = client.events(0.0).await.unwrap();
    assert_eq!(
        events
            .iter()
            .filter(|e| e.kind.event_type() == EventType::Transition)
            .count(),
        imds.query().of(EventType::Transition).len()
    );
    assert!(!client.events_json(0.0).await.unwrap().is_empty());

    let nobody = ControlClient::new(SocketAddr::from(([127, 0, 0, 1], 1)));
    assert!(matches!(
        nobody.state().await,
        Err(ControlClientError::Connect { .. })
    ));
}
