//! The TCP side of a mock endpoint: binding, accepting, and the socket-level faults.
//!
//! - `refuse` closes the listening socket, so new connections get `ECONNREFUSED`, and
//!   aborts every open connection (a keep-alive connection must not keep serving).
//! - `drop-syn` replaces the socket with a listening one carrying a socket filter (classic
//!   BPF, `SO_ATTACH_FILTER`) that drops every packet: Linux runs a listener's filter on
//!   each SYN before the handshake (`tcp_v4_rcv` → `tcp_filter`), so new SYNs vanish and a
//!   client's connect times out instead of being refused. Open connections are aborted.
//!   (It used to fill a backlog-0 accept queue with the mock's own connections; under load
//!   a client's SYN could be handled before the filler's ACK reached the queue, so the
//!   client connected and met a read timeout instead: a CI run saw it. A filter has no
//!   such window.)
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
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
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
    /// Closed (FIN): `refuse`/`drop-syn` met on a connection that was already open, or
    /// `empty-reply`.
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

/// Answers one request arriving on a connection; `Err` ends the connection without an
/// answer.
pub type Handler = Arc<
    dyn Fn(
            Request<Incoming>,
            ConnectionSocket,
        ) -> Pin<Box<dyn Future<Output = Result<HttpResponse, ConnectionClosed>> + Send>>
        + Send
        + Sync,
>;

/// What the handlers of one connection want of its socket, applied by [`SharedStream`]
/// (which owns the socket) before it next writes, or as it closes.
#[derive(Debug, Default)]
struct Wishes {
    /// The IP TTL / hop limit the next answer should leave with (0: the system's).
    hops: AtomicU32,
    /// Close with a reset (RST) rather than a FIN.
    reset: AtomicBool,
}

/// The connection a request arrived on, handed to the handler, so it can set socket
/// options on its answer (the IMDSv2 hop limit). Cloning shares it.
#[derive(Debug, Clone, Default)]
pub struct ConnectionSocket(Arc<Wishes>);

impl ConnectionSocket {
    /// Sets the IP TTL (IPv4) or unicast hop limit (IPv6) of the packets sent from now on:
    /// the answer being built leaves with it. The socket option is set before the next
    /// write, and only when it changes (no system call per request); a `setsockopt`
    /// failure is logged then.
    pub fn set_hop_limit(&self, hops: u32) {
        self.0.hops.store(hops, Ordering::Relaxed);
    }
}

/// What the socket should be doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocketMode {
    /// Accepting and serving.
    Open,
    /// Closed: connection refused.
    Refuse,
    /// Listening behind a drop-everything socket filter: SYNs dropped.
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
    /// The address's claim among mock-imds listeners ([`claim`]), shared with the task
    /// that owns the live socket.
    _claim: Arc<Claim>,
}

