//! Derived state and the audit log: path states, seat counters, audit order.

use crate::directory::state;
use crate::harness::{for_each_backend, tenant};
use crate::WriteFixture;
use skuld_domain::licensing::{Derived, LicenseError, PathState, PathStatus, Source};
use skuld_domain::{GroupId, PlanId, SkuId, Timestamp, UserId};
use skuld_store::{AuditRow, Store, StoredPathState};
use std::collections::HashMap;

fn sorted(mut v: Vec<PathState>) -> Vec<PathState> {
    v.sort_by_key(|s| (s.sku, s.source));
    v
}

#[tokio::test]
async fn path_states_round_trip_every_field_and_replace_clears_old_rows() {
    for_each_backend(|url| async move {
        let store = Store::open(&url).await.unwrap();
        let t = tenant("Contoso");
        store.create_tenant(&t).await.unwrap();
        let (alice, bob) = (UserId::new(), UserId::new());
        let (e3, ems) = (SkuId::new(), SkuId::new());
        let (g1, g2) = (GroupId::new(), GroupId::new());
        let mut plans = vec![PlanId::new(), PlanId::new(), PlanId::new()];
        plans.sort();
        let alice_states = vec![
            PathState {
                disabled_plans: plans.clone(),
                since: Timestamp(1_700_000_000_001),
                updated_at: Timestamp(1_700_000_000_002),
                ..state(e3, Source::Direct)
            },
            PathState {
                status: PathStatus::ActiveWithError,
                error: LicenseError::DependencyViolation,
                applied: true,
                priority: -3,
                detail: "the service \"Audio Conferencing\" requires Skype for Business, ünïcode"
                    .into(),
                ..state(e3, Source::Group(g1))
            },
            PathState {
                status: PathStatus::Error,
                error: LicenseError::CountViolation,
                applied: false,
                priority: 9,
                detail: format!("subscription with SKU {ems} does not have any available licenses"),
                ..state(ems, Source::Group(g2))
            },
        ];
        let bob_states = vec![PathState {
            status: PathStatus::Disabled,
            error: LicenseError::None,
            applied: false,
            ..state(e3, Source::Group(g2))
        }];
        let rows: Vec<StoredPathState> = alice_states
            .iter()
            .map(|s| (alice, s.clone()))
            .chain(bob_states.iter().map(|s| (bob, s.clone())))
            .collect();
        let mut tx = store.write(t.id).await.unwrap();
        tx.replace_path_states(&[], &rows).await.unwrap();
        tx.commit().await.unwrap();

        let mut tx = store.read(t.id).await.unwrap();
        let mut all = tx.path_states(None).await.unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(
            sorted(all.remove(&alice).unwrap()),
            sorted(alice_states.clone())
        );
        assert_eq!(all.remove(&bob).unwrap(), bob_states);
        let only_bob = tx.path_states(Some(&[bob])).await.unwrap();
        assert_eq!(only_bob.keys().collect::<Vec<_>>(), vec![&bob]);
        assert_eq!(tx.holders_of(e3).await.unwrap(), vec![alice]);
        assert!(tx.holders_of(ems).await.unwrap().is_empty());
        assert_eq!(tx.users_with_errors_from(g1).await.unwrap(), vec![alice]);
        assert_eq!(tx.users_with_errors_from(g2).await.unwrap(), vec![alice]);
        let counts = tx.group_license_counts().await.unwrap();
        assert_eq!(counts.get(&g1), Some(&(1, 1)));
        assert_eq!(counts.get(&g2), Some(&(0, 1)));
        tx.commit().await.unwrap();

        // Replacing alice's states deletes all her old rows and leaves bob's alone.
        let healed = PathState {
            status: PathStatus::Active,
            error: LicenseError::None,
            applied: true,
            detail: String::new(),
            ..alice_states[2].clone()
        };
        let mut tx = store.write(t.id).await.unwrap();
        tx.replace_path_states(&[alice], &[(alice, healed.clone())])
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let mut tx = store.read(t.id).await.unwrap();
        let all = tx.path_states(None).await.unwrap();
        assert_eq!(all[&alice], vec![healed]);
        assert_eq!(all[&bob], bob_states);
        assert!(tx.users_with_errors_from(g1).await.unwrap().is_empty());
        // g1's last path is gone, so is its counter row; alice now holds ems through g2.
        let counts = tx.group_license_counts().await.unwrap();
        assert_eq!(counts, HashMap::from([(g2, (1, 0))]));
        assert_eq!(tx.group_license_counts_scanned().await.unwrap(), counts);
        tx.commit().await.unwrap();

        // Clearing a user without new rows leaves none.
        let mut tx = store.write(t.id).await.unwrap();
        tx.replace_path_states(&[alice, bob], &[]).await.unwrap();
        tx.commit().await.unwrap();
        let mut tx = store.read(t.id).await.unwrap();
        assert!(tx.path_states(None).await.unwrap().is_empty());
        assert!(tx.group_license_counts().await.unwrap().is_empty());
        assert!(tx.group_license_counts_scanned().await.unwrap().is_empty());
        tx.commit().await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn group_counters_add_deltas_and_drop_rows_at_zero() {
    for_each_backend(|url| async move {
        let store = Store::open(&url).await.unwrap();
        let t = tenant("Contoso");
        let other = tenant("Fabrikam");
        store.create_tenant(&t).await.unwrap();
        store.create_tenant(&other).await.unwrap();
        let (g1, g2) = (GroupId::new(), GroupId::new());
        let moves = |v: Vec<(GroupId, i64, i64)>| {
            Derived::fixture(vec![], vec![], vec![]).with_group_counts(v)
        };
        let mut tx = store.write(t.id).await.unwrap();
        tx.write_derived(&moves(vec![(g1, 3, 1), (g2, 0, 2)]))
            .await
            .unwrap();
        tx.write_derived(&moves(vec![(g1, 2, -1)])).await.unwrap();
        tx.commit().await.unwrap();
        let mut tx = store.write(other.id).await.unwrap();
        tx.write_derived(&moves(vec![(g1, 9, 9)])).await.unwrap();
        tx.commit().await.unwrap();

        let mut tx = store.write(t.id).await.unwrap();
        assert_eq!(
            tx.group_license_counts().await.unwrap(),
            HashMap::from([(g1, (5, 0)), (g2, (0, 2))])
        );
        // Down to zero: the row goes, and only this tenant's.
        tx.write_derived(&moves(vec![(g2, 0, -2)])).await.unwrap();
        assert_eq!(
            tx.group_license_counts().await.unwrap(),
            HashMap::from([(g1, (5, 0))])
        );
        tx.commit().await.unwrap();
        // The row is deleted, not only skipped when read: left are g1's of both tenants.
        let pool = raw(&url).await;
        let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM group_license_counts")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(rows, 2);
        pool.close().await;
        let mut tx = store.read(other.id).await.unwrap();
        assert_eq!(
            tx.group_license_counts().await.unwrap(),
            HashMap::from([(g1, (9, 9))])
        );
        tx.commit().await.unwrap();
    })
    .await;
}

/// A raw connection pool to the test database, for what the store does not offer (schema
/// surgery to replay a migration).
pub async fn raw(url: &str) -> sqlx::AnyPool {
    sqlx::any::install_default_drivers();
    let url = if url.contains("://") {
        url.to_string()
    } else {
        format!("sqlite://{url}")
    };
    sqlx::AnyPool::connect(&url).await.unwrap()
}

#[tokio::test]
async fn migration_0009_backfills_group_counters_from_path_states() {
    for_each_backend(|url| async move {
        let store = Store::open(&url).await.unwrap();
        let t = tenant("Contoso");
        store.create_tenant(&t).await.unwrap();
        let (alice, bob, carol) = (UserId::new(), UserId::new(), UserId::new());
        let (e3, ems) = (SkuId::new(), SkuId::new());
        let (g1, g2, g3) = (GroupId::new(), GroupId::new(), GroupId::new());
        let short = |sku, g| PathState {
            status: PathStatus::Error,
            error: LicenseError::CountViolation,
            applied: false,
            ..state(sku, Source::Group(g))
        };
        let disabled = |sku, g| PathState {
            status: PathStatus::Disabled,
            applied: false,
            ..state(sku, Source::Group(g))
        };
        let rows: Vec<StoredPathState> = vec![
            // alice: two products from g1 (counted once), one in error from g2, one direct.
            (alice, state(e3, Source::Group(g1))),
            (alice, state(ems, Source::Group(g1))),
            (alice, short(ems, g2)),
            (alice, state(ems, Source::Direct)),
            (bob, state(e3, Source::Group(g1))),
            (bob, short(e3, g2)),
            // carol: soft-deleted, Disabled: counts for nobody (g3 has no row).
            (carol, disabled(e3, g3)),
        ];
        let mut tx = store.write(t.id).await.unwrap();
        // Written without counter deltas: as the states of a database from before 0009.
        tx.write_derived(&Derived::fixture(vec![], rows, vec![]))
            .await
            .unwrap();
        assert!(tx.group_license_counts().await.unwrap().is_empty());
        tx.commit().await.unwrap();
        store.close().await;

        // Undo 0009 by hand and open again: the migration runs and counts the states.
        let pool = raw(&url).await;
        sqlx::query("DROP TABLE group_license_counts")
            .execute(&pool)
            .await
            .unwrap();
        sqlx::query("DELETE FROM _sqlx_migrations WHERE version = 9")
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
        let store = Store::open(&url).await.unwrap();
        let mut tx = store.read(t.id).await.unwrap();
        let want = HashMap::from([(g1, (2, 0)), (g2, (0, 2))]);
        assert_eq!(tx.group_license_counts().await.unwrap(), want);
        assert_eq!(tx.group_license_counts_scanned().await.unwrap(), want);
        tx.commit().await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn path_states_are_written_in_batches_beyond_one_statement() {
    for_each_backend(|url| async move {
        let store = Store::open(&url).await.unwrap();
        let t = tenant("Contoso");
        store.create_tenant(&t).await.unwrap();
        let sku = SkuId::new();
        // More than one multi-row insert (1,000 rows each) and more than one IN chunk (500).
        let rows: Vec<StoredPathState> = (0..2_345)
            .map(|_| (UserId::new(), state(sku, Source::Direct)))
            .collect();
        let ids: Vec<UserId> = rows.iter().map(|r| r.0).collect();
        let mut tx = store.write(t.id).await.unwrap();
        tx.replace_path_states(&[], &rows).await.unwrap();
        assert_eq!(tx.path_states(Some(&ids)).await.unwrap().len(), rows.len());
        assert_eq!(tx.holders_of(sku).await.unwrap().len(), rows.len());
        tx.replace_path_states(&ids, &[]).await.unwrap();
        assert!(tx.path_states(None).await.unwrap().is_empty());
        tx.commit().await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn waiting_for_orders_by_priority_then_earliest_path_then_user_id() {
    for_each_backend(|url| async move {
        let store = Store::open(&url).await.unwrap();
        let t = tenant("Contoso");
        store.create_tenant(&t).await.unwrap();
        let (e3, other) = (SkuId::new(), SkuId::new());
        let g = GroupId::new();
        let waiting = |sku, priority, since: i64| PathState {
            status: PathStatus::Error,
            error: LicenseError::CountViolation,
            applied: false,
            priority,
            since: Timestamp(since),
            ..state(sku, Source::Group(GroupId::new()))
        };
        let mut ties = [UserId::new(), UserId::new()];
        ties.sort_by_key(|u| u.to_string());
        let [low_prio_tie_a, low_prio_tie_b] = ties;
        let (high_early, high_late_two_paths, low_earliest) =
            (UserId::new(), UserId::new(), UserId::new());
        let (holder, other_product) = (UserId::new(), UserId::new());
        let rows: Vec<StoredPathState> = vec![
            (low_prio_tie_b, waiting(e3, 0, 100)),
            (high_late_two_paths, waiting(e3, 0, 50)),
            (high_late_two_paths, waiting(e3, 5, 400)),
            (low_earliest, waiting(e3, 0, 60)),
            (high_early, waiting(e3, 5, 300)),
            (low_prio_tie_a, waiting(e3, 0, 100)),
            // Not waiting: holds a seat, or waits for another product.
            (holder, state(e3, Source::Group(g))),
            (other_product, waiting(other, 100, 1)),
        ];
        let mut tx = store.write(t.id).await.unwrap();
        tx.replace_path_states(&[], &rows).await.unwrap();
        tx.commit().await.unwrap();

        let mut tx = store.read(t.id).await.unwrap();
        // D4, path by path as the engine orders claims: priority, then the time that path came
        // to exist, then the id; a user appears once, at its best path. The two-path user's
        // priority-5 path is younger (400) than high_early's (300); its old priority-0 path does
        // not lend it seniority.
        assert_eq!(
            tx.waiting_for(e3, 100).await.unwrap(),
            vec![
                high_early,
                high_late_two_paths,
                low_earliest,
                low_prio_tie_a,
                low_prio_tie_b
            ],
            "expected: prio 5 since 300, then prio 5 since 400, then priority 0 by age"
        );
        assert_eq!(
            tx.waiting_for(e3, 2).await.unwrap(),
            vec![high_early, high_late_two_paths]
        );
        assert_eq!(
            tx.waiting_for(other, 10).await.unwrap(),
            vec![other_product]
        );
        assert!(tx.waiting_for(SkuId::new(), 10).await.unwrap().is_empty());
        tx.commit().await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn sku_usage_is_an_upsert() {
    for_each_backend(|url| async move {
        let store = Store::open(&url).await.unwrap();
        let t = tenant("Contoso");
        store.create_tenant(&t).await.unwrap();
        let (e3, ems) = (SkuId::new(), SkuId::new());
        let mut tx = store.write(t.id).await.unwrap();
        tx.set_sku_usage(e3, 3).await.unwrap();
        tx.set_sku_usage(ems, 5).await.unwrap();
        tx.set_sku_usage(e3, 7).await.unwrap();
        tx.commit().await.unwrap();
        let mut tx = store.write(t.id).await.unwrap();
        tx.set_sku_usage(ems, 0).await.unwrap();
        tx.commit().await.unwrap();
        let mut tx = store.read(t.id).await.unwrap();
        assert_eq!(
            tx.sku_usage().await.unwrap(),
            HashMap::from([(e3, 7), (ems, 0)])
        );
        tx.commit().await.unwrap();
    })
    .await;
}

pub fn audit_row(activity: &str) -> AuditRow {
    AuditRow {
        id: uuid::Uuid::new_v4().to_string(),
        seq: 0,
        at: Timestamp(1_700_000_000_000),
        category: "UserManagement".into(),
        activity: activity.into(),
        result: "success".into(),
        result_reason: String::new(),
        actor: "skuld operator".into(),
        target_type: "User".into(),
        target_id: UserId::new().to_string(),
        target_name: "alice@contoso.test".into(),
        modified: r#"[{"displayName":"Department","oldValue":"","newValue":"Finance \"Ops\""}]"#
            .into(),
        actor_kind: "user".into(),
        actor_id: UserId::new().to_string(),
    }
}

#[tokio::test]
async fn audit_rows_get_increasing_seq_and_list_newest_first() {
    for_each_backend(|url| async move {
        let store = Store::open(&url).await.unwrap();
        let t = tenant("Contoso");
        store.create_tenant(&t).await.unwrap();
        let first = vec![audit_row("Add user"), audit_row("Update user")];
        let mut failed = audit_row("Change user license");
        failed.result = "failure".into();
        failed.result_reason = "CountViolation: no seats".into();
        let second = vec![failed, audit_row("Delete user"), audit_row("Restore user")];
        let mut tx = store.write(t.id).await.unwrap();
        tx.insert_audit(&first).await.unwrap();
        tx.insert_audit(&[]).await.unwrap();
        tx.commit().await.unwrap();
        let mut tx = store.write(t.id).await.unwrap();
        tx.insert_audit(&second).await.unwrap();
        tx.commit().await.unwrap();

        let mut tx = store.read(t.id).await.unwrap();
        let listed = tx.audit(10).await.unwrap();
        let mut expected: Vec<AuditRow> = first
            .iter()
            .chain(&second)
            .enumerate()
            .map(|(i, r)| AuditRow {
                seq: i as i64 + 1,
                ..r.clone()
            })
            .collect();
        expected.reverse();
        assert_eq!(listed, expected);
        let newest: Vec<i64> = tx.audit(2).await.unwrap().iter().map(|r| r.seq).collect();
        assert_eq!(newest, vec![5, 4]);
        tx.commit().await.unwrap();

        // A large batch keeps counting across its chunks.
        let many: Vec<AuditRow> = (0..1_200)
            .map(|_| audit_row("Change user license"))
            .collect();
        let mut tx = store.write(t.id).await.unwrap();
        tx.insert_audit(&many).await.unwrap();
        let seqs: Vec<i64> = tx
            .audit(1_300)
            .await
            .unwrap()
            .iter()
            .map(|r| r.seq)
            .collect();
        assert_eq!(seqs, (1..=1_205).rev().collect::<Vec<i64>>());
        tx.commit().await.unwrap();
    })
    .await;
}
