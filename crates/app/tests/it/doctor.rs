//! `doctor`: incrementally maintained state equals recomputation from intent after any sequence of
//! operations, and a corrupted counter or state is reported.

use crate::fixtures::{env, sku, spec, Env, OP};
use crate::harness::for_each_backend;
use proptest::prelude::*;
use skuld_app::{AppError, GroupPatch, NewGroup, UserPatch};
use skuld_domain::licensing::Derived;
use skuld_domain::{SubscriptionId, SubscriptionStatus};

const PRODUCTS: [&str; 3] = ["ENTERPRISEPACK", "EMS", "STANDARDPACK"];
const USERS: [&str; 4] = ["ann", "ben", "cid", "dot"];
const GROUPS: [&str; 3] = ["Alpha", "Beta", "Gamma"];
const DYNAMIC: &str = "Finance";

#[derive(Debug, Clone)]
enum Op {
    AddMember(usize, usize),
    RemoveMember(usize, usize),
    /// parent, child (refused when it would make a cycle)
    Nest(usize, usize),
    Unnest(usize, usize),
    Direct(usize, usize),
    Undirect(usize, usize),
    /// group (index 3 is the dynamic group), product
    License(usize, usize),
    Unlicense(usize, usize),
    Seats(usize, i64, bool),
    Delete(usize),
    Restore(usize),
    Location(usize, Option<&'static str>),
    Department(usize, bool),
    Priority(usize, i32),
    DeleteGroup(usize),
    Status(usize, SubscriptionStatus),
}

fn op() -> impl Strategy<Value = Op> {
    let u = 0..USERS.len();
    let g = 0..GROUPS.len();
    let lg = 0..GROUPS.len() + 1;
    let p = 0..PRODUCTS.len();
    prop_oneof![
        4 => (g.clone(), u.clone()).prop_map(|(g, u)| Op::AddMember(g, u)),
        2 => (g.clone(), u.clone()).prop_map(|(g, u)| Op::RemoveMember(g, u)),
        1 => (g.clone(), g.clone()).prop_map(|(a, b)| Op::Nest(a, b)),
        1 => (g.clone(), g.clone()).prop_map(|(a, b)| Op::Unnest(a, b)),
        3 => (u.clone(), p.clone()).prop_map(|(u, p)| Op::Direct(u, p)),
        2 => (u.clone(), p.clone()).prop_map(|(u, p)| Op::Undirect(u, p)),
        3 => (lg.clone(), p.clone()).prop_map(|(g, p)| Op::License(g, p)),
        1 => (lg, p.clone()).prop_map(|(g, p)| Op::Unlicense(g, p)),
        2 => (p.clone(), 0i64..4, any::<bool>()).prop_map(|(p, n, a)| Op::Seats(p, n, a)),
        1 => u.clone().prop_map(Op::Delete),
        1 => u.clone().prop_map(Op::Restore),
        1 => (u.clone(), prop_oneof![Just(None), Just(Some("US")), Just(Some("FR"))])
            .prop_map(|(u, l)| Op::Location(u, l)),
        1 => (u, any::<bool>()).prop_map(|(u, f)| Op::Department(u, f)),
        1 => (g.clone(), -2i32..3).prop_map(|(g, p)| Op::Priority(g, p)),
        1 => g.prop_map(Op::DeleteGroup),
        1 => (
            p,
            prop_oneof![
                Just(SubscriptionStatus::Enabled),
                Just(SubscriptionStatus::Warning),
                Just(SubscriptionStatus::Suspended),
                Just(SubscriptionStatus::LockedOut),
            ]
        )
            .prop_map(|(p, s)| Op::Status(p, s)),
    ]
}

fn group_name(i: usize) -> &'static str {
    GROUPS.get(i).copied().unwrap_or(DYNAMIC)
}

