//! Where a name points, and a connection to it.
//!
//! Names resolve the way the operator configured (see
//! [`ValidationConfig`]): fixed addresses first (`--resolve NAME=IP`, as
//! curl's, so that a test or a private network need no DNS at all), else
//! the DNS server given with `--dns-resolver` (A and AAAA, asked directly,
//! as Pebble's `-dnsserver`), else the system's resolver. Which one was
//! used goes into every problem detail: "could not resolve" is useless
//! without "asking whom".

use super::dns::{self, DnsError};
use super::ValidationConfig;
use crate::problem::{ErrorType, Problem};
use hickory_proto::rr::{RData, RecordType};
use std::net::{IpAddr, SocketAddr};
use tokio::net::TcpStream;
use tokio::time::{timeout_at, Instant};

/// The addresses of `name` (lower case, no trailing dot; an IP literal is
/// its own address), IPv4 first and without duplicates. Every address is
/// tried in turn by [`connect`], so the order only decides which is
/// tried first.
pub(crate) async fn resolve(
    config: &ValidationConfig,
    name: &str,
    deadline: Instant,
) -> Result<Vec<IpAddr>, Problem> {
    if let Ok(ip) = name.parse::<IpAddr>() {
        return Ok(vec![ip]);
    }
    if let Some(ips) = config.resolve.get(name) {
        if ips.is_empty() {
            return Err(dns_problem(format!(
                "the --resolve entry for {name} lists no address"
            )));
        }
        return Ok(ips.clone());
    }
    let mut ips = match config.dns_resolver {
        Some(server) => ask_server(server, name, deadline).await?,
        None => ask_system(name, deadline).await?,
    };
    ips.sort_by_key(|ip| ip.is_ipv6());
    ips.dedup();
    Ok(ips)
}

/// A and AAAA from `server`, both asked at once on one socket. One family
/// failing is fine when the other answers (a SERVFAIL on AAAA is common);
/// an empty answer in both is a `dns` problem.
async fn ask_server(
    server: SocketAddr,
    name: &str,
    deadline: Instant,
) -> Result<Vec<IpAddr>, Problem> {
    let answers =
        match dns::query_each(server, name, &[RecordType::A, RecordType::AAAA], deadline).await {
            Ok(answers) => answers,
            Err(e) => vec![Err(e)],
        };
    let mut ips = Vec::new();
    let mut errors: Vec<DnsError> = Vec::new();
    for answer in answers {
        match answer {
            Ok(records) => ips.extend(records.into_iter().filter_map(|rdata| match rdata {
                RData::A(a) => Some(IpAddr::V4(a.0)),
                RData::AAAA(aaaa) => Some(IpAddr::V6(aaaa.0)),
                _ => None,
            })),
            Err(e) => errors.push(e),
        }
    }
    if !ips.is_empty() {
        return Ok(ips);
    }
    let why = if errors.is_empty() {
        "no A or AAAA record".to_string()
    } else {
        errors
            .iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join("; ")
    };
    Err(dns_problem(format!(
        "DNS lookup of {name} at DNS server {server} failed: {why}"
    )))
}

/// The system's resolver (getaddrinfo through tokio), which also reads
/// `/etc/hosts`: what `curl NAME` would use on the CA's machine.
async fn ask_system(name: &str, deadline: Instant) -> Result<Vec<IpAddr>, Problem> {
    match timeout_at(deadline, tokio::net::lookup_host((name, 0))).await {
        Err(_) => Err(dns_problem(format!(
            "DNS lookup of {name} with the system resolver timed out"
        ))),
        Ok(Err(e)) => Err(dns_problem(format!(
            "DNS lookup of {name} with the system resolver failed: {e}"
        ))),
        Ok(Ok(addrs)) => {
            let ips: Vec<IpAddr> = addrs.map(|addr| addr.ip()).collect();
            if ips.is_empty() {
                Err(dns_problem(format!(
                    "the system resolver has no address for {name}"
                )))
            } else {
                Ok(ips)
            }
        }
    }
}

fn dns_problem(detail: String) -> Problem {
    Problem::new(ErrorType::Dns, detail)
}

