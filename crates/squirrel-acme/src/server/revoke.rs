//! Revocation (RFC 8555 §7.6): by the account that ordered the
//! certificate, or by whoever holds the certificate's key. The ledger
//! records it, so `squirrel pki crl` lists the serial.

use super::auth::{authenticate, malformed, Signer};
use super::reply::Reply;
use super::resources::endpoint;
use super::{Acme, AcmeRequest};
use crate::jws::KeyRef;
use crate::problem::{ErrorType, Problem};
use crate::spki;
use crate::store::StoreError;
use serde_json::Value;
use squirrel_pki::ledger::normalize_serial;
use squirrel_pki::revoke::REASONS;
use std::sync::Arc;
use time::OffsetDateTime;
use x509_parser::prelude::{FromDer, X509Certificate};

/// POST /acme/revoke-cert.
pub(crate) async fn revoke(acme: &Arc<Acme>, req: &AcmeRequest) -> Result<Reply, Problem> {
    let url = endpoint(&req.base, "revoke-cert");
    let signed = authenticate(acme, req, &url, Signer::Either).await?;
    let payload = signed.json()?;
    let der = payload
        .get("certificate")
        .and_then(Value::as_str)
        .and_then(crate::b64::decode)
        .ok_or_else(|| malformed("the payload has no \"certificate\" in base64url DER"))?;
    let reason = reason_name(payload.get("reason"))?;
    let (_, cert) = X509Certificate::from_der(&der)
        .map_err(|e| malformed(format!("\"certificate\" is not a DER certificate: {e}")))?;
    let serial = normalize_serial(&hex::encode_upper(cert.raw_serial()));
    let not_ours = || {
        Problem::new(
            ErrorType::Malformed,
            "this CA did not issue that certificate",
        )
        .with_status(404)
    };
    let record = acme
        .store
        .certificate(&serial)
        .await?
        .ok_or_else(not_ours)?;
    let ours = pem::parse(&record.entry.pem).is_ok_and(|p| p.contents() == der.as_slice());
    if !ours {
        return Err(not_ours());
    }
    let allowed = match &signed.header.key {
        KeyRef::Kid(_) => record.account_id.as_deref() == Some(signed.account().id.as_str()),
        KeyRef::Jwk(jwk) => spki::from_spki(cert.public_key()).as_ref() == Some(jwk.params()),
    };
    if !allowed {
        return Err(Problem::new(
            ErrorType::Unauthorized,
            "only the account that ordered a certificate, or its key's holder, may revoke it",
        ));
    }
    match acme
        .store
        .revoke_certificate(&record.entry.serial, reason, OffsetDateTime::now_utc())
        .await
    {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => {
            return Err(Problem::new(
                ErrorType::AlreadyRevoked,
                format!("certificate {} is already revoked", record.entry.serial),
            ))
        }
        Err(e) => return Err(e.into()),
    }
    tracing::info!(serial = %record.entry.serial, reason, "certificate revoked over ACME");
    Ok(Reply::empty(200))
}

/// The ledger's name for an RFC 5280 reason code; codes this CA does not
/// record (removeFromCRL, aACompromise, unknown) are `badRevocationReason`.
fn reason_name(value: Option<&Value>) -> Result<&'static str, Problem> {
    let code = match value {
        None | Some(Value::Null) => 0,
        Some(v) => v
            .as_u64()
            .ok_or_else(|| malformed("\"reason\" must be an integer (RFC 5280 §5.3.1)"))?,
    };
    REASONS
        .iter()
        .find(|(_, r)| *r as u64 == code)
        .map(|(name, _)| *name)
        .ok_or_else(|| {
            Problem::new(
                ErrorType::BadRevocationReason,
                format!(
                    "reason {code} is not accepted; use 0 (unspecified), 1 (keyCompromise), \
                     3 (affiliationChanged), 4 (superseded) or 5 (cessationOfOperation)"
                ),
            )
        })
}
