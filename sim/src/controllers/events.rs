//! Kubernetes Events as controllers record them: one per object, reason and
//! message, counted up when it repeats (as client-go's event aggregation does).

use crate::resources;
use crate::store::{Store, WriteScope};
use crate::time::timestamp;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use std::hash::Hasher;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Normal,
    Warning,
}

impl EventType {
    fn as_str(self) -> &'static str {
        match self {
            EventType::Normal => "Normal",
            EventType::Warning => "Warning",
        }
    }
}

/// Record an Event about `involved` from `component` (e.g. `rollouts-controller`, `flagger`).
pub fn record(
    store: &Store,
    now: DateTime<Utc>,
    involved: &Value,
    event_type: EventType,
    reason: &str,
    message: &str,
    component: &str,
) {
    let res = resources::lookup("", "v1", "events").expect("core events are served");
    let meta = &involved["metadata"];
    let ns = meta["namespace"].as_str().unwrap_or("default");
    let name = meta["name"].as_str().unwrap_or("");
    let mut h = std::hash::DefaultHasher::new();
    h.write(
        format!(
            "{}/{name}/{reason}/{message}",
            involved["kind"].as_str().unwrap_or("")
        )
        .as_bytes(),
    );
    let event_name = format!("{name}.{:016x}", h.finish());
    let ts = timestamp(now);
    let bumped = store.modify(res, ns, &event_name, |e| {
        e["count"] = json!(e["count"].as_i64().unwrap_or(1) + 1);
        e["lastTimestamp"] = json!(ts);
    });
    if bumped.is_ok() {
        return;
    }
    let event = json!({
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": event_name, "namespace": ns},
        "involvedObject": {
            "apiVersion": involved["apiVersion"],
            "kind": involved["kind"],
            "name": name,
            "namespace": ns,
            "uid": meta["uid"],
            "resourceVersion": meta["resourceVersion"],
        },
        "reason": reason,
        "message": message,
        "type": event_type.as_str(),
        "count": 1,
        "firstTimestamp": ts,
        "lastTimestamp": ts,
        "source": {"component": component},
        "reportingComponent": component,
        "reportingInstance": format!("{component}-0"),
    });
    if let Err(e) = store.create(res, ns, event, WriteScope::Whole, false) {
        tracing::debug!("recording event {reason} on {ns}/{name}: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Clock;
    use std::sync::Arc;

    #[test]
    fn repeated_events_are_counted() {
        let store = Store::new(Arc::new(Clock::new(0.0)));
        crate::seed::insert(
            &store,
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}),
        )
        .unwrap();
        let ro = json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "metadata": {"name": "checkout", "namespace": "shop", "uid": "u"}});
        let now = store.clock().now();
        record(
            &store,
            now,
            &ro,
            EventType::Normal,
            "RolloutPaused",
            "Rollout is paused",
            "rollouts-controller",
        );
        record(
            &store,
            now,
            &ro,
            EventType::Normal,
            "RolloutPaused",
            "Rollout is paused",
            "rollouts-controller",
        );
        record(
            &store,
            now,
            &ro,
            EventType::Warning,
            "RolloutAborted",
            "Rollout aborted",
            "rollouts-controller",
        );
        let res = resources::lookup("", "v1", "events").unwrap();
        let list = store
            .list(res, Some("shop"), &Default::default())
            .unwrap()
            .items;
        assert_eq!(list.len(), 2);
        let paused = list
            .iter()
            .find(|e| e["reason"] == "RolloutPaused")
            .unwrap();
        assert_eq!(paused["count"], 2);
        assert_eq!(paused["involvedObject"]["kind"], "Rollout");
    }
}
