//! One ACME order, from new-order to the certificate (RFC 8555 §7.4), on
//! `instant-acme`. The account is made (or restored from the state folder)
//! on the first order, so a server restarted with a valid certificate
//! starts without the CA.

use super::http01::Http01Answers;
use super::state::{self, CertState, StatePaths};
use super::{AcmeConfig, AcmeError, Proof};
use crate::live_cert::LiveCert;
use instant_acme::{
    Account, AccountCredentials, AuthorizationStatus, CertificateIdentifier, ChallengeType,
    ExternalAccountKey, Identifier, NewAccount, NewOrder, OrderStatus, RetryPolicy,
};
use rcgen::{CertificateParams, CustomExtension, DistinguishedName, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;

/// How long the CA may take to validate and to sign.
const POLL: RetryPolicy = RetryPolicy::new()
    .initial_delay(Duration::from_millis(100))
    .backoff(1.5)
    .timeout(Duration::from_secs(60));

/// The ACME client of one server: its configuration, its account once
/// made, and where the challenges are answered.
pub struct AcmeClient {
    pub config: AcmeConfig,
    pub paths: StatePaths,
    live: Arc<LiveCert>,
    account: Mutex<Option<Account>>,
    http01: Option<Http01Answers>,
}

impl AcmeClient {
    /// Prepares the client; binds the http-01 listener if asked for one.
    /// Must be called inside a tokio runtime.
    pub async fn new(config: AcmeConfig, live: Arc<LiveCert>) -> Result<AcmeClient, AcmeError> {
        let paths = StatePaths::new(&config.state_root, &config.directory, &config.domains);
        paths.create_folders()?;
        let http01 = match config.proof {
            Proof::Http01(addr) => Some(Http01Answers::listen(addr).await?),
            Proof::TlsAlpn01 => None,
        };
        Ok(AcmeClient {
            config,
            paths,
            live,
            account: Mutex::new(None),
            http01,
        })
    }

    /// The certificate saved by an earlier run, if still good; it is served
    /// from now on.
    pub fn reuse_saved(&self) -> Option<CertState> {
        let saved = state::load_saved(&self.paths, &self.config.domains)?;
        self.live.replace(saved.key.clone());
        Some(saved)
    }

    fn ca_error(&self, what: &str) -> impl Fn(instant_acme::Error) -> AcmeError + '_ {
        let what = what.to_string();
        move |e| AcmeError::Ca {
            directory: self.config.directory.clone(),
            what: what.clone(),
            reason: with_causes(&e),
        }
    }

    /// The account: restored from `account.json`, else registered (and
    /// saved, 0600: it holds the account key).
    pub async fn account(&self) -> Result<Account, AcmeError> {
        let mut held = self.account.lock().await;
        if let Some(account) = held.as_ref() {
            return Ok(account.clone());
        }
        let builder = || {
            super::trust::client_trusting(&self.config.ca_bundle).map(Account::builder_with_http)
        };
        let account = match std::fs::read(&self.paths.account) {
            Ok(bytes) => {
                let credentials: AccountCredentials =
                    serde_json::from_slice(&bytes).map_err(|e| AcmeError::File {
                        path: self.paths.account.clone(),
                        problem: format!(
                            "is not an ACME account ({e}); remove it to register again"
                        ),
                    })?;
                builder()?
                    .from_credentials(credentials)
                    .await
                    .map_err(self.ca_error("cannot be reached"))?
            }
            Err(_) => {
                let contact: Vec<String> = self
                    .config
                    .email
                    .iter()
                    .map(|e| format!("mailto:{e}"))
                    .collect();
                let contact: Vec<&str> = contact.iter().map(String::as_str).collect();
                let eab = self
                    .config
                    .eab
                    .as_ref()
                    .map(|eab| ExternalAccountKey::new(eab.kid.clone(), &eab.hmac_key));
                let (account, credentials) = builder()?
                    .create(
                        &NewAccount {
                            contact: &contact,
                            terms_of_service_agreed: true,
                            only_return_existing: false,
                        },
                        self.config.directory.clone(),
                        eab.as_ref(),
                    )
                    .await
                    .map_err(self.ca_error("refused to register an account"))?;
                let json = serde_json::to_vec_pretty(&credentials)
                    .map_err(|e| AcmeError::Local(e.to_string()))?;
                state::write(&self.paths.account, &json, 0o600)?;
                tracing::info!("registered an ACME account: {}", account.id());
                account
            }
        };
        *held = Some(account.clone());
        Ok(account)
    }

    /// Orders a certificate for the configured names (`replacing` the
    /// current one, for the CA's ARI bookkeeping), proves control of them,
    /// saves it and serves it from the next handshake on.
    pub async fn order(&self, replacing: Option<&CertState>) -> Result<CertState, AcmeError> {
        let account = self.account().await?;
        let identifiers: Vec<Identifier> = self
            .config
            .domains
            .iter()
            .map(|d| match d.parse() {
                Ok(ip) => Identifier::Ip(ip),
                Err(_) => Identifier::Dns(d.clone()),
            })
            .collect();
        let new_order = NewOrder::new(&identifiers);
        let replaces = replacing.and_then(|cert| {
            CertificateIdentifier::try_from(&CertificateDer::from(cert.key.cert[0].to_vec())).ok()
        });
        let ordered = match replaces {
            // RFC 9773 §5: say which certificate this one replaces. A CA
            // that refuses it (one already replaced, say) gets a plain order.
            Some(id) => match account
                .new_order(&NewOrder::new(&identifiers).replaces(id))
                .await
            {
                Err(instant_acme::Error::Api(problem)) => {
                    tracing::info!("the CA refused \"replaces\" ({problem}); ordering without it");
                    account.new_order(&new_order).await
                }
                Err(instant_acme::Error::Unsupported(_)) => account.new_order(&new_order).await,
                other => other,
            },
            None => account.new_order(&new_order).await,
        };
        let mut order = ordered.map_err(self.ca_error("refused the order"))?;
        let mut answered = Vec::new();
        let proven = self.prove(&mut order, &mut answered).await;
        let finished = match proven {
            Ok(()) => self.finish(&mut order).await,
            Err(e) => Err(e),
        };
        for (identifier, token) in answered {
            self.live.forget(&identifier);
            if let Some(http01) = &self.http01 {
                http01.forget(&token);
            }
        }
        let (chain_pem, key_pem) = finished?;
        let issued =
            CertState::from_pem(chain_pem.as_bytes(), key_pem.as_bytes(), &self.paths.cert)?;
        state::save(&self.paths, &chain_pem, &key_pem)?;
        self.live.replace(issued.key.clone());
        Ok(issued)
    }

    /// Answers the challenge of every pending authorization and tells the
    /// CA to validate; `answered` collects what to stop answering after.
    async fn prove(
        &self,
        order: &mut instant_acme::Order,
        answered: &mut Vec<(String, String)>,
    ) -> Result<(), AcmeError> {
        let kind = match self.config.proof {
            Proof::TlsAlpn01 => ChallengeType::TlsAlpn01,
            Proof::Http01(_) => ChallengeType::Http01,
        };
        let mut authorizations = order.authorizations();
        while let Some(authorization) = authorizations.next().await {
            let mut authorization =
                authorization.map_err(self.ca_error("sent no authorization"))?;
            match authorization.status {
                AuthorizationStatus::Pending => {}
                AuthorizationStatus::Valid => continue,
                other => {
                    return Err(AcmeError::Ca {
                        directory: self.config.directory.clone(),
                        what: format!(
                            "has the authorization of {} {other:?}",
                            authorization.identifier()
                        ),
                        reason: "it cannot be used; order again later".into(),
                    })
                }
            }
            let identifier = authorization.identifier().to_string();
            let mut challenge =
                authorization
                    .challenge(kind.clone())
                    .ok_or_else(|| AcmeError::Ca {
                        directory: self.config.directory.clone(),
                        what: format!("offers no {kind:?} challenge for {identifier}"),
                        reason: "choose the other proof (--http01-listen, or none for tls-alpn-01)"
                            .into(),
                    })?;
            let key_authorization = challenge.key_authorization();
            let token = challenge.token.clone();
            match &self.http01 {
                Some(http01) => http01.answer(&token, key_authorization.as_str()),
                None => self.live.answer(
                    &identifier,
                    alpn_certificate(&identifier, key_authorization.digest().as_ref())?,
                ),
            }
            answered.push((identifier, token));
            challenge
                .set_ready()
                .await
                .map_err(self.ca_error("refused the challenge response"))?;
        }
        Ok(())
    }

    /// Waits for the validations, sends the certificate request, and
    /// fetches the certificate: the chain (PEM) and its new key (PEM).
    async fn finish(&self, order: &mut instant_acme::Order) -> Result<(String, String), AcmeError> {
        let status = order
            .poll_ready(&POLL)
            .await
            .map_err(self.ca_error("did not validate in time"))?;
        if status != OrderStatus::Ready {
            return Err(AcmeError::Ca {
                directory: self.config.directory.clone(),
                what: "could not validate the names".into(),
                reason: self.why_invalid(order).await,
            });
        }
        let key =
            KeyPair::generate().map_err(|e| AcmeError::Local(format!("cannot make a key: {e}")))?;
        let mut params = CertificateParams::new(self.config.domains.clone())
            .map_err(|e| AcmeError::Local(format!("--domain: {e}")))?;
        params.distinguished_name = DistinguishedName::new();
        let csr = params
            .serialize_request(&key)
            .map_err(|e| AcmeError::Local(format!("cannot make the certificate request: {e}")))?;
        order
            .finalize_csr(csr.der())
            .await
            .map_err(self.ca_error("refused the certificate request"))?;
        let chain = order
            .poll_certificate(&POLL)
            .await
            .map_err(self.ca_error("did not issue the certificate"))?;
        Ok((chain, key.serialize_pem()))
    }

    /// The CA's reasons for failed validations, one per name.
    async fn why_invalid(&self, order: &mut instant_acme::Order) -> String {
        let mut reasons = Vec::new();
        let mut authorizations = order.authorizations();
        while let Some(Ok(mut authorization)) = authorizations.next().await {
            let _ = authorization.refresh().await;
            for challenge in &authorization.challenges {
                if let Some(error) = &challenge.error {
                    reasons.push(format!("{}: {error}", authorization.identifier()));
                }
            }
        }
        if reasons.is_empty() {
            "the order became invalid".into()
        } else {
            reasons.join("; ")
        }
    }
}

