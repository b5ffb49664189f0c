//! Challenge validation against real responders on 127.0.0.1: small HTTP,
//! TLS and DNS servers made here, on ephemeral ports, and Pebble's
//! `pebble-challtestsrv` as a DNS server when it is installed.

use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::rdata::{A, TXT};
use hickory_proto::rr::{Name, RData, Record};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use squirrel_acme::model::{ChallengeType, Identifier};
use squirrel_acme::problem::ErrorType;
use squirrel_acme::validate::{validate, ValidationConfig};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};

const TOKEN: &str = "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA";
const KEY_AUTHZ: &str =
    "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI";
const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

fn digest(text: &str) -> Vec<u8> {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, text.as_bytes())
        .as_ref()
        .to_vec()
}

fn base_config() -> ValidationConfig {
    ValidationConfig {
        timeout: Duration::from_secs(5),
        ..ValidationConfig::default()
    }
}

/// `name` → 127.0.0.1, as `--resolve`.
fn resolving(names: &[&str]) -> HashMap<String, Vec<IpAddr>> {
    names
        .iter()
        .map(|name| (name.to_string(), vec![LOCALHOST]))
        .collect()
}

/// A port nothing listens on (bound, then closed).
async fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

// ---------------------------------------------------------------- HTTP

/// What a test HTTP server saw: (Host header, path) per request.
type Seen = Arc<Mutex<Vec<(String, String)>>>;
/// What it answers: (status, extra headers, body) for a path.
type Handler = Arc<dyn Fn(&str) -> (u16, Vec<(String, String)>, String) + Send + Sync>;

/// An HTTP/1.1 server on an ephemeral port, over TLS when `tls` is given.
async fn http_server(
    tls: Option<tokio_rustls::TlsAcceptor>,
    handler: impl Fn(&str) -> (u16, Vec<(String, String)>, String) + Send + Sync + 'static,
) -> (u16, Seen) {
    http_server_on("127.0.0.1:0", tls, handler).await
}

/// [`http_server`] on another local address (`[::1]:0`).
async fn http_server_on(
    bind: &str,
    tls: Option<tokio_rustls::TlsAcceptor>,
    handler: impl Fn(&str) -> (u16, Vec<(String, String)>, String) + Send + Sync + 'static,
) -> (u16, Seen) {
    let listener = TcpListener::bind(bind).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen: Seen = Arc::default();
    let handler: Handler = Arc::new(handler);
    let seen_by_server = seen.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (seen, handler, tls) = (seen_by_server.clone(), handler.clone(), tls.clone());
            tokio::spawn(async move {
                match tls {
                    Some(acceptor) => {
                        if let Ok(stream) = acceptor.accept(tcp).await {
                            serve_one(stream, seen, handler).await;
                        }
                    }
                    None => serve_one(tcp, seen, handler).await,
                }
            });
        }
    });
    (port, seen)
}

