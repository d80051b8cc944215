//! A network namespace of one cell's own ([`CellNamespace`]): made with
//! `unshare(CLONE_NEWNET)` on a thread of its own, with `lo` up and every address of
//! [`super::LINK_LOCAL_BINDINGS`] on it, and held only by a file descriptor (no
//! `ip netns` name, no bind mount), so the kernel destroys it when the last holder goes:
//! the descriptor, the runtimes whose threads entered it, the sockets made there and the
//! child drivers spawned there. A harness that panics or is killed leaves nothing behind
//! once its children have exited (they read EOF on stdin and end).
//!
//! A namespace made this way has no interface but its own `lo` and no route anywhere
//! else: a packet sent inside it can only come back to it. That is the safety argument of
//! the link-local mode (see the README's "Link-local mode").

use std::ffi::OsStr;
use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};
use std::process::{Command, Stdio};
use std::sync::Arc;

use super::bindings::LINK_LOCAL_BINDINGS;

/// Why a cell's namespace could not be made or entered (a setup error of the cell).
#[derive(Debug, thiserror::Error)]
pub enum NetnsError {
    /// Not Linux.
    #[error("the link-local mode needs Linux network namespaces; this is {0}")]
    Unsupported(&'static str),
    /// `unshare(CLONE_NEWNET)` refused: not root (it needs CAP_SYS_ADMIN), or a sandbox
    /// that forbids namespaces.
    #[error("the link-local mode runs the cell in a network namespace of its own, and unshare(CLONE_NEWNET) was refused ({0}): run as root (CAP_SYS_ADMIN), or use the default `[network] mode = \"loopback\"`")]
    Unshare(std::io::Error),
    /// `setns` into the namespace failed.
    #[error("could not enter the cell's network namespace: setns: {0}")]
    Enter(std::io::Error),
    /// Reading `/proc/…/ns/net`.
    #[error("could not read {path}: {err}")]
    Proc {
        /// The path.
        path: String,
        /// The error.
        err: std::io::Error,
    },
    /// `ip` (iproute2) missing or failing while setting up `lo`.
    #[error("could not put the link-local addresses on the namespace's lo with `ip -batch -` (iproute2, Debian package iproute2): {0}")]
    Ip(String),
    /// The thread that made the namespace panicked.
    #[error("the thread making the cell's network namespace panicked")]
    Panicked,
}

/// The namespace id of `path` (`/proc/self/ns/net`, `/proc/thread-self/ns/net`): the
/// link's target, `net:[INODE]`.
///
/// # Errors
/// [`NetnsError::Proc`] when the link cannot be read.
pub fn netns_id(path: &str) -> Result<String, NetnsError> {
    std::fs::read_link(path)
        .map(|t| t.to_string_lossy().into_owned())
        .map_err(|err| NetnsError::Proc {
            path: path.to_string(),
            err,
        })
}

/// The namespace the harness process itself runs in (its main thread's, which never
/// enters a cell's namespace), read once: `net:[INODE]`.
///
/// # Errors
/// [`NetnsError::Proc`] when `/proc/self/ns/net` cannot be read.
pub fn host_netns_id() -> Result<String, NetnsError> {
    static HOST: std::sync::OnceLock<Result<String, String>> = std::sync::OnceLock::new();
    HOST.get_or_init(|| netns_id("/proc/self/ns/net").map_err(|e| e.to_string()))
        .clone()
        .map_err(|e| NetnsError::Proc {
            path: "/proc/self/ns/net".into(),
            err: std::io::Error::other(e),
        })
}

/// The calling thread's namespace id, `net:[INODE]`.
///
/// # Errors
/// [`NetnsError::Proc`] when `/proc/thread-self/ns/net` cannot be read.
pub fn current_thread_netns_id() -> Result<String, NetnsError> {
    netns_id("/proc/thread-self/ns/net")
}

/// One cell's network namespace (see the module doc). Cloning shares it.
#[derive(Debug, Clone)]
pub struct CellNamespace {
    fd: Arc<OwnedFd>,
    id: String,
}

impl CellNamespace {
    /// Makes a namespace with `lo` up and every [`LINK_LOCAL_BINDINGS`] address on it
    /// (`/32`), checked to differ from the harness's own.
    ///
    /// # Errors
    /// [`NetnsError::Unshare`] without root; [`NetnsError::Ip`] when `ip` is missing or
    /// fails; [`NetnsError::Unsupported`] off Linux.
    pub fn create() -> Result<Self, NetnsError> {
        let host = host_netns_id()?;
        // unshare(CLONE_NEWNET) moves only the calling thread: a thread of its own,
        // which ends right after, so no other thread of the harness ever changes
        // namespace.
        let made = std::thread::Builder::new()
            .name("netns-create".into())
            .spawn(make_on_this_thread)
            .map_err(|e| NetnsError::Ip(format!("could not start a thread: {e}")))?
            .join()
            .map_err(|_| NetnsError::Panicked)??;
        if made.id == host {
            return Err(NetnsError::Unshare(std::io::Error::other(format!(
                "the new namespace is the harness's own ({host})"
            ))));
        }
        Ok(made)
    }

