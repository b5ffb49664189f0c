//! A small DNS stub client: one question to one recursive server, over UDP,
//! again over TCP when the answer comes back truncated (RFC 1035 §4.2.1
//! and §4.2.2; RFC 7766 §5: a stub MUST retry over TCP after TC=1).
//!
//! Why not a full resolver library: the validator needs exactly three
//! questions (A, AAAA, TXT) put to a server the operator names
//! (`--dns-resolver`, as Pebble's `-dnsserver`), and needs to say in a
//! problem detail which server was asked and what it answered (NXDOMAIN,
//! SERVFAIL, a timeout...). A caching resolver would hide that, and would
//! serve a stale TXT record after the ACME client changed it. The wire
//! format itself comes from `hickory-proto`.

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::{timeout_at, Instant};

/// How long to wait for a UDP answer before sending the question again:
/// a lost datagram should not cost the whole validation timeout.
const UDP_RETRANSMIT: Duration = Duration::from_secs(2);

/// The largest UDP answer read; without EDNS a server sends at most 512
/// bytes (RFC 1035 §2.3.4) and sets TC for more, but some send more.
const UDP_BUFFER: usize = 4096;

/// Why a question got no usable answer. Each message names the server,
/// because it ends up in a problem detail.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DnsError {
    #[error("{name:?} is not a valid DNS name: {reason}")]
    BadName { name: String, reason: String },
    #[error("could not ask DNS server {server} over {transport}: {source}")]
    Io {
        server: SocketAddr,
        transport: &'static str,
        source: std::io::Error,
    },
    #[error("DNS server {server} did not answer in time")]
    Timeout { server: SocketAddr },
    #[error("DNS server {server} sent a malformed answer: {reason}")]
    Malformed { server: SocketAddr, reason: String },
    #[error("DNS server {server} answered {rcode} for {name} {rtype}")]
    Rcode {
        server: SocketAddr,
        name: String,
        rtype: RecordType,
        rcode: ResponseCode,
    },
}

impl DnsError {
    /// True when the server said the name does not exist: an answer, not
    /// a failure to get one (dns-01 reports it as "no TXT record").
    pub(crate) fn is_nxdomain(&self) -> bool {
        matches!(self, DnsError::Rcode { rcode, .. } if *rcode == ResponseCode::NXDomain)
    }

    /// Makes [`DnsError::Io`] of an I/O failure asking `server` over
    /// `transport` (`"UDP"` or `"TCP"`), for `map_err`.
    fn io(
        server: SocketAddr,
        transport: &'static str,
    ) -> impl Fn(std::io::Error) -> DnsError + Copy {
        move |source| DnsError::Io {
            server,
            transport,
            source,
        }
    }
}

/// Asks `server` for the `rtype` records of `name` (a fully qualified name
/// or one taken as such) and returns the answer's records of that type:
/// CNAMEs on the way are the recursive server's business, and their
/// targets' records are in the same answer.
pub(crate) async fn query(
    server: SocketAddr,
    name: &str,
    rtype: RecordType,
    deadline: Instant,
) -> Result<Vec<RData>, DnsError> {
    let mut answers = query_each(server, name, &[rtype], deadline).await?;
    answers.pop().unwrap_or(Err(DnsError::Timeout { server }))
}

/// Asks `server` for each of `rtypes` of `name` at once, on one UDP socket
/// (as the C library asks A and AAAA together), and returns each
/// question's outcome in the order of `rtypes`, as [`query`] would have:
/// one question failing (no answer in time, SERVFAIL) leaves the others'
/// answers alone. The outer error is the socket's: no question could be
/// asked.
pub(crate) async fn query_each(
    server: SocketAddr,
    name: &str,
    rtypes: &[RecordType],
    deadline: Instant,
) -> Result<Vec<Result<Vec<RData>, DnsError>>, DnsError> {
    let fqdn = if name.ends_with('.') {
        name.to_string()
    } else {
        format!("{name}.")
    };
    let bad_name = |reason: String| DnsError::BadName {
        name: name.to_string(),
        reason,
    };
    let qname = Name::from_ascii(&fqdn).map_err(|e| bad_name(e.to_string()))?;
    let mut questions: Vec<Question> = Vec::with_capacity(rtypes.len());
    for &rtype in rtypes {
        // Each question its own id, so that each answer finds its question.
        let id = loop {
            let id = random_id();
            if questions.iter().all(|q| q.id != id) {
                break id;
            }
        };
        let mut request = Message::new();
        request
            .set_id(id)
            .set_message_type(MessageType::Query)
            .set_op_code(OpCode::Query)
            .set_recursion_desired(true)
            .add_query(Query::query(qname.clone(), rtype));
        let bytes = request.to_vec().map_err(|e| bad_name(e.to_string()))?;
        questions.push(Question { id, rtype, bytes });
    }

    let answers = udp_exchange(server, &questions, deadline).await?;
    let mut outcomes = Vec::with_capacity(questions.len());
    for (question, answer) in questions.iter().zip(answers) {
        let answer = match answer {
            Ok(answer) if answer.truncated() => {
                tcp_exchange(server, &question.bytes, question.id, deadline).await
            }
            other => other,
        };
        outcomes.push(answer.and_then(|answer| records(server, &fqdn, question.rtype, answer)));
    }
    Ok(outcomes)
}

