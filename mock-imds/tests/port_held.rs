//! A socket fault must never give the port away. With dozens of cells at once, a port
//! freed by `refuse` was taken by another cell's connection or listener: that cell's SDK
//! then talked to the wrong mock, and `up` waited for the port, possibly for the rest of
//! the cell, with no transition and no error. These tests take the port (as another cell
//! could) while the fault is on, then ask for `up`.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use mock_imds::{Event, EventKind, Fault, MockImds, Target};

/// What another cell could do to a free port: bind it as a listener, or use it as the
/// local port of an outgoing connection. Returns what it got, to keep it while `up` runs.
fn squat(addr: SocketAddr) -> Option<TcpListener> {
    TcpListener::bind(addr).ok()
}

async fn port_survives(fault: Fault) {
    let imds = MockImds::builder().start().await.unwrap();
    let addr = imds.addr();
    imds.inject(fault.clone().on(Target::Listener))
        .await
        .unwrap();

    // Hold whatever we get while `up` runs, as the other cell would.
    let squatter = squat(addr);
    // An outgoing socket bound to the port (what a kernel-chosen ephemeral port of
    // another cell's client would be) must fail too.
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.set_reuse_address(true).unwrap();
    let outgoing = socket.bind(&addr.into());

    // `up` comes back promptly, in force, and logged with when it was asked for.
    let up = tokio::time::timeout(Duration::from_secs(10), imds.recover()).await;
    assert!(
        squatter.is_none(),
        "{fault}: the port was free while the fault was on: another cell bound {addr} (then `up`: {up:?})"
    );
    assert!(
        outgoing.is_err(),
        "{fault}: an outgoing socket could take the port {addr}"
    );
    up.unwrap_or_else(|_| panic!("{fault}: `up` did not come back within 10 s"))
        .unwrap();
    let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5));
    assert!(
        stream.is_ok(),
        "{fault}: up, yet connect failed: {stream:?}"
    );
    let last: Vec<Event> = imds
        .events()
        .into_iter()
        .filter(|e| matches!(e.kind, EventKind::Transition { .. }))
        .collect();
    match &last.last().unwrap().kind {
        EventKind::Transition {
            state,
            asked_at,
            scheduled,
        } => {
            assert!(state.is_up());
            assert!(!scheduled);
            assert!(*asked_at <= last.last().unwrap().at);
        }
        other => panic!("{other:?}"),
    }
    drop(squatter);
}

#[tokio::test]
async fn refuse_holds_the_port_and_up_comes_back() {
    port_survives(Fault::Refuse).await;
}

#[tokio::test]
async fn drop_syn_holds_the_port_and_up_comes_back() {
    port_survives(Fault::DropSyn).await;
}

#[tokio::test]
async fn refuse_still_refuses() {
    let imds = MockImds::builder().start().await.unwrap();
    imds.inject(Fault::Refuse).await.unwrap();
    let err = TcpStream::connect_timeout(&imds.addr(), Duration::from_secs(5)).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused, "{err}");
}

/// A port released when the mock is dropped can be bound again (the placeholder goes
/// with the mock).
#[tokio::test]
async fn the_port_is_released_when_the_mock_is_dropped() {
    let imds = MockImds::builder().start().await.unwrap();
    let addr = imds.addr();
    imds.inject(Fault::Refuse).await.unwrap();
    drop(imds);
    // The live socket closes when the runtime drops the aborted listener task: poll for it,
    // bounded at 10 s so a loaded machine cannot make this fail (it returns at once here).
    let mut bound = None;
    for _ in 0..500 {
        if let Ok(l) = TcpListener::bind(addr) {
            bound = Some(l);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        bound.is_some(),
        "{addr} still held after the mock was dropped"
    );
}

/// Two mocks never share an address: `SO_REUSEPORT` (which lets a mock's live socket
/// share its placeholder's port) would let a second mock bind the same address and port,
/// and the kernel would hand each connection to either. Two harness runs at once met
/// that on `127.0.0.N:80` (Ruby cells): one run's SDK was answered by the other's mock.
/// The second mock, in this process or in another (`serve`), is refused instead.
#[tokio::test]
async fn a_second_mock_cannot_take_a_mocks_address() {
    let first = MockImds::builder()
        .bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .start()
        .await
        .unwrap();
    let addr = first.addr();
    let second = MockImds::builder().bind(addr).start().await;
    let Err(err) = second else {
        panic!("a second mock bound the first one's address {addr}");
    };
    assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse, "{err}");
    assert!(
        err.to_string()
            .contains("held by another mock-imds listener"),
        "{err}"
    );

    // Another process: `mock-imds serve` on the same address.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mock-imds"))
        .args([
            "serve",
            "--host",
            &addr.ip().to_string(),
            "--port",
            &addr.port().to_string(),
        ])
        .args(["--sts-port", "0", "--control-port", "0"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "serve took {addr}: {stderr}");
    assert!(
        stderr.contains("held by another mock-imds listener"),
        "{stderr}"
    );

    // Once the first mock is gone the address is free again: once its listener task,
    // which holds the live socket, has ended too (the runtime drops an aborted task when
    // it next polls it), not before.
    drop(first);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        match MockImds::builder().bind(addr).start().await {
            Ok(_) => break,
            Err(e) if tokio::time::Instant::now() < deadline => {
                assert_eq!(e.kind(), std::io::ErrorKind::AddrInUse, "{e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            Err(e) => panic!("{addr} was not given back: {e}"),
        }
    }
}
