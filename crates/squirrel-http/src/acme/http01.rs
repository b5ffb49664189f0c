//! The http-01 answers (RFC 8555 §8.3): `GET
//! /.well-known/acme-challenge/TOKEN` gives the key authorization, on the
//! address of `--http01-listen`, for servers whose TLS port the CA cannot
//! reach. Everything else is 404.

use super::AcmeError;
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

const PREFIX: &str = "/.well-known/acme-challenge/";

/// The tokens being answered, by token.
#[derive(Clone, Default)]
pub struct Http01Answers {
    tokens: Arc<Mutex<HashMap<String, String>>>,
}

impl Http01Answers {
    /// Binds `addr` and answers from now on.
    pub async fn listen(addr: SocketAddr) -> Result<Http01Answers, AcmeError> {
        let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
            AcmeError::Local(format!(
                "--http01-listen {addr}: cannot listen there ({e}); choose a free address"
            ))
        })?;
        let answers = Http01Answers::default();
        let tokens = answers.tokens.clone();
        tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let tokens = tokens.clone();
                tokio::spawn(async move {
                    let service =
                        hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                            std::future::ready(Ok::<_, std::convert::Infallible>(answer(
                                &tokens, &req,
                            )))
                        });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tcp), service)
                        .await;
                });
            }
        });
        Ok(answers)
    }

    pub fn answer(&self, token: &str, key_authorization: &str) {
        if let Ok(mut map) = self.tokens.lock() {
            map.insert(token.to_string(), key_authorization.to_string());
        }
    }

    pub fn forget(&self, token: &str) {
        if let Ok(mut map) = self.tokens.lock() {
            map.remove(token);
        }
    }
}

fn answer<B>(tokens: &Mutex<HashMap<String, String>>, req: &Request<B>) -> Response<Full<Bytes>> {
    let found = req
        .uri()
        .path()
        .strip_prefix(PREFIX)
        .and_then(|token| tokens.lock().ok()?.get(token).cloned());
    let (status, body) = match found {
        Some(key_authorization) => (StatusCode::OK, key_authorization),
        None => (StatusCode::NOT_FOUND, String::new()),
    };
    tracing::debug!("http-01: {} {} -> {status}", req.method(), req.uri().path());
    let mut res = Response::new(Full::new(Bytes::from(body)));
    *res.status_mut() = status;
    res
}
