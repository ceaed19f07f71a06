//! The Istio VirtualService that splits traffic between primary and canary
//! (Flagger's Istio router).

use super::{Run, TOTAL_WEIGHT, virtual_services};
use crate::controllers::workload::{self, owner_reference};
use crate::store::WriteScope;
use serde_json::{Value, json};

impl Run<'_> {
    /// The VirtualService's http routes for these weights: one weighted
    /// route; for A/B testing, the weighted route behind the analysis match
    /// and everything else to the primary.
    fn http_routes(&self, primary_weight: i64, canary_weight: i64) -> Value {
        let primary = format!("{}-primary", self.service);
        let canary = format!("{}-canary", self.service);
        let weighted = json!([
            {"destination": {"host": primary}, "weight": primary_weight},
            {"destination": {"host": canary}, "weight": canary_weight},
        ]);
        let analysis = self.analysis();
        if analysis.has_match() {
            json!([
                {"match": analysis.0["match"], "route": weighted},
                {"route": [{"destination": {"host": primary}, "weight": TOTAL_WEIGHT}]},
            ])
        } else {
            json!([{ "route": weighted }])
        }
    }

    /// The VirtualService spec Flagger generates, with the given weights.
    fn virtual_service_spec(&self, primary_weight: i64, canary_weight: i64) -> Value {
        let svc = &self.cd["spec"]["service"];
        let mut hosts: Vec<Value> = svc["hosts"].as_array().cloned().unwrap_or_default();
        hosts.push(json!(self.service));
        let mut spec =
            json!({"hosts": hosts, "http": self.http_routes(primary_weight, canary_weight)});
        if let Some(gateways) = svc["gateways"].as_array().filter(|g| !g.is_empty()) {
            let mut gateways = gateways.clone();
            if !gateways.contains(&json!("mesh")) {
                gateways.push(json!("mesh"));
            }
            spec["gateways"] = json!(gateways);
        }
        spec
    }

    /// Create the VirtualService `<svc>` routing everything to the primary,
    /// or bring an existing one back to Flagger's shape at its current
    /// weights, taking it over if someone else created it.
    pub(super) fn ensure_virtual_service(&self) {
        let result = match self
            .store
            .get(virtual_services(), &self.namespace, &self.service)
        {
            Ok(vs) => {
                let (primary_weight, canary_weight) =
                    routes_of(&vs, &self.service).unwrap_or((TOTAL_WEIGHT, 0));
                let spec = self.virtual_service_spec(primary_weight, canary_weight);
                let owned = workload::is_owned_by(&vs, &self.cd);
                if vs["spec"] == spec && owned {
                    return;
                }
                let owner = owner_reference(&self.cd);
                self.store
                    .modify(virtual_services(), &self.namespace, &self.service, |v| {
                        v["spec"] = spec;
                        if !owned {
                            match v["metadata"]["ownerReferences"].as_array_mut() {
                                Some(refs) => refs.push(owner),
                                None => v["metadata"]["ownerReferences"] = json!([owner]),
                            }
                        }
                    })
            }
            Err(_) => self.store.create(
                virtual_services(),
                &self.namespace,
                json!({
                    "apiVersion": "networking.istio.io/v1beta1",
                    "kind": "VirtualService",
                    "metadata": {
                        "name": self.service,
                        "namespace": self.namespace,
                        "ownerReferences": [owner_reference(&self.cd)],
                    },
                    "spec": self.virtual_service_spec(TOTAL_WEIGHT, 0),
                }),
                WriteScope::Whole,
                false,
            ),
        };
        if let Err(e) = result {
            self.warn(&format!(
                "VirtualService {}.{} reconcile failed: {e}",
                self.service, self.namespace
            ));
        }
    }

    /// The applied (primary, canary) weights (the router's `GetRoutes`).
    pub(super) fn get_routes(&self) -> Result<(i64, i64), String> {
        let vs = self
            .store
            .get(virtual_services(), &self.namespace, &self.service)
            .map_err(|e| {
                format!(
                    "VirtualService {}.{} get query error: {e}",
                    self.service, self.namespace
                )
            })?;
        routes_of(&vs, &self.service).ok_or_else(|| {
            format!(
                "VirtualService {svc}.{} does not contain routes for {svc}-primary and {svc}-canary",
                self.namespace,
                svc = self.service
            )
        })
    }

    /// Write the split into the VirtualService (the router's `SetRoutes`).
    pub(super) fn set_routes(&self, primary_weight: i64, canary_weight: i64) -> Result<(), String> {
        let http = self.http_routes(primary_weight, canary_weight);
        self.store
            .modify(virtual_services(), &self.namespace, &self.service, |vs| {
                vs["spec"]["http"] = http;
            })
            .map(|_| ())
            .map_err(|e| {
                format!(
                    "VirtualService {}.{} update failed: {e}",
                    self.service, self.namespace
                )
            })
    }
}

/// The (primary, canary) weights of the first http route that sends to the canary.
pub(super) fn routes_of(vs: &Value, service: &str) -> Option<(i64, i64)> {
    let primary = format!("{service}-primary");
    let canary = format!("{service}-canary");
    let routes = vs["spec"]["http"].as_array()?;
    let route = routes.iter().find_map(|http| {
        http["route"].as_array().filter(|r| {
            r.iter()
                .any(|d| d["destination"]["host"] == canary.as_str())
        })
    })?;
    let weight = |host: &str| {
        route
            .iter()
            .find(|d| d["destination"]["host"] == host)
            .map_or(0, |d| d["weight"].as_i64().unwrap_or(0))
    };
    Some((weight(&primary), weight(&canary)))
}
