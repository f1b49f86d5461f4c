//! Many sockets watched by one task: which of them have something to read (or an error to
//! report). The UDP relay keeps one socket towards the target per client; a task per
//! socket costs a task wake-up for every answer (the runtime's queue, the waker, the task's
//! state), which one loop over the ready ones does not.
//!
//! On Linux the set is an epoll instance of its own, level-triggered, whose descriptor is
//! registered with the runtime: the runtime says when any member is ready, and one
//! `epoll_wait` with no timeout names them, as a C relay's loop does. A member with more to
//! read is named again in the next pass, so one datagram is read per member and pass, and
//! no read is spent learning that a socket is empty. Elsewhere each member is registered
//! with the runtime and asked in turn.

use std::io;
use std::os::fd::BorrowedFd;

use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

/// Members named per [`Ready::take`].
pub const MAX_READY: usize = 64;

#[cfg(target_os = "linux")]
pub struct ReadySet {
    epoll: AsyncFd<std::os::fd::OwnedFd>,
}

#[cfg(target_os = "linux")]
impl ReadySet {
    pub fn new() -> io::Result<ReadySet> {
        use std::os::fd::FromRawFd;
        // SAFETY: no arguments but flags; the descriptor it returns is owned from here on.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a descriptor just made, owned by nothing else.
        let owned = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) };
        // SAFETY: the descriptor stays open and the same until the AsyncFd, its owner from
        // here on, is dropped.
        let epoll = unsafe { AsyncFd::register_with_interest(owned, Interest::READABLE) }?;
        Ok(ReadySet { epoll })
    }

    /// Watches `fd` for reading, naming it `key`. Errors (an ICMP port unreachable) are
    /// always reported.
    pub fn add(&self, fd: BorrowedFd<'_>, key: u64) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_ADD, fd, key)
    }

    /// Stops watching `fd` (closing it would too; this says so where it happens).
    pub fn remove(&self, fd: BorrowedFd<'_>, key: u64) {
        let _ = self.ctl(libc::EPOLL_CTL_DEL, fd, key);
    }

    fn ctl(&self, op: libc::c_int, fd: BorrowedFd<'_>, key: u64) -> io::Result<()> {
        use std::os::fd::AsRawFd;
        let mut event = libc::epoll_event { events: libc::EPOLLIN as u32, u64: key };
        // SAFETY: both descriptors are open; the kernel copies the event.
        let r = unsafe { libc::epoll_ctl(self.epoll.as_raw_fd(), op, fd.as_raw_fd(), &mut event) };
        if r < 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
    }

    /// Waits until some member may be ready; then [`Ready::take`] names them.
    pub async fn ready(&self) -> io::Result<Ready<'_>> {
        Ok(Ready { guard: self.epoll.readable().await? })
    }
}

/// A pass over the members found ready: [`Ready::take`] names them, [`Ready::recv`] reads
/// one, and [`Ready::done`] ends the pass.
#[cfg(target_os = "linux")]
pub struct Ready<'a> {
    guard: tokio::io::unix::AsyncFdReadyGuard<'a, std::os::fd::OwnedFd>,
}

#[cfg(target_os = "linux")]
impl Ready<'_> {
    /// The keys of the members ready now, at most [`MAX_READY`], without waiting.
    pub fn take(&mut self, keys: &mut Vec<u64>) -> io::Result<()> {
        use std::os::fd::AsRawFd;
        keys.clear();
        let mut events = [libc::epoll_event { events: 0, u64: 0 }; MAX_READY];
        // SAFETY: room for MAX_READY events on the stack; a zero timeout never blocks.
        let n = unsafe {
            libc::epoll_wait(self.guard.get_inner().as_raw_fd(), events.as_mut_ptr(), MAX_READY as libc::c_int, 0)
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            return if e.kind() == io::ErrorKind::Interrupted { Ok(()) } else { Err(e) };
        }
        keys.extend(events[..n as usize].iter().map(|e| e.u64));
        Ok(())
    }

    /// Reads one datagram from the member `key`, the connected socket `socket`.
    pub fn recv(&self, _key: u64, socket: &std::net::UdpSocket, buf: &mut [u8]) -> io::Result<usize> {
        socket.recv(buf)
    }

    /// Ends the pass. When [`take`](Self::take) named no one, none is ready and the set's
    /// readiness is cleared: the next wait sleeps until a member's next datagram, which the
    /// kernel reports to the runtime as new readiness, so none is missed. Otherwise the
    /// next wait returns at once, for members with more to read.
    pub fn done(mut self, none_named: bool) {
        if none_named {
            self.guard.clear_ready();
        }
    }
}

/// Elsewhere: a copy of each member's descriptor registered with the runtime.
#[cfg(not(target_os = "linux"))]
pub struct ReadySet {
    members: std::sync::Mutex<std::collections::BTreeMap<u64, AsyncFd<std::os::fd::OwnedFd>>>,
}

