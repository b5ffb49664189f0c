//! Signing, tutorial step 12: the CA turns a request into a certificate.
//!
//! The tutorial copies every extension of the request; a real CA decides
//! for itself. squirrel copies the subject and the names, and sets
//! everything else from its own policy: key usage from the key type,
//! extended key usage from the profile, fresh identifiers, a random serial,
//! and a lifetime that never outlives the CA.

use crate::ca::{key_identifier, now, random_serial, CertificateAuthority};
use crate::csr::ParsedCsr;
use crate::describe;
use crate::error::{PkiError, Result};
use crate::ledger::LedgerEntry;
use crate::names::{dns_within, AltName, IpNetwork};
use rcgen::{
    CertificateParams, DnValue, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyUsagePurpose,
    SubjectPublicKeyInfo,
};
use std::fmt;
use std::str::FromStr;
use time::{Duration, OffsetDateTime};

/// How far before its signing a certificate starts: clients whose clock is
/// a little behind accept it too.
pub const BACKDATE: Duration = Duration::minutes(5);

/// Default lifetime of a leaf certificate: Let's Encrypt's 90 days.
pub const DEFAULT_LEAF_DAYS: u32 = 90;

/// What a certificate may be used for (extendedKeyUsage).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Profile {
    /// TLS server authentication: an HTTPS server.
    #[default]
    Server,
    /// TLS client authentication: a member proving who they are.
    Client,
    /// Both.
    Both,
}

impl Profile {
    fn usages(self) -> Vec<ExtendedKeyUsagePurpose> {
        match self {
            Profile::Server => vec![ExtendedKeyUsagePurpose::ServerAuth],
            Profile::Client => vec![ExtendedKeyUsagePurpose::ClientAuth],
            Profile::Both => vec![
                ExtendedKeyUsagePurpose::ServerAuth,
                ExtendedKeyUsagePurpose::ClientAuth,
            ],
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Profile::Server => "server",
            Profile::Client => "client",
            Profile::Both => "both",
        })
    }
}

impl FromStr for Profile {
    type Err = PkiError;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "server" => Ok(Profile::Server),
            "client" => Ok(Profile::Client),
            "both" => Ok(Profile::Both),
            _ => Err(PkiError::invalid(
                format!("unknown profile {s:?}"),
                "choose server, client or both",
            )),
        }
    }
}

/// The CA's decisions for one certificate.
#[derive(Clone, Copy, Debug)]
pub struct SignOptions {
    pub days: u32,
    pub profile: Profile,
}

impl Default for SignOptions {
    fn default() -> Self {
        SignOptions {
            days: DEFAULT_LEAF_DAYS,
            profile: Profile::Server,
        }
    }
}

/// A certificate just issued and recorded in the ledger.
#[derive(Clone, Debug)]
pub struct Issued {
    pub pem: String,
    pub der: Vec<u8>,
    pub serial: String,
    pub not_after: OffsetDateTime,
    /// Notes for the operator: lifetime cut to the CA's, ignored extensions,
    /// or a name added from the common name (CA warnings are in `CertificateAuthority::warnings`).
    pub notes: Vec<String>,
}

impl CertificateAuthority {
    /// Signs a request: checks it against the CA's policy, records the
    /// certificate in the ledger (or with the CA's recorder, see
    /// [`CertificateAuthority::record_with`]), and returns it. Nothing is written to a
    /// file here; the caller does that after the ledger has the record.
    pub fn sign(&self, request: &ParsedCsr, options: SignOptions) -> Result<Issued> {
        if options.days == 0 {
            return Err(PkiError::invalid(
                "--days must be at least 1",
                "pass --days 90",
            ));
        }
        // The ledger is opened first: a CA that cannot record does not sign.
        let ledger = match self.recorder() {
            Some(_) => None,
            None => Some(self.ledger()?),
        };
        let (issued, entry) = self.sign_unrecorded(
            request,
            options.profile,
            Duration::days(options.days.into()),
        )?;
        match (self.recorder(), ledger) {
            (Some(record), _) => record(&entry)?,
            (None, Some(ledger)) => ledger.record(&entry)?,
            (None, None) => unreachable!("the ledger was opened above"),
        }
        Ok(issued)
    }