async fn serve_one<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S, seen: Seen, handler: Handler) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).await.unwrap_or(0) == 0 {
            return;
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let path = head.split(' ').nth(1).unwrap_or_default().to_string();
    let host = head
        .lines()
        .find_map(|line| line.strip_prefix("host: ").or(line.strip_prefix("Host: ")))
        .unwrap_or_default()
        .to_string();
    seen.lock().unwrap().push((host, path.clone()));
    let (status, headers, body) = handler(&path);
    let mut response = format!("HTTP/1.1 {status} X\r\nContent-Length: {}\r\n", body.len());
    for (name, value) in headers {
        response.push_str(&format!("{name}: {value}\r\n"));
    }
    response.push_str("Connection: close\r\n\r\n");
    response.push_str(&body);
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

fn challenge_path() -> String {
    format!("/.well-known/acme-challenge/{TOKEN}")
}

/// A server answering `body` at the challenge path, 404 elsewhere.
async fn answering(body: &'static str) -> (u16, Seen) {
    http_server(None, move |path| {
        if path == challenge_path() {
            (200, vec![], body.to_string())
        } else {
            (404, vec![], "not here".into())
        }
    })
    .await
}

async fn http01(
    config: &ValidationConfig,
    identifier: Identifier,
) -> Result<(), squirrel_acme::Problem> {
    validate(config, ChallengeType::Http01, &identifier, TOKEN, KEY_AUTHZ).await
}

#[tokio::test]
async fn http01_good_answer_with_the_identifier_as_host() {
    let (port, seen) = answering(KEY_AUTHZ).await;
    let config = ValidationConfig {
        http01_port: port,
        ..base_config()
    };
    http01(&config, Identifier::ip("127.0.0.1")).await.unwrap();
    assert_eq!(
        seen.lock().unwrap().as_slice(),
        &[("127.0.0.1".to_string(), challenge_path())]
    );
}

#[tokio::test]
async fn http01_trailing_newline_is_trimmed() {
    let (port, _) = answering(concat!(
        "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI",
        "\r\n \n"
    ))
    .await;
    let config = ValidationConfig {
        http01_port: port,
        ..base_config()
    };
    http01(&config, Identifier::ip("127.0.0.1")).await.unwrap();
}

#[tokio::test]
async fn http01_wrong_body_is_unauthorized_with_both_values() {
    let (port, _) = answering("not.the-key-authorization").await;
    let config = ValidationConfig {
        http01_port: port,
        ..base_config()
    };
    let problem = http01(&config, Identifier::ip("127.0.0.1"))
        .await
        .unwrap_err();
    assert_eq!(problem.kind, ErrorType::Unauthorized, "{problem:?}");
    assert!(
        problem.detail.contains("not.the-key-authorization"),
        "{}",
        problem.detail
    );
    assert!(problem.detail.contains(KEY_AUTHZ), "{}", problem.detail);
    assert!(
        problem.detail.contains(&format!("127.0.0.1:{port}")),
        "{}",
        problem.detail
    );
}

#[tokio::test]
async fn http01_leading_whitespace_is_not_trimmed() {
    let (port, _) = answering(
        " evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI",
    )
    .await;
    let config = ValidationConfig {
        http01_port: port,
        ..base_config()
    };
    let problem = http01(&config, Identifier::ip("127.0.0.1"))
        .await
        .unwrap_err();
    assert_eq!(problem.kind, ErrorType::Unauthorized);
}

#[tokio::test]
async fn http01_404_is_unauthorized_with_the_status() {
    let (port, _) = http_server(None, |_| (404, vec![], "no".into())).await;
    let config = ValidationConfig {
        http01_port: port,
        ..base_config()
    };
    let problem = http01(&config, Identifier::ip("127.0.0.1"))
        .await
        .unwrap_err();
    assert_eq!(problem.kind, ErrorType::Unauthorized);
    assert!(problem.detail.contains("404"), "{}", problem.detail);
    assert!(problem.detail.contains(TOKEN), "{}", problem.detail);
}

#[tokio::test]
async fn http01_nothing_listening_is_a_connection_problem() {
    let port = closed_port().await;
    let config = ValidationConfig {
        http01_port: port,
        ..base_config()
    };
    let problem = http01(&config, Identifier::ip("127.0.0.1"))
        .await
        .unwrap_err();
    assert_eq!(problem.kind, ErrorType::Connection, "{problem:?}");
    assert!(
        problem.detail.contains(&format!("127.0.0.1:{port}")),
        "{}",
        problem.detail
    );
}

#[tokio::test]
async fn http01_silent_server_times_out_as_connection() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((tcp, _)) = listener.accept().await {
            held.push(tcp);
        }
    });
    let config = ValidationConfig {
        http01_port: port,
        timeout: Duration::from_millis(500),
        ..base_config()
    };
    let started = std::time::Instant::now();
    let problem = http01(&config, Identifier::ip("127.0.0.1"))
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(problem.kind, ErrorType::Connection);
    assert!(problem.detail.contains("timed out"), "{}", problem.detail);
}

