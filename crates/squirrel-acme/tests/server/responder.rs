//! An http-01 responder, as certbot --standalone runs one: it answers
//! `/.well-known/acme-challenge/TOKEN` with the key authorization it was
//! given, and 404 for anything else.

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
pub struct Responder {
    answers: Arc<Mutex<HashMap<String, String>>>,
    pub port: u16,
}

impl Responder {
    pub async fn start() -> Responder {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut responder = Responder {
            port: listener.local_addr().unwrap().port(),
            ..Responder::default()
        };
        let answers = responder.answers.clone();
        tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let answers = answers.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                        let answer = req
                            .uri()
                            .path()
                            .strip_prefix("/.well-known/acme-challenge/")
                            .and_then(|token| answers.lock().unwrap().get(token).cloned());
                        async move {
                            let mut response = Response::new(Full::new(Bytes::from(
                                answer.clone().unwrap_or_default(),
                            )));
                            if answer.is_none() {
                                *response.status_mut() = hyper::StatusCode::NOT_FOUND;
                            }
                            Ok::<_, Infallible>(response)
                        }
                    });
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(tcp), service)
                        .await;
                });
            }
        });
        responder.port = responder.port.max(1);
        responder
    }

    pub fn answer(&self, token: &str, key_authorization: &str) {
        self.answers
            .lock()
            .unwrap()
            .insert(token.to_string(), key_authorization.to_string());
    }
}
