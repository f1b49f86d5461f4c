//! How the relay carries bytes from one TCP socket to the other: copying through the
//! thread's read buffer (small messages, or when the bytes are shown), or splice(2) through
//! a pipe once a flow proves bulk and nothing needs the bytes.

use std::io;

use bytes::Bytes;
use tokio::net::TcpStream;

use super::connection::{with_read_buffer, write_now};

/// One direction of the relay: bytes read from one socket, written to the other.
pub(super) struct Flow {
    pub carry: Carry,
    /// The source sent FIN.
    pub eof: bool,
    /// The FIN was passed on.
    pub passed: bool,
}

impl Flow {
    pub fn new(carry: Carry) -> Flow {
        Flow { carry, eof: false, passed: false }
    }
}

/// How bytes cross from one socket to the other.
pub(super) enum Carry {
    /// Through this thread's read buffer; what the destination does not take at once is
    /// kept: `(bytes, how many have gone)`. Needed when the bytes are shown or captured;
    /// otherwise used for small messages (a read and a write, no pipe), until a read fills
    /// the whole buffer: then the flow is bulk and moves to `Splice` (`may_splice`).
    Copy { pending: Option<(Bytes, usize)>, may_splice: bool },
    /// Through a pipe with splice(2): no copy in user space.
    #[cfg(target_os = "linux")]
    Splice(super::splice::Pipe),
}

/// What one forward step did: whether the source ended, and what reached the destination.
pub(super) enum Step {
    Eof,
    Moved(Delivered),
}

/// Bytes that reached the destination: how many, and (when the views want them) which.
/// Counted and shown only once written, so totals and the capture hold what was delivered.
#[derive(Default)]
pub(super) struct Delivered {
    pub n: usize,
    pub shown: Option<Bytes>,
}

impl Carry {
    /// Copying at first; the zero-copy carry once the flow proves bulk, where the OS has
    /// one and nothing needs the bytes. An idle or chatty connection holds no pipe.
    pub fn new(want: bool) -> Carry {
        Carry::Copy { pending: None, may_splice: cfg!(target_os = "linux") && !want }
    }

    /// Whether bytes wait for the destination to take them.
    pub fn busy(&self) -> bool {
        self.waiting() > 0
    }

    /// How many bytes wait for the destination.
    pub fn waiting(&self) -> usize {
        match self {
            Carry::Copy { pending, .. } => pending.as_ref().map_or(0, |(b, at)| b.len() - at),
            #[cfg(target_os = "linux")]
            Carry::Splice(pipe) => pipe.queued,
        }
    }

    /// Reads what `src` has and writes it to `dst` at once; what `dst` does not take waits.
    /// An error says whether it came from reading (`true`) or writing.
    pub fn step(&mut self, src: &TcpStream, dst: &TcpStream, want: bool) -> Result<Step, (bool, io::Error)> {
        match self {
            Carry::Copy { pending, may_splice } => {
                let mut bulk = false;
                let moved = with_read_buffer(|buf| {
                    let n = match read_drained(src, buf) {
                        Ok(0) => return Ok(Step::Eof),
                        Ok(n) => n,
                        Err(e) => return Err((true, e)),
                    };
                    bulk = n == buf.len();
                    let chunk = &buf[..n];
                    let written = write_now(dst, chunk).map_err(|e| (false, e))?;
                    if written < n {
                        *pending = Some((Bytes::copy_from_slice(chunk), written));
                        // Shown once all of it is written (or, at a stop, what was).
                        return Ok(Step::Moved(Delivered { n: written, shown: None }));
                    }
                    Ok(Step::Moved(Delivered { n, shown: want.then(|| Bytes::copy_from_slice(chunk)) }))
                });
                let switch = bulk && *may_splice && pending.is_none();
                #[cfg(target_os = "linux")]
                if switch {
                    // Out of file descriptors for a pipe: keep copying.
                    match super::splice::Pipe::new() {
                        Ok(pipe) => *self = Carry::Splice(pipe),
                        Err(_) => {
                            if let Carry::Copy { may_splice, .. } = self {
                                *may_splice = false;
                            }
                        }
                    }
                }
                let _ = switch;
                moved
            }
            #[cfg(target_os = "linux")]
            Carry::Splice(pipe) => {
                let n = pipe.fill_from(src).map_err(|e| (true, e))?;
                if n == 0 {
                    return Ok(Step::Eof);
                }
                let moved = self.drain(dst, want).map_err(|e| (false, e))?;
                Ok(Step::Moved(moved))
            }
        }
    }

    /// Writes what waits for `dst`, as much as it takes now.
    pub fn drain(&mut self, dst: &TcpStream, want: bool) -> io::Result<Delivered> {
        match self {
            Carry::Copy { pending, .. } => {
                let Some((bytes, at)) = pending.as_mut() else { return Ok(Delivered::default()) };
                let n = write_now(dst, &bytes[*at..])?;
                *at += n;
                if *at < bytes.len() {
                    return Ok(Delivered { n, shown: None });
                }
                let (bytes, _) = pending.take().expect("present");
                Ok(Delivered { n, shown: want.then_some(bytes) })
            }
            #[cfg(target_os = "linux")]
            Carry::Splice(pipe) => {
                let mut n = 0;
                while pipe.queued > 0 {
                    match pipe.drain_to(dst) {
                        Ok(m) => n += m,
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) => return Err(e),
                    }
                }
                Ok(Delivered { n, shown: None })
            }
        }
    }

    /// At a stop that could not wait longer: what was written of a chunk in flight, for
    /// the views (the rest is never delivered).
    pub fn written_part(&mut self) -> Option<Bytes> {
        match self {
            Carry::Copy { pending, .. } => pending.take().filter(|(_, at)| *at > 0).map(|(b, at)| b.slice(..at)),
            #[cfg(target_os = "linux")]
            Carry::Splice(_) => None,
        }
    }
}

/// Reads what `src` has. A read that does not fill `buf` took everything there was: the
/// socket's readiness is cleared with it, which saves the read that would only say
/// EAGAIN (one system call per message). Readiness that arrives meanwhile is a new event,
/// which tokio keeps.
pub(crate) fn read_drained(src: &TcpStream, buf: &mut [u8]) -> io::Result<usize> {
    use std::os::fd::AsRawFd;
    let mut got = 0;
    let read = src.try_io(tokio::io::Interest::READABLE, || {
        // SAFETY: recv into a buffer we own, of its length, on a socket we hold.
        let n = unsafe { libc::recv(src.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        got = n as usize;
        if got > 0 && got < buf.len() { Err(io::ErrorKind::WouldBlock.into()) } else { Ok(got) }
    });
    match read {
        Err(e) if e.kind() == io::ErrorKind::WouldBlock && got > 0 => Ok(got),
        other => other,
    }
}
