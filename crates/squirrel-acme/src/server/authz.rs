//! Authorizations and challenges (RFC 8555 §7.5): the client says it is
//! ready, the CA validates in the background, and the authorization
//! becomes `valid` or `invalid` with its challenge (§7.1.6).

use super::auth::{authenticate_reading, check_owner, malformed};
use super::order::problem_json;
use super::reply::Reply;
use super::resources::{self, authz_url, challenge_url};
use super::{Acme, AcmeRequest};
use crate::model::{AuthzRecord, AuthzStatus, ChallengeStatus, ChallengeType, Identifier};
use crate::problem::{ErrorType, Problem};
use crate::store::{Prefetch, Prefetched};
use serde_json::Value;
use std::sync::Arc;
use time::OffsetDateTime;

/// The authorization with this id, expired first if its time is up.
pub(crate) async fn current(acme: &Acme, id: &str) -> Result<Option<AuthzRecord>, Problem> {
    let found = acme.store.authz(id).await?;
    expire_if_due(acme, found).await
}

/// `found`, marked (and saved) expired if it is still live past its time.
pub(crate) async fn expire_if_due(
    acme: &Acme,
    found: Option<AuthzRecord>,
) -> Result<Option<AuthzRecord>, Problem> {
    let Some(mut authz) = found else {
        return Ok(None);
    };
    let live = matches!(authz.status, AuthzStatus::Pending | AuthzStatus::Valid);
    if live && authz.expires <= OffsetDateTime::now_utc() {
        authz.status = AuthzStatus::Expired;
        acme.store.update_authz(&authz).await?;
    }
    Ok(Some(authz))
}

fn not_found(what: &str, id: &str) -> Problem {
    Problem::new(ErrorType::Malformed, format!("no {what} {id}")).with_status(404)
}

/// POST /acme/authz/{id}: POST-as-GET, or deactivation (§7.5.2).
pub(crate) async fn authorization(
    acme: &Arc<Acme>,
    req: &AcmeRequest,
    id: &str,
) -> Result<Reply, Problem> {
    let url = authz_url(&req.base, id);
    let (signed, read) = authenticate_reading(acme, req, &url, Prefetch::Authz(id.into())).await?;
    let found = match read.and_then(Prefetched::into_authz) {
        Some(found) => found,
        None => acme.store.authz(id).await?,
    };
    let mut authz = expire_if_due(acme, found)
        .await?
        .ok_or_else(|| not_found("authorization", id))?;
    check_owner(&signed, &authz.account_id, "authorization")?;
    let payload = signed.json()?;
    match payload.get("status").map(Value::as_str) {
        None => {}
        Some(Some("deactivated")) => {
            if !matches!(authz.status, AuthzStatus::Pending | AuthzStatus::Valid) {
                return Err(malformed(format!(
                    "the authorization is {}: only a pending or valid one can be deactivated",
                    authz.status
                )));
            }
            authz.status = AuthzStatus::Deactivated;
            acme.store.update_authz(&authz).await?;
        }
        Some(other) => {
            return Err(malformed(format!(
                "an authorization's status may only be set to \"deactivated\", not {other:?}"
            )))
        }
    }
    Ok(Reply::json(
        200,
        &resources::authorization(&req.base, &authz),
    ))
}

/// POST /acme/chall/{id}: `{}` asks for validation (§7.5.1); an empty
/// payload reads the challenge.
pub(crate) async fn challenge(
    acme: &Arc<Acme>,
    req: &AcmeRequest,
    id: &str,
) -> Result<Reply, Problem> {
    let url = challenge_url(&req.base, id);
    // The challenge and its authorization, read with the nonce's spend.
    let (signed, read) =
        authenticate_reading(acme, req, &url, Prefetch::AuthzOfChallenge(id.into())).await?;
    let found = match read.and_then(Prefetched::into_authz) {
        Some(found) => found,
        None => acme.store.authz_of_challenge(id).await?,
    };
    let mut authz = expire_if_due(acme, found)
        .await?
        .ok_or_else(|| not_found("challenge", id))?;
    let challenge = authz
        .challenges
        .iter()
        .find(|c| c.id == id)
        .cloned()
        .ok_or_else(|| not_found("challenge", id))?;
    check_owner(&signed, &authz.account_id, "challenge")?;
    let start = !signed.is_post_as_get()
        && authz.status == AuthzStatus::Pending
        && challenge.status == ChallengeStatus::Pending;
    if start {
        signed.json()?; // `{}`, or any object: its members are ignored (§7.5.1)
        if let Some(c) = authz.challenges.iter_mut().find(|c| c.id == id) {
            c.status = ChallengeStatus::Processing;
        }
        acme.store.update_authz(&authz).await?;
        let task = Validation {
            challenge_id: id.to_string(),
            known: Some(Known {
                authz_id: authz.id.clone(),
                kind: challenge.kind,
                token: challenge.token.clone(),
                identifier: authz.identifier.clone(),
                thumbprint: signed.account().thumbprint.clone(),
            }),
        };
        // Most validations take milliseconds: answering once it is done
        // (or after VALIDATION_WAIT) spares the client polls that would
        // find it still processing.
        let done = acme.spawn_validation(task);
        match tokio::time::timeout(VALIDATION_WAIT, done).await {
            // The authorization as the validation saved it.
            Ok(Ok(Some(saved))) => authz = saved,
            _ => {
                if let Some(now) = acme.store.authz(&authz.id).await? {
                    authz = now;
                }
            }
        }
    }
    let shown = authz
        .challenges
        .iter()
        .find(|c| c.id == id)
        .unwrap_or(&challenge);
    Ok(Reply::json(200, &resources::challenge(&req.base, shown))
        .link(&authz_url(&req.base, &authz.id), "up"))
}