#[tokio::test]
async fn http01_resolve_map_names_a_made_up_site() {
    let (port, seen) = answering(KEY_AUTHZ).await;
    let config = ValidationConfig {
        http01_port: port,
        resolve: resolving(&["my-site.test"]),
        ..base_config()
    };
    http01(&config, Identifier::dns("My-Site.test"))
        .await
        .unwrap();
    assert_eq!(seen.lock().unwrap()[0].0, "my-site.test");
    // Without the map, the name does not resolve: a dns problem.
    let config = ValidationConfig {
        http01_port: port,
        ..base_config()
    };
    let problem = http01(&config, Identifier::dns("my-site.invalid"))
        .await
        .unwrap_err();
    assert_eq!(problem.kind, ErrorType::Dns, "{problem:?}");
    assert!(
        problem.detail.contains("my-site.invalid"),
        "{}",
        problem.detail
    );
}

#[tokio::test]
async fn http01_redirects_are_followed_to_http_and_https() {
    let (tls_port, tls_seen) = http_server(Some(https_acceptor()), |_| {
        (200, vec![], KEY_AUTHZ.to_string())
    })
    .await;
    let (second, second_seen) = http_server(None, move |_| {
        let to = format!("https://secure.test:{tls_port}/final");
        (302, vec![("Location".into(), to)], String::new())
    })
    .await;
    let (first, first_seen) = http_server(None, move |_| {
        let to = format!("http://central.test:{second}/acme/{TOKEN}");
        (301, vec![("Location".into(), to)], String::new())
    })
    .await;
    let config = ValidationConfig {
        http01_port: first,
        resolve: resolving(&["site.test", "central.test", "secure.test"]),
        ..base_config()
    };
    http01(&config, Identifier::dns("site.test")).await.unwrap();
    assert_eq!(
        first_seen.lock().unwrap()[0],
        ("site.test".into(), challenge_path())
    );
    assert_eq!(
        second_seen.lock().unwrap()[0],
        (format!("central.test:{second}"), format!("/acme/{TOKEN}"))
    );
    assert_eq!(
        tls_seen.lock().unwrap()[0],
        (format!("secure.test:{tls_port}"), "/final".to_string())
    );
}

#[tokio::test]
async fn http01_ipv6_identifier_is_bracketed_in_host() {
    let (port, seen) = http_server_on("[::1]:0", None, |_| (200, vec![], KEY_AUTHZ.into())).await;
    let config = ValidationConfig {
        http01_port: port,
        ..base_config()
    };
    http01(&config, Identifier::ip("::1")).await.unwrap();
    assert_eq!(seen.lock().unwrap()[0].0, "[::1]");
}

#[tokio::test]
async fn http01_system_resolver_is_the_default() {
    // localhost comes from /etc/hosts through getaddrinfo.
    let (port, seen) = answering(KEY_AUTHZ).await;
    let config = ValidationConfig {
        http01_port: port,
        ..base_config()
    };
    http01(&config, Identifier::dns("localhost")).await.unwrap();
    assert_eq!(seen.lock().unwrap()[0].0, "localhost");
}

#[tokio::test]
async fn http01_huge_body_is_read_in_part_and_quoted_in_part() {
    let (port, _) = http_server(None, |_| (200, vec![], "x".repeat(1 << 20))).await;
    let config = ValidationConfig {
        http01_port: port,
        ..base_config()
    };
    let problem = http01(&config, Identifier::ip("127.0.0.1"))
        .await
        .unwrap_err();
    assert_eq!(problem.kind, ErrorType::Unauthorized);
    assert!(problem.detail.len() < 1000, "{}", problem.detail);
    assert!(problem.detail.contains("xxx..."), "{}", problem.detail);
}

#[tokio::test]
async fn http01_redirect_loops_end() {
    let (port, seen) = http_server(None, |_| {
        (
            307,
            vec![("Location".into(), "/again".into())],
            String::new(),
        )
    })
    .await;
    let config = ValidationConfig {
        http01_port: port,
        ..base_config()
    };
    let problem = http01(&config, Identifier::ip("127.0.0.1"))
        .await
        .unwrap_err();
    assert_eq!(problem.kind, ErrorType::Connection);
    assert!(
        problem.detail.contains("too many redirects"),
        "{}",
        problem.detail
    );
    assert_eq!(seen.lock().unwrap().len(), 11);
}

