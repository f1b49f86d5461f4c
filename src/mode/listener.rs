//! What a server accepts on: a TCP socket or a Unix one. Each accepted connection comes as
//! a [`Stream`] with its [`Peer`]; the accept loop needs nothing else.

use std::io;

use tokio::net::TcpListener;

use super::stream::Stream;
use crate::event::{Peer, Proto};
use crate::net::{canonical, no_delay};

pub enum Listener {
    Tcp(TcpListener),
    /// Its socket file goes when this is dropped.
    Unix(crate::unix::Listening),
}

impl Listener {
    /// The next client, with TCP's NODELAY set: each reply goes out at once.
    pub async fn accept(&self) -> io::Result<(Stream, Peer)> {
        match self {
            Listener::Tcp(l) => {
                let (stream, peer) = l.accept().await?;
                no_delay(&stream);
                Ok((Stream::Plain(stream), Peer::Ip(canonical(peer))))
            }
            Listener::Unix(l) => {
                let (stream, _) = l.listener.accept().await?;
                let peer = crate::unix::peer(&stream);
                Ok((Stream::Unix(stream), peer))
            }
        }
    }

    /// Where it listens.
    pub fn local(&self) -> io::Result<Peer> {
        match self {
            Listener::Tcp(l) => Ok(Peer::Ip(l.local_addr()?)),
            Listener::Unix(l) => Ok(Peer::Unix { path: l.addr.to_string(), pid: None, uid: None }),
        }
    }

    pub fn proto(&self) -> Proto {
        match self {
            Listener::Tcp(_) => Proto::Tcp,
            Listener::Unix(_) => Proto::Unix,
        }
    }
}

impl From<TcpListener> for Listener {
    fn from(l: TcpListener) -> Listener {
        Listener::Tcp(l)
    }
}
