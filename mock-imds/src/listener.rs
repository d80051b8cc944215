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
//! **The port is held for the listener's whole life.** Beside the live socket the
//! listener keeps a *placeholder*: a socket bound to the same address and port with
//! `SO_REUSEPORT` that never listens. A bound socket that is not listening answers a SYN
//! with a RST (so `refuse` still reads as `ECONNREFUSED`), and while it exists the kernel
//! hands the port to no one else: not to another listener binding port 0, not to an
//! outgoing connection's ephemeral port (Linux skips ports with a bind bucket). Without
//! it, closing the socket for `refuse` gave the port back to the kernel; with dozens of
//! cells at once another cell's connection or mock could take it, its SDK talked to the
//! wrong mock, and `up` waited for the port, possibly for the rest of the cell.
//! Rebinding beside the placeholder cannot meet another owner, so a switch that still
//! fails is an error ([`Listener::apply`] returns it), never a silent wait.
//!
//! [`Listener::apply`] returns only once the socket matches the state, so the very next
//! connection attempt after a state switch sees it.

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
use tokio_util::task::AbortOnDropHandle;

use crate::ec2_http::HttpResponse;

/// The handler answers nothing and the connection ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ConnectionClosed {
    /// Closed (FIN): `refuse`/`drop-syn` met on a connection that was already open.
    #[error("connection closed by a fault")]
    Close,
    /// Reset (RST): the `reset` fault.
    #[error("connection reset by a fault")]
    Reset,
}

/// Largest request head (request line plus header fields) a mock listener accepts, in
/// bytes. A larger head is answered 431 and the connection closed. EC2 documents no limit;
/// common servers allow 8–16 KiB, and an IMDS request (a 56-character token, a path of a
/// few dozen bytes) needs well under 1 KiB. Without an explicit limit hyper enforces only
/// its read buffer size, and only while a head is incomplete, so a 100 KiB header that
/// arrives in one read was accepted.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;

/// How long the first connection filling a `drop-syn` socket's accept queue may take: 2 s.
const FIRST_FILLER_TIMEOUT: Duration = Duration::from_secs(2);

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

type Command = (SocketMode, oneshot::Sender<io::Result<()>>);

/// A running listener task. Dropping it closes the socket and every connection, and
/// releases the port.
#[derive(Debug)]
pub struct Listener {
    local_addr: SocketAddr,
    commands: tokio::sync::mpsc::UnboundedSender<Command>,
    _task: AbortOnDropHandle<()>,
    /// Bound, never listening: keeps the port ours while the live socket is closed.
    _placeholder: socket2::Socket,
}

/// A socket bound to `addr` (port 0: a free port) that does not listen, with
/// `SO_REUSEPORT` so the live listener can share its port: the placeholder. Not
/// `SO_REUSEADDR`: with it, any socket setting `SO_REUSEADDR` could bind the port while
/// nothing listens on it (Linux relaxes the conflict check for two such sockets).
fn placeholder(addr: SocketAddr) -> io::Result<socket2::Socket> {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )?;
    socket.set_reuse_port(true)?;
    socket.bind(&addr.into())?;
    Ok(socket)
}

/// A listening socket on `addr` (beside the placeholder, which holds the port).
fn bind(addr: SocketAddr, backlog: u32) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.set_reuseport(true)?;
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
    /// `mode`. `server`: the `Server` header of every answer sent (the handler's and the
    /// listener's own), or none.
    ///
    /// # Errors
    /// The bind error (address in use, not permitted, …).
    pub async fn start(
        addr: SocketAddr,
        handler: Handler,
        mode: SocketMode,
        server: Option<&'static str>,
    ) -> io::Result<Self> {
        let placeholder = placeholder(addr)?;
        let local_addr = placeholder
            .local_addr()?
            .as_socket()
            .ok_or_else(|| io::Error::other("the placeholder socket has no IP address"))?;
        let listener = bind(local_addr, 1024)?;
        let (commands, rx) = tokio::sync::mpsc::unbounded_channel();
        let server = server.map(http::HeaderValue::from_static);
        let task = tokio::spawn(run(local_addr, Socket::Open(listener), handler, server, rx));
        let this = Self {
            local_addr,
            commands,
            _task: AbortOnDropHandle::new(task),
            _placeholder: placeholder,
        };
        this.apply(mode).await?;
        Ok(this)
    }

    /// The bound address (stable across fault periods).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Puts the socket in `mode` and returns once it is.
    ///
    /// # Errors
    /// The bind or listen error when the socket could not be opened again (the socket is
    /// then closed: connections are refused), or an error when the listener task is gone.
    pub async fn apply(&self, mode: SocketMode) -> io::Result<()> {
        let (done, wait) = oneshot::channel();
        self.commands
            .send((mode, done))
            .map_err(|_| io::Error::other("the listener task has stopped"))?;
        wait.await
            .map_err(|_| io::Error::other("the listener task stopped during a switch"))?
    }
}