#[tokio::test]
async fn http01_name_from_the_configured_dns_server() {
    let (port, _) = answering(KEY_AUTHZ).await;
    let dns = dns_server(
        vec![("www.dns.test.", RData::A(A(Ipv4Addr::LOCALHOST)))],
        false,
    )
    .await;
    let config = ValidationConfig {
        http01_port: port,
        dns_resolver: Some(dns),
        ..base_config()
    };
    http01(&config, Identifier::dns("www.dns.test"))
        .await
        .unwrap();
    let problem = http01(&config, Identifier::dns("missing.dns.test"))
        .await
        .unwrap_err();
    assert_eq!(problem.kind, ErrorType::Dns, "{problem:?}");
    assert!(
        problem.detail.contains(&dns.to_string()),
        "{}",
        problem.detail
    );
    assert!(
        problem.detail.contains("NXDomain") || problem.detail.contains("Non-Existent"),
        "{}",
        problem.detail
    );
}

// ---------------------------------------------------------------- TLS

/// A self-signed certificate for `names`, with `extension` when given.
fn certified_key(
    names: Vec<rcgen::SanType>,
    extension: Option<rcgen::CustomExtension>,
) -> Arc<CertifiedKey> {
    let mut params = rcgen::CertificateParams::default();
    params.subject_alt_names = names;
    params.custom_extensions.extend(extension);
    let key = rcgen::KeyPair::generate().unwrap();
    let certificate = params.self_signed(&key).unwrap();
    let private = rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
    let signing = rustls::crypto::aws_lc_rs::sign::any_supported_type(&private).unwrap();
    Arc::new(CertifiedKey::new(vec![certificate.der().clone()], signing))
}

fn dns_san(name: &str) -> rcgen::SanType {
    rcgen::SanType::DnsName(name.to_string().try_into().unwrap())
}

/// Serves one certificate whatever the client asks, and records the SNI:
/// `with_single_cert` would refuse a critical acmeIdentifier extension.
#[derive(Debug)]
struct OneCertificate {
    key: Arc<CertifiedKey>,
    sni: Mutex<Vec<Option<String>>>,
}

impl ResolvesServerCert for OneCertificate {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.sni
            .lock()
            .unwrap()
            .push(hello.server_name().map(str::to_string));
        Some(self.key.clone())
    }
}

/// TLS 1.2 and 1.3 (the default) or only the given versions.
type Versions = &'static [&'static rustls::SupportedProtocolVersion];

fn acceptor(
    key: Arc<CertifiedKey>,
    alpn: &[&[u8]],
) -> (tokio_rustls::TlsAcceptor, Arc<OneCertificate>) {
    acceptor_with(key, alpn, rustls::DEFAULT_VERSIONS)
}

fn acceptor_with(
    key: Arc<CertifiedKey>,
    alpn: &[&[u8]],
    versions: Versions,
) -> (tokio_rustls::TlsAcceptor, Arc<OneCertificate>) {
    let resolver = Arc::new(OneCertificate {
        key,
        sni: Mutex::default(),
    });
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_protocol_versions(versions)
    .unwrap()
    .with_no_client_auth()
    .with_cert_resolver(resolver.clone());
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    (tokio_rustls::TlsAcceptor::from(Arc::new(config)), resolver)
}

fn https_acceptor() -> tokio_rustls::TlsAcceptor {
    acceptor(
        certified_key(vec![dns_san("secure.test")], None),
        &[b"http/1.1"],
    )
    .0
}

/// A tls-alpn-01 responder: completes handshakes, then closes.
async fn tls_alpn_server(
    key: Arc<CertifiedKey>,
    alpn: &[&[u8]],
    versions: Versions,
) -> (u16, Arc<OneCertificate>) {
    let (acceptor, resolver) = acceptor_with(key, alpn, versions);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(mut stream) = acceptor.accept(tcp).await {
                    let _ = stream.read(&mut [0u8; 16]).await;
                }
            });
        }
    });
    (port, resolver)
}

async fn tls_alpn01(
    config: &ValidationConfig,
    identifier: Identifier,
) -> Result<(), squirrel_acme::Problem> {
    validate(
        config,
        ChallengeType::TlsAlpn01,
        &identifier,
        TOKEN,
        KEY_AUTHZ,
    )
    .await
}

