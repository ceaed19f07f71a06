//! The simulated cluster: a server that speaks the real Kubernetes API on
//! loopback, for the demo, the end-to-end tests and the benchmarks. Clients
//! reach it exactly as they reach a real cluster, through a kubeconfig.

pub mod behaviour;
pub mod clock;
pub mod controllers;
pub mod convert;
pub mod faults;
pub mod kubeconfig;
pub mod patch;
pub mod protobuf;
pub mod rbac;
pub mod reqlog;
pub mod resources;
pub mod seed;
pub mod selector;
pub mod server;
pub mod status;
pub mod store;
pub mod tls;
pub mod traffic;

use clock::Clock;
use faults::Faults;
use rbac::{Role, Users};
use reqlog::RequestLog;
use server::Shared;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use store::Store;

/// How to start a simulated cluster.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// `127.0.0.1:0` lets the OS choose the port.
    pub addr: SocketAddr,
    pub request_log: Option<PathBuf>,
    /// Simulated seconds per real second.
    pub time_scale: f64,
    pub history_limit: usize,
    pub bookmark_interval: Duration,
    /// Objects to load instead of the built-in seed (JSON or YAML, one or many documents).
    pub seed_file: Option<PathBuf>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            request_log: None,
            time_scale: 1.0,
            history_limit: store::DEFAULT_HISTORY,
            bookmark_interval: Duration::from_secs(10),
            seed_file: None,
        }
    }
}

/// A running simulated cluster. Dropping it stops the listener.
pub struct SimCluster {
    shared: Arc<Shared>,
    ca_pem: String,
}

impl SimCluster {
    pub async fn start(config: SimConfig) -> color_eyre::Result<SimCluster> {
        let clock = Arc::new(Clock::new(config.time_scale));
        let store = Arc::new(Store::new(clock));
        store.set_history_limit(config.history_limit);
        match &config.seed_file {
            Some(path) => seed::load_file(&store, path)?,
            None => seed::load_default(&store)?,
        }
        let log = match &config.request_log {
            Some(path) => RequestLog::with_file(path).map_err(|e| {
                color_eyre::eyre::eyre!("cannot open the request log {}: {e}", path.display())
            })?,
            None => RequestLog::default(),
        };
        let tls = tls::SimTls::generate()?;
        let (listener, addr) = server::bind(config.addr).await?;
        let shared = Shared::new(
            store,
            Users::generate(),
            Arc::new(Faults::default()),
            Arc::new(log),
            config.bookmark_interval,
            tls.acceptor,
            addr,
        );
        server::serve(&shared, listener).await;
        Ok(SimCluster {
            shared,
            ca_pem: tls.ca_pem,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.shared.addr()
    }

    pub fn url(&self) -> String {
        format!("https://{}", self.addr())
    }

    /// The PEM of the CA that signed the server's certificate.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.shared.store
    }

    pub fn faults(&self) -> &Arc<Faults> {
        &self.shared.faults
    }

    pub fn request_log(&self) -> &Arc<RequestLog> {
        &self.shared.log
    }

    pub fn users(&self) -> &Users {
        &self.shared.users
    }

    pub fn token(&self, role: Role) -> &str {
        &self.users().get(role).token
    }

    /// Stop accepting and drop every open connection (the port stays reserved for a restart).
    pub async fn stop_listener(&self) {
        self.shared.stop_listener().await;
    }

    /// Listen again on the same port.
    pub async fn start_listener(&self) -> std::io::Result<()> {
        self.shared.start_listener().await
    }

    /// A kubeconfig with contexts `sim-admin` (current), `sim-viewer` and `sim-deployer`.
    pub fn kubeconfig_yaml(&self, namespace: &str) -> String {
        kubeconfig::render(&self.url(), &self.ca_pem, self.users(), namespace)
    }

    pub fn write_kubeconfig(&self, path: &std::path::Path, namespace: &str) -> std::io::Result<()> {
        kubeconfig::write(path, &self.kubeconfig_yaml(namespace))
    }

    pub async fn shutdown(self) {
        self.shared.stop_listener().await;
    }
}

impl Drop for SimCluster {
    fn drop(&mut self) {
        self.shared.abort_listener();
    }
}
