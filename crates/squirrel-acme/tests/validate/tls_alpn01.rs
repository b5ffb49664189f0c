//! tls-alpn-01 (RFC 8737): the acmeIdentifier certificate, its SAN and protocol.

use crate::*;

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

pub(crate) fn https_acceptor() -> tokio_rustls::TlsAcceptor {
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

/// What tls-alpn-01 validation of `alpn.test` gets, when it fails,
/// from a server presenting `key` and accepting the `alpn` protocols.
async fn refusal_for_alpn_test(key: Arc<CertifiedKey>, alpn: &[&[u8]]) -> squirrel_acme::Problem {
    let (config, _) = tls_alpn_config(key, alpn).await;
    tls_alpn01(&config, Identifier::dns("alpn.test"))
        .await
        .unwrap_err()
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
    let problem = refusal_for_alpn_test(key, &[b"acme-tls/1"]).await;
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
    let problem = refusal_for_alpn_test(key, &[]).await;
    assert_eq!(problem.kind, ErrorType::Tls, "{problem:?}");
    assert!(problem.detail.contains("acme-tls/1"), "{}", problem.detail);
}

#[tokio::test]
async fn tls_alpn01_server_refusing_the_protocol_is_a_tls_problem() {
    let key = certified_key(vec![dns_san("alpn.test")], acme_extension(KEY_AUTHZ));
    let problem = refusal_for_alpn_test(key, &[b"h2"]).await;
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
        let problem = refusal_for_alpn_test(key, &[b"acme-tls/1"]).await;
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
    let problem = refusal_for_alpn_test(key, &[b"acme-tls/1"]).await;
    assert!(
        problem.detail.contains("no acmeIdentifier"),
        "{}",
        problem.detail
    );

    let mut extension = rcgen::CustomExtension::new_acme_identifier(&digest(KEY_AUTHZ));
    extension.set_criticality(false);
    let key = certified_key(vec![dns_san("alpn.test")], Some(extension));
    let problem = refusal_for_alpn_test(key, &[b"acme-tls/1"]).await;
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
