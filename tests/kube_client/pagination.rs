//! Lists in pages, continued with a continue token.

use super::*;

#[tokio::test]
async fn pagination_with_continue_returns_every_pod_once() {
    let sim = start().await;
    let client = support::kube_client(&sim, "sim-admin").await;
    let api: Api<Pod> = Api::namespaced(client, "shop");
    let everything = names(&api.list(&ListParams::default()).await.expect("list").items);
    assert_eq!(everything.len(), 8);

    let mut lp = ListParams::default().limit(3);
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let page = api.list(&lp).await.expect("list a page");
        pages += 1;
        assert!(page.items.len() <= 3, "a page holds at most `limit` items");
        if pages == 1 {
            assert_eq!(page.metadata.remaining_item_count, Some(5));
        }
        seen.extend(page.items.iter().map(ResourceExt::name_any));
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(token) => lp = lp.continue_token(&token),
            None => break,
        }
        assert!(pages < 10, "pagination does not end");
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 8, "every pod exactly once: {seen:?}");
    assert_eq!(seen.iter().cloned().collect::<BTreeSet<_>>(), everything);
}

/// A continued list is served at the resourceVersion of its first page, as a
/// real apiserver does; kube's watcher starts its watch from the last page's
/// resourceVersion, so a newer version there skips changes made between pages.
#[tokio::test]
async fn continued_list_pages_keep_the_first_pages_resource_version() {
    let sim = start().await;
    let client = support::kube_client(&sim, "sim-admin").await;
    let api: Api<Pod> = Api::namespaced(client, "shop");
    let first = api
        .list(&ListParams::default().limit(3))
        .await
        .expect("first page");
    let first_rv = first.metadata.resource_version.clone();
    let token = first.metadata.continue_.clone().expect("a continue token");
    // A change to an object already returned, between the pages.
    let touched = first.items[0].name_any();
    sim.store()
        .patch(
            pods_res(),
            "shop",
            &touched,
            PatchKind::Merge,
            br#"{"metadata":{"labels":{"touched":"between-pages"}}}"#,
            WriteScope::Main,
            false,
        )
        .expect("patch through the store");
    let second = api
        .list(&ListParams::default().limit(3).continue_token(&token))
        .await
        .expect("second page");
    // What a list-then-watch client (kube's watcher) does next: watch from
    // the last page's version. The change between the pages must arrive.
    let last_rv = second
        .metadata
        .resource_version
        .clone()
        .expect("a resourceVersion");
    let mut stream = api
        .watch(&WatchParams::default().timeout(1), &last_rv)
        .await
        .expect("watch")
        .boxed();
    let mut delivered = false;
    while let Some(event) = tokio::time::timeout(WAIT, stream.next())
        .await
        .expect("the watch ends by its timeout")
    {
        if let Ok(WatchEvent::Modified(p)) = event
            && p.name_any() == touched
        {
            delivered = true;
        }
    }
    assert!(
        second.metadata.resource_version == first_rv && delivered,
        "a continued list must be answered at the resourceVersion of its first page \
         ({first_rv:?}), but the second page says {:?}; a watch from there never \
         delivers the change made to {touched} between the pages (delivered: {delivered}). \
         Server bug: Store::list reports the store's current resourceVersion for \
         continue requests instead of the version in the continue token",
        second.metadata.resource_version
    );
}
