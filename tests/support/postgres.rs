//! A real PostgreSQL for the tests: a fresh cluster in a temporary folder,
//! listening on 127.0.0.1 and a free port, stopped when dropped.
//!
//! PostgreSQL refuses to run as root, so when the tests run as root the
//! server programs run as the `postgres` user, which owns the folder.
//!
//! Authentication: `trust`, except for members of the role
//! `password_required`, which must log in over TCP with scram-sha-256.
//!
//! A TLS server (`start_tls`) has `ssl = on`, a certificate for `localhost`
//! only, signed by a throwaway CA, and a role `tls_only` that may log in
//! over TLS only.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex, Weak};

use tokio_postgres::{Client, NoTls};

pub struct Postgres {
    pub port: u16,
    bin: PathBuf,
    dir: tempfile::TempDir,
    as_postgres_user: bool,
    /// The CA files of a TLS server.
    pub tls: Option<TlsFiles>,
}

/// What a client of a TLS server needs, as PEM files.
pub struct TlsFiles {
    /// The CA that signed the server's certificate.
    pub ca: PathBuf,
    /// A CA that signed nothing of this server's.
    pub other_ca: PathBuf,
}

/// The servers the tests of one file share: each started by the first test
/// that asks, stopped when the last test holding it ends.
static SHARED: Mutex<Weak<Postgres>> = Mutex::new(Weak::new());
static SHARED_TLS: Mutex<Weak<Postgres>> = Mutex::new(Weak::new());

fn shared_in(
    slot: &Mutex<Weak<Postgres>>,
    start: impl FnOnce() -> Option<Postgres>,
) -> Option<Arc<Postgres>> {
    let mut shared = slot.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(server) = shared.upgrade() {
        return Some(server);
    }
    let server = Arc::new(start()?);
    *shared = Arc::downgrade(&server);
    Some(server)
}

const HBA: &str = "local all all trust\n\
                   host all +password_required 127.0.0.1/32 scram-sha-256\n\
                   host all all 127.0.0.1/32 trust\n";

/// `tls_only` over TLS alone; the rest as on a plain server.
const TLS_HBA: &str = "local all all trust\n\
                       hostssl all tls_only 127.0.0.1/32 trust\n\
                       hostnossl all tls_only 127.0.0.1/32 reject\n\
                       host all +password_required 127.0.0.1/32 scram-sha-256\n\
                       host all all 127.0.0.1/32 trust\n";

impl Postgres {
    pub fn shared(test: &str) -> Option<Arc<Postgres>> {
        shared_in(&SHARED, || Postgres::start(test))
    }

    /// The TLS server of this file (see `start_tls`).
    pub fn shared_tls(test: &str) -> Option<Arc<Postgres>> {
        shared_in(&SHARED_TLS, || Postgres::start_tls(test))
    }

    /// initdb, configure and start a cluster of its own; None (the test
    /// skips) when PostgreSQL is not installed and backends are not required.
    pub fn start(test: &str) -> Option<Postgres> {
        Postgres::launch(test, false, "")
    }

    /// A cluster of its own with `conf` added to `postgresql.conf`.
    pub fn start_with(test: &str, conf: &str) -> Option<Postgres> {
        Postgres::launch(test, false, conf)
    }

    /// A cluster with `ssl = on`, a certificate for `localhost` (not for
    /// 127.0.0.1) signed by the CA in `tls.ca`, and a `tls_only` role.
    pub fn start_tls(test: &str) -> Option<Postgres> {
        Postgres::launch(test, true, "")
    }

