//! A server certificate that changes while the server runs, for
//! `serve --acme`: renewed certificates are swapped in place (the next
//! handshake gets the new one, connections already open keep theirs), and
//! the tls-alpn-01 answers of RFC 8737 are given on the same listener.
//!
//! rustls' `with_single_cert()` would refuse a tls-alpn-01 certificate (its
//! acmeIdentifier extension is critical and unknown to webpki), and fixes
//! the certificate for the life of the configuration: a resolver that reads
//! an `ArcSwap` does neither.

use arc_swap::ArcSwapOption;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// The ALPN protocol of tls-alpn-01 validations (RFC 8737 §6.2).
pub const ACME_TLS_ALPN: &[u8] = b"acme-tls/1";

/// The certificate served now, and the tls-alpn-01 answers being given.
#[derive(Debug, Default)]
pub struct LiveCert {
    current: ArcSwapOption<CertifiedKey>,
    /// By the server name the validator sends: the DNS name, or the
    /// reverse-mapping name of an IP address (RFC 8738 §6).
    challenges: Mutex<HashMap<String, Arc<CertifiedKey>>>,
}

impl LiveCert {
    pub fn new() -> Arc<LiveCert> {
        Arc::new(LiveCert::default())
    }

    /// The certificate served now, if there is one yet.
    pub fn current(&self) -> Option<Arc<CertifiedKey>> {
        self.current.load_full()
    }

    /// Serves `key` from the next handshake on.
    pub fn replace(&self, key: Arc<CertifiedKey>) {
        self.current.store(Some(key));
    }

    /// Answers tls-alpn-01 validations of `identifier` (a DNS name or an IP
    /// address) with `key` until [`LiveCert::forget`].
    pub fn answer(&self, identifier: &str, key: Arc<CertifiedKey>) {
        if let Ok(mut map) = self.challenges.lock() {
            map.insert(sni_of(identifier), key);
        }
    }

    /// Stops answering validations of `identifier`.
    pub fn forget(&self, identifier: &str) {
        if let Ok(mut map) = self.challenges.lock() {
            map.remove(&sni_of(identifier));
        }
    }

    /// The resolver a rustls server configuration serves this with.
    pub fn resolver(self: &Arc<Self>) -> Arc<dyn ResolvesServerCert> {
        Arc::new(LiveResolver(self.clone()))
    }
}

#[derive(Debug)]
struct LiveResolver(Arc<LiveCert>);

impl ResolvesServerCert for LiveResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let validating = hello
            .alpn()
            .is_some_and(|mut protocols| protocols.any(|p| p == ACME_TLS_ALPN));
        if !validating {
            return self.0.current();
        }
        let name = hello.server_name()?.to_ascii_lowercase();
        self.0.challenges.lock().ok()?.get(&name).cloned()
    }
}

/// The server name a validator sends for an identifier: the name itself,
/// or for an IP address its reverse-mapping name (RFC 8738 §6).
fn sni_of(identifier: &str) -> String {
    match identifier.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => {
            let [a, b, c, d] = v4.octets();
            format!("{d}.{c}.{b}.{a}.in-addr.arpa")
        }
        Ok(IpAddr::V6(v6)) => {
            let mut name = String::new();
            for byte in v6.octets().iter().rev() {
                name.push_str(&format!("{:x}.{:x}.", byte & 0xf, byte >> 4));
            }
            name + "ip6.arpa"
        }
        Err(_) => identifier.trim_end_matches('.').to_ascii_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::sni_of;

    #[test]
    fn validators_name_ip_addresses_by_their_reverse_names() {
        assert_eq!(sni_of("127.0.0.1"), "1.0.0.127.in-addr.arpa");
        assert_eq!(
            sni_of("2001:db8::1"),
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"
        );
        assert_eq!(sni_of("My-Site.Test."), "my-site.test");
    }
}
