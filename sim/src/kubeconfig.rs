//! The kubeconfig that points clients (kubectl, kube-rs, cutover itself) at
//! simulated clusters: one context per cluster and identity.

use super::rbac::Users;
use serde_json::json;
use std::path::Path;

pub const CLUSTER_NAME: &str = "cutover-sim";

/// One simulated cluster as a kubeconfig names it.
pub struct Served<'a> {
    /// The cluster's entry; contexts are `<prefix>-<user>`.
    pub cluster: &'a str,
    pub prefix: &'a str,
    /// Whether the user entries carry the prefix too: needed when several
    /// clusters, each with its own tokens, share one kubeconfig.
    pub prefixed_users: bool,
    pub url: &'a str,
    pub ca_pem: &'a str,
    pub users: &'a Users,
}

impl Served<'_> {
    fn context_name(&self, user: &str) -> String {
        format!("{}-{user}", self.prefix)
    }

    fn user_entry(&self, user: &str) -> String {
        if self.prefixed_users {
            self.context_name(user)
        } else {
            user.to_string()
        }
    }
}

/// A kubeconfig for `served`, its first cluster's admin the current context.
pub fn render(served: &[Served<'_>], namespace: &str) -> String {
    use base64::Engine;
    let mut clusters = Vec::new();
    let mut users = Vec::new();
    let mut contexts = Vec::new();
    for s in served {
        let ca_data = base64::engine::general_purpose::STANDARD.encode(s.ca_pem);
        clusters.push(json!({"name": s.cluster, "cluster": {"server": s.url, "certificate-authority-data": ca_data}}));
        for u in s.users.all() {
            let user = s.user_entry(&u.name);
            contexts.push(json!({
                "name": s.context_name(&u.name),
                "context": {"cluster": s.cluster, "user": user, "namespace": namespace},
            }));
            users.push(json!({"name": user, "user": {"token": u.token}}));
        }
    }
    let current = served.first().map(|s| s.context_name("admin"));
    let config = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": clusters,
        "users": users,
        "contexts": contexts,
        "current-context": current,
        "preferences": {},
    });
    serde_yaml::to_string(&config).expect("a JSON value always renders as YAML")
}

/// Write with owner-only permissions: the file holds bearer tokens.
pub fn write(path: &Path, yaml: &str) -> std::io::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    opts.mode(0o600);
    let mut f = opts.open(path)?;
    f.write_all(yaml.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubeconfig_parses_with_kube_and_defaults_to_admin() {
        let users = Users::generate();
        let served = Served {
            cluster: CLUSTER_NAME,
            prefix: "sim",
            prefixed_users: false,
            url: "https://127.0.0.1:1234",
            ca_pem: "PEM",
            users: &users,
        };
        let yaml = render(&[served], "shop");
        let kc = kube::config::Kubeconfig::from_yaml(&yaml).unwrap();
        assert_eq!(kc.current_context.as_deref(), Some("sim-admin"));
        let names: Vec<_> = kc.contexts.iter().map(|c| c.name.clone()).collect();
        assert!(names.contains(&"sim-viewer".to_string()));
        let ctx = kc.contexts[0].context.as_ref().unwrap();
        assert_eq!(ctx.namespace.as_deref(), Some("shop"));
    }
}