/// One question on the wire: its message id, what it asks, its bytes.
struct Question {
    id: u16,
    rtype: RecordType,
    bytes: Vec<u8>,
}

/// The records of type `rtype` in `answer`, or its response code as an
/// error.
fn records(
    server: SocketAddr,
    fqdn: &str,
    rtype: RecordType,
    answer: Message,
) -> Result<Vec<RData>, DnsError> {
    match answer.response_code() {
        ResponseCode::NoError => Ok(answer
            .answers()
            .iter()
            .filter(|record| record.record_type() == rtype)
            .map(|record| record.data().clone())
            .collect()),
        rcode => Err(DnsError::Rcode {
            server,
            name: fqdn.to_string(),
            rtype,
            rcode,
        }),
    }
}

/// A random message id (RFC 5452 §4.3: with a random source port, what
/// keeps an off-path attacker from forging the answer a CA acts on).
fn random_id() -> u16 {
    let mut bytes = [0u8; 2];
    // On the impossible failure of the system RNG, the port still varies.
    let _ = aws_lc_rs::rand::fill(&mut bytes);
    u16::from_be_bytes(bytes)
}

/// Sends every question over one UDP socket, resending the unanswered
/// ones every [`UDP_RETRANSMIT`], and returns for each the first datagram
/// that parses as the answer to its id (a timeout for those still
/// unanswered at `deadline`); anything else arriving on the socket is
/// ignored (RFC 5452 §9.1).
async fn udp_exchange(
    server: SocketAddr,
    questions: &[Question],
    deadline: Instant,
) -> Result<Vec<Result<Message, DnsError>>, DnsError> {
    let io = DnsError::io(server, "UDP");
    let local: SocketAddr = if server.is_ipv4() {
        SocketAddr::from(([0, 0, 0, 0], 0))
    } else {
        SocketAddr::from(([0u16; 8], 0))
    };
    let socket = UdpSocket::bind(local).await.map_err(io)?;
    socket.connect(server).await.map_err(io)?;
    let mut buffer = vec![0u8; UDP_BUFFER];
    let mut answers: Vec<Option<Message>> = questions.iter().map(|_| None).collect();
    'asking: while answers.iter().any(Option::is_none) {
        for (question, answer) in questions.iter().zip(&answers) {
            if answer.is_none() {
                socket.send(&question.bytes).await.map_err(io)?;
            }
        }
        let resend_at = (Instant::now() + UDP_RETRANSMIT).min(deadline);
        while answers.iter().any(Option::is_none) {
            match timeout_at(resend_at, socket.recv(&mut buffer)).await {
                Err(_) if resend_at >= deadline => break 'asking,
                Err(_) => continue 'asking,
                Ok(Err(e)) => return Err(io(e)),
                Ok(Ok(n)) => {
                    let Some(message) = parse_response(&buffer[..n]) else {
                        continue;
                    };
                    let unanswered = questions
                        .iter()
                        .zip(answers.iter_mut())
                        .find(|(question, answer)| answer.is_none() && question.id == message.id());
                    if let Some((_, answer)) = unanswered {
                        *answer = Some(message);
                    }
                }
            }
        }
    }
    Ok(answers
        .into_iter()
        .map(|answer| answer.ok_or(DnsError::Timeout { server }))
        .collect())
}