async fn run(
    addr: SocketAddr,
    mut socket: Socket,
    handler: Handler,
    server: Option<http::HeaderValue>,
    mut commands: tokio::sync::mpsc::UnboundedReceiver<Command>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            command = commands.recv() => {
                let Some((mode, done)) = command else { return };
                let switched;
                (socket, switched) = switch(addr, socket, mode, &mut connections).await;
                let _ = done.send(switched);
            }
            accepted = accept(&socket) => {
                match accepted {
                    Ok((stream, _peer)) => {
                        let _ = stream.set_nodelay(true);
                        connections.spawn(serve_connection(stream, handler.clone(), server.clone()));
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

/// Moves the socket to `mode`. On error the socket is left closed (refusing), which is
/// what a client sees of a listener that could not open, and the error is returned.
async fn switch(
    addr: SocketAddr,
    socket: Socket,
    mode: SocketMode,
    connections: &mut JoinSet<()>,
) -> (Socket, io::Result<()>) {
    match (mode, socket) {
        (SocketMode::Open, open @ Socket::Open(_)) => (open, Ok(())),
        (SocketMode::Open, old) => {
            drop(old); // the placeholder keeps the port while we bind again
            match bind(addr, 1024) {
                Ok(listener) => (Socket::Open(listener), Ok(())),
                Err(e) => (Socket::Closed, Err(e)),
            }
        }
        (SocketMode::Refuse, _) => {
            connections.abort_all();
            (Socket::Closed, Ok(()))
        }
        (SocketMode::DropSyn, full @ Socket::Full(..)) => (full, Ok(())),
        (SocketMode::DropSyn, old) => {
            connections.abort_all();
            drop(old);
            let listener = match bind(addr, 0) {
                Ok(listener) => listener,
                Err(e) => return (Socket::Closed, Err(e)),
            };
            let mut fillers = Vec::new();
            // Fill the accept queue until a connect no longer completes. The first filler
            // must get in (backlog 0 holds one): on a loaded machine its handshake can take
            // longer than the 50 ms that tells a full queue, and an empty queue would
            // accept clients (a read timeout instead of a connect timeout).
            for i in 0..8 {
                let wait = if i == 0 {
                    FIRST_FILLER_TIMEOUT
                } else {
                    Duration::from_millis(50)
                };
                match tokio::time::timeout(wait, TcpStream::connect(addr)).await {
                    Ok(Ok(stream)) => fillers.push(stream),
                    _ => break,
                }
            }
            if fillers.is_empty() {
                return (
                    Socket::Closed,
                    Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!(
                            "drop-syn: could not fill the accept queue of {addr} within {FIRST_FILLER_TIMEOUT:?}"
                        ),
                    )),
                );
            }
            (Socket::Full(listener, fillers), Ok(()))
        }
    }
}

async fn accept(socket: &Socket) -> io::Result<(TcpStream, SocketAddr)> {
    match socket {
        Socket::Open(listener) => listener.accept().await,
        Socket::Closed | Socket::Full(..) => std::future::pending().await,
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

/// The answer to a request the listener refuses itself (400: no or several `Host`).
fn bad_request() -> HttpResponse {
    crate::ec2_http::error_page(http::StatusCode::BAD_REQUEST)
}

async fn serve_connection(stream: TcpStream, handler: Handler, server: Option<http::HeaderValue>) {
    let stream = Arc::new(stream);
    let socket = ConnectionSocket(stream.clone());
    let service = service_fn(move |mut req: Request<Incoming>| {
        let answer = if host_is_valid(&req) {
            req.extensions_mut().insert(socket.clone());
            Some(handler(req))
        } else {
            None
        };
        let server = server.clone();
        async move {
            let mut response = match answer {
                Some(answer) => answer.await?,
                None => bad_request(),
            };
            if let Some(server) = server {
                response.headers_mut().insert(http::header::SERVER, server);
            }
            Ok::<_, ConnectionClosed>(response)
        }
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
