//! Tenant isolation: a [`TenantTx`] of tenant B neither sees nor changes tenant A's rows, for
//! every query the store has.

use crate::derived::audit_row;
use crate::directory::{group, member, state};
use crate::harness::{for_each_backend, tenant, user};
use crate::WriteFixture;
use skuld_domain::catalog::{AppliesTo, Plan, Product};
use skuld_domain::licensing::{LicenseError, PathState, PathStatus, Source};
use skuld_domain::{
    DirectoryRole, GroupId, PlanId, SkuId, Subscription, SubscriptionId, SubscriptionStatus,
    TenantId, Timestamp, User,
};
use skuld_store::{GroupAssignmentRow, MemberKind, MembershipRow, Store, TenantTx};

/// The ids of tenant A's objects that the queries are asked about.
struct Ids {
    alice: User,
    dora: User,
    staff: GroupId,
    child: GroupId,
    sku: SkuId,
    waiting_sku: SkuId,
    sub: SubscriptionId,
}

/// Rows every query answers about `ids`, by query name.
async fn counts(tx: &mut TenantTx, ids: &Ids) -> Vec<(&'static str, usize)> {
    let users = [ids.alice.id, ids.dora.id];
    let raw = [ids.alice.id.0, ids.dora.id.0];
    let (plans, products) = tx.custom_catalog().await.unwrap();
    vec![
        ("user", tx.user(ids.alice.id).await.unwrap().iter().count()),
        (
            "user_by_upn",
            tx.user_by_upn(&ids.alice.upn).await.unwrap().iter().count(),
        ),
        (
            "deleted_users_by_upn",
            tx.deleted_users_by_upn(&ids.dora.upn).await.unwrap().len(),
        ),
        ("users live", tx.users(false, 100, 0).await.unwrap().len()),
        ("users deleted", tx.users(true, 100, 0).await.unwrap().len()),
        ("all_users", tx.all_users().await.unwrap().len()),
        ("users_by_ids", tx.users_by_ids(&users).await.unwrap().len()),
        (
            "count_users live",
            tx.count_users(false).await.unwrap() as usize,
        ),
        (
            "count_users deleted",
            tx.count_users(true).await.unwrap() as usize,
        ),
        ("group", tx.group(ids.staff).await.unwrap().iter().count()),
        (
            "groups_named",
            tx.groups_named("staff").await.unwrap().len(),
        ),
        ("groups", tx.groups().await.unwrap().len()),
        ("members_of", tx.members_of(ids.staff).await.unwrap().len()),
        (
            "memberships_of",
            tx.memberships_of(&raw).await.unwrap().len(),
        ),
        ("group_edges", tx.group_edges().await.unwrap().len()),
        ("all_memberships", tx.all_memberships().await.unwrap().len()),
        (
            "direct_assignments all",
            tx.direct_assignments(None).await.unwrap().len(),
        ),
        (
            "direct_assignments some",
            tx.direct_assignments(Some(&users)).await.unwrap().len(),
        ),
        (
            "group_assignments",
            tx.group_assignments().await.unwrap().len(),
        ),
        ("subscriptions", tx.subscriptions().await.unwrap().len()),
        (
            "subscription",
            tx.subscription(ids.sub).await.unwrap().iter().count(),
        ),
        ("custom plans", plans.len()),
        ("custom products", products.len()),
        ("roles_of", tx.roles_of(ids.alice.id).await.unwrap().len()),
        (
            "role_assignments",
            tx.role_assignments().await.unwrap().len(),
        ),
        ("path_states all", tx.path_states(None).await.unwrap().len()),
        (
            "path_states some",
            tx.path_states(Some(&users)).await.unwrap().len(),
        ),
        (
            "waiting_for",
            tx.waiting_for(ids.waiting_sku, 10).await.unwrap().len(),
        ),
        ("holders_of", tx.holders_of(ids.sku).await.unwrap().len()),
        (
            "users_with_errors_from",
            tx.users_with_errors_from(ids.staff).await.unwrap().len(),
        ),
        (
            "group_license_counts",
            tx.group_license_counts().await.unwrap().len(),
        ),
        ("sku_usage", tx.sku_usage().await.unwrap().len()),
        ("audit", tx.audit(100).await.unwrap().len()),
    ]
}

