//! http-01 (RFC 8555 §8.3): answers, redirects, names, failures.

use crate::dns01::dns_server;
use crate::tls_alpn01::https_acceptor;
use crate::*;
use hickory_proto::rr::rdata::AAAA;
use hickory_proto::rr::RecordType;
use std::net::Ipv6Addr;

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
pub(crate) async fn answering(body: &'static str) -> (u16, Seen) {
    http_server(None, move |path| {
        if path == challenge_path() {
            (200, vec![], body.to_string())
        } else {
            (404, vec![], "not here".into())
        }
    })
    .await
}

pub(crate) async fn http01(
    config: &ValidationConfig,
    identifier: Identifier,
) -> Result<(), squirrel_acme::Problem> {
    validate(config, ChallengeType::Http01, &identifier, TOKEN, KEY_AUTHZ).await
}

/// What validating 127.0.0.1 by http-01 on `port` gets, when it fails.
async fn refusal_on(port: u16) -> squirrel_acme::Problem {
    let config = ValidationConfig {
        http01_port: port,
        ..base_config()
    };
    http01(&config, Identifier::ip("127.0.0.1"))
        .await
        .unwrap_err()
}

/// [`refusal_on`] a server answering `body` at the challenge path; and
/// that server's port.
async fn refusal_of(body: &'static str) -> (squirrel_acme::Problem, u16) {
    let (port, _) = answering(body).await;
    (refusal_on(port).await, port)
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
    let (problem, port) = refusal_of("not.the-key-authorization").await;
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
    let (problem, _) = refusal_of(
        " evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI",
    )
    .await;
    assert_eq!(problem.kind, ErrorType::Unauthorized);
}

#[tokio::test]
async fn http01_404_is_unauthorized_with_the_status() {
    let (port, _) = http_server(None, |_| (404, vec![], "no".into())).await;
    let problem = refusal_on(port).await;
    assert_eq!(problem.kind, ErrorType::Unauthorized);
    assert!(problem.detail.contains("404"), "{}", problem.detail);
    assert!(problem.detail.contains(TOKEN), "{}", problem.detail);
}

#[tokio::test]
async fn http01_nothing_listening_is_a_connection_problem() {
    let port = closed_port().await;
    let problem = refusal_on(port).await;
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
    // Redirects may lead only to port 80 or 443 or the validation ports:
    // the first hop stays on the http-01 port under another name and
    // path, the second goes to https on the tls-alpn-01 port.
    let (tls_port, tls_seen) = http_server(Some(https_acceptor()), |_| {
        (200, vec![], KEY_AUTHZ.to_string())
    })
    .await;
    let own_port = Arc::new(std::sync::atomic::AtomicU16::new(0));
    let port_for_handler = own_port.clone();
    let (port, seen) = http_server(None, move |path| {
        let to = if path == challenge_path() {
            let port = port_for_handler.load(std::sync::atomic::Ordering::SeqCst);
            format!("http://central.test:{port}/acme/{TOKEN}")
        } else {
            format!("https://secure.test:{tls_port}/final")
        };
        (301, vec![("Location".into(), to)], String::new())
    })
    .await;
    own_port.store(port, std::sync::atomic::Ordering::SeqCst);
    let config = ValidationConfig {
        http01_port: port,
        tlsalpn01_port: tls_port,
        resolve: resolving(&["site.test", "central.test", "secure.test"]),
        ..base_config()
    };
    http01(&config, Identifier::dns("site.test")).await.unwrap();
    assert_eq!(
        seen.lock().unwrap().as_slice(),
        &[
            ("site.test".into(), challenge_path()),
            (format!("central.test:{port}"), format!("/acme/{TOKEN}")),
        ]
    );
    assert_eq!(
        tls_seen.lock().unwrap()[0],
        (format!("secure.test:{tls_port}"), "/final".to_string())
    );
}

/// Server-side request forgery (RFC 8555 §10.4): a client that controls a
/// name's answer must not make the CA fetch from another port of its
/// network; the service there is never connected to.
#[tokio::test]
async fn http01_a_redirect_to_another_port_is_refused_before_connecting() {
    let (internal, internal_seen) =
        http_server(None, |_| (200, vec![], "internal secret".into())).await;
    let (port, _) = http_server(None, move |_| {
        let to = format!("http://127.0.0.1:{internal}/admin");
        (302, vec![("Location".into(), to)], String::new())
    })
    .await;
    let problem = refusal_on(port).await;
    assert_eq!(problem.kind, ErrorType::Connection, "{problem:?}");
    assert!(
        problem.detail.contains(&format!(
            "port {internal} is not one a redirect may lead to (80, 443, {port};"
        )),
        "{}",
        problem.detail
    );
    assert!(internal_seen.lock().unwrap().is_empty(), "never connected");
}

