//! What webpki leaves unchecked in the CRLs of the leaf's issuer, when
//! CRLs are given (`pki verify --crl`): the CRL number (RFC 5280 5.2.3:
//! present, not critical), a thisUpdate that is not in the future, the
//! issuer's right to sign CRLs, each serial listed once, and distribution
//! points that a client can match (URIs only).

use super::{Rule, Violation};
use crate::describe;
use time::OffsetDateTime;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::{DistributionPointName, GeneralName, ParsedExtension};
use x509_parser::prelude::FromDer;
use x509_parser::revocation_list::CertificateRevocationList;

const NO_CRL: &str = "unable to get certificate CRL";

/// The first fault of the CRLs that judge `leaf`, if any. `issuers` are
/// the CA certificates given (anchors and intermediates).
pub fn check(
    crls: &[Vec<u8>],
    leaf: &X509Certificate<'_>,
    issuers: &[X509Certificate<'_>],
    at: OffsetDateTime,
) -> Rule {
    if crls.is_empty() {
        return Ok(());
    }
    distribution_points_are_uris(leaf)?;
    for der in crls {
        let Ok((_, crl)) = CertificateRevocationList::from_der(der) else {
            continue; // webpki refuses it, with its reason
        };
        if crl.issuer().as_raw() != leaf.issuer().as_raw() {
            continue;
        }
        let issuer = describe::short_name(crl.issuer());
        crl_number(&crl, &issuer)?;
        if crl.last_update().to_datetime() > at {
            return Err(Violation::new(
                "crl-not-yet-valid",
                "CRL is not yet valid",
                format!(
                    "the CRL of {issuer} is not valid yet (thisUpdate {}); check the clocks",
                    describe::human_time(crl.last_update().to_datetime())
                ),
            ));
        }
        issuer_may_sign_crls(&crl, issuers, &issuer)?;
        serials_listed_once(&crl, &issuer)?;
        partition_matches(&crl, leaf, &issuer)?;
    }
    Ok(())
}

fn crl_number(crl: &CertificateRevocationList<'_>, issuer: &str) -> Rule {
    let number = crl
        .extensions()
        .iter()
        .find(|e| matches!(e.parsed_extension(), ParsedExtension::CRLNumber(_)));
    let problem = match number {
        None => format!(
            "the CRL of {issuer} has no CRL number (RFC 5280 requires one); publish a new CRL \
             with `squirrel pki crl`"
        ),
        Some(ext) if ext.critical => {
            format!("the CRL of {issuer} marks its CRL number critical, which RFC 5280 forbids")
        }
        Some(_) => return Ok(()),
    };
    Err(Violation::new("crl-number", NO_CRL, problem))
}

/// The CA that signed the CRL must be allowed to (keyUsage cRLSign). webpki
/// checks it for intermediates but not for a trust anchor.
fn issuer_may_sign_crls(
    crl: &CertificateRevocationList<'_>,
    issuers: &[X509Certificate<'_>],
    issuer: &str,
) -> Rule {
    for cert in issuers
        .iter()
        .filter(|c| c.subject().as_raw() == crl.issuer().as_raw())
    {
        if let Ok(Some(ku)) = cert.key_usage() {
            if !ku.value.crl_sign() {
                return Err(Violation::new(
                    "crl-issuer-not-crl-signer",
                    "key usage does not include CRL signing",
                    format!("{issuer} may not sign CRLs (its keyUsage lacks cRLSign)"),
                ));
            }
        }
    }
    Ok(())
}

fn serials_listed_once(crl: &CertificateRevocationList<'_>, issuer: &str) -> Rule {
    let mut serials: Vec<&[u8]> = crl
        .iter_revoked_certificates()
        .map(|r| r.raw_serial())
        .collect();
    serials.sort_unstable();
    if serials.windows(2).any(|pair| pair[0] == pair[1]) {
        return Err(Violation::new(
            "crl-duplicate-serial",
            "CRL is malformed",
            format!("the CRL of {issuer} lists a serial number twice, which RFC 5280 forbids"),
        ));
    }
    Ok(())
}

/// A CRL with an issuing distribution point covers only the certificates
/// that name that point: a certificate without any cannot be judged by it.
fn partition_matches(
    crl: &CertificateRevocationList<'_>,
    leaf: &X509Certificate<'_>,
    issuer: &str,
) -> Rule {
    let idp = crl
        .extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::IssuingDistributionPoint(idp) => Some(idp),
            _ => None,
        });
    let Some(idp) = idp else {
        return Ok(());
    };
    if let Some(DistributionPointName::FullName(names)) = &idp.distribution_point {
        if names.iter().any(|n| !matches!(n, GeneralName::URI(_))) {
            return Err(Violation::new(
                "crl-idp-not-uri",
                NO_CRL,
                format!("the CRL of {issuer} names its distribution point otherwise than by URI"),
            ));
        }
    }
    let has_points = leaf.extensions().iter().any(|e| {
        matches!(
            e.parsed_extension(),
            ParsedExtension::CRLDistributionPoints(_)
        )
    });
    if idp.distribution_point.is_some() && !has_points {
        return Err(Violation::new(
            "crl-partition",
            NO_CRL,
            format!(
                "the CRL of {issuer} covers one distribution point only, and the certificate \
                 names none: its revocation status is unknown"
            ),
        ));
    }
    Ok(())
}

/// The certificate's CRL distribution points are URIs a client can fetch.
fn distribution_points_are_uris(leaf: &X509Certificate<'_>) -> Rule {
    for ext in leaf.extensions() {
        let ParsedExtension::CRLDistributionPoints(points) = ext.parsed_extension() else {
            continue;
        };
        for point in points.iter() {
            if let Some(DistributionPointName::FullName(names)) = &point.distribution_point {
                if names.iter().any(|n| !matches!(n, GeneralName::URI(_))) {
                    return Err(Violation::new(
                        "cdp-not-uri",
                        NO_CRL,
                        format!(
                            "{} names a CRL distribution point otherwise than by URI",
                            super::name_of(leaf)
                        ),
                    ));
                }
            }
        }
    }
    Ok(())
}
