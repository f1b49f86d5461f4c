//! One way to reach a server, for `connect`, the relay (towards its target) and the UI:
//! resolve the name and connect to each address in turn (or to a Unix socket), through a
//! proxy when asked (SOCKS5 or HTTP CONNECT, [`super::proxy`]), then TLS on top when asked.
//! A new step goes here, once, for all three.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::stream::Stream;
use crate::error::{Error, Result};
use crate::net::{BufferRequest, Buffers, Steps, canonical, connect_tcp};

/// Where a dial goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DialTo {
    Tcp { host: String, port: u16 },
    Unix(crate::unix::UnixAddr),
}

impl std::fmt::Display for DialTo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DialTo::Tcp { host, port } => f.write_str(&crate::net::host_port(host, *port)),
            DialTo::Unix(addr) => addr.fmt(f),
        }
    }
}

/// Where to connect and how.
pub struct Dial {
    pub to: DialTo,
    /// Reach a TCP target through this proxy, which resolves its name.
    pub proxy: Option<super::proxy::Proxy>,
    /// For the TCP connect and for each step after it.
    pub timeout: Duration,
    pub sizes: BufferRequest,
    /// Speak TLS: how, and the name to ask for.
    pub tls: Option<(tokio_rustls::TlsConnector, rustls::pki_types::ServerName<'static>)>,
}

/// A connection made.
pub struct Dialed {
    pub stream: Stream,
    /// The socket's buffer sizes as granted.
    pub buffers: Buffers,
    /// The socket calls made, for `--explain`.
    pub steps: Steps,
}

impl Dial {
    /// Connects; `Ok(None)` when `stop` came first.
    pub async fn dial(&self, stop: &CancellationToken) -> Result<Option<Dialed>> {
        let (host, port) = match &self.to {
            DialTo::Tcp { host, port } => (host, *port),
            DialTo::Unix(addr) => {
                let connecting = crate::unix::connect(addr, self.timeout);
                let stream = tokio::select! {
                    connected = connecting => connected?,
                    () = stop.cancelled() => return Ok(None),
                };
                let buffers = crate::net::Buffers {
                    send: socket2::SockRef::from(&stream).send_buffer_size().unwrap_or(0),
                    recv: socket2::SockRef::from(&stream).recv_buffer_size().unwrap_or(0),
                    asked: self.sizes,
                };
                return Ok(Some(Dialed { stream: Stream::Unix(stream), buffers, steps: Steps::new() }));
            }
        };
        let connecting = async {
            match &self.proxy {
                None => connect_tcp(host, port, self.timeout, self.sizes).await,
                Some(proxy) => proxy.connect(host, port, self.timeout, self.sizes).await,
            }
        };
        let connected = tokio::select! {
            connected = connecting => connected?,
            () = stop.cancelled() => return Ok(None),
        };
        let stream = match &self.tls {
            None => Stream::Plain(connected.stream),
            Some((connector, name)) => {
                let peer = connected.stream.peer_addr().map(canonical).map(|a| a.to_string()).unwrap_or_default();
                let shaking = tokio::time::timeout(self.timeout, connector.connect(name.clone(), connected.stream));
                let shaken = tokio::select! {
                    shaken = shaking => shaken,
                    () = stop.cancelled() => return Ok(None),
                };
                match shaken {
                    Ok(Ok(tls)) => Stream::TlsClient(Box::new(tls)),
                    Ok(Err(e)) => return Err(Error::Tls { peer, reason: crate::tls::handshake_error(&e) }),
                    Err(_) => {
                        return Err(Error::Tls {
                            peer,
                            reason: format!("no handshake within {}", crate::render::time::seconds(self.timeout)),
                        });
                    }
                }
            }
        };
        Ok(Some(Dialed { stream, buffers: connected.buffers, steps: connected.steps }))
    }
}
