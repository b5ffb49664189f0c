//! SQL that both stores share: their schemas are the same
//! (`squirrel_pki::ledger::migrations` and `postgres_schema`), and so is
//! the one statement that reads an authorization with its challenges.

/// The columns of an authorization, in the order the stores read them.
pub(crate) const AUTHZ_COLS: &str =
    "id, account_id, identifier_type, identifier, wildcard, status, expires";

/// The columns of a challenge, in the order the stores read them.
pub(crate) const CHALLENGE_COLS: &str = "id, authz_id, type, token, status, validated, error";

/// The query for the first authorization that `authorizations` (a SELECT
/// of whole rows of `authorizations`) finds, with its challenges ordered
/// by `stored_order` (the column that numbers rows as they were stored):
/// one statement, hence one snapshot, without a transaction to begin and
/// end. Each row holds the [`AUTHZ_COLS`], then the [`CHALLENGE_COLS`]
/// (NULL when the authorization has no challenge).
pub(crate) fn authz_with_challenges_sql(authorizations: &str, stored_order: &str) -> String {
    let columns = |alias: &str, columns: &str| {
        columns
            .split(", ")
            .map(|column| format!("{alias}.{column}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "SELECT {}, {} FROM ({authorizations}) a
         LEFT JOIN challenges c ON c.authz_id = a.id ORDER BY c.{stored_order}",
        columns("a", AUTHZ_COLS),
        columns("c", CHALLENGE_COLS)
    )
}

/// Where the [`CHALLENGE_COLS`] begin in a row of
/// [`authz_with_challenges_sql`].
pub(crate) fn challenges_at() -> usize {
    AUTHZ_COLS.split(", ").count()
}
