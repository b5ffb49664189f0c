//! Orders (RFC 8555 §7.4): a client asks for identifiers, gets one
//! authorization per identifier, and the order follows them:
//! `pending` → `ready` (all valid) → `processing` (finalized) → `valid`
//! (certificate issued); `invalid` when an authorization fails or the
//! order expires (§7.1.6).

use super::auth::{authenticate, authenticate_reading, check_owner, malformed, Signer};
use super::policy::Accepted;
use super::reply::Reply;
use super::resources::{self, endpoint, order_url};
use super::{random_id, Acme, AcmeRequest};
use crate::model::{
    AuthzRecord, AuthzStatus, ChallengeRecord, ChallengeStatus, ChallengeType, IdentifierType,
    OrderRecord, OrderStatus,
};
use crate::problem::{ErrorType, Problem, Subproblem};
use crate::store::{Prefetch, Prefetched};
use serde_json::Value;
use std::sync::Arc;
use time::OffsetDateTime;

/// At most this many identifiers in one order (Let's Encrypt's limit).
pub const MAX_IDENTIFIERS: usize = 100;

/// POST /acme/new-order (§7.4).
pub(crate) async fn new_order(acme: &Arc<Acme>, req: &AcmeRequest) -> Result<Reply, Problem> {
    let url = endpoint(&req.base, "new-order");
    let signed = authenticate(acme, req, &url, Signer::Account).await?;
    let payload = signed.json()?;
    let account = signed.account();
    let Some(raw) = payload.get("identifiers").and_then(Value::as_array) else {
        return Err(malformed("the order has no \"identifiers\" array"));
    };
    if raw.is_empty() {
        return Err(malformed("the order names no identifier"));
    }
    if raw.len() > MAX_IDENTIFIERS {
        return Err(Problem::new(
            ErrorType::RejectedIdentifier,
            format!("at most {MAX_IDENTIFIERS} identifiers per order"),
        ));
    }
    for field in ["notBefore", "notAfter"] {
        if payload.get(field).is_some_and(|v| !v.is_null()) {
            return Err(malformed(format!(
                "\"{field}\" is not supported: certificates start now and last {} days",
                acme.options.policy.cert_lifetime.whole_days()
            )));
        }
    }
    let mut accepted: Vec<Accepted> = Vec::new();
    let mut refused: Vec<Subproblem> = Vec::new();
    for identifier in raw {
        match acme.options.policy.check(&acme.ca, identifier) {
            Ok(a) if accepted.iter().any(|b| b.as_ordered == a.as_ordered) => {}
            Ok(a) => accepted.push(a),
            Err(subproblem) => refused.push(subproblem),
        }
    }
    if !refused.is_empty() {
        return Err(refusal(refused));
    }
    let replaces = match payload.get("replaces") {
        None | Some(Value::Null) => None,
        Some(Value::String(id)) => {
            super::renewal::check_replaces(acme, account, id).await?;
            Some(id.clone())
        }
        Some(_) => return Err(malformed("\"replaces\" must be a certificate id string")),
    };

    let now = OffsetDateTime::now_utc();
    let expires = now + acme.options.order_lifetime;
    let mut authz_ids = Vec::new();
    let mut new_authzs = Vec::new();
    for a in &accepted {
        if let Some(existing) = acme
            .store
            .reusable_authz(&account.id, &a.identifier, a.wildcard, now)
            .await?
        {
            authz_ids.push(existing.id);
            continue;
        }
        let authz = new_authorization(&account.id, a, expires);
        authz_ids.push(authz.id.clone());
        new_authzs.push(authz);
    }
    let order = OrderRecord {
        id: random_id(),
        account_id: account.id.clone(),
        status: OrderStatus::Pending,
        expires,
        identifiers: accepted.into_iter().map(|a| a.as_ordered).collect(),
        not_before: None,
        not_after: None,
        authz_ids,
        error: None,
        csr_der: None,
        certificate_serial: None,
        replaces,
        created_at: now,
    };
    acme.store.create_order(&order, &new_authzs).await?;
    // Reused authorizations may make it ready at once; the new ones are
    // pending, as just written.
    let order = refresh(acme, order, new_authzs).await?;
    Ok(Reply::json(201, &resources::order(&req.base, &order))
        .location(order_url(&req.base, &order.id)))
}

/// One problem for the refused identifiers: the subproblem itself when
/// there is one, `rejectedIdentifier` with subproblems otherwise (§6.7.1).
fn refusal(mut refused: Vec<Subproblem>) -> Problem {
    if refused.len() == 1 {
        let one = refused.remove(0);
        let detail = match &one.identifier {
            Some(id) => format!("{} ({}:{})", one.detail, id.kind, id.value),
            None => one.detail.clone(),
        };
        return Problem::new(one.kind, detail).with_subproblem(one);
    }
    let detail = format!("{} identifiers were refused", refused.len());
    refused.into_iter().fold(
        Problem::new(ErrorType::RejectedIdentifier, detail),
        Problem::with_subproblem,
    )
}

