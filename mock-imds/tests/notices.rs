//! Notices: each path answers as EC2 documents before and after its notice (spot,
//! rebalance, maintenance, lifecycle), stamped on the virtual clock; notices and faults
//! compose on a schedule; `POST /notice` posts one and refuses bad text with 400.

use std::net::SocketAddr;
use std::time::Duration;

use mock_imds::notice::Notice;
use mock_imds::{
    ControlClient, EventKind, EventType, MockImds, Schedule, SignedDuration, Step, StepChange,
};

mod support;
use support::{call, WAIT};

/// One `GET path` on a fresh connection: status and body.
async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let exchange = async {
        let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
        conn.write_all(
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await
        .unwrap();
        let mut answer = Vec::new();
        conn.read_to_end(&mut answer).await.unwrap();
        let text = String::from_utf8_lossy(&answer).to_string();
        let status = text.split_whitespace().nth(1).unwrap().parse().unwrap();
        let body = text.split_once("\r\n\r\n").unwrap().1.to_string();
        (status, body)
    };
    tokio::time::timeout(WAIT, exchange)
        .await
        .expect("an answer")
}

const SPOT: &str = "/latest/meta-data/spot/instance-action";
const TERMINATION: &str = "/latest/meta-data/spot/termination-time";
const REBALANCE: &str = "/latest/meta-data/events/recommendations/rebalance";
const SCHEDULED: &str = "/latest/meta-data/events/maintenance/scheduled";
const HISTORY: &str = "/latest/meta-data/events/maintenance/history";
const LIFECYCLE: &str = "/latest/meta-data/autoscaling/target-lifecycle-state";

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body:?}"))
}

/// The `time` of the `n`th notice event (1-based), once it is in the log.
async fn notice_time(imds: &MockImds, n: usize) -> String {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let notices = imds.query().of(EventType::Notice);
        if let Some(e) = notices.get(n - 1) {
            match &e.kind {
                EventKind::Notice { time, .. } => return time.clone(),
                other => panic!("{other:?}"),
            }
        }
        assert!(tokio::time::Instant::now() < deadline, "no notice {n}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn each_notice_path_answers_as_ec2_documents_before_and_after() {
    let imds = MockImds::builder().start().await.unwrap();
    let addr = imds.addr();
    for path in [SPOT, TERMINATION, REBALANCE, LIFECYCLE] {
        assert_eq!(get(addr, path).await.0, 404, "{path} before any notice");
    }
    assert_eq!(get(addr, SCHEDULED).await, (200, "[]".into()));
    assert_eq!(get(addr, HISTORY).await, (200, "[]".into()));
    let (_, root) = get(addr, "/latest/meta-data/").await;
    assert!(!root.lines().any(|l| l == "spot/"), "{root}");
    assert!(root.lines().any(|l| l == "events/"), "{root}");

    let now = imds.now();
    let at = imds.post_notice(&"spot-interruption(terminate, 2m)".parse().unwrap());
    assert_eq!((at - now).num_seconds(), 120, "time = clock now + lead");
    let (status, body) = get(addr, SPOT).await;
    assert_eq!(status, 200);
    let action = json(&body);
    assert_eq!(action["action"], "terminate");
    assert_eq!(action["time"], notice_time(&imds, 1).await);
    assert_eq!(
        get(addr, TERMINATION).await,
        (200, action["time"].as_str().unwrap().to_string())
    );
    assert_eq!(
        get(addr, "/latest/meta-data/spot/").await,
        (200, "instance-action\ntermination-time".into())
    );
    let (_, root) = get(addr, "/latest/meta-data/").await;
    assert!(root.lines().any(|l| l == "spot/"), "{root}");

    // A stop notice replaces it; EC2 serves termination-time only for terminate.
    imds.post_notice(&"spot-interruption(stop)".parse().unwrap());
    assert_eq!(json(&get(addr, SPOT).await.1)["action"], "stop");
    assert_eq!(get(addr, TERMINATION).await.0, 404);

    imds.post_notice(&Notice::Rebalance);
    let (status, body) = get(addr, REBALANCE).await;
    assert_eq!(status, 200);
    assert_eq!(json(&body)["noticeTime"], notice_time(&imds, 3).await);

    imds.post_notice(&"maintenance(system-reboot, 1h, 30m)".parse().unwrap());
    let list = json(&get(addr, SCHEDULED).await.1);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["Code"], "system-reboot");
    assert_eq!(list[0]["State"], "active");
    for key in [
        "Description",
        "EventId",
        "NotBefore",
        "NotAfter",
        "NotBeforeDeadline",
    ] {
        assert!(list[0][key].is_string(), "{key}: {list}");
    }
    assert!(list[0]["NotBefore"].as_str().unwrap().ends_with(" GMT"));

    imds.post_notice(&"lifecycle(InService)".parse().unwrap());
    assert_eq!(get(addr, LIFECYCLE).await, (200, "InService".into()));
    imds.post_notice(&"lifecycle(Terminated)".parse().unwrap());
    assert_eq!(get(addr, LIFECYCLE).await, (200, "Terminated".into()));

    imds.post_notice(&Notice::Clear);
    for path in [SPOT, REBALANCE, LIFECYCLE] {
        assert_eq!(get(addr, path).await.0, 404, "{path} after clear");
    }
    assert_eq!(get(addr, SCHEDULED).await, (200, "[]".into()));
    assert_eq!(json(&get(addr, HISTORY).await.1)[0]["State"], "canceled");
    assert_eq!(imds.query().of(EventType::Notice).len(), 7);
}

