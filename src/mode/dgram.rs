//! A UDP socket registered with the runtime for reading only.
//!
//! tokio's `UdpSocket` registers every socket for reading and writing. For a datagram
//! socket the write registration costs on every datagram sent: when the kernel frees a
//! sent datagram it wakes the socket's wait queue for write space, and with an epoll
//! registration for writing that is the epoll callback, its lock and the ready list each
//! time, although a UDP socket almost never lacks room. Measured with a C recvmmsg/sendmmsg
//! loop (../shared/bench/udp_cpu.sh): registered for reading and writing it spent 0.84-0.96x
//! the CPU efficiency of a plain blocking recvfrom/sendto loop; registered for reading
//! only, 1.14-1.17x.
//!
//! So the socket is registered for reading (errors are always reported); sends go straight
//! to the kernel, and in the rare case the send buffer is full the wait for room is made on
//! a second descriptor of the same socket, registered for writing for as long as the wait.

use std::io;
use std::net::SocketAddr;

use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

pub struct Dgram(AsyncFd<std::net::UdpSocket>);

impl Dgram {
    /// Takes a socket from tokio, giving up its registration for writing.
    pub fn from_tokio(socket: tokio::net::UdpSocket) -> io::Result<Dgram> {
        // into_std deregisters it and leaves it non-blocking.
        Ok(Dgram(register(socket.into_std()?, Interest::READABLE)?))
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.get_ref().local_addr()
    }

    pub fn get_ref(&self) -> &std::net::UdpSocket {
        self.0.get_ref()
    }

    /// Waits until the socket is readable or has an error to report (only readiness for
    /// reading and errors are ever reported here).
    pub async fn ready(&self, interest: Interest) -> io::Result<()> {
        self.0.ready(interest).await.map(drop)
    }

    /// Runs a read of the caller's; a `WouldBlock` it returns clears the readiness.
    pub fn try_io<R>(&self, interest: Interest, f: impl FnOnce() -> io::Result<R>) -> io::Result<R> {
        self.0.try_io(interest, |_| f())
    }

    /// Sends now, or says `WouldBlock` when the send buffer is full.
    pub fn try_send_to(&self, bytes: &[u8], to: SocketAddr) -> io::Result<usize> {
        self.0.get_ref().send_to(bytes, to)
    }

    /// Sends on a connected socket now, or says `WouldBlock`.
    pub fn try_send(&self, bytes: &[u8]) -> io::Result<usize> {
        self.0.get_ref().send(bytes)
    }

    /// Sends, waiting for room in the send buffer if there is none.
    pub async fn send_to(&self, bytes: &[u8], to: SocketAddr) -> io::Result<usize> {
        with_room(self.0.get_ref(), || self.try_send_to(bytes, to)).await
    }

    /// Sends on a connected socket, waiting for room if there is none.
    pub async fn send(&self, bytes: &[u8]) -> io::Result<usize> {
        with_room(self.0.get_ref(), || self.try_send(bytes)).await
    }
}

/// Waits until `socket`'s send buffer has room: a second descriptor of the socket,
/// registered for writing while it waits (epoll tells a registration's current state at
/// once, so room made before it is not missed).
async fn writable(socket: &std::net::UdpSocket) -> io::Result<()> {
    let twin = register(socket.try_clone()?, Interest::WRITABLE)?;
    twin.writable().await?.retain_ready();
    Ok(())
}

/// Sends on a connected non-blocking socket the runtime does not watch, waiting for room
/// in its send buffer if there is none.
pub async fn send_when_room(socket: &std::net::UdpSocket, bytes: &[u8]) -> io::Result<usize> {
    with_room(socket, || socket.send(bytes)).await
}

/// Runs a send on `socket` until it is not refused for want of room, waiting for room
/// between tries.
async fn with_room(socket: &std::net::UdpSocket, mut send: impl FnMut() -> io::Result<usize>) -> io::Result<usize> {
    loop {
        match send() {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => writable(socket).await?,
            sent => return sent,
        }
    }
}

fn register(socket: std::net::UdpSocket, interest: Interest) -> io::Result<AsyncFd<std::net::UdpSocket>> {
    // SAFETY: the socket owns its descriptor, which stays open and the same until the
    // AsyncFd (its owner from here on) is dropped.
    Ok(unsafe { AsyncFd::register_with_interest(socket, interest) }?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Waiting for room on a socket that has it returns, and the socket's own registration
    /// for reading outlives each twin registered and dropped meanwhile: datagrams still wake
    /// it. (A full send buffer, which loopback never leaves, is tested in tests/udp.rs
    /// behind a slow queue on lo in a namespace of the test's own.)
    #[tokio::test]
    async fn the_twin_for_writing_leaves_the_reading_registration_alone() {
        let dgram = Dgram::from_tokio(tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap()).unwrap();
        let here = dgram.local_addr().unwrap();
        let peer = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut buf = [0u8; 16];
        for round in 0..3u8 {
            writable(dgram.get_ref()).await.unwrap();
            peer.send_to(&[round], here).unwrap();
            dgram.ready(Interest::READABLE).await.unwrap();
            let (n, from) = dgram.try_io(Interest::READABLE, || dgram.get_ref().recv_from(&mut buf)).unwrap();
            assert_eq!((&buf[..n], from), (&[round][..], peer.local_addr().unwrap()));
            dgram.send_to(&[round, round], from).await.unwrap();
            assert_eq!(peer.recv(&mut buf).unwrap(), 2);
        }
        // Read to the end: the next read says WouldBlock and clears the readiness.
        let e = dgram.try_io(Interest::READABLE, || dgram.get_ref().recv_from(&mut buf)).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::WouldBlock);
    }
}