/// A claim on one address and port among every mock-imds listener of the network
/// namespace, whatever process it is in: `SO_REUSEPORT`, which lets the live socket share
/// the placeholder's port, lets any other socket with it share the port too (same user),
/// and the kernel then hands each connection to either listener. Two harness runs at once
/// (or two `serve --bind 127.0.0.5:80`) gave two mocks one address that way: a Ruby cell
/// (port 80 on its own `127.0.0.N`) was answered by another run's mock, and STS rejected
/// credentials its own mock never issued. On Linux the claim is an abstract Unix socket
/// named after the address (`@mock-imds/127.0.0.5:80`): binding one is exclusive in the
/// namespace and the kernel releases it with its last descriptor, also when the process
/// dies. Elsewhere there is none (and no sharing protection).
#[derive(Debug)]
struct Claim(#[allow(dead_code)] Option<std::os::unix::net::UnixListener>);

/// Claims `addr` ([`Claim`]); `AddrInUse` when another mock-imds listener holds it.
fn claim(addr: SocketAddr) -> io::Result<Claim> {
    #[cfg(target_os = "linux")]
    {
        use std::os::linux::net::SocketAddrExt;
        let name = format!("mock-imds/{addr}");
        let abstract_addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())?;
        match std::os::unix::net::UnixListener::bind_addr(&abstract_addr) {
            Ok(socket) => Ok(Claim(Some(socket))),
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => Err(io::Error::new(
                io::ErrorKind::AddrInUse,
                format!("{addr} is held by another mock-imds listener (claim @{name})"),
            )),
            Err(e) => Err(e),
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = addr;
        Ok(Claim(None))
    }
}

/// The placeholder on `addr`, its address (the port the kernel chose for port 0), and
/// the claim on it. A port the kernel chose that another mock-imds listener has claimed
/// is given back and another is chosen (a few times).
fn claimed_placeholder(addr: SocketAddr) -> io::Result<(socket2::Socket, SocketAddr, Claim)> {
    let mut tries = if addr.port() == 0 { 16 } else { 1 };
    loop {
        let socket = placeholder(addr)?;
        let local_addr = socket
            .local_addr()?
            .as_socket()
            .ok_or_else(|| io::Error::other("the placeholder socket has no IP address"))?;
        match claim(local_addr) {
            Ok(claim) => return Ok((socket, local_addr, claim)),
            Err(e) if e.kind() == io::ErrorKind::AddrInUse && tries > 1 => tries -= 1,
            Err(e) => return Err(e),
        }
    }
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
    bound(addr)?.listen(backlog)
}

/// A TCP socket bound to `addr` with `SO_REUSEADDR` and `SO_REUSEPORT` (to share the
/// placeholder's port), not yet listening.
fn bound(addr: SocketAddr) -> io::Result<TcpSocket> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.set_reuseport(true)?;
    socket.bind(addr)?;
    Ok(socket)
}

/// A listening socket on `addr` whose socket filter drops every packet, SYNs included: a
/// client's connect gets no answer at all (no SYN-ACK, no RST). The filter is attached
/// before `listen`, so no connection can slip in between.
fn bind_dropping_syns(addr: SocketAddr) -> io::Result<TcpListener> {
    /// `BPF_RET | BPF_K` with `k = 0`: accept zero bytes of the packet, i.e. drop it.
    const DROP_ALL: [socket2::SockFilter; 1] = [socket2::SockFilter::new(0x06, 0, 0, 0)];
    let socket = bound(addr)?;
    socket2::SockRef::from(&socket).attach_filter(&DROP_ALL)?;
    socket.listen(1024)
}

