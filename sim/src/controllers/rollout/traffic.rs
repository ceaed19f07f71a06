//! Where the rollout steers traffic: Service selectors (canary/stable,
//! active/preview), the weights of an Istio VirtualService (host-level
//! routing) or of a Gateway API HTTPRoute (the `argoproj-labs/gatewayAPI`
//! plugin), and the header routes of `setHeaderRoute` steps.

use super::super::events::EventType;
use super::super::workload::{self, ARGO, ARGO_HASH_LABEL, hash_of};
use super::Reconcile;
use super::rollout_status::{TrafficWeights, WeightDestination};
use super::spec::{GATEWAY_API_PLUGIN, SetHeaderRoute, TrafficRouting, split_namespaced};
use crate::resources::{self, ResourceDef};
use serde_json::{Value, json};
use std::sync::Arc;

/// The annotation Argo puts on a Service it steers.
pub const MANAGED_BY: &str = "argo-rollouts.argoproj.io/managed-by-rollouts";

pub(super) fn services() -> &'static ResourceDef {
    resources::lookup("", "v1", "services").expect("served")
}

pub(super) fn virtual_services() -> &'static ResourceDef {
    resources::lookup("networking.istio.io", "v1beta1", "virtualservices").expect("served")
}

pub(super) fn http_routes() -> &'static ResourceDef {
    resources::lookup("gateway.networking.k8s.io", "v1", "httproutes").expect("served")
}

/// The pod hash a Service selects, or "".
pub fn selected_hash(svc: &Value) -> &str {
    svc["spec"]["selector"][ARGO_HASH_LABEL]
        .as_str()
        .unwrap_or("")
}

/// Whether a destination host names `service` (short name or a longer DNS name).
fn is_host(host: &str, service: &str) -> bool {
    !service.is_empty() && (host == service || host.starts_with(&format!("{service}.")))
}

/// Managed routes first, in the order `managedRoutes` lists them (Argo's `orderRoutes`).
fn order_managed_first(routes: &mut [Value], tr: &TrafficRouting) {
    let rank = |r: &Value| {
        let name = r["name"].as_str().unwrap_or("");
        tr.managed_routes
            .iter()
            .position(|m| m.name == name)
            .unwrap_or(usize::MAX)
    };
    routes.sort_by_key(rank);
}

