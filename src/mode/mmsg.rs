//! Many datagrams per system call: recvmmsg(2) on Linux (one `recv_from` at a time
//! elsewhere). A call that returns fewer datagrams than there is room for has taken all
//! there were: the socket's readiness is cleared with it, which saves the call that would
//! only say EAGAIN. Readiness that arrives meanwhile is a new event, which tokio keeps.

use std::io;
use std::net::SocketAddr;

use tokio::io::Interest;

use super::dgram::Dgram;

/// What to wait for before [`Batch::recv`]: a datagram, or an error about an earlier one.
pub const READY: Interest = Interest::READABLE.add(Interest::ERROR);

/// Datagrams taken in one call.
pub const SLOTS: usize = 16;

/// Room for [`SLOTS`] datagrams of any size, and where each came from.
pub struct Batch {
    bufs: Vec<Vec<u8>>,
    got: Vec<(usize, SocketAddr)>,
}

impl Batch {
    pub fn new(datagram: usize) -> Batch {
        Batch::with_slots(SLOTS, datagram)
    }

    /// Room for `slots` (at most [`SLOTS`]) datagrams: fewer where one waits at a time.
    pub fn with_slots(slots: usize, datagram: usize) -> Batch {
        let slots = slots.clamp(1, SLOTS);
        Batch { bufs: (0..slots).map(|_| vec![0u8; datagram]).collect(), got: Vec::with_capacity(slots) }
    }

    /// The datagrams of the last [`Batch::recv`]: bytes and source, in order of arrival.
    pub fn datagram(&self, i: usize) -> (&[u8], SocketAddr) {
        let (len, from) = self.got[i];
        (&self.bufs[i][..len], from)
    }

    /// Receives what waits, up to its slots' worth of datagrams; `WouldBlock` when nothing
    /// does. Works on a connected socket too (the source is then the peer).
    #[cfg(target_os = "linux")]
    pub fn recv(&mut self, socket: &Dgram) -> io::Result<usize> {
        use std::os::fd::AsRawFd;
        self.got.clear();
        let slots = self.bufs.len();
        let mut names: [libc::sockaddr_storage; SLOTS] = unsafe { std::mem::zeroed() };
        // On the stack: a wake-up allocates nothing.
        let mut iovs: [libc::iovec; SLOTS] = [libc::iovec { iov_base: std::ptr::null_mut(), iov_len: 0 }; SLOTS];
        for (iov, b) in iovs.iter_mut().zip(self.bufs.iter_mut()) {
            *iov = libc::iovec { iov_base: b.as_mut_ptr().cast(), iov_len: b.len() };
        }
        // SAFETY: zeroed mmsghdrs are valid; each is pointed below at memory that outlives
        // the call (this function's arrays and the batch's buffers).
        let mut msgs: [libc::mmsghdr; SLOTS] = unsafe { std::mem::zeroed() };
        for (i, m) in msgs.iter_mut().take(slots).enumerate() {
            m.msg_hdr.msg_name = (&mut names[i] as *mut libc::sockaddr_storage).cast();
            m.msg_hdr.msg_namelen = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            m.msg_hdr.msg_iov = &mut iovs[i];
            m.msg_hdr.msg_iovlen = 1;
        }
        let n = std::cell::Cell::new(0usize);
        let asked = std::cell::Cell::new(false);
        let mut take = || {
            asked.set(true);
            // SAFETY: `slots` headers set up above, on a socket we hold.
            let r = unsafe {
                libc::recvmmsg(
                    socket.get_ref().as_raw_fd(),
                    msgs.as_mut_ptr(),
                    slots as libc::c_uint,
                    libc::MSG_DONTWAIT,
                    std::ptr::null_mut(),
                )
            };
            if r < 0 {
                return Err(io::Error::last_os_error());
            }
            n.set(r as usize);
            if (r as usize) < slots { Err(io::ErrorKind::WouldBlock.into()) } else { Ok(r as usize) }
        };
        let mut received = socket.try_io(Interest::READABLE, &mut take);
        if !asked.get() {
            // Not readable: an ICMP error (port unreachable) is readiness of its own, which
            // only recvmmsg reports (and clears).
            received = socket.try_io(Interest::ERROR, &mut take);
        }
        match received {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock && n.get() > 0 => {}
            Err(e) => return Err(e),
            Ok(_) => {}
        }
        let n = n.get();
        for (i, m) in msgs.iter().enumerate().take(n) {
            let from = socket_addr(&names[i]).ok_or_else(|| io::Error::other("a datagram from no IP address"))?;
            self.got.push((m.msg_len as usize, from));
        }
        Ok(n)
    }
}

