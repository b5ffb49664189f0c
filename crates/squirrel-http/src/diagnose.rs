//! Tutorial step 17, "identify common HTTPS warnings and errors": every
//! failure of `squirrel get` in plain words, with the phrase that OpenSSL,
//! curl and Python requests print for the same problem, and the fix.

use crate::target::Target;
use crate::verifiers::system_roots;
use squirrel_pki::verify::{self, Verification};

/// Which layer failed; the exit code says it too.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureKind {
    /// Bad input: URL, files, flags (exit 1).
    Input,
    /// Name resolution, connection, timeouts (exit 3).
    Network,
    /// TLS: certificate verification, handshake, alerts (exit 4).
    Tls,
    /// HTTP: an error status, a malformed or oversized response (exit 5).
    Http,
    /// The body could not be decrypted: Fernet's InvalidToken (exit 6).
    Decrypt,
}

impl FailureKind {
    /// The process exit code for this kind of failure.
    pub fn exit_code(self) -> u8 {
        match self {
            FailureKind::Input => 1,
            FailureKind::Network => 3,
            FailureKind::Tls => 4,
            FailureKind::Http => 5,
            FailureKind::Decrypt => 6,
        }
    }
}

/// A failure, explained.
#[derive(Debug)]
pub struct Failure {
    pub kind: FailureKind,
    /// Plain words and the fix.
    pub message: String,
    /// What OpenSSL / curl / requests print for the same problem.
    pub phrase: Option<String>,
    /// An I/O error not yet explained (a TLS error surfacing on read).
    io: Option<std::io::Error>,
}

impl Failure {
    pub fn new(kind: FailureKind, message: impl Into<String>) -> Self {
        Failure {
            kind,
            message: message.into(),
            phrase: None,
            io: None,
        }
    }

    fn with_phrase(mut self, phrase: impl Into<String>) -> Self {
        self.phrase = Some(phrase.into());
        self
    }

    pub(crate) fn io(err: std::io::Error) -> Self {
        Failure {
            kind: FailureKind::Network,
            message: err.to_string(),
            phrase: None,
            io: Some(err),
        }
    }

    /// Explains a raw I/O error with `explain` (used for TLS streams).
    pub(crate) fn or_tls(self, explain: impl FnOnce(&std::io::Error) -> Failure) -> Failure {
        match &self.io {
            Some(e) => explain(e),
            None => self,
        }
    }
}

impl std::error::Error for Failure {}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)?;
        if let Some(phrase) = &self.phrase {
            write!(f, "\n  OpenSSL, curl and requests say: \"{phrase}\"")?;
        }
        Ok(())
    }
}

pub(crate) fn resolve_failure(err: &std::io::Error, target: &Target) -> Failure {
    Failure::new(
        FailureKind::Network,
        format!(
            "cannot resolve the host {:?} ({err}); check the spelling of the URL",
            target.host
        ),
    )
    .with_phrase("Could not resolve host")
}

pub(crate) fn connect_failure(err: &std::io::Error, target: &Target) -> Failure {
    let at = target.authority();
    match err.kind() {
        std::io::ErrorKind::ConnectionRefused => Failure::new(
            FailureKind::Network,
            format!("connection refused by {at}: nothing listens there. Is `squirrel serve` running, on this port?"),
        )
        .with_phrase("Connection refused"),
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => Failure::new(
            FailureKind::Network,
            format!("connecting to {at} timed out; check the address, or raise --timeout"),
        )
        .with_phrase("Connection timed out"),
        _ => Failure::new(FailureKind::Network, format!("cannot connect to {at}: {err}")),
    }
}

pub(crate) fn io_failure(err: &std::io::Error, target: &Target) -> Failure {
    let at = target.authority();
    match err.kind() {
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => Failure::new(
            FailureKind::Network,
            format!("{at} did not answer in time; raise --timeout, or check the server"),
        )
        .with_phrase("Operation timed out"),
        std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe => Failure::new(
            FailureKind::Network,
            format!(
                "{at} closed the connection abruptly ({err}){}",
                if target.https {
                    ""
                } else {
                    "; if it is an HTTPS server, use https://"
                }
            ),
        )
        .with_phrase("Connection reset by peer"),
        _ => Failure::new(
            FailureKind::Network,
            format!("talking to {at} failed: {err}"),
        ),
    }
}

/// The server closed the connection without a complete HTTP answer.
pub(crate) fn no_answer(received: &[u8], target: &Target) -> Failure {
    if looks_like_tls(received) {
        return tls_on_plain(target);
    }
    let hint = if target.https {
        ""
    } else {
        "; if it is an HTTPS port, use https://"
    };
    Failure::new(
        FailureKind::Http,
        format!(
            "{}:{} closed the connection without answering{hint}",
            target.host, target.port
        ),
    )
    .with_phrase("Empty reply from server")
}

/// What came back is not HTTP.
pub(crate) fn not_http(received: &[u8], target: &Target) -> Failure {
    if looks_like_tls(received) {
        return tls_on_plain(target);
    }
    Failure::new(
        FailureKind::Http,
        format!(
            "{}:{} answered something that is not HTTP/1.x",
            target.host, target.port
        ),
    )
    .with_phrase("Received HTTP/0.9 when not allowed")
}

