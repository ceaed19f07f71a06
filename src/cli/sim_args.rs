//! The flags of `cutover sim serve`, and what they mean for each cluster
//! of a fleet (`--clusters eu,us`).

use clap::Args;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Listen address; port 0 lets the OS choose. With --clusters, a port
    /// other than 0 is the first cluster's, and each next cluster takes
    /// the next port.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub addr: SocketAddr,
    /// Serve a fleet: one simulated cluster per name (eu,us,ap), each with
    /// its own objects, controllers, scenario, faults and port, and one
    /// kubeconfig with the contexts NAME-admin, NAME-viewer, NAME-deployer
    /// and NAME-checkout-owner (the first cluster's admin is current).
    #[arg(long, value_delimiter = ',', value_name = "NAME,…")]
    pub clusters: Vec<String>,
    /// Where to write the kubeconfig (contexts sim-admin, sim-viewer, sim-deployer,
    /// sim-checkout-owner; with --clusters, NAME-admin, …).
    #[arg(long)]
    pub kubeconfig_out: Option<PathBuf>,
    /// Append every request (time, user, method, path, query, status) as JSON lines.
    /// With --clusters, each cluster writes its own: PATH.NAME (requests.jsonl.eu).
    #[arg(long)]
    pub request_log: Option<PathBuf>,
    /// The scenario to run: a built-in name (see `cutover sim scenarios`) or a file.
    /// With --clusters, one for all, or one per cluster: eu=default,us=bad-canary
    /// (a cluster not named runs default).
    #[arg(long, default_value = "default", conflicts_with_all = ["seed_file", "static_objects"])]
    pub scenario: String,
    /// Releases of the `scale` scenario.
    #[arg(long, default_value_t = 2000)]
    pub releases: usize,
    /// Pods per release of the `scale` scenario.
    #[arg(long, default_value_t = 20)]
    pub pods: usize,
    /// Serve these objects (YAML or JSON, such as `kubectl get -o yaml` writes) as they
    /// are, with no controllers: uids, generations and statuses are kept.
    #[arg(long)]
    pub seed_file: Option<PathBuf>,
    /// Serve a small fixed set of objects as they are, with no controllers.
    #[arg(long = "static")]
    pub static_objects: bool,
    /// Serve the simulated traffic's Prometheus metrics here (plain HTTP; port 0 = any).
    /// With --clusters, each cluster serves its own: a port other than 0 is the
    /// first cluster's, and each next cluster takes the next port.
    #[arg(long)]
    pub metrics_addr: Option<SocketAddr>,
    /// Simulated seconds per real second.
    #[arg(long, default_value_t = 1.0)]
    pub time_scale: f64,
    /// The namespace the kubeconfig's contexts default to.
    #[arg(long, default_value = "shop")]
    pub namespace: String,
}

/// What one cluster of `sim serve --clusters` is started with.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterServeArgs {
    pub name: String,
    pub scenario: String,
    pub addr: SocketAddr,
    pub metrics_addr: Option<SocketAddr>,
    pub request_log: Option<PathBuf>,
}

impl ServeArgs {
    /// Each cluster of `--clusters`, in order, with its scenario, ports and
    /// request log; an error names the flag that is wrong.
    pub fn fleet(&self) -> Result<Vec<ClusterServeArgs>, String> {
        let scenarios = scenario_of_each(&self.scenario, &self.clusters)?;
        self.clusters
            .iter()
            .zip(scenarios)
            .enumerate()
            .map(|(i, (name, scenario))| {
                Ok(ClusterServeArgs {
                    name: name.clone(),
                    scenario,
                    addr: nth_port(self.addr, i, "--addr")?,
                    metrics_addr: self
                        .metrics_addr
                        .map(|a| nth_port(a, i, "--metrics-addr"))
                        .transpose()?,
                    request_log: self.request_log.as_deref().map(|p| log_of(p, name)),
                })
            })
            .collect()
    }
}