/// A pending authorization with the challenges its identifier allows:
/// dns-01 only for a wildcard (§7.1.3), no dns-01 for an IP (RFC 8738 §7).
fn new_authorization(account_id: &str, a: &Accepted, expires: OffsetDateTime) -> AuthzRecord {
    let id = random_id();
    let kinds: &[ChallengeType] = match (a.identifier.kind, a.wildcard) {
        (IdentifierType::Dns, true) => &[ChallengeType::Dns01],
        (IdentifierType::Dns, false) => &[
            ChallengeType::Http01,
            ChallengeType::Dns01,
            ChallengeType::TlsAlpn01,
        ],
        (IdentifierType::Ip, _) => &[ChallengeType::Http01, ChallengeType::TlsAlpn01],
    };
    let challenges = kinds
        .iter()
        .map(|&kind| ChallengeRecord {
            id: random_id(),
            authz_id: id.clone(),
            kind,
            token: random_id(),
            status: ChallengeStatus::Pending,
            validated: None,
            error: None,
        })
        .collect();
    AuthzRecord {
        id,
        account_id: account_id.to_string(),
        identifier: a.identifier.clone(),
        wildcard: a.wildcard,
        status: AuthzStatus::Pending,
        expires,
        challenges,
    }
}

/// POST /acme/order/{id} (POST-as-GET).
pub(crate) async fn order(acme: &Arc<Acme>, req: &AcmeRequest, id: &str) -> Result<Reply, Problem> {
    let url = order_url(&req.base, id);
    let (signed, read) = authenticate_reading(acme, req, &url, Prefetch::Order(id.into())).await?;
    let (order, authzs) = find(acme, read, id).await?;
    check_owner(&signed, &order.account_id, "order")?;
    let order = refresh(acme, order, authzs).await?;
    let reply = Reply::json(200, &resources::order(&req.base, &order));
    Ok(match order.status {
        OrderStatus::Processing => reply.retry_after(1),
        _ => reply,
    })
}

/// The order with this id, or 404, and those of its authorizations that
/// were read along: taken from `read` (what `authenticate_reading` read
/// with the nonce's spend) when it is there.
pub(crate) async fn find(
    acme: &Acme,
    read: Option<Prefetched>,
    id: &str,
) -> Result<(OrderRecord, Vec<AuthzRecord>), Problem> {
    let (found, authzs) = match read.and_then(Prefetched::into_order) {
        Some(read) => read,
        None => (acme.store.order(id).await?, Vec::new()),
    };
    let order = found.ok_or_else(|| {
        Problem::new(ErrorType::Malformed, format!("no order {id}")).with_status(404)
    })?;
    Ok((order, authzs))
}

/// Brings a stored order up to date with its authorizations and the clock
/// (§7.1.6), and saves it when it became invalid. Those of its
/// authorizations in `known` (the ones the request just wrote, or read with
/// its nonce's spend) are taken from there instead of read again.
pub(crate) async fn refresh(
    acme: &Acme,
    mut order: OrderRecord,
    mut known: Vec<AuthzRecord>,
) -> Result<OrderRecord, Problem> {
    let now = OffsetDateTime::now_utc();
    let before = order.status;
    if order.follows_its_authorizations() {
        if order.expires <= now {
            order.status = OrderStatus::Invalid;
            order.error = Some(problem_json(&Problem::new(
                ErrorType::Malformed,
                "the order expired before it was finalized",
            )));
        } else {
            let mut all_valid = true;
            for id in &order.authz_ids {
                let taken = known.iter().position(|a| &a.id == id);
                let found = match taken.map(|i| known.swap_remove(i)) {
                    Some(authz) => super::authz::expire_if_due(acme, Some(authz)).await?,
                    None => super::authz::current(acme, id).await?,
                };
                let Some(authz) = found else {
                    all_valid = false;
                    continue;
                };
                match authz.status {
                    AuthzStatus::Valid => {}
                    AuthzStatus::Pending => all_valid = false,
                    failed => {
                        all_valid = false;
                        order.status = OrderStatus::Invalid;
                        let detail = authz
                            .challenges
                            .iter()
                            .find_map(|c| c.error.clone())
                            .and_then(|e| e.get("detail").and_then(Value::as_str).map(String::from))
                            .unwrap_or_else(|| format!("the authorization is {failed}"));
                        order.error = Some(problem_json(&Problem::new(
                            ErrorType::Unauthorized,
                            format!("authorization for {} failed: {detail}", authz.identifier),
                        )));
                        break;
                    }
                }
            }
            if order.status == OrderStatus::Pending && all_valid {
                order.status = OrderStatus::Ready;
            }
        }
    }
    // `ready` is derived again at every read, so only a failure (which
    // carries its error) needs to be written.
    if order.status != before && order.status == OrderStatus::Invalid {
        acme.store.update_order(&order).await?;
    }
    Ok(order)
}

/// A problem as stored in an order's or challenge's `error`.
pub(crate) fn problem_json(problem: &Problem) -> Value {
    serde_json::to_value(problem).unwrap_or(Value::Null)
}
