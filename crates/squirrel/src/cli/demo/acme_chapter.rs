//! Chapter 8, "The CA makes you prove it": the club's CA goes online as an
//! ACME server (`pki ca serve`), and the secret server gets its own
//! certificate from it (`serve --acme`): it proves that it is localhost by
//! answering the CA's tls-alpn-01 validation on its own port. The spy
//! watches that port: it sees two handshakes (the CA's and the member's)
//! and never the secret.

use super::chapters::{ensure, ensure_pki, secret_never_in_clear};
use super::stage::{self, Spy};
use super::Story;
use anyhow::{anyhow, Context, Result};
use arc_swap::ArcSwap;
use serde_json::json;
use squirrel_acme::server::identity;
use squirrel_acme::server::listen::{self, ListenLimits};
use squirrel_acme::server::{Acme, AcmeOptions};
use squirrel_acme::store::sqlite::SqliteStore;
use squirrel_acme::validate::ValidationConfig;
use squirrel_http::acme::{AcmeClient, AcmeConfig, Proof};
use squirrel_http::live_cert::LiveCert;
use squirrel_http::{MessageSource, SiteSources, TlsFiles};
use squirrel_pki::{AltName, CertificateAuthority};
use std::collections::HashMap;
use std::sync::Arc;

type Facts = Result<Vec<(String, serde_json::Value)>>;

pub fn acme_chapter(story: &mut Story) -> Facts {
    ensure_pki(story, false)?;
    let pki = story.pki.as_ref().expect("made above");
    story.say("  The club's CA goes online: an ACME server, as Let's Encrypt runs (pki ca serve).");
    let live = LiveCert::new();
    let sources = SiteSources {
        message: MessageSource::Text(story.secret.clone()),
        tls: Some(TlsFiles {
            cert: story.path("acme/cert.pem"),
            key: story.path("acme/key.pem"),
            key_passphrase: None,
            client_ca: None,
            crl: None,
            legacy_client_ca: false,
            live: Some(live.clone()),
        }),
        fernet: None,
    };
    let server = stage::serve(&story.runtime, sources)?;
    let spy = Spy::start(
        story.spy,
        server.port,
        &story.secret,
        story.path("8-acme.pcap"),
    )?;
    // The CA validates through the spy's port: it watches the proof too.
    let ca = CertificateAuthority::open(&pki.ca_files, Some(&pki.ca_pass))?;
    let ca_online = OnlineCa::start(story, ca, spy.port)?;
    story.say(format!(
        "  The secret server asks it for a certificate for localhost ({}).",
        ca_online.directory
    ));
    let client = AcmeClient::new(
        AcmeConfig {
            directory: ca_online.directory.clone(),
            ca_bundle: pki.ca_files.cert.clone(),
            domains: vec!["localhost".into()],
            email: None,
            eab: None,
            state_root: story.path("acme"),
            proof: Proof::TlsAlpn01,
        },
        live,
    );
    let issued = story.runtime.block_on(async {
        let client = client.await?;
        client.order(None).await
    });
    let issued = issued.context("the server could not get its certificate")?;
    server.reload();
    story.say(
        "  The CA connects to the server's port with ALPN acme-tls/1; the server answers with a",
    );
    story.say(format!(
        "  certificate holding the proof (tls-alpn-01), and the CA signs: serial {}.",
        issued.serial
    ));
    let url = format!("https://localhost:{}/", spy.port);
    let fetched = stage::get(&url, Some(vec![pki.ca_der.clone()]), None)
        .map_err(|f| anyhow!("the member could not fetch the secret: {f}"))?;
    let presented = fetched
        .tls
        .as_ref()
        .and_then(|tls| tls.chain.first())
        .and_then(|leaf| squirrel_pki::describe::summarize(leaf, squirrel_pki::ca::now()).ok())
        .map(|s| s.serial.replace(':', ""))
        .unwrap_or_default();
    ensure(
        presented.eq_ignore_ascii_case(&issued.serial),
        format!(
            "the server presented serial {presented}, not {}",
            issued.serial
        ),
    )?;
    story.say(format!(
        "  A member fetches the secret: {} (the certificate presented: serial {presented}).",
        String::from_utf8_lossy(&fetched.body)
    ));
    ensure(
        fetched.body == story.secret.as_bytes(),
        "the member did not get the secret",
    )?;
    drop(ca_online);
    let seen = spy.stop()?;
    drop(server);
    let hellos = seen
        .lines
        .iter()
        .filter(|l| l.contains("Client Hello (SNI=localhost)"))
        .count();
    secret_never_in_clear(&seen)?;
    ensure(
        hellos >= 2,
        format!("the spy saw {hellos} handshakes, not the CA's and the member's"),
    )?;
    story.say(format!(
        "  The spy saw {hellos} handshakes for localhost (the CA's proof and the member's fetch)"
    ));
    story.say(format!(
        "  and never the secret in {} packets. Verdict: nobody copied a certificate.",
        seen.report.packets
    ));
    Ok(vec![
        ("serial".into(), json!(issued.serial)),
        ("handshakes".into(), json!(hellos)),
        ("packets".into(), json!(seen.report.packets)),
    ])
}

/// `pki ca serve` in-process, on a loopback port, stopped when dropped.
struct OnlineCa {
    directory: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    runtime: tokio::runtime::Handle,
}

impl OnlineCa {
    /// Starts the ACME server of `ca`, validating tls-alpn-01 on
    /// `tlsalpn01_port` of 127.0.0.1.
    fn start(story: &Story, ca: CertificateAuthority, tlsalpn01_port: u16) -> Result<OnlineCa> {
        let dir = story.path("ca");
        let store = SqliteStore::open(&ca.files.ledger)
            .with_context(|| format!("cannot open {}", ca.files.ledger.display()))?;
        let names = [AltName::parse("127.0.0.1")?];
        let tls = listen::tls_config(identity::server_identity(&ca, &names, &dir)?)?;
        let options = AcmeOptions {
            validation: ValidationConfig {
                tlsalpn01_port,
                resolve: HashMap::from([("localhost".to_string(), vec![[127, 0, 0, 1].into()])]),
                ..ValidationConfig::default()
            },
            ..AcmeOptions::default()
        };
        let acme = Acme::new(Arc::new(store), ca, options);
        let listener = story
            .runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
        let port = listener.local_addr()?.port();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = story.runtime.spawn(listen::serve(
            acme,
            listener,
            Arc::new(ArcSwap::from(tls)),
            ListenLimits {
                shutdown_grace: std::time::Duration::from_secs(1),
                ..ListenLimits::default()
            },
            async {
                let _ = rx.await;
            },
        ));
        Ok(OnlineCa {
            directory: format!("https://127.0.0.1:{port}/acme/directory"),
            stop: Some(tx),
            task: Some(task),
            runtime: story.runtime.handle().clone(),
        })
    }
}

impl Drop for OnlineCa {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = self.runtime.block_on(task);
        }
    }
}
