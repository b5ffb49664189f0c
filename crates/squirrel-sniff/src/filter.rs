//! The two kinds of filter of tutorial step 3. The capture filter
//! (`--port 5683`, `--host 127.0.0.1`) decides which packets are captured,
//! counted and written at all, like Wireshark's `port 5683`. The display
//! filter (`--display http`) only hides packets from the display, like
//! Wireshark's `http`: they are still counted, numbered and written.

use crate::dissect::{Dissection, Transport};
use crate::reassembly::AppPdu;
use std::net::IpAddr;
use std::str::FromStr;

/// `--port` and `--host`: both must match when both are given.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CaptureFilter {
    pub port: Option<u16>,
    pub host: Option<IpAddr>,
}

impl CaptureFilter {
    pub fn is_empty(&self) -> bool {
        self.port.is_none() && self.host.is_none()
    }

    pub fn matches(&self, d: &Dissection<'_>) -> bool {
        if let Some(port) = self.port {
            match d.ports() {
                Some((s, t)) if s == port || t == port => {}
                _ => return false,
            }
        }
        if let Some(host) = self.host {
            match d.ip() {
                Some(ip) if same(ip.src, host) || same(ip.dst, host) => {}
                _ => return false,
            }
        }
        true
    }
}

/// IPv4 addresses match their IPv4-mapped IPv6 form too.
fn same(a: IpAddr, b: IpAddr) -> bool {
    a == b || a.to_canonical() == b.to_canonical()
}

/// The protocols `--display` can keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    Http,
    Tls,
    Tcp,
    Udp,
}

impl FromStr for Proto {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "http" => Ok(Proto::Http),
            "tls" | "ssl" => Ok(Proto::Tls),
            "tcp" => Ok(Proto::Tcp),
            "udp" => Ok(Proto::Udp),
            other => Err(format!(
                "unknown protocol {other:?} in --display: use http, tls, tcp or udp, \
                 separated by commas (the tutorial's display filter is `--display http`)"
            )),
        }
    }
}

impl Proto {
    pub fn name(&self) -> &'static str {
        match self {
            Proto::Http => "http",
            Proto::Tls => "tls",
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        }
    }
}

/// `--display http,tls`: keeps packets with any of these protocols.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DisplayFilter(pub Vec<Proto>);

impl DisplayFilter {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn matches(&self, d: &Dissection<'_>, pdus: &[AppPdu]) -> bool {
        self.0.is_empty()
            || self.0.iter().any(|p| match p {
                Proto::Http => pdus.iter().any(|x| matches!(x, AppPdu::Http(_))),
                Proto::Tls => pdus.iter().any(|x| matches!(x, AppPdu::Tls(_))),
                Proto::Tcp => matches!(d.transport, Transport::Tcp(_)),
                Proto::Udp => matches!(d.transport, Transport::Udp(_)),
            })
    }

    pub fn describe(&self) -> String {
        self.0.iter().map(Proto::name).collect::<Vec<_>>().join(",")
    }
}

impl FromStr for DisplayFilter {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let mut list = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let p: Proto = part.parse()?;
            if !list.contains(&p) {
                list.push(p);
            }
        }
        if list.is_empty() {
            return Err("--display needs at least one of http, tls, tcp, udp".into());
        }
        Ok(DisplayFilter(list))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_filter_parses_lists() {
        let f: DisplayFilter = "http, TLS,http".parse().unwrap();
        assert_eq!(f.0, [Proto::Http, Proto::Tls]);
        assert!("quic"
            .parse::<DisplayFilter>()
            .unwrap_err()
            .contains("\"quic\""));
        assert!(",".parse::<DisplayFilter>().is_err());
    }

    #[test]
    fn mapped_addresses_match() {
        let v4: IpAddr = "127.0.0.1".parse().unwrap();
        let mapped: IpAddr = "::ffff:127.0.0.1".parse().unwrap();
        assert!(same(v4, mapped));
        assert!(!same(v4, "::1".parse().unwrap()));
    }
}
