//! The what-if preview (no peer has it): before a license-changing action, what it would do —
//! who would get a license, who would wait and in which error, who would lose one, and the
//! seats left. Computed by the real use case's intent code and the real engine inside a write
//! transaction that is then rolled back, so nothing is stored and the answer is what the action
//! would do now.

use crate::audit::{Actor, Audit};
use crate::authz::Action;
use crate::error::ProductRef;
use crate::licenses::{write_group_license, LicenseSpec};
use crate::reconcile::{load_inputs, load_ledger, reconcile, transitive_user_members, Groups};
use crate::{App, AppError, Result};
use skuld_domain::licensing::{LicenseError, PathState};
use skuld_domain::{SkuId, SubscriptionId, Tenant, UserId};
use std::collections::{BTreeSet, HashMap};

/// The change to preview; the same inputs as the action itself.
#[derive(Debug, Clone)]
pub enum WhatIfChange {
    /// Assign a product to a group (Graph group `assignLicense`).
    AssignGroup { group: String, license: LicenseSpec },
    /// Add members (users or groups) to a group.
    AddMembers { group: String, members: Vec<String> },
    /// Set a subscription's seats (removing seats, usually).
    SetSeats {
        subscription: SubscriptionId,
        units: i64,
    },
    /// Delete users (soft delete: their seats are released).
    DeleteUsers { users: Vec<String> },
}

impl WhatIfChange {
    /// The right the action needs; previewing needs the same.
    fn action(&self) -> Action {
        match self {
            WhatIfChange::AssignGroup { .. } => Action::AssignGroupLicense,
            WhatIfChange::AddMembers { .. } => Action::ManageMembers,
            WhatIfChange::SetSeats { .. } => Action::ManageSubscriptions,
            WhatIfChange::DeleteUsers { .. } => Action::DeleteUser,
        }
    }
}

/// A user's hold on one product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Held {
    /// No path grants it.
    Nothing,
    /// In force (a seat is held).
    Active,
    /// Granted but not in force: the error and its explanation.
    Error { error: LicenseError, detail: String },
}

impl Held {
    fn of(states: &[PathState], sku: SkuId) -> Held {
        let mine: Vec<&PathState> = states.iter().filter(|s| s.sku == sku).collect();
        if mine.iter().any(|s| s.applied) {
            return Held::Active;
        }
        match mine.iter().find(|s| s.error != LicenseError::None) {
            Some(s) => Held::Error {
                error: s.error,
                detail: s.detail.clone(),
            },
            None => Held::Nothing,
        }
    }
}

/// One user's change on one product.
#[derive(Debug, Clone)]
pub struct WhatIfRow {
    pub user: UserId,
    pub display_name: String,
    pub upn: String,
    pub product: ProductRef,
    pub before: Held,
    pub after: Held,
    /// Not touched by the change itself: takes a seat the change frees (D3).
    pub healed: bool,
}

/// Seats of one product before and after.
#[derive(Debug, Clone)]
pub struct WhatIfSeats {
    pub product: ProductRef,
    pub total_before: i64,
    pub total_after: i64,
    pub assigned_before: i64,
    pub assigned_after: i64,
}

impl WhatIfSeats {
    pub fn available_after(&self) -> i64 {
        self.total_after - self.assigned_after
    }
    pub fn available_before(&self) -> i64 {
        self.total_before - self.assigned_before
    }
}

/// What the change would do.
#[derive(Debug, Clone, Default)]
pub struct WhatIf {
    /// Users the change itself touches (members of the group, holders of the product, …).
    pub affected: usize,
    /// Every user whose hold on a product would change, by name.
    pub rows: Vec<WhatIfRow>,
    pub seats: Vec<WhatIfSeats>,
}

impl WhatIf {
    /// Users who would get a license they do not hold now.
    pub fn gets(&self) -> impl Iterator<Item = &WhatIfRow> {
        self.rows
            .iter()
            .filter(|r| r.after == Held::Active && r.before != Held::Active)
    }
    /// Users who would wait in an error (and not hold the product).
    pub fn waits(&self) -> impl Iterator<Item = &WhatIfRow> {
        self.rows
            .iter()
            .filter(|r| matches!(r.after, Held::Error { .. }) && r.before != Held::Active)
    }
    /// Users who hold the product now and would not afterwards.
    pub fn loses(&self) -> impl Iterator<Item = &WhatIfRow> {
        self.rows
            .iter()
            .filter(|r| r.before == Held::Active && r.after != Held::Active)
    }
}

