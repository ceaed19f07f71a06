use super::*;

fn answered(code: u16) -> UserError {
    let server = Server {
        url: "https://10.0.0.1:6443/",
        context: "prod",
        kubectl_flags: "--context prod",
        request_timeout: None,
    };
    let status = kube::core::Status {
        code,
        message: "the server says no".into(),
        ..Default::default()
    };
    request_failed(
        &server,
        "listing rollouts",
        &kube::Error::Api(Box::new(status)),
    )
}

#[test]
fn an_overloaded_cluster_cannot_be_read_and_may_recover() {
    for code in [429, 503, 504] {
        let e = answered(code);
        assert!(e.transient && e.cannot_read, "{code}: {e:?}");
        assert!(
            e.cause.starts_with(
                "the cluster at https://10.0.0.1:6443 (context prod) failed listing rollouts"
            ),
            "{e:?}"
        );
    }
    let e = answered(500);
    assert!(!e.transient && e.cannot_read, "{e:?}");
}

#[test]
fn refused_credentials_and_access_are_the_users_to_fix() {
    for code in [401, 403, 404] {
        let e = answered(code);
        assert!(!e.transient && !e.cannot_read, "{code}: {e:?}");
    }
}

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
            request_timeout: None,
            max_answer_bytes: crate::cluster::answer_limit::DEFAULT_MAX_ANSWER_BYTES,
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