/// Everything the store holds for a tenant, in a stable rendering.
async fn snapshot(store: &Store, tenant: TenantId) -> String {
    let mut tx = store.read(tenant).await.unwrap();
    let mut states: Vec<_> = tx.path_states(None).await.unwrap().into_iter().collect();
    states.sort_by_key(|(u, _)| *u);
    let mut usage: Vec<_> = tx.sku_usage().await.unwrap().into_iter().collect();
    usage.sort();
    let mut counts_by_group: Vec<_> = tx
        .group_license_counts()
        .await
        .unwrap()
        .into_iter()
        .collect();
    counts_by_group.sort();
    let mut memberships = tx.all_memberships().await.unwrap();
    memberships.sort_by_key(|m| (m.group_id, m.member_id));
    let mut users = tx.all_users().await.unwrap();
    users.sort_by_key(|u| u.id);
    let s = format!(
        "{users:?}\n{:?}\n{memberships:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{states:?}\n{usage:?}\n{counts_by_group:?}\n{:?}",
        tx.groups().await.unwrap(),
        tx.direct_assignments(None).await.unwrap(),
        tx.group_assignments().await.unwrap(),
        tx.subscriptions().await.unwrap(),
        tx.custom_catalog().await.unwrap(),
        tx.role_assignments().await.unwrap(),
        tx.audit(100).await.unwrap(),
    );
    tx.commit().await.unwrap();
    s
}

async fn populate(store: &Store, t: TenantId) -> Ids {
    let alice = user("alice@contoso.test");
    let mut dora = user("dora@contoso.test");
    dora.deleted_at = Some(Timestamp(5));
    let staff = group("Staff");
    let child = group("Child");
    let sku = SkuId::new();
    let waiting_sku = SkuId::new();
    let plan = Plan {
        id: PlanId::new(),
        name: "CUSTOM_PLAN".into(),
        friendly_name: "Custom plan".into(),
    };
    let sub = Subscription {
        id: SubscriptionId::new(),
        sku_id: sku,
        units: 5,
        status: SubscriptionStatus::Enabled,
        is_trial: false,
        self_service_owner: Some(alice.id),
        created_at: Timestamp(1),
        next_lifecycle_at: Some(Timestamp(2)),
    };
    let mut tx = store.write(t).await.unwrap();
    tx.insert_users(&[alice.clone(), dora.clone()])
        .await
        .unwrap();
    tx.insert_group(&staff).await.unwrap();
    tx.insert_group(&child).await.unwrap();
    tx.add_membership(&member(staff.id, alice.id))
        .await
        .unwrap();
    tx.add_membership(&member(staff.id, dora.id)).await.unwrap();
    tx.add_membership(&MembershipRow {
        group_id: staff.id,
        member_id: child.id.0,
        kind: MemberKind::Group,
        dynamic: false,
        created_at: Timestamp(1),
    })
    .await
    .unwrap();
    tx.upsert_direct(alice.id, sku, &[], Timestamp(1))
        .await
        .unwrap();
    tx.upsert_direct(dora.id, sku, &[], Timestamp(1))
        .await
        .unwrap();
    tx.upsert_group_assignment(&GroupAssignmentRow {
        group_id: staff.id,
        sku_id: waiting_sku,
        disabled_plans: vec![],
        created_at: Timestamp(1),
    })
    .await
    .unwrap();
    tx.upsert_subscription(&sub).await.unwrap();
    tx.upsert_custom_plan(&plan).await.unwrap();
    tx.upsert_custom_product(&Product {
        sku_id: SkuId::new(),
        part_number: "CUSTOM".into(),
        display_name: "Custom".into(),
        applies_to: AppliesTo::User,
        plans: vec![plan.id],
        custom: true,
    })
    .await
    .unwrap();
    tx.add_role(alice.id, DirectoryRole::LicenseAdministrator, Timestamp(1))
        .await
        .unwrap();
    let waiting = PathState {
        status: PathStatus::Error,
        error: LicenseError::CountViolation,
        applied: false,
        ..state(waiting_sku, Source::Group(staff.id))
    };
    tx.replace_path_states(
        &[],
        &[
            (alice.id, state(sku, Source::Direct)),
            (alice.id, waiting),
            (dora.id, state(sku, Source::Direct)),
        ],
    )
    .await
    .unwrap();
    tx.set_sku_usage(sku, 2).await.unwrap();
    tx.insert_audit(&[audit_row("Add user")]).await.unwrap();
    tx.commit().await.unwrap();
    Ids {
        alice,
        dora,
        staff: staff.id,
        child: child.id,
        sku,
        waiting_sku,
        sub: sub.id,
    }
}

