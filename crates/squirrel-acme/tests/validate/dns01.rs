//! dns-01 (RFC 8555 §8.4): TXT records from the configured DNS server.

use crate::http01::{answering, http01};
use crate::*;

/// A DNS server on 127.0.0.1 answering from `records` (NXDOMAIN for
/// other names). With `truncate`, UDP answers are empty with TC=1 and the
/// real answer is over TCP on the same port (RFC 7766).
pub(crate) async fn dns_server(records: Vec<(&str, RData)>, truncate: bool) -> SocketAddr {
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

/// The validation settings that ask the DNS server at `server`.
fn asking(server: SocketAddr) -> ValidationConfig {
    ValidationConfig {
        dns_resolver: Some(server),
        ..base_config()
    }
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
    let config = asking(server);
    dns01(&config, "zone.test").await.unwrap();
}

#[tokio::test]
async fn dns01_record_split_in_strings_is_joined() {
    let value = expected_txt();
    let (a, b) = value.split_at(10);
    let split = RData::TXT(TXT::new(vec![a.to_string(), b.to_string()]));
    let server = dns_server(vec![("_acme-challenge.zone.test.", split)], false).await;
    let config = asking(server);
    dns01(&config, "zone.test").await.unwrap();
}

#[tokio::test]
async fn dns01_wrong_record_is_unauthorized_listing_what_was_found() {
    let server = dns_server(
        vec![("_acme-challenge.zone.test.", txt("stale-value"))],
        false,
    )
    .await;
    let config = asking(server);
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
    let config = asking(server);
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
