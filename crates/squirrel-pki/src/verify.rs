//! Chain verification with rustls-webpki, the engine of squirrel's own TLS
//! client, so that `squirrel pki verify` says exactly what `squirrel get`
//! will find.
//!
//! Each failure is told in plain words and with the phrase OpenSSL, curl
//! and Python print for the same problem (tutorial step 14's "unable to get
//! local issuer certificate"), so a learner can match errors seen elsewhere.

use crate::describe::{self, parse_certificate};
use crate::error::{PkiError, Result};
use crate::strict::anchor::{self, AnchorVerdict};
use crate::strict::{crl, dirname, issuer, leaf, Rule, Violation};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use std::cell::RefCell;
use std::time::Duration;
use time::OffsetDateTime;
use webpki::{EndEntityCert, KeyUsage, RevocationCheckDepth, RevocationOptionsBuilder};
use x509_parser::certificate::X509Certificate;

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
    /// The most intermediate CAs a path may have (`--max-depth`).
    pub max_depth: Option<usize>,
    /// How the trust anchors are judged.
    pub anchor_policy: AnchorPolicy,
}

/// How the trust anchors of a verification are judged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum AnchorPolicy {
    /// A CA given by the user must be fit to be a CA (RFC 5280, BR).
    #[default]
    Strict,
    /// As `Strict`, but a CA certificate without extensions, like the
    /// tutorial's, is accepted with a warning (`--legacy-ca`).
    AcceptLegacy,
    /// The system's store, curated by the distribution: trusted as it is,
    /// as rustls, curl and browsers do.
    System,
}

impl<'a> Verification<'a> {
    /// A verification with squirrel's defaults: now, for a server, no
    /// CRL, no depth limit, legacy CAs refused.
    pub fn new(anchors: &'a [Vec<u8>], intermediates: &'a [Vec<u8>], leaf: &'a [u8]) -> Self {
        Verification {
            anchors,
            intermediates,
            leaf,
            hostname: None,
            at: crate::ca::now(),
            crls: &[],
            purpose: Purpose::Server,
            max_depth: None,
            anchor_policy: AnchorPolicy::Strict,
        }
    }
}

/// Why a chain does not verify.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyFailure {
    /// The problem in plain words, with the fix.
    pub explanation: String,
    /// What OpenSSL (and so curl and Python requests) prints for it.
    pub openssl_phrase: &'static str,
    /// webpki's name for it, or squirrel's name of the rule broken.
    pub webpki_error: String,
}

impl From<Violation> for VerifyFailure {
    fn from(v: Violation) -> Self {
        VerifyFailure {
            explanation: v.explanation,
            openssl_phrase: v.openssl_phrase,
            webpki_error: v.rule.to_string(),
        }
    }
}

/// The outcome of a verification: the failure if any, and warnings.
#[derive(Clone, Debug)]
pub struct VerifyReport {
    pub failure: Option<VerifyFailure>,
    pub warnings: Vec<String>,
}

/// The error a path refused by squirrel's own rules is reported to webpki
/// with, so that it goes on trying other paths; the rule itself is kept
/// aside. (No CRL squirrel accepts partitions revocation reasons.)
const REFUSED_BY_SQUIRREL: webpki::Error = webpki::Error::UnsupportedRevocationReasonsPartitioning;

/// The trust anchors, as judged by [`strict::anchor`].
struct Anchors {
    /// What webpki is given.
    usable: Vec<rustls_pki_types::TrustAnchor<'static>>,
    /// Parallel to `usable`: what squirrel checks itself.
    facts: Vec<AnchorFacts>,
    /// Anchors refused, with the reason and their subject (DER).
    refused: Vec<(Vec<u8>, Violation)>,
}

/// What squirrel keeps of a usable anchor, beyond what webpki sees.
struct AnchorFacts {
    /// Accepted only because of `--legacy-ca`.
    legacy: bool,
    /// The anchor's own pathLenConstraint.
    path_len: Option<u32>,
    /// Its directoryName constraints (`strict::dirname`).
    dir_constraints: Option<dirname::DirConstraints>,
}

impl Anchors {
    /// What squirrel knows of the usable anchor a path ends at.
    fn facts_of(&self, anchor: &rustls_pki_types::TrustAnchor<'_>) -> Option<&AnchorFacts> {
        let i = self.usable.iter().position(|a| {
            a.subject == anchor.subject
                && a.subject_public_key_info == anchor.subject_public_key_info
        })?;
        self.facts.get(i)
    }
}

