//! One file descriptor per served connection (Linux: counts `/proc/self/fd`). The mock
//! used to `try_clone` every accepted socket, so 10,000 connections took 20,000
//! descriptors and hit the usual limit, after which nothing was accepted, control API
//! included. This binary has only this test, so no other test opens descriptors meanwhile.

use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn open_descriptors() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

#[tokio::test]
async fn each_connection_costs_the_server_one_descriptor() {
    if !std::path::Path::new("/proc/self/fd").exists() {
        eprintln!("skipped: no /proc/self/fd here");
        return;
    }
    let imds = mock_imds::MockImds::builder().start().await.unwrap();
    const N: usize = 100;
    let before = open_descriptors();
    let mut clients = Vec::new();
    for _ in 0..N {
        let mut stream = tokio::net::TcpStream::connect(imds.addr()).await.unwrap();
        // An answered request proves the server accepted (and holds) the connection.
        stream
            .write_all(b"GET /latest/meta-data/instance-id HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 512];
        let n = stream.read(&mut buf).await.unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
        clients.push(stream);
    }
    let during = open_descriptors();
    // N for our client ends, N for the server ends, a few for the runtime.
    let added = during - before;
    assert!(
        added <= 2 * N + 8,
        "{added} descriptors for {N} connections (client and server ends)"
    );
}
