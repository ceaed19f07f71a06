//! Several simulated clusters in one process, as an on-call engineer's
//! fleet: each its own store, controllers, scenario, faults and port, all
//! reached through one kubeconfig with contexts `<name>-admin`,
//! `<name>-viewer`, …

use super::kubeconfig::{self, Served};
use super::{SimCluster, SimConfig};
use color_eyre::eyre::{Result, bail};

/// One cluster of a fleet: its short name (`eu`) and how to start it.
#[derive(Debug, Clone)]
pub struct FleetMember {
    pub name: String,
    pub config: SimConfig,
}

/// Running simulated clusters, in the order they were asked for.
pub struct SimFleet {
    clusters: Vec<(String, SimCluster)>,
}

/// Why `name` cannot name a cluster of a fleet, if it cannot: it prefixes
/// context names, so it is a DNS label (`eu`, `prod-us`).
pub fn check_cluster_name(name: &str) -> Result<(), String> {
    let label = !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if label {
        Ok(())
    } else {
        Err(format!(
            "cluster name {name:?} is not a DNS label: lower-case letters, digits and '-', \
             not at either end, at most 63 characters (eu, prod-us)"
        ))
    }
}

impl SimFleet {
    /// Start every member at once; a member that cannot start stops them all.
    pub async fn start(members: Vec<FleetMember>) -> Result<SimFleet> {
        if members.is_empty() {
            bail!("a fleet has at least one cluster");
        }
        for (i, m) in members.iter().enumerate() {
            check_cluster_name(&m.name).map_err(|e| color_eyre::eyre::eyre!(e))?;
            if members[..i].iter().any(|other| other.name == m.name) {
                bail!("cluster {:?} is named twice", m.name);
            }
        }
        let started = futures::future::try_join_all(
            members.iter().map(|m| SimCluster::start(m.config.clone())),
        )
        .await?;
        let clusters = members.into_iter().map(|m| m.name).zip(started).collect();
        Ok(SimFleet { clusters })
    }

    /// The clusters with their names, in the order asked for.
    pub fn clusters(&self) -> impl Iterator<Item = (&str, &SimCluster)> {
        self.clusters.iter().map(|(name, sim)| (name.as_str(), sim))
    }

    /// The cluster named `name`.
    pub fn cluster(&self, name: &str) -> Option<&SimCluster> {
        self.clusters()
            .find(|(n, _)| *n == name)
            .map(|(_, sim)| sim)
    }

    /// A kubeconfig with the contexts `<name>-admin` (the first cluster's
    /// is current), `<name>-viewer`, `<name>-deployer` and
    /// `<name>-checkout-owner` of every cluster; each cluster's entry is
    /// its name.
    pub fn kubeconfig_yaml(&self, namespace: &str) -> String {
        let urls: Vec<String> = self.clusters().map(|(_, sim)| sim.url()).collect();
        let served: Vec<Served<'_>> = self
            .clusters()
            .zip(&urls)
            .map(|((name, sim), url)| Served {
                cluster: name,
                prefix: name,
                prefixed_users: true,
                url,
                ca_pem: sim.ca_pem(),
                users: sim.users(),
            })
            .collect();
        kubeconfig::render(&served, namespace)
    }

    pub fn write_kubeconfig(&self, path: &std::path::Path, namespace: &str) -> std::io::Result<()> {
        kubeconfig::write(path, &self.kubeconfig_yaml(namespace))
    }

    pub async fn shutdown(self) {
        for (_, sim) in self.clusters {
            sim.shutdown().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_names_are_dns_labels() {
        for good in ["eu", "prod-us", "ap1"] {
            assert_eq!(check_cluster_name(good), Ok(()));
        }
        for bad in ["", "EU", "-eu", "eu-", "e u", "eu,us", "eu.west"] {
            assert!(check_cluster_name(bad).is_err(), "{bad:?}");
        }
    }

    #[tokio::test]
    async fn each_cluster_has_its_own_server_and_contexts() {
        let member = |name: &str| FleetMember {
            name: name.into(),
            config: SimConfig::default(),
        };
        let fleet = SimFleet::start(vec![member("eu"), member("us")])
            .await
            .unwrap();
        let (eu, us) = (fleet.cluster("eu").unwrap(), fleet.cluster("us").unwrap());
        assert_ne!(eu.addr(), us.addr());
        let kc = kube::config::Kubeconfig::from_yaml(&fleet.kubeconfig_yaml("shop")).unwrap();
        assert_eq!(kc.current_context.as_deref(), Some("eu-admin"));
        let context = |name: &str| {
            kc.contexts
                .iter()
                .find(|c| c.name == name)
                .and_then(|c| c.context.clone())
                .unwrap_or_else(|| panic!("context {name}"))
        };
        assert_eq!(context("us-viewer").cluster, "us");
        let yaml: serde_json::Value = serde_yaml::from_str(&fleet.kubeconfig_yaml("shop")).unwrap();
        let token = |user: &str| {
            let users = yaml["users"].as_array().unwrap();
            let entry = users.iter().find(|u| u["name"] == user).unwrap();
            entry["user"]["token"].as_str().unwrap().to_string()
        };
        let us_admin = token(&context("us-admin").user.unwrap());
        assert_eq!(us_admin, us.token(crate::rbac::Role::Admin));
        assert_ne!(us_admin, eu.token(crate::rbac::Role::Admin));
        fleet.shutdown().await;
    }

    #[tokio::test]
    async fn a_cluster_named_twice_is_refused() {
        let member = FleetMember {
            name: "eu".into(),
            config: SimConfig::default(),
        };
        let err = SimFleet::start(vec![member.clone(), member]).await;
        assert!(err.is_err());
    }
}