/// The socket in one of its modes.
enum Socket {
    Open(TcpListener),
    Closed,
    /// The listener behind its drop-everything filter (never accepted on: nothing arrives).
    Filtered(#[allow(dead_code)] TcpListener),
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
        let (placeholder, local_addr, claim) = claimed_placeholder(addr)?;
        let listener = bind(local_addr, 1024)?;
        let (commands, rx) = tokio::sync::mpsc::unbounded_channel();
        let server = server.map(http::HeaderValue::from_static);
        let claim = Arc::new(claim);
        // The task holds the claim too: an aborted task drops its live socket only when
        // the runtime next polls it, and until then no other mock may share the port.
        let held = claim.clone();
        let task = tokio::spawn(async move {
            let _held = held;
            run(local_addr, Socket::Open(listener), handler, server, rx).await;
        });
        let this = Self {
            local_addr,
            commands,
            _task: AbortOnDropHandle::new(task),
            _placeholder: placeholder,
            _claim: claim,
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
        (SocketMode::DropSyn, filtered @ Socket::Filtered(_)) => (filtered, Ok(())),
        (SocketMode::DropSyn, old) => {
            connections.abort_all();
            drop(old); // the placeholder keeps the port while we bind again
            match bind_dropping_syns(addr) {
                Ok(listener) => (Socket::Filtered(listener), Ok(())),
                Err(e) => (Socket::Closed, Err(e)),
            }
        }
    }
}

async fn accept(socket: &Socket) -> io::Result<(TcpStream, SocketAddr)> {
    match socket {
        Socket::Open(listener) => listener.accept().await,
        Socket::Closed | Socket::Filtered(_) => std::future::pending().await,
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

/// The accepted socket as hyper reads and writes it, owned (one file descriptor per
/// connection; a `try_clone` twin used to double the descriptors, so at 10,000
/// connections the mock hit a 20,000 limit and stopped accepting, control API included).
/// Reads and writes are tokio's own (a short read clears the readiness, writes are
/// vectored); what the handlers wish for the socket ([`ConnectionSocket`]) is applied
/// here: the hop limit before a write when it changed, a reset as it closes.
struct SharedStream {
    stream: TcpStream,
    wishes: Arc<Wishes>,
    /// The hop limit in force on the socket (0: the system's, never set).
    hops: u32,
    ipv6: bool,
}

impl SharedStream {
    fn new(stream: TcpStream, wishes: Arc<Wishes>) -> Self {
        let ipv6 = stream.local_addr().is_ok_and(|a| a.is_ipv6());
        Self {
            stream,
            wishes,
            hops: 0,
            ipv6,
        }
    }

    /// Puts the wished hop limit in force before the next bytes go out.
    fn apply_hop_limit(&mut self) {
        let wanted = self.wishes.hops.load(Ordering::Relaxed);
        if wanted == 0 || wanted == self.hops {
            return;
        }
        let socket = socket2::SockRef::from(&self.stream);
        let set = if self.ipv6 {
            socket.set_unicast_hops_v6(wanted)
        } else {
            socket.set_ttl_v4(wanted)
        };
        if let Err(err) = set {
            tracing::warn!(%err, hops = wanted, "could not set an answer's hop limit");
        }
        self.hops = wanted;
    }
}

impl Drop for SharedStream {
    fn drop(&mut self) {
        if self.wishes.reset.load(Ordering::Relaxed) {
            // The socket closes right after this: with a zero linger, that close is a reset.
            let _ = socket2::SockRef::from(&self.stream).set_linger(Some(Duration::ZERO));
        }
    }
}

impl tokio::io::AsyncRead for SharedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for SharedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.apply_hop_limit();
        Pin::new(&mut self.stream).poll_write(cx, data)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.apply_hop_limit();
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match std::task::ready!(Pin::new(&mut self.stream).poll_shutdown(cx)) {
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Poll::Ready(Ok(())),
            other => Poll::Ready(other),
        }
    }
}

/// The answer to a request the listener refuses itself (400: no or several `Host`).
fn bad_request() -> HttpResponse {
    crate::ec2_http::error_page(http::StatusCode::BAD_REQUEST)
}

async fn serve_connection(stream: TcpStream, handler: Handler, server: Option<http::HeaderValue>) {
    let socket = ConnectionSocket::default();
    let io = SharedStream::new(stream, socket.0.clone());
    let service = service_fn(move |req: Request<Incoming>| {
        let answer = host_is_valid(&req).then(|| handler(req, socket.clone()));
        let server = server.clone();
        let wishes = socket.0.clone();
        async move {
            let mut response = match answer {
                Some(answer) => answer.await,
                None => Ok(bad_request()),
            }
            .inspect_err(|closed| {
                if *closed == ConnectionClosed::Reset {
                    wishes.reset.store(true, Ordering::Relaxed);
                }
            })?;
            if let Some(server) = server {
                response.headers_mut().insert(http::header::SERVER, server);
            }
            Ok::<_, ConnectionClosed>(response)
        }
    });
    // An error is the client's doing or a fault's (whose reset `SharedStream` carries out).
    let _ = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .max_buf_size(64 * 1024)
        .max_header_size(MAX_HEAD_BYTES)
        .serve_connection(TokioIo::new(io), service)
        .await;
}
