//! The per-group member counters (migration 0010): after any sequence of membership and user
//! writes they equal the memberships counted afresh, and the group page's transitive count
//! equals the distinct live members.

use crate::directory::{group, member, state};
use crate::harness::{for_each_backend, tenant, user};
use skuld_domain::licensing::{Derived, LicenseError, PathState, PathStatus, Source};
use skuld_domain::{GroupId, SkuId, Timestamp, UserId};
use skuld_store::{MemberCounts, MemberKind, MembershipRow, Store, TenantTx};
use std::collections::{BTreeSet, HashMap};

/// A small deterministic generator (the sequence is the same on every run and backend).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) % n as u64) as usize
    }
}

async fn assert_counters_true(tx: &mut TenantTx, step: usize) {
    let kept = tx.all_member_counts().await.unwrap();
    let counted = tx.all_member_counts_scanned().await.unwrap();
    assert_eq!(kept, counted, "member counters drifted at step {step}");
}

#[tokio::test]
async fn member_counters_follow_every_membership_and_user_write() {
    for_each_backend(|url| async move {
        let store = Store::open(&url).await.unwrap();
        let t = tenant("Contoso");
        store.create_tenant(&t).await.unwrap();
        let mut tx = store.write(t.id).await.unwrap();
        let mut users: Vec<UserId> = Vec::new();
        for i in 0..12 {
            let u = user(&format!("u{i}@contoso.test"));
            tx.insert_user(&u).await.unwrap();
            users.push(u.id);
        }
        let mut groups: Vec<GroupId> = Vec::new();
        for i in 0..5 {
            let g = group(&format!("G{i}"));
            tx.insert_group(&g).await.unwrap();
            groups.push(g.id);
        }
        let mut rng = Lcg(7);
        for step in 0..240 {
            let g = groups[rng.next(groups.len())];
            let u = users[rng.next(users.len())];
            match rng.next(8) {
                0 | 1 => {
                    tx.add_membership(&member(g, u)).await.unwrap();
                }
                2 => {
                    // A batch with a duplicate inside and members that may exist already.
                    let mut rows: Vec<MembershipRow> = (0..4)
                        .map(|_| member(g, users[rng.next(users.len())]))
                        .collect();
                    rows.push(rows[0].clone());
                    tx.add_memberships(&rows).await.unwrap();
                }
                3 => {
                    let child = groups[rng.next(groups.len())];
                    if child != g {
                        tx.add_membership(&MembershipRow {
                            group_id: g,
                            member_id: child.0,
                            kind: MemberKind::Group,
                            dynamic: false,
                            created_at: Timestamp(1_700_000_000_000),
                        })
                        .await
                        .unwrap();
                    }
                }
                4 => {
                    tx.remove_membership(g, u.0).await.unwrap();
                }
                5 => {
                    // Soft delete, or restore when already deleted.
                    let mut x = tx.user(u).await.unwrap().unwrap();
                    x.deleted_at = match x.deleted_at {
                        Some(_) => None,
                        None => Some(Timestamp(1_700_000_100_000)),
                    };
                    tx.update_user(&x).await.unwrap();
                    // Writing the same state again moves nothing.
                    tx.update_user(&x).await.unwrap();
                }
                6 => {
                    let x = tx.user(u).await.unwrap().unwrap();
                    if x.deleted_at.is_some() && rng.next(3) == 0 {
                        tx.remove_user_claims(u).await.unwrap();
                        tx.hard_delete_user(u).await.unwrap();
                        users.retain(|v| *v != u);
                        let n = user(&format!("new{step}@contoso.test"));
                        tx.insert_user(&n).await.unwrap();
                        users.push(n.id);
                    }
                }
                _ => {
                    if rng.next(4) == 0 {
                        tx.delete_group(g).await.unwrap();
                        groups.retain(|x| *x != g);
                        let n = group(&format!("New{step}"));
                        tx.insert_group(&n).await.unwrap();
                        groups.push(n.id);
                    }
                }
            }
            assert_counters_true(&mut tx, step).await;
        }
        // The transitive count equals the distinct live users below, on every group.
        let all = tx.all_memberships().await.unwrap();
        let mut children: HashMap<GroupId, Vec<GroupId>> = HashMap::new();
        let mut direct: HashMap<GroupId, Vec<UserId>> = HashMap::new();
        for m in &all {
            match m.kind {
                MemberKind::Group => children
                    .entry(m.group_id)
                    .or_default()
                    .push(GroupId(m.member_id)),
                MemberKind::User => direct
                    .entry(m.group_id)
                    .or_default()
                    .push(UserId(m.member_id)),
            }
        }
        let mut live = BTreeSet::new();
        for u in &users {
            if tx.user(*u).await.unwrap().unwrap().deleted_at.is_none() {
                live.insert(*u);
            }
        }
        for g in &groups {
            let mut below = vec![*g];
            let mut i = 0;
            while i < below.len() {
                for c in children.get(&below[i]).into_iter().flatten() {
                    if !below.contains(c) {
                        below.push(*c);
                    }
                }
                i += 1;
            }
            let expected: BTreeSet<UserId> = below
                .iter()
                .flat_map(|b| direct.get(b).into_iter().flatten().copied())
                .filter(|u| live.contains(u))
                .collect();
            let (n, exact) = tx.live_user_members(&below).await.unwrap();
            assert!(exact);
            assert_eq!(n as usize, expected.len(), "transitive live members of {g}");
            let c: MemberCounts = tx.member_counts(*g).await.unwrap();
            let direct_live = direct
                .get(g)
                .into_iter()
                .flatten()
                .filter(|u| live.contains(u))
                .count();
            assert_eq!(c.live_users as usize, direct_live);
        }
        tx.commit().await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn migration_0010_backfills_member_counters_from_memberships() {
    for_each_backend(|url| async move {
        let store = Store::open(&url).await.unwrap();
        let t = tenant("Contoso");
        store.create_tenant(&t).await.unwrap();
        let mut tx = store.write(t.id).await.unwrap();
        let (alice, mut bob) = (user("alice@contoso.test"), user("bob@contoso.test"));
        bob.deleted_at = Some(Timestamp(1_700_000_100_000));
        tx.insert_user(&alice).await.unwrap();
        tx.insert_user(&bob).await.unwrap();
        let (staff, team) = (group("Staff"), group("Team"));
        tx.insert_group(&staff).await.unwrap();
        tx.insert_group(&team).await.unwrap();
        for m in [
            member(staff.id, alice.id),
            member(staff.id, bob.id),
            member(team.id, alice.id),
        ] {
            tx.add_membership(&m).await.unwrap();
        }
        tx.add_membership(&MembershipRow {
            group_id: staff.id,
            member_id: team.id.0,
            kind: MemberKind::Group,
            dynamic: false,
            created_at: Timestamp(1_700_000_000_000),
        })
        .await
        .unwrap();
        // alice waits for a seat: written without counter deltas, as before 0010.
        let short = PathState {
            status: PathStatus::Error,
            error: LicenseError::CountViolation,
            applied: false,
            ..state(SkuId::new(), Source::Group(staff.id))
        };
        tx.write_derived(&Derived::fixture(vec![], vec![(alice.id, short)], vec![]))
            .await
            .unwrap();
        assert_eq!(tx.users_in_error_count().await.unwrap(), 0);
        tx.commit().await.unwrap();
        store.close().await;

        // Undo 0010's tables by hand and open again: the migration runs and counts.
        let pool = crate::derived::raw(&url).await;
        for sql in [
            "DROP TABLE group_member_counts",
            "DROP TABLE tenant_license_counts",
            "DELETE FROM _sqlx_migrations WHERE version = 10",
        ] {
            sqlx::query(sql).execute(&pool).await.unwrap();
        }
        pool.close().await;
        let store = Store::open(&url).await.unwrap();
        let mut tx = store.read(t.id).await.unwrap();
        let c = |users, live_users, groups| MemberCounts {
            users,
            live_users,
            groups,
        };
        let want = HashMap::from([(staff.id, c(2, 1, 1)), (team.id, c(1, 1, 0))]);
        assert_eq!(tx.all_member_counts().await.unwrap(), want);
        assert_eq!(tx.all_member_counts_scanned().await.unwrap(), want);
        assert_eq!(tx.users_in_error_count().await.unwrap(), 1);
        assert_eq!(tx.users_in_error_scanned().await.unwrap(), 1);
        tx.commit().await.unwrap();
    })
    .await;
}