fn acme_extension(text: &str) -> Option<rcgen::CustomExtension> {
    Some(rcgen::CustomExtension::new_acme_identifier(&digest(text)))
}

async fn tls_alpn_config(
    key: Arc<CertifiedKey>,
    alpn: &[&[u8]],
) -> (ValidationConfig, Arc<OneCertificate>) {
    tls_alpn_config_with(key, alpn, rustls::DEFAULT_VERSIONS).await
}

async fn tls_alpn_config_with(
    key: Arc<CertifiedKey>,
    alpn: &[&[u8]],
    versions: Versions,
) -> (ValidationConfig, Arc<OneCertificate>) {
    let (port, resolver) = tls_alpn_server(key, alpn, versions).await;
    let config = ValidationConfig {
        tlsalpn01_port: port,
        resolve: resolving(&["alpn.test"]),
        ..base_config()
    };
    (config, resolver)
}

#[tokio::test]
async fn tls_alpn01_good_for_a_name_and_an_address() {
    let key = certified_key(vec![dns_san("alpn.test")], acme_extension(KEY_AUTHZ));
    let (config, resolver) = tls_alpn_config(key, &[b"acme-tls/1"]).await;
    tls_alpn01(&config, Identifier::dns("alpn.test"))
        .await
        .unwrap();
    assert_eq!(
        resolver.sni.lock().unwrap()[0].as_deref(),
        Some("alpn.test")
    );

    let key = certified_key(
        vec![rcgen::SanType::IpAddress(LOCALHOST)],
        acme_extension(KEY_AUTHZ),
    );
    let (config, resolver) = tls_alpn_config(key, &[b"acme-tls/1"]).await;
    tls_alpn01(&config, Identifier::ip("127.0.0.1"))
        .await
        .unwrap();
    // RFC 8738 §6: the SNI of an IP identifier is its reverse-DNS name.
    assert_eq!(
        resolver.sni.lock().unwrap()[0].as_deref(),
        Some("1.0.0.127.in-addr.arpa")
    );
}

static TLS12_ONLY: Versions = &[&rustls::version::TLS12];
static TLS13_ONLY: Versions = &[&rustls::version::TLS13];

#[tokio::test]
async fn tls_alpn01_over_tls_1_2_and_1_3() {
    for versions in [TLS12_ONLY, TLS13_ONLY] {
        let key = certified_key(vec![dns_san("alpn.test")], acme_extension(KEY_AUTHZ));
        let (config, _) = tls_alpn_config_with(key, &[b"acme-tls/1"], versions).await;
        tls_alpn01(&config, Identifier::dns("alpn.test"))
            .await
            .unwrap_or_else(|p| panic!("{:?}: {p:?}", versions[0].version));
    }
}

#[tokio::test]
async fn tls_alpn01_handshake_signed_with_another_key_fails() {
    // The certificate is right, but the server does not hold its key: the
    // handshake signature is checked even though the chain is not.
    for versions in [TLS12_ONLY, TLS13_ONLY] {
        let right = certified_key(vec![dns_san("alpn.test")], acme_extension(KEY_AUTHZ));
        let other = certified_key(vec![dns_san("alpn.test")], None);
        let impostor = Arc::new(CertifiedKey::new(right.cert.clone(), other.key.clone()));
        let (config, _) = tls_alpn_config_with(impostor, &[b"acme-tls/1"], versions).await;
        let problem = tls_alpn01(&config, Identifier::dns("alpn.test"))
            .await
            .unwrap_err();
        assert_eq!(problem.kind, ErrorType::Tls, "{problem:?}");
        assert!(
            problem.detail.contains("BadSignature"),
            "{}",
            problem.detail
        );
    }
}

#[tokio::test]
async fn tls_alpn01_wrong_digest_is_unauthorized() {
    let key = certified_key(
        vec![dns_san("alpn.test")],
        acme_extension("another.key-authz"),
    );
    let (config, _) = tls_alpn_config(key, &[b"acme-tls/1"]).await;
    let problem = tls_alpn01(&config, Identifier::dns("alpn.test"))
        .await
        .unwrap_err();
    assert_eq!(problem.kind, ErrorType::Unauthorized, "{problem:?}");
    assert!(
        problem.detail.contains(&hex::encode(digest(KEY_AUTHZ))),
        "{}",
        problem.detail
    );
}

