//! The ACME resources as the server keeps them (RFC 8555 §7.1): accounts,
//! orders, authorizations, challenges, external account binding keys and
//! the certificates issued through them.
//!
//! These are the rows of the store, not the JSON a client sees: the
//! server's `resource` module turns them into RFC 8555 objects with URLs.
//! Each status enum is one of the RFC's state machines (§7.1.6), and its
//! `name()` is both the JSON value and what the database stores.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

macro_rules! status_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.name())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                $name::from_name(&text).ok_or_else(|| {
                    serde::de::Error::custom(format!(
                        "unknown {} {text:?}", stringify!($name)
                    ))
                })
            }
        }

        impl $name {
            /// The RFC's name for this status (and the stored value).
            pub fn name(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// The status named `text`, as [`Self::name`] writes it.
            pub fn from_name(text: &str) -> Option<Self> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.pad(self.name())
            }
        }
    };
}

status_enum!(
    /// RFC 8555 §7.1.6, account objects.
    AccountStatus { Valid = "valid", Deactivated = "deactivated", Revoked = "revoked" }
);
status_enum!(
    /// RFC 8555 §7.1.6, order objects.
    OrderStatus {
        Pending = "pending",
        Ready = "ready",
        Processing = "processing",
        Valid = "valid",
        Invalid = "invalid",
    }
);
status_enum!(
    /// RFC 8555 §7.1.6, authorization objects.
    AuthzStatus {
        Pending = "pending",
        Valid = "valid",
        Invalid = "invalid",
        Deactivated = "deactivated",
        Expired = "expired",
        Revoked = "revoked",
    }
);
status_enum!(
    /// RFC 8555 §7.1.6, challenge objects.
    ChallengeStatus {
        Pending = "pending",
        Processing = "processing",
        Valid = "valid",
        Invalid = "invalid",
    }
);
status_enum!(
    /// The challenge types squirrel validates: RFC 8555 §8.3, §8.4 and
    /// RFC 8737.
    ChallengeType { Http01 = "http-01", Dns01 = "dns-01", TlsAlpn01 = "tls-alpn-01" }
);
status_enum!(
    /// RFC 8555 §9.7.7 `dns`, and RFC 8738 `ip`.
    IdentifierType { Dns = "dns", Ip = "ip" }
);

/// What an order asks a certificate for: a host name or an IP address.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Identifier {
    #[serde(rename = "type")]
    pub kind: IdentifierType,
    pub value: String,
}

impl Identifier {
    /// A `dns` identifier.
    pub fn dns(value: impl Into<String>) -> Identifier {
        Identifier {
            kind: IdentifierType::Dns,
            value: value.into(),
        }
    }

    /// An `ip` identifier.
    pub fn ip(value: impl Into<String>) -> Identifier {
        Identifier {
            kind: IdentifierType::Ip,
            value: value.into(),
        }
    }
}

impl std::fmt::Display for Identifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.kind, self.value)
    }
}

/// An account (RFC 8555 §7.1.2), identified by its key.
#[derive(Clone, Debug, PartialEq)]
pub struct AccountRecord {
    /// The random id in the account URL (`/acme/acct/{id}`).
    pub id: String,
    /// The account key as its JWK JSON (RFC 7638 canonical form).
    pub jwk: String,
    /// The key's RFC 7638 thumbprint: unique among accounts.
    pub thumbprint: String,
    pub status: AccountStatus,
    pub contact: Vec<String>,
    pub terms_agreed: bool,
    /// The EAB key id it registered with, if any.
    pub eab_kid: Option<String>,
    pub created_at: OffsetDateTime,
}

/// An order (RFC 8555 §7.1.3).
#[derive(Clone, Debug, PartialEq)]
pub struct OrderRecord {
    pub id: String,
    pub account_id: String,
    /// The stored status; the server derives `ready`/`invalid`/expiry from
    /// the authorizations and the clock, then stores the result.
    pub status: OrderStatus,
    pub expires: OffsetDateTime,
    pub identifiers: Vec<Identifier>,
    pub not_before: Option<OffsetDateTime>,
    pub not_after: Option<OffsetDateTime>,
    /// The ids of its authorizations, in the order of `identifiers`.
    pub authz_ids: Vec<String>,
    /// Why it became invalid: a problem document.
    pub error: Option<Value>,
    /// The finalize request's CSR (DER), kept so that an order left
    /// `processing` by a crash is finished at the next start.
    pub csr_der: Option<Vec<u8>>,
    /// The serial (upper-case hex, as the ledger) of its certificate.
    pub certificate_serial: Option<String>,
    /// The ARI certificate id (RFC 9773 §5) of the certificate it replaces.
    pub replaces: Option<String>,
    pub created_at: OffsetDateTime,
}

impl OrderRecord {
    /// Pending or ready: its state still follows its authorizations'
    /// (all valid makes it ready, one failed makes it invalid, §7.1.6).
    pub fn follows_its_authorizations(&self) -> bool {
        matches!(self.status, OrderStatus::Pending | OrderStatus::Ready)
    }
}

/// An authorization (RFC 8555 §7.1.4), with its challenges.
#[derive(Clone, Debug, PartialEq)]
pub struct AuthzRecord {
    pub id: String,
    pub account_id: String,
    /// The identifier without any `*.` (RFC 8555 §7.1.4).
    pub identifier: Identifier,
    /// True when the order asked for `*.` + `identifier.value`.
    pub wildcard: bool,
    pub status: AuthzStatus,
    pub expires: OffsetDateTime,
    pub challenges: Vec<ChallengeRecord>,
}

/// A challenge (RFC 8555 §7.1.5, §8).
#[derive(Clone, Debug, PartialEq)]
pub struct ChallengeRecord {
    pub id: String,
    pub authz_id: String,
    pub kind: ChallengeType,
    /// At least 128 bits of entropy, base64url (RFC 8555 §8.1).
    pub token: String,
    pub status: ChallengeStatus,
    pub validated: Option<OffsetDateTime>,
    /// Why validation failed: a problem document.
    pub error: Option<Value>,
}

/// An external account binding key (RFC 8555 §7.3.4), made by the leader
/// with `squirrel pki ca eab add NAME`.
#[derive(Clone, Debug, PartialEq)]
pub struct EabKey {
    /// The key id clients send as `kid`.
    pub kid: String,
    /// The leader's label for who holds it.
    pub name: String,
    /// The HMAC key (a secret: never logged, shown once at creation).
    pub hmac_key: Vec<u8>,
    pub created_at: OffsetDateTime,
    /// The account that registered with it; a key binds one account.
    pub account_id: Option<String>,
}

/// A certificate in the CA's ledger, with what ACME knows of it.
#[derive(Clone, Debug, PartialEq)]
pub struct CertificateRecord {
    /// The ledger's row (serial, names, dates, status, PEM).
    pub entry: squirrel_pki::ledger::LedgerEntry,
    /// The ACME account that ordered it (None: issued by hand).
    pub account_id: Option<String>,
    pub order_id: Option<String>,
}
