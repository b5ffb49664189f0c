//! The chapters of the story (the eighth is in `acme_chapter`). Each says what it does, does it for
//! real, and checks what the tutorial says must happen.

use super::stage::{self, Spy, SpyMode};
use super::{Story, Verdict};
use anyhow::{anyhow, Result};
use serde_json::json;
use squirrel_cipher::{caesar, dh, Fernet, Key};
use squirrel_http::{MessageSource, SiteSources, TlsFiles};
use squirrel_pki::ca::{init_ca, now, CaOptions};
use squirrel_pki::csr::{build_csr, parse_csr};
use squirrel_pki::files::{write_atomic, PRIVATE_MODE, PUBLIC_MODE};
use squirrel_pki::{
    AltName, CaFiles, CertificateAuthority, Kdf, KeyAlgorithm, KeyProtection, Passphrase,
    PrivateKey, Profile, SignOptions, Subject,
};
use std::path::PathBuf;
use std::sync::Arc;

/// Plays chapter `n`.
pub fn play(story: &mut Story, n: u8) -> Verdict {
    let result = match n {
        1 => plain_http(story),
        2 => caesar_chapter(story),
        3 => fernet_chapter(story),
        4 => diffie_hellman(story),
        5 => own_ca(story),
        6 => https(story),
        7 => members_only(story),
        _ => super::acme_chapter::acme_chapter(story),
    };
    result.map_err(|e| format!("{e:#}"))
}

type Facts = Result<Vec<(String, serde_json::Value)>>;

pub(super) fn ensure(ok: bool, what: impl Into<String>) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(anyhow!(what.into()))
    }
}

fn plain_sources(story: &Story) -> SiteSources {
    SiteSources {
        message: MessageSource::Text(story.secret.clone()),
        tls: None,
        fernet: None,
    }
}

fn spy_intro(story: &Story, port: u16) {
    story.say(match story.spy {
        SpyMode::Capture => {
            format!("  The spy captures `lo` with the tutorial's filter: port {port}.")
        }
        SpyMode::Relay => format!(
            "  The spy relays the connection to port {port} and reads everything that passes."
        ),
    });
}

/// Serves `sources`, lets the spy watch, and runs `fetch` against the URL
/// the clients must use (`base` is `http://127.0.0.1` or
/// `https://localhost`); returns what `fetch` returned and what the spy saw.
fn watched<T>(
    story: &Story,
    sources: SiteSources,
    pcap: &str,
    base: &str,
    fetch: impl FnOnce(&str) -> T,
) -> Result<(T, stage::Seen)> {
    let server = stage::serve(&story.runtime, sources)?;
    spy_intro(story, server.port);
    let spy = Spy::start(story.spy, server.port, &story.secret, story.path(pcap))?;
    let fetched = fetch(&format!("{base}:{}/", spy.port));
    let seen = spy.stop()?;
    drop(server);
    Ok((fetched, seen))
}

fn plain_http(story: &mut Story) -> Facts {
    story.say(
        "  The leader serves the secret over plain HTTP; a member fetches it (tutorial steps 1-3).",
    );
    let (fetched, seen) = watched(
        story,
        plain_sources(story),
        "1-plain-http.pcap",
        "http://127.0.0.1",
        |url| stage::get(url, None, None),
    )?;
    let fetched = fetched.map_err(|f| anyhow!("the member could not fetch the secret: {f}"))?;
    let body = String::from_utf8_lossy(&fetched.body).into_owned();
    story.say(format!(
        "  The member prints: The secret message is: {body}"
    ));
    ensure(
        body == story.secret,
        format!("the member got {body:?}, not the secret"),
    )?;
    let verdict = seen
        .report
        .verdict
        .clone()
        .ok_or_else(|| anyhow!("the spy gave no verdict"))?;
    let sighting = verdict.sightings.first().ok_or_else(|| {
        anyhow!("the spy never saw the secret in clear, but plain HTTP should leak it")
    })?;
    story.say(format!(
        "  The spy captured {} packets; the secret crossed in clear in packet {} ({} -> {}):",
        seen.report.packets, sighting.number, sighting.src, sighting.dst
    ));
    for line in stage::hex_lines(&seen.pcap, sighting.number, &story.secret)? {
        story.say(format!("    {line}"));
    }
    story.say("  Verdict: plain HTTP hides nothing. Anyone on the path reads the secret.");
    Ok(vec![
        ("packets".into(), json!(seen.report.packets)),
        ("secret_in_clear_in_packet".into(), json!(sighting.number)),
    ])
}

