//! Desired versus applied weights, the router's own weights, header routes
//! and drift between them.

use super::release::Step;
use serde::Serialize;

/// The weight a router (VirtualService, HTTPRoute) actually carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RouterWeight {
    /// `VirtualService/checkout` or `HTTPRoute/checkout`.
    pub object: String,
    pub canary: u32,
    pub stable: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeaderRoute {
    pub name: String,
    /// The match in words, e.g. `X-Canary exact "yes"`.
    pub matches: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Weights {
    /// What the steps ask for (Argo's SetWeight).
    pub desired: Option<u32>,
    /// What the controller says it applied (Argo's ActualWeight, Flagger's
    /// `canaryWeight`).
    pub applied: Option<u32>,
    /// The canary weight the controller reports writing to the router
    /// (`status.canary.weights.canary.weight`), when it differs in meaning
    /// from `applied` (0 once fully promoted, while ActualWeight is 100).
    pub reported: Option<u32>,
    pub router: Option<RouterWeight>,
    pub header_routes: Vec<HeaderRoute>,
}

impl Weights {
    /// The controller's applied weight disagrees with the router's.
    pub fn drift(&self) -> Option<(u32, u32)> {
        let applied = self.reported.or(self.applied)?;
        let router = self.router.as_ref()?.canary;
        (applied != router).then_some((applied, router))
    }

    /// "20/20" (desired/applied), with "-" for an unknown side.
    pub fn text(&self) -> String {
        let w = |o: Option<u32>| o.map_or("-".to_string(), |v| v.to_string());
        format!("{}/{}", w(self.desired), w(self.applied))
    }
}

/// Argo's `GetCurrentCanaryStep`: the index of the step being run, none
/// without steps or once past the last one. A missing `currentStepIndex`
/// is step 0.
pub fn current_canary_step(steps: &[Step], current_step: Option<usize>) -> Option<usize> {
    Some(current_step.unwrap_or(0)).filter(|&i| i < steps.len())
}

/// Argo's `GetCurrentSetWeight`: 0 while aborted; 100 without a current
/// step (no steps, or past the last one); else the last `setWeight` at or
/// before the current step, 0 if there is none.
pub fn desired_weight(steps: &[Step], current_step: Option<usize>, aborted: bool) -> u32 {
    if aborted {
        return 0;
    }
    let Some(index) = current_canary_step(steps, current_step) else {
        return 100;
    };
    steps[..=index]
        .iter()
        .rev()
        .find_map(|s| match s {
            Step::SetWeight(w) => Some(*w),
            _ => None,
        })
        .unwrap_or(0)
}

/// Argo's ActualWeight as `kubectl argo rollouts get` computes it
/// (info/rollout_info.go).
pub struct ActualWeightInputs {
    /// No current step: no steps, or past the last one.
    pub no_current_step: bool,
    pub max_traffic_weight: u32,
    pub available_replicas: i64,
    pub traffic_routed: bool,
    /// `status.canary.weights.canary.weight`, when `status.canary.weights`
    /// is written.
    pub status_canary_weight: Option<u32>,
    pub desired: u32,
    /// Available pods of the ReplicaSet tagged canary (0 without one).
    pub canary_available: i64,
}

pub fn actual_weight(i: &ActualWeightInputs) -> u32 {
    if i.no_current_step {
        return i.max_traffic_weight;
    }
    if i.available_replicas <= 0 {
        return 0;
    }
    if i.traffic_routed {
        return i.status_canary_weight.unwrap_or(i.desired);
    }
    u32::try_from(i.canary_available * 100 / i.available_replicas).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn steps() -> Vec<Step> {
        vec![
            Step::SetWeight(20),
            Step::Pause { seconds: Some(30) },
            Step::Analysis {
                templates: vec!["error-rate".into()],
            },
            Step::SetWeight(50),
            Step::Pause { seconds: None },
        ]
    }

    #[test]
    fn desired_weight_follows_the_last_set_weight() {
        assert_eq!(desired_weight(&steps(), Some(0), false), 20);
        assert_eq!(desired_weight(&steps(), Some(2), false), 20);
        assert_eq!(desired_weight(&steps(), Some(4), false), 50);
        assert_eq!(desired_weight(&steps(), Some(5), false), 100);
        assert_eq!(
            desired_weight(&steps(), None, false),
            20,
            "no index is step 0"
        );
        assert_eq!(desired_weight(&[], Some(0), false), 100, "no steps");
        assert_eq!(desired_weight(&steps(), Some(4), true), 0);
        assert_eq!(
            desired_weight(&[Step::Pause { seconds: None }], Some(0), false),
            0
        );
    }

    #[test]
    fn actual_weight_as_argo_computes_it() {
        let base = ActualWeightInputs {
            no_current_step: false,
            max_traffic_weight: 100,
            available_replicas: 5,
            traffic_routed: true,
            status_canary_weight: Some(20),
            desired: 50,
            canary_available: 1,
        };
        assert_eq!(actual_weight(&base), 20);
        let unreported = ActualWeightInputs {
            status_canary_weight: None,
            ..base
        };
        assert_eq!(actual_weight(&unreported), 50);
        let basic = ActualWeightInputs {
            traffic_routed: false,
            ..unreported
        };
        assert_eq!(actual_weight(&basic), 20);
        let done = ActualWeightInputs {
            no_current_step: true,
            ..basic
        };
        assert_eq!(actual_weight(&done), 100);
    }

    #[test]
    fn drift_needs_both_sides() {
        let mut w = Weights {
            applied: Some(20),
            ..Default::default()
        };
        assert_eq!(w.drift(), None);
        w.router = Some(RouterWeight {
            object: "VirtualService/checkout".into(),
            canary: 20,
            stable: 80,
        });
        assert_eq!(w.drift(), None);
        w.router.as_mut().unwrap().canary = 0;
        assert_eq!(w.drift(), Some((20, 0)));
        assert_eq!(w.text(), "-/20");
    }
}
