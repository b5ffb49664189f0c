//! What a server tells about itself: its URL and its start-up line, read
//! from the configuration it serves now (which reloads and ACME renewals
//! replace).

use crate::site::Site;
use arc_swap::ArcSwap;
use std::net::SocketAddr;
use std::sync::Arc;

/// A view of a server's configuration, cheap to clone.
#[derive(Clone)]
pub struct Status {
    pub(crate) state: Arc<ArcSwap<Site>>,
    pub(crate) local_addr: SocketAddr,
}

impl Status {
    /// The URL members use.
    pub fn url(&self) -> String {
        let site = self.state.load();
        let ip = self.local_addr.ip();
        let host = match (&site.cert, ip.is_loopback() || ip.is_unspecified()) {
            (Some(cert), true) if cert.first_dns_name.is_some() => {
                cert.first_dns_name.clone().unwrap_or_default()
            }
            _ if ip.is_ipv6() => format!("[{ip}]"),
            _ => ip.to_string(),
        };
        let scheme = if site.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{host}:{}", self.local_addr.port())
    }

    /// The start-up line: what is served where.
    pub fn banner(&self) -> String {
        let site = self.state.load();
        let mut line = format!("Serving the secret on {}", self.url());
        match &site.cert {
            Some(cert) => {
                line.push_str(&format!(
                    " (TLS 1.3/1.2; certificate {}, valid until {}",
                    cert.holder, cert.not_after
                ));
                if site.members_only {
                    line.push_str("; members only: a client certificate is required");
                }
                line.push(')');
            }
            None if site.tls.is_some() => {
                line.push_str(" (TLS 1.3/1.2; its certificate is on its way from the ACME CA)")
            }
            None => line.push_str(" (plain HTTP)"),
        }
        if site.fernet.is_some() {
            line.push_str(", each body a fresh Fernet token");
        }
        line
    }

    /// True when the secret travels in clear.
    pub fn is_plain_http(&self) -> bool {
        self.state.load().tls.is_none()
    }
}
