//! TLS with rustls (ring provider): client and server configurations from what the user
//! gave (certificates, keys, CAs, SNI, ALPN), a self-signed certificate for this host, what
//! a finished handshake agreed on, and why a failed one failed, in words a person can act on.

use rust_i18n::t;
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
    /// Trust this CA (PEM) instead of the system's roots; a self-signed end-entity
    /// certificate in it is trusted as itself (pinned), as openssl s_client does.
    pub ca: Option<PathBuf>,
    /// Trust server certificates with these SHA-256 fingerprints (`--pin`).
    pub pins: Vec<String>,
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
    use rustls::pki_types::pem::Error as Pem;
    let why = match e {
        Pem::Io(source) => return Error::File { path: path.to_path_buf(), source },
        Pem::MissingSectionEnd { .. } => t!("tls.pem_no_end").into_owned(),
        Pem::IllegalSectionStart { .. } => t!("tls.pem_bad_begin").into_owned(),
        Pem::Base64Decode(why) => t!("tls.pem_base64", why = why).into_owned(),
        Pem::NoItemsFound => t!("tls.pem_empty").into_owned(),
        _ => t!("tls.pem_other").into_owned(),
    };
    Error::Argument { what: what.into(), message: t!("tls.not_pem", path = path.display(), why = why).into_owned() }
}

fn roots_from(path: &Path, what: &str) -> Result<RootCertStore> {
    let mut roots = RootCertStore::empty();
    for cert in read_certs(path, what)? {
        roots.add(cert).map_err(|e| Error::Argument {
            what: what.into(),
            message: format!("{} holds a certificate that cannot be a root: {}", path.display(), error_words(&e)),
        })?;
    }
    Ok(roots)
}

/// Whether a certificate is a CA's (basic constraints say so); anything else given with
/// `--ca` is an end-entity certificate to trust as itself.
fn is_ca(der: &[u8]) -> bool {
    x509_parser::parse_x509_certificate(der)
        .ok()
        .and_then(|(_, cert)| cert.basic_constraints().ok().flatten().map(|bc| bc.value.ca))
        .unwrap_or(false)
}

/// Whether a certificate names itself as its issuer (self-signed).
fn self_issued(der: &[u8]) -> bool {
    x509_parser::parse_x509_certificate(der).is_ok_and(|(_, cert)| cert.issuer() == cert.subject())
}

/// A fingerprint as typed (`AB:CD:...`, `abcd...`, spaces allowed) as 32 bytes.
fn parse_pin(text: &str) -> Result<Vec<u8>> {
    let hex: String = text.chars().filter(|c| !matches!(c, ':' | ' ' | '-')).collect();
    let bytes = crate::render::hex::parse_hex(&hex).ok().filter(|b| b.len() == 32);
    bytes.ok_or_else(|| Error::Argument { what: "--pin".into(), message: t!("tls.bad_pin", text = text).into_owned() })
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
    Error::Io { context: t!("ctx.cannot_set_up_tls").into_owned(), source: io::Error::other(e) }
}

pub fn client_config(setup: &ClientSetup) -> Result<Arc<ClientConfig>> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(versions_error)?;
    let builder = if setup.insecure {
        builder.dangerous().with_custom_certificate_verifier(Arc::new(Pinned {
            any: true,
            pins: Vec::new(),
            webpki: None,
            provider: provider(),
        }))
    } else if setup.ca.is_some() || !setup.pins.is_empty() {
        let mut pins: Vec<Vec<u8>> = setup.pins.iter().map(|p| parse_pin(p)).collect::<Result<_>>()?;
        let mut roots = RootCertStore::empty();
        if let Some(path) = &setup.ca {
            for cert in read_certs(path, "--ca")? {
                // A self-signed certificate (openssl req -x509 makes them, CA or not) is
                // trusted as itself, as openssl s_client does; a CA also as a root.
                if !is_ca(&cert) || self_issued(&cert) {
                    pins.push(sha256(&cert));
                }
                if is_ca(&cert) {
                    roots.add(cert).map_err(|e| Error::Argument {
                        what: "--ca".into(),
                        message: t!("tls.not_a_root", path = path.display(), why = error_words(&e)).into_owned(),
                    })?;
                }
            }
        }
        let webpki = match roots.is_empty() {
            true => None,
            false => Some(
                rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
                    .build()
                    .map_err(|e| Error::Argument { what: "--ca".into(), message: e.to_string() })?,
            ),
        };
        builder.dangerous().with_custom_certificate_verifier(Arc::new(Pinned {
            any: false,
            pins,
            webpki,
            provider: provider(),
        }))
    } else {
        builder.with_root_certificates(default_roots())
    };
    let mut config = match (&setup.cert, &setup.key) {
        (Some(cert), Some(key)) => {
            builder.with_client_auth_cert(read_certs(cert, "--cert")?, read_key(key, "--key")?).map_err(|e| {
                Error::Argument { what: "--cert/--key".into(), message: format!("they do not go together: {e}") }
            })?
        }
        (None, None) => builder.with_no_client_auth(),
        _ => {
            return Err(Error::Argument { what: "--cert/--key".into(), message: t!("tls.cert_and_key").into_owned() });
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
                context: t!("ctx.cannot_make_a_self_signed_certificate").into_owned(),
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
            return Err(Error::Argument { what: "--tls".into(), message: t!("tls.server_needs").into_owned() });
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

/// SHA-256 of a certificate.
fn sha256(der: &[u8]) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA256, der).as_ref().to_vec()
}

