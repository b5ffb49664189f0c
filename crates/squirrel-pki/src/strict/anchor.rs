//! What makes a certificate fit to be a trust anchor. webpki trusts any
//! certificate it is given as a root; OpenSSL 3 refuses a root that is not
//! marked as a CA ("invalid CA certificate"), and so do curl and Python.
//! The tutorial's CA (step 10) has no extensions at all: it is the one case
//! squirrel can accept, with a warning, when asked to.

use super::{
    aki_not_critical, has_aki, has_ski, may_sign_certificates, name_of, ski_not_critical,
    strong_key, well_formed_extensions, Rule, Violation,
};
use time::OffsetDateTime;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::ParsedExtension;

/// What a certificate is worth as a trust anchor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AnchorVerdict {
    /// Fit to be trusted.
    Fit,
    /// A certificate without any extension, like the tutorial's CA:
    /// refused unless the user accepts legacy CAs.
    Legacy(Violation),
    /// Not fit to be trusted.
    Unfit(Violation),
}

/// The phrase OpenSSL 3 prints for a root that is not a proper CA.
pub const INVALID_CA: &str = "invalid CA certificate";

/// Judges a trust anchor at time `at`.
pub fn judge(cert: &X509Certificate<'_>, at: OffsetDateTime) -> AnchorVerdict {
    if let Err(v) = within_validity(cert, at) {
        return AnchorVerdict::Unfit(v);
    }
    if cert.extensions().is_empty() {
        return AnchorVerdict::Legacy(Violation::new(
            "anchor-without-extensions",
            INVALID_CA,
            format!(
                "the CA {} has no extensions, so nothing says it is a CA (no basicConstraints \
                 CA:TRUE), like the tutorial's CA: OpenSSL 3, curl and Python refuse it \
                 (\"invalid CA certificate\"); reissue the CA with `squirrel pki ca init`, or \
                 accept it anyway with --legacy-ca",
                name_of(cert)
            ),
        ));
    }
    let rules = [
        non_empty_subject(cert),
        well_formed_extensions(cert),
        is_ca(cert),
        may_sign_certificates(cert, "the CA", "anchor-ku-without-keycertsign"),
        no_unknown_critical_extension(cert),
        has_ski(cert, "the CA"),
        ski_not_critical(cert),
        aki_not_critical(cert),
        aki_names_its_own_key(cert),
        no_eku(cert),
        strong_key(cert, "the CA"),
        super::issuer::name_constraints_well_formed(cert),
    ];
    match rules.into_iter().find_map(Result::err) {
        Some(v) => AnchorVerdict::Unfit(v),
        None => AnchorVerdict::Fit,
    }
}

/// The warning for a legacy CA accepted with `--legacy-ca`, if `der` is one.
pub fn legacy_warning(der: &[u8]) -> Option<String> {
    let cert = crate::describe::parse_certificate(der).ok()?;
    if !cert.extensions().is_empty() {
        return None;
    }
    Some(format!(
        "the trust anchor {} has no basicConstraints CA:TRUE: squirrel accepts it because of \
         --legacy-ca, but OpenSSL 3, curl and Python reject it (\"invalid CA certificate\"); \
         reissue the CA with `squirrel pki ca init`",
        name_of(&cert)
    ))
}

fn within_validity(cert: &X509Certificate<'_>, at: OffsetDateTime) -> Rule {
    let validity = cert.validity();
    let when = format!(
        "valid from {} to {}",
        crate::describe::human_time(validity.not_before.to_datetime()),
        crate::describe::human_time(validity.not_after.to_datetime())
    );
    if validity.not_after.to_datetime() < at {
        return Err(Violation::new(
            "anchor-expired",
            "certificate has expired",
            format!(
                "the CA {} has expired ({when}); make a new CA with `squirrel pki ca init`",
                name_of(cert)
            ),
        ));
    }
    if validity.not_before.to_datetime() > at {
        return Err(Violation::new(
            "anchor-not-yet-valid",
            "certificate is not yet valid",
            format!(
                "the CA {} is not valid yet ({when}); check the clocks",
                name_of(cert)
            ),
        ));
    }
    Ok(())
}

