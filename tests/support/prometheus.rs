//! A real Prometheus for the tests: started on a free loopback port with a
//! temporary config and storage, scraping the given targets every second,
//! killed when the test ends however it ends.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Windows short enough for a Prometheus that started seconds ago.
pub const SHORT_WINDOWS: &str = r#"
[metrics]
window = "30s"
step = "2s"
rate_interval = "10s"
refresh = "2s"
min_canary_requests = 10
"#;

pub struct PrometheusProcess {
    child: Child,
    pub addr: SocketAddr,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for PrometheusProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl PrometheusProcess {
    /// Start Prometheus and wait until it is ready; None (the test skips)
    /// when the program is missing and backends are not required.
    pub async fn start(test: &str, scrape_targets: &[SocketAddr]) -> Option<PrometheusProcess> {
        let program = super::require_program("prometheus", test)?;
        let dir = tempfile::tempdir().expect("temp dir");
        let config = dir.path().join("prometheus.yml");
        let targets: Vec<String> = scrape_targets.iter().map(|t| format!("'{t}'")).collect();
        let scrape_configs = if targets.is_empty() {
            " []\n".to_string()
        } else {
            format!(
                "\n  - job_name: sim\n    static_configs:\n      - targets: [{}]\n",
                targets.join(", ")
            )
        };
        let yaml = format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:{scrape_configs}"
        );
        std::fs::write(&config, yaml).expect("write prometheus.yml");
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let log = dir.path().join("prometheus.log");
        let log_file = std::fs::File::create(&log).expect("log file");
        let prometheus = PrometheusProcess {
            child: Command::new(program)
                .arg(format!("--config.file={}", config.display()))
                .arg(format!(
                    "--storage.tsdb.path={}",
                    dir.path().join("data").display()
                ))
                .arg(format!("--web.listen-address={addr}"))
                .stdin(Stdio::null())
                .stdout(log_file.try_clone().expect("log file"))
                .stderr(log_file)
                .spawn()
                .expect("start prometheus"),
            addr,
            log,
            _dir: dir,
        };
        let started = Instant::now();
        while !matches!(http_get(addr, "/-/ready").await, Ok((200, _))) {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "Prometheus did not get ready:\n{}",
                prometheus.log_text()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Some(prometheus)
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// `cutover sim serve --scenario SCENARIO` serving its traffic's metrics,
/// and a Prometheus scraping them; None (the test skips) without one.
pub async fn serve_scraped(
    test: &str,
    scenario: &str,
) -> Option<(super::ServeProcess, PrometheusProcess)> {
    let metrics: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let sim = super::ServeProcess::start_with(&[
        "--scenario",
        scenario,
        "--metrics-addr",
        &metrics.to_string(),
    ]);
    let prometheus = PrometheusProcess::start(test, &[metrics]).await?;
    Some((sim, prometheus))
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A GET over HTTP/1.0: the server answers with the whole body and closes,
/// so no chunked decoding is needed. Returns the status and the body.
pub async fn http_get(addr: SocketAddr, path: &str) -> std::io::Result<(u16, String)> {
    let mut conn = tokio::net::TcpStream::connect(addr).await?;
    conn.write_all(format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes())
        .await?;
    let mut response = String::new();
    conn.read_to_string(&mut response).await?;
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Ok((status, body.to_string()))
}

/// bad-after-release with short pauses, checkout turning bad 20 s after
/// its promotion (with `checkout_lasting`, e.g. `", lasting: 40s"`, it
/// recovers), and search staying good: written to `dir`, its path
/// returned.
pub fn bad_after_release_short(dir: &std::path::Path, checkout_lasting: &str) -> String {
    let mut text = include_str!("../../sim/src/scenarios/bad-after-release.yaml").to_string();
    let checkout = format!(
        "    degradeAfterPromotion: {{after: 20s, errorRatio: 0.03{checkout_lasting}}}\n  - {{image: shop/search:2.4.0"
    );
    for (from, to) in [
        ("pause: {duration: 20s}", "pause: {duration: 5s}"),
        (
            "    degradeAfterPromotion: {after: 2m, errorRatio: 0.03}\n  - {image: shop/search:2.4.0",
            checkout.as_str(),
        ),
        (
            "    p95Ms: 190\n    degradeAfterPromotion: {after: 2m, errorRatio: 0.03}\n",
            "    p95Ms: 190\n",
        ),
    ] {
        assert!(text.contains(from), "the scenario has {from:?}");
        text = text.replace(from, to);
    }
    let path = dir.join("bad-after-release-short.yaml");
    std::fs::write(&path, text).expect("write the scenario");
    path.display().to_string()
}