#[tokio::test]
async fn rows_of_one_tenant_are_invisible_and_untouchable_through_another() {
    for_each_backend(|url| async move {
        let store = Store::open(&url).await.unwrap();
        let (a, b) = (tenant("Contoso"), tenant("Fabrikam"));
        store.create_tenant(&a).await.unwrap();
        store.create_tenant(&b).await.unwrap();
        let ids = populate(&store, a.id).await;

        // A sees its rows through every query (so the check below can fail)…
        let mut tx = store.read(a.id).await.unwrap();
        for (query, n) in counts(&mut tx, &ids).await {
            assert!(n > 0, "tenant A: {query} found nothing");
        }
        tx.commit().await.unwrap();
        // …and B sees none of them, through a read and through a write transaction.
        let mut tx = store.read(b.id).await.unwrap();
        for (query, n) in counts(&mut tx, &ids).await {
            assert_eq!(n, 0, "tenant B sees {n} rows of tenant A through {query}");
        }
        tx.commit().await.unwrap();
        let before = snapshot(&store, a.id).await;

        // B's writes aimed at A's ids change nothing of A.
        let mut tx = store.write(b.id).await.unwrap();
        for (query, n) in counts(&mut tx, &ids).await {
            assert_eq!(
                n, 0,
                "tenant B (write tx) sees {n} rows of A through {query}"
            );
        }
        let mut renamed = ids.alice.clone();
        renamed.display_name = "Hijacked".into();
        tx.update_user(&renamed).await.unwrap();
        let mut g = group("Staff");
        g.id = ids.staff;
        g.display_name = "Hijacked".into();
        tx.update_group(&g).await.unwrap();
        assert!(!tx
            .remove_membership(ids.staff, ids.alice.id.0)
            .await
            .unwrap());
        assert!(!tx.delete_direct(ids.alice.id, ids.sku).await.unwrap());
        assert!(!tx
            .delete_group_assignment(ids.staff, ids.waiting_sku)
            .await
            .unwrap());
        assert!(!tx
            .remove_role(ids.alice.id, DirectoryRole::LicenseAdministrator)
            .await
            .unwrap());
        tx.replace_path_states(&[ids.alice.id, ids.dora.id], &[])
            .await
            .unwrap();
        tx.hard_delete_user(ids.alice.id).await.unwrap();
        tx.hard_delete_user(ids.dora.id).await.unwrap();
        tx.delete_group(ids.staff).await.unwrap();
        tx.delete_group(ids.child).await.unwrap();
        // Same ids and UPNs are free in B: keys are per tenant.
        tx.insert_user(&ids.alice).await.unwrap();
        tx.insert_group(&g).await.unwrap();
        tx.add_membership(&member(ids.staff, ids.alice.id))
            .await
            .unwrap();
        tx.upsert_direct(ids.alice.id, ids.sku, &[], Timestamp(9))
            .await
            .unwrap();
        tx.set_sku_usage(ids.sku, 99).await.unwrap();
        tx.insert_audit(&[audit_row("Add user")]).await.unwrap();
        tx.commit().await.unwrap();

        assert_eq!(snapshot(&store, a.id).await, before);
        // B's own audit log starts at 1, independent of A's.
        let mut tx = store.read(b.id).await.unwrap();
        assert_eq!(tx.audit(10).await.unwrap()[0].seq, 1);
        assert_eq!(tx.sku_usage().await.unwrap()[&ids.sku], 99);
        assert_eq!(
            tx.user(ids.alice.id).await.unwrap(),
            Some(ids.alice.clone())
        );
        tx.commit().await.unwrap();
    })
    .await;
}
