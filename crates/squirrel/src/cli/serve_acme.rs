//! `squirrel serve --acme`: the flags become an [`AcmeConfig`]; getting and
//! renewing the certificate is `squirrel_http::acme`'s.

use super::serve_config::AcmeSettings;
use anyhow::{anyhow, Context, Result};
use squirrel_http::acme::{renew, AcmeClient, AcmeConfig, CertState, Eab, Proof};
use squirrel_http::live_cert::LiveCert;
use squirrel_http::ReloadHandle;
use std::net::ToSocketAddrs;
use std::sync::Arc;

/// The ACME configuration of the flags: the CA file checked, the EAB key
/// read from its variable, the state folder found.
pub fn config(settings: &AcmeSettings) -> Result<AcmeConfig> {
    if !settings.ca.is_file() {
        return Err(anyhow!(
            "--acme-ca {}: no such file; give the CA certificate that `squirrel pki ca serve` \
             prints as 'Clients must trust: FILE'",
            settings.ca.display()
        ));
    }
    squirrel_http::acme::trust::trust_roots(&settings.ca)?;
    let eab = match &settings.eab {
        Some((kid, var)) => {
            let key = std::env::var(var).map_err(|_| {
                anyhow!(
                    "--acme-eab-hmac-env {var}: the variable is not set; export it with the HMAC \
                     key that `squirrel pki ca eab add` printed"
                )
            })?;
            Some(
                Eab::from_base64url(kid, &key)
                    .map_err(|why| anyhow!("--acme-eab-hmac-env {var}: {why}"))?,
            )
        }
        None => None,
    };
    let proof = match &settings.http01_listen {
        Some(addr) => Proof::Http01(
            addr.to_socket_addrs()
                .ok()
                .and_then(|mut a| a.next())
                .ok_or_else(|| {
                    anyhow!("--http01-listen {addr:?} is not an address; write it like 0.0.0.0:80")
                })?,
        ),
        None => Proof::TlsAlpn01,
    };
    Ok(AcmeConfig {
        directory: settings.directory.clone(),
        ca_bundle: settings.ca.clone(),
        domains: settings
            .domains
            .iter()
            .map(|d| d.trim_end_matches('.').to_ascii_lowercase())
            .collect(),
        email: settings.email.clone(),
        eab,
        state_root: squirrel_pki::ca::default_ca_dir()?.join("acme"),
        proof,
    })
}

/// The ACME side of a running server.
pub struct Acme {
    client: Arc<AcmeClient>,
    saved: Option<CertState>,
}

impl Acme {
    /// Prepares the client, and serves the certificate an earlier run saved
    /// if it is still good.
    pub async fn prepare(config: AcmeConfig, live: Arc<LiveCert>) -> Result<Acme> {
        let client = AcmeClient::new(config, live).await?;
        let saved = client.reuse_saved();
        if let Some(cert) = &saved {
            tracing::info!(
                "serving the certificate saved in {}: serial {}, valid until {}",
                client.paths.cert.display(),
                cert.serial,
                cert.not_after
            );
        }
        Ok(Acme {
            client: Arc::new(client),
            saved,
        })
    }

    /// Orders a certificate unless a saved one is served; the server must
    /// be running (it answers the tls-alpn-01 validation). Then renews it
    /// in the background, reloading the server after each renewal so that
    /// what it tells (banner, log) follows.
    pub async fn run(self, reload: ReloadHandle) -> Result<()> {
        let cert = match self.saved {
            Some(cert) => cert,
            None => {
                let cert = self.client.order(None).await.with_context(|| {
                    format!(
                        "cannot get a certificate for {}",
                        self.client.config.domains.join(", ")
                    )
                })?;
                tracing::info!(
                    "obtained a certificate from {}: serial {}, valid until {}",
                    self.client.config.directory,
                    cert.serial,
                    cert.not_after
                );
                reload.reload_and_wait().await;
                cert
            }
        };
        let client = self.client.clone();
        tokio::spawn(async move {
            renew::keep_renewed(&client, cert, |_| reload.reload()).await;
        });
        Ok(())
    }
}
