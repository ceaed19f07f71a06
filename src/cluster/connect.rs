//! Connecting like kubectl: kubeconfig (`KUBECONFIG`, `--kubeconfig`),
//! contexts, exec plugins and in-cluster config through kube's inference;
//! the user's identity; which kinds this cluster serves.

use super::kinds::WatchedKind;
use color_eyre::eyre::{Result, WrapErr};
use k8s_openapi::api::authentication::v1::SelfSubjectReview;
use kube::api::{ApiResource, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::discovery::Discovery;
use kube::{Api, Client, Config};
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
    /// `None` takes the context's namespace.
    pub namespace: Option<String>,
    pub all_namespaces: bool,
}

/// A live client and what it found out about the cluster.
#[derive(Clone)]
pub struct Connection {
    pub client: Client,
    pub context: String,
    pub contexts: Vec<String>,
    /// `None` watches all namespaces.
    pub namespace: Option<String>,
    pub cluster_url: String,
    /// From SelfSubjectReview; `None` when the cluster does not answer it.
    pub user: Option<String>,
    /// The kinds this cluster serves, at the version it serves them.
    pub kinds: BTreeMap<WatchedKind, ApiResource>,
}

fn load_kubeconfig(path: Option<&PathBuf>) -> Result<Option<Kubeconfig>> {
    match path {
        Some(p) => Kubeconfig::read_from(p)
            .map(Some)
            .wrap_err_with(|| format!("reading kubeconfig {}", p.display())),
        None => Ok(Kubeconfig::read().ok()),
    }
}

/// The context and namespace (`None`: all) a connection with `opts` is
/// for, from the kubeconfig alone, before any request: what the screen
/// shows while connecting. As kube completes them: the current context,
/// and the context's own namespace, else `default`.
pub fn requested_scope(opts: &ConnectOptions) -> (String, Option<String>) {
    let kubeconfig = load_kubeconfig(opts.kubeconfig.as_ref()).ok().flatten();
    let context = opts
        .context
        .clone()
        .or_else(|| kubeconfig.as_ref()?.current_context.clone())
        .unwrap_or_else(|| "in-cluster".into());
    let namespace = (!opts.all_namespaces).then(|| {
        opts.namespace.clone().unwrap_or_else(|| {
            kubeconfig
                .as_ref()
                .and_then(|k| k.contexts.iter().find(|c| c.name == context))
                .and_then(|c| c.context.as_ref()?.namespace.clone())
                .unwrap_or_else(|| "default".into())
        })
    });
    (context, namespace)
}

pub async fn connect(opts: &ConnectOptions) -> Result<Connection> {
    let kubeconfig = load_kubeconfig(opts.kubeconfig.as_ref())?;
    let kc_options = KubeConfigOptions {
        context: opts.context.clone(),
        ..Default::default()
    };
    let config = match &kubeconfig {
        Some(kc) => Config::from_custom_kubeconfig(kc.clone(), &kc_options)
            .await
            .wrap_err("loading the kubeconfig context")?,
        // No kubeconfig: in-cluster service account, as kubectl does.
        None => Config::infer()
            .await
            .wrap_err("finding a cluster (no kubeconfig, not in a cluster)")?,
    };
    let context = opts
        .context
        .clone()
        .or_else(|| kubeconfig.as_ref().and_then(|k| k.current_context.clone()))
        .unwrap_or_else(|| "in-cluster".into());
    let contexts = kubeconfig
        .as_ref()
        .map(|k| k.contexts.iter().map(|c| c.name.clone()).collect())
        .unwrap_or_default();
    let namespace = if opts.all_namespaces {
        None
    } else {
        Some(
            opts.namespace
                .clone()
                .unwrap_or_else(|| config.default_namespace.clone()),
        )
    };
    let cluster_url = config.cluster_url.to_string();
    let client = Client::try_from(config).wrap_err("building the Kubernetes client")?;
    let user = whoami(&client).await;
    let kinds = served_kinds(&client).await?;
    Ok(Connection {
        client,
        context,
        contexts,
        namespace,
        cluster_url,
        user,
        kinds,
    })
}

/// The user name from SelfSubjectReview (Kubernetes 1.28+).
async fn whoami(client: &Client) -> Option<String> {
    let api: Api<SelfSubjectReview> = Api::all(client.clone());
    match api
        .create(&PostParams::default(), &SelfSubjectReview::default())
        .await
    {
        Ok(review) => review.status?.user_info?.username,
        Err(e) => {
            tracing::warn!("SelfSubjectReview failed: {e}");
            None
        }
    }
}

/// Discovery of the optional kinds: a cluster without Argo Rollouts, Flagger,
/// Istio or Gateway API still works, with those kinds left out.
async fn served_kinds(client: &Client) -> Result<BTreeMap<WatchedKind, ApiResource>> {
    let optional: Vec<WatchedKind> = WatchedKind::ALL
        .into_iter()
        .filter(|k| !k.is_core())
        .collect();
    let groups: Vec<&str> = optional.iter().map(|k| k.group()).collect();
    let discovery = Discovery::new(client.clone())
        .filter(&groups)
        .run()
        .await
        .wrap_err("discovering the API groups the cluster serves")?;
    let mut kinds: BTreeMap<WatchedKind, ApiResource> = WatchedKind::ALL
        .into_iter()
        .filter(|k| k.is_core())
        .map(|k| (k, k.api_resource(None)))
        .collect();
    for kind in optional {
        let found = discovery
            .groups()
            .filter(|g| g.name() == kind.group())
            .find_map(|g| g.recommended_kind(kind.kind()));
        if let Some((resource, _caps)) = found {
            kinds.insert(kind, resource);
        }
    }
    Ok(kinds)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KUBECONFIG: &str = "
apiVersion: v1
kind: Config
current-context: prod
clusters:
- {name: c, cluster: {server: 'https://127.0.0.1:1'}}
users:
- {name: u, user: {}}
contexts:
- {name: prod, context: {cluster: c, user: u, namespace: shop}}
- {name: staging, context: {cluster: c, user: u}}
";

    #[test]
    fn the_scope_asked_for_is_completed_from_the_kubeconfig_as_kube_does() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kubeconfig");
        std::fs::write(&path, KUBECONFIG).unwrap();
        let scope = |context: Option<&str>, namespace: Option<&str>, all_namespaces| {
            requested_scope(&ConnectOptions {
                kubeconfig: Some(path.clone()),
                context: context.map(str::to_string),
                namespace: namespace.map(str::to_string),
                all_namespaces,
            })
        };
        let named = |context: &str, namespace: Option<&str>| {
            (context.to_string(), namespace.map(str::to_string))
        };
        assert_eq!(scope(None, None, false), named("prod", Some("shop")));
        assert_eq!(scope(None, Some("web"), false), named("prod", Some("web")));
        assert_eq!(scope(None, None, true), named("prod", None));
        assert_eq!(
            scope(Some("staging"), None, false),
            named("staging", Some("default"))
        );
    }
}
