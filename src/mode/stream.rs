//! A connection of any kind as one type: plain TCP, TLS over TCP, a Unix socket, a child
//! process's pipes. Reads and writes go to whichever it is; [`Stream::tcp`] reaches the TCP
//! socket underneath, for the paths only TCP has (readiness-based copy and splice, NODELAY,
//! passing a reset on). Other kinds have no `tcp()`: the engines take their generic
//! read/write path with them, with no other change.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpStream, UnixStream};
use tokio_rustls::{client, server};

pub enum Stream {
    Plain(TcpStream),
    /// We are the TLS client.
    TlsClient(Box<client::TlsStream<TcpStream>>),
    /// We are the TLS server.
    TlsServer(Box<server::TlsStream<TcpStream>>),
    Unix(UnixStream),
    /// A child process (`--exec`): its stdout is read, its stdin written.
    Child(Box<super::exec::ChildIo>),
}

impl Stream {
    /// The TCP socket underneath, when there is one.
    pub fn tcp(&self) -> Option<&TcpStream> {
        match self {
            Stream::Plain(s) => Some(s),
            Stream::TlsClient(s) => Some(s.get_ref().0),
            Stream::TlsServer(s) => Some(s.get_ref().0),
            Stream::Unix(_) | Stream::Child(_) => None,
        }
    }

    /// Who is at the other end, for any stream with an address.
    pub fn peer(&self) -> Option<crate::event::Peer> {
        match self {
            Stream::Unix(s) => Some(crate::unix::peer(s)),
            _ => self.peer_addr().map(Into::into),
        }
    }

    /// Our end, for any stream with an address.
    pub fn local(&self) -> Option<crate::event::Peer> {
        match self {
            Stream::Unix(s) => Some(crate::unix::local(s)),
            _ => self.local_addr().map(Into::into),
        }
    }

    /// What kind of byte stream it is, for the events.
    pub fn proto(&self) -> crate::event::Proto {
        match self {
            Stream::Unix(_) => crate::event::Proto::Unix,
            _ => crate::event::Proto::Tcp,
        }
    }

    /// The peer's address, for a stream that has one.
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.tcp().and_then(|s| s.peer_addr().ok()).map(crate::net::canonical)
    }

    /// Our end's address, for a stream that has one.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.tcp().and_then(|s| s.local_addr().ok()).map(crate::net::canonical)
    }

    /// NODELAY on, where the stream has such a thing: each reply goes out at once.
    pub fn no_delay(&self) {
        if let Some(s) = self.tcp() {
            crate::net::no_delay(s);
        }
    }

    /// What the TLS handshake agreed on, for a TLS stream.
    pub fn tls_info(&self) -> Option<Box<crate::event::TlsInfo>> {
        match self {
            Stream::TlsClient(t) => Some(Box::new(crate::tls::describe(t.get_ref().1))),
            Stream::TlsServer(t) => Some(Box::new(crate::tls::describe(t.get_ref().1))),
            _ => None,
        }
    }

    pub fn is_tls(&self) -> bool {
        matches!(self, Stream::TlsClient(_) | Stream::TlsServer(_))
    }
}

impl AsyncRead for Stream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::TlsClient(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
            Stream::TlsServer(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
            Stream::Unix(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Child(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::TlsClient(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
            Stream::TlsServer(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
            Stream::Unix(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Child(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::TlsClient(s) => Pin::new(s.as_mut()).poll_flush(cx),
            Stream::TlsServer(s) => Pin::new(s.as_mut()).poll_flush(cx),
            Stream::Unix(s) => Pin::new(s).poll_flush(cx),
            Stream::Child(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    /// For TLS: close_notify, then FIN.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::TlsClient(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
            Stream::TlsServer(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
            Stream::Unix(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Child(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}
