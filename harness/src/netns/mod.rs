//! The link-local mode (`[network] mode = "link-local"`): a cell that runs inside a
//! network namespace the harness makes for it, with the real addresses on that
//! namespace's loopback, for SDKs that ignore the endpoint they are given (JS v3
//! 3.20.0–3.25.0 always go to `169.254.169.254`; Ruby's aws-sdk-core 3.168.1 ignores the
//! port), for `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`, which only means
//! `169.254.170.2`, and for SDKs that check a container endpoint's host (Pod Identity's
//! `169.254.170.23`). Linux only, as root.
//!
//! - [`bindings`]: the one table of (address, port) → mock surface, and the child guards'
//!   variables;
//! - [`namespace`]: making, entering and holding a cell's namespace, and runtimes whose
//!   threads run in it.
//!
//! Nothing is ever sent to a link-local address outside such a namespace: the namespace
//! has no interface but `lo`, the mock binds the addresses only there, and the child
//! guards allow them only when their own namespace is the cell's and has only `lo`.

pub mod bindings;
pub mod namespace;

pub use bindings::{guard_env, link_local_addr, LinkLocalBinding, Surface, LINK_LOCAL_BINDINGS};
pub use namespace::{current_thread_netns_id, host_netns_id, CellNamespace, NetnsError};
