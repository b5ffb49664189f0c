//! The one URL type of squirrel's client side: what `squirrel get` fetches
//! and what `squirrel pki inspect https://...` looks at.

use crate::diagnose::{Failure, FailureKind};

/// A parsed `http://` or `https://` URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub https: bool,
    pub host: String,
    pub port: u16,
    pub path: String,
}

impl Target {
    /// Parses a URL; `127.0.0.1:5683` without a scheme means http://, as the
    /// tutorial's `SECRET_URL` does.
    pub fn parse(url: &str) -> Result<Target, Failure> {
        let bad = |why: &str| {
            Failure::new(
                FailureKind::Input,
                format!(
                    "{url:?} is not a usable URL ({why}); write it like https://localhost:5683/"
                ),
            )
        };
        let (https, rest) = if let Some(rest) = url.strip_prefix("https://") {
            (true, rest)
        } else if let Some(rest) = url.strip_prefix("http://") {
            (false, rest)
        } else if let Some((scheme, _)) = url.split_once("://") {
            return Err(Failure::new(
                FailureKind::Input,
                format!("unsupported scheme {scheme}:// in {url:?}: squirrel speaks http:// and https://"),
            ));
        } else {
            (false, url)
        };
        let (authority, path) = match rest.find(['/', '?']) {
            Some(i) if rest[i..].starts_with('/') => (&rest[..i], rest[i..].to_string()),
            Some(i) => (&rest[..i], format!("/{}", &rest[i..])),
            None => (rest, "/".to_string()),
        };
        let path = path.split('#').next().unwrap_or("/").to_string();
        if authority.contains('@') {
            return Err(bad("user names in URLs are not supported"));
        }
        let default_port = if https { 443 } else { 80 };
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (host, after) = v6
                .split_once(']')
                .ok_or_else(|| bad("an IPv6 address lacks its ]"))?;
            let port = match after.strip_prefix(':') {
                Some(p) => p.parse().map_err(|_| bad("the port is not a number"))?,
                None if after.is_empty() => default_port,
                None => return Err(bad("unexpected text after the IPv6 address")),
            };
            (host.to_string(), port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (
                    h.to_string(),
                    p.parse()
                        .map_err(|_| bad("the port is not a number from 1 to 65535"))?,
                ),
                None => (authority.to_string(), default_port),
            }
        };
        if host.is_empty() || host.contains(char::is_whitespace) {
            return Err(bad("no host"));
        }
        Ok(Target {
            https,
            host,
            port,
            path,
        })
    }

    /// The `Host` header: the port only when it is not the scheme's default.
    pub fn host_header(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        match (self.https, self.port) {
            (true, 443) | (false, 80) => host,
            _ => format!("{host}:{}", self.port),
        }
    }

    /// `host:port`, as messages name the server.
    pub fn authority(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_like_the_tutorials() {
        let t = Target::parse("127.0.0.1:5683").unwrap();
        assert_eq!(
            (t.https, t.host.as_str(), t.port, t.path.as_str()),
            (false, "127.0.0.1", 5683, "/")
        );
        let t = Target::parse("https://localhost:5683").unwrap();
        assert_eq!((t.https, t.port), (true, 5683));
        let t = Target::parse("https://[::1]:8443/x?y").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.path.as_str()),
            ("::1", 8443, "/x?y")
        );
        assert_eq!(Target::parse("https://example.com").unwrap().port, 443);
        let err = Target::parse("ftp://example.com").unwrap_err();
        assert!(
            err.message.contains("unsupported scheme ftp://"),
            "{}",
            err.message
        );
        assert!(Target::parse("http://host:notaport/").is_err());
        assert!(Target::parse("http:///").is_err());
    }

    #[test]
    fn host_headers_name_the_port_only_when_needed() {
        let host = |url: &str| Target::parse(url).unwrap().host_header();
        assert_eq!(host("https://localhost/"), "localhost");
        assert_eq!(host("http://localhost:80/"), "localhost");
        assert_eq!(host("https://localhost:5683/"), "localhost:5683");
        assert_eq!(host("https://[::1]:8443/"), "[::1]:8443");
    }
}
