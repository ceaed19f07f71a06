//! Desired versus applied weights, the router's own weights, header routes
//! and drift between them.

use super::release::{Step, StepIndex};
use serde::{Serialize, Serializer};

/// One side of the weights, in percent of the traffic: not a side this
/// release has, a weight, or one that was written but cannot be used (its
/// field out of range or malformed, and the release warns of it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Weight {
    #[default]
    Absent,
    Known(u32),
    Unknown,
}

impl Weight {
    pub fn known(self) -> Option<u32> {
        match self {
            Weight::Known(w) => Some(w),
            Weight::Absent | Weight::Unknown => None,
        }
    }

    /// A known weight, or `Unknown` where none could be read.
    pub fn read(weight: Option<u32>) -> Weight {
        weight.map_or(Weight::Unknown, Weight::Known)
    }

    /// "20", "-" for no such side, "?" for one that cannot be read.
    pub fn text(self) -> String {
        match self {
            Weight::Known(w) => w.to_string(),
            Weight::Absent => "-".into(),
            Weight::Unknown => "?".into(),
        }
    }
}

/// A number, or null where the weight is absent or unknown.
impl Serialize for Weight {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.known().serialize(serializer)
    }
}

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
    pub desired: Weight,
    /// What the controller says it applied (Argo's ActualWeight, Flagger's
    /// `canaryWeight`).
    pub applied: Weight,
    /// The canary weight the controller reports writing to the router
    /// (`status.canary.weights.canary.weight`), when it differs in meaning
    /// from `applied` (0 once fully promoted, while ActualWeight is 100).
    pub reported: Weight,
    pub router: Option<RouterWeight>,
    pub header_routes: Vec<HeaderRoute>,
}

impl Weights {
    /// The controller's applied weight disagrees with the router's.
    pub fn drift(&self) -> Option<(u32, u32)> {
        let applied = match self.reported {
            Weight::Absent => self.applied,
            reported => reported,
        }
        .known()?;
        let router = self.router.as_ref()?.canary;
        (applied != router).then_some((applied, router))
    }

    /// "20/20" (desired/applied), with "-" for a side the release does not
    /// have and "?" for one that cannot be read.
    pub fn text(&self) -> String {
        format!("{}/{}", self.desired.text(), self.applied.text())
    }
}

/// Argo's `GetCurrentCanaryStep`: the index of the step being run, none
/// without steps or once past the last one. A missing `currentStepIndex`
/// is step 0.
pub fn current_canary_step(steps: &[Step], index: usize) -> Option<usize> {
    Some(index).filter(|&i| i < steps.len())
}

/// Argo's `GetCurrentSetWeight`: 0 while aborted; 100 without a current
/// step (no steps, or past the last one); else the last `setWeight` at or
/// before the current step, 0 if there is none. Unknown when the step
/// index or that `setWeight` cannot be read.
pub fn desired_weight(steps: &[Step], current_step: StepIndex, aborted: bool) -> Weight {
    if aborted {
        return Weight::Known(0);
    }
    let Some(index) = current_step.argo() else {
        return Weight::Unknown;
    };
    let Some(index) = current_canary_step(steps, index) else {
        return Weight::Known(100);
    };
    steps[..=index]
        .iter()
        .rev()
        .find_map(|s| match s {
            Step::SetWeight(w) => Some(Weight::read(*w)),
            _ => None,
        })
        .unwrap_or(Weight::Known(0))
}

/// Argo's ActualWeight as `kubectl argo rollouts get` computes it
/// (info/rollout_info.go).
/// Unknown inputs make an unknown weight, never a guess.
pub struct ActualWeightInputs {
    /// No current step: no steps, or past the last one.
    pub no_current_step: bool,
    pub max_traffic_weight: Weight,
    /// `status.availableReplicas`, None when malformed.
    pub available_replicas: Option<i64>,
    pub traffic_routed: bool,
    /// `status.canary.weights.canary.weight`, absent unless
    /// `status.canary.weights` is written.
    pub status_canary_weight: Weight,
    pub desired: Weight,
    /// Available pods of the ReplicaSet tagged canary (0 without one).
    pub canary_available: i64,
}

