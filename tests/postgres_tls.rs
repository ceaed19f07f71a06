//! TLS to a real PostgreSQL with libpq's `sslmode` and `sslrootcert`: one
//! server with `ssl = on` and a certificate for `localhost` only, signed by
//! a throwaway CA, and one server without ssl. What each session really is
//! comes from the server's `pg_stat_ssl`.

mod support;

use std::path::Path;
use std::time::Duration;

use cutover::migrations::{DatabaseConfig, DatabaseConnection, SslMode, connect, read};
use support::postgres::{Postgres, passfile};

const TIMEOUT: Duration = Duration::from_secs(5);
const PLANTED: &str = "planted-tls-Pa55word";

/// A database config named `payments` for `url`.
fn payments(url: String) -> DatabaseConfig {
    DatabaseConfig {
        name: "payments".into(),
        url,
        ..Default::default()
    }
}

/// Connect, or fail the test with the error.
async fn connected(db: &DatabaseConfig) -> DatabaseConnection {
    connect(db, TIMEOUT)
        .await
        .unwrap_or_else(|e| panic!("{db:?}: {e}"))
}

async fn refused(db: &DatabaseConfig) -> String {
    match connect(db, TIMEOUT).await {
        Ok(c) => panic!("{db:?} connected (tls: {:?})", c.tls),
        Err(e) => e,
    }
}

