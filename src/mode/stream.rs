//! A connection of any kind as one type: plain TCP or TLS over TCP today. Reads and writes
//! go to whichever it is; [`Stream::tcp`] reaches the TCP socket underneath, for the paths
//! only TCP has (readiness-based copy and splice, NODELAY, passing a reset on). A new kind
//! (a Unix socket, a child's pipes) is a variant here whose `tcp()` is `None`: the engines
//! then take their generic read/write path with no other change.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::{client, server};

pub enum Stream {
    Plain(TcpStream),
    /// We are the TLS client.
    TlsClient(Box<client::TlsStream<TcpStream>>),
    /// We are the TLS server.
    TlsServer(Box<server::TlsStream<TcpStream>>),
}

impl Stream {
    /// The TCP socket underneath, when there is one.
    pub fn tcp(&self) -> Option<&TcpStream> {
        match self {
            Stream::Plain(s) => Some(s),
            Stream::TlsClient(s) => Some(s.get_ref().0),
            Stream::TlsServer(s) => Some(s.get_ref().0),
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
            Stream::Plain(_) => None,
        }
    }

    pub fn is_tls(&self) -> bool {
        !matches!(self, Stream::Plain(_))
    }
}

impl AsyncRead for Stream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::TlsClient(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
            Stream::TlsServer(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::TlsClient(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
            Stream::TlsServer(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::TlsClient(s) => Pin::new(s.as_mut()).poll_flush(cx),
            Stream::TlsServer(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    /// For TLS: close_notify, then FIN.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::TlsClient(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
            Stream::TlsServer(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}
