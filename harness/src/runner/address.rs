//! Where a cell's mock IMDS listens: `127.0.0.1` on a free port, or, for an SDK that
//! ignores the endpoint's port ([`DriverKind::fixed_imds_port`]: Ruby's aws-sdk-core
//! 3.168.1 always connects to port 80), a loopback address of the cell's own on that
//! port, `127.0.0.N` (Linux routes all of 127.0.0.0/8 to the loopback interface), so
//! that concurrent cells never reach each other's mock.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU32, Ordering};

use crate::driver::DriverKind;

/// The host part `N` of `127.0.0.N` goes from 2 to this (1 is the default address).
const LAST_HOST: u32 = 254;

/// The next `N` to hand out (wraps around; a taken address is skipped at bind time).
static NEXT_HOST: AtomicU32 = AtomicU32::new(0);

/// The addresses to try, in order, for the mock IMDS of a `kind` cell: one for kinds that
/// honour the port; for a fixed port, every `127.0.0.N` (N = 2..=254) once, starting
/// after the last one handed out.
pub fn imds_candidates(kind: &DriverKind) -> Vec<SocketAddr> {
    let Some(port) = kind.fixed_imds_port() else {
        return vec![SocketAddr::from((Ipv4Addr::LOCALHOST, 0))];
    };
    let hosts = LAST_HOST - 1;
    let first = NEXT_HOST.fetch_add(1, Ordering::Relaxed);
    (0..hosts)
        .map(|i| {
            let n = 2 + (first + i) % hosts;
            SocketAddr::from((Ipv4Addr::new(127, 0, 0, n as u8), port))
        })
        .collect()
}

/// The setup error for a mock that could not bind `addr` because the port is privileged.
pub fn privileged_port_error(kind: &DriverKind, addr: SocketAddr, err: &std::io::Error) -> String {
    format!(
        "the {kind} driver's SDK ignores the IMDS endpoint's port and connects to port {}, so its mock IMDS must listen on {addr}, which was refused ({err}): run as root (or grant CAP_NET_BIND_SERVICE)",
        addr.port()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_port_kinds_get_distinct_loopback_addresses() {
        assert_eq!(
            imds_candidates(&DriverKind::Boto3),
            vec![SocketAddr::from((Ipv4Addr::LOCALHOST, 0))]
        );
        let a = imds_candidates(&DriverKind::Ruby);
        let b = imds_candidates(&DriverKind::Ruby);
        assert_eq!(a.len(), 253);
        assert_ne!(a[0], b[0], "two cells start on different addresses");
        for addr in &a {
            let std::net::IpAddr::V4(ip) = addr.ip() else {
                panic!("{addr}")
            };
            assert!(ip.is_loopback() && ip != Ipv4Addr::LOCALHOST, "{addr}");
            assert_eq!(addr.port(), 80);
        }
        let distinct: std::collections::BTreeSet<_> = a.iter().collect();
        assert_eq!(distinct.len(), a.len(), "every address once");
    }
}
