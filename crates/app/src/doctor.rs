//! `skuld doctor`: recompute all derived state from intent and compare with what is stored.

use crate::groups::sync_dynamic_group_plan;
use crate::reconcile::{load_inputs, load_ledger, Ctx, Groups};
use crate::{now, App, Result};
use skuld_domain::Tenant;
use std::collections::HashMap;

/// What the doctor found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DoctorReport {
    pub users: usize,
    pub path_states: usize,
    /// Number of differences between stored and recomputed derived state.
    pub drift: usize,
    /// The first differences, as sentences.
    pub details: Vec<String>,
    pub millis: u128,
}

impl App {
    pub async fn doctor(&self, tenant: &Tenant) -> Result<DoctorReport> {
        let started = std::time::Instant::now();
        let mut tx = self.store().read(tenant.id).await?;
        let catalog = self.catalog(&mut tx).await?;
        let cx = Ctx {
            catalog,
            tenant: tenant.clone(),
            now: now(),
        };
        let groups = Groups::load(&mut tx).await?;
        let ids: Vec<_> = tx
            .licensing_users(None)
            .await?
            .into_iter()
            .map(|u| u.0)
            .collect();
        let inputs = load_inputs(&mut tx, &groups, &ids).await?;
        let ledger = load_ledger(&mut tx).await?;
        let mut details = Vec::new();
        let mut drift = 0;
        let mut note = |d: &mut usize, s: String| {
            *d += 1;
            if details.len() < 50 {
                details.push(s);
            }
        };

        // Derived memberships of dynamic groups (whole user rows are read only when there are
        // dynamic groups to check).
        if groups.groups.values().any(|g| g.is_dynamic()) {
            let users = tx.all_users().await?;
            for g in groups.groups.values() {
                let (join, leave) =
                    sync_dynamic_group_plan(&mut tx, &self.rules, g, &users).await?;
                for u in join {
                    note(
                        &mut drift,
                        format!(
                            "user {u} matches the rule of dynamic group '{}' but is not a member",
                            g.display_name
                        ),
                    );
                }
                for u in leave {
                    note(&mut drift, format!("user {u} is a member of dynamic group '{}' but does not match its rule", g.display_name));
                }
            }
        }

        // Path states: the stored state must be what the engine derives from intent.
        let mut recomputed = ledger.clone();
        let outcomes = cx.engine().evaluate(&mut recomputed, &inputs);
        let mut states = 0;
        for (i, o) in inputs.iter().zip(&outcomes) {
            states += i.current.len();
            if !skuld_domain::licensing::same_licensing(&i.current, &o.states) {
                note(
                    &mut drift,
                    format!(
                        "licenses of user {} differ from recomputation: stored {:?}, expected {:?}",
                        o.user,
                        summary(&i.current),
                        summary(&o.states)
                    ),
                );
            }
        }
        // Seat counters: stored consumption equals the holders counted afresh.
        let mut holders: HashMap<_, i64> = HashMap::new();
        for i in &inputs {
            let mut skus: Vec<_> = i
                .current
                .iter()
                .filter(|s| s.applied)
                .map(|s| s.sku)
                .collect();
            skus.sort();
            skus.dedup();
            for s in skus {
                *holders.entry(s).or_default() += 1;
            }
        }
        for (sku, seats) in &ledger.skus {
            let counted = holders.get(sku).copied().unwrap_or(0);
            if counted != seats.consumed {
                note(
                    &mut drift,
                    format!(
                        "product {sku}: {} seats counted as consumed but {counted} users hold one",
                        seats.consumed
                    ),
                );
            }
            if recomputed.get(sku) != *seats {
                note(
                    &mut drift,
                    format!("product {sku}: recomputation would change the seat counter"),
                );
            }
        }
        for (sku, n) in &holders {
            if !ledger.skus.contains_key(sku) {
                note(
                    &mut drift,
                    format!("product {sku}: {n} users hold a seat but no counter exists"),
                );
            }
        }
        // Per-group license counters: what is kept equals the path states counted afresh.
        let kept = tx.group_license_counts().await?;
        let counted = tx.group_license_counts_scanned().await?;
        let mut groups_seen: Vec<_> = kept.keys().chain(counted.keys()).copied().collect();
        groups_seen.sort();
        groups_seen.dedup();
        for g in groups_seen {
            let (k, c) = (
                kept.get(&g).copied().unwrap_or((0, 0)),
                counted.get(&g).copied().unwrap_or((0, 0)),
            );
            if k != c {
                let name = groups
                    .groups
                    .get(&g)
                    .map(|x| format!("'{}'", x.display_name))
                    .unwrap_or_else(|| g.to_string());
                note(
                    &mut drift,
                    format!(
                        "group {name} ({g}): counters say {} users licensed and {} in error, \
                         license states count {} and {}",
                        k.0, k.1, c.0, c.1
                    ),
                );
            }
        }
        // The tenant's users-in-error counter equals the users with a path in error.
        let (kept, counted) = (
            tx.users_in_error_count().await?,
            tx.users_in_error_scanned().await?,
        );
        if kept != counted {
            note(
                &mut drift,
                format!("users in error: the counter says {kept}, license states count {counted}"),
            );
        }
        // Per-group member counters: what is kept equals the memberships counted afresh.
        let kept = tx.all_member_counts().await?;
        let counted = tx.all_member_counts_scanned().await?;
        let mut groups_seen: Vec<_> = kept.keys().chain(counted.keys()).copied().collect();
        groups_seen.sort();
        groups_seen.dedup();
        for g in groups_seen {
            let (k, c) = (
                kept.get(&g).copied().unwrap_or_default(),
                counted.get(&g).copied().unwrap_or_default(),
            );
            if k != c {
                let name = groups
                    .groups
                    .get(&g)
                    .map(|x| format!("'{}'", x.display_name))
                    .unwrap_or_else(|| g.to_string());
                note(
                    &mut drift,
                    format!(
                        "group {name} ({g}): counters say {} user members ({} not deleted) and {} \
                         nested groups, memberships count {}, {} and {}",
                        k.users, k.live_users, k.groups, c.users, c.live_users, c.groups
                    ),
                );
            }
        }
        tx.commit().await?;
        Ok(DoctorReport {
            users: ids.len(),
            path_states: states,
            drift,
            details,
            millis: started.elapsed().as_millis(),
        })
    }
}

fn summary(states: &[skuld_domain::PathState]) -> Vec<String> {
    states
        .iter()
        .map(|s| format!("{} {:?} {} {}", s.sku, s.source, s.status, s.error))
        .collect()
}