const LONG_MESSAGE: &str = "The secret squirrels meet tonight behind the old oak tree, \
    bring acorns and tell no one about the hidden door";

fn caesar_chapter(story: &mut Story) -> Facts {
    story.say("  Shift every letter back by one: A becomes Z, B becomes A (tutorial step 4).");
    let encrypted = caesar::encrypt(&story.secret, 1);
    let decrypted = caesar::decrypt(&encrypted, 1);
    story.say(format!(
        "  \"{}\" -> \"{encrypted}\" -> \"{decrypted}\"",
        story.secret
    ));
    ensure(
        encrypted == "ekteex szhk",
        format!("\"fluffy tail\" encrypted to {encrypted:?}"),
    )?;
    ensure(
        decrypted == story.secret,
        "decryption did not give the secret back",
    )?;
    let cipher = caesar::encrypt(LONG_MESSAGE, 7);
    story.say(format!(
        "  A longer message, shifted by a key the spy does not know: \"{}...\"",
        &cipher[..40]
    ));
    let crack = caesar::crack(&cipher).map_err(|e| anyhow!("{e}"))?;
    let best = crack.best();
    story.say(format!(
        "  Frequency analysis over {} letters finds the key {} and reads: \"{}...\"",
        crack.letters,
        best.shift,
        &best.plaintext[..40]
    ));
    ensure(
        best.shift == 7 && best.plaintext == LONG_MESSAGE,
        "frequency analysis did not recover the message",
    )?;
    story.say("  Verdict: a Caesar cipher keeps out nobody who can count letters (step 5).");
    Ok(vec![
        ("ciphertext".into(), json!(encrypted)),
        ("cracked_shift".into(), json!(best.shift)),
    ])
}

fn fernet_chapter(story: &mut Story) -> Facts {
    story.say("  Server and members share a Fernet key; every response is a fresh token (tutorial steps 6-7).");
    let key = Key::generate()?;
    let key_text = key.to_base64();
    let sources = SiteSources {
        fernet: Some(Arc::new(Fernet::new(key))),
        ..plain_sources(story)
    };
    let (fetched, seen) = watched(story, sources, "3-fernet.pcap", "http://127.0.0.1", |url| {
        stage::get(url, None, None)
    })?;
    let token = fetched
        .map_err(|f| anyhow!("the member could not fetch the token: {f}"))?
        .body;
    let member = Fernet::new(Key::from_base64(&key_text)?);
    let opened = member
        .decrypt(&token, None)
        .map_err(|e| anyhow!("the member could not decrypt: {e}"))?;
    story.say(format!(
        "  On the wire: {}...",
        String::from_utf8_lossy(&token[..token.len().min(48)])
    ));
    story.say(format!(
        "  The member decrypts it: {}",
        String::from_utf8_lossy(&opened.plaintext)
    ));
    ensure(
        opened.plaintext == story.secret.as_bytes(),
        "the member decrypted something else",
    )?;
    let stranger = Fernet::new(Key::generate()?);
    let refused = stranger.decrypt(&token, None);
    ensure(
        refused.is_err(),
        "a client with the wrong key decrypted the token",
    )?;
    story.say(
        "  A client with the wrong key gets InvalidToken: wrong key, or the message was altered.",
    );
    let verdict = seen
        .report
        .verdict
        .clone()
        .ok_or_else(|| anyhow!("the spy gave no verdict"))?;
    ensure(verdict.seen() == 0, "the spy saw the secret in clear")?;
    let token_line = seen
        .lines
        .iter()
        .find(|l| l.contains("Fernet token"))
        .cloned();
    if let Some(line) = &token_line {
        story.say(format!("  The spy sees only the token: {}", line.trim()));
    }
    story.say(format!("  Verdict: the secret never appeared in clear in {} packets; but the key had to be shared first.", seen.report.packets));
    Ok(vec![
        ("packets".into(), json!(seen.report.packets)),
        ("token_seen_by_spy".into(), json!(token_line.is_some())),
    ])
}