/// Runs one operation. Refusals are part of the game; anything else is a defect.
async fn apply(e: &Env, subs: &[SubscriptionId], op: &Op) {
    let (app, t) = (&e.app, &e.t);
    let r: Result<(), AppError> = match *op {
        Op::AddMember(g, u) => e.add(GROUPS[g], USERS[u]).await,
        Op::RemoveMember(g, u) => e.remove(GROUPS[g], USERS[u]).await,
        Op::Nest(a, b) => e.add(GROUPS[a], GROUPS[b]).await,
        Op::Unnest(a, b) => e.remove(GROUPS[a], GROUPS[b]).await,
        Op::Direct(u, p) => e.direct(USERS[u], PRODUCTS[p]).await.map(drop),
        Op::Undirect(u, p) => e.undirect(USERS[u], PRODUCTS[p]).await.map(drop),
        Op::License(g, p) => app
            .group_assign_license(t, group_name(g), &[spec(PRODUCTS[p])], &[], &OP)
            .await
            .map(drop),
        Op::Unlicense(g, p) => app
            .group_assign_license(t, group_name(g), &[], &[sku(PRODUCTS[p])], &OP)
            .await
            .map(drop),
        Op::Seats(p, n, allow) => app.set_seats(t, subs[p], n, allow, &OP).await.map(drop),
        Op::Delete(u) => app.delete_user(t, &e.upn(USERS[u]), &OP).await.map(drop),
        Op::Restore(u) => app.restore_user(t, &e.upn(USERS[u]), &OP).await.map(drop),
        Op::Location(u, l) => {
            let patch = UserPatch {
                usage_location: Some(l.map(str::to_string)),
                ..UserPatch::default()
            };
            app.update_user(t, &e.upn(USERS[u]), patch, &OP)
                .await
                .map(drop)
        }
        Op::Department(u, finance) => {
            let patch = UserPatch {
                department: Some(Some(if finance { "Finance" } else { "Sales" }.into())),
                ..UserPatch::default()
            };
            app.update_user(t, &e.upn(USERS[u]), patch, &OP)
                .await
                .map(drop)
        }
        Op::Priority(g, p) => {
            let patch = GroupPatch {
                license_priority: Some(p),
                ..GroupPatch::default()
            };
            app.update_group(t, GROUPS[g], patch, &OP).await.map(drop)
        }
        Op::DeleteGroup(g) => app.delete_group(t, GROUPS[g], &OP).await.map(drop),
        Op::Status(p, s) => app
            .set_subscription_status(t, subs[p], s, None, &OP)
            .await
            .map(drop),
    };
    match r {
        Ok(())
        | Err(AppError::BadRequest(_))
        | Err(AppError::NotFound(_))
        | Err(AppError::Refused(_)) => {}
        Err(other) => panic!("{op:?} failed: {other:?}"),
    }
}

async fn run_sequence(ops: Vec<Op>) {
    let dir = tempfile::tempdir().unwrap();
    let e = env(dir.path().join("skuld.db").to_str().unwrap()).await;
    let mut subs = Vec::new();
    for (i, p) in PRODUCTS.iter().enumerate() {
        subs.push(e.subscribe(p, i as i64 + 1).await.id);
    }
    for (i, u) in USERS.iter().enumerate() {
        e.user(u, [Some("US"), None, Some("DE"), Some("US")][i])
            .await;
    }
    for g in GROUPS {
        e.group(g).await;
    }
    e.app
        .create_group(
            &e.t,
            NewGroup {
                display_name: DYNAMIC.into(),
                security_enabled: true,
                membership_rule: Some(r#"user.department -eq "Finance""#.into()),
                ..NewGroup::default()
            },
            &OP,
        )
        .await
        .unwrap();
    // Start with contention, so that seats freed by the random steps have somebody waiting.
    e.license_group(GROUPS[0], PRODUCTS[0]).await.unwrap();
    for u in &USERS[..3] {
        e.add(GROUPS[0], u).await.unwrap();
    }
    // Checked after every step, so a missed update shows before a later change of the same
    // user repairs it by accident.
    for (i, op) in ops.iter().enumerate() {
        apply(&e, &subs, op).await;
        let report = e.app.doctor(&e.t).await.unwrap();
        assert_eq!(
            report.drift,
            0,
            "drift after {:?}:\n{:#?}",
            &ops[..=i],
            report.details
        );
    }
    e.app.close().await;
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 20,
        // Each case opens a database and runs dozens of durable transactions: keep shrinking short.
        max_shrink_iters: 64,
        ..ProptestConfig::default()
    })]

    #[test]
    fn doctor_reports_no_drift_after_any_sequence_of_operations(
        ops in proptest::collection::vec(op(), 5..40)
    ) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(run_sequence(ops));
    }
}