#[tokio::test]
async fn tls_alpn01_without_the_protocol_is_a_tls_problem() {
    let key = certified_key(vec![dns_san("alpn.test")], acme_extension(KEY_AUTHZ));
    let (config, _) = tls_alpn_config(key, &[]).await;
    let problem = tls_alpn01(&config, Identifier::dns("alpn.test"))
        .await
        .unwrap_err();
    assert_eq!(problem.kind, ErrorType::Tls, "{problem:?}");
    assert!(problem.detail.contains("acme-tls/1"), "{}", problem.detail);
}

#[tokio::test]
async fn tls_alpn01_server_refusing_the_protocol_is_a_tls_problem() {
    let key = certified_key(vec![dns_san("alpn.test")], acme_extension(KEY_AUTHZ));
    let (config, _) = tls_alpn_config(key, &[b"h2"]).await;
    let problem = tls_alpn01(&config, Identifier::dns("alpn.test"))
        .await
        .unwrap_err();
    assert_eq!(problem.kind, ErrorType::Tls, "{problem:?}");
}

#[tokio::test]
async fn tls_alpn01_wrong_san_is_unauthorized() {
    for names in [
        vec![dns_san("other.test")],
        vec![dns_san("alpn.test"), dns_san("extra.test")],
        vec![],
    ] {
        let key = certified_key(names, acme_extension(KEY_AUTHZ));
        let (config, _) = tls_alpn_config(key, &[b"acme-tls/1"]).await;
        let problem = tls_alpn01(&config, Identifier::dns("alpn.test"))
            .await
            .unwrap_err();
        assert_eq!(problem.kind, ErrorType::Unauthorized, "{problem:?}");
        assert!(
            problem.detail.contains("subjectAltName"),
            "{}",
            problem.detail
        );
    }
}

#[tokio::test]
async fn tls_alpn01_extension_must_be_there_and_critical() {
    let key = certified_key(vec![dns_san("alpn.test")], None);
    let (config, _) = tls_alpn_config(key, &[b"acme-tls/1"]).await;
    let problem = tls_alpn01(&config, Identifier::dns("alpn.test"))
        .await
        .unwrap_err();
    assert!(
        problem.detail.contains("no acmeIdentifier"),
        "{}",
        problem.detail
    );

    let mut extension = rcgen::CustomExtension::new_acme_identifier(&digest(KEY_AUTHZ));
    extension.set_criticality(false);
    let key = certified_key(vec![dns_san("alpn.test")], Some(extension));
    let (config, _) = tls_alpn_config(key, &[b"acme-tls/1"]).await;
    let problem = tls_alpn01(&config, Identifier::dns("alpn.test"))
        .await
        .unwrap_err();
    assert_eq!(problem.kind, ErrorType::Unauthorized);
    assert!(
        problem.detail.contains("not critical"),
        "{}",
        problem.detail
    );
}

#[tokio::test]
async fn tls_alpn01_nothing_listening_is_a_connection_problem() {
    let config = ValidationConfig {
        tlsalpn01_port: closed_port().await,
        ..base_config()
    };
    let problem = tls_alpn01(&config, Identifier::ip("127.0.0.1"))
        .await
        .unwrap_err();
    assert_eq!(problem.kind, ErrorType::Connection);
}

// ---------------------------------------------------------------- DNS

