//! Names in certificates: the subject (who, in tutorial step 10's C, ST, L,
//! O, CN) and the subject alternative names that clients really check
//! (step 11's `alt_names=["localhost"]`).

use crate::error::{PkiError, Result};
use rcgen::{DistinguishedName, DnType, DnValue, SanType};
use std::fmt;
use std::net::IpAddr;

/// Subject fields, as openssl's `-subj` and the tutorial's keyword arguments.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Subject {
    pub common_name: Option<String>,
    pub country: Option<String>,
    pub state: Option<String>,
    pub locality: Option<String>,
    pub organization: Option<String>,
}

impl Subject {
    /// A subject with only a common name.
    pub fn common_name(cn: impl Into<String>) -> Self {
        Subject {
            common_name: Some(cn.into()),
            ..Subject::default()
        }
    }

    /// The distinguished name, in the usual C, ST, L, O, CN order; the
    /// country as a PrintableString as RFC 5280 requires.
    pub fn to_distinguished_name(&self) -> Result<DistinguishedName> {
        let mut dn = DistinguishedName::new();
        if let Some(c) = &self.country {
            if c.len() != 2 || !c.chars().all(|ch| ch.is_ascii_alphabetic()) {
                return Err(PkiError::invalid(
                    format!("--country {c:?} is not a two-letter country code"),
                    "use an ISO 3166 code such as US, FR or DE",
                ));
            }
            let printable = c.to_ascii_uppercase().try_into().map_err(|_| {
                PkiError::invalid(format!("--country {c:?} is not printable"), "use letters")
            })?;
            dn.push(DnType::CountryName, DnValue::PrintableString(printable));
        }
        let fields = [
            (DnType::StateOrProvinceName, &self.state, "--state"),
            (DnType::LocalityName, &self.locality, "--locality"),
            (DnType::OrganizationName, &self.organization, "--org"),
            (DnType::CommonName, &self.common_name, "--cn"),
        ];
        for (ty, value, flag) in fields {
            if let Some(v) = value {
                if v.is_empty() || v.chars().count() > 64 {
                    return Err(PkiError::invalid(
                        format!(
                            "{flag} must be 1 to 64 characters, got {}",
                            v.chars().count()
                        ),
                        format!("shorten or fill in {flag}"),
                    ));
                }
                dn.push(ty, DnValue::Utf8String(v.clone()));
            }
        }
        Ok(dn)
    }

    /// True when no field is set.
    pub fn is_empty(&self) -> bool {
        *self == Subject::default()
    }
}

/// One subject alternative name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(tag = "type", content = "value", rename_all = "lowercase")]
pub enum AltName {
    Dns(String),
    Ip(IpAddr),
    Email(String),
}

impl fmt::Display for AltName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AltName::Dns(d) => f.write_str(d),
            AltName::Ip(ip) => write!(f, "{ip}"),
            AltName::Email(e) => f.write_str(e),
        }
    }
}

impl AltName {
    /// Parses a name as given on the command line: an IP address becomes an
    /// iPAddress, `user@host` an rfc822Name, anything else a dNSName (which
    /// must be a valid host name, optionally with a leading `*.`).
    pub fn parse(text: &str) -> Result<Self> {
        let text = text.trim();
        if let Ok(ip) = text.trim_start_matches('[').trim_end_matches(']').parse() {
            return Ok(AltName::Ip(ip));
        }
        if let Some((local, domain)) = text.split_once('@') {
            if !local.is_empty() && is_dns_name(domain) && text.is_ascii() {
                return Ok(AltName::Email(text.to_string()));
            }
        } else if is_dns_name(text.strip_prefix("*.").unwrap_or(text)) {
            return Ok(AltName::Dns(text.to_ascii_lowercase()));
        }
        Err(PkiError::invalid(
            format!("{text:?} is not a DNS name, an IP address or an email address"),
            "give names like localhost, my-site.com, *.my-site.com, 127.0.0.1, ::1 or leader@my-site.com",
        ))
    }