/// TLS records start with content type 20-23 and version 3.x.
fn looks_like_tls(bytes: &[u8]) -> bool {
    bytes.len() >= 3 && (20..=23).contains(&bytes[0]) && bytes[1] == 3
}

fn tls_on_plain(target: &Target) -> Failure {
    Failure::new(
        FailureKind::Http,
        format!(
            "{}:{} speaks TLS: this is an HTTPS port, and http:// sent the request in clear. Use https://{}:{}{}",
            target.host, target.port, target.host, target.port, target.path
        ),
    )
    .with_phrase("Received HTTP/0.9 when not allowed")
}

/// What the client trusted and showed, to explain a TLS failure with.
pub(crate) struct Trust<'a> {
    /// The CAs given with `--ca`; `None`: the system's.
    pub anchors: Option<&'a [Vec<u8>]>,
    /// How they are judged.
    pub anchor_policy: verify::AnchorPolicy,
    /// A client certificate was offered.
    pub client_certificate: bool,
}

/// Explains a failure on a TLS connection.
pub(crate) fn tls_failure(
    err: &std::io::Error,
    target: &Target,
    chain: &[Vec<u8>],
    trust: &Trust,
) -> Failure {
    use rustls::{AlertDescription as A, Error, InvalidMessage};
    let at = target.authority();
    let Some(tls) = err.get_ref().and_then(|e| e.downcast_ref::<Error>()) else {
        return match err.kind() {
            std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionReset => Failure::new(
                FailureKind::Tls,
                format!("{at} closed the connection during the TLS handshake; is it a TLS server, and does it want a client certificate (--cert, --key)?"),
            )
            .with_phrase("unexpected eof while reading"),
            _ => io_failure(err, target),
        };
    };
    match tls {
        Error::InvalidCertificate(_) if !chain.is_empty() => certificate_failure(tls, target, chain, trust),
        Error::InvalidMessage(InvalidMessage::InvalidContentType) | Error::InvalidMessage(_) => Failure::new(
            FailureKind::Tls,
            format!("{at} does not speak TLS: it answered in plain text. Use http://{at}{} (or the server's HTTPS port)", target.path),
        )
        .with_phrase("wrong version number"),
        Error::AlertReceived(A::CertificateRequired) => Failure::new(
            FailureKind::Tls,
            format!("{at} admits members only: it requires a client certificate. Pass --cert FILE --key FILE (a certificate from `squirrel pki issue NAME --client`)"),
        )
        .with_phrase("tlsv13 alert certificate required"),
        Error::AlertReceived(A::HandshakeFailure) if !trust.client_certificate => Failure::new(
            FailureKind::Tls,
            format!("{at} refused the handshake; it may require a client certificate: pass --cert FILE --key FILE"),
        )
        .with_phrase("sslv3 alert handshake failure"),
        Error::AlertReceived(A::UnknownCA) => Failure::new(
            FailureKind::Tls,
            format!("{at} rejected the client certificate: it was not issued by a CA the server trusts for its members (--client-ca)"),
        )
        .with_phrase("tlsv1 alert unknown ca"),
        Error::AlertReceived(A::CertificateRevoked) => Failure::new(
            FailureKind::Tls,
            format!("{at} rejected the client certificate: it has been revoked"),
        )
        .with_phrase("sslv3 alert certificate revoked"),
        Error::AlertReceived(A::CertificateExpired) => Failure::new(
            FailureKind::Tls,
            format!("{at} rejected the client certificate: it has expired; ask the leader for a new one"),
        )
        .with_phrase("sslv3 alert certificate expired"),
        Error::AlertReceived(A::BadCertificate) => Failure::new(
            FailureKind::Tls,
            format!("{at} rejected the client certificate as bad"),
        )
        .with_phrase("sslv3 alert bad certificate"),
        Error::AlertReceived(alert) => Failure::new(
            FailureKind::Tls,
            format!("{at} ended the TLS handshake with the alert {alert:?}"),
        )
        .with_phrase(format!("alert {alert:?}")),
        other => Failure::new(FailureKind::Tls, format!("the TLS connection to {at} failed: {other}")),
    }
}

fn certificate_failure(
    err: &rustls::Error,
    target: &Target,
    chain: &[Vec<u8>],
    trust: &Trust,
) -> Failure {
    let (anchors, anchor_policy) = match trust.anchors {
        Some(anchors) => (anchors.to_vec(), trust.anchor_policy),
        None => (system_roots(), verify::AnchorPolicy::System),
    };
    let report = verify::verify(&Verification {
        hostname: Some(&target.host),
        anchor_policy,
        ..Verification::new(&anchors, &chain[1..], &chain[0])
    });
    let trusted = match trust.anchors {
        Some(_) => "the CA given with --ca",
        None => "the system's trusted CAs",
    };
    match report {
        Ok(verify::VerifyReport {
            failure: Some(f), ..
        }) => Failure::new(
            FailureKind::Tls,
            format!(
                "the server's certificate is not trusted (checked against {trusted}): {}",
                f.explanation
            ),
        )
        .with_phrase(format!("certificate verify failed: {}", f.openssl_phrase)),
        _ => Failure::new(
            FailureKind::Tls,
            format!("the server's certificate was refused: {err}"),
        )
        .with_phrase("certificate verify failed"),
    }
}