/// A DNS server on 127.0.0.1 answering from `records` (NXDOMAIN for
/// other names). With `truncate`, UDP answers are empty with TC=1 and the
/// real answer is over TCP on the same port (RFC 7766).
async fn dns_server(records: Vec<(&str, RData)>, truncate: bool) -> SocketAddr {
    let mut zone: HashMap<String, Vec<RData>> = HashMap::new();
    for (name, rdata) in records {
        zone.entry(name.to_ascii_lowercase())
            .or_default()
            .push(rdata);
    }
    let zone = Arc::new(zone);
    let (udp, tcp) = loop {
        let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
        if let Ok(udp) = UdpSocket::bind(tcp.local_addr().unwrap()).await {
            break (udp, tcp);
        }
    };
    let addr = udp.local_addr().unwrap();
    let udp_zone = zone.clone();
    tokio::spawn(async move {
        let mut buffer = [0u8; 1500];
        while let Ok((n, from)) = udp.recv_from(&mut buffer).await {
            if let Some(reply) = dns_reply(&buffer[..n], &udp_zone, truncate) {
                let _ = udp.send_to(&reply, from).await;
            }
        }
    });
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = tcp.accept().await {
            let mut length = [0u8; 2];
            if stream.read_exact(&mut length).await.is_err() {
                continue;
            }
            let mut query = vec![0u8; u16::from_be_bytes(length).into()];
            if stream.read_exact(&mut query).await.is_err() {
                continue;
            }
            if let Some(reply) = dns_reply(&query, &zone, false) {
                let mut framed = (reply.len() as u16).to_be_bytes().to_vec();
                framed.extend(reply);
                let _ = stream.write_all(&framed).await;
            }
        }
    });
    addr
}

fn dns_reply(query: &[u8], zone: &HashMap<String, Vec<RData>>, truncate: bool) -> Option<Vec<u8>> {
    let query = Message::from_vec(query).ok()?;
    let question = query.query()?.clone();
    let name = question.name().to_ascii().to_ascii_lowercase();
    let mut reply = Message::new();
    reply
        .set_id(query.id())
        .set_message_type(MessageType::Response)
        .set_recursion_desired(true)
        .set_recursion_available(true)
        .add_query(question.clone());
    match zone.get(&name) {
        None => {
            reply.set_response_code(ResponseCode::NXDomain);
        }
        Some(_) if truncate => {
            reply.set_truncated(true);
        }
        Some(rdatas) => {
            for rdata in rdatas
                .iter()
                .filter(|r| r.record_type() == question.query_type())
            {
                let owner = Name::from_ascii(&name).ok()?;
                reply.add_answer(Record::from_rdata(owner, 60, rdata.clone()));
            }
        }
    }
    reply.to_vec().ok()
}

fn txt(value: &str) -> RData {
    RData::TXT(TXT::new(vec![value.to_string()]))
}

fn expected_txt() -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest(KEY_AUTHZ))
}

async fn dns01(config: &ValidationConfig, name: &str) -> Result<(), squirrel_acme::Problem> {
    validate(
        config,
        ChallengeType::Dns01,
        &Identifier::dns(name),
        TOKEN,
        KEY_AUTHZ,
    )
    .await
}

#[tokio::test]
async fn dns01_good_record_among_others() {
    let value = expected_txt();
    let server = dns_server(
        vec![
            ("_acme-challenge.zone.test.", txt("stale-value")),
            ("_acme-challenge.zone.test.", txt(&value)),
        ],
        false,
    )
    .await;
    let config = ValidationConfig {
        dns_resolver: Some(server),
        ..base_config()
    };
    dns01(&config, "zone.test").await.unwrap();
}

#[tokio::test]
async fn dns01_record_split_in_strings_is_joined() {
    let value = expected_txt();
    let (a, b) = value.split_at(10);
    let split = RData::TXT(TXT::new(vec![a.to_string(), b.to_string()]));
    let server = dns_server(vec![("_acme-challenge.zone.test.", split)], false).await;
    let config = ValidationConfig {
        dns_resolver: Some(server),
        ..base_config()
    };
    dns01(&config, "zone.test").await.unwrap();
}

#[tokio::test]
async fn dns01_wrong_record_is_unauthorized_listing_what_was_found() {
    let server = dns_server(
        vec![("_acme-challenge.zone.test.", txt("stale-value"))],
        false,
    )
    .await;
    let config = ValidationConfig {
        dns_resolver: Some(server),
        ..base_config()
    };
    let problem = dns01(&config, "zone.test").await.unwrap_err();
    assert_eq!(problem.kind, ErrorType::Unauthorized, "{problem:?}");
    assert!(problem.detail.contains("stale-value"), "{}", problem.detail);
    assert!(
        problem.detail.contains(&expected_txt()),
        "{}",
        problem.detail
    );
    assert!(
        problem.detail.contains(&server.to_string()),
        "{}",
        problem.detail
    );

    let problem = dns01(&config, "absent.test").await.unwrap_err();
    assert_eq!(problem.kind, ErrorType::Unauthorized, "{problem:?}");
    assert!(
        problem.detail.contains("no TXT record"),
        "{}",
        problem.detail
    );
}