/// What a page reached through the validation says is not handed back to
/// the client; an answer shaped like a key authorization is (the mistake
/// worth showing: another token or account key).
#[tokio::test]
async fn http01_a_wrong_answer_is_quoted_only_when_it_is_a_key_authorization() {
    let (problem, _) = refusal_of("<html>db_password=hunter2</html>").await;
    assert_eq!(problem.kind, ErrorType::Unauthorized);
    assert!(
        problem
            .detail
            .ends_with("got 32 bytes that are not a key authorization"),
        "{}",
        problem.detail
    );
    assert!(!problem.detail.contains("hunter2"), "{}", problem.detail);
}

/// Link-local addresses (where cloud metadata services answer) are never
/// connected to, whatever name or redirect leads there.
#[tokio::test]
async fn http01_link_local_addresses_are_never_connected_to() {
    let config = ValidationConfig {
        http01_port: 80,
        resolve: HashMap::from([(
            "metadata.test".to_string(),
            vec!["169.254.169.254".parse().unwrap()],
        )]),
        ..base_config()
    };
    let started = std::time::Instant::now();
    let problem = http01(&config, Identifier::dns("metadata.test"))
        .await
        .unwrap_err();
    assert_eq!(problem.kind, ErrorType::Connection);
    assert!(
        problem.detail.contains(
            "169.254.169.254:80: not tried, a link-local address (cloud metadata services answer there)"
        ),
        "{}",
        problem.detail
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
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
async fn http01_huge_body_is_read_in_part_and_described_by_its_size() {
    let (port, _) = http_server(None, |_| (200, vec![], "x".repeat(1 << 20))).await;
    let problem = refusal_on(port).await;
    assert_eq!(problem.kind, ErrorType::Unauthorized);
    assert!(problem.detail.len() < 1000, "{}", problem.detail);
    assert!(
        problem
            .detail
            .ends_with("got 64 KiB or more that are not a key authorization"),
        "{}",
        problem.detail
    );
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
    let problem = refusal_on(port).await;
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
    let config = asking_dns(dns, port);
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

/// A and AAAA are asked at once from one UDP socket (one source port, two
/// message ids), and an AAAA question that fails (SERVFAIL here) leaves
/// the A answer to be used.
#[tokio::test]
async fn http01_a_and_aaaa_are_asked_on_one_socket_and_a_failed_aaaa_leaves_the_a() {
    let (port, _) = answering(KEY_AUTHZ).await;
    let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let dns = udp.local_addr().unwrap();
    let asked: Arc<Mutex<Vec<(u16, u16, RecordType)>>> = Arc::default();
    let record = asked.clone();
    tokio::spawn(async move {
        let mut buffer = [0u8; 1500];
        while let Ok((n, from)) = udp.recv_from(&mut buffer).await {
            let query = Message::from_vec(&buffer[..n]).unwrap();
            let question = query.query().unwrap().clone();
            record
                .lock()
                .unwrap()
                .push((from.port(), query.id(), question.query_type()));
            let mut reply = Message::new();
            reply
                .set_id(query.id())
                .set_message_type(MessageType::Response)
                .add_query(question.clone());
            if question.query_type() == RecordType::A {
                let a = RData::A(A(Ipv4Addr::LOCALHOST));
                reply.add_answer(Record::from_rdata(question.name().clone(), 60, a));
            } else {
                reply.set_response_code(ResponseCode::ServFail);
            }
            udp.send_to(&reply.to_vec().unwrap(), from).await.unwrap();
        }
    });
    let config = asking_dns(dns, port);
    http01(&config, Identifier::dns("www.both.test"))
        .await
        .unwrap();
    let asked = asked.lock().unwrap().clone();
    assert_eq!(asked.len(), 2, "{asked:?}");
    let types: Vec<RecordType> = asked.iter().map(|q| q.2).collect();
    assert!(types.contains(&RecordType::A) && types.contains(&RecordType::AAAA));
    assert_eq!(asked[0].0, asked[1].0, "one socket: {asked:?}");
    assert_ne!(asked[0].1, asked[1].1, "two message ids: {asked:?}");
}

/// Both answers truncated over UDP: each question is asked again over
/// TCP, and the name resolves.
#[tokio::test]
async fn http01_truncated_a_and_aaaa_answers_are_asked_again_over_tcp() {
    let (port, _) = answering(KEY_AUTHZ).await;
    let dns = dns_server(
        vec![
            ("www.tc.test.", RData::A(A(Ipv4Addr::LOCALHOST))),
            ("www.tc.test.", RData::AAAA(AAAA(Ipv6Addr::LOCALHOST))),
        ],
        true,
    )
    .await;
    let config = asking_dns(dns, port);
    http01(&config, Identifier::dns("www.tc.test"))
        .await
        .unwrap();
}

/// Validation on http-01 `port`, names resolved by the DNS server `dns`.
fn asking_dns(dns: SocketAddr, port: u16) -> ValidationConfig {
    ValidationConfig {
        http01_port: port,
        dns_resolver: Some(dns),
        ..base_config()
    }
}
