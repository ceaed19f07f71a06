//! One database from the config: its connection string (never with a
//! password in it), where its password comes from, its TLS settings, and a
//! connection.
//!
//! The password and the TLS settings are read the way libpq reads them, so
//! that a `~/.pgpass`, `PGPASSWORD` or `sslmode` that works for `psql` works
//! here too. The password never reaches an error text, a log line or a
//! Debug output.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio_postgres::config::{Host, SslMode as PgSslMode};
use tokio_postgres::{Client, Config};

use super::backups::BackupSource;
use super::conninfo::{TlsParams, take_tls_params};
use super::tls::{SslMode, TlsClient, TlsFailure, TlsPolicy, TlsSources};

/// A database the control room reads migrations from.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct DatabaseConfig {
    /// The name shown on screen and in errors.
    pub name: String,
    /// `postgres://user@host:port/db`, without a password.
    pub url: String,
    /// A password file in the pgpass format (libpq's `passfile`), used
    /// instead of `PGPASSFILE` and `~/.pgpass`.
    pub password_file: Option<PathBuf>,
    /// The environment variable holding the password, looked at before
    /// `PGPASSWORD`.
    pub password_env: Option<String>,
    /// libpq's `sslmode`, unless the url gives one (then `PGSSLMODE`, then
    /// `prefer`).
    pub sslmode: Option<SslMode>,
    /// libpq's `sslrootcert`: a PEM file of the authorities trusted to sign
    /// the server's certificate, or `system`; unless the url gives one.
    pub sslrootcert: Option<PathBuf>,
    /// Where its backups are read from, when configured.
    pub backups: Option<BackupSource>,
    /// The Prometheus query saying how fresh its newest backup is.
    pub freshness: Option<super::freshness::FreshnessSource>,
}

impl fmt::Debug for DatabaseConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The url is refused when it holds a password, but a config can be
        // printed before it is checked.
        f.debug_struct("DatabaseConfig")
            .field("name", &self.name)
            .field("url", &redact_url(&self.url))
            .field("password_file", &self.password_file)
            .field("password_env", &self.password_env)
            .field("sslmode", &self.sslmode)
            .field("sslrootcert", &self.sslrootcert)
            .field("backups", &self.backups.as_ref().map(|b| b.command.first()))
            .field("freshness", &self.freshness)
            .finish()
    }
}

/// A resolved password; Debug never shows it.
struct Password(String);

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

/// `scheme://user:password@rest` → `scheme://user:***@rest`; other text unchanged.
fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return url.to_string();
    };
    match rest[..at].split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***{}", &rest[at..]),
        None => url.to_string(),
    }
}

/// The parts of a connection that name it in errors and select a pgpass line.
struct DatabaseTarget {
    host: String,
    port: u16,
    user: String,
    dbname: String,
}

impl DatabaseTarget {
    fn of(config: &Config) -> DatabaseTarget {
        let host = match config.get_hosts().first() {
            Some(Host::Tcp(h)) => h.clone(),
            Some(Host::Unix(path)) => path.display().to_string(),
            None => "localhost".to_string(),
        };
        let user = config.get_user().unwrap_or_default().to_string();
        DatabaseTarget {
            host,
            port: config.get_ports().first().copied().unwrap_or(5432),
            dbname: config.get_dbname().unwrap_or(&user).to_string(),
            user,
        }
    }
}

impl DatabaseConfig {
    /// `database <name> (<host>:<port>)`: how errors name it.
    fn label(&self, config: Option<&Config>) -> String {
        match config {
            Some(config) => {
                let t = DatabaseTarget::of(config);
                format!("database {} ({}:{})", self.name, t.host, t.port)
            }
            None => format!("database {}", self.name),
        }
    }