/// The IP address and port the kernel wrote into a `sockaddr_storage`.
#[cfg(target_os = "linux")]
fn socket_addr(s: &libc::sockaddr_storage) -> Option<SocketAddr> {
    use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};
    match i32::from(s.ss_family) {
        libc::AF_INET => {
            // SAFETY: the family says the storage holds a sockaddr_in, which fits in it.
            let a = unsafe { &*(s as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            let ip = Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr));
            Some(SocketAddr::V4(SocketAddrV4::new(ip, u16::from_be(a.sin_port))))
        }
        libc::AF_INET6 => {
            // SAFETY: the family says the storage holds a sockaddr_in6, which fits in it.
            let a = unsafe { &*(s as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>() };
            let ip = Ipv6Addr::from(a.sin6_addr.s6_addr);
            Some(SocketAddr::V6(SocketAddrV6::new(ip, u16::from_be(a.sin6_port), a.sin6_flowinfo, a.sin6_scope_id)))
        }
        _ => None,
    }
}

impl Batch {
    #[cfg(not(target_os = "linux"))]
    pub fn recv(&mut self, socket: &Dgram) -> io::Result<usize> {
        self.got.clear();
        let (len, from) = socket.try_io(Interest::READABLE, || socket.get_ref().recv_from(&mut self.bufs[0]))?;
        self.got.push((len, from));
        Ok(1)
    }
}

/// Sends datagrams (up to [`SLOTS`] of them) in one sendmmsg(2) call, in order; returns
/// how many went (at least one), or the error of the first (`WouldBlock` when the send
/// buffer is full). Everything the call needs is on the stack: nothing is allocated.
#[cfg(target_os = "linux")]
pub fn send<'a>(socket: &Dgram, datagrams: impl IntoIterator<Item = (SocketAddr, &'a [u8])>) -> io::Result<usize> {
    use std::os::fd::AsRawFd;
    let unset = SocketAddr::from(([0, 0, 0, 0], 0));
    let mut names: [socket2::SockAddr; SLOTS] = std::array::from_fn(|_| socket2::SockAddr::from(unset));
    let mut iovs: [libc::iovec; SLOTS] = [libc::iovec { iov_base: std::ptr::null_mut(), iov_len: 0 }; SLOTS];
    let mut count = 0;
    for (to, bytes) in datagrams.into_iter().take(SLOTS) {
        names[count] = socket2::SockAddr::from(to);
        iovs[count] = libc::iovec { iov_base: bytes.as_ptr().cast_mut().cast(), iov_len: bytes.len() };
        count += 1;
    }
    // SAFETY: zeroed mmsghdrs are valid; each used one points at memory that outlives the
    // call.
    let mut msgs: [libc::mmsghdr; SLOTS] = unsafe { std::mem::zeroed() };
    for (i, m) in msgs.iter_mut().take(count).enumerate() {
        m.msg_hdr.msg_name = names[i].as_ptr().cast_mut().cast();
        m.msg_hdr.msg_namelen = names[i].len();
        m.msg_hdr.msg_iov = &mut iovs[i];
        m.msg_hdr.msg_iovlen = 1;
    }
    // Sent straight away: the socket is registered for reading only (see `Dgram`).
    // SAFETY: `count` headers set up above, on a socket we hold; the kernel only reads the
    // buffers.
    let r = unsafe {
        libc::sendmmsg(socket.get_ref().as_raw_fd(), msgs.as_mut_ptr(), count as libc::c_uint, libc::MSG_DONTWAIT)
    };
    if r < 0 { Err(io::Error::last_os_error()) } else { Ok(r as usize) }
}

#[cfg(not(target_os = "linux"))]
pub fn send<'a>(socket: &Dgram, datagrams: impl IntoIterator<Item = (SocketAddr, &'a [u8])>) -> io::Result<usize> {
    match datagrams.into_iter().next() {
        Some((to, bytes)) => socket.try_send_to(bytes, to).map(|_| 1),
        None => Ok(0),
    }
}
