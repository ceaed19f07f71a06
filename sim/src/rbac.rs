//! Identities of the simulated cluster: bearer tokens, users, groups and
//! what each may do, in the shape of Kubernetes RBAC rules.

use serde_json::{Value, json};

/// A rule like an RBAC PolicyRule; `*` matches anything.
#[derive(Debug, Clone)]
pub struct Rule {
    pub verbs: &'static [&'static str],
    pub api_groups: &'static [&'static str],
    /// Resource names, `plural` or `plural/subresource`.
    pub resources: &'static [&'static str],
    /// When not empty, only requests naming one of these objects match, as
    /// with RBAC's `resourceNames`: a list, a watch or a create names none.
    pub resource_names: &'static [&'static str],
}

impl Rule {
    /// A rule for any object.
    const fn any(
        verbs: &'static [&'static str],
        api_groups: &'static [&'static str],
        resources: &'static [&'static str],
    ) -> Rule {
        Rule {
            verbs,
            api_groups,
            resources,
            resource_names: &[],
        }
    }

    fn matches(&self, access: &RbacRequest<'_>, resource: &str) -> bool {
        let named = self.resource_names.is_empty()
            || access
                .name
                .is_some_and(|n| self.resource_names.contains(&n));
        named
            && matches(self.verbs, access.verb)
            && matches(self.api_groups, access.group)
            && matches(self.resources, resource)
    }
}

#[derive(Debug, Clone)]
pub struct User {
    pub name: String,
    pub groups: Vec<String>,
    pub token: String,
    pub rules: Vec<Rule>,
}

const READ: &[&str] = &["get", "list", "watch"];

/// The kinds of user the simulator knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Everything, like cluster-admin.
    Admin,
    /// Read only: get, list and watch on everything.
    Viewer,
    /// Reads everything, and may patch rollouts but not their status: can
    /// pause but cannot promote or abort. For testing partial permissions.
    /// May also start Velero backups and restores (a restore drill).
    Deployer,
    /// Reads everything, and may change only the rollout named `checkout`
    /// (and its status): a role limited with `resourceNames`.
    CheckoutOwner,
}

/// The rollout [`Role::CheckoutOwner`] may change.
pub const OWNED_ROLLOUT: &str = "checkout";

impl Role {
    pub fn user_name(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Viewer => "viewer",
            Role::Deployer => "deployer",
            Role::CheckoutOwner => "checkout-owner",
        }
    }

    fn rules(self) -> Vec<Rule> {
        match self {
            Role::Admin => vec![Rule::any(&["*"], &["*"], &["*"])],
            Role::Viewer => vec![Rule::any(READ, &["*"], &["*"])],
            Role::Deployer => vec![
                Rule::any(READ, &["*"], &["*"]),
                Rule::any(&["patch", "update"], &["argoproj.io"], &["rollouts"]),
                Rule::any(&["create"], &["velero.io"], &["backups", "restores"]),
            ],
            Role::CheckoutOwner => vec![
                Rule::any(READ, &["*"], &["*"]),
                Rule {
                    resource_names: &[OWNED_ROLLOUT],
                    ..Rule::any(
                        &["patch", "update"],
                        &["argoproj.io"],
                        &["rollouts", "rollouts/status"],
                    )
                },
            ],
        }
    }

    fn groups(self) -> Vec<String> {
        let own = match self {
            Role::Admin => "system:masters",
            Role::Viewer => "cutover:viewers",
            Role::Deployer => "cutover:deployers",
            Role::CheckoutOwner => "cutover:checkout-owners",
        };
        vec![own.to_string(), "system:authenticated".to_string()]
    }
}

/// What a request wants to do, in RBAC terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RbacRequest<'a> {
    pub verb: &'a str,
    pub group: &'a str,
    pub resource: &'a str,
    pub subresource: Option<&'a str>,
    /// The object's name, when the request names one.
    pub name: Option<&'a str>,
}

fn matches(list: &[&str], value: &str) -> bool {
    list.iter().any(|x| *x == "*" || *x == value)
}

impl User {
    pub fn new(role: Role, token: String) -> Self {
        User {
            name: role.user_name().to_string(),
            groups: role.groups(),
            token,
            rules: role.rules(),
        }
    }

    pub fn allows(&self, access: &RbacRequest<'_>) -> bool {
        // Every authenticated user may ask who they are and what they may do.
        if access.verb == "create"
            && matches!(
                (access.group, access.resource),
                ("authorization.k8s.io", "selfsubjectaccessreviews")
                    | ("authentication.k8s.io", "selfsubjectreviews")
                    | ("authorization.k8s.io", "selfsubjectrulesreviews")
            )
        {
            return true;
        }
        let resource = match access.subresource {
            Some(sub) => format!("{}/{sub}", access.resource),
            None => access.resource.to_string(),
        };
        self.rules.iter().any(|r| r.matches(access, &resource))
    }

