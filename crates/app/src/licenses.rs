//! License assignment: to users directly (Graph `assignLicense`, synchronous, all or nothing),
//! to many users at once, and to groups (fan-out to every transitive member).

use crate::audit::{Actor, Audit};
use crate::authz::Action;
use crate::groups::find_group;
use crate::reconcile::{reconcile, Ctx, Groups, Reconciled};
use crate::users::{bad, find_user};
use crate::{App, AppError, Result};
use skuld_domain::catalog::AppliesTo;
use skuld_domain::licensing::{LicenseError, Source};
use skuld_domain::{Group, PlanId, SkuId, Subscription, Tenant, User, UserId, UserType};
use skuld_store::{GroupAssignmentRow, JobRow, TenantTx};

pub(crate) const GROUP_LICENSE_JOB: &str = "group_license";
use std::collections::{HashMap, HashSet};

/// A product to assign, with the plans to turn off (Graph `assignedLicense`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenseSpec {
    pub sku: SkuId,
    pub disabled_plans: Vec<PlanId>,
}

/// What a group license change did to the group's members.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FanoutResult {
    pub members: usize,
    pub succeeded: usize,
    pub failed: usize,
    pub healed: usize,
    /// Users whose license states changed.
    pub changed: usize,
}

/// Checks that the tenant owns the product and that admins may assign it (graph-api.md §2.1
/// rows 4 and 11, D9).
fn check_sku(cx: &Ctx, subs: &[Subscription], sku: SkuId) -> Result<()> {
    let mine: Vec<&Subscription> = subs
        .iter()
        .filter(|s| s.sku_id == sku && s.status != skuld_domain::SubscriptionStatus::Deleted)
        .collect();
    if mine.is_empty() || cx.catalog.product(&sku).is_none() {
        return Err(bad(format!(
            "License {sku} does not correspond to a valid company License."
        )));
    }
    if cx
        .catalog
        .product(&sku)
        .is_some_and(|p| p.applies_to == AppliesTo::Company)
    {
        return Err(bad(format!("License {sku} cannot be assigned to a user.")));
    }
    if mine.iter().all(|s| s.self_service_owner.is_some()) {
        return Err(bad(format!(
            "License {sku} belongs to a self-service purchase. An admin must take over the subscription before assigning or unassigning its licenses."
        )));
    }
    Ok(())
}

fn check_plans(cx: &Ctx, spec: &LicenseSpec) -> Result<()> {
    let p = cx.catalog.product(&spec.sku).ok_or_else(|| {
        bad(format!(
            "License {} does not correspond to a valid company License.",
            spec.sku
        ))
    })?;
    if let Some(x) = spec.disabled_plans.iter().find(|d| !p.plans.contains(d)) {
        return Err(bad(format!(
            "The service plan {x} is not part of license {}.",
            spec.sku
        )));
    }
    Ok(())
}

/// The Graph error text for a path the engine could not apply.
fn error_text(error: LicenseError, detail: &str, sku: SkuId) -> String {
    match error {
        LicenseError::CountViolation => {
            format!("Subscription with SKU {sku} does not have any available licenses.")
        }
        LicenseError::ProhibitedInUsageLocationViolation => {
            "License assignment cannot be done for user with invalid usage location.".into()
        }
        LicenseError::MutuallyExclusiveViolation | LicenseError::DependencyViolation => {
            format!("License assignment failed because {detail}")
        }
        _ => format!("License assignment failed: {detail}"),
    }
}

