//! Drivers never reach anything but loopback, even when an SDK ignores the endpoint
//! settings: the Python guard (boto3 driver, AWS CLI via sitecustomize), the Node guard
//! (js-v3 and js-v2 drivers, js_support.cjs), the Go dialer guard (go-v2, go-v1) and the
//! Ruby socket guard refuse the connection before it is made; the boto3-crt and aiobotocore
//! drivers use the Python one. `0.0.0.0` stands in for a
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

#[test]
fn ruby_guard_refuses_non_loopback_and_name_lookups_and_allows_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let guard = dir.path().join("ruby_guard.rb");
    std::fs::write(&guard, harness::driver::ruby::GUARD).unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let script = format!(
        "require {guard:?}\n\
         begin; Socket.tcp('0.0.0.0', 9); puts 'CONNECTED'; rescue ImdsHarnessGuard::Blocked => e; puts \"blocked: #{{e.message}}\"; end\n\
         begin; TCPSocket.new('0.0.0.0', 9); puts 'CONNECTED'; rescue ImdsHarnessGuard::Blocked => e; puts \"blocked tcp: #{{e.message}}\"; end\n\
         begin; Addrinfo.getaddrinfo('sts.amazonaws.com', 443); puts 'RESOLVED'; rescue ImdsHarnessGuard::Blocked => e; puts \"blocked: #{{e.message}}\"; end\n\
         Socket.tcp('127.0.0.1', {port}).close\nputs 'loopback ok'\n",
        guard = guard.display().to_string()
    );
    let out = Command::new("ruby").arg("-e").arg(script).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let all = format!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        stdout.contains("blocked: imds-harness blocked a connection to 0.0.0.0:9"),
        "{all}"
    );
    assert!(
        stdout.contains("blocked tcp: imds-harness blocked a connection to 0.0.0.0:9"),
        "{all}"
    );
    assert!(
        stdout.contains("a name lookup of sts.amazonaws.com"),
        "{all}"
    );
    assert!(stdout.contains("loopback ok"), "{all}");
    assert!(
        !stdout.contains("CONNECTED") && !stdout.contains("RESOLVED"),
        "{all}"
    );
}

/// A misrouted endpoint is the driver's problem: each child driver reports the blocked
/// connection as a driver error, never as an SDK error kind an expectation could match.
async fn blocked_call_is_a_driver_error(kind: DriverKind) {
    blocked_call_is_a_driver_error_at(
        kind,
        "http://0.0.0.0:9",
        "imds-harness blocked a connection to 0.0.0.0",
    )
    .await;
}

