//! Chains that break one rule of RFC 5280 or the Baseline Requirements
//! each, made with the openssl command line (so that the defect is exactly
//! the one named, in a certificate squirrel did not write), judged by
//! `squirrel_pki::verify`. Each case names the rule squirrel must report;
//! the good chain next to them passes, so a rule that refuses everything
//! fails the test too.

use squirrel_pki::verify::{verify, AnchorPolicy, Purpose, Verification, VerifyReport};
use std::path::{Path, PathBuf};
use std::process::Command;
use time::{Duration, OffsetDateTime};

/// Good extensions, which each case changes one at a time.
const ROOT: &str = "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\n";
const INTERMEDIATE: &str = "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n";
const LEAF: &str = "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\nsubjectAltName=DNS:example.com\n";

struct Lab {
    dir: tempfile::TempDir,
    count: std::cell::Cell<usize>,
}

/// A certificate and its key, on disk.
#[derive(Clone)]
struct Made {
    cert: PathBuf,
    key: PathBuf,
    /// Has a subject key identifier, for its children's AKI.
    ski: bool,
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Lab {
    fn new() -> Self {
        Lab {
            dir: tempfile::tempdir().unwrap(),
            count: std::cell::Cell::new(0),
        }
    }

    fn next(&self, what: &str) -> String {
        self.count.set(self.count.get() + 1);
        format!("{what}{}", self.count.get())
    }

    fn key(&self, kind: &str) -> PathBuf {
        let name = self.next("key") + ".pem";
        let opts: Vec<&str> = match kind {
            "rsa1024" => vec!["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024"],
            "rsa2052" => vec!["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2052"],
            "p192" => vec!["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-192"],
            _ => vec!["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
        };
        let mut args = vec!["genpkey"];
        args.extend(opts);
        args.extend(["-out", &name]);
        openssl(self.dir.path(), &args);
        self.dir.path().join(name)
    }

    fn extfile(&self, extensions: &str) -> String {
        let name = self.next("ext") + ".cnf";
        std::fs::write(
            self.dir.path().join(&name),
            format!("[req]\ndistinguished_name=dn\n[dn]\n[v3]\n{extensions}"),
        )
        .unwrap();
        name
    }

    /// A self-signed root, valid 30 days.
    fn root(&self, subject: &str, extensions: &str) -> Made {
        let key = self.key("p256");
        self.certify(None, subject, extensions, key, "0x01")
    }

    /// A certificate for `subject` signed by `issuer`.
    fn issue(
        &self,
        issuer: &Made,
        subject: &str,
        extensions: &str,
        key: &str,
        serial: &str,
    ) -> Made {
        let key = self.key(key);
        self.certify(Some(issuer), subject, extensions, key, serial)
    }

    /// A certificate for `subject`'s `key`, signed by `issuer` (valid 20
    /// days), or by the key itself (30 days).
    fn certify(
        &self,
        issuer: Option<&Made>,
        subject: &str,
        extensions: &str,
        key: PathBuf,
        serial: &str,
    ) -> Made {
        let csr = self.next("csr") + ".pem";
        // openssl cannot name an issuer's key identifier it does not have.
        let extensions = match issuer.is_none_or(|i| i.ski) {
            true => extensions.to_string(),
            false => extensions.replace(
                "authorityKeyIdentifier=keyid",
                "authorityKeyIdentifier=none",
            ),
        };
        let ext = self.extfile(&extensions);
        openssl(
            self.dir.path(),
            &[
                "req",
                "-new",
                "-key",
                key.to_str().unwrap(),
                "-subj",
                subject,
                "-config",
                &ext,
                "-out",
                &csr,
            ],
        );
        let cert = self.next("cert") + ".pem";
        let (signer, days) = match issuer {
            Some(i) => (
                [
                    "-CA",
                    i.cert.to_str().unwrap(),
                    "-CAkey",
                    i.key.to_str().unwrap(),
                ]
                .to_vec(),
                "20",
            ),
            None => (["-signkey", key.to_str().unwrap()].to_vec(), "30"),
        };
        let mut args = vec![
            "x509",
            "-req",
            "-in",
            &csr,
            "-set_serial",
            serial,
            "-days",
            days,
        ];
        args.extend(signer);
        args.extend(["-extfile", &ext, "-extensions", "v3", "-out", &cert]);
        openssl(self.dir.path(), &args);
        Made {
            cert: self.dir.path().join(cert),
            key,
            ski: extensions.contains("subjectKeyIdentifier=hash"),
        }
    }

    fn leaf(&self, issuer: &Made, extensions: &str) -> Made {
        self.issue(issuer, "/CN=example.com", extensions, "p256", "0x1234")
    }
}

fn der(made: &Made) -> Vec<u8> {
    let pem = std::fs::read(&made.cert).unwrap();
    squirrel_pki::pem_file::certificates(&pem)
        .unwrap()
        .remove(0)
}

struct Case<'a> {
    root: &'a Made,
    intermediates: Vec<&'a Made>,
    leaf: &'a Made,
    policy: AnchorPolicy,
    max_depth: Option<usize>,
    at: OffsetDateTime,
}

impl<'a> Case<'a> {
    fn new(root: &'a Made, leaf: &'a Made) -> Self {
        Case {
            root,
            intermediates: Vec::new(),
            leaf,
            policy: AnchorPolicy::Strict,
            max_depth: None,
            at: OffsetDateTime::now_utc(),
        }
    }

