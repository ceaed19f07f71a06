//! The flags of `cutover demo`, and the clusters and scenarios they ask
//! for: a fleet of two by default, one cluster with `--scenario` alone.

use super::sim_args;
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The scenario to run: a built-in name (see `cutover sim scenarios`;
    /// all but `scale`) or a file; without --clusters, on one simulated
    /// cluster. With --clusters, one for all, or one per cluster:
    /// eu=default,us=bad-canary.
    #[arg(long)]
    pub scenario: Option<String>,
    /// A fleet: one simulated cluster per name, the control room on all of
    /// them. Without it or --scenario, the fleet eu,us: checkout promoted
    /// in eu, paused mid-way in us. Of more than one, the first runs
    /// checkout-promoted and the others checkout-paused unless --scenario
    /// says otherwise; one name alone runs default.
    #[arg(long, value_delimiter = ',', value_name = "NAME,…")]
    pub clusters: Vec<String>,
    /// Simulated seconds per real second.
    #[arg(long, default_value_t = 1.0)]
    pub time_scale: f64,
    /// Also write the simulated cluster's kubeconfig here, for kubectl
    /// (contexts sim-admin, …; in a fleet NAME-admin, …).
    #[arg(long)]
    pub kubeconfig_out: Option<PathBuf>,
}

/// What `cutover demo` simulates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DemoPlan {
    /// One cluster, its scenario's.
    One(String),
    /// A fleet: each cluster's name and scenario, in order.
    Fleet(Vec<(String, String)>),
}

impl DemoArgs {
    /// The clusters and scenarios the flags ask for; an error names the
    /// flag that is wrong.
    pub fn plan(&self) -> Result<DemoPlan, String> {
        let clusters = match (&self.scenario, self.clusters.as_slice()) {
            (Some(scenario), []) => return Ok(DemoPlan::One(scenario.clone())),
            (None, []) => vec!["eu".to_string(), "us".to_string()],
            (_, names) => names.to_vec(),
        };
        let scenarios = match &self.scenario {
            Some(spec) => sim_args::scenario_of_each(spec, &clusters)?,
            None if clusters.len() == 1 => vec!["default".to_string()],
            // One region after another: the first done, the others waiting.
            None => (0..clusters.len())
                .map(|i| {
                    if i == 0 {
                        "checkout-promoted"
                    } else {
                        "checkout-paused"
                    }
                })
                .map(str::to_string)
                .collect(),
        };
        Ok(DemoPlan::Fleet(
            clusters.into_iter().zip(scenarios).collect(),
        ))
    }
}

#[cfg(test)]
mod tests {
    #[derive(clap::Parser)]
    struct Demo {
        #[command(flatten)]
        args: super::DemoArgs,
    }

    fn demo_plan(flags: &[&str]) -> Result<super::DemoPlan, String> {
        use clap::Parser;
        let argv = std::iter::once("demo").chain(flags.iter().copied());
        Demo::try_parse_from(argv).unwrap().args.plan()
    }

    #[test]
    fn the_demo_is_a_fleet_of_two_unless_a_scenario_or_clusters_say_otherwise() {
        use super::DemoPlan::{Fleet, One};
        let fleet = |pairs: &[(&str, &str)]| {
            Fleet(
                pairs
                    .iter()
                    .map(|(c, s)| (c.to_string(), s.to_string()))
                    .collect(),
            )
        };
        assert_eq!(
            demo_plan(&[]),
            Ok(fleet(&[
                ("eu", "checkout-promoted"),
                ("us", "checkout-paused")
            ]))
        );
        assert_eq!(
            demo_plan(&["--scenario", "bad-canary"]),
            Ok(One("bad-canary".into()))
        );
        assert_eq!(
            demo_plan(&["--clusters", "solo"]),
            Ok(fleet(&[("solo", "default")]))
        );
        assert_eq!(
            demo_plan(&["--clusters", "eu,us,ap"]),
            Ok(fleet(&[
                ("eu", "checkout-promoted"),
                ("us", "checkout-paused"),
                ("ap", "checkout-paused")
            ]))
        );
        assert_eq!(
            demo_plan(&["--clusters", "eu,us", "--scenario", "us=bad-canary"]),
            Ok(fleet(&[("eu", "default"), ("us", "bad-canary")]))
        );
        assert!(demo_plan(&["--clusters", "eu", "--scenario", "ap=default"]).is_err());
    }
}
