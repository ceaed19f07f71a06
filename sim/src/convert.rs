//! One object, two API versions: events.k8s.io/v1 Events are core/v1 Events
//! seen through different field names, as on a real server. They are stored
//! once, as core/v1, and converted at the API boundary.

use super::resources::{self, ResourceDef};
use serde_json::{Map, Value};

/// (core/v1 field, events.k8s.io/v1 field)
const EVENT_FIELDS: &[(&str, &str)] = &[
    ("involvedObject", "regarding"),
    ("message", "note"),
    ("reportingComponent", "reportingController"),
    ("source", "deprecatedSource"),
    ("firstTimestamp", "deprecatedFirstTimestamp"),
    ("lastTimestamp", "deprecatedLastTimestamp"),
    ("count", "deprecatedCount"),
];

/// A served resource whose objects are stored under another resource.
pub struct Conversion {
    pub stored: &'static ResourceDef,
    to_stored: fn(Value) -> Value,
    to_served: fn(Value) -> Value,
}

impl Conversion {
    pub fn to_stored(&self, v: Value) -> Value {
        (self.to_stored)(v)
    }
    pub fn to_served(&self, v: Value) -> Value {
        (self.to_served)(v)
    }
}

fn rename(
    v: Value,
    api_version: &str,
    pairs: impl Iterator<Item = (&'static str, &'static str)>,
) -> Value {
    let Value::Object(mut m) = v else { return v };
    let mut out = Map::new();
    for (from, to) in pairs {
        if let Some(x) = m.remove(from) {
            out.insert(to.to_string(), x);
        }
    }
    m.extend(out);
    m.insert("apiVersion".into(), Value::from(api_version));
    m.insert("kind".into(), Value::from("Event"));
    Value::Object(m)
}

fn event_to_core(v: Value) -> Value {
    rename(
        v,
        "v1",
        EVENT_FIELDS.iter().map(|(core, new)| (*new, *core)),
    )
}

fn event_from_core(v: Value) -> Value {
    rename(v, "events.k8s.io/v1", EVENT_FIELDS.iter().copied())
}

/// How `res` is stored, when not under itself.
pub fn conversion_for(res: &ResourceDef) -> Option<Conversion> {
    (res.group == "events.k8s.io" && res.plural == "events").then(|| Conversion {
        stored: resources::lookup("", "v1", "events").expect("core events are served"),
        to_stored: event_to_core,
        to_served: event_from_core,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn events_round_trip_between_versions() {
        let core = json!({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": "e", "namespace": "shop"},
            "involvedObject": {"kind": "Rollout", "name": "checkout"},
            "reason": "RolloutPaused", "message": "Rollout is paused", "type": "Normal", "count": 2,
        });
        let new = event_from_core(core.clone());
        assert_eq!(new["apiVersion"], "events.k8s.io/v1");
        assert_eq!(new["regarding"]["name"], "checkout");
        assert_eq!(new["note"], "Rollout is paused");
        assert_eq!(new["deprecatedCount"], 2);
        assert!(new.get("message").is_none());
        assert_eq!(event_to_core(new), core);
    }
}
