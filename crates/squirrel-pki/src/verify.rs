//! Chain verification with rustls-webpki, the engine of squirrel's own TLS
//! client, so that `squirrel pki verify` says exactly what `squirrel get`
//! will find.
//!
//! Each failure is told in plain words and with the phrase OpenSSL, curl
//! and Python print for the same problem (tutorial step 14's "unable to get
//! local issuer certificate"), so a learner can match errors seen elsewhere.

use crate::describe::{self, parse_certificate};
use crate::error::{PkiError, Result};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use std::time::Duration;
use time::OffsetDateTime;
use webpki::{EndEntityCert, KeyUsage, RevocationCheckDepth, RevocationOptionsBuilder};

/// Which use the leaf is checked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Purpose {
    #[default]
    Server,
    Client,
}

/// A verification to run.
pub struct Verification<'a> {
    pub anchors: &'a [Vec<u8>],
    pub intermediates: &'a [Vec<u8>],
    pub leaf: &'a [u8],
    pub hostname: Option<&'a str>,
    pub at: OffsetDateTime,
    pub crls: &'a [Vec<u8>],
    pub purpose: Purpose,
}

/// Why a chain does not verify.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyFailure {
    /// The problem in plain words, with the fix.
    pub explanation: String,
    /// What OpenSSL (and so curl and Python requests) prints for it.
    pub openssl_phrase: &'static str,
    /// webpki's name for it.
    pub webpki_error: String,
}

/// The outcome of a verification: the failure if any, and warnings.
#[derive(Clone, Debug)]
pub struct VerifyReport {
    pub failure: Option<VerifyFailure>,
    pub warnings: Vec<String>,
}

/// Verifies a chain. `Err` is for unusable input; a chain that does not
/// verify is an `Ok` report with a failure.
pub fn verify(v: &Verification<'_>) -> Result<VerifyReport> {
    let mut warnings = Vec::new();
    let mut anchors = Vec::new();
    for der in v.anchors {
        let cert = parse_certificate(der)?;
        let is_ca = matches!(cert.basic_constraints(), Ok(Some(bc)) if bc.value.ca);
        if !is_ca {
            warnings.push(format!(
                "the trust anchor {} has no basicConstraints CA:TRUE: squirrel accepts it, but \
                 OpenSSL 3, curl and Python reject it (\"invalid CA certificate\"); reissue the \
                 CA with `squirrel pki ca init`",
                describe::short_name(cert.subject())
            ));
        }
        let anchor = webpki::anchor_from_trusted_cert(&CertificateDer::from(der.as_slice()))
            .map_err(|e| {
                PkiError::invalid(
                    format!("a --ca certificate cannot be used as a trust anchor ({e:?})"),
                    "give the CA's certificate in PEM",
                )
            })?
            .to_owned();
        anchors.push(anchor);
    }
    let leaf_der = CertificateDer::from(v.leaf);
    let leaf = EndEntityCert::try_from(&leaf_der).map_err(|e| {
        PkiError::invalid(
            format!("the certificate cannot be parsed for verification ({e:?})"),
            "give a PEM certificate",
        )
    })?;
    let intermediates: Vec<CertificateDer<'_>> = v
        .intermediates
        .iter()
        .map(|d| CertificateDer::from(d.as_slice()))
        .collect();
    let crls = v
        .crls
        .iter()
        .map(|der| {
            webpki::OwnedCertRevocationList::from_der(der)
                .map(webpki::CertRevocationList::from)
                .map_err(|e| {
                    PkiError::invalid(
                        format!("the CRL cannot be parsed ({e:?})"),
                        "give a PEM or DER CRL as written by `squirrel pki crl`",
                    )
                })
        })
        .collect::<Result<Vec<_>>>()?;
    let crl_refs: Vec<&webpki::CertRevocationList<'_>> = crls.iter().collect();
    // The builder refuses an empty list: no CRL, no revocation check.
    let revocation = RevocationOptionsBuilder::new(&crl_refs).ok().map(|b| {
        b.with_depth(RevocationCheckDepth::Chain)
            .with_status_policy(webpki::UnknownStatusPolicy::Allow)
            .build()
    });
    let secs = v.at.unix_timestamp().max(0) as u64;
    let time = UnixTime::since_unix_epoch(Duration::from_secs(secs));
    let usage = match v.purpose {
        Purpose::Server => KeyUsage::server_auth(),
        Purpose::Client => KeyUsage::client_auth(),
    };
    let result = leaf
        .verify_for_usage(
            webpki::ALL_VERIFICATION_ALGS,
            &anchors,
            &intermediates,
            time,
            usage,
            revocation,
            None,
        )
        .map(|_| ())
        .and_then(|()| match v.hostname {
            Some(host) => {
                let name = ServerName::try_from(host)
                    .map_err(|_| webpki::Error::MalformedDnsIdentifier)?;
                leaf.verify_is_valid_for_subject_name(&name)
            }
            None => Ok(()),
        });
    let failure = match result {
        Ok(()) => None,
        Err(e) => Some(explain(&e, v)?),
    };
    Ok(VerifyReport { failure, warnings })
}

