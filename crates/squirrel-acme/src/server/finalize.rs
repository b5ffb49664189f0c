//! Finalization and download (RFC 8555 §7.4, §7.4.2): the client sends a
//! CSR for exactly the order's identifiers; the CA signs it with the same
//! policy as `squirrel pki sign`, records it in the ledger with the
//! account, and serves the chain as `application/pem-certificate-chain`.

use super::auth::{authenticate_reading, check_owner};
use super::order::{find, problem_json, refresh};
use super::reply::Reply;
use super::resources::{self, certificate_url, finalize_url, order_url};
use super::{Acme, AcmeRequest};
use crate::model::{CertificateRecord, IdentifierType, OrderRecord, OrderStatus};
use crate::problem::{ErrorType, Problem};
use crate::spki;
use crate::store::{Prefetch, Prefetched};
use serde_json::Value;
use squirrel_pki::csr::{parse_csr, ParsedCsr};
use squirrel_pki::key::KeyKind;
use squirrel_pki::{AltName, Profile};
use std::collections::BTreeSet;
use std::sync::Arc;

/// POST /acme/order/{id}/finalize.
pub(crate) async fn finalize(
    acme: &Arc<Acme>,
    req: &AcmeRequest,
    id: &str,
) -> Result<Reply, Problem> {
    let url = finalize_url(&req.base, id);
    let (signed, read) = authenticate_reading(acme, req, &url, Prefetch::Order(id.into())).await?;
    let (order, authzs) = find(acme, read, id).await?;
    check_owner(&signed, &order.account_id, "order")?;
    let mut order = refresh(acme, order, authzs).await?;
    if order.status != OrderStatus::Ready {
        let why = match order.status {
            OrderStatus::Pending => {
                "its authorizations are not all valid yet: answer the challenges first"
            }
            OrderStatus::Processing => "it is already being processed",
            OrderStatus::Valid => "it was already finalized: download its certificate",
            _ => "it is invalid: create a new order",
        };
        return Err(Problem::new(
            ErrorType::OrderNotReady,
            format!("the order is {}: {why}", order.status),
        ));
    }
    let payload = signed.json()?;
    let csr_der = payload
        .get("csr")
        .and_then(Value::as_str)
        .and_then(crate::b64::decode)
        .ok_or_else(|| bad_csr("the payload has no \"csr\" in base64url DER"))?;
    let csr = parse_csr(&csr_der).map_err(|e| bad_csr(e.to_string()))?;
    check_csr(&order, &csr, &signed.key)?;

    order.status = OrderStatus::Processing;
    order.csr_der = Some(csr_der);
    // `ready` is derived, not stored: the stored status is still pending
    // (or ready). Claimed in one step, so that of two finalize requests
    // racing (on two replicas of one database) only one signs.
    let claimed = acme
        .store
        .update_order_if(&order, &[OrderStatus::Pending, OrderStatus::Ready])
        .await?;
    if !claimed {
        return Err(Problem::new(
            ErrorType::OrderNotReady,
            "the order is already being processed (another finalize request came first): \
             fetch the order to see when its certificate is ready",
        ));
    }
    let order = acme.finish_processing(order, Some(csr)).await;
    if let (OrderStatus::Invalid, Some(error)) = (order.status, &order.error) {
        if let Ok(problem) = serde_json::from_value::<Problem>(error.clone()) {
            return Err(problem);
        }
    }
    let reply = Reply::json(200, &resources::order(&req.base, &order))
        .location(order_url(&req.base, &order.id));
    Ok(match order.status {
        OrderStatus::Processing => reply.retry_after(1),
        _ => reply,
    })
}

fn bad_csr(detail: impl Into<String>) -> Problem {
    Problem::new(ErrorType::BadCsr, detail)
}

/// The CSR must name exactly the order's identifiers (§7.4), with a key
/// that is not the account key and that squirrel would sign.
fn check_csr(
    order: &OrderRecord,
    csr: &ParsedCsr,
    account_key: &crate::Jwk,
) -> Result<(), Problem> {
    if let Some(why) = &csr.asks_to_be_ca {
        return Err(bad_csr(format!(
            "the CSR asks to be a certificate authority ({why}); this CA issues only leaf \
             certificates"
        )));
    }
    let ordered: BTreeSet<String> = order
        .identifiers
        .iter()
        .map(|id| match id.kind {
            IdentifierType::Dns => id.value.to_ascii_lowercase(),
            IdentifierType::Ip => id.value.clone(),
        })
        .collect();
    let mut requested = BTreeSet::new();
    for name in &csr.alt_names {
        match name {
            AltName::Dns(d) => requested.insert(d.to_ascii_lowercase()),
            AltName::Ip(ip) => requested.insert(ip.to_string()),
            AltName::Email(e) => {
                return Err(bad_csr(format!(
                    "the CSR asks for the email address {e}, which no order can authorize"
                )))
            }
        };
    }
    if let Some(cn) = &csr.common_name {
        let cn = match AltName::parse(cn) {
            Ok(AltName::Ip(ip)) => ip.to_string(),
            _ => cn.to_ascii_lowercase(),
        };
        if !ordered.contains(&cn) {
            return Err(bad_csr(format!(
                "the CSR's common name {cn} is not one of the order's identifiers"
            )));
        }
        requested.insert(cn);
    }
    if requested != ordered {
        let extra: Vec<&String> = requested.difference(&ordered).collect();
        let missing: Vec<&String> = ordered.difference(&requested).collect();
        return Err(bad_csr(format!(
            "the CSR must name exactly the order's identifiers; not ordered: {extra:?}, \
             missing: {missing:?}"
        )));
    }
    if spki::key_params(&csr.public_key).as_ref() == Some(account_key.params()) {
        return Err(bad_csr(
            "the CSR's key is the account key; use a separate key for the certificate",
        ));
    }
    let weak = match csr.key.kind {
        KeyKind::Rsa => csr.key.bits < 2048,
        KeyKind::Ecdsa => !matches!(csr.key.bits, 256 | 384),
        KeyKind::Ed25519 => false,
        KeyKind::Unknown => true,
    };
    if weak {
        return Err(Problem::new(
            ErrorType::BadPublicKey,
            format!(
                "the CSR's key ({}) is refused: use RSA of at least 2048 bits, ECDSA P-256 or \
                 P-384, or Ed25519",
                csr.key.description
            ),
        ));
    }
    Ok(())
}