#[tokio::test]
async fn doctor_detects_a_corrupted_seat_counter_and_path_state() {
    for_each_backend(|url| async move {
        let e = env(&url).await;
        e.subscribe("ENTERPRISEPACK", 5).await;
        let alice = e.user("alice", Some("US")).await;
        e.direct("alice", "ENTERPRISEPACK").await.unwrap();
        e.assert_no_drift().await;

        // Corruption by hand, through a store of its own: `Derived::fixture` exists for tests
        // only (App offers no way to write derived state).
        let store = skuld_store::Store::open(&url).await.unwrap();
        let mut tx = store.write(e.t.id).await.unwrap();
        tx.write_derived(&Derived::fixture(
            vec![],
            vec![],
            vec![(sku("ENTERPRISEPACK"), 4)],
        ))
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let report = e.app.doctor(&e.t).await.unwrap();
        assert!(report.drift > 0, "{report:?}");
        assert!(
            report
                .details
                .iter()
                .any(|d| d.contains(&sku("ENTERPRISEPACK").to_string())),
            "{:#?}",
            report.details
        );

        // Put the counter back, then lose alice's state instead.
        let mut tx = store.write(e.t.id).await.unwrap();
        tx.write_derived(&Derived::fixture(
            vec![],
            vec![],
            vec![(sku("ENTERPRISEPACK"), 1)],
        ))
        .await
        .unwrap();
        tx.commit().await.unwrap();
        e.assert_no_drift().await;
        let mut tx = store.write(e.t.id).await.unwrap();
        tx.write_derived(&Derived::fixture(vec![alice.id], vec![], vec![]))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let report = e.app.doctor(&e.t).await.unwrap();
        assert!(report.drift > 0, "{report:?}");
        // The report names her (by UPN or id).
        let alice_id = alice.id.to_string();
        assert!(
            report
                .details
                .iter()
                .any(|d| d.contains(&alice.upn) || d.contains(&alice_id)),
            "{:#?}",
            report.details
        );
    })
    .await;
}