    /// The parsed connection string with its user and password filled in,
    /// and what to do about TLS.
    fn config(&self) -> Result<(Config, Option<Password>, TlsPolicy), String> {
        let (mut config, tls_params) = self.parsed_url()?;
        let sources = TlsSources {
            conninfo: tls_params,
            sslmode: self.sslmode,
            sslrootcert: self.sslrootcert.as_deref(),
        };
        let env = |name: &str| std::env::var(name).ok();
        let tls = TlsPolicy::resolve(sources, env)
            .map_err(|e| format!("{}: {e}", self.label(Some(&config))))?;
        if config.get_user().is_none() {
            // libpq's default user; set here so that the pgpass line and
            // the login agree.
            let user = std::env::var("USER")
                .map_err(|_| format!("{}: the url names no user", self.label(None)))?;
            config.user(user);
        }
        let password = self.password(&DatabaseTarget::of(&config), env);
        if let Some(p) = &password {
            config.password(p.0.as_bytes());
        }
        Ok((config, password, tls))
    }

    /// The url parsed, without its TLS parameters (taken out), unless it
    /// is no connection string or holds a password.
    fn parsed_url(&self) -> Result<(Config, TlsParams), String> {
        let (conninfo, tls_params) = take_tls_params(&self.url);
        let config: Config = conninfo.parse().map_err(|e| {
            // The parser's message quotes no part of the string, but a bad
            // url may still hold a password: say only what is wrong.
            format!(
                "{}: the url is not a PostgreSQL connection string: {e}",
                self.label(None)
            )
        })?;
        if config.get_password().is_some() {
            return Err(format!(
                "{}: the url holds a password; put the password in PGPASSWORD or a password file",
                self.label(None)
            ));
        }
        Ok((config, tls_params))
    }

    /// What is wrong with the url itself, found without connecting or
    /// reading any file: the config check's question.
    pub fn url_problem(&self) -> Option<String> {
        let (_, tls) = match self.parsed_url() {
            Ok(parsed) => parsed,
            Err(e) => return Some(e),
        };
        let mode = tls.sslmode?.parse::<SslMode>().err()?;
        Some(format!("{}: {mode}", self.label(None)))
    }

    /// libpq's order: the named variable, `PGPASSWORD`, then the password
    /// file (`password_file`, `PGPASSFILE`, `~/.pgpass`). `env` reads the
    /// environment.
    fn password(
        &self,
        target: &DatabaseTarget,
        env: impl Fn(&str) -> Option<String>,
    ) -> Option<Password> {
        let set = |name: &str| env(name).filter(|v| !v.is_empty());
        if let Some(p) = self.password_env.as_deref().and_then(&set) {
            return Some(Password(p));
        }
        if let Some(p) = set("PGPASSWORD") {
            return Some(Password(p));
        }
        let file = self
            .password_file
            .clone()
            .or_else(|| set("PGPASSFILE").map(PathBuf::from))
            .or_else(|| set("HOME").map(|home| Path::new(&home).join(".pgpass")))?;
        read_passfile(&file, target).map(Password)
    }
}

/// The password for `target` in a pgpass file, unless the file is missing,
/// not a plain file, or readable by group or others (libpq ignores it then
/// too, with a warning).
fn read_passfile(file: &Path, target: &DatabaseTarget) -> Option<String> {
    let meta = std::fs::metadata(file).ok()?;
    if !meta.is_file() {
        tracing::warn!(file = %file.display(), "password file is not a plain file; ignored");
        return None;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o077 != 0 {
            tracing::warn!(
                file = %file.display(),
                "password file has group or world access; permissions should be u=rw (0600) or less; ignored"
            );
            return None;
        }
    }
    let contents = std::fs::read_to_string(file).ok()?;
    let port = target.port.to_string();
    // libpq matches a socket connection as `localhost`.
    let host = if target.host.starts_with('/') {
        "localhost"
    } else {
        &target.host
    };
    pgpass_lookup(&contents, [host, &port, &target.dbname, &target.user])
}

