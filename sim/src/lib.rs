//! The simulated cluster: a server that speaks the real Kubernetes API on
//! loopback, for the demo, the end-to-end tests and the benchmarks. Clients
//! reach it exactly as they reach a real cluster, through a kubeconfig.
//! It knows nothing of the product (`cutover`), which may not be a
//! dependency of it: the two share only `cutover-time`.

pub(crate) mod api_error;
pub mod behaviour;
pub mod clock;
pub(crate) mod controllers;
pub(crate) mod convert;
pub mod faults;
mod fleet;
pub(crate) mod kubeconfig;
pub(crate) mod openapi;
pub(crate) mod openapi_proto;
pub mod patch;
pub(crate) mod pbobject;
pub(crate) mod protobuf;
pub(crate) mod rbac;
pub(crate) mod reqlog;
pub mod resources;
pub mod scenario;
pub mod seed;
pub mod selector;
pub(crate) mod server;
pub mod store;
/// Times and durations as Kubernetes, Go and Prometheus write them.
pub use cutover_time as time;
pub mod tls;
pub mod traffic;
pub(crate) mod validation;

use behaviour::Behaviour;
use clock::Clock;
use controllers::Runtime;
use faults::Faults;
use rbac::{Role, Users};
use reqlog::RequestLog;
use scenario::Scenario;
use server::Shared;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use store::Store;
use traffic::Traffic;

pub use fleet::{FleetMember, SimFleet, check_cluster_name};
/// Write a kubeconfig with owner-only permissions: it holds bearer tokens.
pub use kubeconfig::write as write_kubeconfig;

/// What a simulated cluster holds and does.
#[derive(Debug, Clone)]
pub enum Workload {
    /// The built-in objects, or a seed file's, with no controllers: objects
    /// stay exactly as clients write them. For tests of the API itself.
    Static { seed_file: Option<PathBuf> },
    /// A scenario, with controllers, simulated traffic and a timeline.
    Scenario(Box<Scenario>),
}

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
    pub workload: Workload,
    /// Where to serve the simulated traffic's Prometheus metrics (plain HTTP).
    pub metrics_addr: Option<SocketAddr>,
    /// Which version of a kind with several is served (FeatureFlag).
    pub served: resources::Served,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            request_log: None,
            time_scale: 1.0,
            history_limit: store::DEFAULT_HISTORY,
            bookmark_interval: Duration::from_secs(10),
            workload: Workload::Static { seed_file: None },
            metrics_addr: None,
            served: resources::Served::default(),
        }
    }
}

impl SimConfig {
    /// A cluster running `scenario`, otherwise defaults.
    pub fn scenario(scenario: Scenario) -> Self {
        SimConfig {
            workload: Workload::Scenario(Box::new(scenario)),
            ..SimConfig::default()
        }
    }
}

/// A running simulated cluster. Dropping it stops the listener and its tasks.
pub struct SimCluster {
    shared: Arc<Shared>,
    ca_pem: String,
    traffic: Arc<Traffic>,
    runtime: Option<Arc<Runtime>>,
    metrics_addr: Option<SocketAddr>,
    scenario_start: Option<chrono::DateTime<chrono::Utc>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl SimCluster {
    pub async fn start(config: SimConfig) -> color_eyre::Result<SimCluster> {
        // A scenario's warm-up is fast-forwarded: start that much in the past
        // so that simulated time meets wall time when serving begins.
        let warmup = match &config.workload {
            Workload::Scenario(s) => s.warmup(),
            Workload::Static { .. } => chrono::Duration::zero(),
        };
        let clock = Arc::new(Clock::starting_at(
            chrono::Utc::now() - warmup,
            config.time_scale,
        ));
        let store = Arc::new(Store::new(clock));
        store.set_history_limit(config.history_limit);
        let behaviour = Arc::new(Behaviour::default());
        let traffic = Arc::new(Traffic::new(store.clone(), behaviour.clone()));
        let mut tasks = Vec::new();
        let mut runtime = None;
        let mut scenario_start = None;
        match &config.workload {
            Workload::Static {
                seed_file: Some(path),
            } => seed::load_file(&store, path)?,
            Workload::Static { seed_file: None } => seed::load_default(&store)?,
            Workload::Scenario(scenario) => {
                let rt = Runtime::new(
                    store.clone(),
                    behaviour.clone(),
                    traffic.clone(),
                    controllers::all(),
                );
                // Fast-forwarding the setup is synchronous work: keep it off the async threads.
                let start = {
                    let (scenario, store, behaviour, rt) = (
                        (**scenario).clone(),
                        store.clone(),
                        behaviour.clone(),
                        rt.clone(),
                    );
                    tokio::task::spawn_blocking(move || scenario.start(&store, &behaviour, &rt))
                        .await??
                };
                tasks.push(rt.spawn());
                tasks.push(scenario::spawn_timeline(
                    scenario,
                    start,
                    store.clone(),
                    behaviour.clone(),
                ));
                tasks.push(traffic::spawn_ticker(traffic.clone()));
                runtime = Some(rt);
                scenario_start = Some(start);
            }
        }
        let metrics_addr = match config.metrics_addr {
            Some(addr) => {
                let (bound, task) = traffic::serve_metrics(traffic.clone(), addr).await?;
                tasks.push(task);
                Some(bound)
            }
            None => None,
        };
        let log = match &config.request_log {
            Some(path) => RequestLog::with_file(path).map_err(|e| {
                color_eyre::eyre::eyre!("cannot open the request log {}: {e}", path.display())
            })?,
            None => RequestLog::default(),
        };
        let tls = tls::SimTls::generate()?;
        let (listener, addr) = server::bind(config.addr).await?;
        let shared = Shared::new(server::ServerParts {
            store,
            users: Users::generate(),
            faults: Arc::new(Faults::default()),
            log: Arc::new(log),
            behaviour,
            bookmark_interval: config.bookmark_interval,
            served: config.served,
            tls: tls.acceptor,
            addr,
        });
        server::serve(&shared, listener).await;
        Ok(SimCluster {
            shared,
            ca_pem: tls.ca_pem,
            traffic,
            runtime,
            metrics_addr,
            scenario_start,
            tasks,
        })
    }

    /// The simulated traffic (the same numbers the metrics endpoint serves).
    pub fn traffic(&self) -> &Arc<Traffic> {
        &self.traffic
    }

    pub fn behaviour(&self) -> &Arc<Behaviour> {
        &self.shared.behaviour
    }

    /// The controllers, when a scenario runs.
    pub fn runtime(&self) -> Option<&Arc<Runtime>> {
        self.runtime.as_ref()
    }

    /// Where Prometheus can scrape the simulated traffic, when asked for.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_addr
    }

    /// The simulated time the scenario's timeline counts from.
    pub fn scenario_start(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.scenario_start
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

    /// A kubeconfig with contexts `sim-admin` (current), `sim-viewer`,
    /// `sim-deployer` and `sim-checkout-owner`.
    pub fn kubeconfig_yaml(&self, namespace: &str) -> String {
        let url = self.url();
        let served = kubeconfig::Served {
            cluster: kubeconfig::CLUSTER_NAME,
            prefix: "sim",
            prefixed_users: false,
            url: &url,
            ca_pem: &self.ca_pem,
            users: self.users(),
        };
        kubeconfig::render(&[served], namespace)
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
        for task in &self.tasks {
            task.abort();
        }
    }
}