/// Records "Change user license" for every user whose licenses changed (rulebook §10.1). Large
/// fan-outs are summarised by the group events instead.
pub(crate) async fn audit_license_changes(
    audit: &mut Audit<'_>,
    tx: &mut TenantTx,
    r: &Reconciled,
) -> Result<()> {
    let mut ids: Vec<UserId> = r
        .outcomes
        .iter()
        .filter(|o| o.changed)
        .map(|o| o.user)
        .collect();
    ids.extend(r.healed.iter().copied());
    if ids.is_empty() || ids.len() > 1_000 {
        return Ok(());
    }
    let failures: HashMap<UserId, String> = r
        .outcomes
        .iter()
        .filter_map(|o| {
            o.states
                .iter()
                .find(|s| s.error != LicenseError::None)
                .map(|s| (o.user, format!("{}: {}", s.error, s.detail)))
        })
        .collect();
    for u in tx.users_by_ids(&ids).await? {
        audit.push(
            "UserManagement",
            "Change user license",
            "User",
            u.id.to_string(),
            u.upn.clone(),
            vec![],
            failures.get(&u.id).cloned(),
        );
    }
    Ok(())
}

impl App {
    /// Graph `assignLicense` for one user: adds (or re-options) direct licenses and removes
    /// direct ones, all or nothing, answering with Graph's error texts.
    pub async fn assign_license(
        &self,
        tenant: &Tenant,
        user: &str,
        add: &[LicenseSpec],
        remove: &[SkuId],
        actor: &Actor,
    ) -> Result<User> {
        let mut users = self
            .assign_licenses(tenant, &[user.to_string()], add, remove, false, actor)
            .await?;
        Ok(users.remove(0))
    }

    /// Assigns and removes direct licenses for many users in one transaction; with `replace`,
    /// every other direct license of those users is removed first (admin center "Replace").
    /// Any error leaves every user as it was.
    pub async fn assign_licenses(
        &self,
        tenant: &Tenant,
        users: &[String],
        add: &[LicenseSpec],
        remove: &[SkuId],
        replace: bool,
        actor: &Actor,
    ) -> Result<Vec<User>> {
        if !actor.may(Action::AssignUserLicense) {
            return Err(AppError::forbidden());
        }
        let (mut tx, cx) = self.begin(tenant).await?;
        let subs = tx.subscriptions().await?;
        for s in add {
            check_sku(&cx, &subs, s.sku)?;
            check_plans(&cx, s)?;
        }
        for s in remove {
            check_sku(&cx, &subs, *s)?;
        }
        let mut targets = Vec::new();
        for key in users {
            let u = find_user(&mut tx, key).await?;
            // B1: guests are licensed directly only by a Global Administrator.
            if u.user_type == UserType::Guest && !add.is_empty() && !actor.may(Action::LicenseGuest)
            {
                return Err(AppError::forbidden());
            }
            if !add.is_empty() && u.usage_location.is_none() {
                return Err(bad(
                    "License assignment cannot be done for user with invalid usage location.",
                ));
            }
            targets.push(u);
        }
        let groups = Groups::load(&mut tx).await?;
        let ids: Vec<UserId> = targets.iter().map(|u| u.id).collect();
        let before = tx.path_states(Some(&ids)).await?;
        let direct = tx.direct_assignments(Some(&ids)).await?;
        let mut removed: Vec<(UserId, SkuId)> = Vec::new();
        for u in &targets {
            let has_direct: HashSet<SkuId> =
                direct.iter().filter(|d| d.0 == u.id).map(|d| d.1).collect();
            let inherited: HashSet<SkuId> = before
                .get(&u.id)
                .into_iter()
                .flatten()
                .filter(|s| s.source != Source::Direct)
                .map(|s| s.sku)
                .collect();
            for sku in remove {
                if has_direct.contains(sku) {
                    tx.delete_direct(u.id, *sku).await?;
                    removed.push((u.id, *sku));
                } else if inherited.contains(sku) {
                    // G13, D10: change it on the group instead.
                    return Err(bad("User license is inherited from a group membership and it cannot be removed directly from the user."));
                } else {
                    return Err(bad("User does not have a corresponding license."));
                }
            }
            if replace {
                for sku in has_direct
                    .iter()
                    .filter(|s| !add.iter().any(|a| a.sku == **s))
                {
                    tx.delete_direct(u.id, *sku).await?;
                    removed.push((u.id, *sku));
                }
            }
            for s in add {
                tx.upsert_direct(u.id, s.sku, &s.disabled_plans, cx.now)
                    .await?;
            }
        }
        let r = reconcile(&mut tx, &cx, &groups, &ids, &[]).await?;
        // Outcomes come in the store's row order, not the order of `targets`: pair them by id.
        for (u, o) in targets
            .iter()
            .filter_map(|u| r.outcomes.iter().find(|o| o.user == u.id).map(|o| (u, o)))
        {
            for s in add {
                if let Some(st) = o
                    .states
                    .iter()
                    .find(|x| x.source == Source::Direct && x.sku == s.sku && !x.applied)
                {
                    return Err(bad(error_text(st.error, &st.detail, s.sku)));
                }
            }
            // D12 for direct removals: Graph refuses to remove a prerequisite synchronously.
            for (_, sku) in removed.iter().filter(|(id, _)| *id == u.id) {
                if let Some(st) = o
                    .states
                    .iter()
                    .find(|x| x.source == Source::Direct && x.sku == *sku)
                {
                    return Err(bad(error_text(
                        LicenseError::DependencyViolation,
                        &st.detail,
                        *sku,
                    )));
                }
            }
        }
        let mut audit = Audit::new(actor, cx.now);
        for u in &targets {
            let new: Vec<String> = add.iter().map(|s| s.sku.to_string()).collect();
            let gone: Vec<String> = removed
                .iter()
                .filter(|(id, _)| *id == u.id)
                .map(|(_, s)| s.to_string())
                .collect();
            audit.push(
                "UserManagement",
                "Change user license",
                "User",
                u.id.to_string(),
                u.upn.clone(),
                vec![("AssignedLicense", gone.join(","), new.join(","))],
                None,
            );
        }
        let healed = Reconciled {
            outcomes: Vec::new(),
            healed: r.healed.clone(),
            changed: 0,
        };
        audit_license_changes(&mut audit, &mut tx, &healed).await?;
        tx.insert_audit(&audit.rows).await?;
        tx.commit().await?;
        Ok(targets)
    }