fn diffie_hellman(story: &mut Story) -> Facts {
    story.say(
        "  Two squirrels agree on a key in front of the spy, like mixing paints (tutorial step 8).",
    );
    let toy = dh::toy_exchange(23, 5, None, None)?;
    story.say(format!(
        "  Toy numbers: public p={} g={}; you send {}, the squirrel sends {}; both compute {} (privately: {} and {}).",
        toy.public.p, toy.public.g, toy.public.you_mixture, toy.public.squirrel_mixture, toy.you.shared, toy.you.private, toy.squirrel.private
    ));
    ensure(
        toy.you.shared == toy.squirrel.shared,
        "the toy exchange did not agree",
    )?;
    let real = dh::x25519_exchange(&story.secret)?;
    story.say(format!(
        "  X25519: the spy sees the public keys {}... and {}...",
        &real.public.you_public_key[..16],
        &real.public.squirrel_public_key[..16]
    ));
    story.say("  Each side derives the same Fernet key (HKDF-SHA256); it never crosses the wire.");
    ensure(
        real.you.fernet_key == real.squirrel.fernet_key,
        "the two sides derived different keys",
    )?;
    ensure(
        real.you.message == story.secret,
        "the message did not survive the agreed key",
    )?;
    story.say(format!(
        "  The squirrel encrypts the secret with it; you decrypt: {}",
        real.you.message
    ));
    story.say("  Verdict: a shared key, agreed in public, that the spy cannot compute.");
    Ok(vec![
        ("toy_shared".into(), json!(toy.you.shared)),
        ("x25519_agreed".into(), json!(true)),
    ])
}

/// The PKI of chapters 5 to 7.
pub struct Pki {
    pub ca_files: CaFiles,
    pub ca_pass: Passphrase,
    pub ca_der: Vec<u8>,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
}

pub(super) fn ensure_pki(story: &mut Story, tell: bool) -> Result<()> {
    if story.pki.is_some() {
        return Ok(());
    }
    let say = |line: String| {
        if tell {
            story.say(line)
        }
    };
    let ca_files = CaFiles::in_dir(&story.path("ca"));
    let ca_pass = Passphrase::new("secret_password")?;
    let options = CaOptions {
        subject: Subject {
            common_name: Some("my-ca.com".into()),
            country: Some("US".into()),
            state: Some("Maryland".into()),
            locality: Some("Baltimore".into()),
            organization: Some("My CA Company".into()),
        },
        algorithm: KeyAlgorithm::Rsa2048,
        ..CaOptions::default()
    };
    let protection = KeyProtection::Encrypted {
        passphrase: ca_pass.clone(),
        kdf: Kdf::Scrypt,
    };
    init_ca(&ca_files, &options, &protection)?;
    say(
        "  The leader becomes a CA: an RSA 2048 key encrypted with \"secret_password\", and a"
            .into(),
    );
    say("  self-signed CA certificate with basicConstraints CA:TRUE (tutorial step 10).".into());
    let ca = CertificateAuthority::open(&ca_files, Some(&ca_pass))?;
    let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256)?;
    let names = [AltName::parse("localhost")?, AltName::parse("127.0.0.1")?];
    let subject = Subject {
        common_name: Some("my-site.com".into()),
        organization: Some("My Company".into()),
        ..Subject::default()
    };
    let csr_pem = build_csr(&key, &subject, &names)?;
    say("  The server makes a key and a signing request for my-site.com, localhost, 127.0.0.1 (step 11).".into());
    let issued = ca.sign(
        &parse_csr(pem::parse(&csr_pem)?.contents())?,
        SignOptions::default(),
    )?;
    say("  The CA checks the request's signature and signs it (step 12).".into());
    let server_cert = story.path("server.pem");
    let server_key = story.path("server-key.pem");
    write_atomic(
        &story.path("server-csr.pem"),
        csr_pem.as_bytes(),
        PUBLIC_MODE,
        false,
    )?;
    write_atomic(&server_cert, issued.pem.as_bytes(), PUBLIC_MODE, false)?;
    write_atomic(
        &server_key,
        key.to_pem(&KeyProtection::Unencrypted)?.as_bytes(),
        PRIVATE_MODE,
        false,
    )?;
    story.pki = Some(Pki {
        ca_files,
        ca_pass,
        ca_der: ca.cert_der.clone(),
        server_cert,
        server_key,
    });
    Ok(())
}

