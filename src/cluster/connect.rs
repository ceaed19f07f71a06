//! Connecting like kubectl: kubeconfig (`--kubeconfig`, `KUBECONFIG`,
//! `~/.kube/config`), contexts, exec plugins and in-cluster config; the
//! user's identity; which kinds this cluster serves. What goes wrong is
//! said in plain words with what to do, never with a credential in it.

use super::answer_limit::{AnswerLimitLayer, AnswerTooLarge};
use super::kinds::WatchedKind;
use crate::user_error::UserError;
use color_eyre::eyre::{Result, WrapErr};
use k8s_openapi::api::authentication::v1::SelfSubjectReview;
use kube::api::{ApiResource, PostParams};
use kube::client::ClientBuilder;
use kube::config::{KubeConfigOptions, Kubeconfig, KubeconfigError};
use kube::discovery::Discovery;
use kube::{Api, Client, Config};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
    /// `None` takes the context's namespace.
    pub namespace: Option<String>,
    pub all_namespaces: bool,
    /// Give up on each request after this long (`--request-timeout`);
    /// `None` keeps kube's defaults (a connect timeout, no read timeout).
    pub request_timeout: Option<std::time::Duration>,
    /// The longest answer read (`[kubernetes] max_answer_bytes`).
    pub max_answer_bytes: usize,
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
    /// The kubectl flags that reach the same cluster, for advice.
    pub kubectl_flags: String,
}

/// The cluster a set of options points at, found without contacting it.
pub struct ClusterTarget {
    pub config: Config,
    pub context: String,
    pub contexts: Vec<String>,
    pub kubectl_flags: String,
}

/// A kubeconfig and where it was read from, for messages.
struct Found {
    kubeconfig: Kubeconfig,
    from: String,
}

fn default_kubeconfig() -> Option<PathBuf> {
    std::env::home_dir().map(|h| h.join(".kube").join("config"))
}

