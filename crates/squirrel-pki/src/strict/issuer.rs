//! The CAs between the leaf and the trust anchor (intermediates), the name
//! constraints any CA of the path carries, and the length of the path.

use super::{
    aki_not_critical, has_aki, has_ski, may_sign_certificates, name_of, ski_not_critical,
    strong_key, well_formed_extensions, Rule, Violation,
};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::{GeneralName, ParsedExtension};

/// The first rule an intermediate CA breaks, if any.
pub fn check_intermediate(cert: &X509Certificate<'_>) -> Rule {
    well_formed_extensions(cert)?;
    has_aki(cert, "the intermediate CA")?;
    has_ski(cert, "the intermediate CA")?;
    aki_not_critical(cert)?;
    ski_not_critical(cert)?;
    basic_constraints_critical(cert)?;
    policy_constraints_critical(cert)?;
    may_sign_certificates(
        cert,
        "the intermediate CA",
        "intermediate-ku-without-keycertsign",
    )?;
    strong_key(cert, "the intermediate CA")?;
    tls_eku_only(cert)?;
    name_constraints_well_formed(cert)
}

/// RFC 5280 4.2.1.11: policy constraints are marked critical.
fn policy_constraints_critical(cert: &X509Certificate<'_>) -> Rule {
    let non_critical = cert.extensions().iter().any(|e| {
        !e.critical && matches!(e.parsed_extension(), ParsedExtension::PolicyConstraints(_))
    });
    if !non_critical {
        return Ok(());
    }
    Err(Violation::new(
        "policy-constraints-not-critical",
        "invalid certificate extension",
        format!(
            "the intermediate CA {} does not mark its policy constraints critical, which RFC \
             5280 requires",
            name_of(cert)
        ),
    ))
}

/// BR 7.1.2.2.6: a CA for TLS certificates, when its extendedKeyUsage
/// limits it, is limited to TLS: not any use, not code signing, e-mail,
/// time stamping, OCSP responses or Certificate Transparency precertificates.
fn tls_eku_only(cert: &X509Certificate<'_>) -> Rule {
    const PRECERTIFICATE_SIGNING: &str = "1.3.6.1.4.1.11129.2.4.4";
    let Ok(Some(eku)) = cert.extended_key_usage() else {
        return Ok(());
    };
    let eku = eku.value;
    let forbidden = if eku.any {
        "anyExtendedKeyUsage"
    } else if eku.code_signing {
        "codeSigning"
    } else if eku.email_protection {
        "emailProtection"
    } else if eku.time_stamping {
        "timeStamping"
    } else if eku.ocsp_signing {
        "OCSPSigning"
    } else if eku
        .other
        .iter()
        .any(|o| o.to_id_string() == PRECERTIFICATE_SIGNING)
    {
        "precertificate signing"
    } else {
        return Ok(());
    };
    Err(Violation::new(
        "intermediate-eku",
        "unsupported certificate purpose",
        format!(
            "the intermediate CA {} allows {forbidden} in its extendedKeyUsage; a CA for TLS \
             certificates may allow serverAuth and clientAuth only",
            name_of(cert)
        ),
    ))
}

/// RFC 5280 4.2.1.9: a CA marks basicConstraints critical.
fn basic_constraints_critical(cert: &X509Certificate<'_>) -> Rule {
    match cert.basic_constraints() {
        Ok(Some(bc)) if bc.value.ca && !bc.critical => Err(Violation::new(
            "intermediate-bc-not-critical",
            "invalid CA certificate",
            format!(
                "the intermediate CA {} does not mark basicConstraints critical, which RFC 5280 \
                 requires of a CA",
                name_of(cert)
            ),
        )),
        _ => Ok(()),
    }
}

/// RFC 5280 4.2.1.10: a name constraints extension names at least one
/// subtree, and each subtree is a name form it can constrain.
pub fn name_constraints_well_formed(cert: &X509Certificate<'_>) -> Rule {
    let Ok(Some(nc)) = cert.name_constraints() else {
        return Ok(());
    };
    let permitted = nc.value.permitted_subtrees.as_deref().unwrap_or(&[]);
    let excluded = nc.value.excluded_subtrees.as_deref().unwrap_or(&[]);
    if permitted.is_empty() && excluded.is_empty() {
        return Err(Violation::new(
            "name-constraints-empty",
            "name constraints are malformed",
            format!(
                "the CA {} has a name constraints extension with no subtree at all, which RFC \
                 5280 forbids",
                name_of(cert)
            ),
        ));
    }
    for subtree in permitted.iter().chain(excluded) {
        let bad = match &subtree.base {
            GeneralName::DNSName(d) => d.starts_with("*") || d.ends_with('.') && !d.is_empty(),
            GeneralName::IPAddress(b) => ![8, 32].contains(&b.len()),
            _ => false,
        };
        if bad {
            return Err(Violation::new(
                "name-constraints-malformed",
                "name constraints are malformed",
                format!(
                    "the CA {} has a malformed name constraint ({:?})",
                    name_of(cert),
                    subtree.base
                ),
            ));
        }
    }
    Ok(())
}

/// `--max-depth N`: at most N intermediate CAs between leaf and anchor.
pub fn depth_allowed(intermediates: usize, max_depth: Option<usize>) -> Rule {
    match max_depth {
        Some(max) if intermediates > max => Err(Violation::new(
            "max-depth",
            "certificate chain too long",
            format!(
                "the chain needs {intermediates} intermediate CAs, more than the {max} allowed by \
                 --max-depth"
            ),
        )),
        _ => Ok(()),
    }
}