    /// `net:[INODE]`, as `readlink /proc/self/ns/net` shows it inside.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Moves the calling thread into this namespace (setns); sockets it makes afterwards
    /// and processes it spawns belong to the namespace.
    ///
    /// # Errors
    /// [`NetnsError::Enter`] when setns fails; [`NetnsError::Proc`] when the thread's
    /// namespace cannot be read back, or [`NetnsError::Enter`] when it is not this one.
    pub fn enter(&self) -> Result<(), NetnsError> {
        enter(&self.fd, &self.id)
    }

    /// A multi-threaded tokio runtime (`workers` workers, threads named `name`) every
    /// thread of which (workers and blocking threads) enters this namespace before it
    /// runs anything, then runs `also` (e.g. raising its priority). A thread that cannot
    /// enter aborts the process: it must not run a link-local cell's work on the host's
    /// network. The runtime keeps the namespace alive.
    ///
    /// # Errors
    /// The runtime could not be built.
    pub fn runtime(
        &self,
        name: &str,
        workers: usize,
        also: fn(),
    ) -> std::io::Result<tokio::runtime::Runtime> {
        let (fd, id) = (self.fd.clone(), self.id.clone());
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers.max(1))
            .thread_name(name)
            .on_thread_start(move || {
                if let Err(e) = enter(&fd, &id) {
                    let _ = writeln!(
                        std::io::stderr(),
                        "imds-harness: a thread of a link-local cell could not enter its network namespace {id}: {e}; aborting rather than run it on the host's network"
                    );
                    std::process::abort();
                }
                also();
            })
            .enable_all()
            .build()
    }
}

#[cfg(target_os = "linux")]
fn enter(fd: &OwnedFd, id: &str) -> Result<(), NetnsError> {
    use rustix::thread::{move_into_link_name_space, LinkNameSpaceType};
    move_into_link_name_space(fd.as_fd(), Some(LinkNameSpaceType::Network))
        .map_err(|e| NetnsError::Enter(e.into()))?;
    let now = current_thread_netns_id()?;
    if now != id {
        return Err(NetnsError::Enter(std::io::Error::other(format!(
            "the thread is in {now} after setns, not {id}"
        ))));
    }
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn enter(_fd: &OwnedFd, _id: &str) -> Result<(), NetnsError> {
    Err(NetnsError::Unsupported(std::env::consts::OS))
}

/// On a thread of its own: unshare, keep a descriptor, set up `lo`.
#[cfg(target_os = "linux")]
fn make_on_this_thread() -> Result<CellNamespace, NetnsError> {
    use rustix::fs::{open, Mode, OFlags};
    use rustix::thread::{unshare_unsafe, UnshareFlags};
    // SAFETY: only CLONE_NEWNET: no file-descriptor table is unshared (the hazard
    // `unshare_unsafe` documents is CLONE_FILES).
    unsafe { unshare_unsafe(UnshareFlags::NEWNET) }.map_err(|e| NetnsError::Unshare(e.into()))?;
    let path = "/proc/thread-self/ns/net";
    let fd = open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()).map_err(|e| {
        NetnsError::Proc {
            path: path.into(),
            err: e.into(),
        }
    })?;
    let id = current_thread_netns_id()?;
    // `ip` spawned from this thread runs in its namespace (a child gets the namespaces
    // of the thread that forks it).
    let mut script = String::from("link set lo up\n");
    for b in LINK_LOCAL_BINDINGS {
        script.push_str(&format!("addr add {}/32 dev lo\n", b.addr.ip()));
    }
    run_ip_batch(&script)?;
    Ok(CellNamespace {
        fd: Arc::new(fd),
        id,
    })
}