fn non_empty_subject(cert: &X509Certificate<'_>) -> Rule {
    if cert.subject().iter_attributes().next().is_some() {
        return Ok(());
    }
    Err(Violation::new(
        "anchor-empty-subject",
        INVALID_CA,
        "the CA has an empty subject name, which RFC 5280 forbids for a CA; reissue it with a \
         name (`squirrel pki ca init --cn NAME`)",
    ))
}

/// basicConstraints with CA:TRUE, marked critical (RFC 5280 4.2.1.9).
fn is_ca(cert: &X509Certificate<'_>) -> Rule {
    match cert.basic_constraints() {
        Ok(Some(bc)) if bc.value.ca && bc.critical => Ok(()),
        Ok(Some(bc)) if bc.value.ca => Err(Violation::new(
            "anchor-bc-not-critical",
            INVALID_CA,
            format!(
                "the CA {} does not mark basicConstraints critical, which RFC 5280 requires of \
                 a CA; reissue it with `squirrel pki ca init`",
                name_of(cert)
            ),
        )),
        _ => Err(Violation::new(
            "anchor-not-ca",
            INVALID_CA,
            format!(
                "{} is not a CA certificate (no basicConstraints CA:TRUE) and cannot be trusted \
                 as one; give the CA's own certificate with --ca",
                name_of(cert)
            ),
        )),
    }
}

/// A critical extension squirrel does not understand must not be ignored.
fn no_unknown_critical_extension(cert: &X509Certificate<'_>) -> Rule {
    let unknown = cert.extensions().iter().find(|e| {
        e.critical
            && matches!(
                e.parsed_extension(),
                ParsedExtension::UnsupportedExtension { .. } | ParsedExtension::Unparsed
            )
    });
    match unknown {
        Some(ext) => Err(Violation::new(
            "anchor-unknown-critical-extension",
            "unhandled critical extension",
            format!(
                "the CA {} has a critical extension squirrel does not know ({}), so it cannot \
                 honour it",
                name_of(cert),
                ext.oid.to_id_string()
            ),
        )),
        None => Ok(()),
    }
}

/// A self-signed root's authority key identifier, if any, is a key
/// identifier alone, equal to its subject key identifier (BR 7.1.2.1.3); a
/// cross-signed CA trusted as an anchor names its issuer's key (RFC 5280).
fn aki_names_its_own_key(cert: &X509Certificate<'_>) -> Rule {
    if cert.subject().as_raw() != cert.issuer().as_raw() {
        return has_aki(cert, "the CA");
    }
    let aki = cert
        .extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::AuthorityKeyIdentifier(aki) => Some(aki),
            _ => None,
        });
    let Some(aki) = aki else {
        return Ok(());
    };
    let ski = cert
        .extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(id) => Some(id.0),
            _ => None,
        });
    let problem = if aki.authority_cert_issuer.is_some() || aki.authority_cert_serial.is_some() {
        "names an issuer and serial in its authority key identifier"
    } else {
        match (&aki.key_identifier, ski) {
            (None, _) => "has an authority key identifier without a key identifier",
            (Some(id), Some(ski)) if id.0 != ski => {
                "has an authority key identifier that differs from its subject key identifier"
            }
            _ => return Ok(()),
        }
    };
    Err(Violation::new(
        "anchor-aki",
        INVALID_CA,
        format!(
            "the self-signed CA {} {problem}, which the Baseline Requirements forbid",
            name_of(cert)
        ),
    ))
}

/// A root carries no extendedKeyUsage (BR 7.1.2.1).
fn no_eku(cert: &X509Certificate<'_>) -> Rule {
    match cert.extended_key_usage() {
        Ok(None) => Ok(()),
        _ => Err(Violation::new(
            "anchor-eku",
            INVALID_CA,
            format!(
                "the CA {} has an extendedKeyUsage, which the Baseline Requirements forbid in a \
                 root; reissue it without one",
                name_of(cert)
            ),
        )),
    }
}
