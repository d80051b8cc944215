//! The TCP side of a mock endpoint: binding, accepting, and the socket-level faults.
//!
//! `refuse` closes the listening socket, so new connections get `ECONNREFUSED`, and
//! aborts every open connection (a keep-alive connection must not keep serving); the
//! socket is bound again on the same port when the state leaves `refuse`.
//! [`Listener::apply`] returns only once the socket matches the state, so the very next
//! connection attempt after a state switch sees it.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use http::Request;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::oneshot;
use tokio::task::JoinSet;

use crate::ec2_http::HttpResponse;
use crate::fault::{Fault, ImdsState};
use crate::imds_service::ConnectionClosed;

/// Answers one request; `Err` closes the connection without an answer.
pub type Handler = Arc<
    dyn Fn(
            Request<Incoming>,
        ) -> Pin<Box<dyn Future<Output = Result<HttpResponse, ConnectionClosed>> + Send>>
        + Send
        + Sync,
>;

/// A running listener task. Dropping it closes the socket and every connection.
#[derive(Debug)]
pub struct Listener {
    local_addr: SocketAddr,
    commands: tokio::sync::mpsc::UnboundedSender<(ImdsState, oneshot::Sender<()>)>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

impl Listener {
    /// Binds `addr` (port 0 picks a free port) and serves `handler` on it, starting in
    /// `initial` state.
    ///
    /// # Errors
    /// The bind error (address in use, not permitted, …).
    pub async fn start(
        addr: SocketAddr,
        handler: Handler,
        initial: &ImdsState,
    ) -> io::Result<Self> {
        let listener = bind(addr)?;
        let local_addr = listener.local_addr()?;
        let refusing = matches!(initial, ImdsState::Down(Fault::Refuse));
        let listener = if refusing { None } else { Some(listener) };
        let (commands, rx) = tokio::sync::mpsc::unbounded_channel();
        let task = tokio::spawn(run(local_addr, listener, handler, rx));
        Ok(Self {
            local_addr,
            commands,
            task,
        })
    }

    /// The bound address (stable across `refuse` periods).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Makes the socket match `state` and returns once it does.
    pub async fn apply(&self, state: &ImdsState) {
        let (done, wait) = oneshot::channel();
        if self.commands.send((state.clone(), done)).is_ok() {
            let _ = wait.await;
        }
    }
}

async fn run(
    addr: SocketAddr,
    mut listener: Option<TcpListener>,
    handler: Handler,
    mut commands: tokio::sync::mpsc::UnboundedReceiver<(ImdsState, oneshot::Sender<()>)>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            command = commands.recv() => {
                let Some((state, done)) = command else { return };
                if matches!(state, ImdsState::Down(Fault::Refuse)) {
                    listener = None;
                    connections.abort_all();
                } else if listener.is_none() {
                    listener = Some(rebind(addr).await);
                }
                let _ = done.send(());
            }
            accepted = accept(listener.as_ref()) => {
                match accepted {
                    Ok((stream, _peer)) => {
                        let _ = stream.set_nodelay(true);
                        connections.spawn(serve_connection(stream, handler.clone()));
                    }
                    Err(err) => {
                        // EMFILE and friends: back off briefly instead of spinning.
                        tracing::warn!(%err, "accept failed");
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                }
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

async fn accept(listener: Option<&TcpListener>) -> io::Result<(tokio::net::TcpStream, SocketAddr)> {
    match listener {
        Some(listener) => listener.accept().await,
        None => std::future::pending().await,
    }
}

async fn rebind(addr: SocketAddr) -> TcpListener {
    loop {
        match bind(addr) {
            Ok(listener) => return listener,
            Err(err) => {
                tracing::warn!(%addr, %err, "could not bind again after `refuse`; retrying");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

async fn serve_connection(stream: tokio::net::TcpStream, handler: Handler) {
    let service = service_fn(move |req: Request<Incoming>| handler(req));
    let _ = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .max_buf_size(64 * 1024)
        .serve_connection(TokioIo::new(stream), service)
        .await;
}
