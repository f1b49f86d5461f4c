//! One way to reach a server, for `connect`, the relay (towards its target) and the UI:
//! resolve the name, connect to each address in turn, then the steps on top of TCP (TLS
//! today). A new step (a proxy handshake) goes here, once, for all three.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::stream::Stream;
use crate::error::{Error, Result};
use crate::net::{BufferRequest, Buffers, Steps, canonical, connect_tcp};

/// Where to connect and how.
pub struct Dial {
    pub host: String,
    pub port: u16,
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
        let connecting = connect_tcp(&self.host, self.port, self.timeout, self.sizes);
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
