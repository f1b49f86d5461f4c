//! TLS: certificates from a throwaway CA (rcgen), checked by default; every way a handshake
//! fails says why; client certificates; the relay reading what an encrypted client says.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};

use crate::util::*;

/// A CA and certificates it signed, written as PEM files in a directory of their own.
struct Pki {
    dir: PathBuf,
    ca_key: KeyPair,
    ca_params: CertificateParams,
}

impl Pki {
    fn new(tag: &str) -> Pki {
        let dir = std::env::temp_dir().join(format!("netassist-tls-{}-{tag}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.distinguished_name.push(DnType::CommonName, "netassist test CA");
        let ca_key = KeyPair::generate().unwrap();
        let ca = ca_params.clone().self_signed(&ca_key).unwrap();
        std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
        Pki { dir, ca_key, ca_params }
    }

    fn path(&self, name: &str) -> String {
        self.dir.join(name).to_str().unwrap().to_string()
    }

    /// A certificate for `names` signed by the CA, as `NAME.pem` and `NAME.key`.
    fn issue(&self, name: &str, names: &[&str], expired: bool) -> (String, String) {
        let mut params = CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        if expired {
            params.not_before = rcgen::date_time_ymd(2020, 1, 1);
            params.not_after = rcgen::date_time_ymd(2021, 1, 1);
        }
        let key = KeyPair::generate().unwrap();
        let issuer = Issuer::from_params(&self.ca_params, &self.ca_key);
        let cert = params.signed_by(&key, &issuer).unwrap();
        let (c, k) = (self.path(&format!("{name}.pem")), self.path(&format!("{name}.key")));
        std::fs::write(&c, cert.pem()).unwrap();
        std::fs::write(&k, key.serialize_pem()).unwrap();
        (c, k)
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn tls_server(cert: &str, key: &str, extra: &[&str]) -> (Proc, String) {
    let mut args =
        vec!["listen", "0", "--bind", "127.0.0.1", "--tls", "--cert", cert, "--key", key, "--echo", "--json"];
    args.extend_from_slice(extra);
    let mut s = Proc::spawn(&args);
    let port = s.port().to_string();
    (s, port)
}

/// Runs `netassist connect 127.0.0.1 PORT --tls ARGS --send hello --json`.
fn tls_client(port: &str, extra: &[&str]) -> (Option<i32>, String, String) {
    let mut args = vec!["connect", "127.0.0.1", port, "--tls", "--send", "hello", "--wait", "0.3", "--json"];
    args.extend_from_slice(extra);
    let out = bin().args(&args).stdin(Stdio::null()).output().unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

fn connected_tls(stdout: &str) -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_str(stdout.lines().next().expect("a connected event")).unwrap();
    assert_eq!(v["event"], "connected");
    v["tls"].clone()
}

#[test]
fn a_trusted_certificate_is_checked_and_described() {
    let pki = Pki::new("ok");
    let (cert, key) = pki.issue("server", &["127.0.0.1", "localhost"], false);
    let (mut server, port) = tls_server(&cert, &key, &["--alpn", "echo/1"]);
    let (code, out, err) = tls_client(&port, &["--ca", &pki.path("ca.pem"), "--alpn", "echo/1"]);
    assert_eq!(code, Some(0), "{err}");
    let tls = connected_tls(&out);
    assert!(tls["version"].as_str().unwrap().starts_with("TLS 1."), "{tls}");
    assert_eq!(tls["alpn"], "echo/1");
    assert_eq!(tls["peer_subject"], "CN=server");
    assert_eq!(tls["peer_sha256"].as_str().unwrap().len(), 95, "32 bytes as XX:XX:...");
    assert!(out.contains("\"dir\":\"in\",\"len\":5,\"text\":\"hello\""), "{out}");
    let connected = server.event("connected", Some(1));
    assert_eq!(connected["tls"]["alpn"], "echo/1");
}

#[test]
fn handshake_failures_say_why() {
    let pki = Pki::new("bad");
    let (cert, key) = pki.issue("server", &["127.0.0.1"], false);
    let (expired_cert, expired_key) = pki.issue("old", &["127.0.0.1"], true);
    let ca = pki.path("ca.pem");
    let (_s1, port) = tls_server(&cert, &key, &["--alpn", "only-this"]);
    let (_s2, old_port) = tls_server(&expired_cert, &expired_key, &[]);
    let cases: Vec<(&str, Vec<&str>, &str)> = vec![
        (&port, vec![], "signed by an unknown issuer; trust its CA with --ca FILE"),
        (&port, vec!["--ca", &ca, "--sni", "elsewhere.example"], "not valid for the name asked for (name mismatch)"),
        (&old_port, vec!["--ca", &ca], "the certificate has expired"),
        (&port, vec!["--ca", &ca, "--alpn", "something-else"], "no shared application protocol (ALPN)"),
    ];
    for (port, extra, want) in cases {
        let (code, _, err) = tls_client(port, &extra);
        assert_eq!(code, Some(1), "{extra:?}: {err}");
        assert!(err.starts_with(&format!("error: TLS handshake with 127.0.0.1:{port} failed: ")), "{err}");
        assert!(err.contains(want), "{extra:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    // A TLS client at a plain server, and a plain client at a TLS server.
    let mut plain = Proc::spawn(&["listen", "0", "--bind", "127.0.0.1", "--reply", "hi", "--json"]);
    let plain_port = plain.port().to_string();
    let (code, _, err) = tls_client(&plain_port, &["--insecure"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("failed: "), "{err}");
    let mut tls_side = Proc::spawn(&["listen", "0", "--bind", "127.0.0.1", "--tls-self-signed", "--json"]);
    let tport = tls_side.port();
    let mut c = client(tport);
    std::io::Write::write_all(&mut c, b"GET / HTTP/1.0\r\n\r\n").unwrap();
    let closed = tls_side.event("closed", Some(1));
    assert!(closed["message"].as_str().unwrap().contains("does not speak TLS"), "{closed}");
}

#[test]
fn client_certificates_when_the_server_requires_them() {
    let pki = Pki::new("mtls");
    let (cert, key) = pki.issue("server", &["127.0.0.1"], false);
    let (ccert, ckey) = pki.issue("device-7", &[], false);
    let ca = pki.path("ca.pem");
    let (mut server, port) = tls_server(&cert, &key, &["--client-ca", &ca]);
    let (code, _, err) = tls_client(&port, &["--ca", &ca]);
    assert_eq!(code, Some(1), "no client certificate: refused");
    assert!(err.contains("failed"), "{err}");
    let (code, out, err) = tls_client(&port, &["--ca", &ca, "--cert", &ccert, "--key", &ckey]);
    assert_eq!(code, Some(0), "{err}");
    // The echo, not the client's own outgoing line.
    assert!(out.contains("\"dir\":\"in\",\"len\":5,\"text\":\"hello\""), "{out}");
    let with_cert =
        server.event_where("the client with a certificate", |v| v["event"] == "connected" && v["tls"].is_object());
    assert_eq!(with_cert["tls"]["peer_subject"], "CN=device-7");
}

#[test]
fn self_signed_prints_its_fingerprint_and_insecure_warns() {
    let mut server = Proc::spawn(&["listen", "0", "--bind", "127.0.0.1", "--tls-self-signed", "--echo", "--json"]);
    let note = server.event_where("the certificate note", |v| {
        v["event"] == "note" && v["message"].as_str().is_some_and(|m| m.contains("fingerprint"))
    });
    let text = note["message"].as_str().unwrap();
    let fingerprint = text.split("fingerprint: ").nth(1).unwrap().split('\n').next().unwrap().to_string();
    assert!(text.contains("localhost"), "{text}");
    let port = server.port().to_string();
    let (code, out, err) = tls_client(&port, &["--insecure"]);
    assert_eq!(code, Some(0));
    assert!(err.starts_with("warning: --insecure: the server's certificate is not checked"), "{err}");
    assert_eq!(
        connected_tls(&out)["peer_sha256"],
        fingerprint.as_str(),
        "the client sees the fingerprint the server printed"
    );
}

#[test]
fn relay_reads_what_an_encrypted_client_says() {
    // client --TLS--> relay --TLS--> target: the relay shows the plaintext in between.
    let pki = Pki::new("relay");
    let (cert, key) = pki.issue("target", &["127.0.0.1"], false);
    let (rcert, rkey) = pki.issue("relay", &["127.0.0.1"], false);
    let ca = pki.path("ca.pem");
    let (_target, tport) = tls_server(&cert, &key, &[]);
    let mut relay = Proc::spawn(&[
        "relay",
        "0",
        "127.0.0.1",
        &tport,
        "--bind",
        "127.0.0.1",
        "--tls-listen",
        "--cert",
        &rcert,
        "--key",
        &rkey,
        "--tls-target",
        "--ca",
        &ca,
        "--json",
    ]);
    let port = relay.port().to_string();
    let (code, out, err) = tls_client(&port, &["--ca", &ca]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("\"dir\":\"in\",\"len\":5,\"text\":\"hello\""),
        "the echo came back through both TLS legs: {out}"
    );
    let leg = relay.event_where("the target leg", |v| v["event"] == "connected" && v["side"] == "initiated");
    assert_eq!(leg["tls"]["peer_subject"], "CN=target");
    let up = relay.event_where("plaintext client->target", |v| v["event"] == "data" && v["dir"] == "c2t");
    assert_eq!(up["text"], "hello");
}

/// `--target-cert/--target-key`: the relay shows its own certificate to a target that
/// requires one (mutual TLS), and without it the target refuses the relay.
#[test]
fn relay_presents_its_certificate_to_a_target_that_requires_one() {
    let pki = Pki::new("relay-mtls");
    let (cert, key) = pki.issue("target", &["127.0.0.1"], false);
    let (rcert, rkey) = pki.issue("relay-as-client", &[], false);
    let ca = pki.path("ca.pem");
    let (mut target, tport) = tls_server(&cert, &key, &["--client-ca", &ca]);
    let relay_args = |extra: &[&str]| {
        let mut args =
            vec!["relay", "0", "127.0.0.1", &tport, "--bind", "127.0.0.1", "--tls-target", "--ca", &ca, "--json"];
        args.extend_from_slice(extra);
        args.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let with_cert = relay_args(&["--target-cert", &rcert, "--target-key", &rkey]);
    let mut relay = Proc::spawn(&with_cert.iter().map(String::as_str).collect::<Vec<_>>());
    let port = relay.port();
    let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    c.write_all(b"hello").unwrap();
    assert_eq!(read_n(&mut c, 5), b"hello", "echoed by the target through the relay's TLS leg");
    let seen = target.event_where("the relay, as a client with a certificate", |v| {
        v["event"] == "connected" && v["tls"].is_object()
    });
    assert_eq!(seen["tls"]["peer_subject"], "CN=relay-as-client");
    drop(c);

    // Without its certificate the relay is refused by the target, and says so.
    let without = relay_args(&[]);
    let mut bare = Proc::spawn(&without.iter().map(String::as_str).collect::<Vec<_>>());
    let port = bare.port();
    let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let _ = c.write_all(b"hello");
    // Closed without an answer (a reset, since "hello" was never read).
    let mut got = Vec::new();
    let _ = std::io::Read::read_to_end(&mut c, &mut got);
    assert_eq!(got, b"", "no answer without the relay's certificate");
    // With TLS 1.3 the relay's handshake ends before the target checks it; the target's
    // refusal then arrives as the connection's end.
    let closed = bare.event("closed", Some(1));
    assert!(matches!(closed["reason"].as_str(), Some("target_failed" | "target_reset")), "{closed}");
    // The target's side: its handshake with the relay failed for want of a certificate.
    target.event_where("the relay without a certificate, refused", |v| {
        v["event"] == "closed"
            && v["message"].as_str().is_some_and(|m| m.contains("TLS handshake failed: the client sent no certificate"))
    });
    relay.signal(libc::SIGTERM);
    bare.signal(libc::SIGTERM);
}

#[test]
fn missing_or_bad_key_files_are_clear_errors() {
    let pki = Pki::new("files");
    let (cert, _) = pki.issue("server", &["127.0.0.1"], false);
    let out = bin()
        .args(["listen", "0", "--tls", "--cert", &cert, "--key", "/nonexistent/key.pem"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(err.starts_with("error: cannot read /nonexistent/key.pem: No such file or directory"), "{err}");
    let out = bin().args(["listen", "0", "--tls"]).stdin(Stdio::null()).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "a usage error");
    assert!(err.contains("needs --cert FILE and --key FILE, or --tls-self-signed"), "{err}");
    // A file that is there but is not PEM names itself and says why.
    let out =
        bin().args(["listen", "0", "--tls", "--cert", &cert, "--key", &cert]).stdin(Stdio::null()).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(cert.as_str()) && err.starts_with("error: "), "{err}");
}

#[test]
fn a_hostile_certificate_subject_does_not_act_on_the_terminal() {
    let pki = Pki::new("hostile");
    let (cert, key) = pki.issue("\x1b]0;title\x07\x1b[2J\rFAKE\u{202e}", &["127.0.0.1"], false);
    let (_server, port) = tls_server(&cert, &key, &[]);
    let out = bin()
        .args(["connect", "127.0.0.1", &port, "--tls", "--insecure", "--send", "hi", "--wait", "0.3"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stdout.contains(r"CN=\x1b]0;title\x07\x1b[2J\rFAKE\u{202e}"), "{stdout}");
    for raw in ['\x1b', '\x07', '\r', '\u{202e}'] {
        assert!(!stdout.contains(raw) && !stderr.contains(raw), "{raw:?} reached the terminal:\n{stdout:?}");
    }
}

/// `openssl req -x509` as people make a test certificate: RSA or ECDSA (P-384, signed
/// with SHA-256), CA:TRUE by default. Returns (cert, key), or None without openssl.
fn openssl_self_signed(dir: &Path, name: &str, key_args: &[&str]) -> Option<(String, String)> {
    let (cert, key) = (dir.join(format!("{name}.pem")), dir.join(format!("{name}.key")));
    let mut args = vec!["req", "-x509", "-nodes", "-days", "2", "-subj", "/CN=localhost"];
    args.extend_from_slice(key_args);
    args.extend_from_slice(&["-addext", "subjectAltName=IP:127.0.0.1", "-keyout"]);
    let out = std::process::Command::new("openssl")
        .args(&args)
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stdin(Stdio::null())
        .output()
        .ok()?;
    out.status.success().then(|| (cert.to_str().unwrap().to_string(), key.to_str().unwrap().to_string()))
}

#[test]
fn a_self_signed_certificate_given_with_ca_is_trusted_as_itself() {
    let pki = Pki::new("selfsigned");
    let kinds: [(&str, &[&str]); 2] = [
        ("rsa", &["-newkey", "rsa:2048"]),
        ("ecdsa", &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384", "-sha256"]),
    ];
    for (name, key_args) in kinds {
        let Some((cert, key)) = openssl_self_signed(&pki.dir, name, key_args) else {
            eprintln!("skipped: openssl is not installed");
            return;
        };
        let (_server, port) = tls_server(&cert, &key, &[]);
        let (code, out, err) = tls_client(&port, &["--ca", &cert]);
        assert_eq!(code, Some(0), "{name}: {err}");
        assert!(out.contains("\"dir\":\"in\",\"len\":5,\"text\":\"hello\""), "{name}: {out}");
        // The fingerprint netassist prints is what --pin takes.
        let sha = connected_tls(&out)["peer_sha256"].as_str().unwrap().to_string();
        let (code, _, err) = tls_client(&port, &["--pin", &sha]);
        assert_eq!(code, Some(0), "{name} pinned: {err}");
        let wrong = sha.replacen(&sha[..2], if &sha[..2] == "00" { "01" } else { "00" }, 1);
        let (code, _, err) = tls_client(&port, &["--pin", &wrong]);
        assert_eq!(code, Some(1));
        assert!(err.contains(&format!("the certificate's SHA-256 is {sha}, which is not the one pinned")), "{err}");
        assert!(!err.contains("Context") && !err.contains("{"), "no Debug output: {err}");
    }
}
