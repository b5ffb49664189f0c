//! Renewal information (ARI, RFC 9773): the CA tells each client when to
//! renew, so that renewals spread out and a revoked certificate is
//! replaced at once. A certificate's id is `base64url(AKI keyIdentifier)
//! "." base64url(serial)` (RFC 9773 §4.1).

use super::reply::Reply;
use super::resources::rfc3339;
use super::Acme;
use crate::model::{AccountRecord, CertificateRecord};
use crate::problem::{ErrorType, Problem};
use serde_json::json;
use squirrel_pki::ledger::{normalize_serial, Status};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};
use x509_parser::prelude::FromDer;

/// How long a client should wait before asking again (RFC 9773 §4.3).
const RETRY_AFTER_SECONDS: u64 = 6 * 60 * 60;

/// GET /acme/renewal-info/{certID}.
pub(crate) async fn info(acme: &Acme, cert_id: &str) -> Result<Reply, Problem> {
    let record = certificate(acme, cert_id).await?;
    let (start, end) = window(&record, OffsetDateTime::now_utc())?;
    Ok(Reply::json(
        200,
        &json!({ "suggestedWindow": { "start": rfc3339(start), "end": rfc3339(end) } }),
    )
    .retry_after(RETRY_AFTER_SECONDS))
}

/// The suggested window: a ninth of the lifetime starting at two thirds of
/// it; for a revoked certificate, a window already past (renew now). The
/// lifetime counts from the signing, not from the backdated notBefore: a
/// certificate of a few minutes (`--cert-minutes`) would otherwise be due
/// the moment it is issued.
fn window(
    record: &CertificateRecord,
    now: OffsetDateTime,
) -> Result<(OffsetDateTime, OffsetDateTime), Problem> {
    if record.entry.status == Status::Revoked {
        return Ok((now - Duration::hours(2), now - Duration::hours(1)));
    }
    let parse = |t: &str| {
        OffsetDateTime::parse(t, &Rfc3339).map_err(|_| {
            Problem::new(
                ErrorType::ServerInternal,
                "the ledger holds an unreadable date",
            )
        })
    };
    let not_before = parse(&record.entry.not_before)?;
    let not_after = parse(&record.entry.not_after)?;
    let signed = (not_before + squirrel_pki::sign::BACKDATE).min(not_after);
    let lifetime = not_after - signed;
    let start = signed + lifetime * 2 / 3;
    Ok((start, start + lifetime / 9))
}

/// The certificate an ARI id names, if this CA issued it.
async fn certificate(acme: &Acme, cert_id: &str) -> Result<CertificateRecord, Problem> {
    let unknown = |why: &str| {
        Problem::new(
            ErrorType::Malformed,
            format!("{cert_id:?} is not the renewal id of a certificate of this CA: {why}"),
        )
        .with_status(404)
    };
    let (key_id, serial) = cert_id
        .split_once('.')
        .ok_or_else(|| unknown("it is not KEYID.SERIAL"))?;
    let key_id = crate::b64::decode(key_id).ok_or_else(|| unknown("bad base64url"))?;
    let serial = crate::b64::decode(serial).ok_or_else(|| unknown("bad base64url"))?;
    let serial = normalize_serial(&hex::encode_upper(serial));
    let record = acme
        .store
        .certificate(&serial)
        .await?
        .ok_or_else(|| unknown("no such serial"))?;
    let der = pem::parse(&record.entry.pem).map_err(|_| unknown("unreadable ledger row"))?;
    let (_, cert) = x509_parser::prelude::X509Certificate::from_der(der.contents())
        .map_err(|_| unknown("unreadable ledger row"))?;
    if super::identity::authority_key_id(&cert).as_deref() != Some(key_id.as_slice()) {
        return Err(unknown("another CA's key identifier"));
    }
    Ok(record)
}

/// Checks the `replaces` of a new order (RFC 9773 §5): a certificate of
/// this CA, ordered by the same account.
pub(crate) async fn check_replaces(
    acme: &Acme,
    account: &AccountRecord,
    cert_id: &str,
) -> Result<(), Problem> {
    let record = certificate(acme, cert_id).await?;
    if record.account_id.as_deref() != Some(account.id.as_str()) {
        return Err(Problem::new(
            ErrorType::Unauthorized,
            "\"replaces\" names a certificate of another account",
        ));
    }
    Ok(())
}
