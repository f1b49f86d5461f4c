//! Unix domain sockets, taken anywhere a `HOST PORT` is: `unix:PATH`, or `unix:@NAME` for
//! Linux's abstract names (no file). A listener removes a stale socket file (one nothing
//! answers on) before it binds, never a file that is not a socket, and removes its own at
//! exit. Who is at the other end (pid, uid) comes from SO_PEERCRED.

use std::fmt;
use std::io;
use std::os::unix::net as stdunix;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::net::{UnixListener, UnixStream};

use crate::error::{Error, Result};
use crate::event::Peer;

/// Where a Unix socket is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnixAddr {
    Path(PathBuf),
    /// Linux's abstract namespace: `unix:@NAME`.
    Abstract(Vec<u8>),
}

impl UnixAddr {
    /// `unix:PATH` or `unix:@NAME`; `None` when `s` is not a Unix address at all.
    pub fn parse(s: &str) -> Option<std::result::Result<UnixAddr, String>> {
        let rest = s.strip_prefix("unix:")?;
        Some(match rest.strip_prefix('@') {
            Some("") => Err(rust_i18n::t!("unix.empty_name").into_owned()),
            Some(name) => Ok(UnixAddr::Abstract(name.as_bytes().to_vec())),
            None if rest.is_empty() => Err(rust_i18n::t!("unix.empty_path").into_owned()),
            // sun_path holds 108 bytes with its terminating zero.
            None if rest.len() > 107 => Err(rust_i18n::t!("unix.too_long", len = rest.len()).into_owned()),
            None => Ok(UnixAddr::Path(PathBuf::from(rest))),
        })
    }

    fn socket_addr(&self) -> io::Result<stdunix::SocketAddr> {
        match self {
            UnixAddr::Path(p) => stdunix::SocketAddr::from_pathname(p),
            UnixAddr::Abstract(name) => {
                use std::os::linux::net::SocketAddrExt;
                stdunix::SocketAddr::from_abstract_name(name)
            }
        }
    }

    /// The address of a socket as the OS gives it (`None`: unnamed, as clients are).
    pub fn of(addr: &stdunix::SocketAddr) -> Option<UnixAddr> {
        use std::os::linux::net::SocketAddrExt;
        if let Some(p) = addr.as_pathname() {
            return Some(UnixAddr::Path(p.to_path_buf()));
        }
        addr.as_abstract_name().map(|n| UnixAddr::Abstract(n.to_vec()))
    }
}

impl fmt::Display for UnixAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UnixAddr::Path(p) => write!(f, "unix:{}", p.display()),
            UnixAddr::Abstract(name) => write!(f, "unix:@{}", String::from_utf8_lossy(name)),
        }
    }
}

/// A listening Unix socket; the file it made is removed when it is dropped.
pub struct Listening {
    pub listener: UnixListener,
    pub addr: UnixAddr,
    remove: Option<PathBuf>,
}