impl Reconcile<'_> {
    pub(super) fn service(&self, name: &str) -> Option<Arc<Value>> {
        self.ctx.store.get(services(), self.namespace(), name).ok()
    }

    /// Point a Service at a pod hash (`switchServiceSelector`).
    pub(super) fn switch_service(&self, svc: &Value, hash: &str) -> Option<Arc<Value>> {
        let old = selected_hash(svc).to_string();
        let managed = svc["metadata"]["annotations"][MANAGED_BY].is_string();
        if old == hash && managed {
            return None;
        }
        let rollout = self.name().to_string();
        let updated =
            self.ctx
                .store
                .modify(services(), self.namespace(), workload::name_of(svc), |s| {
                    s["spec"]["selector"][ARGO_HASH_LABEL] = json!(hash);
                    if !s["metadata"]["annotations"][MANAGED_BY].is_string() {
                        s["metadata"]["annotations"][MANAGED_BY] = json!(rollout);
                    }
                });
        match updated {
            Ok(updated) => {
                self.event(
                    EventType::Normal,
                    "SwitchService",
                    &format!(
                        "Switched selector for service '{}' from '{old}' to '{hash}'",
                        workload::name_of(svc)
                    ),
                );
                Some(updated)
            }
            Err(e) => {
                tracing::warn!("switching service {}: {e}", workload::name_of(svc));
                None
            }
        }
    }

    /// Point a Service at a ReplicaSet once it can take the traffic (`ensureSVCTargets`).
    pub(super) fn ensure_service_targets(
        &self,
        service: &str,
        rs: Option<Arc<Value>>,
        check_availability: bool,
    ) {
        let (Some(rs), false) = (rs, service.is_empty()) else {
            return;
        };
        let Some(svc) = self.service(service) else {
            return;
        };
        let desired = hash_of(&rs, ARGO);
        if selected_hash(&svc) == desired {
            return;
        }
        let c = workload::counts(&rs);
        if check_availability {
            let adopting = !svc["metadata"]["annotations"][MANAGED_BY].is_string();
            // A Service taken over points only at a fully available ReplicaSet.
            let fully_available = c.desired != 0 && c.available != 0 && c.desired <= c.available;
            if (adopting && !fully_available) || c.available == 0 {
                return;
            }
        }
        self.switch_service(&svc, desired);
    }

    /// `reconcileStableAndCanaryService`.
    pub(super) fn reconcile_stable_and_canary_services(&self) {
        let Some(c) = self.spec.canary() else {
            return;
        };
        self.ensure_service_targets(&c.stable_service, self.stable_rs(), true);
        if self.is_aborted() && c.traffic_routing.is_none() {
            self.ensure_service_targets(&c.canary_service, self.stable_rs(), true);
            return;
        }
        self.ensure_service_targets(&c.canary_service, self.new_rs(), true);
    }

    /// Apply the weight of the current step to the traffic router and record
    /// what was applied (`reconcileTrafficRouting`).
    pub(super) fn reconcile_traffic_routing(&mut self) {
        let Some(tr) = self.spec.traffic_routing().cloned() else {
            self.new_status.canary.weights = None;
            return;
        };
        let c = self.spec.canary().cloned().unwrap_or_default();
        let weight = self.desired_weight();
        let canary_available = self
            .new_rs()
            .is_some_and(|rs| workload::counts(&rs).available > 0);
        if self.status.is_fully_promoted() {
            self.remove_managed_routes(&tr);
        } else if self.is_aborted() {
            self.ensure_service_targets(&c.canary_service, self.stable_rs(), false);
            self.remove_managed_routes(&tr);
        } else if self.status.promote_full && canary_available {
            self.remove_managed_routes(&tr);
        }
        if let Some((step, _)) = self.current_step()
            && let Some(route) = &step.set_header_route
            && self.revision() > 1
        {
            self.set_header_route(&tr, route, &c.canary_service);
        }
        self.set_weight(&tr, weight, &c.canary_service, &c.stable_service);
        let (canary_hash, stable_hash) = self.canary_and_stable_hashes();
        let weights = TrafficWeights {
            canary: WeightDestination {
                weight,
                service_name: c.canary_service.clone(),
                pod_template_hash: canary_hash,
            },
            stable: WeightDestination {
                weight: 100 - weight,
                service_name: c.stable_service.clone(),
                pod_template_hash: stable_hash,
            },
            additional: Vec::new(),
            verified: None,
        };
        let previous = self.status.canary.weights.clone();
        if previous.as_ref() != Some(&weights) {
            let detail = match &previous {
                None => format!("to {weight}"),
                Some(p) if p.canary.weight != weight => {
                    format!("from {} to {weight}", p.canary.weight)
                }
                Some(_) => String::new(),
            };
            self.event(
                EventType::Normal,
                "TrafficWeightUpdated",
                &format!("Traffic weight updated {detail}"),
            );
            self.new_status.canary.weights = Some(weights);
        }
    }

    fn modify_routing(
        &self,
        res: &'static ResourceDef,
        ns: &str,
        name: &str,
        change: impl FnOnce(&mut Value),
    ) {
        if let Err(e) = self.ctx.store.modify(res, ns, name, change) {
            tracing::warn!("updating {} {ns}/{name}: {e}", res.kind);
        }
    }

    fn gateway_namespace(&self, tr: &TrafficRouting) -> String {
        tr.plugins
            .get(GATEWAY_API_PLUGIN)
            .and_then(|p| p["namespace"].as_str())
            .unwrap_or(self.namespace())
            .to_string()
    }

    /// Canary gets `weight`, stable the rest, in every route the rollout names.
    fn set_weight(&self, tr: &TrafficRouting, weight: i64, canary: &str, stable: &str) {
        let set = |dest_host: &str, w: &mut Value| {
            if is_host(dest_host, canary) {
                *w = json!(weight);
            } else if is_host(dest_host, stable) {
                *w = json!(100 - weight);
            }
        };
        for vs in tr.virtual_services() {
            let (name, ns) = split_namespaced(&vs.name, self.namespace());
            self.modify_routing(virtual_services(), ns, name, |obj| {
                for route in obj["spec"]["http"].as_array_mut().into_iter().flatten() {
                    let route_name = route["name"].as_str().unwrap_or("").to_string();
                    let named = if vs.routes.is_empty() {
                        !tr.is_managed(&route_name)
                    } else {
                        vs.routes.contains(&route_name)
                    };
                    if !named {
                        continue;
                    }
                    for dest in route["route"].as_array_mut().into_iter().flatten() {
                        let host = dest["destination"]["host"]
                            .as_str()
                            .unwrap_or("")
                            .to_string();
                        set(&host, &mut dest["weight"]);
                    }
                }
            });
        }
        let ns = self.gateway_namespace(tr);
        for name in tr.http_routes() {
            self.modify_routing(http_routes(), &ns, &name, |obj| {
                for rule in obj["spec"]["rules"].as_array_mut().into_iter().flatten() {
                    let refs = rule["backendRefs"].as_array_mut();
                    let Some(refs) = refs else { continue };
                    if !refs.iter().any(|r| r["name"] == stable) {
                        continue;
                    }
                    for backend in refs.iter_mut() {
                        let backend_name = backend["name"].as_str().unwrap_or("").to_string();
                        set(&backend_name, &mut backend["weight"]);
                    }
                }
            });
        }
    }

    /// Add (or, with no `match`, remove) a header route to the canary.
    fn set_header_route(&self, tr: &TrafficRouting, route: &SetHeaderRoute, canary: &str) {
        for vs in tr.virtual_services() {
            let (name, ns) = split_namespaced(&vs.name, self.namespace());
            self.modify_routing(virtual_services(), ns, name, |obj| {
                let Some(http) = obj["spec"]["http"].as_array_mut() else {
                    return;
                };
                let port = http
                    .iter()
                    .flat_map(|r| r["route"].as_array().into_iter().flatten())
                    .find(|d| is_host(d["destination"]["host"].as_str().unwrap_or(""), canary))
                    .map(|d| d["destination"]["port"].clone())
                    .filter(|p| !p.is_null());
                http.retain(|r| r["name"] != route.name.as_str());
                if !route.matches.is_empty() {
                    let matches: Vec<Value> = route
                        .matches
                        .iter()
                        .map(|m| {
                            let v = &m.header_value;
                            let value = match (&v.exact, &v.prefix, &v.regex) {
                                (Some(e), _, _) => json!({"exact": e}),
                                (None, Some(p), _) => json!({"prefix": p}),
                                (None, None, Some(r)) => json!({"regex": r}),
                                _ => json!({}),
                            };
                            json!({"headers": {m.header_name.clone(): value}})
                        })
                        .collect();
                    let mut destination = json!({"host": canary});
                    if let Some(port) = port {
                        destination["port"] = port;
                    }
                    http.push(json!({
                        "name": route.name,
                        "match": matches,
                        "route": [{"destination": destination, "weight": 100}],
                    }));
                }
                order_managed_first(http, tr);
            });
        }
        let ns = self.gateway_namespace(tr);
        for name in tr.http_routes() {
            self.modify_routing(http_routes(), &ns, &name, |obj| {
                let Some(rules) = obj["spec"]["rules"].as_array_mut() else {
                    return;
                };
                let backend = rules
                    .iter()
                    .flat_map(|r| r["backendRefs"].as_array().into_iter().flatten())
                    .find(|b| b["name"] == canary)
                    .cloned();
                rules.retain(|r| r["name"] != route.name.as_str());
                let Some(mut backend) = backend else {
                    return;
                };
                if route.matches.is_empty() {
                    return;
                }
                backend["weight"] = json!(100);
                let headers: Vec<Value> = route
                    .matches
                    .iter()
                    .map(|m| {
                        let v = &m.header_value;
                        match (&v.exact, &v.prefix, &v.regex) {
                            (Some(e), _, _) => {
                                json!({"name": m.header_name, "type": "Exact", "value": e})
                            }
                            (None, Some(p), _) => json!({"name": m.header_name, "type": "RegularExpression", "value": format!("^{p}.*")}),
                            (None, None, r) => json!({"name": m.header_name, "type": "RegularExpression", "value": r.clone().unwrap_or_default()}),
                        }
                    })
                    .collect();
                rules.insert(
                    0,
                    json!({"name": route.name, "matches": [{"headers": headers}], "backendRefs": [backend]}),
                );
            });
        }
    }

    /// Remove every route `managedRoutes` names (`RemoveManagedRoutes`).
    fn remove_managed_routes(&self, tr: &TrafficRouting) {
        if tr.managed_routes.is_empty() {
            return;
        }
        let managed = |r: &Value| tr.is_managed(r["name"].as_str().unwrap_or(""));
        for vs in tr.virtual_services() {
            let (name, ns) = split_namespaced(&vs.name, self.namespace());
            self.modify_routing(virtual_services(), ns, name, |obj| {
                if let Some(http) = obj["spec"]["http"].as_array_mut() {
                    http.retain(|r| !managed(r));
                }
            });
        }
        let ns = self.gateway_namespace(tr);
        for name in tr.http_routes() {
            self.modify_routing(http_routes(), &ns, &name, |obj| {
                if let Some(rules) = obj["spec"]["rules"].as_array_mut() {
                    rules.retain(|r| !managed(r));
                }
            });
        }
    }
}
