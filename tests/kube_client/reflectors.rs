//! Watchers and reflectors that must stay exact while watch streams are
//! cut, answered with 410 Gone and the history is compacted.

use super::*;

fn server_versions(
    sim: &SimCluster,
    res: &'static ResourceDef,
    labels: &str,
) -> BTreeMap<String, String> {
    let opts = ListOptions {
        labels: LabelSelector::parse(labels).expect("selector"),
        ..Default::default()
    };
    sim.store()
        .list(res, Some("shop"), &opts)
        .expect("list the store")
        .items
        .iter()
        .map(|o| {
            (
                o["metadata"]["name"].as_str().unwrap().to_string(),
                o["metadata"]["resourceVersion"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect()
}

/// name -> resourceVersion of what a reflector holds; None if a name appears twice.
fn reflected_versions<K>(store: &Store<K>) -> Option<BTreeMap<String, String>>
where
    K: Resource + Clone + 'static,
    K::DynamicType: Eq + std::hash::Hash + Clone,
{
    let state = store.state();
    let map: BTreeMap<String, String> = state
        .iter()
        .map(|o| (o.name_any(), o.resource_version().unwrap_or_default()))
        .collect();
    (map.len() == state.len()).then_some(map)
}

fn spawn_reflector<K>(
    api: Api<K>,
    config: watcher::Config,
    writer: reflector::store::Writer<K>,
) -> tokio::task::JoinHandle<()>
where
    K: Resource + Clone + Debug + serde::de::DeserializeOwned + Send + Sync + 'static,
    K::DynamicType: Eq + std::hash::Hash + Clone + Send + Sync,
{
    tokio::spawn(async move {
        // Errors (the injected 410s) are part of the test; the watcher recovers on the next poll.
        reflector::reflector(writer, watcher(api, config))
            .for_each(|_| futures::future::ready(()))
            .await;
    })
}

pub fn pod_json(name: &str, app: &str) -> Value {
    json!({
        "metadata": {"name": name, "labels": {"app": app}},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]},
    })
}

fn relabel(sim: &SimCluster, name: &str, app: &str) {
    let patch = json!({"metadata": {"labels": {"app": app}}}).to_string();
    sim.store()
        .patch(
            pods_res(),
            "shop",
            name,
            PatchKind::Merge,
            patch.as_bytes(),
            WriteScope::Main,
            false,
        )
        .expect("relabel a pod");
}

async fn assert_converges<K>(
    what: &str,
    sim: &SimCluster,
    store: &Store<K>,
    res: &'static ResourceDef,
    labels: &str,
) where
    K: Resource + Clone + 'static,
    K::DynamicType: Eq + std::hash::Hash + Clone,
{
    let converged = support::eventually(WAIT, || {
        reflected_versions(store).as_ref() == Some(&server_versions(sim, res, labels))
    })
    .await;
    assert!(
        converged,
        "the {what} reflector does not match the server\n server:    {:?}\n reflector: {:?}",
        server_versions(sim, res, labels),
        reflected_versions(store)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reflectors_stay_exact_through_cut_watches_gone_and_compaction() {
    reflectors_stay_exact(SimConfig {
        bookmark_interval: Duration::from_millis(300),
        ..SimConfig::default()
    })
    .await;
}

/// With only a few changes kept, resumed watches often find their version
/// gone and must list again; the reflectors must still end exact.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reflectors_stay_exact_with_a_short_history() {
    reflectors_stay_exact(SimConfig {
        history_limit: 3,
        ..SimConfig::default()
    })
    .await;
}

async fn reflectors_stay_exact(config: SimConfig) {
    let sim = SimCluster::start(config)
        .await
        .expect("start the simulated cluster");
    let client = support::kube_client(&sim, "sim-admin").await;
    let pod_api: Api<Pod> = Api::namespaced(client.clone(), "shop");
    let rollout_api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), "shop", &rollout_ar());

    let (all_pods, all_writer) = reflector::store::<Pod>();
    let (checkout_pods, checkout_writer) = reflector::store::<Pod>();
    let rollout_writer = reflector::store::Writer::<DynamicObject>::new(rollout_ar());
    let rollouts = rollout_writer.as_reader();
    let tasks = [
        spawn_reflector(pod_api.clone(), watcher::Config::default(), all_writer),
        spawn_reflector(
            pod_api.clone(),
            watcher::Config::default().labels("app=checkout"),
            checkout_writer,
        ),
        spawn_reflector(rollout_api, watcher::Config::default(), rollout_writer),
    ];
    for ready in [
        tokio::time::timeout(WAIT, all_pods.wait_until_ready()).await,
        tokio::time::timeout(WAIT, checkout_pods.wait_until_ready()).await,
        tokio::time::timeout(WAIT, rollouts.wait_until_ready()).await,
    ] {
        ready
            .expect("a reflector's first list")
            .expect("writer alive");
    }
    assert_eq!(all_pods.len(), 8);
    assert_eq!(checkout_pods.len(), 5);
    assert_eq!(rollouts.len(), 1);
    let lists_before = list_requests(&sim);

    let pods = pods_res();
    let ro = rollouts_res();
    let store = sim.store().clone();
    let faults = sim.faults().clone();
    let seeded_checkout: Vec<String> = server_versions(&sim, pods, "app=checkout")
        .into_keys()
        .collect();
    let seeded_frontend: Vec<String> = server_versions(&sim, pods, "app=frontend")
        .into_keys()
        .collect();
    let mut changes = 0;
    for i in 0..40 {
        let name = format!("churn-{i}");
        match i % 4 {
            // A new pod inside the selector.
            0 => {
                store
                    .create(
                        pods,
                        "shop",
                        pod_json(&name, "checkout"),
                        WriteScope::Main,
                        false,
                    )
                    .expect("create");
            }
            // A new pod outside it that then moves in.
            1 => {
                store
                    .create(
                        pods,
                        "shop",
                        pod_json(&name, "frontend"),
                        WriteScope::Main,
                        false,
                    )
                    .expect("create");
                relabel(&sim, &name, "checkout");
                changes += 1;
            }
            // The previous pod leaves the selector.
            2 => relabel(&sim, &format!("churn-{}", i - 1), "frontend"),
            // Delete the pod created two steps ago, and touch the rollout.
            _ => {
                store
                    .delete(
                        pods,
                        "shop",
                        &format!("churn-{}", i - 3),
                        Propagation::Background,
                        false,
                    )
                    .expect("delete");
                let patch =
                    json!({"metadata": {"annotations": {"churn": i.to_string()}}}).to_string();
                store
                    .patch(
                        ro,
                        "shop",
                        "checkout",
                        PatchKind::Merge,
                        patch.as_bytes(),
                        WriteScope::Main,
                        false,
                    )
                    .expect("patch the rollout");
                changes += 1;
            }
        }
        changes += 1;
        match i {
            5 | 17 | 33 => faults.cut_watches(),
            11 => {
                faults.force_gone(2);
                faults.cut_watches();
            }
            // Pod changes move the store far past the rollout watch's last
            // version; compacting now makes its resume get a real 410.
            23 => {
                store.compact();
                faults.cut_watches();
            }
            _ => {}
        }
        // Let the streams interleave with the changes.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Seeded pods change too: one checkout pod leaves the selector, one is
    // deleted, a frontend pod changes status; and a second rollout comes and goes.
    relabel(&sim, &seeded_checkout[0], "checkout-retired");
    store
        .delete(
            pods,
            "shop",
            &seeded_checkout[1],
            Propagation::Background,
            false,
        )
        .expect("delete a seeded pod");
    store
        .patch(
            pods,
            "shop",
            &seeded_frontend[0],
            PatchKind::Merge,
            br#"{"status":{"phase":"Failed"}}"#,
            WriteScope::Status,
            false,
        )
        .expect("patch a pod status");
    let extra = json!({"metadata": {"name": "extra"}, "spec": {"replicas": 1}});
    store
        .create(ro, "shop", extra, WriteScope::Main, false)
        .expect("create a rollout");
    faults.cut_watches();
    store
        .patch(
            ro,
            "shop",
            "extra",
            PatchKind::Merge,
            br#"{"spec":{"replicas":2}}"#,
            WriteScope::Main,
            false,
        )
        .expect("patch a rollout");
    changes += 5;
    assert!(changes >= 50, "{changes} changes");

    assert_converges("all-pods", &sim, &all_pods, pods, "").await;
    assert_converges("app=checkout", &sim, &checkout_pods, pods, "app=checkout").await;
    assert_converges("rollouts", &sim, &rollouts, ro, "").await;
    assert!(
        list_requests(&sim) >= lists_before + 2,
        "the forced 410s made watchers list again"
    );

    // A pod that leaves the label selector leaves the label-selected reflector.
    let leaving = checkout_pods
        .state()
        .first()
        .map(|p| p.name_any())
        .expect("some checkout pod is left");
    relabel(&sim, &leaving, "elsewhere");
    let left = support::eventually(WAIT, || {
        checkout_pods
            .state()
            .iter()
            .all(|p| p.name_any() != leaving)
            && all_pods.state().iter().any(|p| {
                p.name_any() == leaving
                    && p.labels().get("app").map(String::as_str) == Some("elsewhere")
            })
    })
    .await;
    assert!(
        left,
        "{leaving} left app=checkout but the reflectors did not follow"
    );
    assert_converges("app=checkout", &sim, &checkout_pods, pods, "app=checkout").await;
    assert_converges("all-pods", &sim, &all_pods, pods, "").await;

    for task in tasks {
        task.abort();
    }
}

/// List (not watch) requests for pods and rollouts answered so far.
fn list_requests(sim: &SimCluster) -> usize {
    sim.request_log()
        .records()
        .iter()
        .filter(|r| {
            r.method == "GET"
                && (r.path.ends_with("/pods") || r.path.ends_with("/rollouts"))
                && !r
                    .query
                    .split('&')
                    .any(|kv| kv == "watch=true" || kv == "watch=1")
        })
        .count()
}
