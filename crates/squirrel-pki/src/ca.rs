//! The certificate authority, tutorial step 10 ("become a CA") done the way
//! a real CA must: a CA certificate that today's clients accept (the
//! tutorial's has no extensions, which OpenSSL 3, curl and Python refuse),
//! an encrypted key, and a directory laid out like mkcert's CAROOT.

use crate::describe::{self, parse_certificate, Validity};
use crate::error::{PkiError, Result, WithPath};
use crate::files::{self, PRIVATE_MODE, PUBLIC_MODE};
use crate::key::{KeyAlgorithm, KeyProtection, PrivateKey};
use crate::ledger::{Ledger, LEDGER_FILE};
use crate::names::{IpNetwork, Subject};
use crate::passphrase::Passphrase;
use rcgen::{
    BasicConstraints, CertificateParams, CidrSubnet, GeneralSubtree, IsCa, KeyUsagePurpose,
    NameConstraints, SerialNumber,
};
use std::path::{Path, PathBuf};
use time::{Duration, OffsetDateTime};

/// Where a CA's files are.
#[derive(Clone, Debug)]
pub struct CaFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub ledger: PathBuf,
}

impl CaFiles {
    /// The layout of a squirrel CA directory: `ca.pem`, `ca-key.pem`,
    /// `ledger.sqlite3`.
    pub fn in_dir(dir: &Path) -> Self {
        CaFiles {
            cert: dir.join("ca.pem"),
            key: dir.join("ca-key.pem"),
            ledger: dir.join(LEDGER_FILE),
        }
    }

    /// Any CA's certificate and key files (the tutorial's
    /// `ca-public-key.pem` and `ca-private-key.pem`), with the ledger kept
    /// beside the certificate.
    pub fn explicit(cert: &Path, key: &Path) -> Self {
        let dir = cert.parent().filter(|p| !p.as_os_str().is_empty());
        CaFiles {
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
            ledger: dir.unwrap_or(Path::new(".")).join(LEDGER_FILE),
        }
    }
}

/// The default CA directory: `$SQUIRREL_HOME`, else `$XDG_DATA_HOME/squirrel`,
/// else `~/.local/share/squirrel` (as mkcert's CAROOT).
pub fn default_ca_dir() -> Result<PathBuf> {
    let env = |name| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(home) = env("SQUIRREL_HOME") {
        return Ok(PathBuf::from(home));
    }
    if let Some(data) = env("XDG_DATA_HOME") {
        return Ok(PathBuf::from(data).join("squirrel"));
    }
    if let Some(home) = env("HOME") {
        return Ok(PathBuf::from(home).join(".local/share/squirrel"));
    }
    Err(PkiError::invalid(
        "no CA directory: neither SQUIRREL_HOME, XDG_DATA_HOME nor HOME is set",
        "pass --dir DIR (or --ca-dir DIR), or set SQUIRREL_HOME",
    ))
}

/// What `squirrel pki ca init` asks for.
#[derive(Clone, Debug)]
pub struct CaOptions {
    pub subject: Subject,
    pub days: u32,
    pub algorithm: KeyAlgorithm,
    /// basicConstraints pathLenConstraint: 0 means leaves only.
    pub path_len: u8,
    pub permit_dns: Vec<String>,
    pub permit_ip: Vec<IpNetwork>,
}

impl Default for CaOptions {
    fn default() -> Self {
        CaOptions {
            subject: Subject {
                common_name: Some("Secret Squirrels CA".into()),
                organization: Some("Secret Squirrels".into()),
                ..Subject::default()
            },
            days: 3650,
            algorithm: KeyAlgorithm::EcdsaP256,
            path_len: 0,
            permit_dns: Vec::new(),
            permit_ip: Vec::new(),
        }
    }
}

/// The current time, to the second (certificates carry no fractions).
pub fn now() -> OffsetDateTime {
    let t = OffsetDateTime::now_utc();
    t.replace_nanosecond(0).unwrap_or(t)
}

/// A random positive serial of 128 bits (RFC 5280 allows up to 20 octets;
/// the CA/Browser Forum asks for at least 64 random bits).
pub fn random_serial() -> Result<SerialNumber> {
    use aws_lc_rs::rand::SecureRandom;
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| PkiError::Crypto("the system random generator failed".into()))?;
    bytes[0] &= 0x7f; // positive
    bytes[0] |= 0x40; // no leading zero byte: always 16 octets
    Ok(SerialNumber::from_slice(&bytes))
}

/// The key identifier of a public key, RFC 7093 method 1: the leftmost 160
/// bits of the SHA-256 of the subjectPublicKey BIT STRING. Linters (pkilint)
/// recognise it, unlike rcgen's hash of the whole SubjectPublicKeyInfo.
pub fn key_identifier(spki_der: &[u8]) -> Result<rcgen::KeyIdMethod> {
    use x509_parser::prelude::FromDer;
    let (_, spki) = x509_parser::x509::SubjectPublicKeyInfo::from_der(spki_der).map_err(|e| {
        PkiError::invalid(format!("unreadable public key ({e})"), "the key is damaged")
    })?;
    let digest =
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &spki.subject_public_key.data);
    Ok(rcgen::KeyIdMethod::PreSpecified(
        digest.as_ref()[..20].to_vec(),
    ))
}