/// The first line of a pgpass file whose `host:port:db:user` fields match,
/// as libpq reads it: `*` matches anything, `\` escapes `:` and `\`, `#`
/// starts a comment line, and the password ends at an unescaped `:`.
pub(crate) fn pgpass_lookup(contents: &str, wanted: [&str; 4]) -> Option<String> {
    'line: for line in contents.lines() {
        let line = line.trim_end_matches('\r');
        if line.starts_with('#') {
            continue;
        }
        let mut rest = line;
        for want in wanted {
            match match_field(rest, want) {
                Some(after) => rest = after,
                None => continue 'line,
            }
        }
        return Some(unescape_password(rest));
    }
    None
}

/// The text after field `want` and its `:`, when the field at the start of
/// `line` is `*` or equals `want` after unescaping.
fn match_field<'a>(line: &'a str, want: &str) -> Option<&'a str> {
    if let Some(after) = line.strip_prefix("*:") {
        return Some(after);
    }
    let mut want = want.chars();
    let mut chars = line.char_indices();
    while let Some((i, c)) = chars.next() {
        let c = match c {
            '\\' => match chars.next() {
                Some((_, escaped)) => escaped,
                None => return None,
            },
            ':' if want.as_str().is_empty() => return Some(&line[i + 1..]),
            c => c,
        };
        if want.next() != Some(c) {
            return None;
        }
    }
    None
}

fn unescape_password(field: &str) -> String {
    let mut out = String::new();
    let mut chars = field.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek().is_some() => out.extend(chars.next()),
            ':' => break,
            c => out.push(c),
        }
    }
    out
}

/// An open connection to a database.
pub struct DatabaseConnection {
    pub client: Client,
    /// How errors name the database from now on.
    pub label: String,
    /// How the connection is encrypted: `TLSv1.3, verify-full`; None when
    /// it is not.
    pub tls: Option<String>,
}

/// Connect within `timeout`, with or without TLS as the database's
/// `sslmode` says. Errors name the database and never hold its password.
pub async fn connect(db: &DatabaseConfig, timeout: Duration) -> Result<DatabaseConnection, String> {
    let (mut config, password, policy) = db.config()?;
    let label = db.label(Some(&config));
    config.connect_timeout(timeout);
    let tls = policy.client().map_err(|e| format!("{label}: {e}"))?;
    let attempts = connect_as(&config, &policy, &tls);
    let (client, handshake) = match tokio::time::timeout(timeout, attempts).await {
        Err(_) => return Err(format!("{label}: no answer within {timeout:?}")),
        Ok(Err(e)) => {
            let text = describe(&e, policy.mode, password.is_some());
            return Err(hide(format!("{label}: {text}"), password.as_ref()));
        }
        Ok(Ok(pair)) => pair,
    };
    let tls = handshake.map(|protocol| format!("{protocol}, {}", policy.checks()));
    Ok(DatabaseConnection { client, label, tls })
}

/// libpq's attempts for `sslmode`: `allow` tries without TLS and then with
/// it if the server refuses; `prefer` tries with TLS and then without it if
/// the handshake fails or the server refuses the encrypted session. Errors
/// are those of the attempt that used TLS, where there is one.
async fn connect_as(
    config: &Config,
    policy: &TlsPolicy,
    tls: &TlsClient,
) -> Result<(Client, Option<String>), tokio_postgres::Error> {
    // libpq never uses TLS over a Unix socket, whatever sslmode says.
    let all_sockets = config
        .get_hosts()
        .iter()
        .all(|h| matches!(h, Host::Unix(_)));
    let mode = if all_sockets {
        SslMode::Disable
    } else {
        policy.mode
    };
    let attempt = |pg_mode| attempt_once(config, pg_mode, tls);
    match mode {
        SslMode::Disable => attempt(PgSslMode::Disable).await.map_err(|(e, _)| e),
        SslMode::Allow => match attempt(PgSslMode::Disable).await {
            Err((e, _)) if e.as_db_error().is_some() => match attempt(PgSslMode::Require).await {
                // No TLS to try: the plain refusal is the answer.
                Err((second, _)) if TlsFailure::server_has_no_tls(&second) => Err(e),
                second => second.map_err(|(e, _)| e),
            },
            first => first.map_err(|(e, _)| e),
        },
        SslMode::Prefer => match attempt(PgSslMode::Prefer).await {
            Err((e, encrypted)) if TlsFailure::of(&e).is_some() || encrypted => {
                attempt(PgSslMode::Disable).await.map_err(|_| e)
            }
            first => first.map_err(|(e, _)| e),
        },
        SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => {
            attempt(PgSslMode::Require).await.map_err(|(e, _)| e)
        }
    }
}