#[tokio::test]
async fn notices_and_faults_compose_on_a_schedule_stamped_on_the_jumped_clock() {
    let glob = "/latest/meta-data/spot/*";
    let step = |ms: u64, change: StepChange| Step::with(Duration::from_millis(ms), change);
    let schedule = Schedule::new(vec![
        step(
            0,
            StepChange::from(
                format!("status(500) on path({glob})")
                    .parse::<mock_imds::Change>()
                    .unwrap(),
            ),
        ),
        step(
            200,
            StepChange {
                clock: Some(SignedDuration::from_millis(3_600_000)),
                notice: Some("spot-interruption(hibernate, 2m)".parse().unwrap()),
                ..StepChange::default()
            },
        ),
    ])
    .unwrap();
    let imds = MockImds::builder()
        .schedule(schedule)
        .start()
        .await
        .unwrap();
    // Before the notice: the fault answers the (absent) path.
    assert_eq!(get(imds.addr(), SPOT).await.0, 500);
    let time = notice_time(&imds, 1).await;
    // The notice is in force, but the fault on its path still answers first.
    assert_eq!(get(imds.addr(), SPOT).await.0, 500);
    assert_eq!(
        get(imds.addr(), REBALANCE).await.0,
        404,
        "other paths untouched"
    );
    imds.lift(mock_imds::Target::Path(glob.into()))
        .await
        .unwrap();
    let (status, body) = get(imds.addr(), SPOT).await;
    assert_eq!(status, 200);
    let action = json(&body);
    assert_eq!(action["action"], "hibernate");
    assert_eq!(action["time"], time);
    // Stamped on the jumped clock: an hour and two minutes ahead of real time.
    let t = chrono::DateTime::parse_from_rfc3339(&time).unwrap();
    let ahead = (t.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_seconds();
    assert!((3600 + 60..=3600 + 180).contains(&ahead), "{ahead} s ahead");
    let step_at = imds.query().of(EventType::Notice)[0].clone();
    assert!(
        matches!(step_at.kind, EventKind::Notice { scheduled: true, asked_at, .. } if asked_at == Duration::from_millis(200)),
        "{step_at:?}"
    );
}

#[tokio::test]
async fn the_control_api_posts_notices_and_refuses_bad_ones() {
    let imds = MockImds::builder()
        .control("127.0.0.1:0".parse().unwrap())
        .start()
        .await
        .unwrap();
    let client = ControlClient::for_endpoint(&imds.control_endpoint().unwrap()).unwrap();
    let answer = client
        .post_notice("spot-interruption(terminate)")
        .await
        .unwrap();
    assert_eq!(answer.notice, "spot-interruption(terminate, 2m)");
    assert_eq!(
        json(&get(imds.addr(), SPOT).await.1)["time"],
        answer.time.as_str()
    );
    let (status, body) = call(&client, "POST", "/notice", r#"{"notice": "meteor"}"#).await;
    assert_eq!(status, 400);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("unknown notice `meteor`"),
        "{body}"
    );
    let (status, _) = call(&client, "GET", "/notice", "").await;
    assert_eq!(status, 405);
}
