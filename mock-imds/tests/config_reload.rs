//! `serve --config FILE` watches its file: a change is served on the next request over
//! connections kept alive since before it, with the faults left in force; a change that
//! does not read is logged (a `config-reload` event with its error) and the old config
//! kept; an AEMM JSON config is read.

use std::time::Duration;

use mock_imds::{ControlClient, EventKind};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

mod support;
use support::{Serve, WAIT};

/// One HTTP/1.1 connection kept alive across requests.
struct KeepAlive {
    stream: TcpStream,
}

impl KeepAlive {
    async fn open(addr: &str) -> Self {
        Self {
            stream: TcpStream::connect(addr).await.unwrap(),
        }
    }

    /// `GET path` on this connection: status and body (read by `content-length`).
    async fn get(&mut self, path: &str) -> (u16, String) {
        let exchange = async {
            self.stream
                .write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
                .await
                .expect("the kept-alive connection is still open");
            let mut buf = Vec::new();
            loop {
                let mut chunk = [0u8; 4096];
                let n = self.stream.read(&mut chunk).await.unwrap();
                assert!(n > 0, "the connection was closed");
                buf.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buf).to_string();
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let length: usize = head
                        .lines()
                        .find_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            k.eq_ignore_ascii_case("content-length")
                                .then(|| v.trim().parse().ok())?
                        })
                        .expect("a content-length");
                    if body.len() >= length {
                        let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
                        return (status, body[..length].to_string());
                    }
                }
            }
        };
        tokio::time::timeout(WAIT, exchange)
            .await
            .expect("an answer")
    }
}

/// Replaces `file` whole (write beside it, then rename), as editors do, so the watcher
/// never reads it half written.
fn replace(file: &std::path::Path, text: &str) {
    let next = file.with_extension("next");
    std::fs::write(&next, text).unwrap();
    std::fs::rename(&next, file).unwrap();
}

fn imds_addr(serve: &Serve) -> String {
    serve.endpoints["imds"]
        .as_str()
        .unwrap()
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string()
}

/// The `config-reload` events so far: `None` for one in force, `Some(why)` for one not.
async fn reloads(client: &ControlClient) -> Vec<Option<String>> {
    client
        .events(0.0)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|e| match e.kind {
            EventKind::ConfigReload { error, .. } => Some(error),
            _ => None,
        })
        .collect()
}

async fn wait_for_reloads(client: &ControlClient, n: usize) -> Vec<Option<String>> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let seen = reloads(client).await;
        if seen.len() >= n {
            return seen;
        }
        assert!(tokio::time::Instant::now() < deadline, "{seen:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_changed_config_is_served_on_kept_alive_connections_and_a_bad_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("instance.toml");
    std::fs::write(&file, "[identity]\ninstance_type = \"t3.small\"\n").unwrap();
    let serve = Serve::start(&["--config", file.to_str().unwrap()]);
    let client = ControlClient::for_endpoint(serve.endpoints["control"].as_str().unwrap()).unwrap();
    client
        .inject("status(503) on path(/latest/meta-data/ami-id)")
        .await
        .unwrap();
    let addr = imds_addr(&serve);
    let mut conn = KeepAlive::open(&addr).await;
    let type_path = "/latest/meta-data/instance-type";
    assert_eq!(conn.get(type_path).await, (200, "t3.small".into()));
    assert_eq!(conn.get("/latest/meta-data/tags/instance/").await.0, 404);

    replace(
        &file,
        "tags_in_metadata = true\n[identity]\ninstance_type = \"m5.large\"\n[tags]\nteam = \"infra\"\n",
    );
    assert_eq!(wait_for_reloads(&client, 1).await, [None]);
    // The same connection, opened before the change, gets the new config.
    assert_eq!(conn.get(type_path).await, (200, "m5.large".into()));
    assert_eq!(
        conn.get("/latest/meta-data/tags/instance/team").await,
        (200, "infra".into())
    );
    // The fault set before the reload is still in force.
    assert_eq!(conn.get("/latest/meta-data/ami-id").await.0, 503);

    replace(&file, "[identity]\ninstance_tpye = \"x\"\n");
    let seen = wait_for_reloads(&client, 2).await;
    let why = seen[1].as_deref().expect("the bad file is refused");
    assert!(why.contains("instance.toml:2:1"), "{why}");
    assert!(why.contains("unknown field `instance_tpye`"), "{why}");
    assert_eq!(
        conn.get(type_path).await,
        (200, "m5.large".into()),
        "old config kept"
    );
}

#[tokio::test]
async fn an_aemm_json_config_is_read_and_watched() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("aemm-config.json");
    let aemm = |mac: &str| {
        format!(
            r#"{{"metadata": {{"values": {{"mac": "{mac}", "public-ipv4": "54.92.157.77", "instance-type": "m4.xlarge"}}}},
               "userdata": {{"values": {{"userdata": "MTIzNCxqb2huLHJlYm9vdCx0cnVlCg=="}}}},
               "spot": {{"action": "terminate"}}}}"#
        )
    };
    std::fs::write(&file, aemm("0e:49:61:0f:c3:77")).unwrap();
    let serve = Serve::start(&["--config", file.to_str().unwrap()]);
    let client = ControlClient::for_endpoint(serve.endpoints["control"].as_str().unwrap()).unwrap();
    let mut conn = KeepAlive::open(&imds_addr(&serve)).await;
    assert_eq!(
        conn.get("/latest/meta-data/mac").await,
        (200, "0e:49:61:0f:c3:77".into())
    );
    assert_eq!(
        conn.get("/latest/meta-data/public-ipv4").await,
        (200, "54.92.157.77".into())
    );
    assert_eq!(
        conn.get("/latest/user-data").await,
        (200, "1234,john,reboot,true\n".into())
    );
    let doc: serde_json::Value = serde_json::from_str(
        &conn
            .get("/latest/dynamic/instance-identity/document")
            .await
            .1,
    )
    .unwrap();
    assert_eq!(doc["instanceType"], "m4.xlarge");
    // AEMM's `spot` section is not a notice here: 404 until one is posted.
    assert_eq!(
        conn.get("/latest/meta-data/spot/instance-action").await.0,
        404
    );

    replace(&file, &aemm("0e:49:61:0f:c3:88"));
    assert_eq!(wait_for_reloads(&client, 1).await, [None]);
    assert_eq!(
        conn.get("/latest/meta-data/mac").await,
        (200, "0e:49:61:0f:c3:88".into())
    );
}