    /// Signs a request with the same policy as [`CertificateAuthority::sign`]
    /// for `lifetime` (cut to the CA's own end), and returns the certificate
    /// with the ledger row the caller must record before handing it out.
    /// The ACME server records it through its own store, with the account
    /// that ordered it.
    pub fn sign_unrecorded(
        &self,
        request: &ParsedCsr,
        profile: Profile,
        lifetime: Duration,
    ) -> Result<(Issued, LedgerEntry)> {
        if let Some(why) = &request.asks_to_be_ca {
            return Err(PkiError::Refused(format!(
                "the request asks to be a certificate authority ({why}); squirrel signs only \
                 leaf certificates. Create the request without CA extensions"
            )));
        }
        if lifetime <= Duration::ZERO {
            return Err(PkiError::invalid(
                "a certificate's lifetime must be positive",
                "pass --days 90",
            ));
        }
        let mut notes = Vec::new();
        notes.extend(
            request
                .ignored_extensions
                .iter()
                .map(|e| format!("warning: the request's {e} was ignored")),
        );
        let mut alt_names = request.alt_names.clone();
        if alt_names.is_empty() {
            match request.common_name.as_deref().map(AltName::parse) {
                Some(Ok(name)) => {
                    notes.push(format!(
                        "the request has no subjectAltName: its common name {name} was added as \
                         one, since clients only check alternative names"
                    ));
                    alt_names.push(name);
                }
                _ => {
                    return Err(PkiError::Refused(
                        "the request names nobody: it has no subjectAltName and no common name \
                         that is a host name, IP or email. Create it with --san NAME"
                            .into(),
                    ))
                }
            }
        }
        // The Baseline Requirements (7.1.4.3) want the common name among
        // the alternative names, and so do `pki verify` and `get`: the
        // tutorial's request (CN my-site.com, SAN localhost) gets both.
        if let Some(Ok(name)) = request.common_name.as_deref().map(AltName::parse) {
            if !alt_names.contains(&name) {
                notes.push(format!(
                    "the common name {name} was added to the alternative names, as the \
                     Baseline Requirements require"
                ));
                alt_names.insert(0, name);
            }
        }
        self.check_name_constraints(&alt_names)?;

        let now = now();
        let mut not_after = now + lifetime;
        if not_after > self.not_after {
            notes.push(format!(
                "the lifetime was cut to end with the CA's own, on {} (asked: {} days)",
                describe::human_time(self.not_after),
                lifetime.whole_days()
            ));
            not_after = self.not_after;
        }
        // 126 random bits: a repeat is not expected in the life of the
        // universe, and the ledger's primary key refuses one anyway.
        let serial = random_serial()?;
        let serial_hex = hex::encode_upper(serial.to_bytes());

        let mut params = CertificateParams::default();
        params.distinguished_name = request.subject.clone();
        params.subject_alt_names = alt_names
            .iter()
            .map(AltName::to_san)
            .collect::<Result<_>>()?;
        params.not_before = now - BACKDATE;
        params.not_after = not_after;
        params.serial_number = Some(serial);
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        if request.key.kind == crate::key::KeyKind::Rsa {
            params.key_usages.push(KeyUsagePurpose::KeyEncipherment);
        }
        params.extended_key_usages = profile.usages();
        params.use_authority_key_identifier_extension = true;
        params.key_identifier_method = key_identifier(&request.public_key)?;

        let public_key = SubjectPublicKeyInfo::from_der(&request.public_key).map_err(|_| {
            PkiError::invalid(
                format!(
                    "the request's key ({}) is not supported",
                    request.key.description
                ),
                "use an RSA, ECDSA P-256/P-384 or Ed25519 key",
            )
        })?;
        let issuer =
            Issuer::from_ca_cert_der(&self.cert_der.as_slice().into(), self.key.key_pair())?;
        let cert = params.signed_by(&public_key, &issuer)?;
        let der = cert.der().to_vec();
        let pem = cert.pem();
        let entry = LedgerEntry {
            serial: serial_hex.clone(),
            subject: subject_text(&params),
            alt_names: alt_names.iter().map(ToString::to_string).collect(),
            not_before: rfc3339(params.not_before),
            not_after: rfc3339(not_after),
            profile: profile.to_string(),
            sha256_fingerprint: describe::fingerprint(&der),
            status: crate::ledger::Status::Valid,
            revoked_at: None,
            revocation_reason: None,
            pem: pem.clone(),
            account: None,
        };
        let issued = Issued {
            pem,
            der,
            serial: serial_hex,
            not_after,
            notes,
        };
        Ok((issued, entry))
    }

