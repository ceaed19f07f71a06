//! Resource URLs as the API server reads them: group, version, namespace,
//! resource, name and subresource.

use crate::api_error::ApiError;
use crate::resources::{ResourceDef, Served};

/// A parsed resource URL.
pub(super) struct ResourcePath<'a> {
    pub(super) res: &'static ResourceDef,
    pub(super) namespace: Option<String>,
    pub(super) name: Option<&'a str>,
    pub(super) subresource: Option<&'a str>,
}

pub(super) fn parse_resource_path(
    path: &str,
    served: Served,
) -> Result<Option<ResourcePath<'_>>, ApiError> {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, version, rest) = match segs.as_slice() {
        ["api", v, rest @ ..] => ("", *v, rest),
        ["apis", g, v, rest @ ..] => (*g, *v, rest),
        _ => return Ok(None),
    };
    if rest.is_empty() {
        return Ok(None);
    }
    let namespaced_form = rest.len() >= 3
        && rest[0] == "namespaces"
        && served
            .lookup(group, version, rest[2])
            .is_some_and(|r| r.namespaced);
    let (ns, plural, tail) = if namespaced_form {
        (Some(rest[1].to_string()), rest[2], &rest[3..])
    } else {
        (None, rest[0], &rest[1..])
    };
    let res = served
        .lookup(group, version, plural)
        .ok_or_else(ApiError::path_not_found)?;
    let (name, subresource) = match tail {
        [] => (None, None),
        [name] => (Some(*name), None),
        [name, sub] => (Some(*name), Some(*sub)),
        _ => return Err(ApiError::path_not_found()),
    };
    if let Some(sub) = subresource {
        let served = (sub == "status" && res.status) || (sub == "scale" && res.scale);
        if !served {
            return Err(ApiError::path_not_found());
        }
    }
    if res.namespaced && name.is_some() && ns.is_none() {
        return Err(ApiError::path_not_found());
    }
    Ok(Some(ResourcePath {
        res,
        namespace: ns,
        name,
        subresource,
    }))
}
