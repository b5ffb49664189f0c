//! Revocation: a member leaves the club, their certificate must stop
//! opening the door before it expires. The ledger records the revocation;
//! a CRL signed by the CA tells servers (`squirrel serve --crl`, nginx,
//! openssl) which serials to refuse.

use crate::ca::{now, CertificateAuthority};
use crate::error::{PkiError, Result};
use crate::ledger::LedgerEntry;
use rcgen::{
    CertificateRevocationListParams, Issuer, KeyIdMethod, RevocationReason, RevokedCertParams,
    SerialNumber,
};
use std::str::FromStr;
use time::Duration;

/// A revocation reason of RFC 5280 §5.3.1 (an index into [`REASONS`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Reason(usize);

/// Reason names as openssl's `-crl_reason` spells them, with their codes.
pub const REASONS: [(&str, RevocationReason); 8] = [
    ("unspecified", RevocationReason::Unspecified),
    ("keyCompromise", RevocationReason::KeyCompromise),
    ("CACompromise", RevocationReason::CaCompromise),
    ("affiliationChanged", RevocationReason::AffiliationChanged),
    ("superseded", RevocationReason::Superseded),
    (
        "cessationOfOperation",
        RevocationReason::CessationOfOperation,
    ),
    ("certificateHold", RevocationReason::CertificateHold),
    ("privilegeWithdrawn", RevocationReason::PrivilegeWithdrawn),
];

impl Reason {
    /// The name stored in the ledger.
    pub fn name(self) -> &'static str {
        REASONS[self.0].0
    }

    fn code(name: &str) -> RevocationReason {
        REASONS
            .iter()
            .find(|r| r.0 == name)
            .map(|r| r.1)
            .unwrap_or(RevocationReason::Unspecified)
    }
}

impl FromStr for Reason {
    type Err = PkiError;

    fn from_str(s: &str) -> Result<Self> {
        let wanted = s.to_ascii_lowercase().replace(['-', '_'], "");
        REASONS
            .iter()
            .position(|r| r.0.to_ascii_lowercase() == wanted)
            .map(Reason)
            .ok_or_else(|| {
                let names: Vec<_> = REASONS.iter().map(|r| r.0).collect();
                PkiError::invalid(
                    format!("unknown revocation reason {s:?}"),
                    format!("choose one of {}", names.join(", ")),
                )
            })
    }
}

impl CertificateAuthority {
    /// Records the revocation of `serial` in the ledger.
    pub fn revoke(&self, serial: &str, reason: Reason) -> Result<LedgerEntry> {
        let at = now()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        self.ledger()?.revoke(serial, reason.name(), &at)
    }

    /// A CRL listing every revoked certificate, valid for `days`, signed by
    /// the CA, as PEM.
    pub fn crl(&self, days: u32) -> Result<String> {
        if days == 0 {
            return Err(PkiError::invalid(
                "--days must be at least 1",
                "pass --days 7",
            ));
        }
        let ledger = self.ledger()?;
        let revoked = ledger.revoked()?;
        self.crl_of(&revoked, ledger.next_crl_number()?, days)
    }

    /// A CRL listing `revoked`, numbered `crl_number`, valid for `days`,
    /// signed by the CA, as PEM: [`Self::crl`] for a ledger that is not
    /// the SQLite file beside the CA (a PostgreSQL database its replicas
    /// share), whose caller reads the revoked entries and takes the next
    /// number itself.
    pub fn crl_of(&self, revoked: &[LedgerEntry], crl_number: u64, days: u32) -> Result<String> {
        if days == 0 {
            return Err(PkiError::invalid(
                "--days must be at least 1",
                "pass --days 7",
            ));
        }
        let mut revoked_certs = Vec::new();
        for entry in revoked {
            let serial = hex::decode(&entry.serial).map_err(|_| {
                PkiError::invalid(
                    format!("the ledger holds a malformed serial {:?}", entry.serial),
                    "the ledger was edited by hand; restore it from a backup",
                )
            })?;
            let at = entry
                .revoked_at
                .as_deref()
                .and_then(|t| {
                    time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
                        .ok()
                })
                .unwrap_or_else(now);
            revoked_certs.push(RevokedCertParams {
                serial_number: SerialNumber::from_slice(&serial),
                revocation_time: at,
                reason_code: Some(Reason::code(
                    entry.revocation_reason.as_deref().unwrap_or("unspecified"),
                )),
                invalidity_date: None,
            });
        }
        let this_update = now();
        let cert = self.certificate()?;
        let key_identifier_method =
            match cert
                .iter_extensions()
                .find_map(|e| match e.parsed_extension() {
                    x509_parser::extensions::ParsedExtension::SubjectKeyIdentifier(id) => {
                        Some(id.0.to_vec())
                    }
                    _ => None,
                }) {
                Some(ski) => KeyIdMethod::PreSpecified(ski),
                None => KeyIdMethod::Sha256,
            };
        let params = CertificateRevocationListParams {
            this_update,
            next_update: this_update + Duration::days(days.into()),
            crl_number: SerialNumber::from(crl_number),
            issuing_distribution_point: None,
            revoked_certs,
            key_identifier_method,
        };
        let issuer =
            Issuer::from_ca_cert_der(&self.cert_der.as_slice().into(), self.key.key_pair())?;
        Ok(params.signed_by(&issuer)?.pem()?)
    }
}
