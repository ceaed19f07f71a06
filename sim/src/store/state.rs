//! The store's state behind its lock: one resource's objects in key order,
//! the kept history of changes, committing a change (with its new
//! resourceVersion) and collecting the dependents of a deleted object.

use super::writes::{meta_mut, namespace_def};
use super::{Change, ChangeType, ObjKey, Propagation, State, meta_str, owner_refs, owner_uids};
use crate::resources::{RESOURCES, ResourceDef};
use serde_json::{Value, json};
use std::ops::Bound;
use std::sync::Arc;
use tokio::sync::broadcast;

impl State {
    /// The objects of one resource, in one namespace or all, from just
    /// after the object `after` (namespace, name) when given, without
    /// scanning the rest.
    pub(super) fn range<'a>(
        &'a self,
        res: &'static ResourceDef,
        ns: Option<&'a str>,
        after: Option<(&str, &str)>,
    ) -> impl Iterator<Item = (&'a ObjKey, &'a Arc<Value>)> + 'a {
        let key = |ns: &str, name: &str| (res.group, res.plural, ns.to_string(), name.to_string());
        let first = key(ns.unwrap_or(""), "");
        let start = match after.map(|(ns, name)| key(ns, name)) {
            Some(last) if last >= first => Bound::Excluded(last),
            _ => Bound::Included(first),
        };
        self.objects
            .range((start, Bound::Unbounded))
            .take_while(move |((g, p, o_ns, _), _)| {
                *g == res.group && *p == res.plural && ns.is_none_or(|n| n == o_ns)
            })
    }

    pub(super) fn trim(&mut self) {
        while self.history.len() > self.history_limit {
            if let Some(old) = self.history.pop_front() {
                self.compacted_rv = old.rv;
            }
        }
    }

    /// Give the object the next resourceVersion, store it, record and fan out the change.
    pub(super) fn commit(
        &mut self,
        fanout: &broadcast::Sender<Arc<Change>>,
        res: &'static ResourceDef,
        k: ObjKey,
        event: ChangeType,
        mut obj: Value,
        old: Option<Arc<Value>>,
    ) -> Arc<Value> {
        self.rv += 1;
        meta_mut(&mut obj).insert("resourceVersion".into(), json!(self.rv.to_string()));
        let obj = Arc::new(obj);
        let change = Arc::new(Change {
            rv: self.rv,
            event,
            res,
            namespace: k.2.clone(),
            object: obj.clone(),
            old,
        });
        let deleted = event == ChangeType::Deleted;
        let old_refs = change.old.as_deref().and_then(owner_refs);
        if deleted || old_refs != owner_refs(&obj) {
            for uid in change.old.as_deref().into_iter().flat_map(owner_uids) {
                if let Some(keys) = self.dependents.get_mut(uid) {
                    keys.remove(&k);
                    if keys.is_empty() {
                        self.dependents.remove(uid);
                    }
                }
            }
            if !deleted {
                for uid in owner_uids(&obj) {
                    let keys = self.dependents.entry(uid.to_string()).or_default();
                    keys.insert(k.clone());
                }
            }
        }
        if deleted {
            self.objects.remove(&k);
        } else {
            self.objects.insert(k, obj.clone());
        }
        self.history.push_back(change.clone());
        self.trim();
        // No receivers is fine: nobody is watching.
        let _ = fanout.send(change);
        obj
    }

    /// Remove an object; dependents go too (or lose the owner reference when orphaned).
    pub(super) fn remove_cascading(
        &mut self,
        fanout: &broadcast::Sender<Arc<Change>>,
        k: ObjKey,
        propagation: Propagation,
    ) -> Arc<Value> {
        let Some(current) = self.objects.get(&k).cloned() else {
            return Arc::new(Value::Null);
        };
        let res = RESOURCES
            .iter()
            .find(|r| r.group == k.0 && r.plural == k.1)
            .expect("stored objects have a served resource");
        let uid = meta_str(&current, "uid").unwrap_or("").to_string();
        let deleted = self.commit(
            fanout,
            res,
            k.clone(),
            ChangeType::Deleted,
            Value::clone(&current),
            Some(current),
        );
        let is_namespace = std::ptr::eq(res, namespace_def());
        let mut dependents: Vec<ObjKey> = self
            .dependents
            .get(&uid)
            .into_iter()
            .flatten()
            .cloned()
            .collect();
        if is_namespace {
            dependents.extend(self.objects.keys().filter(|dk| dk.2 == k.3).cloned());
            dependents.sort();
            dependents.dedup();
        }
        for dk in dependents {
            if propagation == Propagation::Orphan && !is_namespace {
                let Some(obj) = self.objects.get(&dk).cloned() else {
                    continue;
                };
                let mut next = Value::clone(&obj);
                if let Some(refs) = meta_mut(&mut next)
                    .get_mut("ownerReferences")
                    .and_then(Value::as_array_mut)
                {
                    refs.retain(|r| r["uid"] != json!(uid));
                }
                let dres = RESOURCES
                    .iter()
                    .find(|r| r.group == dk.0 && r.plural == dk.1)
                    .expect("served");
                self.commit(fanout, dres, dk, ChangeType::Modified, next, Some(obj));
            } else {
                self.remove_cascading(fanout, dk, propagation);
            }
        }
        deleted
    }
}