    /// Refuses names outside the CA certificate's name constraints (read
    /// once, when the CA was opened).
    pub fn check_name_constraints(&self, names: &[AltName]) -> Result<()> {
        let Permitted { dns, nets } = &self.permitted;
        for name in names {
            let allowed = match name {
                AltName::Dns(d) => dns.is_empty() || dns.iter().any(|s| dns_within(d, s)),
                AltName::Ip(ip) => nets.is_empty() || nets.iter().any(|n| n.contains(ip)),
                AltName::Email(_) => true,
            };
            if !allowed {
                let mut permitted: Vec<String> = dns.clone();
                permitted.extend(nets.iter().map(|n| format!("{}/{}", n.addr, n.prefix)));
                return Err(PkiError::Refused(format!(
                    "{name} is outside the CA's name constraints (permitted: {}); clients would \
                     reject the certificate (\"permitted subtree violation\")",
                    permitted.join(", ")
                )));
            }
        }
        Ok(())
    }
}

/// The names a CA certificate's name constraints permit (RFC 5280
/// §4.2.1.10): DNS subtrees and IP networks; empty lists permit all.
#[derive(Debug, Default)]
pub(crate) struct Permitted {
    dns: Vec<String>,
    nets: Vec<IpNetwork>,
}

impl Permitted {
    /// The permitted subtrees of `cert`'s name constraints, if it has any.
    pub(crate) fn of(cert: &x509_parser::certificate::X509Certificate<'_>) -> Permitted {
        let mut permitted = Permitted::default();
        let Ok(Some(nc)) = cert.name_constraints() else {
            return permitted;
        };
        for subtree in nc.value.permitted_subtrees.iter().flatten() {
            match describe::typed_general_name(&subtree.base) {
                Some(AltName::Dns(d)) => permitted.dns.push(d),
                _ => {
                    if let x509_parser::extensions::GeneralName::IPAddress(b) = subtree.base {
                        if let Some(net) = network_from_bytes(b) {
                            permitted.nets.push(net);
                        }
                    }
                }
            }
        }
        permitted
    }
}

fn network_from_bytes(bytes: &[u8]) -> Option<IpNetwork> {
    let half = bytes.len() / 2;
    let addr = match half {
        4 => std::net::IpAddr::from(<[u8; 4]>::try_from(&bytes[..4]).ok()?),
        16 => std::net::IpAddr::from(<[u8; 16]>::try_from(&bytes[..16]).ok()?),
        _ => return None,
    };
    let prefix = bytes[half..].iter().map(|b| b.count_ones()).sum::<u32>() as u8;
    Some(IpNetwork { addr, prefix })
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn subject_text(params: &CertificateParams) -> String {
    params
        .distinguished_name
        .iter()
        .map(|(ty, value)| {
            let label = match ty {
                rcgen::DnType::CountryName => "C".to_string(),
                rcgen::DnType::StateOrProvinceName => "ST".to_string(),
                rcgen::DnType::LocalityName => "L".to_string(),
                rcgen::DnType::OrganizationName => "O".to_string(),
                rcgen::DnType::OrganizationalUnitName => "OU".to_string(),
                rcgen::DnType::CommonName => "CN".to_string(),
                other => format!("{other:?}"),
            };
            let text = match value {
                DnValue::PrintableString(s) => s.as_str().to_string(),
                DnValue::Utf8String(s) => s.clone(),
                DnValue::Ia5String(s) => s.as_str().to_string(),
                other => format!("{other:?}"),
            };
            format!("{label}={text}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}
