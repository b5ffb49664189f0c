//! squirrel's client side, in process: `client::get` (tutorial steps 2 and
//! 14) and the look-only handshake of `pki inspect https://...`, against a
//! real `squirrel serve` on loopback with a CA made by squirrel-pki.

mod common;

use common::{make_pki, Pki};
use squirrel_http::client::{self, GetOptions};
use squirrel_http::diagnose::FailureKind;
use squirrel_http::handshake::TlsVersion;
use squirrel_http::target::Target;
use squirrel_http::{Limits, MessageSource, ServeOptions, Server, SiteSources, TlsFiles};
use std::time::Duration;

/// A server on a free loopback port, serving until the runtime is dropped.
fn serve(runtime: &tokio::runtime::Runtime, tls: Option<TlsFiles>) -> u16 {
    let server = runtime
        .block_on(Server::bind(ServeOptions {
            listen: "127.0.0.1:0".into(),
            sources: SiteSources {
                message: MessageSource::Text("fluffy tail".into()),
                tls,
                fernet: None,
            },
            keylog: None,
            limits: Limits::default(),
        }))
        .unwrap();
    let port = server.local_addr().port();
    runtime.spawn(server.run(std::future::pending()));
    port
}

/// The server's files, open to everyone (no client CA).
fn tls_files(pki: &Pki) -> TlsFiles {
    TlsFiles {
        client_ca: None,
        ..pki.files.clone()
    }
}

fn options(url: &str, anchors: Option<Vec<Vec<u8>>>) -> GetOptions {
    GetOptions {
        target: Target::parse(url).unwrap(),
        anchors,
        anchor_policy: squirrel_pki::verify::AnchorPolicy::Strict,
        identity: None,
        insecure: false,
        timeout: Duration::from_secs(5),
        max_body: 1024,
    }
}

#[test]
fn the_client_trusts_the_ca_it_is_given_and_no_other() {
    let dir = tempfile::tempdir().unwrap();
    let pki = make_pki(dir.path());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let port = serve(&runtime, Some(tls_files(&pki)));
    let url = format!("https://localhost:{port}/");

    let fetched = client::get(&options(&url, Some(vec![pki.ca_der.clone()]))).unwrap();
    assert_eq!(
        (fetched.status, fetched.body.as_slice()),
        (200, &b"fluffy tail"[..])
    );
    assert_eq!(fetched.header("cache-control"), Some("no-store"));
    let tls = fetched.tls.expect("an https fetch has TLS facts");
    assert_eq!(tls.version, TlsVersion::Tls13);
    assert_eq!(tls.alpn.as_deref(), Some("http/1.1"));
    assert_eq!(tls.cipher_suite, "TLS13_AES_128_GCM_SHA256");
    assert_eq!(tls.chain.len(), 1, "the server presents its leaf");

    // Without the CA (the system's roots only): step 14's failure.
    let failure = client::get(&options(&url, None)).unwrap_err();
    assert_eq!(failure.kind, FailureKind::Tls);
    assert_eq!(
        failure.phrase.as_deref(),
        Some("certificate verify failed: unable to get local issuer certificate")
    );

    // Trusting another CA only.
    let other = make_pki(&dir.path().join("other"));
    let failure = client::get(&options(&url, Some(vec![other.ca_der]))).unwrap_err();
    assert_eq!(failure.kind, FailureKind::Tls);
    assert!(
        failure
            .message
            .contains("checked against the CA given with --ca"),
        "{}",
        failure.message
    );
}

#[test]
fn inspect_looks_at_any_chain_with_the_same_handshake() {
    let dir = tempfile::tempdir().unwrap();
    let pki = make_pki(dir.path());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let port = serve(&runtime, Some(tls_files(&pki)));

    let target = Target::parse(&format!("https://localhost:{port}")).unwrap();
    let seen = client::presented_chain(&target, Duration::from_secs(5)).unwrap();
    assert_eq!(seen.version, TlsVersion::Tls13);
    assert_eq!(seen.alpn.as_deref(), Some("h2"), "inspect offers h2 first");
    let served = std::fs::read(&pki.files.cert).unwrap();
    assert_eq!(
        seen.chain,
        squirrel_pki::pem_file::certificates(&served).unwrap()
    );

    let plain = Target::parse(&format!("http://127.0.0.1:{port}")).unwrap();
    let failure = client::presented_chain(&plain, Duration::from_secs(5)).unwrap_err();
    assert_eq!(failure.kind, FailureKind::Input);
    assert!(
        failure.message.contains("only https:// URLs"),
        "{}",
        failure.message
    );
}

#[test]
fn wrong_schemes_and_closed_ports_are_explained() {
    let dir = tempfile::tempdir().unwrap();
    let pki = make_pki(dir.path());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let tls_port = serve(&runtime, Some(tls_files(&pki)));
    let plain_port = serve(&runtime, None);

    // http:// to the HTTPS port: the answer is a TLS alert, not HTTP.
    let failure =
        client::get(&options(&format!("http://127.0.0.1:{tls_port}/"), None)).unwrap_err();
    assert_eq!(failure.kind, FailureKind::Http);
    assert!(
        failure.message.contains("speaks TLS"),
        "{}",
        failure.message
    );

    // https:// to the plain port, for get and for inspect alike.
    let https_to_plain = format!("https://127.0.0.1:{plain_port}/");
    let failure =
        client::get(&options(&https_to_plain, Some(vec![pki.ca_der.clone()]))).unwrap_err();
    assert_eq!(
        (failure.kind, failure.phrase.as_deref()),
        (FailureKind::Tls, Some("wrong version number"))
    );
    let target = Target::parse(&https_to_plain).unwrap();
    let failure = client::presented_chain(&target, Duration::from_secs(5)).unwrap_err();
    assert_eq!(failure.phrase.as_deref(), Some("wrong version number"));

    // A port where nothing listens.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let failure = client::get(&options(&format!("http://127.0.0.1:{port}/"), None)).unwrap_err();
    assert_eq!(
        (failure.kind, failure.phrase.as_deref()),
        (FailureKind::Network, Some("Connection refused"))
    );
    assert_eq!(failure.kind.exit_code(), 3);
}
