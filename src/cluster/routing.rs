//! The weights routers actually carry: Istio VirtualService route weights
//! and Gateway API HTTPRoute backendRef weights, and header routes.

use super::Index;
use super::fields::{Fields, Warnings, array_at, name, str_at};
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
    index: &Index<'a>,
    kind: WatchedKind,
    ns: &str,
    reference: &str,
) -> Option<&'a DynamicObject> {
    // Argo writes a VirtualService of another namespace as `name.namespace`.
    let (wanted, wanted_ns) = reference.split_once('.').unwrap_or((reference, ns));
    index.find(kind, wanted_ns, wanted)
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

/// The router's weights: those of the first route that leads to both
/// sides, none when one of them cannot be read (noted in `warnings`).
fn router_weight(
    object: String,
    first: Option<(Option<u32>, Option<u32>)>,
) -> Option<RouterWeight> {
    let (canary, stable) = first?;
    Some(RouterWeight {
        object,
        canary: canary?,
        stable: stable?,
    })
}

/// Weights of an Istio VirtualService's routes towards `canary` and `stable`
/// (hosts, or subsets in subset mode).
fn istio(
    vs: &DynamicObject,
    route_names: &[&str],
    (canary, stable): (&str, &str),
    warnings: &Warnings,
) -> Routes {
    let object = format!("VirtualService/{}", name(vs));
    let fields = Fields::new(&vs.data, &object, warnings);
    let mut out = Routes::default();
    let mut first = None;
    for (i, route) in array_at(&vs.data, "/spec/http").iter().enumerate() {
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
        for (j, dest) in array_at(route, "/route").iter().enumerate() {
            let host = str_at(dest, "/destination/host").unwrap_or_default();
            let subset = str_at(dest, "/destination/subset").unwrap_or_default();
            let weight = || {
                fields
                    .weight(&format!("/spec/http/{i}/route/{j}/weight"), 100)
                    .or(0)
            };
            if host_is(host, canary) || subset == canary {
                c = Some(weight());
            } else if host_is(host, stable) || subset == stable {
                s = Some(weight());
            }
        }
        if let (Some(c), Some(s)) = (c, s) {
            first.get_or_insert((c, s));
        }
    }
    out.weight = router_weight(object, first);
    out
}

fn http_route(
    route: &DynamicObject,
    (canary, stable): (&str, &str),
    warnings: &Warnings,
) -> Routes {
    let object = format!("HTTPRoute/{}", name(route));
    let fields = Fields::new(&route.data, &object, warnings);
    let mut out = Routes::default();
    let mut first = None;
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
        // Gateway API: a backendRef without a weight has weight 1.
        let weight_of = |svc: &str| {
            let k = backends
                .iter()
                .position(|b| str_at(b, "/name") == Some(svc))?;
            Some(
                fields
                    .weight(&format!("/spec/rules/{i}/backendRefs/{k}/weight"), 100)
                    .or(1),
            )
        };
        if let (Some(c), Some(s)) = (weight_of(canary), weight_of(stable)) {
            first.get_or_insert((c, s));
        }
    }
    out.weight = router_weight(object, first);
    out
}

/// The routes an Argo canary's `trafficRouting` names; weights that cannot
/// be read are noted in `warnings`.
pub fn argo_routes(canary: &Value, ns: &str, index: &Index<'_>, warnings: &Warnings) -> Routes {
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
            if let Some(vs) = find(index, WatchedKind::VirtualService, ns, vs_name) {
                return istio(vs, &routes, (canary_target, stable_target), warnings);
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
            if let Some(route) = find(index, WatchedKind::HttpRoute, route_ns, n) {
                return http_route(route, (canary_svc, stable_svc), warnings);
            }
        }
    }
    Routes::default()
}

/// Flagger's Istio routing: VirtualService `<service>` with destinations
/// `<service>-primary` and `<service>-canary`; weights that cannot be read
/// are noted in `warnings`.
pub fn flagger_routes(service: &str, ns: &str, index: &Index<'_>, warnings: &Warnings) -> Routes {
    let canary = format!("{service}-canary");
    let primary = format!("{service}-primary");
    let sides = (canary.as_str(), primary.as_str());
    find(index, WatchedKind::VirtualService, ns, service)
        .map(|vs| istio(vs, &[], sides, warnings))
        .or_else(|| {
            find(index, WatchedKind::HttpRoute, ns, service).map(|r| http_route(r, sides, warnings))
        })
        .unwrap_or_default()
}
