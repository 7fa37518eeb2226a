//! Opening a database: migrations create the schema once, reopening changes nothing.

use crate::harness::{for_each_backend, tenant};
use skuld_store::{Store, StoreError};

#[tokio::test]
async fn open_creates_the_schema_and_reopening_is_idempotent() {
    for_each_backend(|url| async move {
        let store = Store::open(&url).await.expect("first open");
        // Every table exists: a tenant-scoped read of each kind succeeds on the empty schema.
        let t = tenant("Contoso");
        store.create_tenant(&t).await.unwrap();
        let mut tx = store.read(t.id).await.unwrap();
        assert_eq!(tx.count_users(false).await.unwrap(), 0);
        assert!(tx.groups().await.unwrap().is_empty());
        assert!(tx.all_memberships().await.unwrap().is_empty());
        assert!(tx.direct_assignments(None).await.unwrap().is_empty());
        assert!(tx.group_assignments().await.unwrap().is_empty());
        assert!(tx.subscriptions().await.unwrap().is_empty());
        assert!(tx.role_assignments().await.unwrap().is_empty());
        assert!(tx.path_states(None).await.unwrap().is_empty());
        assert!(tx.sku_usage().await.unwrap().is_empty());
        assert!(tx.audit(10).await.unwrap().is_empty());
        let (plans, products) = tx.custom_catalog().await.unwrap();
        assert!(plans.is_empty() && products.is_empty());
        tx.commit().await.unwrap();
        store.close().await;

        // Reopening applies no migration twice and keeps the data.
        let again = Store::open(&url).await.expect("second open");
        let third = Store::open(&url)
            .await
            .expect("third open, while the second is open");
        assert_eq!(again.find_tenant(&t.name).await.unwrap(), Some(t.clone()));
        assert_eq!(third.tenants().await.unwrap(), vec![t]);
        again.close().await;
        third.close().await;
    })
    .await;
}

#[tokio::test]
async fn open_refuses_an_unsupported_url() {
    let err = Store::open("mysql://localhost/skuld").await.err();
    assert!(
        matches!(err, Some(StoreError::Url(ref u)) if u == "mysql://localhost/skuld"),
        "{err:?}"
    );
}
