//! The CA's ledger in PostgreSQL, through the command line: `pki ca
//! migrate --to` copies the ledger file with counts and fingerprints, and
//! `pki list`, `pki revoke`, `pki crl`, `pki issue` with `--db` (or
//! `SQUIRREL_DB`) then work on the database. PostgreSQL is a throwaway cluster the test starts
//! (`squirrel_acme::test_util::pg_cluster`; scripts/test.sh installs it).

use crate::common::Scratch;
use squirrel_acme::test_util::pg_cluster::PgCluster;

fn list_json(s: &Scratch, extra: &[&str]) -> Vec<serde_json::Value> {
    let out = s.ok(&[&["pki", "list", "--json"], extra].concat());
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("pki list --json ({e}): {out}"))
}

/// The serials a CRL file lists, and its CRL number.
fn crl_contents(s: &Scratch, file: &str) -> (Vec<String>, String) {
    let text = s.openssl(&["crl", "-in", file, "-noout", "-text"]);
    let serials = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Serial Number: "))
        .map(str::to_string)
        .collect();
    let number = text
        .lines()
        .skip_while(|l| !l.contains("CRL Number"))
        .nth(1)
        .unwrap_or_default()
        .trim()
        .to_string();
    (serials, number)
}

#[test]
fn migrate_then_list_revoke_and_crl_on_postgres() {
    let cluster = PgCluster::start();
    let url = cluster.url_of("postgres");
    let password = cluster.password().to_string();
    let s = Scratch::new();
    s.init_ca(&[]);
    let alice = s.issue(&["alice", "--client"]);
    let bob = s.issue(&["bob", "--client"]);
    s.ok(&["pki", "revoke", &bob, "--pass-file", "pw"]);
    let in_file = list_json(&s, &[]);
    assert_eq!(in_file.len(), 2);

    let out = s.ok(&["pki", "ca", "migrate", "--to", &url]);
    assert!(!out.contains(&password), "the password shows: {out}");
    let shown = url.replace(&password, "***");
    assert!(out.contains(&format!("into {shown}:")), "{out}");
    let row = out
        .lines()
        .find(|l| l.trim_start().starts_with("certificates "))
        .unwrap_or_else(|| panic!("no certificates row: {out}"));
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cells[..3], ["certificates", "2", "2"], "{out}");
    assert_eq!(cells[4], "equal", "{out}");
    assert!(out.contains("Nothing lost"), "{out}");

    // What PostgreSQL holds is what the file held, field for field.
    let db = ["--db", url.as_str()];
    assert_eq!(list_json(&s, &db), in_file);
    // A second migration would mix two ledgers: refused, nothing changed.
    let err = s.fails(&["pki", "ca", "migrate", "--to", &url], 1);
    assert!(err.contains("already holds 2 certificates"), "{err}");
    assert!(!err.contains(&password), "{err}");

    // Revoke in PostgreSQL: the file is no longer written.
    let out = s.ok(&[&["pki", "revoke", "alice", "--pass-file", "pw"], &db[..]].concat());
    assert!(
        out.starts_with(&format!("Revoked {alice} (CN=alice)")),
        "{out}"
    );
    assert!(out.contains(&format!("--db '{shown}'")), "{out}");
    assert!(!out.contains(&password), "{out}");
    let revoked =
        |rows: &[serde_json::Value]| rows.iter().filter(|r| r["status"] == "revoked").count();
    assert_eq!(revoked(&list_json(&s, &db)), 2);
    assert_eq!(revoked(&list_json(&s, &[])), 1, "the file is untouched");
    let err = s.fails(
        &[&["pki", "revoke", &alice, "--pass-file", "pw"], &db[..]].concat(),
        1,
    );
    assert!(err.contains("is already revoked"), "{err}");

    // Signed by hand after the move: recorded in PostgreSQL, not the file.
    let carol = s.issue(&["carol", "--client", "--db", &url]);
    let in_db = list_json(&s, &db);
    assert_eq!(in_db.len(), 3);
    assert_eq!(in_db[2]["serial"], carol.as_str());
    assert_eq!(list_json(&s, &[]).len(), 2, "the file is untouched");

    // EAB keys for a members-only CA live in the database too.
    let added = s.ok(&["pki", "ca", "eab", "add", "dave", "--json", "--db", &url]);
    let added: serde_json::Value = serde_json::from_str(&added).unwrap();
    let keys = s.ok(&["pki", "ca", "eab", "list", "--json", "--db", &url]);
    let keys: serde_json::Value = serde_json::from_str(&keys).unwrap();
    assert_eq!(keys.as_array().map(Vec::len), Some(1), "{keys}");
    assert_eq!(keys[0]["kid"], added["kid"], "{keys}");
    let in_file = s.ok(&["pki", "ca", "eab", "list", "--json"]);
    assert_eq!(in_file.trim(), "[]", "the file is untouched");

    // The CRL from PostgreSQL (through SQUIRREL_DB): both, numbered by the
    // database's counter.
    for expected_number in ["1", "2"] {
        let (code, out, err) = s.squirrel_out(
            &[
                "pki",
                "crl",
                "--out",
                "crl.pem",
                "--force",
                "--pass-file",
                "pw",
            ],
            &[("SQUIRREL_DB", &url)],
        );
        assert_eq!(code, 0, "{out}{err}");
        assert!(out.contains("CRL of 2 revoked"), "{out}");
        let (mut serials, number) = crl_contents(&s, "crl.pem");
        serials.sort();
        let mut both = vec![alice.clone(), bob.clone()];
        both.sort();
        assert_eq!(serials, both);
        assert_eq!(number, expected_number);
    }
}