/// SHA-256 of a certificate, as `AB:CD:...`.
pub fn fingerprint(der: &[u8]) -> String {
    sha256(der).iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":")
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
            io::ErrorKind::UnexpectedEof => t!("tls.closed_in_handshake").into_owned(),
            io::ErrorKind::InvalidData => t!("tls.not_tls_why", why = e).into_owned(),
            _ => crate::error::io_reason(e),
        };
    };
    error_words(err)
}

/// A rustls error in words, with the next step.
fn error_words(err: &rustls::Error) -> String {
    match err {
        rustls::Error::InvalidCertificate(c) => certificate_words(c),
        rustls::Error::NoApplicationProtocol => t!("tls.no_alpn").into_owned(),
        rustls::Error::PeerIncompatible(_) => t!("tls.no_common").into_owned(),
        rustls::Error::NoCertificatesPresented => t!("tls.no_client_cert").into_owned(),
        rustls::Error::AlertReceived(alert) => match alert {
            rustls::AlertDescription::CertificateRequired => t!("tls.cert_required").into_owned(),
            rustls::AlertDescription::UnknownCA => t!("tls.unknown_ca").into_owned(),
            rustls::AlertDescription::BadCertificate => t!("tls.bad_certificate").into_owned(),
            rustls::AlertDescription::NoApplicationProtocol => t!("tls.no_alpn").into_owned(),
            rustls::AlertDescription::ProtocolVersion | rustls::AlertDescription::HandshakeFailure => {
                t!("tls.peer_no_common").into_owned()
            }
            other => t!("tls.alert", alert = words(&format!("{other:?}"))).into_owned(),
        },
        rustls::Error::InvalidMessage(_) => t!("tls.not_tls").into_owned(),
        other => crate::render::escape::shown_name(&other.to_string()).into_owned(),
    }
}

/// Why a certificate was not accepted, with the next step.
fn certificate_words(c: &CertificateError) -> String {
    match c {
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => t!("tls.expired").into_owned(),
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => t!("tls.not_yet").into_owned(),
        CertificateError::UnknownIssuer => t!("tls.unknown_issuer").into_owned(),
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            t!("tls.name_mismatch").into_owned()
        }
        CertificateError::Revoked => t!("tls.revoked").into_owned(),
        CertificateError::BadSignature => t!("tls.bad_signature").into_owned(),
        CertificateError::UnsupportedSignatureAlgorithmContext { .. }
        | CertificateError::UnsupportedSignatureAlgorithmForPublicKeyContext { .. } => {
            t!("tls.bad_algorithm").into_owned()
        }
        CertificateError::Other(e) => crate::render::escape::shown_name(&e.to_string()).into_owned(),
        other => {
            let name = format!("{other:?}");
            let name = name.split(['(', ' ', '{']).next().unwrap_or_default();
            match name {
                "CaUsedAsEndEntity" => t!("tls.ca_as_end_entity").into_owned(),
                _ => t!("tls.not_acceptable", why = words(name)).into_owned(),
            }
        }
    }
}

/// `CaUsedAsEndEntity` as `ca used as end entity`.
fn words(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push(' ');
        }
        out.extend(c.to_lowercase());
    }
    out
}

/// The server certificate checks other than the system's roots: `--insecure` (`any`: every
/// certificate), `--ca` with end-entity certificates or `--pin` (a certificate whose
/// fingerprint is pinned is trusted as itself; any other must chain to a CA given with
/// `--ca`). The handshake's signatures are checked in every case.
#[derive(Debug)]
struct Pinned {
    any: bool,
    pins: Vec<Vec<u8>>,
    webpki: Option<Arc<rustls::client::WebPkiServerVerifier>>,
    provider: Arc<CryptoProvider>,
}

/// A pinned fingerprint did not match.
#[derive(Debug)]
struct NotPinned(String);

impl std::fmt::Display for NotPinned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&t!("tls.not_pinned", sha256 = self.0))
    }
}

impl std::error::Error for NotPinned {}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        if self.any || self.pins.contains(&sha256(end_entity)) {
            return Ok(ServerCertVerified::assertion());
        }
        match &self.webpki {
            Some(v) => v.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now),
            None => Err(rustls::Error::InvalidCertificate(CertificateError::Other(rustls::OtherError(Arc::new(
                NotPinned(fingerprint(end_entity)),
            ))))),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}