/// Refuses when any file of a CA is already at `files`: squirrel never
/// replaces a CA.
pub fn ensure_no_ca(files: &CaFiles) -> Result<()> {
    for path in [&files.cert, &files.key, &files.ledger] {
        if path.exists() {
            return Err(PkiError::Refused(format!(
                "a CA already exists here ({} is present); squirrel never replaces a CA, because \
                 every certificate it issued would stop verifying. Use another --dir, or delete \
                 the old CA yourself",
                path.display()
            )));
        }
    }
    Ok(())
}

/// Creates a new CA: key, self-signed certificate and ledger. Refuses when
/// any of its files exists. Returns the certificate's PEM.
pub fn init_ca(files: &CaFiles, options: &CaOptions, protection: &KeyProtection) -> Result<String> {
    ensure_no_ca(files)?;
    check_options(options)?;
    let key = PrivateKey::generate(options.algorithm)?;
    init_ca_with_key(files, options, &key, protection)
}

/// Creates a new CA around an existing key (`squirrel pki ca init --key`):
/// the key is written into the CA directory as `ca-key.pem`, PKCS#8,
/// protected by `protection`; the file it came from is left as it was.
/// `options.algorithm` is ignored: the key's own is used. On any error,
/// nothing is left behind: no file, and no directory this call created.
pub fn init_ca_with_key(
    files: &CaFiles,
    options: &CaOptions,
    key: &PrivateKey,
    protection: &KeyProtection,
) -> Result<String> {
    ensure_no_ca(files)?;
    check_options(options)?;
    let key_pem = key.to_pem(protection)?;
    let now = now();
    let mut params = CertificateParams::default();
    params.distinguished_name = options.subject.to_distinguished_name()?;
    params.not_before = now - Duration::minutes(5);
    params.not_after = now + Duration::days(options.days.into());
    params.serial_number = Some(random_serial()?);
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(options.path_len));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.use_authority_key_identifier_extension = true;
    params.key_identifier_method = key_identifier(&key.public_key_der())?;
    if !options.permit_dns.is_empty() || !options.permit_ip.is_empty() {
        let mut permitted: Vec<GeneralSubtree> = options
            .permit_dns
            .iter()
            .map(|d| GeneralSubtree::DnsName(d.trim_start_matches('.').to_ascii_lowercase()))
            .collect();
        permitted.extend(options.permit_ip.iter().map(|net| {
            GeneralSubtree::IpAddress(CidrSubnet::from_addr_prefix(net.addr, net.prefix))
        }));
        params.name_constraints = Some(NameConstraints {
            permitted_subtrees: permitted,
            excluded_subtrees: Vec::new(),
        });
    }
    let cert = params.self_signed(key.key_pair())?;
    let cert_pem = cert.pem();
    let created = match files.cert.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(dir) => create_private_dir(dir)?,
        None => None,
    };
    let mut made: Vec<&Path> = Vec::new();
    let mut written = files::write_atomic(&files.key, key_pem.as_bytes(), PRIVATE_MODE, false)
        .inspect(|()| made.push(&files.key))
        .and_then(|()| files::write_atomic(&files.cert, cert_pem.as_bytes(), PUBLIC_MODE, false))
        .inspect(|()| made.push(&files.cert));
    if written.is_ok() {
        // The ledger file may be half-made when opening it fails.
        made.push(&files.ledger);
        written = Ledger::open(&files.ledger).map(drop);
    }
    if let Err(e) = written {
        // Leave nothing half-made behind.
        for path in made {
            let _ = std::fs::remove_file(path);
        }
        if let Some(dir) = created {
            let _ = std::fs::remove_dir(dir);
        }
        return Err(e);
    }
    Ok(cert_pem)
}

fn check_options(options: &CaOptions) -> Result<()> {
    if options.days == 0 {
        return Err(PkiError::invalid(
            "--days must be at least 1",
            "pass --days 3650",
        ));
    }
    Ok(())
}

/// Creates `dir` (mode 0700) when missing; returns the outermost
/// directory it created, to be removed again if the CA cannot be made.
fn create_private_dir(dir: &Path) -> Result<Option<PathBuf>> {
    use std::os::unix::fs::DirBuilderExt;
    let created = dir
        .ancestors()
        .take_while(|d| !d.as_os_str().is_empty() && !d.exists())
        .last()
        .map(Path::to_path_buf);
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|source| PkiError::Write {
            path: dir.to_path_buf(),
            error: source,
        })?;
    Ok(created)
}

