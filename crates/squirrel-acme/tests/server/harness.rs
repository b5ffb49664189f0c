//! An in-process ACME server on a real CA and a real SQLite ledger, and a
//! small client that signs requests with `test_util`, calling
//! `Acme::respond` directly (the TLS transport is tested by the real
//! clients in the `squirrel` crate's tests).

use bytes::Bytes;
use hyper::{Method, Response};
use serde_json::{json, Value};
use squirrel_acme::server::{Acme, AcmeOptions, AcmeRequest};
use squirrel_acme::store::sqlite::SqliteStore;
use squirrel_acme::test_util::{sign_jwk, sign_kid, sign_with_header, TestKey};
use squirrel_acme::Algorithm;
use squirrel_pki::ca::{init_ca, CaOptions};
use squirrel_pki::{CaFiles, CertificateAuthority, KeyProtection};
use std::sync::Arc;

pub const BASE: &str = "https://acme.test:8443";

pub struct Server {
    pub acme: Arc<Acme>,
    pub files: CaFiles,
    _dir: tempfile::TempDir,
}

impl Server {
    pub fn start(options: AcmeOptions) -> Server {
        Server::start_with_ca(options, CaOptions::default())
    }

    pub fn start_with_ca(options: AcmeOptions, ca_options: CaOptions) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let files = CaFiles::in_dir(dir.path());
        init_ca(&files, &ca_options, &KeyProtection::Unencrypted).unwrap();
        let ca = CertificateAuthority::open(&files, None).unwrap();
        let store = SqliteStore::open(&files.ledger).unwrap();
        let acme = Acme::new(Arc::new(store), ca, options);
        Server {
            acme,
            files,
            _dir: dir,
        }
    }

    /// A second server on the same CA and ledger, beside this one: another
    /// replica (or a second `pki ca serve` on the same CA folder).
    pub fn replica(&self, options: AcmeOptions) -> Arc<Acme> {
        let ca = CertificateAuthority::open(&self.files, None).unwrap();
        let store = SqliteStore::open(&self.files.ledger).unwrap();
        Acme::new(Arc::new(store), ca, options)
    }

    /// The server stopped and started again on the same CA and ledger, as
    /// after a SIGTERM and a new `pki ca serve`.
    pub fn restart(self, options: AcmeOptions) -> Server {
        let Server { acme, files, _dir } = self;
        drop(acme);
        let ca = CertificateAuthority::open(&files, None).unwrap();
        let store = SqliteStore::open(&files.ledger).unwrap();
        Server {
            acme: Acme::new(Arc::new(store), ca, options),
            files,
            _dir,
        }
    }

    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: Option<Bytes>,
    ) -> Reply {
        let response = self
            .acme
            .respond(AcmeRequest {
                method,
                path: path.to_string(),
                base: BASE.to_string(),
                content_type: content_type.map(String::from),
                body,
            })
            .await;
        Reply::from(response)
    }

    pub async fn nonce(&self) -> String {
        let reply = self.raw(Method::HEAD, "/acme/new-nonce", None, None).await;
        assert_eq!(reply.status, 200);
        reply.header("replay-nonce").expect("a nonce")
    }

    /// POSTs a signed body to `url` (a full URL under BASE).
    pub async fn post_body(&self, url: &str, body: String) -> Reply {
        let path = url.strip_prefix(BASE).expect("a URL of this server");
        self.raw(
            Method::POST,
            path,
            Some("application/jose+json"),
            Some(Bytes::from(body)),
        )
        .await
    }
}

/// A response, read.
pub struct Reply {
    pub status: u16,
    pub headers: hyper::HeaderMap,
    pub body: Bytes,
}

impl From<Response<Bytes>> for Reply {
    fn from(response: Response<Bytes>) -> Self {
        let (parts, body) = response.into_parts();
        Reply {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body,
        }
    }
}

impl Reply {
    /// A header's values, joined by ", " when it is repeated (`Link`).
    pub fn header(&self, name: &str) -> Option<String> {
        let values: Vec<&str> = self
            .headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        (!values.is_empty()).then(|| values.join(", "))
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    /// The problem type's last part (`badNonce`), asserting a problem document.
    pub fn problem(&self) -> String {
        assert_eq!(
            self.header("content-type").as_deref(),
            Some("application/problem+json"),
            "status {} body {}",
            self.status,
            String::from_utf8_lossy(&self.body)
        );
        let kind = self.json()["type"].as_str().unwrap().to_string();
        kind.strip_prefix("urn:ietf:params:acme:error:")
            .expect("an ACME error type")
            .to_string()
    }
}

/// An ACME account on a [`Server`].
pub struct Client<'a> {
    pub server: &'a Server,
    pub key: TestKey,
    pub kid: Option<String>,
}

impl<'a> Client<'a> {
    pub fn new(server: &'a Server) -> Client<'a> {
        Client {
            server,
            key: TestKey::generate(Algorithm::Es256),
            kid: None,
        }
    }

    pub fn url(name: &str) -> String {
        format!("{BASE}/acme/{name}")
    }

    /// newAccount with `payload`; remembers the account URL on success.
    pub async fn register(&mut self, payload: Value) -> Reply {
        let url = Client::url("new-account");
        let nonce = self.server.nonce().await;
        let body = sign_jwk(&self.key, &nonce, &url, payload.to_string().as_bytes());
        let reply = self.server.post_body(&url, body).await;
        if reply.status == 201 || reply.status == 200 {
            self.kid = reply.header("location");
        }
        reply
    }

    pub async fn account(mut self) -> Client<'a> {
        let reply = self.register(json!({"termsOfServiceAgreed": true})).await;
        assert_eq!(
            reply.status,
            201,
            "{}",
            String::from_utf8_lossy(&reply.body)
        );
        self
    }

    /// A POST as this account; `None` is POST-as-GET.
    pub async fn post(&self, url: &str, payload: Option<Value>) -> Reply {
        let nonce = self.server.nonce().await;
        let payload = payload.map(|p| p.to_string()).unwrap_or_default();
        let kid = self.kid.as_deref().expect("registered");
        let body = sign_kid(&self.key, kid, &nonce, url, payload.as_bytes());
        self.server.post_body(url, body).await
    }

    /// A POST with an arbitrary protected header.
    pub async fn post_with_header(&self, url: &str, header: Value, payload: &[u8]) -> Reply {
        let body = sign_with_header(&self.key, &header, payload);
        self.server.post_body(url, body).await
    }

    pub async fn new_order(&self, names: &[&str]) -> Reply {
        let identifiers: Vec<Value> = names
            .iter()
            .map(|n| {
                let kind = if n.parse::<std::net::IpAddr>().is_ok() {
                    "ip"
                } else {
                    "dns"
                };
                json!({"type": kind, "value": n})
            })
            .collect();
        self.post(
            &Client::url("new-order"),
            Some(json!({ "identifiers": identifiers })),
        )
        .await
    }
}

/// A CSR (DER) for `names` with a fresh P-256 key.
pub fn csr(names: &[&str]) -> Vec<u8> {
    let key = rcgen::KeyPair::generate().unwrap();
    csr_with(names, &key, |_| {})
}

/// A CSR for `names` signed by `key`, after `edit` changed its parameters.
pub fn csr_with(
    names: &[&str],
    key: &rcgen::KeyPair,
    edit: impl FnOnce(&mut rcgen::CertificateParams),
) -> Vec<u8> {
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let mut params = rcgen::CertificateParams::new(names).unwrap();
    params.distinguished_name = rcgen::DistinguishedName::new();
    edit(&mut params);
    params.serialize_request(key).unwrap().der().to_vec()
}

pub fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