#[test]
fn a_bad_database_is_a_clear_error_without_the_password() {
    let cluster = PgCluster::start();
    let s = Scratch::new();
    s.init_ca(&[]);
    let err = s.fails(&["pki", "list", "--db", "sqlite:///tmp/x"], 2);
    assert!(err.contains("is not a PostgreSQL URL"), "{err}");
    let wrong = cluster
        .url_of("postgres")
        .replace(cluster.password(), "wrong-password-77");
    let err = s.fails(&["pki", "list", "--db", &wrong], 1);
    assert!(err.contains("password authentication failed"), "{err}");
    assert!(!err.contains("wrong-password-77"), "{err}");
    assert!(err.contains("squirrel:***@127.0.0.1"), "{err}");
}

/// `--db` over TLS, as libpq's `sslmode` and `sslrootcert` say: a cluster
/// whose certificate the club's own CA issued (`pki issue`), reached by
/// the certificate's name beside its address (`hostaddr`). verify-full
/// with the club CA's root works; with the address as the host it is
/// refused, with why and the fix, and never the password.
#[test]
fn the_database_is_reached_over_tls_and_its_certificate_checked() {
    let s = Scratch::new();
    s.init_ca(&[]);
    s.issue(&["db.squirrels.test"]);
    let cluster = PgCluster::start_with_tls(
        &s.read("db.squirrels.test.pem"),
        &s.read("db.squirrels.test-key.pem"),
    );
    let root = s.home().join("ca.pem");
    let tls = format!("sslmode=verify-full&sslrootcert={}", root.display());
    let by_name = format!(
        "{}?hostaddr=127.0.0.1&{tls}",
        cluster
            .url_of("postgres")
            .replace("127.0.0.1", "db.squirrels.test")
    );
    let out = s.ok(&["pki", "ca", "migrate", "--to", &by_name]);
    assert!(out.contains("Nothing lost"), "{out}");
    let listed = list_json(&s, &["--db", &by_name]);
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["alt_names"][0], "db.squirrels.test");

    let by_address = format!("{}?{tls}", cluster.url_of("postgres"));
    let err = s.fails(&["pki", "list", "--db", &by_address], 1);
    assert!(err.contains("not valid for name \"127.0.0.1\""), "{err}");
    assert!(err.contains("Fix: check sslrootcert"), "{err}");
    assert!(!err.contains(cluster.password()), "{err}");
}
