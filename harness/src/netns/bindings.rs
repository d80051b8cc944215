//! The one table of link-local addresses: which mock surface listens on which real
//! address in a link-local cell ([`LINK_LOCAL_BINDINGS`]), and the variables that tell a
//! child's loopback guard it may reach them ([`guard_env`]).

use std::net::{Ipv4Addr, SocketAddr};

/// A mock surface that has a real link-local address on AWS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Surface {
    /// EC2 IMDS, `169.254.169.254:80` (EC2 User Guide, "Access instance metadata").
    Imds,
    /// The ECS agent's task-credentials endpoint, `169.254.170.2:80`, the host of
    /// `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` (ECS Developer Guide, "Task IAM role").
    EcsContainer,
    /// The EKS Pod Identity agent, `169.254.170.23:80`
    /// (`AWS_CONTAINER_CREDENTIALS_FULL_URI=http://169.254.170.23/v1/credentials`).
    PodIdentity,
}

impl Surface {
    /// The surface a container provider's variables point at: every ECS variant
    /// (`RELATIVE_URI`, or `FULL_URI` with a token or a token file) is the ECS agent's
    /// endpoint; Pod Identity is the Pod Identity agent's.
    pub fn of_container(surface: mock_imds::ContainerSurface) -> Self {
        match surface {
            mock_imds::ContainerSurface::EcsRelativeUri
            | mock_imds::ContainerSurface::EcsToken
            | mock_imds::ContainerSurface::EcsTokenFile => Self::EcsContainer,
            mock_imds::ContainerSurface::PodIdentity => Self::PodIdentity,
        }
    }
}

/// Where one surface listens in a link-local cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkLocalBinding {
    /// The surface.
    pub surface: Surface,
    /// Its real address and port.
    pub addr: SocketAddr,
}

const fn v4(a: u8, b: u8, c: u8, d: u8, port: u16) -> SocketAddr {
    SocketAddr::V4(std::net::SocketAddrV4::new(Ipv4Addr::new(a, b, c, d), port))
}

/// Every link-local address a cell's namespace gets on its loopback, with the surface
/// bound there. The namespace assigns all of them; the cell's mock binds IMDS's and, in
/// an `[endpoint]` container scenario, its surface's ([`Surface::of_container`]): the
/// container listener serves both agents' paths, on the one address of the scenario's
/// kind. The child guards allow exactly these addresses, nothing else in 169.254.0.0/16.
pub const LINK_LOCAL_BINDINGS: [LinkLocalBinding; 3] = [
    LinkLocalBinding {
        surface: Surface::Imds,
        addr: v4(169, 254, 169, 254, 80),
    },
    LinkLocalBinding {
        surface: Surface::EcsContainer,
        addr: v4(169, 254, 170, 2, 80),
    },
    LinkLocalBinding {
        surface: Surface::PodIdentity,
        addr: v4(169, 254, 170, 23, 80),
    },
];

/// The link-local address of `surface` (see [`LINK_LOCAL_BINDINGS`]).
pub fn link_local_addr(surface: Surface) -> SocketAddr {
    LINK_LOCAL_BINDINGS
        .iter()
        .find(|b| b.surface == surface)
        .map(|b| b.addr)
        .expect("every surface has a link-local binding")
}

/// The variable naming the network namespace a child runs in, as
/// `readlink /proc/self/ns/net` shows it (`net:[4026532451]`). A child's guard allows a
/// link-local address only when its own namespace is that one and its only interface is
/// `lo` (see the guards under `harness/drivers/`).
pub const NETNS_ENV: &str = "IMDS_HARNESS_NETNS";

/// The variable naming the harness's own network namespace (`net:[INODE]`); a guard
/// allows nothing link-local in it, whatever [`NETNS_ENV`] says.
pub const HOST_NETNS_ENV: &str = "IMDS_HARNESS_HOST_NETNS";

/// The variable listing the link-local addresses the guard may allow, comma-separated
/// IPv4 literals; the guards also require each to be in 169.254.0.0/16.
pub const LINK_LOCAL_ENV: &str = "IMDS_HARNESS_LINK_LOCAL";

/// The guard's variables for a child in the namespace `netns_id` of a harness in
/// `host_id` (both `net:[INODE]`).
pub fn guard_env(netns_id: &str, host_id: &str) -> Vec<(String, String)> {
    let addrs: Vec<String> = LINK_LOCAL_BINDINGS
        .iter()
        .map(|b| b.addr.ip().to_string())
        .collect();
    vec![
        (NETNS_ENV.to_string(), netns_id.to_string()),
        (HOST_NETNS_ENV.to_string(), host_id.to_string()),
        (LINK_LOCAL_ENV.to_string(), addrs.join(",")),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_binding_is_link_local_on_port_80_and_distinct() {
        let mut seen = std::collections::BTreeSet::new();
        for b in LINK_LOCAL_BINDINGS {
            let std::net::IpAddr::V4(ip) = b.addr.ip() else {
                panic!("{b:?}")
            };
            assert!(ip.is_link_local(), "{b:?}");
            assert_eq!(b.addr.port(), 80);
            assert!(seen.insert(ip), "{ip} twice");
        }
        assert_eq!(
            link_local_addr(Surface::Imds).to_string(),
            "169.254.169.254:80"
        );
        use mock_imds::ContainerSurface as C;
        for (container, addr) in [
            (C::EcsRelativeUri, "169.254.170.2:80"),
            (C::EcsToken, "169.254.170.2:80"),
            (C::EcsTokenFile, "169.254.170.2:80"),
            (C::PodIdentity, "169.254.170.23:80"),
        ] {
            assert_eq!(
                link_local_addr(Surface::of_container(container)).to_string(),
                addr,
                "{container:?}"
            );
        }
        let env = guard_env("net:[1]", "net:[2]");
        assert_eq!(env[0], (NETNS_ENV.into(), "net:[1]".into()));
        assert_eq!(env[1], (HOST_NETNS_ENV.into(), "net:[2]".into()));
        assert_eq!(
            env[2].1, "169.254.169.254,169.254.170.2,169.254.170.23",
            "the guards' allow-list is the table"
        );
    }
}