/// An error and its causes, as one line: hyper's "client error (Connect)"
/// alone does not say that the connection was refused.
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut line = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        let text = inner.to_string();
        if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        cause = inner.source();
    }
    line
}

/// The self-signed certificate that answers a tls-alpn-01 challenge for
/// `identifier`: its critical acmeIdentifier extension holds the SHA-256
/// of the key authorization (RFC 8737 §3).
fn alpn_certificate(
    identifier: &str,
    digest: &[u8],
) -> Result<Arc<rustls::sign::CertifiedKey>, AcmeError> {
    let fail =
        |e: rcgen::Error| AcmeError::Local(format!("cannot make the tls-alpn-01 certificate: {e}"));
    let mut params = CertificateParams::new(vec![identifier.to_string()]).map_err(fail)?;
    params.custom_extensions = vec![CustomExtension::new_acme_identifier(digest)];
    let key = KeyPair::generate().map_err(fail)?;
    let cert = params.self_signed(&key).map_err(fail)?;
    let key_der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    // Not `CertifiedKey::from_der`: its key check parses the certificate
    // with webpki, which refuses the critical acmeIdentifier extension.
    let signing_key = rustls::crypto::aws_lc_rs::default_provider()
        .key_provider
        .load_private_key(key_der)
        .map_err(|e| AcmeError::Local(format!("cannot use the tls-alpn-01 key: {e}")))?;
    Ok(Arc::new(rustls::sign::CertifiedKey::new(
        vec![cert.der().clone()],
        signing_key,
    )))
}