/// Turns a webpki error into words, with OpenSSL's phrase.
pub fn explain(err: &webpki::Error, v: &Verification<'_>) -> Result<VerifyFailure> {
    use webpki::Error as E;
    let leaf = parse_certificate(v.leaf)?;
    let leaf_name = describe::short_name(leaf.subject());
    let issuer = describe::short_name(leaf.issuer());
    // A self-signed certificate that is not itself trusted fails first of
    // all for being self-signed, whatever else is wrong with it (OpenSSL's
    // error 18).
    let self_signed = leaf.subject().as_raw() == leaf.issuer().as_raw()
        && !v.anchors.iter().any(|a| a.as_slice() == v.leaf);
    let validity = format!(
        "valid from {} to {}",
        describe::human_time(leaf.validity().not_before.to_datetime()),
        describe::human_time(leaf.validity().not_after.to_datetime())
    );
    let (explanation, phrase) =
        match err {
            _ if self_signed => (
                format!(
                    "{leaf_name} is self-signed and is not one of the trusted CAs; trust it \
                 explicitly with --ca, or have it signed by your CA"
                ),
                "self-signed certificate",
            ),
            E::UnknownIssuer => (
                format!(
                    "{leaf_name} was issued by {issuer}, which is not among the trusted CAs; trust \
                 that CA with --ca FILE"
                ),
                "unable to get local issuer certificate",
            ),
            E::CertExpired { .. } => (
                format!("{leaf_name} has expired ({validity}); issue a new certificate"),
                "certificate has expired",
            ),
            E::CertNotValidYet { .. } => (
                format!("{leaf_name} is not valid yet ({validity}); check the clocks"),
                "certificate is not yet valid",
            ),
            E::CertNotValidForName(_) => {
                let names = describe::alt_names(&leaf);
                (
                    format!(
                    "{leaf_name} is not valid for {:?}: it names {}; connect with one of those \
                     names, or issue a certificate that includes this one",
                    v.hostname.unwrap_or(""),
                    if names.is_empty() {
                        "no alternative names".to_string()
                    } else {
                        names.join(", ")
                    }
                ),
                    "hostname mismatch",
                )
            }
            E::CertRevoked => (
                format!("{leaf_name} has been revoked by its CA ({issuer})"),
                "certificate revoked",
            ),
            E::InvalidSignatureForPublicKey
            | E::UnsupportedSignatureAlgorithmForPublicKeyContext(_) => (
                format!(
                    "the signature on {leaf_name} does not verify with the key of {issuer}: the \
                 certificate was altered, or another CA with the same name signed it"
                ),
                "certificate signature failure",
            ),
            E::RequiredEkuNotFoundContext(_) => (
                format!(
                "{leaf_name} may not be used as a TLS {} certificate (extendedKeyUsage); issue it \
                 with --profile {}",
                if v.purpose == Purpose::Server { "server" } else { "client" },
                if v.purpose == Purpose::Server { "server" } else { "client" },
            ),
                "unsupported certificate purpose",
            ),
            E::CaUsedAsEndEntity => (
                format!("{leaf_name} is a CA certificate and cannot be used by a server or client"),
                "unsupported certificate purpose",
            ),
            E::NameConstraintViolation => (
                format!("{leaf_name} names a host outside its CA's name constraints"),
                "permitted subtree violation",
            ),
            E::PathLenConstraintViolated => (
                "the chain is longer than a CA's pathLenConstraint allows".to_string(),
                "path length constraint exceeded",
            ),
            E::EndEntityUsedAsCa => (
                "a certificate in the chain that signs others is not a CA".to_string(),
                "invalid CA certificate",
            ),
            other => (
                format!("the chain does not verify ({other:?})"),
                "certificate verify failed",
            ),
        };
    Ok(VerifyFailure {
        explanation,
        openssl_phrase: phrase,
        webpki_error: format!("{err:?}"),
    })
}
