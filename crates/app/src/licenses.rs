//! License assignment: to users directly (Graph `assignLicense`, synchronous, all or nothing),
//! to many users at once, and to groups (fan-out to every transitive member).

use crate::audit::{Actor, Audit};
use crate::authz::Action;
use crate::error::{PlanRef, Problem, ProductRef, Refusal};
use crate::groups::find_group;
use crate::reconcile::{reconcile, Ctx, Groups, Reconciled};
use crate::users::find_user;
use crate::{App, AppError, Result};
use skuld_domain::catalog::AppliesTo;
use skuld_domain::licensing::{LicenseError, PathState, Source};
use skuld_domain::{Group, GroupId, PlanId, SkuId, Subscription, Tenant, User, UserId, UserType};
use skuld_store::{GroupAssignmentRow, JobRow, TenantTx};

pub(crate) const GROUP_LICENSE_JOB: &str = "group_license";
use std::collections::{BTreeSet, HashMap, HashSet};

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
async fn check_sku(
    tx: &mut TenantTx,
    cx: &Ctx,
    subs: &[Subscription],
    sku: SkuId,
) -> Result<Option<Problem>> {
    let mine: Vec<&Subscription> = subs
        .iter()
        .filter(|s| s.sku_id == sku && s.status != skuld_domain::SubscriptionStatus::Deleted)
        .collect();
    let Some(product) = cx.catalog.product(&sku) else {
        return Ok(Some(Problem::ProductNotInTenant { sku, product: None }));
    };
    let named = ProductRef::of(&cx.catalog, sku);
    if mine.is_empty() {
        return Ok(Some(Problem::ProductNotInTenant {
            sku,
            product: Some(named),
        }));
    }
    if product.applies_to == AppliesTo::Company {
        return Ok(Some(Problem::CompanyProduct { product: named }));
    }
    if mine.iter().all(|s| s.self_service_owner.is_some()) {
        let owners: Vec<UserId> = mine.iter().filter_map(|s| s.self_service_owner).collect();
        let upns: HashMap<UserId, String> = tx
            .users_by_ids(&owners)
            .await?
            .into_iter()
            .map(|u| (u.id, u.upn))
            .collect();
        let subscriptions = mine
            .iter()
            .map(|s| {
                let owner = s.self_service_owner.expect("filtered");
                (
                    s.id,
                    upns.get(&owner)
                        .cloned()
                        .unwrap_or_else(|| owner.to_string()),
                )
            })
            .collect();
        return Ok(Some(Problem::SelfService {
            product: named,
            subscriptions,
        }));
    }
    Ok(None)
}

fn check_plans(cx: &Ctx, spec: &LicenseSpec) -> Option<Problem> {
    let p = cx.catalog.product(&spec.sku)?;
    spec.disabled_plans
        .iter()
        .find(|d| !p.plans.contains(d))
        .map(|x| Problem::PlanNotInProduct {
            product: ProductRef::of(&cx.catalog, spec.sku),
            plan: x.to_string(),
        })
}

/// Validates the products of a change: every problem found, so the admin reads them at once.
pub(crate) async fn check_products(
    tx: &mut TenantTx,
    cx: &Ctx,
    add: &[LicenseSpec],
    remove: &[SkuId],
) -> Result<()> {
    let subs = tx.subscriptions().await?;
    let mut problems = Vec::new();
    for s in add {
        if let Some(p) = check_sku(tx, cx, &subs, s.sku).await? {
            problems.push(p);
        } else if let Some(p) = check_plans(cx, s) {
            problems.push(p);
        }
    }
    for s in remove {
        if let Some(p) = check_sku(tx, cx, &subs, *s).await? {
            problems.push(p);
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Refusal { problems }.into())
    }
}

/// Plans a path of `sku` enables.
fn enabled_plans(cx: &Ctx, sku: SkuId, disabled: &[PlanId]) -> Vec<PlanId> {
    cx.catalog
        .product(&sku)
        .map(|p| {
            p.plans
                .iter()
                .copied()
                .filter(|x| !disabled.contains(x))
                .collect()
        })
        .unwrap_or_default()
}

