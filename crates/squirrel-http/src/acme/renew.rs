//! When to renew, and what to do while the CA is away.
//!
//! The CA says when (ARI, RFC 9773: a window, and a random moment in it so
//! that a CA's clients do not all come at once); a CA without ARI gets two
//! thirds of the lifetime, as certbot and Caddy do. A failed renewal keeps
//! the current certificate, logs the attempt and retries after a backoff
//! that doubles up to a twentieth of the lifetime, with jitter; a
//! certificate in its last tenth is an error in the log at every attempt.

use super::order::AcmeClient;
use super::state::CertState;
use instant_acme::CertificateIdentifier;
use rustls::pki_types::CertificateDer;
use std::time::Duration;
use time::OffsetDateTime;
use tracing::{error, info, warn};

/// Renews `current` and its successors forever; `renewed` is called with
/// each new certificate once it is served.
pub async fn keep_renewed(
    client: &AcmeClient,
    mut current: CertState,
    renewed: impl Fn(&CertState),
) -> ! {
    loop {
        wait_until_due(client, &current).await;
        let mut attempt = 0u32;
        current = loop {
            attempt += 1;
            info!(
                "renewing the certificate (serial {}, valid until {}), attempt {attempt}",
                current.serial, current.not_after
            );
            match client.order(Some(&current)).await {
                Ok(new) => break new,
                Err(e) => {
                    let delay = backoff(attempt, current.lifetime());
                    warn!(
                        "renewal attempt {attempt} failed: {e}; still serving serial {}; next attempt in {:.1} s",
                        current.serial,
                        delay.as_secs_f64()
                    );
                    let left = current.not_after - OffsetDateTime::now_utc();
                    if left <= current.lifetime() / 10 {
                        error!(
                            "the certificate (serial {}) {} and could not be renewed: clients will refuse it; \
                             check that the ACME CA {} is up",
                            current.serial,
                            if left.is_negative() {
                                format!("expired at {}", current.not_after)
                            } else {
                                format!("expires in {} s", left.whole_seconds())
                            },
                            client.config.directory
                        );
                    }
                    tokio::time::sleep(delay).await;
                }
            }
        };
        info!(
            "renewed the certificate: serial {}, valid until {}",
            current.serial, current.not_after
        );
        renewed(&current);
    }
}

/// Sleeps until `cert` is due for renewal: in the CA's ARI window if it
/// has one (asked again when the CA says to), else at two thirds of its
/// lifetime.
async fn wait_until_due(client: &AcmeClient, cert: &CertState) {
    loop {
        let now = OffsetDateTime::now_utc();
        let (due, ask_again) = match renewal_window(client, cert).await {
            Some((start, end, retry_after)) => {
                let due = start + (end - start) * random_fraction();
                info!("the CA suggests renewing between {start} and {end} (ARI); renewal at {due}");
                (due, Some(retry_after))
            }
            None => {
                let due = cert.two_thirds();
                info!("renewal at {due}, two thirds of the certificate's lifetime");
                (due, None)
            }
        };
        let due = if due < cert.earliest_renewal() {
            info!(
                "the certificate is only just received: renewal at {} instead",
                cert.earliest_renewal()
            );
            cert.earliest_renewal()
        } else {
            due
        };
        let wait = (due - now).max(time::Duration::ZERO);
        let wait = Duration::try_from(wait).unwrap_or_default();
        match ask_again {
            Some(again) if again < wait => {
                tokio::time::sleep(again.max(Duration::from_secs(1))).await
            }
            _ => return tokio::time::sleep(wait).await,
        }
    }
}

/// The CA's suggested window for `cert` and when to ask again; None when
/// the CA has no ARI or cannot be asked now.
async fn renewal_window(
    client: &AcmeClient,
    cert: &CertState,
) -> Option<(OffsetDateTime, OffsetDateTime, Duration)> {
    let leaf = CertificateDer::from(cert.key.cert[0].to_vec());
    let id = CertificateIdentifier::try_from(&leaf).ok()?;
    let account = match client.account().await {
        Ok(account) => account,
        Err(e) => {
            warn!("cannot ask the CA when to renew: {e}");
            return None;
        }
    };
    match account.renewal_info(&id).await {
        Ok((info, retry_after)) => Some((
            info.suggested_window.start,
            info.suggested_window.end,
            retry_after,
        )),
        Err(instant_acme::Error::Unsupported(_)) => None,
        Err(e) => {
            warn!("the CA's renewal information (ARI) is unavailable: {e}");
            None
        }
    }
}

/// The wait after failed attempt `attempt` (1, 2, ...): one second,
/// doubling, at most a twentieth of the lifetime (and an hour), times a
/// random factor between 1/2 and 1 so that servers do not retry in step.
pub fn backoff(attempt: u32, lifetime: time::Duration) -> Duration {
    let cap = Duration::try_from(lifetime / 20)
        .unwrap_or_default()
        .clamp(Duration::from_secs(1), Duration::from_secs(3600));
    let base = Duration::from_secs(1)
        .saturating_mul(1 << attempt.saturating_sub(1).min(20))
        .min(cap);
    base.mul_f64(0.5 + random_fraction() / 2.0)
}

/// A uniformly random number in [0, 1).
fn random_fraction() -> f64 {
    let mut bytes = [0u8; 8];
    let random = rustls::crypto::aws_lc_rs::default_provider().secure_random;
    if random.fill(&mut bytes).is_err() {
        return 0.5;
    }
    (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::backoff;
    use std::time::Duration;

    #[test]
    fn backoff_doubles_with_jitter_up_to_a_twentieth_of_the_lifetime() {
        let day = time::Duration::days(1);
        for attempt in 1..=4u32 {
            let full = Duration::from_secs(1 << (attempt - 1));
            let wait = backoff(attempt, day);
            assert!(
                wait >= full / 2 && wait <= full,
                "attempt {attempt}: {wait:?}"
            );
        }
        // 2 minutes: at most 6 s, never below half a second.
        let short = time::Duration::minutes(2);
        for attempt in [5, 10, 40] {
            let wait = backoff(attempt, short);
            assert!(
                wait >= Duration::from_secs(3) && wait <= Duration::from_secs(6),
                "{wait:?}"
            );
        }
        assert!(backoff(30, time::Duration::days(90)) <= Duration::from_secs(3600));
    }
}