/// The scenario of each of `clusters`: `spec` names one for all, or
/// `NAME=SCENARIO,…` one per cluster, those not named running `default`.
pub(super) fn scenario_of_each(spec: &str, clusters: &[String]) -> Result<Vec<String>, String> {
    if !spec.contains('=') {
        return Ok(clusters.iter().map(|_| spec.to_string()).collect());
    }
    let mut chosen: Vec<String> = clusters.iter().map(|_| "default".to_string()).collect();
    for pair in spec.split(',') {
        let Some((name, scenario)) = pair
            .split_once('=')
            .filter(|(n, s)| !n.is_empty() && !s.is_empty())
        else {
            return Err(format!(
                "--scenario {spec}: {pair:?} is not CLUSTER=SCENARIO (eu=default,us=bad-canary)"
            ));
        };
        let Some(i) = clusters.iter().position(|c| c == name) else {
            return Err(if clusters.is_empty() {
                format!("--scenario {spec}: a scenario per cluster needs --clusters")
            } else {
                format!(
                    "--scenario {spec}: there is no cluster {name:?} in --clusters {}",
                    clusters.join(",")
                )
            });
        };
        chosen[i] = scenario.to_string();
    }
    Ok(chosen)
}

/// The `i`th cluster's address: port 0 stays 0 (the OS chooses each),
/// any other port counts up from the first cluster's.
fn nth_port(addr: SocketAddr, i: usize, flag: &str) -> Result<SocketAddr, String> {
    if addr.port() == 0 {
        return Ok(addr);
    }
    let port = u16::try_from(usize::from(addr.port()) + i)
        .map_err(|_| format!("{flag} {addr}: not enough ports above it for every cluster"))?;
    Ok(SocketAddr::new(addr.ip(), port))
}

/// `requests.jsonl` → `requests.jsonl.eu`.
fn log_of(path: &Path, cluster: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{cluster}"));
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Serve {
        #[command(flatten)]
        args: ServeArgs,
    }

    fn fleet(flags: &[&str]) -> Result<Vec<ClusterServeArgs>, String> {
        let argv = std::iter::once("serve").chain(flags.iter().copied());
        Serve::try_parse_from(argv).unwrap().args.fleet()
    }

    #[test]
    fn each_cluster_gets_its_scenario_ports_and_log() {
        let clusters = fleet(&[
            "--clusters",
            "eu,us,ap",
            "--scenario",
            "us=bad-canary",
            "--metrics-addr",
            "127.0.0.1:9100",
            "--request-log",
            "/tmp/requests.jsonl",
        ])
        .unwrap();
        let names: Vec<_> = clusters.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["eu", "us", "ap"]);
        let scenarios: Vec<_> = clusters.iter().map(|c| c.scenario.as_str()).collect();
        assert_eq!(scenarios, ["default", "bad-canary", "default"]);
        assert_eq!(clusters[2].metrics_addr.unwrap().port(), 9102);
        assert_eq!(clusters[1].addr.port(), 0, "the OS chooses each");
        assert_eq!(
            clusters[1].request_log.as_deref(),
            Some(Path::new("/tmp/requests.jsonl.us"))
        );
    }

    #[test]
    fn one_scenario_is_every_clusters() {
        let clusters = fleet(&["--clusters", "eu,us", "--scenario", "bad-canary"]).unwrap();
        assert!(clusters.iter().all(|c| c.scenario == "bad-canary"));
        assert!(
            fleet(&[]).unwrap().is_empty(),
            "no fleet without --clusters"
        );
    }

    #[test]
    fn a_wrong_scenario_list_says_what_is_wrong() {
        let err = fleet(&["--clusters", "eu,us", "--scenario", "ap=default"]).unwrap_err();
        assert!(
            err.contains("no cluster \"ap\" in --clusters eu,us"),
            "{err}"
        );
        let err = fleet(&["--scenario", "eu=default"]).unwrap_err();
        assert!(err.contains("needs --clusters"), "{err}");
        let err = fleet(&["--clusters", "eu", "--scenario", "eu=default,us"]).unwrap_err();
        assert!(err.contains("\"us\" is not CLUSTER=SCENARIO"), "{err}");
        let err = fleet(&["--clusters", "eu,us", "--addr", "127.0.0.1:65535"]).unwrap_err();
        assert!(err.contains("not enough ports"), "{err}");
    }
}
