//! TLS with rustls (ring provider): client and server configurations from what the user
//! gave (certificates, keys, CAs, SNI, ALPN), a self-signed certificate for this host, what
//! a finished handshake agreed on, and why a failed one failed, in words a person can act on.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig, SignatureScheme};

use crate::error::{Error, Result};
use crate::event::TlsInfo;

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// What `connect --tls` (and `relay --tls-target`) was given.
#[derive(Debug, Clone, Default)]
pub struct ClientSetup {
    /// Skip verifying the server's certificate (a warning says so).
    pub insecure: bool,
    pub sni: Option<String>,
    pub alpn: Vec<String>,
    /// Trust this CA (PEM) instead of the system's roots.
    pub ca: Option<PathBuf>,
    /// A client certificate (PEM) and its key.
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
}

/// What `listen --tls` (and `relay --tls-listen`) was given.
#[derive(Debug, Clone, Default)]
pub struct ServerSetup {
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    pub self_signed: bool,
    /// Require client certificates signed by this CA (PEM).
    pub client_ca: Option<PathBuf>,
    pub alpn: Vec<String>,
}

fn read_certs(path: &Path, what: &str) -> Result<Vec<CertificateDer<'static>>> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .map_err(|e| pem_error(path, what, e))?
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| pem_error(path, what, e))?;
    if certs.is_empty() {
        return Err(Error::Argument {
            what: what.into(),
            message: format!("{} holds no PEM certificate (-----BEGIN CERTIFICATE-----)", path.display()),
        });
    }
    Ok(certs)
}

fn read_key(path: &Path, what: &str) -> Result<PrivateKeyDer<'static>> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| pem_error(path, what, e))
}

fn pem_error(path: &Path, what: &str, e: rustls::pki_types::pem::Error) -> Error {
    match e {
        rustls::pki_types::pem::Error::Io(source) => Error::File { path: path.to_path_buf(), source },
        other => {
            Error::Argument { what: what.into(), message: format!("{} is not usable PEM: {other:?}", path.display()) }
        }
    }
}

fn roots_from(path: &Path, what: &str) -> Result<RootCertStore> {
    let mut roots = RootCertStore::empty();
    for cert in read_certs(path, what)? {
        roots.add(cert).map_err(|e| Error::Argument {
            what: what.into(),
            message: format!("{} holds a certificate that cannot be a root: {e}", path.display()),
        })?;
    }
    Ok(roots)
}

/// The system's trusted roots, or the webpki (Mozilla) roots where the system has none.
fn default_roots() -> RootCertStore {
    let mut roots = RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    if roots.is_empty() {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    roots
}

fn versions_error(e: rustls::Error) -> Error {
    Error::Io { context: "cannot set up TLS".into(), source: io::Error::other(e) }
}

pub fn client_config(setup: &ClientSetup) -> Result<Arc<ClientConfig>> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(versions_error)?;
    let builder = if setup.insecure {
        builder.dangerous().with_custom_certificate_verifier(Arc::new(NoVerification(provider())))
    } else {
        let roots = match &setup.ca {
            Some(path) => roots_from(path, "--ca")?,
            None => default_roots(),
        };
        builder.with_root_certificates(roots)
    };
    let mut config = match (&setup.cert, &setup.key) {
        (Some(cert), Some(key)) => {
            builder.with_client_auth_cert(read_certs(cert, "--cert")?, read_key(key, "--key")?).map_err(|e| {
                Error::Argument { what: "--cert/--key".into(), message: format!("they do not go together: {e}") }
            })?
        }
        (None, None) => builder.with_no_client_auth(),
        _ => {
            return Err(Error::Argument {
                what: "--cert/--key".into(),
                message: "a client certificate needs both --cert FILE and --key FILE".into(),
            });
        }
    };
    config.alpn_protocols = setup.alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
    Ok(Arc::new(config))
}

/// The name to ask for (SNI) and check the certificate against.
pub fn server_name(setup: &ClientSetup, host: &str) -> Result<ServerName<'static>> {
    let name = setup.sni.clone().unwrap_or_else(|| host.trim_start_matches('[').trim_end_matches(']').to_string());
    ServerName::try_from(name.clone()).map_err(|_| Error::Argument {
        what: "--sni".into(),
        message: format!("'{name}' is neither a DNS name nor an IP address"),
    })
}

/// A self-signed certificate made at start: for the server's use, and its fingerprint to
/// tell clients.
pub struct SelfSigned {
    pub names: Vec<String>,
    pub sha256: String,
}

pub fn server_config(setup: &ServerSetup) -> Result<(Arc<ServerConfig>, Option<SelfSigned>)> {
    let builder = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(versions_error)?;
    let builder = match &setup.client_ca {
        Some(path) => {
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots_from(path, "--client-ca")?),
                provider(),
            )
            .build()
            .map_err(|e| Error::Argument { what: "--client-ca".into(), message: e.to_string() })?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let (certs, key, made) = match (&setup.cert, &setup.key, setup.self_signed) {
        (Some(cert), Some(key), _) => (read_certs(cert, "--cert")?, read_key(key, "--key")?, None),
        (None, None, true) => {
            let names = host_names();
            let cannot = |e: rcgen::Error| Error::Io {
                context: "cannot make a self-signed certificate".into(),
                source: io::Error::other(e),
            };
            let mut params = rcgen::CertificateParams::new(names.clone()).map_err(cannot)?;
            let host = names.get(1).cloned().unwrap_or_else(|| "localhost".into());
            params.distinguished_name.push(rcgen::DnType::CommonName, format!("netassist on {host} (self-signed)"));
            let signing_key = rcgen::KeyPair::generate().map_err(cannot)?;
            let cert = params.self_signed(&signing_key).map_err(cannot)?;
            let der = cert.der().clone();
            let sha256 = fingerprint(&der);
            let key = PrivateKeyDer::Pkcs8(signing_key.serialize_der().into());
            (vec![der], key, Some(SelfSigned { names, sha256 }))
        }
        _ => {
            return Err(Error::Argument {
                what: "--tls".into(),
                message: "a TLS server needs --cert FILE and --key FILE, or --tls-self-signed".into(),
            });
        }
    };
    let mut config = builder.with_single_cert(certs, key).map_err(|e| Error::Argument {
        what: "--cert/--key".into(),
        message: format!("they do not go together: {e}"),
    })?;
    config.alpn_protocols = setup.alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
    Ok((Arc::new(config), made))
}