    fn run(&self) -> VerifyReport {
        let anchors = vec![der(self.root)];
        let intermediates: Vec<Vec<u8>> = self.intermediates.iter().map(|m| der(m)).collect();
        let leaf = der(self.leaf);
        verify(&Verification {
            hostname: Some("example.com"),
            at: self.at,
            purpose: Purpose::Server,
            max_depth: self.max_depth,
            anchor_policy: self.policy,
            ..Verification::new(&anchors, &intermediates, &leaf)
        })
        .expect("the input is usable")
    }

    /// The rule squirrel reports, or "ok".
    fn verdict(&self) -> String {
        match self.run().failure {
            None => "ok".to_string(),
            Some(f) => f.webpki_error,
        }
    }
}

fn replace(base: &str, from: &str, to: &str) -> String {
    assert!(base.contains(from), "{from} is in the base extensions");
    base.replace(from, to)
}

#[test]
fn trust_anchors_must_be_fit_to_be_cas() {
    let lab = Lab::new();
    let good = lab.root("/CN=Root", ROOT);
    let leaf = lab.leaf(&good, LEAF);
    assert_eq!(Case::new(&good, &leaf).verdict(), "ok");

    let cases = [
        ("", "anchor-without-extensions"),
        (
            &replace(ROOT, "critical,CA:TRUE", "CA:TRUE"),
            "anchor-bc-not-critical",
        ),
        (
            &replace(ROOT, "critical,CA:TRUE", "critical,CA:FALSE"),
            "anchor-not-ca",
        ),
        (
            &replace(
                ROOT,
                "subjectKeyIdentifier=hash",
                "subjectKeyIdentifier=none",
            ),
            "ski-missing",
        ),
        (
            &format!("{ROOT}extendedKeyUsage=serverAuth\n"),
            "anchor-eku",
        ),
        (
            &replace(ROOT, "keyCertSign,cRLSign", "digitalSignature"),
            "anchor-ku-without-keycertsign",
        ),
        (
            &format!("{ROOT}1.2.3.4=critical,ASN1:NULL\n"),
            "anchor-unknown-critical-extension",
        ),
        (
            &format!("{ROOT}authorityKeyIdentifier=critical,keyid:always\n"),
            "aki-critical",
        ),
    ];
    for (extensions, rule) in cases {
        let root = lab.root("/CN=Root", extensions);
        let leaf = lab.leaf(&root, LEAF);
        let report = Case::new(&root, &leaf).run();
        let failure = report.failure.expect(rule);
        assert_eq!(failure.webpki_error, rule, "{}", failure.explanation);
    }

    // An expired root, judged a day after its 30.
    let mut late = Case::new(&good, &leaf);
    late.at = OffsetDateTime::now_utc() + Duration::days(31);
    assert_eq!(late.verdict(), "anchor-expired");
}

#[test]
fn a_ca_without_extensions_is_accepted_only_as_legacy_with_a_warning() {
    let lab = Lab::new();
    let root = lab.root("/CN=Tutorial CA", "");
    let leaf = lab.leaf(&root, LEAF);
    let mut case = Case::new(&root, &leaf);
    let refused = case.run().failure.expect("refused by default");
    assert_eq!(refused.openssl_phrase, "invalid CA certificate");
    assert!(
        refused.explanation.contains("--legacy-ca"),
        "{}",
        refused.explanation
    );
    case.policy = AnchorPolicy::AcceptLegacy;
    let report = case.run();
    assert!(report.failure.is_none(), "{:?}", report.failure);
    assert!(
        report.warnings[0].contains("Tutorial CA has no basicConstraints CA:TRUE"),
        "{:?}",
        report.warnings
    );
    // The system's store is trusted as it is, as rustls and curl do; the
    // leaf's own faults (no AKI: its CA has no key identifier) then count.
    case.policy = AnchorPolicy::System;
    assert_eq!(case.verdict(), "aki-missing");
}

#[test]
fn leaves_follow_rfc_5280_and_the_baseline_requirements() {
    let lab = Lab::new();
    let root = lab.root("/CN=Root", ROOT);
    let cases: Vec<(String, &str, &str, &str)> = vec![
        (
            replace(
                LEAF,
                "authorityKeyIdentifier=keyid",
                "authorityKeyIdentifier=none",
            ),
            "/CN=example.com",
            "p256",
            "aki-missing",
        ),
        (LEAF.to_string(), "/CN=Example.COM", "p256", "cn-not-in-san"),
        (
            replace(LEAF, "DNS:example.com", "DNS:example.com,IP:192.168.1.1"),
            "/CN=192.168.001.001",
            "p256",
            "cn-not-in-san",
        ),
        (
            replace(LEAF, "DNS:example.com", "DNS:example.com,IP:192.168.1.1"),
            "/CN=0xC0A80101",
            "p256",
            "cn-not-in-san",
        ),
        (
            replace(LEAF, "DNS:example.com", "DNS:example.com,IP:2001:db8::1"),
            "/CN=2001:DB8::1",
            "p256",
            "cn-not-in-san",
        ),
        (
            replace(LEAF, "DNS:example.com", "DNS:example.com,IP:2001:db8::1"),
            "/CN=2001:db8::1",
            "p256",
            "ok",
        ),
        (
            replace(
                LEAF,
                "critical,digitalSignature",
                "critical,digitalSignature,keyCertSign",
            ),
            "/CN=example.com",
            "p256",
            "leaf-keycertsign",
        ),
        (LEAF.to_string(), "/CN=example.com", "rsa1024", "weak-key"),
        (LEAF.to_string(), "/CN=example.com", "rsa2052", "weak-key"),
        (LEAF.to_string(), "/CN=example.com", "p192", "weak-key"),
        (
            replace(
                LEAF,
                "extendedKeyUsage=serverAuth",
                "extendedKeyUsage=critical,serverAuth",
            ),
            "/CN=example.com",
            "p256",
            "server-eku",
        ),
        (
            replace(
                LEAF,
                "DNS:example.com",
                "DNS:example.com,DNS:my_host.example.com",
            ),
            "/CN=example.com",
            "p256",
            "dns-underscore",
        ),
        (
            replace(LEAF, "DNS:example.com", "DNS:example.com,DNS:*.co.uk"),
            "/CN=example.com",
            "p256",
            "wildcard-public-suffix",
        ),
        (
            replace(
                LEAF,
                "DNS:example.com",
                "DNS:example.com,DNS:*.example.co.uk",
            ),
            "/CN=example.com",
            "p256",
            "ok",
        ),
        (
            replace(LEAF, "subjectAltName=DNS", "subjectAltName=critical,DNS"),
            "/CN=example.com",
            "p256",
            "san-criticality",
        ),
        (
            format!("{LEAF}nameConstraints=critical,permitted;DNS:example.com\n"),
            "/CN=example.com",
            "p256",
            "leaf-name-constraints",
        ),
        (
            format!("{LEAF}authorityInfoAccess=DER:0500\n"),
            "/CN=example.com",
            "p256",
            "malformed-extension",
        ),
    ];
    for (extensions, subject, key, rule) in cases {
        let leaf = lab.issue(&root, subject, &extensions, key, "0x1234");
        assert_eq!(
            Case::new(&root, &leaf).verdict(),
            rule,
            "{subject} {key} {extensions}"
        );
    }
    // Serial numbers: positive, at most 20 octets.
    for (serial, rule) in [
        ("0x7f0102030405060708090a0b0c0d0e0f10111213", "ok"),
        ("0x7f0102030405060708090a0b0c0d0e0f1011121314", "serial"),
        ("-5", "serial"),
    ] {
        let leaf = lab.issue(&root, "/CN=example.com", LEAF, "p256", serial);
        let verdict = Case::new(&root, &leaf).verdict();
        assert!(
            verdict == rule || (rule == "serial" && verdict != "ok"),
            "serial {serial}: {verdict}"
        );
    }
}

#[test]
fn intermediates_carry_key_identifiers_and_paths_try_every_candidate() {
    let lab = Lab::new();
    let root = lab.root("/CN=Root", ROOT);
    let good = lab.issue(&root, "/CN=Intermediate", INTERMEDIATE, "p256", "0x10");
    let leaf = lab.leaf(&good, LEAF);
    let mut case = Case::new(&root, &leaf);
    case.intermediates = vec![&good];
    assert_eq!(case.verdict(), "ok");
    case.max_depth = Some(0);
    assert_eq!(case.verdict(), "max-depth");
    case.max_depth = Some(1);
    assert_eq!(case.verdict(), "ok");
    // The anchor's own pathLenConstraint holds too (webpki ignores it,
    // OpenSSL does not).
    let strict_root = lab.root("/CN=Root", &replace(ROOT, "CA:TRUE", "CA:TRUE,pathlen:0"));
    let below = lab.issue(
        &strict_root,
        "/CN=Intermediate",
        INTERMEDIATE,
        "p256",
        "0x14",
    );
    let leaf_below = lab.leaf(&below, LEAF);
    let mut case = Case::new(&strict_root, &leaf_below);
    case.intermediates = vec![&below];
    assert_eq!(case.verdict(), "anchor-path-len");

    for (extensions, rule) in [
        (
            replace(
                INTERMEDIATE,
                "subjectKeyIdentifier=hash",
                "subjectKeyIdentifier=none",
            ),
            "ski-missing",
        ),
        (
            replace(
                INTERMEDIATE,
                "authorityKeyIdentifier=keyid",
                "authorityKeyIdentifier=none",
            ),
            "aki-missing",
        ),
        (
            replace(INTERMEDIATE, "critical,CA:TRUE", "CA:TRUE"),
            "intermediate-bc-not-critical",
        ),
        (
            format!("{INTERMEDIATE}2.5.29.30=critical,DER:3000\n"),
            "name-constraints-empty",
        ),
    ] {
        let bad = lab.issue(&root, "/CN=Intermediate", &extensions, "p256", "0x11");
        let leaf = lab.leaf(&bad, LEAF);
        let mut case = Case::new(&root, &leaf);
        case.intermediates = vec![&bad];
        let verdict = case.verdict();
        assert!(
            verdict == rule || (rule == "name-constraints-empty" && verdict != "ok"),
            "{extensions}: {verdict}"
        );
    }

    // Two intermediates share the subject and the key: the first one
    // offered breaks a rule, the second does not; the path through the
    // second is found.
    let without_ski = replace(
        INTERMEDIATE,
        "subjectKeyIdentifier=hash",
        "subjectKeyIdentifier=none",
    );
    let bad = lab.issue(&root, "/CN=Intermediate", &without_ski, "p256", "0x12");
    // The same key as `bad`, certified properly.
    let cross = lab.certify(
        Some(&root),
        "/CN=Intermediate",
        INTERMEDIATE,
        bad.key.clone(),
        "0x13",
    );
    let leaf = lab.leaf(&cross, LEAF);
    let mut case = Case::new(&root, &leaf);
    case.intermediates = vec![&bad];
    assert_eq!(case.verdict(), "ski-missing");
    case.intermediates = vec![&bad, &cross];
    assert_eq!(case.verdict(), "ok");
}

#[test]
fn the_system_store_passes_over_what_is_no_ca_in_silence() {
    let lab = Lab::new();
    let root = lab.root("/CN=Root", ROOT);
    let leaf = der(&lab.leaf(&root, LEAF));
    // Debian's /etc/ssl/certs/ssl-cert-snakeoil.pem: self-signed, CA:FALSE.
    let not_ca = replace(ROOT, "critical,CA:TRUE", "critical,CA:FALSE");
    let snakeoil = der(&lab.root("/CN=localhost", &not_ca));
    let unreadable = vec![0x30, 0x03, 0x02, 0x01, 0x01];
    let run = |anchors: &[Vec<u8>], policy| {
        verify(&Verification {
            hostname: Some("example.com"),
            at: OffsetDateTime::now_utc(),
            anchor_policy: policy,
            ..Verification::new(anchors, &[], &leaf)
        })
    };
    let system = [snakeoil.clone(), unreadable.clone(), der(&root)];
    let report = run(&system, AnchorPolicy::System).expect("the store is usable");
    assert!(report.failure.is_none(), "{:?}", report.failure);
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    // What the user gives is judged, and told about.
    let err = run(&[unreadable], AnchorPolicy::Strict).unwrap_err();
    assert!(err.to_string().contains("cannot"), "{err}");
    let given = run(&[snakeoil, der(&root)], AnchorPolicy::Strict).unwrap();
    assert!(given.failure.is_none(), "{:?}", given.failure);
}

#[test]
fn directory_name_constraints_of_a_trusted_ca_hold() {
    let lab = Lab::new();
    let constrained = format!(
        "{ROOT}nameConstraints=critical,permitted;dirName:club,permitted;DNS:example.com\n\
         [club]\nO=Secret Squirrels\n"
    );
    let root = lab.root("/O=Secret Squirrels/CN=Root", &constrained);
    // webpki alone refuses every chain under such a CA; squirrel checks
    // the directoryName subtree itself, and webpki the DNS one.
    let member = lab.issue(
        &root,
        "/O=Secret Squirrels/CN=example.com",
        LEAF,
        "p256",
        "0x21",
    );
    assert_eq!(Case::new(&root, &member).verdict(), "ok");
    let stranger = lab.issue(&root, "/O=Strangers/CN=example.com", LEAF, "p256", "0x22");
    assert_eq!(
        Case::new(&root, &stranger).verdict(),
        "name-constraints-dirname"
    );
    let elsewhere = lab.issue(
        &root,
        "/O=Secret Squirrels/CN=example.com",
        &replace(LEAF, "DNS:example.com", "DNS:example.com,DNS:example.org"),
        "p256",
        "0x23",
    );
    assert_eq!(
        Case::new(&root, &elsewhere).verdict(),
        "NameConstraintViolation"
    );
    let excluding = format!(
        "{ROOT}nameConstraints=critical,excluded;dirName:strangers\n[strangers]\nO=Strangers\n"
    );
    let root = lab.root("/CN=Root", &excluding);
    let stranger = lab.issue(&root, "/O=Strangers/CN=example.com", LEAF, "p256", "0x24");
    assert_eq!(
        Case::new(&root, &stranger).verdict(),
        "name-constraints-dirname"
    );
    let member = lab.issue(
        &root,
        "/O=Secret Squirrels/CN=example.com",
        LEAF,
        "p256",
        "0x25",
    );
    assert_eq!(Case::new(&root, &member).verdict(), "ok");
}
