//! The TCP side of a mock endpoint: binding, accepting, and the socket-level faults.
//!
//! - `refuse` closes the listening socket, so new connections get `ECONNREFUSED`, and
//!   aborts every open connection (a keep-alive connection must not keep serving).
//! - `drop-syn` replaces the socket with one whose accept queue (backlog 0) is filled by
//!   the mock's own idle connections and never drained: Linux then drops new SYNs, so a
//!   client's connect times out instead of being refused. Open connections are aborted.
//! - A handler answering [`ConnectionClosed::Reset`] makes the connection end with a TCP
//!   RST (`SO_LINGER` 0) instead of a FIN.
//!
//! The socket is bound again on the same port when the fault lifts. [`Listener::apply`]
//! returns only once the socket matches the state, so the very next connection attempt
//! after a state switch sees it.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::Request;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinSet;

use crate::ec2_http::HttpResponse;
use crate::fault::Fault;
use crate::imds_service::ConnectionClosed;

/// Largest request head (request line plus header fields) a mock listener accepts, in
/// bytes. A larger head is answered 431 and the connection closed. EC2 documents no limit;
/// common servers allow 8–16 KiB, and an IMDS request (a 56-character token, a path of a
/// few dozen bytes) needs well under 1 KiB. Without an explicit limit hyper enforces only
/// its read buffer size, and only while a head is incomplete, so a 100 KiB header that
/// arrives in one read was accepted.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;

/// Answers one request; `Err` ends the connection without an answer.
pub type Handler = Arc<
    dyn Fn(
            Request<Incoming>,
        ) -> Pin<Box<dyn Future<Output = Result<HttpResponse, ConnectionClosed>> + Send>>
        + Send
        + Sync,
>;

/// The connection a request arrived on, in the request's extensions, so a handler can set
/// socket options on its answer (the IMDSv2 hop limit).
#[derive(Debug, Clone)]
pub struct ConnectionSocket(Arc<TcpStream>);

impl ConnectionSocket {
    /// Sets the IP TTL (IPv4) or unicast hop limit (IPv6) of the packets sent from now on.
    ///
    /// # Errors
    /// The `setsockopt` error.
    pub fn set_hop_limit(&self, hops: u32) -> io::Result<()> {
        let socket = socket2::SockRef::from(&*self.0);
        match self.0.local_addr()? {
            SocketAddr::V4(_) => socket.set_ttl_v4(hops),
            SocketAddr::V6(_) => socket.set_unicast_hops_v6(hops),
        }
    }
}

/// What the socket should be doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocketMode {
    /// Accepting and serving.
    Open,
    /// Closed: connection refused.
    Refuse,
    /// Bound with a full, undrained accept queue: SYNs dropped.
    DropSyn,
}

impl SocketMode {
    /// The mode a socket-level fault asks for (`None`: open).
    pub fn for_fault(fault: Option<&Fault>) -> Self {
        match fault {
            Some(Fault::Refuse) => SocketMode::Refuse,
            Some(Fault::DropSyn) => SocketMode::DropSyn,
            _ => SocketMode::Open,
        }
    }
}

type Command = (SocketMode, oneshot::Sender<()>);

/// A running listener task. Dropping it closes the socket and every connection.
#[derive(Debug)]
pub struct Listener {
    local_addr: SocketAddr,
    commands: tokio::sync::mpsc::UnboundedSender<Command>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn bind(addr: SocketAddr, backlog: u32) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(backlog)
}

/// The socket in one of its modes.
enum Socket {
    Open(TcpListener),
    Closed,
    /// The listener (never accepted on) and the connections that fill its queue.
    Full(
        #[allow(dead_code)] TcpListener,
        #[allow(dead_code)] Vec<TcpStream>,
    ),
}

impl Listener {
    /// Binds `addr` (port 0 picks a free port) and serves `handler` on it, starting in
    /// `mode`.
    ///
    /// # Errors
    /// The bind error (address in use, not permitted, …).
    pub async fn start(addr: SocketAddr, handler: Handler, mode: SocketMode) -> io::Result<Self> {
        let listener = bind(addr, 1024)?;
        let local_addr = listener.local_addr()?;
        let (commands, rx) = tokio::sync::mpsc::unbounded_channel();
        let task = tokio::spawn(run(local_addr, Socket::Open(listener), handler, rx));
        let this = Self {
            local_addr,
            commands,
            task,
        };
        this.apply(mode).await;
        Ok(this)
    }

    /// The bound address (stable across fault periods).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Puts the socket in `mode` and returns once it is.
    pub async fn apply(&self, mode: SocketMode) {
        let (done, wait) = oneshot::channel();
        if self.commands.send((mode, done)).is_ok() {
            let _ = wait.await;
        }
    }
}