/// `$KUBECONFIG`'s paths, as kubectl splits them.
fn env_kubeconfigs() -> Vec<PathBuf> {
    std::env::var_os("KUBECONFIG")
        .map(|v| {
            std::env::split_paths(&v)
                .filter(|p| !p.as_os_str().is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// Where a line and column of a file that is not YAML are, and nothing of
/// its text (a kubeconfig holds tokens).
fn yaml_error_position(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    match serde_yaml::from_str::<serde_yaml::Value>(&text) {
        Err(e) => e
            .location()
            .map(|l| format!(" (line {}, column {})", l.line(), l.column()))
            .unwrap_or_default(),
        Ok(_) => String::new(),
    }
}

/// Where a kubeconfig's path came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    Flag,
    Env,
    Default,
}

/// Read one kubeconfig file.
fn read_kubeconfig(path: &Path, origin: Origin) -> Result<Kubeconfig, UserError> {
    let shown = path.display();
    let check = format!("check it with: kubectl --kubeconfig {shown} config view");
    Kubeconfig::read_from(path).map_err(|e| match e {
        KubeconfigError::ReadConfig(io, _) if io.kind() == std::io::ErrorKind::NotFound => {
            let (from, fix) = match origin {
                Origin::Flag => ("", "give an existing file with --kubeconfig, or leave the flag out to use $KUBECONFIG or ~/.kube/config"),
                Origin::Env => (" (from KUBECONFIG)", "fix KUBECONFIG, or give the file with --kubeconfig FILE"),
                Origin::Default => ("", "give one with --kubeconfig FILE or KUBECONFIG"),
            };
            UserError::new(format!("kubeconfig {shown}{from} does not exist"), fix)
        }
        KubeconfigError::ReadConfig(io, _) => UserError::new(
            format!("cannot read the kubeconfig {shown}: {}", io_words(&io).0),
            "check that the file is readable by you",
        ),
        KubeconfigError::Parse(_) => UserError::new(
            format!(
                "the kubeconfig {shown} is not a valid kubeconfig{}",
                yaml_error_position(path)
            ),
            check,
        ),
        other => UserError::new(
            format!("the kubeconfig {shown} cannot be used: {other}"),
            check,
        ),
    })
}

/// The kubeconfig kubectl would use: `--kubeconfig`, else `$KUBECONFIG`
/// (merged), else `~/.kube/config` when it exists; `None` means in-cluster.
fn find_kubeconfig(flag: Option<&Path>) -> Result<Option<Found>, UserError> {
    if let Some(path) = flag {
        return Ok(Some(Found {
            kubeconfig: read_kubeconfig(path, Origin::Flag)?,
            from: path.display().to_string(),
        }));
    }
    let paths = env_kubeconfigs();
    if !paths.is_empty() {
        let mut merged = Kubeconfig::default();
        for path in &paths {
            let next = read_kubeconfig(path, Origin::Env)?;
            merged = merged.merge(next).map_err(|e| {
                UserError::new(
                    format!("the kubeconfigs of KUBECONFIG cannot be merged: {e}"),
                    "fix KUBECONFIG, or give one file with --kubeconfig FILE",
                )
            })?;
        }
        let from = std::env::join_paths(&paths)
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        return Ok(Some(Found {
            kubeconfig: merged,
            from,
        }));
    }
    match default_kubeconfig().filter(|p| p.exists()) {
        Some(path) => Ok(Some(Found {
            kubeconfig: read_kubeconfig(&path, Origin::Default)?,
            from: path.display().to_string(),
        })),
        None => Ok(None),
    }
}

fn no_kubeconfig(context: Option<&str>) -> UserError {
    let default = default_kubeconfig()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "~/.kube/config".into());
    let cause = match context {
        Some(ctx) => format!("context {ctx:?} does not exist: there is no kubeconfig"),
        None => {
            "no cluster to connect to: there is no kubeconfig and this is not a pod in a cluster"
                .into()
        }
    };
    UserError::new(
        format!("{cause} (KUBECONFIG is not set and {default} does not exist)"),
        "give one with --kubeconfig FILE or KUBECONFIG, as for kubectl",
    )
}

/// The context to use, checked against the kubeconfig as kubectl does.
fn choose_context(found: &Found, asked: Option<&str>) -> Result<String, UserError> {
    let names: Vec<&str> = found
        .kubeconfig
        .contexts
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    let choose = if names.is_empty() {
        "it has no contexts: add one (kubectl config set-context) or give another --kubeconfig"
            .to_string()
    } else {
        format!(
            "choose one of: {} (kubectl config get-contexts)",
            names.join(", ")
        )
    };
    let from = &found.from;
    match asked.or(found.kubeconfig.current_context.as_deref()) {
        Some(name) if names.contains(&name) => Ok(name.to_string()),
        Some(name) => Err(UserError::new(
            format!("context {name:?} does not exist in {from}"),
            choose,
        )),
        None => Err(UserError::new(
            format!("the kubeconfig {from} sets no current context"),
            format!("give --context NAME; {choose}"),
        )),
    }
}

/// The contexts of the kubeconfig kubectl would use (`--kubeconfig`, else
/// `$KUBECONFIG`, else `~/.kube/config`), in its order, and where it was
/// read from (for messages).
pub fn kubeconfig_contexts(flag: Option<&Path>) -> Result<(Vec<String>, String), UserError> {
    let found = find_kubeconfig(flag)?.ok_or_else(|| no_kubeconfig(None))?;
    let names = found
        .kubeconfig
        .contexts
        .iter()
        .map(|c| c.name.clone())
        .collect();
    Ok((names, found.from))
}

/// The context and namespace (`None`: all) a connection with `opts` is
/// for, from the kubeconfig alone, before any request: what the screen
/// shows while connecting. As kube completes them: the current context,
/// and the context's own namespace, else `default`.
pub fn requested_scope(opts: &ConnectOptions) -> (String, Option<String>) {
    let kubeconfig = find_kubeconfig(opts.kubeconfig.as_deref())
        .ok()
        .flatten()
        .map(|found| found.kubeconfig);
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

/// Find the cluster the options point at, without contacting it: the
/// mistakes kubectl reports before connecting are reported here.
pub async fn resolve(opts: &ConnectOptions) -> Result<ClusterTarget, UserError> {
    let Some(found) = find_kubeconfig(opts.kubeconfig.as_deref())? else {
        if opts.context.is_some() {
            return Err(no_kubeconfig(opts.context.as_deref()));
        }
        // No kubeconfig: in-cluster service account, as kubectl does.
        let config = Config::incluster().map_err(|_| no_kubeconfig(None))?;
        return Ok(ClusterTarget {
            config,
            context: "in-cluster".into(),
            contexts: Vec::new(),
            kubectl_flags: String::new(),
        });
    };
    let context = choose_context(&found, opts.context.as_deref())?;
    let kc_options = KubeConfigOptions {
        context: Some(context.clone()),
        ..Default::default()
    };
    let mut kubectl_flags = format!("--context {context}");
    if let Some(path) = &opts.kubeconfig {
        kubectl_flags = format!("--kubeconfig {} {kubectl_flags}", path.display());
    }
    let contexts = found
        .kubeconfig
        .contexts
        .iter()
        .map(|c| c.name.clone())
        .collect();
    let config = Config::from_custom_kubeconfig(found.kubeconfig, &kc_options)
        .await
        .map_err(|e| {
            UserError::new(
                format!("context {context:?} in {} cannot be used: {e}", found.from),
                format!("check it with: kubectl {kubectl_flags} config view --minify"),
            )
        })?;
    Ok(ClusterTarget {
        config,
        context,
        contexts,
        kubectl_flags,
    })
}

pub async fn connect(opts: &ConnectOptions) -> Result<Connection> {
    let target = resolve(opts).await?;
    let namespace = if opts.all_namespaces {
        None
    } else {
        Some(
            opts.namespace
                .clone()
                .unwrap_or_else(|| target.config.default_namespace.clone()),
        )
    };
    let cluster_url = target.config.cluster_url.to_string();
    let mut config = target.config;
    // kube's own retry of 429/503/504 tries 15 times over minutes and hides
    // a failing API behind a request that never ends: the watches and the
    // connect loop back off on their own, and an action's error is shown.
    config.default_retry = false;
    if let Some(limit) = opts.request_timeout {
        config.connect_timeout = Some(limit);
        config.read_timeout = Some(limit);
        config.write_timeout = Some(limit);
    }
    let client = ClientBuilder::try_from(config)
        .wrap_err("building the Kubernetes client")?
        .with_layer(&AnswerLimitLayer {
            limit: opts.max_answer_bytes,
        })
        .build();
    let failed = |doing: &str, e: kube::Error| {
        let server = Server {
            url: &cluster_url,
            context: &target.context,
            kubectl_flags: &target.kubectl_flags,
            request_timeout: opts.request_timeout,
        };
        request_failed(&server, doing, &e)
    };
    let user = whoami(&client)
        .await
        .map_err(|e| failed("asking who you are", e))?;
    let kinds = served_kinds(&client)
        .await
        .map_err(|e| failed("discovering the API groups the cluster serves", e))?;
    Ok(Connection {
        client,
        context: target.context,
        contexts: target.contexts,
        namespace,
        cluster_url,
        user,
        kinds,
        kubectl_flags: target.kubectl_flags,
    })
}

/// An io error in plain words, and whether trying again may help.
fn io_words(io: &std::io::Error) -> (String, bool) {
    use std::io::ErrorKind as K;
    let transient = matches!(
        io.kind(),
        K::ConnectionRefused
            | K::ConnectionReset
            | K::ConnectionAborted
            | K::TimedOut
            | K::HostUnreachable
            | K::NetworkUnreachable
    );
    let words = match io.kind() {
        K::ConnectionRefused => "connection refused".to_string(),
        K::ConnectionReset => "connection reset".to_string(),
        K::TimedOut => "timed out".to_string(),
        _ => match io.get_ref() {
            Some(inner) => inner.to_string(),
            None => io.to_string(),
        },
    };
    (words, transient)
}

/// The cause of a failed request in plain words (never a plugin's output,
/// which may hold a credential), and whether trying again may help.
fn explain(e: &kube::Error) -> (String, bool) {
    match e {
        kube::Error::Api(status) => (status.message.clone(), false),
        kube::Error::Auth(kube::client::AuthError::AuthExecRun { cmd, out }) => (
            format!("the credential plugin {cmd} failed ({})", out.status),
            false,
        ),
        other => {
            let mut deepest = other.to_string();
            let mut next: Option<&(dyn std::error::Error + 'static)> = Some(other);
            while let Some(error) = next {
                if let Some(io) = error.downcast_ref::<std::io::Error>() {
                    return io_words(io);
                }
                deepest = error.to_string();
                next = error.source();
            }
            (deepest, false)
        }
    }
}

/// The answer over the size limit a request failed on, if that is why.
fn too_large(e: &kube::Error) -> Option<&AnswerTooLarge> {
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(error) = next {
        if let Some(too_large) = error.downcast_ref::<AnswerTooLarge>() {
            return Some(too_large);
        }
        next = error.source();
    }
    None
}

/// Whether a request failed because it took longer than the client allows.
fn timed_out(e: &kube::Error) -> bool {
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(error) = next {
        if error
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
        {
            return true;
        }
        next = error.source();
    }
    false
}

/// The cluster a request went to, for messages.
pub struct Server<'a> {
    pub url: &'a str,
    pub context: &'a str,
    pub kubectl_flags: &'a str,
    pub request_timeout: Option<std::time::Duration>,
}

impl Server<'_> {
    /// The cluster did not answer within `limit`; `flag` is the flag that
    /// sets it.
    pub fn silent(&self, limit: std::time::Duration, flag: &str, doing: &str) -> UserError {
        let within = crate::time::format_go(limit.as_millis() as i64);
        UserError {
            cause: format!(
                "the cluster at {} (context {}) did not answer within {within} ({doing})",
                self.url.trim_end_matches('/'),
                self.context
            ),
            fix: Some(format!(
                "is the API server up and reachable? check with: kubectl {} cluster-info; or wait longer with {flag}",
                self.kubectl_flags
            )),
            transient: false,
            cannot_read: true,
        }
    }
}

/// HTTP codes of an API server that is overloaded or restarting.
fn overloaded(code: u16) -> bool {
    matches!(code, 429 | 502 | 503 | 504)
}

/// A request to the cluster that failed, as the user can act on it.
pub fn request_failed(server: &Server, doing: &str, e: &kube::Error) -> UserError {
    if let Some(limit) = server.request_timeout.filter(|_| timed_out(e)) {
        return server.silent(limit, "--request-timeout", doing);
    }
    let (words, transient) = explain(e);
    let (cluster_url, context) = (server.url.trim_end_matches('/'), server.context);
    let kubectl_flags = server.kubectl_flags;
    let status = match e {
        kube::Error::Api(s) => Some(s.code),
        _ => None,
    };
    let cannot_read = match status {
        Some(code) => code >= 500 || code == 429,
        None => !matches!(e, kube::Error::Auth(_)),
    };
    let transient = transient || status.is_some_and(overloaded);
    let (cause, fix) = match status {
        Some(401) => (
            format!(
                "{doing}: the cluster at {cluster_url} does not accept the credentials of context {context}: {words}"
            ),
            Some(format!(
                "log in again or renew them, then check with: kubectl {kubectl_flags} auth whoami"
            )),
        ),
        Some(403) => (
            format!("{doing}: {words}"),
            Some(format!(
                "ask for access, or choose a namespace you may read with -n NAMESPACE (kubectl {kubectl_flags} auth can-i --list)"
            )),
        ),
        Some(code) if cannot_read => (
            format!(
                "the cluster at {cluster_url} (context {context}) failed {doing} (HTTP {code}): {words}"
            ),
            Some(format!(
                "the API server is overloaded or restarting: try again later; check with: kubectl {kubectl_flags} get --raw /readyz"
            )),
        ),
        Some(_) => (format!("{doing}: {words}"), None),
        None if too_large(e).is_some() => {
            let too_large = too_large(e).expect("checked");
            (
                format!(
                    "{doing} from the cluster at {cluster_url} (context {context}): {}",
                    too_large.problem()
                ),
                Some(too_large.fix().to_string()),
            )
        }
        None if matches!(e, kube::Error::Auth(_)) => (
            format!("cannot log in to the cluster at {cluster_url} (context {context}): {words}"),
            Some(format!(
                "renew the credentials of context {context}, then check with: kubectl {kubectl_flags} auth whoami"
            )),
        ),
        None => (
            format!("cannot connect to the cluster at {cluster_url} (context {context}): {words}"),
            Some(format!(
                "is the API server up at that address? check with: kubectl {kubectl_flags} cluster-info"
            )),
        ),
    };
    UserError {
        cause,
        fix,
        transient,
        cannot_read,
    }
}

/// The user name from SelfSubjectReview (Kubernetes 1.28+); `None` when
/// the cluster does not serve or allow it. A failure to reach it, or an
/// overloaded server (429, 5xx), is an error.
async fn whoami(client: &Client) -> kube::Result<Option<String>> {
    let api: Api<SelfSubjectReview> = Api::all(client.clone());
    match api
        .create(&PostParams::default(), &SelfSubjectReview::default())
        .await
    {
        Ok(review) => Ok(review.status.and_then(|s| s.user_info?.username)),
        Err(kube::Error::Api(status)) if status.code < 500 && status.code != 429 => {
            tracing::warn!("SelfSubjectReview refused: {}", status.message);
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// Discovery of the optional kinds: a cluster without Argo Rollouts, Flagger,
/// Istio or Gateway API still works, with those kinds left out.
async fn served_kinds(client: &Client) -> kube::Result<BTreeMap<WatchedKind, ApiResource>> {
    let optional: Vec<WatchedKind> = WatchedKind::ALL
        .into_iter()
        .filter(|k| !k.is_core())
        .collect();
    let groups: Vec<&str> = optional.iter().map(|k| k.group()).collect();
    let discovery = Discovery::new(client.clone()).filter(&groups).run().await?;
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
mod tests;