fn judge_anchors(v: &Verification<'_>, warnings: &mut Vec<String>) -> Result<Anchors> {
    let mut anchors = Anchors {
        usable: Vec::new(),
        facts: Vec::new(),
        refused: Vec::new(),
    };
    let system = v.anchor_policy == AnchorPolicy::System;
    for der in v.anchors {
        // The system's store may hold files that are no CA at all (Debian's
        // ssl-cert-snakeoil.pem, CA:FALSE): passed over in silence. What
        // the user gave is judged, and told about.
        let cert = match parse_certificate(der) {
            Ok(cert) => cert,
            Err(_) if system => continue,
            Err(e) => return Err(e),
        };
        if system && matches!(cert.basic_constraints(), Ok(Some(bc)) if !bc.value.ca) {
            continue;
        }
        let verdict = match v.anchor_policy {
            AnchorPolicy::System => AnchorVerdict::Fit,
            _ => anchor::judge(&cert, v.at),
        };
        let legacy = match verdict {
            AnchorVerdict::Fit => false,
            AnchorVerdict::Legacy(_) if v.anchor_policy == AnchorPolicy::AcceptLegacy => {
                warnings.extend(anchor::legacy_warning(der));
                true
            }
            AnchorVerdict::Legacy(violation) | AnchorVerdict::Unfit(violation) => {
                anchors
                    .refused
                    .push((cert.subject().as_raw().to_vec(), violation));
                continue;
            }
        };
        let mut anchor =
            match webpki::anchor_from_trusted_cert(&CertificateDer::from(der.as_slice())) {
                Ok(anchor) => anchor.to_owned(),
                Err(_) if system => continue,
                Err(e) => {
                    return Err(PkiError::invalid(
                        format!("a --ca certificate cannot be used as a trust anchor ({e:?})"),
                        "give the CA's certificate in PEM",
                    ))
                }
            };
        // webpki refuses every directoryName constraint: those are taken
        // out of what it sees, and checked by `check_path`.
        let split = anchor
            .name_constraints
            .as_ref()
            .and_then(|nc| dirname::split(nc.as_ref()));
        let dir = match split {
            Some((dir, rest)) if !dir.is_empty() => {
                anchor.name_constraints = rest.map(rustls_pki_types::Der::from);
                Some(dir)
            }
            _ => None,
        };
        anchors.usable.push(anchor);
        anchors.facts.push(AnchorFacts {
            legacy,
            path_len: match cert.basic_constraints() {
                Ok(Some(bc)) if bc.value.ca => bc.value.path_len_constraint,
                _ => None,
            },
            dir_constraints: dir,
        });
    }
    Ok(anchors)
}

/// Squirrel's rules for a path webpki found: its intermediates, its length
/// (`--max-depth`), and the anchor's own pathLenConstraint, which webpki
/// ignores and OpenSSL enforces (self-issued intermediates, a CA's key
/// rollover, do not count: RFC 5280 6.1.4).
fn check_path(
    path: &webpki::VerifiedPath<'_>,
    leaf: &X509Certificate<'_>,
    max_depth: Option<usize>,
    anchors: &Anchors,
) -> Rule {
    let facts = anchors.facts_of(path.anchor());
    let dir = facts.and_then(|f| f.dir_constraints.as_ref());
    if let Some(dir) = dir {
        dir.check(leaf)?;
    }
    let (mut count, mut counted) = (0, 0);
    for cert in path.intermediate_certificates() {
        count += 1;
        let der = cert.der();
        let Ok(parsed) = parse_certificate(der.as_ref()) else {
            continue; // webpki parsed it: x509-parser's refusal is no rule
        };
        if parsed.subject().as_raw() != parsed.issuer().as_raw() {
            counted += 1;
        }
        issuer::check_intermediate(&parsed)?;
        if let Some(dir) = dir {
            dir.check(&parsed)?;
        }
    }
    issuer::depth_allowed(count, max_depth)?;
    let anchor_limit = facts.and_then(|f| f.path_len);
    match anchor_limit {
        Some(limit) if counted > limit as usize => Err(Violation::new(
            "anchor-path-len",
            "path length constraint exceeded",
            format!(
                "the trusted CA allows {limit} intermediate CA(s) below it (pathLenConstraint), \
                 and the chain has {counted}"
            ),
        )),
        _ => Ok(()),
    }
}