async fn run(
    addr: SocketAddr,
    mut socket: Socket,
    handler: Handler,
    mut commands: tokio::sync::mpsc::UnboundedReceiver<Command>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            command = commands.recv() => {
                let Some((mode, done)) = command else { return };
                socket = switch(addr, socket, mode, &mut connections).await;
                let _ = done.send(());
            }
            accepted = accept(&socket) => {
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
            Some(joined) = connections.join_next(), if !connections.is_empty() => {
                // A panicking connection task must not pass unnoticed.
                if let Err(err) = joined {
                    if err.is_panic() {
                        tracing::error!(%err, "a connection task panicked");
                    }
                }
            }
        }
    }
}

async fn switch(
    addr: SocketAddr,
    socket: Socket,
    mode: SocketMode,
    connections: &mut JoinSet<()>,
) -> Socket {
    match (mode, socket) {
        (SocketMode::Open, open @ Socket::Open(_)) => open,
        (SocketMode::Open, old) => {
            drop(old); // free the port before binding it again
            Socket::Open(rebind(addr, 1024).await)
        }
        (SocketMode::Refuse, _) => {
            connections.abort_all();
            Socket::Closed
        }
        (SocketMode::DropSyn, full @ Socket::Full(..)) => full,
        (SocketMode::DropSyn, old) => {
            connections.abort_all();
            drop(old);
            let listener = rebind(addr, 0).await;
            let mut fillers = Vec::new();
            // Fill the accept queue until a connect no longer completes.
            for _ in 0..8 {
                match tokio::time::timeout(Duration::from_millis(50), TcpStream::connect(addr))
                    .await
                {
                    Ok(Ok(stream)) => fillers.push(stream),
                    _ => break,
                }
            }
            Socket::Full(listener, fillers)
        }
    }
}

async fn accept(socket: &Socket) -> io::Result<(TcpStream, SocketAddr)> {
    match socket {
        Socket::Open(listener) => listener.accept().await,
        Socket::Closed | Socket::Full(..) => std::future::pending().await,
    }
}

async fn rebind(addr: SocketAddr, backlog: u32) -> TcpListener {
    loop {
        match bind(addr, backlog) {
            Ok(listener) => return listener,
            Err(err) => {
                tracing::warn!(%addr, %err, "could not bind again after a socket fault; retrying");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

/// RFC 9112 3.2: a server MUST answer 400 to an HTTP/1.1 request without a `Host` field
/// and to any request with more than one. (hyper checks framing but leaves this to the
/// service.) HTTP/1.0 requests may omit it.
fn host_is_valid<B>(req: &Request<B>) -> bool {
    match req.headers().get_all(http::header::HOST).iter().count() {
        0 => req.version() < http::Version::HTTP_11,
        1 => true,
        _ => false,
    }
}

/// The accepted socket, shared by hyper (which reads and writes it through this) and by
/// the handlers and [`serve_connection`] (which set socket options on it): one file
/// descriptor per connection. (A `try_clone` twin used to double the descriptors, so at
/// 10,000 connections the mock hit a 20,000 limit and stopped accepting, control API
/// included.)
struct SharedStream(Arc<TcpStream>);

impl tokio::io::AsyncRead for SharedStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            std::task::ready!(self.0.poll_read_ready(cx))?;
            match self.0.try_read(buf.initialize_unfilled()) {
                Ok(n) => {
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                // Readiness was stale; `try_read` cleared it, so poll again.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl tokio::io::AsyncWrite for SharedStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        loop {
            std::task::ready!(self.0.poll_write_ready(cx))?;
            match self.0.try_write(data) {
                Ok(n) => return Poll::Ready(Ok(n)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let shut = socket2::SockRef::from(&*self.0).shutdown(std::net::Shutdown::Write);
        Poll::Ready(match shut {
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            other => other,
        })
    }
}

async fn serve_connection(stream: TcpStream, handler: Handler) {
    let stream = Arc::new(stream);
    let socket = ConnectionSocket(stream.clone());
    let service = service_fn(move |mut req: Request<Incoming>| {
        if !host_is_valid(&req) {
            let answer: Pin<Box<dyn Future<Output = _> + Send>> = Box::pin(std::future::ready(Ok(
                crate::ec2_http::error_page(http::StatusCode::BAD_REQUEST),
            )));
            return answer;
        }
        req.extensions_mut().insert(socket.clone());
        handler(req)
    });
    let served = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .max_buf_size(64 * 1024)
        .max_header_size(MAX_HEAD_BYTES)
        .serve_connection(TokioIo::new(SharedStream(stream.clone())), service)
        .await;
    if let Err(err) = served {
        let reset = std::iter::successors(Some(&err as &(dyn std::error::Error + 'static)), |e| {
            e.source()
        })
        .any(|e| e.downcast_ref::<ConnectionClosed>() == Some(&ConnectionClosed::Reset));
        if reset {
            // The socket closes when the last handle (this one) drops: with a zero
            // linger, that close is a reset.
            let _ = socket2::SockRef::from(&*stream).set_linger(Some(Duration::ZERO));
        }
    }
}