    /// The `status.userInfo` of a SelfSubjectReview.
    pub fn user_info(&self) -> Value {
        json!({"username": self.name, "groups": self.groups})
    }
}

/// The users of one simulated cluster, each with a fresh random token.
#[derive(Debug, Clone)]
pub struct Users {
    users: Vec<User>,
}

impl Users {
    pub fn generate() -> Self {
        let users = [
            Role::Admin,
            Role::Viewer,
            Role::Deployer,
            Role::CheckoutOwner,
        ]
        .into_iter()
        .map(|role| {
            let token = format!("{}-{}", role.user_name(), uuid::Uuid::new_v4().simple());
            User::new(role, token)
        })
        .collect();
        Users { users }
    }

    pub fn authenticate(&self, token: &str) -> Option<&User> {
        self.users.iter().find(|u| u.token == token)
    }

    pub fn get(&self, role: Role) -> &User {
        self.users
            .iter()
            .find(|u| u.name == role.user_name())
            .expect("every role has a user")
    }

    pub fn all(&self) -> &[User] {
        &self.users
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access<'a>(
        verb: &'a str,
        group: &'a str,
        resource: &'a str,
        sub: Option<&'a str>,
    ) -> RbacRequest<'a> {
        RbacRequest {
            verb,
            group,
            resource,
            subresource: sub,
            name: None,
        }
    }

    fn named<'a>(access: RbacRequest<'a>, name: &'a str) -> RbacRequest<'a> {
        RbacRequest {
            name: Some(name),
            ..access
        }
    }

    #[test]
    fn viewer_reads_but_never_writes() {
        let users = Users::generate();
        let viewer = users.get(Role::Viewer);
        assert!(viewer.allows(&access("watch", "argoproj.io", "rollouts", None)));
        assert!(!viewer.allows(&access("patch", "argoproj.io", "rollouts", None)));
        assert!(!viewer.allows(&access("patch", "argoproj.io", "rollouts", Some("status"))));
        assert!(viewer.allows(&access(
            "create",
            "authorization.k8s.io",
            "selfsubjectaccessreviews",
            None
        )));
    }

    #[test]
    fn deployer_may_pause_but_not_promote() {
        let users = Users::generate();
        let d = users.get(Role::Deployer);
        assert!(d.allows(&access("patch", "argoproj.io", "rollouts", None)));
        assert!(!d.allows(&access("patch", "argoproj.io", "rollouts", Some("status"))));
        assert!(!d.allows(&access("delete", "apps", "deployments", None)));
    }

    #[test]
    fn a_restore_drill_is_the_deployer_s_and_the_viewer_only_reads_it() {
        let users = Users::generate();
        let (d, v) = (users.get(Role::Deployer), users.get(Role::Viewer));
        assert!(d.allows(&access("create", "velero.io", "restores", None)));
        assert!(!d.allows(&access("delete", "velero.io", "backups", None)));
        for verb in ["get", "list", "watch"] {
            assert!(v.allows(&access(verb, "velero.io", "schedules", None)));
        }
        assert!(!v.allows(&access("create", "velero.io", "restores", None)));
    }

    #[test]
    fn resource_names_limit_a_rule_to_requests_naming_those_objects() {
        let users = Users::generate();
        let owner = users.get(Role::CheckoutOwner);
        for sub in [None, Some("status")] {
            let patch = access("patch", "argoproj.io", "rollouts", sub);
            assert!(owner.allows(&named(patch.clone(), "checkout")), "{sub:?}");
            assert!(!owner.allows(&named(patch.clone(), "cart")), "{sub:?}");
            assert!(!owner.allows(&patch), "a request naming no object");
        }
        for verb in ["list", "watch", "create"] {
            let rule = Rule {
                resource_names: &["checkout"],
                ..Rule::any(&["*"], &["argoproj.io"], &["rollouts"])
            };
            let unnamed = access(verb, "argoproj.io", "rollouts", None);
            assert!(!rule.matches(&unnamed, "rollouts"), "{verb} names nothing");
            assert!(rule.matches(&named(unnamed, "checkout"), "rollouts"));
        }
        assert!(owner.allows(&access("list", "argoproj.io", "rollouts", None)));
        assert!(!owner.allows(&named(
            access("patch", "apps", "deployments", None),
            "checkout"
        )));
    }

    #[test]
    fn tokens_identify_users() {
        let users = Users::generate();
        let admin = users.get(Role::Admin).clone();
        assert_eq!(users.authenticate(&admin.token).unwrap().name, "admin");
        assert!(users.authenticate("nope").is_none());
        assert!(admin.allows(&access("delete", "", "pods", None)));
    }
}
