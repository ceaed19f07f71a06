//! The weights routers actually carry: Istio VirtualService route weights
//! and Gateway API HTTPRoute backendRef weights, and header routes.

use super::Objects;
use super::fields::{array_at, name, str_at, u32_at};
use super::kinds::WatchedKind;
use crate::model::traffic::{HeaderRoute, RouterWeight};
use kube::api::DynamicObject;
use serde_json::Value;

#[derive(Debug, Default)]
pub struct Routes {
    pub weight: Option<RouterWeight>,
    pub header_routes: Vec<HeaderRoute>,
}

fn find<'a>(
    objects: &'a Objects,
    kind: WatchedKind,
    ns: &str,
    reference: &str,
) -> Option<&'a DynamicObject> {
    // Argo writes a VirtualService of another namespace as `name.namespace`.
    let (wanted, wanted_ns) = reference.split_once('.').unwrap_or((reference, ns));
    objects.find(kind, wanted_ns, wanted).map(|o| o.as_ref())
}

/// A host matches a service by its short name or any qualified form.
fn host_is(host: &str, service: &str) -> bool {
    host == service
        || host
            .strip_prefix(service)
            .is_some_and(|rest| rest.starts_with('.'))
}

fn header_matches(matches: &[Value], headers_key: &str) -> Option<String> {
    let parts: Vec<String> = matches
        .iter()
        .flat_map(|m| match m.get(headers_key) {
            // Istio: {"headers": {"X-Canary": {"exact": "yes"}}}
            Some(Value::Object(map)) => map
                .iter()
                .map(|(h, v)| {
                    let (how, value) = v
                        .as_object()
                        .and_then(|o| o.iter().next())
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                        .unwrap_or_default();
                    format!("{h} {how} \"{value}\"")
                })
                .collect::<Vec<_>>(),
            // Gateway API: {"headers": [{"name": …, "value": …, "type": …}]}
            Some(Value::Array(list)) => list
                .iter()
                .map(|h| {
                    format!(
                        "{} {} \"{}\"",
                        str_at(h, "/name").unwrap_or_default(),
                        str_at(h, "/type").unwrap_or("Exact").to_lowercase(),
                        str_at(h, "/value").unwrap_or_default()
                    )
                })
                .collect(),
            _ => Vec::new(),
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// Weights of an Istio VirtualService's routes towards `canary` and `stable`
/// (hosts, or subsets in subset mode).
fn istio(vs: &DynamicObject, route_names: &[&str], canary: &str, stable: &str) -> Routes {
    let mut out = Routes::default();
    let mut weights: Option<(u32, u32)> = None;
    for route in array_at(&vs.data, "/spec/http") {
        let route_name = str_at(route, "/name").unwrap_or_default();
        if let Some(matches) = header_matches(array_at(route, "/match"), "headers") {
            out.header_routes.push(HeaderRoute {
                name: route_name.to_string(),
                matches,
            });
            continue;
        }
        if !route_names.is_empty() && !route_names.contains(&route_name) {
            continue;
        }
        let mut c = None;
        let mut s = None;
        for dest in array_at(route, "/route") {
            let host = str_at(dest, "/destination/host").unwrap_or_default();
            let subset = str_at(dest, "/destination/subset").unwrap_or_default();
            let weight = u32_at(dest, "/weight").unwrap_or(0);
            if host_is(host, canary) || subset == canary {
                c = Some(weight);
            } else if host_is(host, stable) || subset == stable {
                s = Some(weight);
            }
        }
        if let (Some(c), Some(s)) = (c, s) {
            weights.get_or_insert((c, s));
        }
    }
    out.weight = weights.map(|(canary, stable)| RouterWeight {
        object: format!("VirtualService/{}", name(vs)),
        canary,
        stable,
    });
    out
}

fn http_route(route: &DynamicObject, canary: &str, stable: &str) -> Routes {
    let mut out = Routes::default();
    for (i, rule) in array_at(&route.data, "/spec/rules").iter().enumerate() {
        if let Some(matches) = header_matches(array_at(rule, "/matches"), "headers") {
            let rule_name =
                str_at(rule, "/name").map_or_else(|| format!("rule {i}"), str::to_string);
            out.header_routes.push(HeaderRoute {
                name: rule_name,
                matches,
            });
            continue;
        }
        let backends = array_at(rule, "/backendRefs");
        let weight_of = |svc: &str| {
            backends
                .iter()
                .find(|b| str_at(b, "/name") == Some(svc))
                .map(|b| u32_at(b, "/weight").unwrap_or(1))
        };
        if let (Some(c), Some(s), None) = (weight_of(canary), weight_of(stable), &out.weight) {
            out.weight = Some(RouterWeight {
                object: format!("HTTPRoute/{}", name(route)),
                canary: c,
                stable: s,
            });
        }
    }
    out
}

/// The routes an Argo canary's `trafficRouting` names.
pub fn argo_routes(canary: &Value, ns: &str, objects: &Objects) -> Routes {
    let canary_svc = str_at(canary, "/canaryService").unwrap_or_default();
    let stable_svc = str_at(canary, "/stableService").unwrap_or_default();
    let routing = canary.get("trafficRouting").unwrap_or(&Value::Null);
    if let Some(istio_cfg) = routing.get("istio") {
        let (canary_target, stable_target) = match istio_cfg.get("destinationRule") {
            Some(dr) => (
                str_at(dr, "/canarySubsetName").unwrap_or("canary"),
                str_at(dr, "/stableSubsetName").unwrap_or("stable"),
            ),
            None => (canary_svc, stable_svc),
        };
        let services: Vec<&Value> = istio_cfg
            .get("virtualService")
            .into_iter()
            .chain(array_at(istio_cfg, "/virtualServices"))
            .collect();
        for vs_ref in services {
            let Some(vs_name) = str_at(vs_ref, "/name") else {
                continue;
            };
            let routes: Vec<&str> = array_at(vs_ref, "/routes")
                .iter()
                .filter_map(Value::as_str)
                .collect();
            if let Some(vs) = find(objects, WatchedKind::VirtualService, ns, vs_name) {
                return istio(vs, &routes, canary_target, stable_target);
            }
        }
        return Routes::default();
    }
    if let Some(plugin) = routing.pointer("/plugins/argoproj-labs~1gatewayAPI") {
        let route_ns = str_at(plugin, "/namespace").unwrap_or(ns);
        let names: Vec<&str> = str_at(plugin, "/httpRoute")
            .into_iter()
            .chain(
                array_at(plugin, "/httpRoutes")
                    .iter()
                    .filter_map(|r| str_at(r, "/name")),
            )
            .collect();
        for n in names {
            if let Some(route) = find(objects, WatchedKind::HttpRoute, route_ns, n) {
                return http_route(route, canary_svc, stable_svc);
            }
        }
    }
    Routes::default()
}

/// Flagger's Istio routing: VirtualService `<service>` with destinations
/// `<service>-primary` and `<service>-canary`.
pub fn flagger_routes(service: &str, ns: &str, objects: &Objects) -> Routes {
    find(objects, WatchedKind::VirtualService, ns, service)
        .map(|vs| {
            istio(
                vs,
                &[],
                &format!("{service}-canary"),
                &format!("{service}-primary"),
            )
        })
        .or_else(|| {
            find(objects, WatchedKind::HttpRoute, ns, service).map(|r| {
                http_route(
                    r,
                    &format!("{service}-canary"),
                    &format!("{service}-primary"),
                )
            })
        })
        .unwrap_or_default()
}
