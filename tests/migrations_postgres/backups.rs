//! pgBackRest against a server of its own: a temporary repository, WAL
//! archived by `archive-push`, a full backup annotated as restore-tested,
//! read back through the configured command as cutover runs it.

use super::*;
use cutover::migrations::backups::{self, BackupSource};
use support::require_program;

/// A server archiving into a pgBackRest repository in `dir`, with its
/// stanza created.
struct Archived {
    server: Postgres,
    pgbackrest: PathBuf,
    dir: tempfile::TempDir,
}

impl Archived {
    fn start(test: &str) -> Option<Archived> {
        let pgbackrest = require_program("pgbackrest", test)?;
        let dir = tempfile::tempdir().expect("temp dir");
        let conf = dir.path().join("pgbackrest.conf");
        let server = Postgres::start_with(
            test,
            &format!(
                "archive_mode = on\nwal_level = replica\n\
                 archive_command = '{} --config={} --stanza=main archive-push %p'\n",
                pgbackrest.display(),
                conf.display()
            ),
        )?;
        let d = dir.path().display();
        std::fs::write(
            &conf,
            format!(
                "[global]\nrepo1-path={d}/repo\nlock-path={d}/lock\nlog-path={d}/log\n\
                 log-level-console=warn\nlog-level-file=off\nstart-fast=y\n\
                 repo1-retention-full=9999\n\
                 [main]\npg1-path={}\npg1-socket-path={}\npg1-port={}\npg1-user=postgres\n",
                server.data().display(),
                server.socket_dir().display(),
                server.port
            ),
        )
        .expect("write pgbackrest.conf");
        server.give_to_server_user(dir.path());
        let archived = Archived {
            server,
            pgbackrest,
            dir,
        };
        archived.run(&["stanza-create"]);
        Some(archived)
    }

    fn config_flag(&self) -> String {
        format!(
            "--config={}",
            self.dir.path().join("pgbackrest.conf").display()
        )
    }

    /// `pgbackrest --config=… --stanza=main ARGS` as the server's user.
    fn run(&self, args: &[&str]) {
        let config = self.config_flag();
        let all: Vec<&str> = [config.as_str(), "--stanza=main"]
            .into_iter()
            .chain(args.iter().copied())
            .collect();
        let out = self
            .server
            .run_as_server_user(&self.pgbackrest, &all)
            .expect("run pgbackrest");
        assert!(
            out.status.success(),
            "pgbackrest {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The source as a config would give it.
    fn source(&self) -> BackupSource {
        BackupSource {
            command: vec![
                self.pgbackrest.display().to_string(),
                self.config_flag(),
                "--stanza=main".into(),
                "info".into(),
                "--output=json".into(),
            ],
            timeout: Duration::from_secs(30),
            restore_tested_within: Duration::from_secs(30 * 24 * 3600),
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_real_repository_shows_its_newest_backup_pitr_window_and_tested_restore() {
    let Some(archived) = Archived::start("pgbackrest_repository") else {
        return;
    };
    let source = archived.source();
    let empty = backups::read(&source).await.expect("an empty stanza reads");
    assert!(empty.newest_good().is_none());

    let before = Utc::now();
    archived.run(&["backup", "--type=full"]);
    let first = backups::read(&source).await.expect("the repository reads");
    let full = first.newest_good().expect("the full backup").clone();
    assert_eq!(full.kind, "full");
    assert!(full.label.ends_with('F'), "{}", full.label);
    assert!(full.stopped >= before - chrono::Duration::seconds(1));
    let window = first.pitr_window().expect("WAL is archived");
    assert!(window.oldest_wal <= window.newest_wal, "{window:?}");
    assert_eq!(window.reaches_at_least, Some(full.stopped));
    assert_eq!(first.last_tested_restore(), None);

    let tested =
        (Utc::now() - chrono::Duration::days(2)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let annotation = format!("--annotation=restore-tested={tested}");
    let set = format!("--set={}", full.label);
    archived.run(&["annotate", &set, &annotation]);
    let annotated = backups::read(&source).await.expect("the repository reads");
    let last = annotated.last_tested_restore().expect("the annotation");
    assert_eq!(
        last.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        tested
    );
    assert_eq!((Utc::now() - last).num_days(), 2);
    assert_eq!(
        annotated.newest_good_before(Utc::now()).map(|b| &b.label),
        Some(&full.label)
    );

    let report = tokio::task::block_in_place(|| status_with_backups(&archived, &source));
    let restore = &report["databases"][0]["restore"];
    assert_eq!(restore["source"], "pgbackrest", "{report:#}");
    assert_eq!(restore["newestGood"]["label"], full.label.as_str());
    assert_eq!(restore["lastTestedRestore"], tested.as_str());
    assert_eq!(
        restore["pitrWindow"]["oldestWal"],
        window.oldest_wal.as_str()
    );
    let release = &report["releases"][0]["migration"]["restore"];
    assert!(release["alarms"].is_array(), "{report:#}");

    // The stanza's folder gone: the tool still answers, with its complaint.
    let stanza = archived.dir.path().join("repo/backup/main");
    std::fs::rename(&stanza, stanza.with_extension("gone")).unwrap();
    let broken = backups::read(&source).await.expect("info still answers");
    assert_eq!(broken.problems(), ["main: missing stanza path (code 1)"]);
    assert!(broken.newest_good().is_none());

    // A config file that is not there: the tool's own words.
    let mut wrong = source.clone();
    wrong.command[1] = "--config=/nonexistent/pgbackrest.conf".into();
    let e = backups::read(&wrong).await.expect_err("no config");
    assert!(e.contains("exited with status"), "{e}");
    assert!(e.contains("/nonexistent/pgbackrest.conf"), "{e}");
}

/// `cutover status -o json payments` against the default scenario, with
/// payments' database configured with `source` as its backups command.
fn status_with_backups(archived: &Archived, source: &BackupSource) -> serde_json::Value {
    let sim = support::ServeProcess::start_with(&["--scenario", "default"]);
    let config = sim.dir.path().join("config.toml");
    let command: Vec<String> = source.command.iter().map(|a| format!("{a:?}")).collect();
    std::fs::write(
        &config,
        format!(
            "[databases.payments]\nurl = {:?}\n\
             [databases.payments.backups.pgbackrest]\ncommand = [{}]\ntimeout = \"30s\"\n",
            archived.server.url("postgres", "postgres"),
            command.join(", ")
        ),
    )
    .expect("write the config");
    let config = config.display().to_string();
    sim.status_json(
        &["--config", &config, "--context", "sim-admin"],
        &["payments"],
    )
}