/// What the server says of this session: encrypted, and with which version.
async fn server_side(connection: &DatabaseConnection) -> (bool, Option<String>) {
    let row = connection
        .client
        .query_one(
            "SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .expect("pg_stat_ssl");
    (row.get(0), row.get(1))
}

/// Encrypted as the server sees it, and as the connection says.
async fn assert_encrypted(connection: &DatabaseConnection, checks: &str) {
    let (ssl, version) = server_side(connection).await;
    assert!(ssl, "pg_stat_ssl: not encrypted");
    let version = version.expect("a TLS version");
    assert_eq!(
        connection.tls.as_deref(),
        Some(format!("{version}, {checks}").as_str())
    );
}

async fn assert_plain(connection: &DatabaseConnection) {
    assert_eq!(server_side(connection).await, (false, None));
    assert_eq!(connection.tls, None);
}

/// A login role with the planted password, which it must give with
/// scram-sha-256 (see the harness), and a password file for it.
async fn role_with_password(server: &Postgres, role: &str, dir: &Path) -> std::path::PathBuf {
    server
        .client("postgres")
        .await
        .batch_execute(&format!(
            "CREATE ROLE {role} LOGIN PASSWORD '{PLANTED}' IN ROLE password_required"
        ))
        .await
        .expect("create the role");
    passfile(dir, role, &format!("*:*:*:{role}:{PLANTED}"), 0o600)
}

fn ca_files(server: &Postgres) -> (String, String) {
    let tls = server.tls.as_ref().expect("a TLS server");
    let path = |p: &Path| p.to_str().expect("a UTF-8 path").to_string();
    (path(&tls.ca), path(&tls.other_ca))
}

#[tokio::test]
async fn require_encrypts_without_checking_the_certificate() {
    let Some(server) = Postgres::shared_tls("require_encrypts_without_checking_the_certificate")
    else {
        return;
    };
    let db = payments(format!(
        "{}?sslmode=require",
        server.url("postgres", "postgres")
    ));
    assert_encrypted(&connected(&db).await, "not verified").await;

    // The whole reading goes over it, and says so.
    let reading = read(&db, TIMEOUT).await.expect("read over TLS");
    assert!(
        reading
            .tls
            .as_deref()
            .is_some_and(|t| t.starts_with("TLSv1.")),
        "{:?}",
        reading.tls
    );

    // prefer, the default, takes TLS when the server offers it.
    let db = payments(server.url("postgres", "postgres"));
    assert_encrypted(&connected(&db).await, "not verified").await;
}

#[tokio::test]
async fn verify_full_with_the_right_ca_connects_and_logs_in_with_scram() {
    let test = "verify_full_with_the_right_ca_connects_and_logs_in_with_scram";
    let Some(server) = Postgres::shared_tls(test) else {
        return;
    };
    let (ca, _) = ca_files(&server);
    let dir = tempfile::tempdir().unwrap();
    // Given in the config file's fields rather than in the url. The server
    // offers SCRAM-SHA-256-PLUS over TLS; `channel_binding=require` makes
    // the login fail unless it is used, with the certificate's right hash.
    let db = DatabaseConfig {
        sslmode: Some(SslMode::VerifyFull),
        sslrootcert: Some(ca.into()),
        password_file: Some(role_with_password(&server, "full_reader", dir.path()).await),
        ..payments(format!(
            "{}?channel_binding=require",
            server.url_via("localhost", "full_reader", "postgres")
        ))
    };
    let connection = connected(&db).await;
    assert_encrypted(&connection, "verify-full").await;
    let user: String = connection
        .client
        .query_one("SELECT current_user::text", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(user, "full_reader");
}

#[tokio::test]
async fn verify_full_refuses_a_certificate_for_another_host_and_never_shows_the_password() {
    let test = "verify_full_refuses_a_certificate_for_another_host_and_never_shows_the_password";
    let Some(server) = Postgres::shared_tls(test) else {
        return;
    };
    let (ca, _) = ca_files(&server);
    let dir = tempfile::tempdir().unwrap();
    let password_file = role_with_password(&server, "misnamed_reader", dir.path()).await;
    // The certificate is for localhost; 127.0.0.1 is the same server under
    // a name it does not hold.
    let db = DatabaseConfig {
        password_file: Some(password_file),
        ..payments(format!(
            "{}?sslmode=verify-full&sslrootcert={ca}",
            server.url("misnamed_reader", "postgres")
        ))
    };
    let err = refused(&db).await;
    assert_eq!(
        err,
        format!(
            "database payments (127.0.0.1:{}): the server certificate is not valid for host \
             127.0.0.1 (it is for localhost): check the host name or use sslmode=verify-ca",
            server.port
        )
    );
    let err = read(&db, TIMEOUT).await.expect_err("refused when reading");
    for text in [err, format!("{db:?}")] {
        assert!(!text.contains(PLANTED), "{text}");
    }
}

#[tokio::test]
async fn verify_ca_checks_the_chain_but_not_the_host() {
    let Some(server) = Postgres::shared_tls("verify_ca_checks_the_chain_but_not_the_host") else {
        return;
    };
    let (ca, other_ca) = ca_files(&server);
    let url = |query: &str| payments(format!("{}?{query}", server.url("postgres", "postgres")));

    let right = url(&format!("sslmode=verify-ca&sslrootcert={ca}"));
    assert_encrypted(&connected(&right).await, "verify-ca").await;

    let wrong = url(&format!("sslmode=verify-ca&sslrootcert={other_ca}"));
    let expected = format!(
        "database payments (127.0.0.1:{}): the server certificate is not signed by an \
         authority in {other_ca}: check sslrootcert (the certificate of the authority that \
         signed the server's)",
        server.port
    );
    assert_eq!(refused(&wrong).await, expected);

    // As in libpq, require with a root file checks the chain as verify-ca.
    let require = url(&format!("sslmode=require&sslrootcert={other_ca}"));
    assert_eq!(refused(&require).await, expected);
}

#[tokio::test]
async fn disable_never_encrypts_and_a_tls_only_role_is_refused_without_it() {
    let test = "disable_never_encrypts_and_a_tls_only_role_is_refused_without_it";
    let Some(server) = Postgres::shared_tls(test) else {
        return;
    };
    let disabled =
        |user: &str| payments(format!("{}?sslmode=disable", server.url(user, "postgres")));
    assert_plain(&connected(&disabled("postgres")).await).await;

    let err = refused(&disabled("tls_only")).await;
    assert!(
        err.starts_with(&format!("database payments (127.0.0.1:{}): ", server.port)),
        "{err}"
    );
    assert!(
        err.ends_with(
            "no encryption: the server accepts only encrypted connections here: \
             use sslmode=require or stronger"
        ),
        "{err}"
    );

    // allow tries without TLS, and with it when the server refuses.
    let allow = payments(format!(
        "{}?sslmode=allow",
        server.url("tls_only", "postgres")
    ));
    assert_encrypted(&connected(&allow).await, "not verified").await;
    let allow = payments(format!(
        "{}?sslmode=allow",
        server.url("postgres", "postgres")
    ));
    assert_plain(&connected(&allow).await).await;
}

#[tokio::test]
async fn without_ssl_on_the_server_prefer_connects_in_plaintext_and_require_is_refused() {
    let test = "without_ssl_on_the_server_prefer_connects_in_plaintext_and_require_is_refused";
    let Some(server) = Postgres::shared(test) else {
        return;
    };
    let plain = payments(server.url("postgres", "postgres"));
    assert_plain(&connected(&plain).await).await;

    let require = payments(format!(
        "{}?sslmode=require",
        server.url("postgres", "postgres")
    ));
    assert_eq!(
        refused(&require).await,
        format!(
            "database payments (127.0.0.1:{}): the server does not accept TLS connections, and \
             sslmode=require requires TLS: turn ssl on in the server, or use sslmode=prefer to \
             connect without it",
            server.port
        )
    );

    // allow, refused without TLS by a wrong password, finds no TLS to try
    // and says why the plain login failed.
    let dir = tempfile::tempdir().unwrap();
    role_with_password(&server, "allow_reader", dir.path()).await;
    let wrong = passfile(dir.path(), "wrong", "*:*:*:allow_reader:wrong-pw", 0o600);
    let allow = DatabaseConfig {
        password_file: Some(wrong),
        ..payments(format!(
            "{}?sslmode=allow",
            server.url("allow_reader", "postgres")
        ))
    };
    let err = refused(&allow).await;
    assert!(err.contains("password authentication failed"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn status_shows_how_each_database_is_encrypted() {
    let Some(server) = Postgres::shared_tls("status_shows_how_each_database_is_encrypted") else {
        return;
    };
    let (ca, _) = ca_files(&server);
    let sim = support::ServeProcess::start();
    let verified = format!(
        "payments={}?sslmode=verify-full&sslrootcert={ca}",
        server.url_via("localhost", "postgres", "postgres")
    );
    let plain = format!(
        "orders={}?sslmode=disable",
        server.url("postgres", "postgres")
    );
    let report =
        tokio::task::block_in_place(|| sim.status_json_with_databases(&[verified, plain], &[]));
    let tls_of = |name: &str| {
        let databases = report["databases"].as_array().expect("databases");
        let db = databases
            .iter()
            .find(|d| d["name"] == name)
            .unwrap_or_else(|| panic!("{name} in {report}"));
        assert_eq!(db["error"], serde_json::Value::Null, "{db}");
        db["tls"].clone()
    };
    let payments = tls_of("payments");
    assert!(
        payments
            .as_str()
            .is_some_and(|t| t.starts_with("TLSv1.") && t.ends_with(", verify-full")),
        "{payments}"
    );
    assert_eq!(tls_of("orders"), serde_json::Value::Null);
}
