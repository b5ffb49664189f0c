//! TLS between a replica and PostgreSQL (`sslmode`, `sslrootcert` in the
//! `--db` URL, as libpq reads them): a real cluster with `ssl = on`,
//! presenting a certificate that squirrel's own CA issued for
//! `db.squirrels.test`, reached at 127.0.0.1. What the server's
//! `pg_stat_ssl` says of the store's connections is the proof that they are
//! encrypted.

use squirrel_acme::store::postgres::PostgresStore;
use squirrel_acme::store::StoreError;
use squirrel_acme::test_util::pg_cluster::{self, PgCluster};
use squirrel_pki::ca::{init_ca, CaFiles, CaOptions, CertificateAuthority};
use squirrel_pki::issue::issue_paths;
use squirrel_pki::{AltName, KeyAlgorithm, KeyProtection, SignOptions};
use std::path::{Path, PathBuf};

/// A CA in `dir/NAME`: its certificate file, and the CA itself.
fn ca_in(dir: &Path, name: &str) -> (PathBuf, CertificateAuthority) {
    let files = CaFiles::in_dir(&dir.join(name));
    init_ca(&files, &CaOptions::default(), &KeyProtection::Unencrypted).unwrap();
    let ca = CertificateAuthority::open(&files, None).unwrap();
    (files.cert.clone(), ca)
}

/// The database server's certificate and key (PEM), for `name` only.
fn server_pair(ca: &CertificateAuthority, dir: &Path, name: &str) -> (String, String) {
    let names = [AltName::parse(name).unwrap()];
    let pair = ca
        .issue_to_files(
            &names,
            KeyAlgorithm::EcdsaP256,
            &KeyProtection::Unencrypted,
            SignOptions::default(),
            issue_paths(dir, &names, Default::default()),
            false,
        )
        .unwrap();
    (
        std::fs::read_to_string(pair.cert_path).unwrap(),
        std::fs::read_to_string(pair.key_path).unwrap(),
    )
}

/// `url` with TLS settings added to its query.
fn with(url: &str, settings: &str) -> String {
    format!("{url}?{settings}")
}

fn refused(result: Result<PostgresStore, StoreError>) -> String {
    match result {
        Err(StoreError::Database(message)) => message,
        Err(other) => panic!("expected a database error, got {other:?}"),
        Ok(_) => panic!("connected where it must not"),
    }
}

/// How many of the connections to database `name` are encrypted, and how
/// many are not, as the server sees them.
async fn connections(cluster: &PgCluster, name: &str) -> (i64, i64) {
    let (client, connection) =
        tokio_postgres::connect(&cluster.url_of("postgres"), tokio_postgres::NoTls)
            .await
            .unwrap();
    tokio::spawn(connection);
    let row = client
        .query_one(
            "SELECT count(*) FILTER (WHERE s.ssl), count(*) FILTER (WHERE NOT s.ssl)
             FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
             WHERE a.datname = $1",
            &[&name],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1))
}

/// Connects a store to `url` and asserts that every connection to
/// database `name` is encrypted, as the server sees it.
async fn connects_encrypted(cluster: &PgCluster, name: &str, url: &str) {
    let store = PostgresStore::connect(url).await.unwrap();
    let (encrypted, plain) = connections(cluster, name).await;
    assert!(
        encrypted >= 1 && plain == 0,
        "{url}: {encrypted} encrypted, {plain} plain"
    );
    drop(store);
}

#[tokio::test]
async fn replicas_reach_postgres_over_tls_checked_as_sslmode_says() {
    if let Some(why) = pg_cluster::unavailable() {
        panic!("{why}");
    }
    let dir = tempfile::tempdir().unwrap();
    let (root, ca) = ca_in(dir.path(), "club-ca");
    let (other_root, _) = ca_in(dir.path(), "other-ca");
    let (cert, key) = server_pair(&ca, dir.path(), "db.squirrels.test");
    let cluster = PgCluster::start_with_tls(&cert, &key);
    let url = cluster.database().await;
    let name = url.rsplit('/').next().unwrap().to_string();
    let root = root.display().to_string();

    // verify-ca: the chain is the club CA's; the name is not checked.
    let verify_ca = with(&url, &format!("sslmode=verify-ca&sslrootcert={root}"));
    connects_encrypted(&cluster, &name, &verify_ca).await;

    // verify-full: 127.0.0.1 is not a name of the certificate.
    let e = refused(
        PostgresStore::connect(&with(
            &url,
            &format!("sslmode=verify-full&sslrootcert={root}"),
        ))
        .await,
    );
    assert!(
        e.contains("NotValidForName") || e.contains("not valid for"),
        "{e}"
    );
    assert!(e.contains("Fix: check sslrootcert"), "{e}");
    assert!(!e.contains(cluster.password()), "the password shows: {e}");

    // Another CA's root: the chain does not verify, in every checking mode.
    for mode in ["verify-ca", "verify-full", "require"] {
        let e = refused(
            PostgresStore::connect(&with(
                &url,
                &format!("sslmode={mode}&sslrootcert={}", other_root.display()),
            ))
            .await,
        );
        // Same subject as the club CA (both are squirrel's default), another
        // key: the signature check fails.
        assert!(
            e.contains("BadSignature") || e.contains("UnknownIssuer"),
            "{mode}: {e}"
        );
    }

    // require without a root: encrypted, whoever answers (as libpq).
    connects_encrypted(&cluster, &name, &with(&url, "sslmode=require")).await;

    // The default (prefer) takes TLS when the server offers it.
    connects_encrypted(&cluster, &name, &url).await;

    // disable: plain TCP, as asked.
    let store = PostgresStore::connect(&with(&url, "sslmode=disable"))
        .await
        .unwrap();
    let (_, plain) = connections(&cluster, &name).await;
    assert!(plain >= 1, "no plain connection with sslmode=disable");
    drop(store);

    // The certificate's name as the host, its address beside (libpq's
    // hostaddr): verify-full passes.
    let by_name = url.replace("127.0.0.1", "db.squirrels.test");
    let verify_full = with(
        &by_name,
        &format!("hostaddr=127.0.0.1&sslmode=verify-full&sslrootcert={root}"),
    );
    connects_encrypted(&cluster, &name, &verify_full).await;
}

#[tokio::test]
async fn tls_required_from_a_server_without_it_is_refused_with_the_fix() {
    if let Some(why) = pg_cluster::unavailable() {
        panic!("{why}");
    }
    let cluster = PgCluster::start();
    let url = cluster.database().await;
    let e = refused(PostgresStore::connect(&with(&url, "sslmode=require")).await);
    assert!(e.contains("does not support TLS"), "{e}");
    assert!(e.contains("ssl = on"), "{e}");
    // prefer falls back to plain TCP.
    PostgresStore::connect(&url).await.unwrap();
}
