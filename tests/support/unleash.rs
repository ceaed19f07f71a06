//! A real Unleash (`unleash-server` from npm, installed by scripts/test into
//! `.tools/unleash`) on a loopback port, against a database of its own on
//! the test PostgreSQL, with an admin token seeded at start. Stopped when
//! dropped.

use super::postgres::{Postgres, free_port};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The server's entry script: `CUTOVER_UNLEASH_SERVER`, else the one
/// scripts/test installs.
fn server_script() -> PathBuf {
    std::env::var_os("CUTOVER_UNLEASH_SERVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join(".tools/unleash/node_modules/unleash-server/dist/server.js")
        })
}

pub struct UnleashServer {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The admin token seeded at start.
    pub token: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
    _postgres: Arc<Postgres>,
    http: reqwest::Client,
}

impl UnleashServer {
    /// Start one on database `database` (created here) of `postgres`,
    /// with the admin token `*:*.<secret>`. None (the test skips) when
    /// Node or the server is not installed and backends are not required.
    pub async fn start(
        test: &str,
        postgres: Arc<Postgres>,
        database: &str,
        secret: &str,
    ) -> Option<UnleashServer> {
        let node = super::require_program("node", test)?;
        let script = server_script();
        if !script.is_file() {
            if super::backends_required() {
                panic!(
                    "{test}: unleash-server is required (CUTOVER_REQUIRE_BACKENDS=1) but {} is missing",
                    script.display()
                );
            }
            eprintln!(
                "SKIPPED {test}: unleash-server is not installed at {} (scripts/test installs it)",
                script.display()
            );
            return None;
        }
        // reqwest is built without a crypto provider of its own; an error
        // only means one is installed already.
        let _ = rustls::crypto::ring::default_provider().install_default();
        postgres.create_database(database).await;
        let dir = tempfile::tempdir().expect("temp dir");
        let log = dir.path().join("unleash.log");
        let port = free_port();
        let token = format!("*:*.{secret}");
        let child = Command::new(node)
            .arg(&script)
            .env("DATABASE_URL", postgres.url("postgres", database))
            .env("DATABASE_SSL", "false")
            .env("HTTP_HOST", "127.0.0.1")
            .env("HTTP_PORT", port.to_string())
            .env("INIT_ADMIN_API_TOKENS", &token)
            .env("SEND_TELEMETRY", "false")
            .env("CHECK_VERSION", "false")
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).expect("log file"))
            .stderr(std::fs::File::create(dir.path().join("unleash.err")).expect("log file"))
            .spawn()
            .expect("start unleash-server");
        let mut server = UnleashServer {
            child,
            url: format!("http://127.0.0.1:{port}"),
            token,
            log,
            _dir: dir,
            _postgres: postgres,
            http: reqwest::Client::new(),
        };
        server.wait_healthy().await;
        Some(server)
    }

    /// Until `/health` answers and the seeded token is accepted: a
    /// positive sign, with a generous deadline (start-up takes seconds).
    async fn wait_healthy(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "unleash-server exited ({status}):\n{}",
                    std::fs::read_to_string(&self.log).unwrap_or_default()
                );
            }
            let ready = self
                .http
                .get(format!("{}/api/admin/projects", self.url))
                .header("Authorization", &self.token)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ready {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "unleash-server did not become ready:\n{}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// One admin API request as the seeded admin: its status and body.
    pub async fn admin(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.url))
            .header("Authorization", &self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("an Unleash answer");
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn admin_ok(&self, method: reqwest::Method, path: &str, body: Option<Value>) {
        let (status, answer) = self.admin(method, path, body).await;
        assert!((200..300).contains(&status), "{path}: {status} {answer}");
    }

    /// Create flag `name` in project default.
    pub async fn create_flag(&self, name: &str) {
        let body = json!({"name": name, "type": "release"});
        self.admin_ok(
            reqwest::Method::POST,
            "/api/admin/projects/default/features",
            Some(body),
        )
        .await;
    }

    /// A flexibleRollout of `percent` on `name` in `environment`.
    pub async fn roll_out(&self, name: &str, environment: &str, percent: u8) {
        let body = json!({"name": "flexibleRollout", "parameters": {
            "rollout": percent.to_string(), "stickiness": "default", "groupId": name}});
        let path = format!(
            "/api/admin/projects/default/features/{name}/environments/{environment}/strategies"
        );
        self.admin_ok(reqwest::Method::POST, &path, Some(body))
            .await;
    }

    /// Turn `name` on or off in `environment`.
    pub async fn switch(&self, name: &str, environment: &str, on: bool) {
        let path = format!(
            "/api/admin/projects/default/features/{name}/environments/{environment}/{}",
            if on { "on" } else { "off" }
        );
        self.admin_ok(reqwest::Method::POST, &path, None).await;
    }

    /// `new-checkout-flow`, on at 20% in production and on in development.
    pub async fn seed_checkout_flag(&self) {
        self.create_flag("new-checkout-flow").await;
        self.roll_out("new-checkout-flow", "production", 20).await;
        self.switch("new-checkout-flow", "production", true).await;
        self.switch("new-checkout-flow", "development", true).await;
    }

    /// Whether `name` is on in `environment`, read back through the admin API.
    pub async fn enabled(&self, name: &str, environment: &str) -> bool {
        let path = format!("/api/admin/projects/default/features/{name}");
        let (status, feature) = self.admin(reqwest::Method::GET, &path, None).await;
        assert_eq!(status, 200, "{feature}");
        feature["environments"]
            .as_array()
            .and_then(|envs| envs.iter().find(|e| e["name"] == environment))
            .and_then(|e| e["enabled"].as_bool())
            .expect("the environment")
    }

    /// The server's own log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for UnleashServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