#[tokio::test]
async fn dns01_truncated_udp_answer_is_asked_again_over_tcp() {
    let server = dns_server(
        vec![("_acme-challenge.big.test.", txt(&expected_txt()))],
        true,
    )
    .await;
    let config = ValidationConfig {
        dns_resolver: Some(server),
        ..base_config()
    };
    dns01(&config, "big.test").await.unwrap();
}

#[tokio::test]
async fn dns01_silent_server_is_a_dns_problem() {
    let silent = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let config = ValidationConfig {
        dns_resolver: Some(silent.local_addr().unwrap()),
        timeout: Duration::from_millis(500),
        ..base_config()
    };
    let problem = dns01(&config, "zone.test").await.unwrap_err();
    assert_eq!(problem.kind, ErrorType::Dns, "{problem:?}");
    drop(silent);
}

#[tokio::test]
async fn dns01_is_not_for_ip_identifiers() {
    let problem = validate(
        &base_config(),
        ChallengeType::Dns01,
        &Identifier::ip("127.0.0.1"),
        TOKEN,
        KEY_AUTHZ,
    )
    .await
    .unwrap_err();
    assert_eq!(problem.kind, ErrorType::Malformed);
}

// ------------------------------------------------- pebble-challtestsrv

/// Kills the child it holds (the one this test started) when dropped.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn post(port: u16, path: &str, json: &str) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{json}",
        json.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{path}: {response}");
}

/// Pebble's test DNS server as `--dns-resolver`: a TXT record for dns-01
/// and an A record for http-01. The binary is part of the development
/// machine's setup; without it this test fails, it does not skip.
#[tokio::test]
async fn pebble_challtestsrv_as_dns_server() {
    let binary = "/usr/bin/pebble-challtestsrv";
    assert!(
        std::path::Path::new(binary).exists(),
        "{binary} is missing: install pebble-challtestsrv (Debian package pebble-challtestsrv)"
    );
    let dns_port = closed_port().await;
    let management = closed_port().await;
    let mut child = Child(
        std::process::Command::new(binary)
            .args(["-dns01", &format!("127.0.0.1:{dns_port}")])
            .args(["-http01", "", "-https01", "", "-tlsalpn01", ""])
            .args(["-management", &format!("127.0.0.1:{management}")])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut tries = 0;
    while TcpStream::connect(("127.0.0.1", management)).await.is_err() {
        if let Ok(Some(status)) = child.0.try_wait() {
            let mut stderr = String::new();
            if let Some(mut pipe) = child.0.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
            }
            panic!("pebble-challtestsrv exited with {status}: {stderr}");
        }
        tries += 1;
        assert!(tries < 100, "pebble-challtestsrv did not start in 5 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let value = expected_txt();
    post(
        management,
        "/set-txt",
        &format!(r#"{{"host":"_acme-challenge.x.test.","value":"{value}"}}"#),
    )
    .await;
    post(
        management,
        "/add-a",
        r#"{"host":"x.test.","addresses":["127.0.0.1"]}"#,
    )
    .await;

    let (port, seen) = answering(KEY_AUTHZ).await;
    let dns = SocketAddr::from(([127, 0, 0, 1], dns_port));
    let config = ValidationConfig {
        http01_port: port,
        dns_resolver: Some(dns),
        ..base_config()
    };
    dns01(&config, "x.test").await.unwrap();
    http01(&config, Identifier::dns("x.test")).await.unwrap();
    assert_eq!(seen.lock().unwrap()[0].0, "x.test");
    let problem = dns01(&config, "y.test").await.unwrap_err();
    assert_eq!(problem.kind, ErrorType::Unauthorized, "{problem:?}");
}