/// An opened CA: certificate, unlocked key and ledger, checked for
/// consistency.
pub struct CertificateAuthority {
    pub files: CaFiles,
    pub cert_der: Vec<u8>,
    pub key: PrivateKey,
    pub not_after: OffsetDateTime,
    /// Things the operator should know (e.g. a CA without basicConstraints).
    pub warnings: Vec<String>,
    /// The CA's name, as a person would say it (read when it was opened).
    name: String,
    /// Where [`CertificateAuthority::sign`] records what it issues, when not
    /// in the ledger file beside the CA (see [`CertificateAuthority::record_with`]).
    recorder: Option<Recorder>,
    /// What the certificate's name constraints permit, read at `open`
    /// rather than at each signing (an ACME server checks them twice per
    /// order).
    pub(crate) permitted: crate::sign::Permitted,
}

/// Records a newly issued certificate somewhere other than the ledger file
/// (the PostgreSQL database a CA's replicas share); an error means "not
/// recorded", and the certificate is then not handed out.
pub type Recorder = Box<dyn Fn(&crate::ledger::LedgerEntry) -> Result<()> + Send + Sync>;

impl CertificateAuthority {
    /// Opens a CA, refusing one whose certificate is not a CA, is expired or
    /// not yet valid, or does not match its key.
    pub fn open(files: &CaFiles, passphrase: Option<&Passphrase>) -> Result<Self> {
        let key_text = files::read(&files.key)?;
        let key = PrivateKey::from_pem(&key_text, passphrase).with_path(&files.key)?;
        Self::open_with_key(files, key)
    }

    /// Opens a CA whose key was already read (and unlocked) by the caller.
    pub fn open_with_key(files: &CaFiles, key: PrivateKey) -> Result<Self> {
        let cert_text = files::read(&files.cert)?;
        let cert_der = crate::pem_file::certificates(&cert_text)
            .with_path(&files.cert)?
            .remove(0);
        let cert = parse_certificate(&cert_der).with_path(&files.cert)?;
        let name = describe::short_name(cert.subject());
        let mut warnings = Vec::new();
        match cert.basic_constraints() {
            Ok(Some(bc)) if !bc.value.ca => {
                return Err(PkiError::Refused(format!(
                    "{} ({name}) is not a CA certificate (basicConstraints CA:FALSE); give the \
                     CA's certificate, not a server's",
                    files.cert.display()
                )))
            }
            Ok(Some(_)) => {}
            _ => warnings.push(format!(
                "{} ({name}) has no basicConstraints CA:TRUE, like the tutorial's CA: squirrel \
                 signs with it, but OpenSSL 3, curl and Python reject chains from it (\"invalid \
                 CA certificate\"); create a proper CA with `squirrel pki ca init`",
                files.cert.display()
            )),
        }
        if let Ok(Some(ku)) = cert.key_usage() {
            if !ku.value.key_cert_sign() {
                return Err(PkiError::Refused(format!(
                    "{} ({name}) may not sign certificates: its keyUsage lacks keyCertSign",
                    files.cert.display()
                )));
            }
        }
        let not_before = cert.validity().not_before.to_datetime();
        let not_after = cert.validity().not_after.to_datetime();
        match Validity::at(now(), not_before, not_after) {
            Validity::Valid => {}
            Validity::Expired => {
                return Err(PkiError::Refused(format!(
                    "the CA certificate {} ({name}) expired on {}; certificates it signs would \
                     not verify. Create a new CA with `squirrel pki ca init --dir NEW_DIR`",
                    files.cert.display(),
                    describe::human_time(not_after)
                )))
            }
            Validity::NotYetValid => {
                return Err(PkiError::Refused(format!(
                    "the CA certificate {} ({name}) is not valid before {}; check the clock",
                    files.cert.display(),
                    describe::human_time(not_before)
                )))
            }
        }
        if cert.public_key().raw != key.public_key_der().as_slice() {
            return Err(PkiError::Refused(format!(
                "the key {} does not match the CA certificate {} ({name}): they are not a pair; \
                 give the key that was created with this certificate",
                files.key.display(),
                files.cert.display()
            )));
        }
        let permitted = crate::sign::Permitted::of(&cert);
        Ok(CertificateAuthority {
            files: files.clone(),
            cert_der,
            key,
            not_after,
            warnings,
            name,
            recorder: None,
            permitted,
        })
    }

    /// The CA certificate as parsed by x509-parser (`cert_der` is public:
    /// it is parsed again, and may fail if it was changed since `open`).
    pub fn certificate(&self) -> Result<x509_parser::certificate::X509Certificate<'_>> {
        parse_certificate(&self.cert_der).with_path(&self.files.cert)
    }

    /// This CA, recording what it signs with `recorder` instead of in the
    /// ledger file (`pki sign --db`, `pki issue --db`).
    pub fn record_with(mut self, recorder: Recorder) -> Self {
        self.recorder = Some(recorder);
        self
    }

    /// The recorder given to [`Self::record_with`], if any.
    pub(crate) fn recorder(&self) -> Option<&Recorder> {
        self.recorder.as_ref()
    }

    /// The ledger beside the CA.
    pub fn ledger(&self) -> Result<Ledger> {
        Ledger::open(&self.files.ledger)
    }

    /// The CA's name, as a person would say it.
    pub fn name(&self) -> String {
        self.name.clone()
    }
}