#[tokio::test]
async fn doctor_detects_a_corrupted_group_counter() {
    for_each_backend(|url| async move {
        let e = env(&url).await;
        e.subscribe("ENTERPRISEPACK", 1).await;
        e.user("ann", Some("US")).await;
        e.user("ben", Some("US")).await;
        let staff = e.group("Staff").await;
        e.license_group("Staff", "ENTERPRISEPACK").await.unwrap();
        e.add("Staff", "ann").await.unwrap();
        e.add("Staff", "ben").await.unwrap();
        e.assert_no_drift().await;

        // The counters the admin center reads: ann holds the seat, ben waits for one.
        let store = skuld_store::Store::open(&url).await.unwrap();
        let mut tx = store.read(e.t.id).await.unwrap();
        assert_eq!(
            tx.group_license_counts().await.unwrap(),
            std::collections::HashMap::from([(staff.id, (1, 1))])
        );
        tx.commit().await.unwrap();

        // Corrupt Staff's counter by hand (`Derived::fixture`, tests only).
        let mut tx = store.write(e.t.id).await.unwrap();
        tx.write_derived(
            &Derived::fixture(vec![], vec![], vec![]).with_group_counts(vec![(staff.id, 1, -1)]),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let report = e.app.doctor(&e.t).await.unwrap();
        assert_eq!(report.drift, 1, "{:#?}", report.details);
        assert!(
            report.details[0].contains("'Staff'") && report.details[0].contains("2 users licensed"),
            "{:#?}",
            report.details
        );

        // Put it back; then a counter for a group no state counts for is drift too.
        let mut tx = store.write(e.t.id).await.unwrap();
        tx.write_derived(
            &Derived::fixture(vec![], vec![], vec![]).with_group_counts(vec![(staff.id, -1, 1)]),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        e.assert_no_drift().await;
        let stray = skuld_domain::GroupId::new();
        let mut tx = store.write(e.t.id).await.unwrap();
        tx.write_derived(
            &Derived::fixture(vec![], vec![], vec![]).with_group_counts(vec![(stray, 0, 3)]),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let report = e.app.doctor(&e.t).await.unwrap();
        assert_eq!(report.drift, 1, "{:#?}", report.details);
        assert!(
            report.details[0].contains(&stray.to_string()),
            "{:#?}",
            report.details
        );

        // Unlicensing the group brings Staff's counter down to nothing, as the states.
        let mut tx = store.write(e.t.id).await.unwrap();
        tx.write_derived(
            &Derived::fixture(vec![], vec![], vec![]).with_group_counts(vec![(stray, 0, -3)]),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        e.unlicense_group("Staff", "ENTERPRISEPACK").await.unwrap();
        e.assert_no_drift().await;
        let mut tx = store.read(e.t.id).await.unwrap();
        assert!(tx.group_license_counts().await.unwrap().is_empty());
        tx.commit().await.unwrap();
        store.close().await;
        e.app.close().await;
    })
    .await;
}

#[tokio::test]
async fn doctor_detects_corrupted_member_and_error_counters() {
    for_each_backend(|url| async move {
        let e = env(&url).await;
        e.subscribe("ENTERPRISEPACK", 1).await;
        e.user("ann", Some("US")).await;
        e.user("ben", Some("US")).await;
        e.group("Staff").await;
        e.license_group("Staff", "ENTERPRISEPACK").await.unwrap();
        e.add("Staff", "ann").await.unwrap();
        e.add("Staff", "ben").await.unwrap();
        e.assert_no_drift().await;

        // ben waits for a seat: one user in error, counted by the tenant's counter.
        let store = skuld_store::Store::open(&url).await.unwrap();
        let mut tx = store.read(e.t.id).await.unwrap();
        assert_eq!(tx.users_in_error_count().await.unwrap(), 1);
        assert_eq!(tx.users_in_error_scanned().await.unwrap(), 1);
        tx.commit().await.unwrap();

        // Corrupt the users-in-error counter by hand (`Derived::fixture`, tests only).
        let mut tx = store.write(e.t.id).await.unwrap();
        tx.write_derived(&Derived::fixture(vec![], vec![], vec![]).with_users_in_error(2))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let report = e.app.doctor(&e.t).await.unwrap();
        assert_eq!(report.drift, 1, "{:#?}", report.details);
        assert!(
            report.details[0].contains("the counter says 3, license states count 1"),
            "{:#?}",
            report.details
        );
        let mut tx = store.write(e.t.id).await.unwrap();
        tx.write_derived(&Derived::fixture(vec![], vec![], vec![]).with_users_in_error(-2))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        e.assert_no_drift().await;

        // Freeing the seat heals ben: nobody in error any more.
        e.unlicense_group("Staff", "ENTERPRISEPACK").await.unwrap();
        e.assert_no_drift().await;
        let mut tx = store.read(e.t.id).await.unwrap();
        assert_eq!(tx.users_in_error_count().await.unwrap(), 0);
        tx.commit().await.unwrap();
        store.close().await;
        e.app.close().await;
    })
    .await;
}

/// Found by the property test above. A bundle member is blamed on the first short product of
/// the bundle (G12); when another user then takes the last seat of a product earlier in the
/// bundle, the stored blame must still be what a full recomputation derives.
#[tokio::test]
async fn g12_bundle_member_state_matches_recomputation_after_another_bundle_product_fills_up() {
    for_each_backend(|url| async move {
        let e = env(&url).await;
        e.subscribe("ENTERPRISEPACK", 1).await;
        e.subscribe("EMS", 0).await;
        e.user("ben", Some("US")).await;
        e.user("cid", Some("US")).await;
        e.group("Bundle").await;
        e.app
            .group_assign_license(
                &e.t,
                "Bundle",
                &[spec("ENTERPRISEPACK"), spec("EMS")],
                &[],
                &OP,
            )
            .await
            .unwrap();
        e.add("Bundle", "ben").await.unwrap();
        // E3 has a seat, EMS has none: EMS is to blame.
        assert_eq!(
            e.paths("ben", "EMS").await,
            ["Bundle: Error CountViolation"]
        );
        assert_eq!(
            e.paths("ben", "ENTERPRISEPACK").await,
            ["Bundle: Error Other"]
        );
        e.assert_no_drift().await;

        // Cid takes the last E3 seat directly: ben holds nothing either way...
        e.direct("cid", "ENTERPRISEPACK").await.unwrap();
        assert!(!e.holds("ben", "ENTERPRISEPACK").await);
        assert!(!e.holds("ben", "EMS").await);
        // ...and what is stored for him must agree with a recomputation.
        e.assert_no_drift().await;
    })
    .await;
}