/// As [`blocked_call_is_a_driver_error`], with IMDS at `imds`; the driver error must
/// contain `expect`.
async fn blocked_call_is_a_driver_error_at(kind: DriverKind, imds: &str, expect: &str) {
    let setup = DriverSetup::with_python(support::python());
    let spec = DriverSpec::new(kind.clone());
    let mut driver = driver::start(&spec, &setup).await.expect(
        "run scripts/setup first (.venv, npm ci in harness/drivers/js, the Go and Ruby packages)",
    );
    driver
        .configure(&Endpoints {
            imds: imds.into(),
            sts: "http://0.0.0.0:9".into(),
            region: "us-east-1".into(),
            settings: SdkSettings::defaults(&kind),
            passthrough: Default::default(),
            seed: 0,
            clock: Default::default(),
            container_env: Vec::new(),
        })
        .await
        .unwrap();
    match driver.new_client().await {
        // botocore resolves credentials at creation: IMDS is blocked there first.
        Err(DriverError::Broken {
            message, stderr, ..
        }) => {
            let text = format!("{message} {stderr}");
            assert!(text.contains(expect), "{kind}: {text}");
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
            assert!(text.contains(expect), "{kind}: {text}")
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

#[tokio::test]
async fn go_v2_driver_refuses_non_loopback_endpoints_as_a_driver_error() {
    blocked_call_is_a_driver_error(DriverKind::GoV2).await;
}

#[tokio::test]
async fn go_v1_driver_refuses_non_loopback_endpoints_as_a_driver_error() {
    // Go v1's credential chain swallows the dial error (NoCredentialProviders): the
    // driver must still see that its guard refused a connection.
    blocked_call_is_a_driver_error(DriverKind::GoV1).await;
}

#[tokio::test]
async fn ruby_driver_refuses_non_loopback_endpoints_as_a_driver_error() {
    // aws-sdk-core 3.168.1 connects to port 80 whatever the endpoint says, and its
    // InstanceProfileCredentials rescues every StandardError: the guard's refusal must
    // still come out as a driver error.
    blocked_call_is_a_driver_error_at(
        DriverKind::Ruby,
        "http://0.0.0.0:80",
        "imds-harness blocked a connection to 0.0.0.0",
    )
    .await;
}

/// A host name instead of an address: the Go and Ruby drivers make no name lookup (a
/// query to the machine's resolver would leave it) and report the refusal as a driver
/// error.
#[tokio::test]
async fn go_and_ruby_drivers_refuse_name_lookups_as_a_driver_error() {
    for (kind, imds, expect) in [
        (
            DriverKind::GoV2,
            "http://imds.example.invalid:9",
            "imds-harness blocked a connection: a DNS query",
        ),
        (
            DriverKind::GoV1,
            "http://imds.example.invalid:9",
            "imds-harness blocked a connection: a DNS query",
        ),
        (
            DriverKind::Ruby,
            "http://imds.example.invalid:80",
            "a name lookup of imds.example.invalid",
        ),
    ] {
        blocked_call_is_a_driver_error_at(kind, imds, expect).await;
    }
}

/// The Ruby SDK ignores the IMDS endpoint's port, so an endpoint not on port 80 would
/// reach whatever listens on that address's port 80: the driver refuses it outright.
#[tokio::test]
async fn ruby_driver_refuses_an_imds_endpoint_off_port_80() {
    let setup = DriverSetup::with_python(support::python());
    let mut driver = driver::start(&DriverSpec::new(DriverKind::Ruby), &setup)
        .await
        .expect("run scripts/setup first (ruby, ruby-aws-sdk-core)");
    let err = driver
        .configure(&Endpoints {
            imds: "http://127.0.0.1:9999".into(),
            sts: "http://127.0.0.1:9".into(),
            region: "us-east-1".into(),
            settings: SdkSettings::defaults(&DriverKind::Ruby),
            passthrough: Default::default(),
            seed: 0,
            clock: Default::default(),
            container_env: Vec::new(),
        })
        .await
        .expect_err("an IMDS endpoint off port 80 must be refused");
    assert!(err.to_string().contains("is not on port 80"), "{err}");
}

/// Under the libfaketime settings of a cell whose clock moves (driver/clock.rs), Python's
/// `time.sleep()` raises `OSError: [Errno 22] Invalid argument` (CPython sleeps with
/// `clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME)`, whose absolute deadline libfaketime
/// rewrites); botocore sleeps between its container-provider attempts, so an SDK error
/// would read OSError. The guard, imported before botocore, replaces the sleep there.
#[test]
fn python_guard_keeps_time_sleep_working_under_libfaketime() {
    let Some(_) =
        harness::driver::clock::find_libfaketime(&harness::driver::clock::candidate_dirs())
    else {
        assert!(
            std::env::var_os("CI").is_none(),
            "libfaketime is not installed ({}); CI must have it",
            harness::driver::clock::INSTALL_HINT
        );
        return;
    };
    let cell =
        harness::driver::clock::CellClock::faked(mock_imds::SignedDuration::from_secs(60)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("loopback_guard.py"),
        harness::driver::boto3::LOOPBACK_GUARD,
    )
    .unwrap();
    let run = || {
        let script = format!(
            "import sys, time\nsys.path.insert(0, {dir:?})\nimport loopback_guard\n\
t = time.monotonic()\ntime.sleep(0.05)\nprint('slept %.3f' % (time.monotonic() - t))\n\
print('ahead', round(time.time() - float(sys.argv[1])))\n",
            dir = dir.path().display().to_string()
        );
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let out = Command::new("python3")
            .arg("-c")
            .arg(script)
            .arg(now.to_string())
            .envs(cell.child_env())
            .output()
            .unwrap();
        (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let started = std::time::Instant::now();
    let (stdout, stderr) = run();
    // However long the child took to start (a loaded machine: seconds) it is still ahead.
    let took = started.elapsed().as_secs() as i64;
    let slept: f64 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("slept "))
        .unwrap_or_else(|| panic!("no sleep: {stdout}{stderr}"))
        .parse()
        .unwrap();
    assert!(slept >= 0.05, "woke early: {slept}");
    // The fake clock still runs 60 s ahead (plus the child's own run time, rounded): the
    // guard changed the sleep, not the clock.
    let ahead: i64 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("ahead "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (59..=61 + took).contains(&ahead),
        "{stdout} (child ran {took} s)"
    );
}
