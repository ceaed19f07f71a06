//! Deleting an owner collects what it owns.

use super::*;

#[tokio::test]
async fn deleting_the_rollout_collects_its_replicasets_and_pods() {
    let sim = start().await;
    let client = support::kube_client(&sim, "sim-admin").await;
    let rollouts: Api<DynamicObject> = Api::namespaced_with(client.clone(), "shop", &rollout_ar());
    let pods: Api<Pod> = Api::namespaced(client.clone(), "shop");
    let replicasets: Api<ReplicaSet> = Api::namespaced(client.clone(), "shop");
    let checkout = ListParams::default().labels("app=checkout");
    assert_eq!(pods.list(&checkout).await.unwrap().items.len(), 5);
    assert_eq!(replicasets.list(&checkout).await.unwrap().items.len(), 2);

    rollouts
        .delete("checkout", &DeleteParams::default())
        .await
        .expect("delete the rollout");
    wait_until(
        "the checkout pods and ReplicaSets to be collected",
        || async {
            pods.list(&checkout).await.unwrap().items.is_empty()
                && replicasets.list(&checkout).await.unwrap().items.is_empty()
        },
    )
    .await;
    let status = api_error(rollouts.get("checkout").await);
    assert_eq!(status.code, 404);
    // Objects it did not own stay.
    assert_eq!(
        pods.list(&ListParams::default().labels("app=frontend"))
            .await
            .unwrap()
            .items
            .len(),
        3
    );
    assert_eq!(
        replicasets
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .len(),
        1
    );
}
