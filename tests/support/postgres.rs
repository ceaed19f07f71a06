//! A real PostgreSQL for the tests: a fresh cluster in a temporary folder,
//! listening on 127.0.0.1 and a free port, stopped when dropped.
//!
//! PostgreSQL refuses to run as root, so when the tests run as root the
//! server programs run as the `postgres` user, which owns the folder.
//!
//! Authentication: `trust`, except for members of the role
//! `password_required`, which must log in over TCP with scram-sha-256.

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
}

/// The server the tests of one file share: started by the first test that
/// asks, stopped when the last test holding it ends.
static SHARED: Mutex<Weak<Postgres>> = Mutex::new(Weak::new());

impl Postgres {
    pub fn shared(test: &str) -> Option<Arc<Postgres>> {
        let mut shared = SHARED.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(server) = shared.upgrade() {
            return Some(server);
        }
        let server = Arc::new(Postgres::start(test)?);
        *shared = Arc::downgrade(&server);
        Some(server)
    }

    /// initdb, configure and start a cluster of its own; None (the test
    /// skips) when PostgreSQL is not installed and backends are not required.
    pub fn start(test: &str) -> Option<Postgres> {
        let initdb = super::require_program("initdb", test)?;
        super::require_program("pg_ctl", test)?;
        let bin = initdb.canonicalize().expect("initdb path");
        let bin = bin.parent().expect("bin folder").to_path_buf();
        let dir = tempfile::tempdir().expect("temp dir");
        let as_postgres_user = is_root();
        let server = Postgres {
            port: free_port(),
            bin,
            dir,
            as_postgres_user,
        };
        if as_postgres_user {
            let chown = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(server.dir.path())
                .status()
                .expect("chown");
            assert!(chown.success(), "chown the data folder to postgres");
        }
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
        let conf = format!(
            "\nlisten_addresses = '127.0.0.1'\nport = {}\nunix_socket_directories = '{}'\n\
             fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n",
            server.port,
            server.dir.path().display()
        );
        append(&data.join("postgresql.conf"), &conf);
        std::fs::write(
            data.join("pg_hba.conf"),
            "local all all trust\n\
             host all +password_required 127.0.0.1/32 scram-sha-256\n\
             host all all 127.0.0.1/32 trust\n",
        )
        .expect("write pg_hba.conf");
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
                "CREATE ROLE password_required NOLOGIN",
            ],
        );
        Some(server)
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// `postgres://user@127.0.0.1:port/db`: no password in it.
    pub fn url(&self, user: &str, db: &str) -> String {
        format!("postgres://{user}@127.0.0.1:{}/{db}", self.port)
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
        let program = self.bin.join(program);
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