impl App {
    /// Previews `change` as `actor` would make it: the same validation (a refusal is returned as
    /// the action would return it), the same intent writes and the real engine, in a write
    /// transaction that is rolled back.
    pub async fn what_if(
        &self,
        tenant: &Tenant,
        change: &WhatIfChange,
        actor: &Actor,
    ) -> Result<WhatIf> {
        if !actor.may(change.action()) {
            return Err(AppError::forbidden());
        }
        let (mut tx, cx) = self.begin(tenant).await?;
        let ledger_before = load_ledger(&mut tx).await?;
        // The action's audit rows are built and thrown away with the transaction.
        let mut audit = Audit::new(actor, cx.now);
        let mut focus: Vec<SkuId> = Vec::new();
        let mut capacity_changed: Vec<SkuId> = Vec::new();
        let mut affected: Vec<UserId> = match change {
            WhatIfChange::AssignGroup { group, license } => {
                let (g, groups) =
                    write_group_license(&mut tx, &cx, group, std::slice::from_ref(license), &[])
                        .await?;
                focus.push(license.sku);
                transitive_user_members(&mut tx, &groups, g.id).await?
            }
            WhatIfChange::AddMembers { group, members } => {
                crate::groups::write_members(&mut tx, &cx, group, members, true, &mut audit).await?
            }
            WhatIfChange::SetSeats {
                subscription,
                units,
            } => {
                let (s, _, holders) =
                    crate::subscriptions::write_seats(&mut tx, &cx, *subscription, *units, false)
                        .await?;
                focus.push(s.sku_id);
                capacity_changed.push(s.sku_id);
                holders
            }
            WhatIfChange::DeleteUsers { users } => {
                let mut ids = Vec::new();
                for u in users {
                    ids.push(crate::users::write_delete(&mut tx, &cx, u, actor).await?.id);
                }
                ids
            }
        };
        affected.sort();
        affected.dedup();
        let groups = Groups::load(&mut tx).await?;
        let before: HashMap<UserId, Vec<PathState>> = load_inputs(&mut tx, &groups, &affected)
            .await?
            .into_iter()
            .map(|i| (i.id, i.current))
            .collect();
        let r = reconcile(&mut tx, &cx, &groups, &affected, &capacity_changed).await?;
        let ledger_after = load_ledger(&mut tx).await?;
        let healed_after: HashMap<UserId, Vec<PathState>> =
            load_inputs(&mut tx, &groups, &r.healed)
                .await?
                .into_iter()
                .map(|i| (i.id, i.current))
                .collect();
        let mut ids: Vec<UserId> = affected.clone();
        ids.extend(r.healed.iter().copied());
        let users: HashMap<UserId, (String, String)> = tx
            .users_by_ids(&ids)
            .await?
            .into_iter()
            .map(|u| (u.id, (u.display_name, u.upn)))
            .collect();
        // Nothing of this is kept.
        tx.rollback().await?;

        let name = |id: &UserId| users.get(id).cloned().unwrap_or_default();
        let mut rows = Vec::new();
        let empty = Vec::new();
        for o in &r.outcomes {
            let was = before.get(&o.user).unwrap_or(&empty);
            let skus: BTreeSet<SkuId> = was.iter().chain(&o.states).map(|s| s.sku).collect();
            for sku in skus {
                let (b, a) = (Held::of(was, sku), Held::of(&o.states, sku));
                if b != a {
                    let (display_name, upn) = name(&o.user);
                    rows.push(WhatIfRow {
                        user: o.user,
                        display_name,
                        upn,
                        product: ProductRef::of(&cx.catalog, sku),
                        before: b,
                        after: a,
                        healed: false,
                    });
                }
            }
        }
        for (user, states) in &healed_after {
            for sku in states.iter().filter(|s| s.applied).map(|s| s.sku) {
                if rows.iter().any(|r| r.user == *user && r.product.sku == sku) {
                    continue;
                }
                let (display_name, upn) = name(user);
                // D3: a healed user was waiting for the seat it now takes.
                rows.push(WhatIfRow {
                    user: *user,
                    display_name,
                    upn,
                    product: ProductRef::of(&cx.catalog, sku),
                    before: Held::Error {
                        error: LicenseError::CountViolation,
                        detail: String::new(),
                    },
                    after: Held::Active,
                    healed: true,
                });
            }
        }
        rows.sort_by(|a, b| {
            (
                a.product.name.as_str(),
                a.display_name.as_str(),
                a.upn.as_str(),
            )
                .cmp(&(
                    b.product.name.as_str(),
                    b.display_name.as_str(),
                    b.upn.as_str(),
                ))
        });
        let mut skus: BTreeSet<SkuId> = focus.into_iter().collect();
        skus.extend(rows.iter().map(|r| r.product.sku));
        let seats = skus
            .into_iter()
            .map(|sku| {
                let (b, a) = (ledger_before.get(&sku), ledger_after.get(&sku));
                WhatIfSeats {
                    product: ProductRef::of(&cx.catalog, sku),
                    total_before: b.capacity,
                    total_after: a.capacity,
                    assigned_before: b.consumed,
                    assigned_after: a.consumed,
                }
            })
            .collect();
        Ok(WhatIf {
            affected: affected.len(),
            rows,
            seats,
        })
    }
}