/// A TCP connection to the first of `ips` that accepts on `port`. Each
/// attempt gets an even share of the time left, so that one address
/// that drops packets does not keep the others from being tried. The
/// `connection` problem lists every address tried and why it failed.
/// Addresses that no site is served from ([`never_validated`]) are not
/// tried.
pub(crate) async fn connect(
    ips: &[IpAddr],
    port: u16,
    deadline: Instant,
    what: &str,
) -> Result<(TcpStream, SocketAddr), Problem> {
    let mut failures = Vec::new();
    for (index, ip) in ips.iter().enumerate() {
        let addr = SocketAddr::new(*ip, port);
        if let Some(why) = never_validated(ip) {
            failures.push(format!("{addr}: not tried, {why}"));
            continue;
        }
        let left = u32::try_from(ips.len() - index).unwrap_or(1);
        let attempt_deadline = Instant::now() + super::remaining(deadline) / left;
        match timeout_at(attempt_deadline, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => return Ok((stream, addr)),
            Ok(Err(e)) => failures.push(format!("{addr}: {e}")),
            Err(_) => failures.push(format!("{addr}: timed out")),
        }
    }
    if failures.is_empty() {
        failures.push("no address to try".into());
    }
    Err(Problem::new(
        ErrorType::Connection,
        format!("could not connect for {what}: {}", failures.join("; ")),
    ))
}

/// The cloud metadata services that are not on a link-local address:
/// AWS's over IPv6 and Alibaba Cloud's (169.254.169.254, the others', is
/// link-local).
const METADATA_SERVICES: [IpAddr; 2] = [
    IpAddr::V6(std::net::Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254)),
    IpAddr::V4(std::net::Ipv4Addr::new(100, 100, 100, 200)),
];

/// Why the validator never connects to `ip`, if it does not: addresses
/// that no site is served from, where a client could only be trying to
/// make the CA reach something else (RFC 8555 §10.4, server-side request
/// forgery): link-local addresses, where cloud metadata services answer,
/// and those services' other addresses. Private networks stay allowed (a
/// private CA validates on its LAN), and loopback too: the CA's own
/// machine is a site.
pub(crate) fn never_validated(ip: &IpAddr) -> Option<&'static str> {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(*ip, IpAddr::V4),
        IpAddr::V4(_) => *ip,
    };
    match ip {
        _ if METADATA_SERVICES.contains(&ip) => Some("a cloud metadata service's address"),
        IpAddr::V4(v4) if v4.is_link_local() => {
            Some("a link-local address (cloud metadata services answer there)")
        }
        IpAddr::V6(v6) if v6.segments()[0] & 0xffc0 == 0xfe80 => {
            Some("a link-local address (cloud metadata services answer there)")
        }
        _ if ip.is_unspecified() => Some("the unspecified address"),
        _ if ip.is_multicast() => Some("a multicast address"),
        IpAddr::V4(v4) if v4.is_broadcast() => Some("the broadcast address"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::never_validated;
    use std::net::IpAddr;

    #[test]
    fn link_local_unspecified_multicast_and_broadcast_are_never_validated() {
        let refused = |ip: &str| never_validated(&ip.parse::<IpAddr>().unwrap()).is_some();
        for ip in [
            "169.254.169.254",
            "169.254.0.1",
            "fe80::1",
            "febf::1",
            "::ffff:169.254.169.254",
            "0.0.0.0",
            "::",
            "224.0.0.1",
            "ff02::1",
            "255.255.255.255",
            "fd00:ec2::254",
            "100.100.100.200",
        ] {
            assert!(refused(ip), "{ip} must be refused");
        }
        for ip in [
            "127.0.0.1",
            "::1",
            "10.1.2.3",
            "192.168.1.10",
            "172.16.0.1",
            "fd00:ec2::253",
            "100.64.0.1",
            "203.0.113.7",
            "2001:db8::1",
            "169.253.255.255",
            "fec0::1",
        ] {
            assert!(!refused(ip), "{ip} must be allowed");
        }
    }
}