/// One connection attempt: the client and the TLS protocol, if TLS was
/// used; or the error, and whether the failure came after a handshake.
async fn attempt_once(
    config: &Config,
    mode: PgSslMode,
    tls: &TlsClient,
) -> Result<(Client, Option<String>), (tokio_postgres::Error, bool)> {
    let mut config = config.clone();
    config.ssl_mode(mode);
    let (connector, handshake) = tls.connector();
    match config.connect(connector).await {
        Ok((client, connection)) => {
            // The connection drives the socket; it ends when the client is
            // dropped.
            tokio::spawn(async move {
                let _ = connection.await;
            });
            Ok((client, handshake.protocol()))
        }
        Err(e) => Err((e, handshake.protocol().is_some())),
    }
}

/// A connection error in words: the TLS failures and the server's refusals
/// that sslmode explains get advice.
fn describe(e: &tokio_postgres::Error, mode: SslMode, has_password: bool) -> String {
    if let Some(failure) = TlsFailure::of(e) {
        return failure.0.clone();
    }
    if TlsFailure::server_has_no_tls(e) {
        return format!(
            "the server does not accept TLS connections, and sslmode={mode} requires TLS: \
             turn ssl on in the server, or use sslmode=prefer to connect without it"
        );
    }
    let text = error_text(e);
    if !has_password && text.ends_with("password missing") {
        return "the server asks for a password and none was found \
                (password_env, PGPASSWORD or a password file)"
            .to_string();
    }
    match e.as_db_error() {
        // pg_hba.conf has only `hostssl` lines for this connection.
        Some(db) if db.message().ends_with("no encryption") => format!(
            "{text}: the server accepts only encrypted connections here: \
             use sslmode=require or stronger"
        ),
        _ => text,
    }
}

/// An error's text with its cause, if the text does not already hold it.
fn error_text(e: &tokio_postgres::Error) -> String {
    let text = e.to_string();
    match std::error::Error::source(e).map(|s| s.to_string()) {
        Some(source) if !text.contains(&source) => format!("{text}: {source}"),
        _ => text,
    }
}