fn own_ca(story: &mut Story) -> Facts {
    ensure_pki(story, true)?;
    let pki = story.pki.as_ref().expect("made above");
    let der = squirrel_pki::pem_file::certificates(&std::fs::read(&pki.server_cert)?)?.remove(0);
    let summary = squirrel_pki::describe::summarize(&der, now())?;
    story.say("  The certificate says (step 9):");
    story.say(format!("    \"{}\"", summary.sentence));
    let report = squirrel_pki::verify::verify(&squirrel_pki::verify::Verification {
        hostname: Some("localhost"),
        ..squirrel_pki::verify::Verification::new(std::slice::from_ref(&pki.ca_der), &[], &der)
    })?;
    ensure(
        report.failure.is_none(),
        format!("the certificate does not verify: {:?}", report.failure),
    )?;
    story.say("  A client that trusts the CA accepts it for localhost.");
    Ok(vec![
        ("sentence".into(), json!(summary.sentence)),
        ("serial".into(), json!(summary.serial)),
    ])
}

fn https_sources(story: &Story, client_ca: Option<PathBuf>, crl: Option<PathBuf>) -> SiteSources {
    let pki = story.pki.as_ref().expect("ensure_pki first");
    SiteSources {
        tls: Some(TlsFiles {
            cert: pki.server_cert.clone(),
            key: pki.server_key.clone(),
            key_passphrase: None,
            client_ca,
            crl,
            legacy_client_ca: false,
            live: None,
        }),
        ..plain_sources(story)
    }
}

fn https(story: &mut Story) -> Facts {
    ensure_pki(story, false)?;
    story.say(
        "  The server speaks HTTPS with the certificate the CA signed (tutorial steps 13-14).",
    );
    let ca = story.pki.as_ref().expect("made above").ca_der.clone();
    let sources = https_sources(story, None, None);
    let ((without, with), seen) =
        watched(story, sources, "6-https.pcap", "https://localhost", |url| {
            (
                stage::get(url, None, None),
                stage::get(url, Some(vec![ca]), None),
            )
        })?;
    let refusal = match without {
        Ok(_) => return Err(anyhow!("a client without the CA accepted the certificate")),
        Err(f) => f,
    };
    let phrase = refusal.phrase.clone().unwrap_or_default();
    story.say(format!("  Without the CA the client refuses: \"{phrase}\""));
    story.say(format!("    {}", refusal.message));
    ensure(
        phrase.contains("unable to get local issuer certificate"),
        format!("unexpected refusal: {refusal}"),
    )?;
    let body = with
        .map_err(|f| anyhow!("with the CA the client still failed: {f}"))?
        .body;
    story.say(format!(
        "  With --ca it prints: The secret message is: {}",
        String::from_utf8_lossy(&body)
    ));
    ensure(
        body == story.secret.as_bytes(),
        "the client with the CA did not get the secret",
    )?;
    let hello = seen
        .lines
        .iter()
        .find(|l| l.contains("Client Hello (SNI=localhost)"))
        .cloned();
    let hello = hello.ok_or_else(|| anyhow!("the spy did not see the ClientHello's SNI"))?;
    story.say(format!("  The spy sees the ClientHello: {}", hello.trim()));
    secret_never_in_clear(&seen)?;
    story.say(format!(
        "  Verdict: the secret never appeared in clear in {} packets; only the name localhost did.",
        seen.report.packets
    ));
    Ok(vec![
        ("packets".into(), json!(seen.report.packets)),
        ("refusal".into(), json!(phrase)),
    ])
}

/// The spy's verdict over HTTPS: the secret never crossed in clear.
pub(super) fn secret_never_in_clear(seen: &stage::Seen) -> Result<()> {
    let verdict = seen
        .report
        .verdict
        .clone()
        .ok_or_else(|| anyhow!("the spy gave no verdict"))?;
    ensure(
        verdict.seen() == 0,
        "the spy saw the secret in clear over HTTPS",
    )
}

