//! The socket layer's interpreter: what a socket fault does to the listening socket and
//! to a request that meets it on a connection opened before the fault.

use super::catalogue::view::Socket;
use super::state::ImdsState;
use super::target::Target;
use crate::listener::{ConnectionClosed, SocketMode};

/// What a socket fault does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Effect {
    /// The mode the listening socket is put in while the fault lasts.
    pub(crate) mode: SocketMode,
    /// How a request that meets it (on a kept-alive connection) ends.
    pub(crate) on_request: ConnectionClosed,
}

/// The socket fault's effect.
pub(crate) fn interpret(fault: &Socket) -> Effect {
    match fault {
        // The listener closes: ECONNREFUSED for new connections, open ones are closed.
        Socket::Refuse => Effect {
            mode: SocketMode::Refuse,
            on_request: ConnectionClosed::Close,
        },
        // A listener behind a drop-everything socket filter: SYNs dropped, open ones closed.
        Socket::DropSyn => Effect {
            mode: SocketMode::DropSyn,
            on_request: ConnectionClosed::Close,
        },
    }
}

/// The mode the IMDS listening socket must be in for `state`.
pub(crate) fn mode(state: &ImdsState) -> SocketMode {
    mode_on(state, &Target::Listener)
}

/// The mode `target`'s listening socket (`listener` or `container`) must be in for
/// `state`.
pub(crate) fn mode_on(state: &ImdsState, target: &Target) -> SocketMode {
    match state.socket_fault_on(target).map(|f| f.layered()) {
        Some(super::catalogue::view::Layered::Socket(fault)) => interpret(&fault).mode,
        _ => SocketMode::Open,
    }
}