/// Plans the user has in force of `sku`: the union over applied paths (D1).
fn effective_plans(cx: &Ctx, states: &[PathState], sku: SkuId) -> Option<BTreeSet<PlanId>> {
    let applied: Vec<&PathState> = states
        .iter()
        .filter(|s| s.sku == sku && s.applied)
        .collect();
    if applied.is_empty() {
        return None;
    }
    Some(
        applied
            .iter()
            .flat_map(|s| enabled_plans(cx, sku, &s.disabled_plans))
            .collect(),
    )
}

/// Why the engine did not apply a new direct path of `spec`, as a problem with its facts
/// (the plans are found again from the catalog, the way the engine found them).
pub(crate) fn engine_problem(
    cx: &Ctx,
    user: &User,
    spec: &LicenseSpec,
    st: &PathState,
    states: &[PathState],
) -> Problem {
    let product = ProductRef::of(&cx.catalog, spec.sku);
    let mine = enabled_plans(cx, spec.sku, &spec.disabled_plans);
    let others: Vec<(SkuId, PlanId)> = states
        .iter()
        .filter(|s| s.applied && !(s.sku == spec.sku && s.source == Source::Direct))
        .flat_map(|s| {
            enabled_plans(cx, s.sku, &s.disabled_plans)
                .into_iter()
                .map(move |p| (s.sku, p))
        })
        .collect();
    let plan = |p: &PlanId| PlanRef::of(&cx.catalog, p);
    let fallback = || Problem::NotAssignable {
        user: user.upn.clone(),
        product: product.clone(),
        detail: st.detail.clone(),
    };
    match st.error {
        LicenseError::ProhibitedInUsageLocationViolation => {
            let Some(loc) = user.usage_location else {
                return Problem::NoUsageLocation {
                    user: user.upn.clone(),
                    products: vec![product],
                    example: cx.tenant.country.to_string(),
                };
            };
            let plans: Vec<PlanRef> = mine
                .iter()
                .filter(|p| cx.catalog.is_prohibited(p, loc))
                .map(plan)
                .collect();
            if plans.is_empty() {
                return fallback();
            }
            Problem::ProhibitedInLocation {
                user: user.upn.clone(),
                product,
                location: loc.to_string(),
                plans,
            }
        }
        LicenseError::MutuallyExclusiveViolation => {
            let conflict = mine.iter().find_map(|p| {
                let (fam, rank) = cx.catalog.family_of(p)?;
                if fam.stackable {
                    return None;
                }
                others
                    .iter()
                    .find(|(_, q)| {
                        cx.catalog
                            .family_of(q)
                            .is_some_and(|(f2, r2)| f2.name == fam.name && r2 != rank)
                    })
                    .map(|(sku, q)| (*p, *sku, *q))
            });
            match conflict {
                Some((p, other, q)) => Problem::Conflict {
                    user: user.upn.clone(),
                    product,
                    plan: plan(&p),
                    other_product: Some(ProductRef::of(&cx.catalog, other)),
                    other_plan: plan(&q),
                },
                None => fallback(),
            }
        }
        LicenseError::DependencyViolation => {
            let all: HashSet<PlanId> = others
                .iter()
                .map(|(_, p)| *p)
                .chain(mine.iter().copied())
                .collect();
            let broken = mine.iter().find(|p| {
                let req = cx.catalog.requirements(p);
                !req.is_empty() && !req.iter().any(|r| all.contains(r))
            });
            match broken {
                Some(p) => Problem::Dependency {
                    user: user.upn.clone(),
                    product,
                    plan: plan(p),
                    requires: cx.catalog.requirements(p).iter().map(plan).collect(),
                },
                None => fallback(),
            }
        }
        _ => fallback(),
    }
}