/// This host's names and addresses, for a self-signed certificate.
fn host_names() -> Vec<String> {
    let mut names = vec!["localhost".to_string()];
    if let Ok(host) = std::fs::read_to_string("/proc/sys/kernel/hostname") {
        let host = host.trim().to_string();
        if !host.is_empty() && !names.contains(&host) {
            names.push(host);
        }
    }
    for i in netdev::get_interfaces() {
        names.extend(i.ipv4.iter().map(|n| n.addr().to_string()));
        names.extend(
            i.ipv6.iter().filter(|n| (n.addr().segments()[0] & 0xffc0) != 0xfe80).map(|n| n.addr().to_string()),
        );
    }
    names.dedup();
    names
}

/// SHA-256 of a certificate, as `AB:CD:...`.
pub fn fingerprint(der: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, der);
    digest.as_ref().iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":")
}

/// What a finished handshake agreed on.
pub fn describe(state: &rustls::CommonState) -> TlsInfo {
    let version = match state.protocol_version() {
        Some(rustls::ProtocolVersion::TLSv1_3) => "TLS 1.3".to_string(),
        Some(rustls::ProtocolVersion::TLSv1_2) => "TLS 1.2".to_string(),
        Some(other) => format!("{other:?}"),
        None => "unknown".to_string(),
    };
    let cipher = state.negotiated_cipher_suite().map(|s| format!("{:?}", s.suite())).unwrap_or_default();
    let alpn = state.alpn_protocol().map(|p| String::from_utf8_lossy(p).into_owned());
    let peer = state.peer_certificates().and_then(|c| c.first());
    let (subject, not_after) = peer.map_or((None, None), |der| match x509_parser::parse_x509_certificate(der) {
        Ok((_, cert)) => {
            (Some(cert.subject().to_string()), Some(cert.validity().not_after.to_datetime().date().to_string()))
        }
        Err(_) => (None, None),
    });
    TlsInfo {
        version,
        cipher,
        alpn,
        peer_subject: subject,
        peer_sha256: peer.map(|d| fingerprint(d)),
        peer_not_after: not_after,
    }
}

/// Why a handshake failed, from the error tokio-rustls returned.
pub fn handshake_error(e: &io::Error) -> String {
    let Some(err) = e.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()) else {
        return match e.kind() {
            io::ErrorKind::UnexpectedEof => {
                "the peer closed the connection during the handshake (does it speak TLS?)".into()
            }
            io::ErrorKind::InvalidData => format!("the peer does not speak TLS ({e})"),
            _ => crate::error::io_reason(e),
        };
    };
    match err {
        rustls::Error::InvalidCertificate(c) => match c {
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => "the certificate has expired".into(),
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => "the certificate is not valid yet".into(),
            CertificateError::UnknownIssuer => {
                "the certificate is signed by an unknown issuer; trust its CA with --ca FILE, or skip the check with --insecure".into()
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                "the certificate is not valid for the name asked for (name mismatch); ask for another with --sni NAME".into()
            }
            CertificateError::Revoked => "the certificate is revoked".into(),
            other => format!("the certificate is not acceptable: {other:?}"),
        },
        rustls::Error::NoApplicationProtocol => "no shared application protocol (ALPN): compare --alpn on both ends".into(),
        rustls::Error::PeerIncompatible(why) => format!("no shared TLS version or cipher suite ({why:?})"),
        rustls::Error::NoCertificatesPresented => "the client sent no certificate, and this server requires one (--client-ca)".into(),
        rustls::Error::AlertReceived(alert) => match alert {
            rustls::AlertDescription::CertificateRequired => {
                "the server requires a client certificate: give --cert FILE --key FILE".into()
            }
            rustls::AlertDescription::UnknownCA => "the peer does not trust our certificate (unknown CA)".into(),
            rustls::AlertDescription::BadCertificate => "the peer rejected our certificate".into(),
            rustls::AlertDescription::NoApplicationProtocol => "no shared application protocol (ALPN): compare --alpn on both ends".into(),
            rustls::AlertDescription::ProtocolVersion | rustls::AlertDescription::HandshakeFailure => {
                "the peer found no TLS version or cipher suite in common".into()
            }
            other => format!("the peer ended the handshake: {other:?}"),
        },
        rustls::Error::InvalidMessage(_) => "the peer does not speak TLS (is it a plain TCP service?)".into(),
        other => other.to_string(),
    }
}

/// `--insecure`: accepts any certificate, still checking the handshake's signatures.
#[derive(Debug)]
struct NoVerification(Arc<CryptoProvider>);

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