/// One question over TCP, with the two-byte length prefix of RFC 1035
/// §4.2.2.
async fn tcp_exchange(
    server: SocketAddr,
    request: &[u8],
    id: u16,
    deadline: Instant,
) -> Result<Message, DnsError> {
    let io = DnsError::io(server, "TCP");
    let exchange = async {
        let mut stream = TcpStream::connect(server).await.map_err(io)?;
        let length = u16::try_from(request.len()).map_err(|_| DnsError::Malformed {
            server,
            reason: "question too long for TCP".into(),
        })?;
        let mut framed = length.to_be_bytes().to_vec();
        framed.extend_from_slice(request);
        stream.write_all(&framed).await.map_err(io)?;
        let mut length = [0u8; 2];
        stream.read_exact(&mut length).await.map_err(io)?;
        let mut answer = vec![0u8; usize::from(u16::from_be_bytes(length))];
        stream.read_exact(&mut answer).await.map_err(io)?;
        parse_answer(&answer, id).ok_or_else(|| DnsError::Malformed {
            server,
            reason: "the TCP answer is not a response to the question".into(),
        })
    };
    timeout_at(deadline, exchange)
        .await
        .map_err(|_| DnsError::Timeout { server })?
}

/// The message in `bytes` if it is a response with our id.
fn parse_answer(bytes: &[u8], id: u16) -> Option<Message> {
    parse_response(bytes).filter(|message| message.id() == id)
}

/// The message in `bytes` if it is a response.
fn parse_response(bytes: &[u8]) -> Option<Message> {
    let message = Message::from_vec(bytes).ok()?;
    (message.message_type() == MessageType::Response).then_some(message)
}

/// The system's name servers, from `/etc/resolv.conf` (resolv.conf(5):
/// `nameserver ADDRESS` lines, port 53), or the local host as the C
/// library assumes when there is none. Scoped IPv6 addresses
/// (`fe80::1%eth0`) are skipped: `SocketAddr` cannot carry the scope name.
pub(crate) async fn system_nameservers() -> Vec<SocketAddr> {
    let text = tokio::fs::read_to_string("/etc/resolv.conf")
        .await
        .unwrap_or_default();
    let servers = parse_resolv_conf(&text);
    if servers.is_empty() {
        vec![SocketAddr::from(([127, 0, 0, 1], 53))]
    } else {
        servers
    }
}

fn parse_resolv_conf(text: &str) -> Vec<SocketAddr> {
    text.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            (words.next()? == "nameserver").then_some(())?;
            let ip: std::net::IpAddr = words.next()?.parse().ok()?;
            Some(SocketAddr::new(ip, 53))
        })
        .collect()
}

/// Asks each of `servers` in turn until one answers (an NXDOMAIN is an
/// answer; a timeout or an unreachable server is not), giving each an even
/// share of the time left, as a stub resolver walks resolv.conf's list.
pub(crate) async fn query_any(
    servers: &[SocketAddr],
    name: &str,
    rtype: RecordType,
    deadline: Instant,
) -> Result<Vec<RData>, DnsError> {
    let mut last = None;
    for (index, server) in servers.iter().enumerate() {
        let left = u32::try_from(servers.len() - index).unwrap_or(1);
        let share = super::remaining(deadline) / left;
        match query(*server, name, rtype, Instant::now() + share).await {
            Ok(records) => return Ok(records),
            Err(e @ DnsError::Rcode { .. }) | Err(e @ DnsError::BadName { .. }) => return Err(e),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or(DnsError::Timeout {
        server: SocketAddr::from(([127, 0, 0, 1], 53)),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolv_conf_nameservers() {
        let text = "# comment\nsearch example.org\nnameserver 10.0.0.2\nnameserver ::1\n\
                    nameserver fe80::1%eth0\noptions ndots:2\nnameserver\n";
        assert_eq!(
            parse_resolv_conf(text),
            vec![
                "10.0.0.2:53".parse::<SocketAddr>().unwrap(),
                "[::1]:53".parse().unwrap()
            ]
        );
    }

    #[test]
    fn garbage_is_not_an_answer() {
        assert!(parse_answer(b"\x00\x01garbage", 1).is_none());
        let mut message = Message::new();
        message.set_id(7).set_message_type(MessageType::Query);
        let bytes = message.to_vec().unwrap();
        assert!(parse_answer(&bytes, 7).is_none(), "a query is no answer");
        message.set_message_type(MessageType::Response);
        let bytes = message.to_vec().unwrap();
        assert!(parse_answer(&bytes, 8).is_none(), "another id");
        assert!(parse_answer(&bytes, 7).is_some());
    }
}