    /// The rcgen form of this name.
    pub fn to_san(&self) -> Result<SanType> {
        Ok(match self {
            AltName::Dns(d) => SanType::DnsName(d.clone().try_into()?),
            AltName::Ip(ip) => SanType::IpAddress(*ip),
            AltName::Email(e) => SanType::Rfc822Name(e.clone().try_into()?),
        })
    }
}

/// A host name: labels of letters, digits and hyphens, 1 to 63 characters,
/// not starting or ending with a hyphen.
pub fn is_dns_name(name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name);
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
}

/// An IP network for name constraints, written `ADDR/PREFIX`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpNetwork {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl std::str::FromStr for IpNetwork {
    type Err = PkiError;

    fn from_str(s: &str) -> Result<Self> {
        let bad = || {
            PkiError::invalid(
                format!("{s:?} is not an IP network in CIDR form"),
                "write it like 127.0.0.0/8 or 10.1.0.0/16 or ::1/128",
            )
        };
        let (addr, prefix) = s.split_once('/').ok_or_else(bad)?;
        let addr: IpAddr = addr.parse().map_err(|_| bad())?;
        let prefix: u8 = prefix.parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        if prefix > max {
            return Err(bad());
        }
        Ok(IpNetwork { addr, prefix })
    }
}

impl IpNetwork {
    /// True when `ip` is inside this network.
    pub fn contains(&self, ip: &IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                prefix_eq(&net.octets(), &ip.octets(), self.prefix)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                prefix_eq(&net.octets(), &ip.octets(), self.prefix)
            }
            _ => false,
        }
    }
}

fn prefix_eq(a: &[u8], b: &[u8], prefix: u8) -> bool {
    let full = (prefix / 8) as usize;
    if a[..full] != b[..full] {
        return false;
    }
    let rest = prefix % 8;
    rest == 0 || {
        let mask = 0xffu8 << (8 - rest);
        a[full] & mask == b[full] & mask
    }
}

/// True when DNS name `name` is within the permitted `suffix` (RFC 5280:
/// the name itself, or any name that ends with `.suffix`).
pub fn dns_within(name: &str, suffix: &str) -> bool {
    let name = name.trim_start_matches("*.").to_ascii_lowercase();
    let suffix = suffix.trim_start_matches('.').to_ascii_lowercase();
    suffix.is_empty() || name == suffix || name.ends_with(&format!(".{suffix}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alt_names_are_classified() {
        assert_eq!(
            AltName::parse("localhost").unwrap(),
            AltName::Dns("localhost".into())
        );
        assert_eq!(
            AltName::parse("127.0.0.1").unwrap(),
            AltName::Ip("127.0.0.1".parse().unwrap())
        );
        assert_eq!(
            AltName::parse("[::1]").unwrap(),
            AltName::Ip("::1".parse().unwrap())
        );
        assert_eq!(
            AltName::parse("leader@my-site.com").unwrap(),
            AltName::Email("leader@my-site.com".into())
        );
        assert_eq!(
            AltName::parse("*.My-Site.com").unwrap(),
            AltName::Dns("*.my-site.com".into())
        );
        assert!(AltName::parse("bad name").is_err());
        assert!(AltName::parse("-bad.com").is_err());
    }

    #[test]
    fn networks_and_suffixes() {
        let net: IpNetwork = "127.0.0.0/8".parse().unwrap();
        assert!(net.contains(&"127.1.2.3".parse().unwrap()));
        assert!(!net.contains(&"128.0.0.1".parse().unwrap()));
        let net: IpNetwork = "10.1.0.0/15".parse().unwrap();
        assert!(net.contains(&"10.0.255.1".parse().unwrap()));
        assert!(!net.contains(&"10.2.0.1".parse().unwrap()));
        assert!("10.0.0.0/33".parse::<IpNetwork>().is_err());
        assert!(dns_within("www.example.com", "example.com"));
        assert!(dns_within("example.com", ".example.com"));
        assert!(!dns_within("badexample.com", "example.com"));
    }
}