/// `text` with the password cut out, should a server ever echo it.
fn hide(text: String, password: Option<&Password>) -> String {
    match password {
        Some(Password(p)) if !p.is_empty() => text.replace(p.as_str(), "***"),
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSFILE: &str = "\
# comment:*:*:*:nope
db.internal:5432:payments:app:first
*:*:*:ops:op\\:pass\\\\word:ignored
host\\:with\\:colons:5433:*:app:escaped
";

    #[test]
    fn pgpass_lines_match_field_by_field_with_wildcards_and_escapes() {
        let find = |host, port, db, user| pgpass_lookup(PASSFILE, [host, port, db, user]);
        assert_eq!(
            find("db.internal", "5432", "payments", "app").as_deref(),
            Some("first")
        );
        assert_eq!(find("db.internal", "5432", "orders", "app"), None);
        assert_eq!(
            find("anywhere", "1", "x", "ops").as_deref(),
            Some("op:pass\\word"),
            "escaped colon and backslash; the password ends at an unescaped colon"
        );
        assert_eq!(
            find("host:with:colons", "5433", "x", "app").as_deref(),
            Some("escaped")
        );
        assert_eq!(
            find("comment", "x", "x", "x"),
            None,
            "comment lines never match"
        );
    }

    #[test]
    fn a_url_with_a_password_is_refused_and_never_printed() {
        let db = DatabaseConfig {
            name: "payments".into(),
            url: "postgres://app:hunter2-secret@db.internal:5432/payments".into(),
            ..Default::default()
        };
        let err = db.config().err().expect("refused");
        assert!(err.contains("database payments"), "{err}");
        assert!(err.contains("PGPASSWORD or a password file"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
        let debug = format!("{db:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(
            debug.contains("postgres://app:***@db.internal:5432/payments"),
            "{debug}"
        );
    }

    #[test]
    fn tls_settings_in_the_url_win_over_the_config_and_are_checked() {
        let db = |url: &str| DatabaseConfig {
            name: "payments".into(),
            url: url.into(),
            sslmode: Some(SslMode::Disable),
            ..Default::default()
        };
        let err = db(
            "postgres://app@db.internal/payments?sslmode=verify-full&sslrootcert=/nowhere/ca.pem",
        )
        .config()
        .err()
        .expect("no such root file");
        assert_eq!(
            err,
            "database payments (db.internal:5432): the root certificate file /nowhere/ca.pem \
             does not exist: check sslrootcert"
        );
        let err = db("host=db.internal user=app sslmode=verify_full")
            .config()
            .err()
            .expect("not a mode");
        assert!(
            err.starts_with(
                "database payments (db.internal:5432): sslmode \"verify_full\" is not one of"
            ),
            "{err}"
        );
        let (_, _, tls) = db("postgres://app@db.internal/payments").config().unwrap();
        assert_eq!(tls.mode, SslMode::Disable, "the config's sslmode");
    }

    fn target() -> DatabaseTarget {
        DatabaseTarget {
            host: "db.internal".into(),
            port: 5432,
            user: "app".into(),
            dbname: "payments".into(),
        }
    }

    fn private_file(dir: &Path, name: &str, text: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let file = dir.join(name);
        std::fs::write(&file, text).unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        file
    }

    /// An environment of exactly these variables.
    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        move |name| vars.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone())
    }

    #[test]
    fn the_password_comes_from_the_named_variable_then_pgpassword_then_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let own = private_file(dir.path(), "own", "*:*:*:*:from-own-file\n");
        let listed = private_file(dir.path(), "listed", "*:*:*:*:from-pgpassfile\n");
        private_file(
            dir.path(),
            ".pgpass",
            "db.internal:5432:payments:app:from-home\n",
        );
        let (home, listed) = (dir.path().to_str().unwrap(), listed.to_str().unwrap());
        let mut db = DatabaseConfig {
            name: "payments".into(),
            url: String::new(),
            password_file: Some(own),
            password_env: Some("PAYMENTS_PW".into()),
            ..Default::default()
        };
        let found = |db: &DatabaseConfig, vars: &[(&str, &str)]| {
            db.password(&target(), env(vars)).map(|s| s.0)
        };
        let all = [
            ("PAYMENTS_PW", "from-named"),
            ("PGPASSWORD", "from-pgpassword"),
            ("PGPASSFILE", listed),
            ("HOME", home),
        ];
        assert_eq!(found(&db, &all).as_deref(), Some("from-named"));
        assert_eq!(found(&db, &all[1..]).as_deref(), Some("from-pgpassword"));
        assert_eq!(
            found(&db, &[("PAYMENTS_PW", ""), all[1]]).as_deref(),
            Some("from-pgpassword"),
            "an empty variable is no password"
        );
        assert_eq!(found(&db, &all[2..]).as_deref(), Some("from-own-file"));
        db.password_file = None;
        assert_eq!(found(&db, &all[2..]).as_deref(), Some("from-pgpassfile"));
        assert_eq!(found(&db, &all[3..]).as_deref(), Some("from-home"));
        let secret = db.password(&target(), env(&all)).unwrap();
        assert_eq!(format!("{secret:?}"), "Password(***)");
    }

    #[test]
    fn a_group_readable_password_file_is_ignored() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let file = private_file(dir.path(), "pgpass", "*:*:*:*:pw\n");
        assert_eq!(read_passfile(&file, &target()).as_deref(), Some("pw"));
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
        assert_eq!(read_passfile(&file, &target()), None);
    }
}