impl Drop for Listening {
    fn drop(&mut self) {
        if let Some(path) = &self.remove {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Binds and listens (`backlog` as the lesson's `listen(128)`). A socket file left by a
/// program that is gone is removed first; one that still answers is not touched.
pub fn listen(addr: &UnixAddr, backlog: u32) -> Result<Listening> {
    let sock = addr.socket_addr().map_err(|source| listen_error(addr, source))?;
    let std = match stdunix::UnixListener::bind_addr(&sock) {
        Ok(l) => l,
        Err(e) if e.kind() == io::ErrorKind::AddrInUse => match addr {
            UnixAddr::Path(path) => {
                clear_stale(path)?;
                stdunix::UnixListener::bind_addr(&sock).map_err(|source| listen_error(addr, source))?
            }
            UnixAddr::Abstract(_) => return Err(Error::UnixInUse { addr: addr.to_string() }),
        },
        Err(source) => return Err(listen_error(addr, source)),
    };
    let remove = match addr {
        UnixAddr::Path(p) => Some(p.clone()),
        UnixAddr::Abstract(_) => None,
    };
    // std listens with a backlog of 128; a second listen(2) sets the one asked for.
    {
        use std::os::fd::AsRawFd;
        let backlog = i32::try_from(backlog).unwrap_or(i32::MAX);
        // SAFETY: a valid listening socket we own.
        unsafe { libc::listen(std.as_raw_fd(), backlog) };
    }
    let made = (|| {
        std.set_nonblocking(true)?;
        UnixListener::from_std(std)
    })();
    let listening =
        Listening { listener: made.map_err(|source| listen_error(addr, source))?, addr: addr.clone(), remove };
    Ok(listening)
}

/// A path in use: removed only when it is a socket nothing answers on.
fn clear_stale(path: &Path) -> Result<()> {
    use std::os::unix::fs::FileTypeExt;
    let addr = UnixAddr::Path(path.to_path_buf());
    let meta = std::fs::symlink_metadata(path).map_err(|source| listen_error(&addr, source))?;
    if !meta.file_type().is_socket() {
        return Err(Error::NotASocket { path: path.to_path_buf() });
    }
    match stdunix::UnixStream::connect(path) {
        Ok(_) => Err(Error::UnixInUse { addr: addr.to_string() }),
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
            std::fs::remove_file(path).map_err(|source| listen_error(&addr, source))
        }
        Err(source) => Err(listen_error(&addr, source)),
    }
}

fn listen_error(addr: &UnixAddr, source: io::Error) -> Error {
    Error::Io { context: rust_i18n::t!("unix.cannot_listen", addr = addr).into_owned(), source }
}

/// Connects, within `timeout`.
pub async fn connect(addr: &UnixAddr, timeout: Duration) -> Result<UnixStream> {
    let connecting = async {
        match addr {
            UnixAddr::Path(p) => UnixStream::connect(p).await,
            UnixAddr::Abstract(_) => {
                let s = stdunix::UnixStream::connect_addr(&addr.socket_addr()?)?;
                s.set_nonblocking(true)?;
                UnixStream::from_std(s)
            }
        }
    };
    match tokio::time::timeout(timeout, connecting).await {
        Ok(Ok(s)) => Ok(s),
        Ok(Err(e)) => Err(Error::UnixConnect { addr: addr.to_string(), reason: crate::error::io_reason(&e) }),
        Err(_) => {
            Err(Error::ConnectTimeout { target: addr.to_string(), seconds: crate::render::time::seconds(timeout) })
        }
    }
}

/// The other end of a Unix connection: the socket's name (none, for an accepted client,
/// whose own socket is unnamed) and the peer process's credentials.
pub fn peer(stream: &UnixStream) -> Peer {
    let named = stream.peer_addr().ok().and_then(|a| UnixAddr::of(&a.into()));
    let cred = stream.peer_cred().ok();
    Peer::Unix {
        path: named.map(|a| a.to_string()).unwrap_or_default(),
        pid: cred.as_ref().and_then(|c| c.pid()),
        uid: cred.map(|c| c.uid()),
    }
}

/// Our end of a Unix connection.
pub fn local(stream: &UnixStream) -> Peer {
    let named = stream.local_addr().ok().and_then(|a| UnixAddr::of(&a.into()));
    Peer::Unix { path: named.map(|a| a.to_string()).unwrap_or_else(|| "unix:".into()), pid: None, uid: None }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_as_people_write_them() {
        assert_eq!(UnixAddr::parse("9090"), None);
        assert_eq!(UnixAddr::parse("unix:/tmp/x.sock"), Some(Ok(UnixAddr::Path("/tmp/x.sock".into()))));
        assert_eq!(UnixAddr::parse("unix:@dbg"), Some(Ok(UnixAddr::Abstract(b"dbg".to_vec()))));
        assert!(matches!(UnixAddr::parse("unix:"), Some(Err(_))));
        assert!(matches!(UnixAddr::parse("unix:@"), Some(Err(_))));
        assert!(matches!(UnixAddr::parse(&format!("unix:/{}", "a".repeat(107))), Some(Err(_))));
        assert_eq!(UnixAddr::parse("unix:@dbg").unwrap().unwrap().to_string(), "unix:@dbg");
    }

    #[tokio::test]
    async fn a_stale_socket_is_replaced_a_live_one_is_not_and_ours_goes_at_the_end() {
        let dir = std::env::temp_dir().join(format!("netassist-unix-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("s.sock");
        let addr = UnixAddr::Path(path.clone());
        // A socket file whose program is gone.
        drop(stdunix::UnixListener::bind(&path).unwrap());
        assert!(path.exists());
        let first = listen(&addr, 16).unwrap();
        // Something answers now: a second listener must not take its path.
        assert!(matches!(listen(&addr, 16), Err(Error::UnixInUse { .. })));
        drop(first);
        assert!(!path.exists(), "the listener removes its socket file");
        // A file that is not a socket is never removed.
        std::fs::write(&path, b"keep").unwrap();
        assert!(matches!(listen(&addr, 16), Err(Error::NotASocket { .. })));
        assert_eq!(std::fs::read(&path).unwrap(), b"keep");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