pub fn actual_weight(i: &ActualWeightInputs) -> Weight {
    if i.no_current_step {
        return i.max_traffic_weight;
    }
    let Some(available) = i.available_replicas else {
        return Weight::Unknown;
    };
    if available <= 0 {
        return Weight::Known(0);
    }
    if i.traffic_routed {
        return match i.status_canary_weight {
            Weight::Absent => i.desired,
            reported => reported,
        };
    }
    Weight::Known(u32::try_from(i.canary_available * 100 / available).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn steps() -> Vec<Step> {
        vec![
            Step::SetWeight(Some(20)),
            Step::Pause { seconds: Some(30) },
            Step::Analysis {
                templates: vec!["error-rate".into()],
            },
            Step::SetWeight(Some(50)),
            Step::Pause { seconds: None },
        ]
    }

    #[test]
    fn desired_weight_follows_the_last_set_weight() {
        let at = |i, aborted| desired_weight(&steps(), StepIndex::At(i), aborted);
        assert_eq!(at(0, false), Weight::Known(20));
        assert_eq!(at(2, false), Weight::Known(20));
        assert_eq!(at(4, false), Weight::Known(50));
        assert_eq!(at(5, false), Weight::Known(100));
        assert_eq!(
            desired_weight(&steps(), StepIndex::Unset, false),
            Weight::Known(20),
            "no index is step 0"
        );
        assert_eq!(
            desired_weight(&[], StepIndex::At(0), false),
            Weight::Known(100),
            "no steps"
        );
        assert_eq!(at(4, true), Weight::Known(0));
        assert_eq!(
            desired_weight(&[Step::Pause { seconds: None }], StepIndex::At(0), false),
            Weight::Known(0)
        );
    }

    #[test]
    fn desired_weight_is_unknown_rather_than_guessed() {
        assert_eq!(
            desired_weight(&steps(), StepIndex::Unknown, false),
            Weight::Unknown
        );
        let unreadable = vec![Step::SetWeight(None), Step::Pause { seconds: None }];
        assert_eq!(
            desired_weight(&unreadable, StepIndex::At(1), false),
            Weight::Unknown
        );
        assert_eq!(
            desired_weight(&unreadable, StepIndex::Unknown, true),
            Weight::Known(0),
            "aborted is 0 whatever the step"
        );
    }

    #[test]
    fn actual_weight_as_argo_computes_it() {
        let base = ActualWeightInputs {
            no_current_step: false,
            max_traffic_weight: Weight::Known(100),
            available_replicas: Some(5),
            traffic_routed: true,
            status_canary_weight: Weight::Known(20),
            desired: Weight::Known(50),
            canary_available: 1,
        };
        assert_eq!(actual_weight(&base), Weight::Known(20));
        let unreported = ActualWeightInputs {
            status_canary_weight: Weight::Absent,
            ..base
        };
        assert_eq!(actual_weight(&unreported), Weight::Known(50));
        let basic = ActualWeightInputs {
            traffic_routed: false,
            ..unreported
        };
        assert_eq!(actual_weight(&basic), Weight::Known(20));
        let uncounted = ActualWeightInputs {
            available_replicas: None,
            ..basic
        };
        assert_eq!(actual_weight(&uncounted), Weight::Unknown);
        let done = ActualWeightInputs {
            no_current_step: true,
            ..uncounted
        };
        assert_eq!(actual_weight(&done), Weight::Known(100));
    }

    #[test]
    fn drift_needs_both_sides() {
        let mut w = Weights {
            applied: Weight::Known(20),
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
        w.reported = Weight::Unknown;
        assert_eq!(w.drift(), None, "an unreadable report is no drift");
        w.desired = Weight::Unknown;
        assert_eq!(w.text(), "?/20");
    }
}
