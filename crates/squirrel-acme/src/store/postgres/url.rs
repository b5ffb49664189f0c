//! Database URLs as they may be shown: without the password.

/// `url` with its password replaced by `***`, for errors and logs: in the
/// URL form (`postgres://user:secret@host/db`) and in the key=value form
/// (`host=... password=secret`). Anything else is shown as given.
pub fn redact(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        // The userinfo ends at the last '@' before the path.
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        if let Some(at) = rest[..authority_end].rfind('@') {
            let userinfo = &rest[..at];
            if let Some((user, _password)) = userinfo.split_once(':') {
                return format!("{scheme}://{user}:***{}", &rest[at..]);
            }
        }
        // A password may also be a query parameter.
        return match rest.split_once('?') {
            Some((base, query)) => {
                let query: Vec<String> = query
                    .split('&')
                    .map(|pair| match pair.split_once('=') {
                        Some(("password", _)) => "password=***".to_string(),
                        _ => pair.to_string(),
                    })
                    .collect();
                format!("{scheme}://{base}?{}", query.join("&"))
            }
            None => url.to_string(),
        };
    }
    url.split_whitespace()
        .map(|pair| match pair.split_once('=') {
            Some(("password", _)) => "password=***".to_string(),
            _ => pair.to_string(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// True when `url` names a PostgreSQL database rather than a file.
pub fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_never_shown() {
        for (url, shown) in [
            (
                "postgres://squirrel:s3cr3t@db.example:5432/ca",
                "postgres://squirrel:***@db.example:5432/ca",
            ),
            (
                "postgresql://squirrel:p@ss@127.0.0.1/ca",
                "postgresql://squirrel:***@127.0.0.1/ca",
            ),
            (
                "postgres://squirrel@localhost/ca",
                "postgres://squirrel@localhost/ca",
            ),
            (
                "postgres://localhost/ca?user=x&password=s3cr3t",
                "postgres://localhost/ca?user=x&password=***",
            ),
            (
                "host=localhost password=s3cr3t dbname=ca",
                "host=localhost password=*** dbname=ca",
            ),
        ] {
            assert_eq!(redact(url), shown);
            assert!(!redact(url).contains("s3cr3t"));
        }
        assert!(is_postgres("postgresql://x/y"));
        assert!(!is_postgres("/var/lib/ca/ledger.sqlite3"));
    }
}
