//! Drivers never reach anything but loopback, even when an SDK ignores the endpoint
//! settings: the Python guard (boto3 driver, AWS CLI via sitecustomize) and the Node guard
//! (js-v3 and js-v2 drivers, js_support.cjs) refuse the connection before it is made; the
//! boto3-crt and aiobotocore drivers use the Python one. `0.0.0.0` stands in for a
//! foreign address: it is not loopback, and if a guard ever failed, Linux would connect it
//! to this machine, not the network.

use std::process::Command;

mod support;

use harness::driver::{
    self, CallOutcome, DriverError, DriverKind, DriverSetup, DriverSpec, Endpoints, SdkSettings,
};

#[test]
fn python_guard_refuses_non_loopback_and_allows_loopback() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("loopback_guard.py"),
        harness::driver::boto3::LOOPBACK_GUARD,
    )
    .unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let script = format!(
        "import sys, socket\nsys.path.insert(0, {dir:?})\nimport loopback_guard\n\
s = socket.socket()\ntry:\n    s.connect(('0.0.0.0', 9))\n    print('CONNECTED')\nexcept loopback_guard.NonLoopbackConnection as e:\n    print('blocked:', e)\n\
ok = socket.create_connection(('127.0.0.1', {port}))\nprint('loopback ok')\n",
        dir = dir.path().display().to_string()
    );
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("blocked: imds-harness blocked a connection to 0.0.0.0:9"),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("loopback ok"), "{stdout}");
    assert!(!stdout.contains("CONNECTED"), "{stdout}");
}

/// A misrouted endpoint is the driver's problem: each child driver reports the blocked
/// connection as a driver error, never as an SDK error kind an expectation could match.
async fn blocked_call_is_a_driver_error(kind: DriverKind) {
    let setup = DriverSetup::with_python(support::python());
    let spec = DriverSpec::new(kind.clone());
    let mut driver = driver::start(&spec, &setup)
        .await
        .expect("run scripts/setup first (.venv, npm ci in harness/drivers/js)");
    driver
        .configure(&Endpoints {
            imds: "http://0.0.0.0:9".into(),
            sts: "http://0.0.0.0:9".into(),
            region: "us-east-1".into(),
            settings: SdkSettings::defaults(&kind),
            seed: 0,
            clock: Default::default(),
        })
        .await
        .unwrap();
    match driver.new_client().await {
        // botocore resolves credentials at creation: IMDS is blocked there first.
        Err(DriverError::Broken {
            message, stderr, ..
        }) => {
            let text = format!("{message} {stderr}");
            assert!(
                text.contains("imds-harness blocked a connection to 0.0.0.0"),
                "{kind}: {text}"
            );
            return;
        }
        Err(e) => panic!("{kind}: {e}"),
        Ok(_) => {}
    }
    match driver.call("guard.1").await {
        Err(DriverError::Broken {
            message, stderr, ..
        }) => {
            let text = format!("{message} {stderr}");
            assert!(text.contains("blocked a connection"), "{kind}: {text}")
        }
        Err(e) => panic!("{kind}: {e}"),
        Ok(CallOutcome::Err { kind: k, message }) => {
            panic!("{kind}: a blocked connection was reported as the SDK error {k}: {message}")
        }
        Ok(ok) => panic!("{kind}: a call to 0.0.0.0 succeeded: {ok:?}"),
    }
}

#[tokio::test]
async fn js_driver_refuses_non_loopback_endpoints_as_a_driver_error() {
    blocked_call_is_a_driver_error(DriverKind::JsV3).await;
}

#[tokio::test]
async fn boto3_driver_refuses_non_loopback_endpoints_as_a_driver_error() {
    blocked_call_is_a_driver_error(DriverKind::Boto3).await;
}

#[tokio::test]
async fn aws_cli_driver_refuses_non_loopback_endpoints_as_a_driver_error() {
    blocked_call_is_a_driver_error(DriverKind::AwsCli).await;
}

#[tokio::test]
async fn js_v2_driver_refuses_non_loopback_endpoints_as_a_driver_error() {
    blocked_call_is_a_driver_error(DriverKind::JsV2).await;
}

#[tokio::test]
async fn aiobotocore_driver_refuses_non_loopback_endpoints_as_a_driver_error() {
    blocked_call_is_a_driver_error(DriverKind::Aiobotocore).await;
}

#[tokio::test]
async fn boto3_crt_driver_refuses_non_loopback_endpoints_as_a_driver_error() {
    blocked_call_is_a_driver_error(DriverKind::Boto3Crt).await;
}