/// How long a challenge response waits for its validation before it
/// answers `processing` (the client then polls, RFC 8555 §7.5.1).
const VALIDATION_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// A validation to run: the challenge, and what the request that asked
/// for it already read.
pub(crate) struct Validation {
    pub challenge_id: String,
    pub known: Option<Known>,
}

/// The facts a validation needs about its challenge.
#[derive(Clone)]
pub(crate) struct Known {
    authz_id: String,
    kind: ChallengeType,
    token: String,
    identifier: Identifier,
    thumbprint: String,
}

impl Acme {
    /// Validates a challenge in the background, then records the outcome
    /// on the challenge and its authorization.
    /// Returns a receiver that completes when the outcome is recorded,
    /// with the authorization as saved (none when nothing was recorded).
    pub(crate) fn spawn_validation(
        self: &Arc<Self>,
        task: Validation,
    ) -> tokio::sync::oneshot::Receiver<Option<AuthzRecord>> {
        let acme = Arc::clone(self);
        let (done, recorded) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            let _busy = acme.busy.mark(&task.challenge_id);
            let _permit = acme.validations.clone().acquire_owned().await;
            let saved = match acme.validate_challenge(&task).await {
                Ok(saved) => saved,
                Err(problem) => {
                    tracing::error!(challenge = %task.challenge_id, "validation not recorded: {}", problem.detail);
                    None
                }
            };
            let _ = done.send(saved);
        });
        recorded
    }

    /// What a validation needs: known from the request that asked for it,
    /// or read from the store (a validation resumed after a restart).
    async fn known(&self, task: &Validation) -> Result<Option<Known>, Problem> {
        if let Some(known) = &task.known {
            return Ok(Some(known.clone()));
        }
        let Some(authz) = self.store.authz_of_challenge(&task.challenge_id).await? else {
            return Ok(None);
        };
        let Some(challenge) = authz.challenges.iter().find(|c| c.id == task.challenge_id) else {
            return Ok(None);
        };
        let Some(account) = self.store.account(&authz.account_id).await? else {
            return Ok(None);
        };
        Ok(Some(Known {
            authz_id: authz.id.clone(),
            kind: challenge.kind,
            token: challenge.token.clone(),
            identifier: authz.identifier.clone(),
            thumbprint: account.thumbprint,
        }))
    }

    /// Runs the validation and records its outcome; returns the
    /// authorization as saved, if it still exists.
    async fn validate_challenge(&self, task: &Validation) -> Result<Option<AuthzRecord>, Problem> {
        let challenge_id = task.challenge_id.as_str();
        let Some(known) = self.known(task).await? else {
            return Ok(None);
        };
        let key_authorization = format!("{}.{}", known.token, known.thumbprint);
        let outcome = crate::validate::validate(
            &self.options.validation,
            known.kind,
            &known.identifier,
            &known.token,
            &key_authorization,
        )
        .await;
        // Read now: the authorization may have been deactivated meanwhile.
        let Some(mut authz) = self.store.authz(&known.authz_id).await? else {
            return Ok(None);
        };
        let now = OffsetDateTime::now_utc();
        let Some(c) = authz.challenges.iter_mut().find(|c| c.id == challenge_id) else {
            return Ok(None);
        };
        match &outcome {
            Ok(()) => {
                c.status = ChallengeStatus::Valid;
                c.validated = Some(now);
                if authz.status == AuthzStatus::Pending {
                    authz.status = AuthzStatus::Valid;
                    authz.expires = now + self.options.authz_reuse;
                }
            }
            Err(problem) => {
                c.status = ChallengeStatus::Invalid;
                c.error = Some(problem_json(problem));
                if authz.status == AuthzStatus::Pending {
                    authz.status = AuthzStatus::Invalid;
                }
            }
        }
        tracing::info!(
            identifier = %authz.identifier,
            challenge = %known.kind,
            outcome = %match &outcome { Ok(()) => "valid".to_string(), Err(p) => p.detail.clone() },
            "challenge validated"
        );
        self.store.update_authz(&authz).await?;
        Ok(Some(authz))
    }
}
