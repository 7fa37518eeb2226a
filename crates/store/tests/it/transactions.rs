//! Transactions: an uncommitted write leaves nothing, and writers of one tenant take turns.

use crate::derived::audit_row;
use crate::directory::{group, member, state};
use crate::harness::{for_each_backend, tenant, user};
use crate::WriteFixture;
use skuld_domain::licensing::Source;
use skuld_domain::{SkuId, TenantId, Timestamp};
use skuld_store::{Store, StoreError, TenantTx};

async fn write_everything(tx: &mut TenantTx) {
    let alice = user("alice@contoso.test");
    let g = group("Staff");
    let sku = SkuId::new();
    tx.insert_user(&alice).await.unwrap();
    tx.insert_group(&g).await.unwrap();
    tx.add_membership(&member(g.id, alice.id)).await.unwrap();
    tx.upsert_direct(alice.id, sku, &[], Timestamp(1))
        .await
        .unwrap();
    tx.replace_path_states(&[], &[(alice.id, state(sku, Source::Direct))])
        .await
        .unwrap();
    tx.set_sku_usage(sku, 1).await.unwrap();
    tx.insert_audit(&[audit_row("Add user")]).await.unwrap();
}

async fn assert_empty(store: &Store, t: TenantId, after: &str) {
    let mut tx = store.read(t).await.unwrap();
    assert!(
        tx.all_users().await.unwrap().is_empty(),
        "users after {after}"
    );
    assert!(
        tx.groups().await.unwrap().is_empty(),
        "groups after {after}"
    );
    assert!(
        tx.all_memberships().await.unwrap().is_empty(),
        "memberships after {after}"
    );
    assert!(
        tx.direct_assignments(None).await.unwrap().is_empty(),
        "direct after {after}"
    );
    assert!(
        tx.path_states(None).await.unwrap().is_empty(),
        "states after {after}"
    );
    assert!(
        tx.sku_usage().await.unwrap().is_empty(),
        "usage after {after}"
    );
    assert!(
        tx.audit(10).await.unwrap().is_empty(),
        "audit after {after}"
    );
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn a_dropped_or_rolled_back_write_transaction_leaves_nothing() {
    for_each_backend(|url| async move {
        let store = Store::open(&url).await.unwrap();
        let t = tenant("Contoso");
        store.create_tenant(&t).await.unwrap();

        let mut tx = store.write(t.id).await.unwrap();
        write_everything(&mut tx).await;
        // The transaction sees its own writes…
        assert_eq!(tx.count_users(false).await.unwrap(), 1);
        drop(tx);
        // …nobody else ever does.
        assert_empty(&store, t.id, "drop").await;

        let mut tx = store.write(t.id).await.unwrap();
        write_everything(&mut tx).await;
        tx.rollback().await.unwrap();
        assert_empty(&store, t.id, "rollback").await;

        // The pool is still usable and a committed write does show (the check above can fail).
        let mut tx = store.write(t.id).await.unwrap();
        write_everything(&mut tx).await;
        tx.commit().await.unwrap();
        let mut tx = store.read(t.id).await.unwrap();
        assert_eq!(tx.count_users(false).await.unwrap(), 1);
        tx.commit().await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn write_on_an_unknown_tenant_is_refused() {
    for_each_backend(|url| async move {
        let store = Store::open(&url).await.unwrap();
        let err = store.write(TenantId::new()).await.err();
        assert!(matches!(err, Some(StoreError::Corrupt(_))), "{err:?}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_of_one_tenant_serialize() {
    for_each_backend(|url| async move {
        const ROUNDS: i64 = 50;
        let store = Store::open(&url).await.unwrap();
        let t = tenant("Contoso");
        store.create_tenant(&t).await.unwrap();
        let sku = SkuId::new();
        let writer = |store: Store| async move {
            for _ in 0..ROUNDS {
                // Read-modify-write: correct only if the tenant lock serializes the writers.
                let mut tx = store.write(t.id).await.unwrap();
                let n = tx
                    .sku_usage()
                    .await
                    .unwrap()
                    .get(&sku)
                    .copied()
                    .unwrap_or(0);
                tokio::task::yield_now().await;
                tx.set_sku_usage(sku, n + 1).await.unwrap();
                tx.commit().await.unwrap();
            }
        };
        let a = tokio::spawn(writer(store.clone()));
        let b = tokio::spawn(writer(store.clone()));
        a.await.unwrap();
        b.await.unwrap();
        let mut tx = store.read(t.id).await.unwrap();
        assert_eq!(tx.sku_usage().await.unwrap()[&sku], 2 * ROUNDS);
        tx.commit().await.unwrap();
    })
    .await;
}

/// Issue 7 item 5: a read transaction is one snapshot. A write that commits while the read is
/// open is not seen by the read's later statements (PostgreSQL: REPEATABLE READ; SQLite: the
/// deferred transaction's snapshot from its first read), and a fresh read sees it.
#[tokio::test]
async fn a_read_sees_one_snapshot_while_a_write_commits() {
    for_each_backend(|url| async move {
        let store = Store::open(&url).await.unwrap();
        let contoso = tenant("Contoso");
        store.create_tenant(&contoso).await.unwrap();
        let t = contoso.id;
        let mut w = store.write(t).await.unwrap();
        w.insert_user(&user("alice@contoso.test")).await.unwrap();
        w.commit().await.unwrap();

        let mut r = store.read(t).await.unwrap();
        assert_eq!(r.count_users(false).await.unwrap(), 1);
        let mut w = store.write(t).await.unwrap();
        w.insert_user(&user("bob@contoso.test")).await.unwrap();
        w.set_sku_usage(SkuId::new(), 1).await.unwrap();
        w.commit().await.unwrap();
        assert_eq!(r.count_users(false).await.unwrap(), 1, "the snapshot holds");
        assert!(r.sku_usage().await.unwrap().is_empty(), "across tables too");
        r.commit().await.unwrap();

        let mut r = store.read(t).await.unwrap();
        assert_eq!(r.count_users(false).await.unwrap(), 2);
        // Read only: a read transaction cannot write (PostgreSQL refuses; SQLite has no such
        // mode, which is why writes go through `Store::write`).
        if store.backend() == skuld_store::Backend::Postgres {
            assert!(r.insert_user(&user("carol@contoso.test")).await.is_err());
        }
        r.rollback().await.unwrap();
        store.close().await;
    })
    .await;
}
