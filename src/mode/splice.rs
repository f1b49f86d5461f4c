//! Zero-copy moves between sockets through a pipe, with splice(2) (Linux). The relay uses it
//! when nobody wants to see the bytes: the kernel hands page references from one socket to
//! the other; nothing is copied into user space. (For an echo server it measured slower
//! than copying on this kernel, so the echo does not use it.)

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use tokio::io::Interest;
use tokio::net::TcpStream;

/// A pipe used as the in-kernel buffer between a socket read and a socket write.
pub struct Pipe {
    read: OwnedFd,
    write: OwnedFd,
    /// Bytes in the pipe, not yet spliced out.
    pub queued: usize,
    capacity: usize,
}

/// The pipe size asked for; Linux grants up to /proc/sys/fs/pipe-max-size (1 MiB default).
const WANTED: usize = 1 << 20;

impl Pipe {
    pub fn new() -> io::Result<Pipe> {
        let mut fds = [0 as RawFd; 2];
        // SAFETY: pipe2 writes two fds into the array we own.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) } != 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: pipe2 succeeded, so both fds are open and now owned here alone.
        let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        // SAFETY: fcntl on an fd we own; a failure leaves the default size.
        let size = unsafe { libc::fcntl(write.as_raw_fd(), libc::F_SETPIPE_SZ, WANTED as libc::c_int) };
        // SAFETY: as above.
        let capacity = if size > 0 {
            size as usize
        } else {
            unsafe { libc::fcntl(write.as_raw_fd(), libc::F_GETPIPE_SZ) }.max(4096) as usize
        };
        Ok(Pipe { read, write, queued: 0, capacity })
    }

    /// Moves what the socket has (up to the pipe's room) into the pipe. `Ok(0)` is EOF;
    /// `WouldBlock` clears the socket's read readiness, as tokio requires.
    pub fn fill_from(&mut self, stream: &TcpStream) -> io::Result<usize> {
        let room = self.capacity - self.queued;
        let n = stream.try_io(Interest::READABLE, || splice(stream.as_raw_fd(), self.write.as_raw_fd(), room))?;
        self.queued += n;
        Ok(n)
    }

    /// Moves bytes from the pipe into the socket, as many as it takes now.
    pub fn drain_to(&mut self, stream: &TcpStream) -> io::Result<usize> {
        let n = stream.try_io(Interest::WRITABLE, || splice(self.read.as_raw_fd(), stream.as_raw_fd(), self.queued))?;
        self.queued -= n;
        Ok(n)
    }
}

fn splice(from: RawFd, to: RawFd, len: usize) -> io::Result<usize> {
    loop {
        // SAFETY: both fds are open for the duration of the call; null offsets are allowed
        // for sockets and pipes.
        let n = unsafe {
            libc::splice(
                from,
                std::ptr::null_mut(),
                to,
                std::ptr::null_mut(),
                len,
                libc::SPLICE_F_MOVE | libc::SPLICE_F_NONBLOCK,
            )
        };
        if n >= 0 {
            return Ok(n as usize);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}