/// D12: what a direct removal would take away that a remaining plan needs.
fn removal_problem(
    cx: &Ctx,
    user: &User,
    sku: SkuId,
    kept: &PathState,
    states: &[PathState],
) -> Problem {
    let removed = enabled_plans(cx, sku, &kept.disabled_plans);
    let plan = |p: &PlanId| PlanRef::of(&cx.catalog, p);
    let dependent = states
        .iter()
        .filter(|s| s.applied && !(s.sku == sku && s.source == Source::Direct))
        .flat_map(|s| {
            enabled_plans(cx, s.sku, &s.disabled_plans)
                .into_iter()
                .map(move |p| (s.sku, p))
        })
        .find(|(_, p)| {
            cx.catalog
                .requirements(p)
                .iter()
                .any(|r| removed.contains(r))
        });
    match dependent {
        Some((dsku, p)) => Problem::RemovalBreaksDependency {
            user: user.upn.clone(),
            product: ProductRef::of(&cx.catalog, sku),
            dependent: plan(&p),
            dependent_product: Some(ProductRef::of(&cx.catalog, dsku)),
            requires: cx.catalog.requirements(&p).iter().map(plan).collect(),
        },
        None => Problem::NotAssignable {
            user: user.upn.clone(),
            product: ProductRef::of(&cx.catalog, sku),
            detail: kept.detail.clone(),
        },
    }
}