    /// Graph `reprocessLicenseAssignment`: evaluates the user again. skuld already does this on
    /// every change (D3); the call stays for clients and after catalog edits.
    pub async fn reprocess_user(&self, tenant: &Tenant, user: &str, actor: &Actor) -> Result<User> {
        if !actor.may(Action::AssignUserLicense) {
            return Err(AppError::forbidden());
        }
        let (mut tx, cx) = self.begin(tenant).await?;
        let u = find_user(&mut tx, user).await?;
        let groups = Groups::load(&mut tx).await?;
        let r = reconcile(&mut tx, &cx, &groups, &[u.id], &[]).await?;
        let mut audit = Audit::new(actor, cx.now);
        audit_license_changes(&mut audit, &mut tx, &r).await?;
        tx.insert_audit(&audit.rows).await?;
        tx.commit().await?;
        Ok(u)
    }

    /// Graph group `assignLicense`, synchronously: records the change and applies it to every
    /// transitive member before returning (the CLI and tests use this; the server answers 202
    /// and lets its worker run the job, D13).
    pub async fn group_assign_license(
        &self,
        tenant: &Tenant,
        group: &str,
        add: &[LicenseSpec],
        remove: &[SkuId],
        actor: &Actor,
    ) -> Result<FanoutResult> {
        let (_, job) = self
            .queue_group_license(tenant, group, add, remove, actor)
            .await?;
        self.run_job_to_end(tenant, job.id).await
    }