#[cfg(not(target_os = "linux"))]
fn make_on_this_thread() -> Result<CellNamespace, NetnsError> {
    Err(NetnsError::Unsupported(std::env::consts::OS))
}

/// `ip -batch -` with `script` on stdin, from the calling thread.
#[cfg(target_os = "linux")]
fn run_ip_batch(script: &str) -> Result<(), NetnsError> {
    let mut child = Command::new("ip")
        .args([OsStr::new("-batch"), OsStr::new("-")])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .env_clear()
        .spawn()
        .map_err(|e| NetnsError::Ip(format!("could not run `ip`: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(script.as_bytes())
            .map_err(|e| NetnsError::Ip(e.to_string()))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| NetnsError::Ip(e.to_string()))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(NetnsError::Ip(format!(
            "{}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs only as root (elsewhere it checks the refusal's wording).
    #[test]
    fn a_cell_namespace_is_not_the_hosts_and_has_the_addresses_on_lo() {
        let ns = match CellNamespace::create() {
            Ok(ns) => ns,
            Err(NetnsError::Unshare(e)) => {
                let msg = NetnsError::Unshare(e).to_string();
                assert!(msg.contains("run as root"), "{msg}");
                return;
            }
            Err(e) => panic!("{e}"),
        };
        let host = host_netns_id().unwrap();
        assert_ne!(ns.id(), host);
        assert_eq!(
            current_thread_netns_id().unwrap(),
            host,
            "this thread stays"
        );
        let ns2 = ns.clone();
        let (ifaces, bound) = std::thread::spawn(move || {
            ns2.enter().unwrap();
            let dev = std::fs::read_to_string("/proc/thread-self/net/dev").unwrap();
            let ifaces: Vec<String> = dev
                .lines()
                .skip(2)
                .filter_map(|l| l.split(':').next())
                .map(|s| s.trim().to_string())
                .collect();
            // A round trip, not only a bind: a fresh namespace lets any address bind
            // (measured on Linux 6.18), but connecting needs `lo` up and the address on it.
            let bound: Vec<bool> = LINK_LOCAL_BINDINGS
                .iter()
                .map(|b| {
                    let listener = std::net::TcpListener::bind(b.addr).unwrap();
                    std::net::TcpStream::connect_timeout(&b.addr, std::time::Duration::from_secs(5))
                        .is_ok()
                        && listener.accept().is_ok()
                })
                .collect();
            (ifaces, bound)
        })
        .join()
        .unwrap();
        assert_eq!(ifaces, vec!["lo".to_string()], "only lo inside");
        assert!(
            bound.iter().all(|b| *b),
            "every address answers inside: {bound:?}"
        );
        let rt = ns.runtime("netns-test", 1, || {}).unwrap();
        let inside = rt.block_on(async {
            tokio::task::spawn_blocking(current_thread_netns_id)
                .await
                .unwrap()
                .unwrap()
        });
        rt.shutdown_background();
        assert_eq!(inside, ns.id(), "blocking threads enter too");
    }
}