impl Acme {
    /// Signs the CSR of an order left `processing` and records the
    /// certificate; the order comes back `valid`, or `invalid` with why.
    /// `csr` is the order's CSR when the caller parsed it already (else it
    /// is read from the order, as after a restart). When another server
    /// (or task) finished the order first, its outcome stands and is what
    /// comes back: the certificate signed here is not recorded, and never
    /// leaves this function.
    pub(crate) async fn finish_processing(
        &self,
        mut order: OrderRecord,
        csr: Option<ParsedCsr>,
    ) -> OrderRecord {
        let _busy = self.busy.mark(&order.id);
        let outcome = self.sign_order(&order, csr).await;
        match outcome {
            Ok(serial) => {
                let names: Vec<String> =
                    order.identifiers.iter().map(ToString::to_string).collect();
                tracing::info!(order = %order.id, serial = %serial, names = %names.join(", "), "certificate issued");
                order.status = OrderStatus::Valid;
                order.certificate_serial = Some(serial);
            }
            Err(problem) => {
                if let Some(done) = self.finished_elsewhere(&order.id).await {
                    return done;
                }
                tracing::warn!(order = %order.id, "finalize refused: {}", problem.detail);
                order.status = OrderStatus::Invalid;
                order.error = Some(problem_json(&problem));
                match self
                    .store
                    .update_order_if(&order, &[OrderStatus::Processing])
                    .await
                {
                    Ok(true) => {}
                    Ok(false) => return self.finished_elsewhere(&order.id).await.unwrap_or(order),
                    Err(e) => tracing::error!(order = %order.id, "cannot record the refusal: {e}"),
                }
            }
        }
        order
    }

    /// The order `id` as stored, when it is no longer `processing`: another
    /// server finished it while this one was signing.
    async fn finished_elsewhere(&self, id: &str) -> Option<OrderRecord> {
        match self.store.order(id).await {
            Ok(Some(stored)) if stored.status != OrderStatus::Processing => {
                tracing::info!(order = %id, status = %stored.status.name(), "order finished by another server");
                Some(stored)
            }
            _ => None,
        }
    }

    async fn sign_order(
        &self,
        order: &OrderRecord,
        csr: Option<ParsedCsr>,
    ) -> Result<String, Problem> {
        let csr = match csr {
            Some(csr) => csr,
            None => {
                let der = order
                    .csr_der
                    .as_deref()
                    .ok_or_else(|| bad_csr("the order has no CSR"))?;
                parse_csr(der).map_err(|e| bad_csr(e.to_string()))?
            }
        };
        let (issued, entry) = self
            .ca
            .sign_unrecorded(&csr, Profile::Server, self.options.policy.cert_lifetime)
            .map_err(|e| bad_csr(e.to_string()))?;
        let mut done = order.clone();
        done.status = OrderStatus::Valid;
        done.certificate_serial = Some(issued.serial.clone());
        let record = CertificateRecord {
            entry,
            account_id: Some(order.account_id.clone()),
            order_id: Some(order.id.clone()),
        };
        self.store.record_certificate(&record, &done).await?;
        Ok(issued.serial)
    }
}

/// POST /acme/cert/{serial} (POST-as-GET, §7.4.2): leaf then CA.
pub(crate) async fn certificate(
    acme: &Arc<Acme>,
    req: &AcmeRequest,
    serial: &str,
) -> Result<Reply, Problem> {
    let url = certificate_url(&req.base, serial);
    let (signed, read) =
        authenticate_reading(acme, req, &url, Prefetch::Certificate(serial.into())).await?;
    let found = match read.and_then(Prefetched::into_certificate) {
        Some(found) => found,
        None => acme.store.certificate(serial).await?,
    };
    let record = found.ok_or_else(|| {
        Problem::new(ErrorType::Malformed, format!("no certificate {serial}")).with_status(404)
    })?;
    check_owner(
        &signed,
        record.account_id.as_deref().unwrap_or(""),
        "certificate",
    )?;
    let mut chain = record.entry.pem.clone();
    if !chain.ends_with('\n') {
        chain.push('\n');
    }
    chain.push_str(&acme.ca_pem);
    Ok(Reply::pem_chain(chain))
}