    /// Graph group `assignLicense`, durably queued (D13): validates, changes the group's
    /// licenses (intent) and records a job in one transaction. A dependent plan needs its
    /// prerequisite in the same group (G11), so such a change is refused up front. The job
    /// applies the change to the members ([`App::run_job`]).
    pub async fn queue_group_license(
        &self,
        tenant: &Tenant,
        group: &str,
        add: &[LicenseSpec],
        remove: &[SkuId],
        actor: &Actor,
    ) -> Result<(Group, JobRow)> {
        if !actor.may(Action::AssignGroupLicense) {
            return Err(AppError::forbidden());
        }
        let (mut tx, cx) = self.begin(tenant).await?;
        let g = find_group(&mut tx, group).await?;
        if !g.is_licensable() {
            return Err(bad(format!("Licenses can only be assigned to security-enabled groups; '{}' is not security-enabled.", g.display_name)));
        }
        let subs = tx.subscriptions().await?;
        for s in add {
            check_sku(&cx, &subs, s.sku)?;
            check_plans(&cx, s)?;
        }
        for s in remove {
            check_sku(&cx, &subs, *s)?;
        }
        let groups = Groups::load(&mut tx).await?;
        let mut bundle: Vec<(SkuId, Vec<PlanId>)> = groups
            .licenses
            .get(&g.id)
            .into_iter()
            .flatten()
            .map(|a| (a.sku_id, a.disabled_plans.clone()))
            .collect();
        for sku in remove {
            if !bundle.iter().any(|(s, _)| s == sku) {
                return Err(bad(format!("License {sku} is not assigned to the group.")));
            }
            bundle.retain(|(s, _)| s != sku);
        }
        for s in add {
            bundle.retain(|(x, _)| *x != s.sku);
            bundle.push((s.sku, s.disabled_plans.clone()));
        }
        // G11: validation of a group's licenses is group-local.
        let enabled: Vec<PlanId> = bundle
            .iter()
            .flat_map(|(sku, dis)| {
                cx.catalog
                    .product(sku)
                    .map(|p| {
                        p.plans
                            .iter()
                            .copied()
                            .filter(|x| !dis.contains(x))
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default()
            })
            .collect();
        for p in &enabled {
            let req = cx.catalog.requirements(p);
            if !req.is_empty() && !req.iter().any(|r| enabled.contains(r)) {
                let friendly = |id: &PlanId| {
                    cx.catalog
                        .plan(id)
                        .map(|x| x.friendly_name.clone())
                        .unwrap_or_else(|| id.to_string())
                };
                return Err(bad(format!(
                    "License operation failed. Make sure that the group has necessary services before adding or removing a dependent service. The service {} requires {} to be enabled as well.",
                    friendly(p),
                    friendly(&req[0])
                )));
            }
        }
        for sku in remove {
            tx.delete_group_assignment(g.id, *sku).await?;
        }
        let existing: HashMap<SkuId, skuld_domain::Timestamp> = groups
            .licenses
            .get(&g.id)
            .into_iter()
            .flatten()
            .map(|a| (a.sku_id, a.created_at))
            .collect();
        for s in add {
            tx.upsert_group_assignment(&GroupAssignmentRow {
                group_id: g.id,
                sku_id: s.sku,
                disabled_plans: s.disabled_plans.clone(),
                created_at: existing.get(&s.sku).copied().unwrap_or(cx.now),
            })
            .await?;
        }
        let mut audit = Audit::new(actor, cx.now);
        let added: Vec<String> = add.iter().map(|s| s.sku.to_string()).collect();
        let gone: Vec<String> = remove.iter().map(|s| s.to_string()).collect();
        audit.push(
            "GroupManagement",
            "Set group license",
            "Group",
            g.id.to_string(),
            g.display_name.clone(),
            vec![("AssignedLicense", gone.join(","), added.join(","))],
            None,
        );
        tx.insert_audit(&audit.rows).await?;
        let job = JobRow::queued(GROUP_LICENSE_JOB, g.id.0, actor.name(), cx.now);
        tx.insert_job(&job).await?;
        tx.commit().await?;
        Ok((g, job))
    }
}
