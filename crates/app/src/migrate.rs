//! Migrating users from direct to group licensing (rulebook §2.7, the documented procedure made
//! one step): for a group and a product, the members whose direct license the group's license
//! now covers — the group's path is Active and turns on the same or more apps — lose the
//! direct license (no loss of service, no extra seat); every other member is reported with
//! the reason it was kept.

use crate::audit::Actor;
use crate::authz::Action;
use crate::error::{PlanRef, Problem, ProductRef};
use crate::groups::find_group;
use crate::licenses::LicenseChange;
use crate::reconcile::{transitive_user_members, Groups};
use crate::{App, AppError, Result};
use skuld_domain::licensing::{LicenseError, PathState, PathStatus, Source};
use skuld_domain::{Group, PlanId, SkuId, Tenant, UserId};

/// Why a member's direct license is or is not removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MigrateVerdict {
    /// The group's path is Active and turns on every app the direct license turns on.
    Covered,
    /// The group's path is not in force yet, or is in error.
    GroupNotActive { error: LicenseError, detail: String },
    /// The group's license has not reached the member yet (no path from the group).
    NoGroupPath,
    /// The direct license turns on apps the group's license turns off: removing it would take
    /// them away ([PSX]: "User has extra plans that may be lost").
    ExtraApps { plans: Vec<PlanRef> },
}

/// One member with a direct license of the product.
#[derive(Debug, Clone)]
pub struct MigrateRow {
    pub user: UserId,
    pub display_name: String,
    pub upn: String,
    pub verdict: MigrateVerdict,
}

/// What a migration would do, or did.
#[derive(Debug, Clone)]
pub struct MigratePlan {
    pub group: Group,
    pub product: ProductRef,
    /// Members (through nesting too) holding the product directly, by display name.
    pub rows: Vec<MigrateRow>,
}

impl MigratePlan {
    pub fn covered(&self) -> impl Iterator<Item = &MigrateRow> {
        self.rows
            .iter()
            .filter(|r| r.verdict == MigrateVerdict::Covered)
    }
    pub fn kept(&self) -> impl Iterator<Item = &MigrateRow> {
        self.rows
            .iter()
            .filter(|r| r.verdict != MigrateVerdict::Covered)
    }
}

/// The plans a path turns on.
fn enabled(all: &[PlanId], s: &PathState) -> Vec<PlanId> {
    all.iter()
        .copied()
        .filter(|p| !s.disabled_plans.contains(p))
        .collect()
}

impl App {
    /// Which members of `group` would lose their direct license of `sku` to the group's.
    pub async fn migration_plan(
        &self,
        tenant: &Tenant,
        group: &str,
        sku: SkuId,
    ) -> Result<MigratePlan> {
        let mut tx = self.store().read(tenant.id).await?;
        let catalog = self.catalog(&mut tx).await?;
        let g = find_group(&mut tx, group).await?;
        let product = catalog.product(&sku).ok_or_else(|| {
            AppError::NotFound(format!("this organization has no product with skuId {sku}"))
        })?;
        let groups = Groups::load(&mut tx).await?;
        if !groups
            .licenses
            .get(&g.id)
            .is_some_and(|l| l.iter().any(|a| a.sku_id == sku))
        {
            return Err(Problem::GroupLacksLicense {
                group: g.display_name.clone(),
                product: ProductRef::of(&catalog, sku),
            }
            .into());
        }
        let members = transitive_user_members(&mut tx, &groups, g.id).await?;
        let mut states = tx.path_states(Some(&members)).await?;
        let users = tx.users_by_ids(&members).await?;
        tx.commit().await?;
        let mut rows = Vec::new();
        for u in users.into_iter().filter(|u| !u.is_deleted()) {
            let mine: Vec<PathState> = states
                .remove(&u.id)
                .unwrap_or_default()
                .into_iter()
                .filter(|s| s.sku == sku)
                .collect();
            let Some(direct) = mine.iter().find(|s| s.source == Source::Direct) else {
                continue;
            };
            let via = mine.iter().find(|s| s.source == Source::Group(g.id));
            let verdict = match via {
                None => MigrateVerdict::NoGroupPath,
                Some(p)
                    if !p.applied
                        || p.status != PathStatus::Active
                        || p.error != LicenseError::None =>
                {
                    MigrateVerdict::GroupNotActive {
                        error: p.error,
                        detail: p.detail.clone(),
                    }
                }
                Some(p) => {
                    let theirs = enabled(&product.plans, p);
                    let lost: Vec<PlanRef> = enabled(&product.plans, direct)
                        .iter()
                        .filter(|x| !theirs.contains(x))
                        .map(|x| PlanRef::of(&catalog, x))
                        .collect();
                    if lost.is_empty() {
                        MigrateVerdict::Covered
                    } else {
                        MigrateVerdict::ExtraApps { plans: lost }
                    }
                }
            };
            rows.push(MigrateRow {
                user: u.id,
                display_name: u.display_name,
                upn: u.upn,
                verdict,
            });
        }
        rows.sort_by(|a, b| {
            (a.display_name.to_lowercase(), &a.upn).cmp(&(b.display_name.to_lowercase(), &b.upn))
        });
        Ok(MigratePlan {
            group: g,
            product: ProductRef::of(&catalog, sku),
            rows,
        })
    }

    /// Removes the direct licenses of `sku` that the group's license covers (the plan's
    /// `covered` rows, computed afresh), through the engine like any unassignment. Returns the
    /// plan it acted on and the removals made; a member the engine refuses to change (say, a
    /// removal that breaks another product's dependency) is left as it was and reported.
    pub async fn migrate_to_group(
        &self,
        tenant: &Tenant,
        group: &str,
        sku: SkuId,
        actor: &Actor,
    ) -> Result<(MigratePlan, Vec<LicenseChange>, Vec<(String, String)>)> {
        if !actor.may(Action::AssignUserLicense) || !actor.may(Action::AssignGroupLicense) {
            return Err(AppError::forbidden());
        }
        let plan = self.migration_plan(tenant, group, sku).await?;
        let mut todo: Vec<String> = plan.covered().map(|r| r.upn.clone()).collect();
        let mut refused: Vec<(String, String)> = Vec::new();
        let mut done = Vec::new();
        while !todo.is_empty() {
            match self
                .assign_licenses_reported(tenant, &todo, &[], &[sku], false, actor)
                .await
            {
                Ok((_, changes)) => {
                    done = changes;
                    break;
                }
                Err(AppError::Refused(r)) => {
                    let before = todo.len();
                    for p in &r.problems {
                        for u in p.users() {
                            refused.push((u.clone(), p.admin_text()));
                            todo.retain(|k| !k.eq_ignore_ascii_case(&u));
                        }
                    }
                    if todo.len() == before {
                        return Err(AppError::Refused(r));
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Ok((plan, done, refused))
    }
}