#[cfg(not(target_os = "linux"))]
impl ReadySet {
    pub fn new() -> io::Result<ReadySet> {
        Ok(ReadySet { members: Default::default() })
    }

    pub fn add(&self, fd: BorrowedFd<'_>, key: u64) -> io::Result<()> {
        let copy = fd.try_clone_to_owned()?;
        // SAFETY: the copy stays open and the same until its AsyncFd is dropped.
        let watched = unsafe { AsyncFd::register_with_interest(copy, Interest::READABLE) }?;
        self.members().insert(key, watched);
        Ok(())
    }

    fn members(&self) -> std::sync::MutexGuard<'_, std::collections::BTreeMap<u64, AsyncFd<std::os::fd::OwnedFd>>> {
        self.members.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn remove(&self, _fd: BorrowedFd<'_>, key: u64) {
        self.members().remove(&key);
    }

    pub async fn ready(&self) -> io::Result<Ready<'_>> {
        let keys = std::future::poll_fn(|cx| {
            let members = self.members();
            let keys: Vec<u64> = members
                .iter()
                .filter(|(_, m)| m.poll_read_ready(cx).is_ready())
                .map(|(key, _)| *key)
                .take(MAX_READY)
                .collect();
            if keys.is_empty() { std::task::Poll::Pending } else { std::task::Poll::Ready(keys) }
        })
        .await;
        Ok(Ready { keys, set: self })
    }
}

#[cfg(not(target_os = "linux"))]
pub struct Ready<'a> {
    keys: Vec<u64>,
    set: &'a ReadySet,
}

#[cfg(not(target_os = "linux"))]
impl Ready<'_> {
    pub fn take(&mut self, keys: &mut Vec<u64>) -> io::Result<()> {
        keys.clear();
        keys.append(&mut self.keys);
        Ok(())
    }

    /// Reads through the member's registration, so that finding it empty clears its
    /// readiness.
    pub fn recv(&self, key: u64, socket: &std::net::UdpSocket, buf: &mut [u8]) -> io::Result<usize> {
        match self.set.members().get(&key) {
            Some(m) => m.try_io(Interest::READABLE, |_| socket.recv(buf)),
            None => Err(io::ErrorKind::WouldBlock.into()),
        }
    }

    pub fn done(self, _none_named: bool) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    /// Members are named by key when they have a datagram, and only then; a member with
    /// two waiting is named in two passes, one read each; a removed member is not named.
    #[tokio::test]
    async fn names_the_members_with_something_to_read() {
        let set = ReadySet::new().unwrap();
        let members: Vec<std::net::UdpSocket> =
            (0..3).map(|_| std::net::UdpSocket::bind("127.0.0.1:0").unwrap()).collect();
        for (key, m) in members.iter().enumerate() {
            m.set_nonblocking(true).unwrap();
            set.add(m.as_fd(), key as u64 + 10).unwrap();
        }
        let peer = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        // Member 1 is sent two datagrams, and is the only one sent anything in the end.
        for (i, what) in [(0, &b"a"[..]), (2, b"b"), (1, b"c"), (1, b"d")] {
            peer.send_to(what, members[i].local_addr().unwrap()).unwrap();
        }
        let (mut keys, mut buf) = (Vec::new(), [0u8; 8]);
        let mut got = Vec::new();
        while got.len() < 4 {
            let mut ready = set.ready().await.unwrap();
            ready.take(&mut keys).unwrap();
            for &key in &keys {
                if let Ok(n) = ready.recv(key, &members[(key - 10) as usize], &mut buf) {
                    got.push((key, buf[..n].to_vec()));
                }
            }
            ready.done(keys.is_empty());
        }
        got.sort();
        let want = [(10, b"a".to_vec()), (11, b"c".to_vec()), (11, b"d".to_vec()), (12, b"b".to_vec())];
        assert_eq!(got, want);
        // The set is quiet once all is read: passes go on, reading what they name, while
        // it says it is ready (until a member is found empty, or no member is named).
        while let Some(ready) = futures_util::FutureExt::now_or_never(set.ready()) {
            let mut ready = ready.unwrap();
            ready.take(&mut keys).unwrap();
            for &key in &keys {
                assert!(ready.recv(key, &members[(key - 10) as usize], &mut buf).is_err(), "all was read");
            }
            ready.done(keys.is_empty());
        }
        assert!(futures_util::FutureExt::now_or_never(set.ready()).is_none(), "nothing to read, yet the set woke");
        // A removed member is not named, whatever it is sent.
        set.remove(members[0].as_fd(), 10);
        peer.send_to(b"e", members[0].local_addr().unwrap()).unwrap();
        peer.send_to(b"f", members[2].local_addr().unwrap()).unwrap();
        let mut ready = set.ready().await.unwrap();
        ready.take(&mut keys).unwrap();
        assert_eq!(keys, [12]);
    }
}
