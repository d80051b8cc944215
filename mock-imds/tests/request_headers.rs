//! The request headers that expectations assert on are in the event log: `user_agent`
//! and `token_ttl_seconds` on `imds-request` events (with `token_present`), `user_agent`
//! on `sts-request` events, as `ctl events` prints them.

mod support;
use support::{ctl_events, raw_exchange, Serve};

#[tokio::test]
async fn imds_request_events_record_the_user_agent_and_the_ttl_header_as_sent() {
    let serve = Serve::start(&[]);
    let addr = serve.imds_addr();
    raw_exchange(
        addr,
        "PUT /latest/api/token HTTP/1.1\r\nHost: x\r\nUser-Agent: aws-sdk-rust/1.3 os/linux\r\nX-aws-ec2-metadata-token-ttl-seconds: 21600\r\nConnection: close\r\n\r\n",
    )
    .await
    .unwrap();
    raw_exchange(
        addr,
        "GET /latest/meta-data/instance-id HTTP/1.1\r\nHost: x\r\nX-aws-ec2-metadata-token: bogus\r\nConnection: close\r\n\r\n",
    )
    .await
    .unwrap();
    let requests: Vec<serde_json::Value> = ctl_events(&serve.control_port)
        .into_iter()
        .filter(|e| e["type"] == "imds-request")
        .collect();
    assert_eq!(requests.len(), 2, "{requests:?}");
    assert_eq!(requests[0]["user_agent"], "aws-sdk-rust/1.3 os/linux");
    assert_eq!(requests[0]["token_ttl_seconds"], "21600");
    assert_eq!(requests[0]["token_present"], false);
    assert_eq!(requests[0]["status"], 200);
    // Absent headers are absent fields, not nulls.
    assert!(requests[1].get("user_agent").is_none(), "{}", requests[1]);
    assert!(requests[1].get("token_ttl_seconds").is_none());
    assert_eq!(requests[1]["token_present"], true);
    assert_eq!(requests[1]["status"], 401);
}

#[tokio::test]
async fn sts_request_events_record_the_user_agent() {
    let serve = Serve::start(&[]);
    let sts = serve.endpoints["sts"].as_str().unwrap();
    let addr = sts
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .unwrap();
    raw_exchange(
        addr,
        "POST / HTTP/1.1\r\nHost: x\r\nUser-Agent: botocore/1.43.11\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 43\r\nConnection: close\r\n\r\nAction=GetCallerIdentity&Version=2011-06-15",
    )
    .await
    .unwrap();
    let sts: Vec<serde_json::Value> = ctl_events(&serve.control_port)
        .into_iter()
        .filter(|e| e["type"] == "sts-request")
        .collect();
    assert_eq!(sts.len(), 1, "{sts:?}");
    assert_eq!(sts[0]["user_agent"], "botocore/1.43.11");
    assert_eq!(sts[0]["code"], "MissingAuthenticationToken");
}
