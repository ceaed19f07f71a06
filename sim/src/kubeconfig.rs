//! The kubeconfig that points clients (kubectl, kube-rs, cutover itself) at
//! a simulated cluster: one context per identity.

use super::rbac::Users;
use serde_json::{Value, json};
use std::path::Path;

pub const CLUSTER_NAME: &str = "cutover-sim";

/// Context name for a user: `sim-admin`, `sim-viewer`, `sim-deployer`,
/// `sim-checkout-owner`.
pub fn context_name(user: &str) -> String {
    format!("sim-{user}")
}

pub fn render(server_url: &str, ca_pem: &str, users: &Users, namespace: &str) -> String {
    use base64::Engine;
    let ca_data = base64::engine::general_purpose::STANDARD.encode(ca_pem);
    let contexts: Vec<Value> = users
        .all()
        .iter()
        .map(|u| {
            json!({
                "name": context_name(&u.name),
                "context": {"cluster": CLUSTER_NAME, "user": u.name, "namespace": namespace},
            })
        })
        .collect();
    let auth: Vec<Value> = users
        .all()
        .iter()
        .map(|u| json!({"name": u.name, "user": {"token": u.token}}))
        .collect();
    let config = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": CLUSTER_NAME, "cluster": {"server": server_url, "certificate-authority-data": ca_data}}],
        "users": auth,
        "contexts": contexts,
        "current-context": context_name("admin"),
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
        let yaml = render("https://127.0.0.1:1234", "PEM", &users, "shop");
        let kc = kube::config::Kubeconfig::from_yaml(&yaml).unwrap();
        assert_eq!(kc.current_context.as_deref(), Some("sim-admin"));
        let names: Vec<_> = kc.contexts.iter().map(|c| c.name.clone()).collect();
        assert!(names.contains(&"sim-viewer".to_string()));
        let ctx = kc.contexts[0].context.as_ref().unwrap();
        assert_eq!(ctx.namespace.as_deref(), Some("shop"));
    }
}