fn members_only(story: &mut Story) -> Facts {
    ensure_pki(story, false)?;
    story.say("  Only members with a certificate from the club's CA get in (tutorial step 16).");
    let pki = story.pki.as_ref().expect("made above");
    let ca = CertificateAuthority::open(&pki.ca_files, Some(&pki.ca_pass))?;
    let client = SignOptions {
        profile: Profile::Client,
        ..SignOptions::default()
    };
    let alice = ca.issue_to_files(
        &[AltName::parse("alice")?],
        KeyAlgorithm::EcdsaP256,
        &KeyProtection::Unencrypted,
        client,
        (story.path("alice.pem"), story.path("alice-key.pem")),
        false,
    )?;
    let stranger_files = CaFiles::in_dir(&story.path("stranger-ca"));
    init_ca(
        &stranger_files,
        &CaOptions::default(),
        &KeyProtection::Unencrypted,
    )?;
    CertificateAuthority::open(&stranger_files, None)?.issue_to_files(
        &[AltName::parse("mallory")?],
        KeyAlgorithm::EcdsaP256,
        &KeyProtection::Unencrypted,
        client,
        (story.path("mallory.pem"), story.path("mallory-key.pem")),
        false,
    )?;
    let crl_path = story.path("crl.pem");
    write_atomic(&crl_path, ca.crl(7)?.as_bytes(), PUBLIC_MODE, false)?;
    let sources = https_sources(
        story,
        Some(pki.ca_files.cert.clone()),
        Some(crl_path.clone()),
    );
    let server = stage::serve(&story.runtime, sources)?;
    let url = format!("https://localhost:{}/", server.port);
    let anchors = Some(vec![pki.ca_der.clone()]);
    let as_member = |who: &str| -> Result<
        Result<squirrel_http::client::Fetched, squirrel_http::diagnose::Failure>,
    > {
        let chain = squirrel_pki::pem_file::certificates(&std::fs::read(
            story.path(&format!("{who}.pem")),
        )?)?;
        let key =
            PrivateKey::from_pem(&std::fs::read(story.path(&format!("{who}-key.pem")))?, None)?;
        Ok(stage::get(
            &url,
            anchors.clone(),
            Some((chain, key.to_rustls())),
        ))
    };
    let member = as_member("alice")?.map_err(|f| anyhow!("alice, a member, was refused: {f}"))?;
    let greeting = member
        .header(squirrel_http::routes::MEMBER_HEADER)
        .unwrap_or("")
        .to_string();
    story.say(format!(
        "  alice shows her certificate: welcome, member {greeting}; the secret is {}.",
        String::from_utf8_lossy(&member.body)
    ));
    ensure(
        greeting == "alice" && member.body == story.secret.as_bytes(),
        "alice was not greeted with the secret",
    )?;
    let nobody = stage::get(&url, anchors.clone(), None)
        .err()
        .ok_or_else(|| anyhow!("a client without a certificate got in"))?;
    story.say(format!(
        "  Without a certificate: refused (\"{}\").",
        nobody.phrase.clone().unwrap_or_default()
    ));
    let mallory = as_member("mallory")?
        .err()
        .ok_or_else(|| anyhow!("mallory, from another CA, got in"))?;
    story.say(format!(
        "  mallory, certified by a stranger's CA: refused (\"{}\").",
        mallory.phrase.clone().unwrap_or_default()
    ));
    ensure(
        mallory
            .phrase
            .as_deref()
            .unwrap_or("")
            .contains("unknown ca"),
        format!("mallory's refusal: {mallory}"),
    )?;
    ca.revoke(&alice.issued.serial, "affiliationChanged".parse()?)?;
    write_atomic(&crl_path, ca.crl(7)?.as_bytes(), PUBLIC_MODE, true)?;
    server.reload();
    story.say(
        "  alice leaves the club: `squirrel pki revoke`, a new CRL, and the server reloads it.",
    );
    story.check_interrupted()?;
    let revoked = as_member("alice")?.err();
    drop(server);
    let revoked = revoked.ok_or_else(|| anyhow!("alice still got in after her revocation"))?;
    story.say(format!(
        "  alice again: refused (\"{}\").",
        revoked.phrase.clone().unwrap_or_default()
    ));
    ensure(
        revoked.phrase.as_deref().unwrap_or("").contains("revoked"),
        format!("alice's refusal: {revoked}"),
    )?;
    story.say("  Verdict: members get in, strangers and former members do not.");
    Ok(vec![
        ("member".into(), json!(greeting)),
        ("revoked_refusal".into(), json!(revoked.phrase)),
    ])
}