    fn launch(test: &str, with_tls: bool, extra_conf: &str) -> Option<Postgres> {
        let initdb = super::require_program("initdb", test)?;
        super::require_program("pg_ctl", test)?;
        let bin = initdb.canonicalize().expect("initdb path");
        let bin = bin.parent().expect("bin folder").to_path_buf();
        let dir = tempfile::tempdir().expect("temp dir");
        let as_postgres_user = is_root();
        let mut server = Postgres {
            port: free_port(),
            bin,
            dir,
            as_postgres_user,
            tls: None,
        };
        server.give_to_server_user(server.dir.path());
        let data = server.data();
        server.run_ok(
            "initdb",
            &[
                "-D",
                path_str(&data),
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C",
            ],
        );
        let mut conf = format!(
            "\nlisten_addresses = '127.0.0.1'\nport = {}\nunix_socket_directories = '{}'\n\
             fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n",
            server.port,
            server.dir.path().display()
        );
        if with_tls {
            server.tls = Some(server.make_certificates());
            conf.push_str("ssl = on\n");
        }
        conf.push_str(extra_conf);
        append(&data.join("postgresql.conf"), &conf);
        let hba = if with_tls { TLS_HBA } else { HBA };
        std::fs::write(data.join("pg_hba.conf"), hba).expect("write pg_hba.conf");
        let log = server.dir.path().join("postgres.log");
        let started = server.run(
            "pg_ctl",
            &[
                "-D",
                path_str(&data),
                "-l",
                path_str(&log),
                "-w",
                "-t",
                "60",
                "start",
            ],
        );
        assert!(
            started.status.success(),
            "pg_ctl start failed: {}\n{}",
            String::from_utf8_lossy(&started.stderr),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        server.run_ok(
            "psql",
            &[
                "-h",
                path_str(server.dir.path()),
                "-p",
                &server.port.to_string(),
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-c",
                "CREATE ROLE password_required NOLOGIN; CREATE ROLE tls_only LOGIN",
            ],
        );
        Some(server)
    }

    /// A CA, the server's certificate and key in the data folder (where
    /// `ssl = on` looks, private to the server's user as it insists), and
    /// a second, unrelated CA.
    fn make_certificates(&self) -> TlsFiles {
        use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
        let ca = |name: &str| {
            let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            params
                .distinguished_name
                .push(rcgen::DnType::CommonName, name);
            CertifiedIssuer::self_signed(params, KeyPair::generate().expect("CA key"))
                .expect("CA certificate")
        };
        let (issuer, other) = (ca("test CA"), ca("unrelated CA"));
        let key = KeyPair::generate().expect("server key");
        let cert = CertificateParams::new(vec!["localhost".to_string()])
            .expect("server params")
            .signed_by(&key, &issuer)
            .expect("server certificate");
        let data = self.data();
        self.write_private(&data.join("server.crt"), &cert.pem());
        self.write_private(&data.join("server.key"), &key.serialize_pem());
        let files = TlsFiles {
            ca: self.dir.path().join("ca.pem"),
            other_ca: self.dir.path().join("other-ca.pem"),
        };
        std::fs::write(&files.ca, issuer.pem()).expect("write the CA");
        std::fs::write(&files.other_ca, other.pem()).expect("write the other CA");
        files
    }

    /// A file only the server's user may read.
    fn write_private(&self, file: &Path, text: &str) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::write(file, text).expect("write a server file");
        std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600)).expect("chmod 600");
        self.give_to_server_user(file);
    }

    /// When the server runs as `postgres`: make `path` (and all below it)
    /// its own.
    pub fn give_to_server_user(&self, path: &Path) {
        if !self.as_postgres_user {
            return;
        }
        let chown = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(path)
            .status()
            .expect("chown");
        assert!(chown.success(), "chown {} to postgres", path.display());
    }

    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Where the server's Unix socket is.
    pub fn socket_dir(&self) -> &Path {
        self.dir.path()
    }

    /// `postgres://user@127.0.0.1:port/db`: no password in it.
    pub fn url(&self, user: &str, db: &str) -> String {
        self.url_via("127.0.0.1", user, db)
    }

    /// The same, naming the server by `host` (a name for loopback).
    pub fn url_via(&self, host: &str, user: &str, db: &str) -> String {
        format!("postgres://{user}@{host}:{}/{db}", self.port)
    }

    /// A superuser connection to `db`.
    pub async fn client(&self, db: &str) -> Client {
        let (client, connection) = tokio_postgres::connect(
            &format!(
                "host=127.0.0.1 port={} user=postgres dbname={db}",
                self.port
            ),
            NoTls,
        )
        .await
        .expect("connect as postgres");
        tokio::spawn(async move {
            let _ = connection.await;
        });
        client
    }

    /// A new, empty database and a superuser connection to it.
    pub async fn create_database(&self, name: &str) -> Client {
        self.client("postgres")
            .await
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .await
            .expect("create database");
        self.client(name).await
    }

    /// Stop now, as a crash would (the temporary folder goes with `self`).
    /// Never panics: it runs on drop, also while a failed test unwinds.
    pub fn stop(&self) {
        let _ = self.try_run(
            "pg_ctl",
            &[
                "-D",
                path_str(&self.data()),
                "-m",
                "immediate",
                "-w",
                "stop",
            ],
        );
    }

    fn run(&self, program: &str, args: &[&str]) -> Output {
        self.try_run(program, args)
            .unwrap_or_else(|e| panic!("run {program}: {e}"))
    }

    fn try_run(&self, program: &str, args: &[&str]) -> std::io::Result<Output> {
        self.run_as_server_user(&self.bin.join(program), args)
    }

    /// Run `program` as the user the server runs as.
    pub fn run_as_server_user(&self, program: &Path, args: &[&str]) -> std::io::Result<Output> {
        let mut command = if self.as_postgres_user {
            let mut c = Command::new(runuser());
            c.args(["-u", "postgres", "--"]).arg(program);
            c
        } else {
            Command::new(program)
        };
        command
            .args(args)
            // The tests' working folder may not be readable by `postgres`.
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .output()
    }

    fn run_ok(&self, program: &str, args: &[&str]) {
        let out = self.run(program, args);
        assert!(
            out.status.success(),
            "{program} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `runuser` is in `/usr/sbin`, which a user's PATH may lack.
fn runuser() -> PathBuf {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
        .map(|dir| dir.join("runuser"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("runuser"))
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A pgpass file with one line and the given mode.
pub fn passfile(dir: &Path, name: &str, line: &str, mode: u32) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let file = dir.join(name);
    std::fs::write(&file, format!("{line}\n")).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).unwrap();
    file
}

/// A port nothing listens on now: bound, read and released.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind a free port")
        .port()
}

fn append(file: &Path, text: &str) {
    use std::io::Write;
    std::fs::OpenOptions::new()
        .append(true)
        .open(file)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .expect("append to a config file");
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}