/// Verifies a chain. `Err` is for unusable input; a chain that does not
/// verify is an `Ok` report with a failure.
pub fn verify(v: &Verification<'_>) -> Result<VerifyReport> {
    let mut warnings = Vec::new();
    let anchors = judge_anchors(v, &mut warnings)?;
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
    let leaf_cert = parse_certificate(v.leaf)?;
    let issuers: Vec<_> = v
        .anchors
        .iter()
        .chain(v.intermediates)
        .filter_map(|der| parse_certificate(der).ok())
        .collect();
    if let Err(violation) = crl::check(v.crls, &leaf_cert, &issuers, v.at) {
        return Ok(VerifyReport {
            failure: Some(violation.into()),
            warnings,
        });
    }
    let crl_refs: Vec<&webpki::CertRevocationList<'_>> = crls.iter().collect();
    // When CRLs are given, the leaf's issuer must have one among them,
    // correctly signed by a key allowed to sign CRLs and current: a CRL of
    // another CA proves nothing (OpenSSL's `verify -crl_check`).
    let revocation = RevocationOptionsBuilder::new(&crl_refs)
        .ok()
        .map(|builder| {
            builder
                .with_depth(RevocationCheckDepth::EndEntity)
                .with_status_policy(webpki::UnknownStatusPolicy::Deny)
                .with_expiration_policy(webpki::ExpirationPolicy::Enforce)
                .build()
        });
    let secs = v.at.unix_timestamp().max(0) as u64;
    let time = UnixTime::since_unix_epoch(Duration::from_secs(secs));
    let usage = match v.purpose {
        Purpose::Server => KeyUsage::server_auth(),
        Purpose::Client => KeyUsage::client_auth(),
    };
    // webpki tries every candidate path (each CA certificate whose subject
    // is the issuer's name); squirrel's rules refuse a candidate and let it
    // try the next one, remembering why.
    let refusal: RefCell<Option<Violation>> = RefCell::new(None);
    let judge_path = |path: &webpki::VerifiedPath<'_>| {
        check_path(path, &leaf_cert, v.max_depth, &anchors).map_err(|violation| {
            refusal.borrow_mut().get_or_insert(violation);
            REFUSED_BY_SQUIRREL
        })
    };
    let path = leaf.verify_for_usage(
        webpki::ALL_VERIFICATION_ALGS,
        &anchors.usable,
        &intermediates,
        time,
        usage,
        revocation,
        Some(&judge_path),
    );
    let result = path.and_then(|path| {
        if let Some(host) = v.hostname {
            let name =
                ServerName::try_from(host).map_err(|_| webpki::Error::MalformedDnsIdentifier)?;
            leaf.verify_is_valid_for_subject_name(&name)?;
        }
        Ok(anchors.facts_of(path.anchor()).is_some_and(|f| f.legacy))
    });
    let failure = match result {
        Ok(legacy) => leaf_failure(v, legacy, &mut warnings)?,
        Err(REFUSED_BY_SQUIRREL) if refusal.borrow().is_some() => {
            refusal.take().map(VerifyFailure::from)
        }
        Err(e) => match refused_anchor(v, &anchors.refused)? {
            Some(violation) => Some(violation.into()),
            None => Some(explain(&e, v)?),
        },
    };
    Ok(VerifyReport { failure, warnings })
}

/// The leaf's own rules; with a legacy anchor, the Baseline Requirements'
/// rules only warn (the tutorial's server certificate breaks two).
fn leaf_failure(
    v: &Verification<'_>,
    legacy: bool,
    warnings: &mut Vec<String>,
) -> Result<Option<VerifyFailure>> {
    let cert = parse_certificate(v.leaf)?;
    let Err(violation) = leaf::check(&cert, v.purpose, leaf::Profile::Baseline) else {
        return Ok(None);
    };
    if legacy && leaf::check(&cert, v.purpose, leaf::Profile::Rfc5280).is_ok() {
        warnings.push(format!(
            "{} (accepted because the chain ends at a legacy CA)",
            violation.explanation
        ));
        return Ok(None);
    }
    Ok(Some(violation.into()))
}

/// The chain leads to a CA given with --ca that is not fit to be trusted:
/// that is the first thing to say (OpenSSL's "invalid CA certificate"),
/// rather than "unknown issuer" or a fault further down.
fn refused_anchor(
    v: &Verification<'_>,
    refused: &[(Vec<u8>, Violation)],
) -> Result<Option<Violation>> {
    if refused.is_empty() {
        return Ok(None);
    }
    let mut issuers = vec![parse_certificate(v.leaf)?.issuer().as_raw().to_vec()];
    for der in v.intermediates {
        if let Ok(cert) = parse_certificate(der) {
            issuers.push(cert.issuer().as_raw().to_vec());
        }
    }
    Ok(refused
        .iter()
        .find(|(subject, _)| issuers.contains(subject))
        .map(|(_, violation)| violation.clone()))
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
            E::UnknownRevocationStatus => (
                format!(
                    "no CRL given is from {issuer}, the issuer of {leaf_name}: its revocation \
                     status is unknown; give that CA's CRL with --crl"
                ),
                "unable to get certificate CRL",
            ),
            E::CrlExpired { .. } => (
                format!(
                    "the CRL of {issuer} has expired (past its nextUpdate); publish a new one \
                     with `squirrel pki crl`"
                ),
                "CRL has expired",
            ),
            E::InvalidCrlSignatureForPublicKey
            | E::UnsupportedCrlSignatureAlgorithmContext(_)
            | E::UnsupportedCrlSignatureAlgorithmForPublicKeyContext(_) => (
                format!(
                    "the CRL named {issuer} is not signed by the key of {issuer}: it is forged, \
                     or from another CA with the same name"
                ),
                "CRL signature failure",
            ),
            E::IssuerNotCrlSigner => (
                format!("{issuer} may not sign CRLs (its key usage lacks cRLSign)"),
                "key usage does not include CRL signing",
            ),
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