/// The groups that assign a product to the user, each with the user's direct group through
/// which the user is in it (the group itself unless nested), by name.
fn granting_groups(
    groups: &Groups,
    memberships: &[skuld_store::MembershipRow],
    granting: &[GroupId],
) -> Vec<(String, String)> {
    let name = |g: &GroupId| {
        groups
            .groups
            .get(g)
            .map(|x| x.display_name.clone())
            .unwrap_or_else(|| g.to_string())
    };
    let direct: Vec<GroupId> = memberships
        .iter()
        .filter(|m| m.kind == skuld_store::MemberKind::User)
        .map(|m| m.group_id)
        .collect();
    let mut out: Vec<(String, String)> = granting
        .iter()
        .map(|g| {
            let via = direct
                .iter()
                .find(|d| {
                    *d == g
                        || groups
                            .transitive(&[(**d, skuld_domain::Timestamp(0))])
                            .contains_key(g)
                })
                .unwrap_or(g);
            (name(g), name(via))
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// What a license command did to one user's product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenseChange {
    pub user: String,
    pub product: ProductRef,
    pub outcome: ChangeOutcome,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeOutcome {
    /// The user did not hold the product before.
    Assigned,
    /// The user held it and the apps in force changed.
    Changed {
        on: Vec<PlanRef>,
        off: Vec<PlanRef>,
    },
    /// The user held it with the same apps.
    Unchanged,
    Removed,
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
        Ok(self
            .assign_licenses_reported(tenant, users, add, remove, replace, actor)
            .await?
            .0)
    }

    /// [`App::assign_licenses`], also reporting per user and product what changed: a product
    /// newly assigned, the apps turned on and off when it was held already, or unchanged. A
    /// refusal names every user that failed and why, with the seats missing over the whole
    /// command.
    pub async fn assign_licenses_reported(
        &self,
        tenant: &Tenant,
        users: &[String],
        add: &[LicenseSpec],
        remove: &[SkuId],
        replace: bool,
        actor: &Actor,
    ) -> Result<(Vec<User>, Vec<LicenseChange>)> {
        if !actor.may(Action::AssignUserLicense) {
            return Err(AppError::forbidden());
        }
        let (mut tx, cx) = self.begin(tenant).await?;
        check_products(&mut tx, &cx, add, remove).await?;
        // Every user that cannot be changed is named with the reason, in the order found; the
        // first is Graph's answer (a Graph call names one user).
        let mut problems: Vec<Problem> = Vec::new();
        let mut targets = Vec::new();
        for key in users {
            let u = match find_user(&mut tx, key).await {
                Ok(u) => u,
                Err(e) if e.refusal().is_some() => {
                    problems.extend(e.refusal().into_iter().flat_map(|r| r.problems.clone()));
                    continue;
                }
                Err(e) => return Err(e),
            };
            // B1: guests are licensed directly only by a Global Administrator.
            if u.user_type == UserType::Guest && !add.is_empty() && !actor.may(Action::LicenseGuest)
            {
                return Err(AppError::forbidden());
            }
            if !add.is_empty() && u.usage_location.is_none() {
                problems.push(Problem::NoUsageLocation {
                    user: u.upn.clone(),
                    products: add
                        .iter()
                        .map(|s| ProductRef::of(&cx.catalog, s.sku))
                        .collect(),
                    example: tenant.country.to_string(),
                });
                continue;
            }
            targets.push(u);
        }
        let groups = Groups::load(&mut tx).await?;
        let ids: Vec<UserId> = targets.iter().map(|u| u.id).collect();
        let before = tx.path_states(Some(&ids)).await?;
        let direct = tx.direct_assignments(Some(&ids)).await?;
        let mut removed: Vec<(UserId, SkuId)> = Vec::new();
        let mut refused: HashSet<UserId> = HashSet::new();
        for u in &targets {
            let has_direct: HashSet<SkuId> =
                direct.iter().filter(|d| d.0 == u.id).map(|d| d.1).collect();
            let inherited: Vec<&PathState> = before
                .get(&u.id)
                .into_iter()
                .flatten()
                .filter(|s| s.source != Source::Direct)
                .collect();
            let mut problem = None;
            for sku in remove {
                if has_direct.contains(sku) {
                    continue;
                }
                let product = ProductRef::of(&cx.catalog, *sku);
                let granting: Vec<GroupId> = inherited
                    .iter()
                    .filter(|s| s.sku == *sku)
                    .filter_map(|s| s.source.group())
                    .collect();
                problem = Some(if granting.is_empty() {
                    Problem::NotAssigned {
                        user: u.upn.clone(),
                        product,
                    }
                } else {
                    // G13, D10: change it on the group instead.
                    let memberships = tx.memberships_of(&[u.id.0]).await?;
                    Problem::Inherited {
                        user: u.upn.clone(),
                        product,
                        groups: granting_groups(&groups, &memberships, &granting),
                    }
                });
                break;
            }
            if let Some(p) = problem {
                problems.push(p);
                refused.insert(u.id);
                continue;
            }
            for sku in remove {
                tx.delete_direct(u.id, *sku).await?;
                removed.push((u.id, *sku));
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
        targets.retain(|u| !refused.contains(&u.id));
        let ids: Vec<UserId> = targets.iter().map(|u| u.id).collect();
        let ledger = crate::reconcile::load_ledger(&mut tx).await?;
        let r = if ids.is_empty() {
            Reconciled {
                outcomes: Vec::new(),
                healed: Vec::new(),
                changed: 0,
            }
        } else {
            reconcile(&mut tx, &cx, &groups, &ids, &[]).await?
        };
        let subs = tx.subscriptions().await?;
        // Seats are counted over the whole command: one problem per product naming every user
        // left without a seat.
        let mut short: HashMap<SkuId, usize> = HashMap::new();
        let mut changes: Vec<LicenseChange> = Vec::new();
        // Outcomes come in the store's row order, not the order of `targets`: pair them by id.
        for (u, o) in targets
            .iter()
            .filter_map(|u| r.outcomes.iter().find(|o| o.user == u.id).map(|o| (u, o)))
        {
            for s in add {
                let Some(st) = o
                    .states
                    .iter()
                    .find(|x| x.source == Source::Direct && x.sku == s.sku && !x.applied)
                else {
                    continue;
                };
                if st.error == LicenseError::CountViolation {
                    if let Some(Problem::NoSeats { users, .. }) =
                        short.get(&s.sku).map(|i| &mut problems[*i])
                    {
                        users.push(u.upn.clone());
                        continue;
                    }
                    let seats = ledger.get(&s.sku);
                    let mut on_sale: Vec<&Subscription> = subs
                        .iter()
                        .filter(|x| x.sku_id == s.sku && x.status.is_assignable())
                        .collect();
                    on_sale.sort_by_key(|x| {
                        (x.self_service_owner.is_some(), x.is_trial, x.created_at)
                    });
                    short.insert(s.sku, problems.len());
                    problems.push(Problem::NoSeats {
                        product: ProductRef::of(&cx.catalog, s.sku),
                        capacity: seats.capacity,
                        assigned: seats.consumed,
                        users: vec![u.upn.clone()],
                        subscriptions: on_sale.iter().map(|x| (x.id, x.units)).collect(),
                    });
                } else {
                    problems.push(engine_problem(&cx, u, s, st, &o.states));
                }
            }
            // D12 for direct removals: Graph refuses to remove a prerequisite synchronously.
            for (_, sku) in removed.iter().filter(|(id, _)| *id == u.id) {
                if let Some(st) = o
                    .states
                    .iter()
                    .find(|x| x.source == Source::Direct && x.sku == *sku)
                {
                    problems.push(removal_problem(&cx, u, *sku, st, &o.states));
                }
            }
            let old = before.get(&u.id).map(Vec::as_slice).unwrap_or(&[]);
            for s in add {
                let product = ProductRef::of(&cx.catalog, s.sku);
                let outcome = match (
                    effective_plans(&cx, old, s.sku),
                    effective_plans(&cx, &o.states, s.sku),
                ) {
                    (None, _) => ChangeOutcome::Assigned,
                    (Some(a), Some(b)) if a != b => ChangeOutcome::Changed {
                        on: b
                            .difference(&a)
                            .map(|p| PlanRef::of(&cx.catalog, p))
                            .collect(),
                        off: a
                            .difference(&b)
                            .map(|p| PlanRef::of(&cx.catalog, p))
                            .collect(),
                    },
                    _ => ChangeOutcome::Unchanged,
                };
                changes.push(LicenseChange {
                    user: u.upn.clone(),
                    product,
                    outcome,
                });
            }
            for (_, sku) in removed.iter().filter(|(id, _)| *id == u.id) {
                changes.push(LicenseChange {
                    user: u.upn.clone(),
                    product: ProductRef::of(&cx.catalog, *sku),
                    outcome: ChangeOutcome::Removed,
                });
            }
        }
        if !problems.is_empty() {
            return Err(Refusal { problems }.into());
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
        Ok((targets, changes))
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
        let (g, groups) = write_group_license(&mut tx, &cx, group, add, remove).await?;
        let mut audit = Audit::new(actor, cx.now);
        let added: Vec<String> = add.iter().map(|s| s.sku.to_string()).collect();
        let gone: Vec<String> = remove.iter().map(|s| s.to_string()).collect();
        let mut modified = vec![("AssignedLicense", gone.join(","), added.join(","))];
        // Item 20: licensing a group that holds guests is allowed but flagged.
        if !add.is_empty() {
            let guests = crate::groups::guest_members(&mut tx, &groups, g.id).await?;
            if guests > 0 {
                modified.push((
                    "GuestLicensingWarning",
                    String::new(),
                    crate::groups::guest_license_warning(guests),
                ));
            }
        }
        audit.push(
            "GroupManagement",
            "Set group license",
            "Group",
            g.id.to_string(),
            g.display_name.clone(),
            modified,
            None,
        );
        tx.insert_audit(&audit.rows).await?;
        let job = JobRow::queued(GROUP_LICENSE_JOB, g.id.0, actor.name(), cx.now);
        tx.insert_job(&job).await?;
        tx.commit().await?;
        Ok((g, job))
    }
}

/// The intent part of a group license change (shared by [`App::queue_group_license`] and the
/// what-if preview): validates the group's new licenses (G11: group-local) and writes them.
/// Returns the group and its structure as it was before the change.
pub(crate) async fn write_group_license(
    tx: &mut TenantTx,
    cx: &Ctx,
    group: &str,
    add: &[LicenseSpec],
    remove: &[SkuId],
) -> Result<(Group, Groups)> {
    let g = find_group(tx, group).await?;
    if !g.is_licensable() {
        return Err(Problem::GroupNotLicensable {
            group: g.display_name.clone(),
        }
        .into());
    }
    check_products(tx, cx, add, remove).await?;
    let groups = Groups::load(tx).await?;
    let mut bundle: Vec<(SkuId, Vec<PlanId>)> = groups
        .licenses
        .get(&g.id)
        .into_iter()
        .flatten()
        .map(|a| (a.sku_id, a.disabled_plans.clone()))
        .collect();
    for sku in remove {
        if !bundle.iter().any(|(s, _)| s == sku) {
            return Err(Problem::GroupLacksLicense {
                group: g.display_name.clone(),
                product: ProductRef::of(&cx.catalog, *sku),
            }
            .into());
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
            return Err(Problem::GroupDependency {
                group: g.display_name.clone(),
                plan: PlanRef::of(&cx.catalog, p),
                requires: req.iter().map(|r| PlanRef::of(&cx.catalog, r)).collect(),
            }
            .into());
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
    Ok((g, groups))
}
