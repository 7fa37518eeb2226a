//! Read models: what the CLI and the protocol crates show of users, groups and products.

use crate::groups::find_group;
use crate::reconcile::{load_ledger, Groups};
use crate::users::find_user;
use crate::{now, App, Result};
use skuld_domain::licensing::{LicenseError, PathState, PathStatus, Source};
use skuld_domain::{
    DirectoryRole, Group, GroupId, SkuId, SubscriptionStatus, Tenant, Timestamp, User, UserId,
};
use skuld_store::MemberKind;
use std::collections::{BTreeMap, HashMap};

/// One product row of `skuld sku list` (the admin center's Licenses page, rulebook §10.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkuRow {
    pub sku_id: SkuId,
    pub part_number: String,
    pub display_name: String,
    /// Units of Enabled and Warning subscriptions.
    pub total: i64,
    pub assigned: i64,
    pub available: i64,
    /// Units in Warning or whose term ends within 30 days.
    pub expiring_soon: i64,
    pub suspended: i64,
    /// Graph `capabilityStatus`.
    pub status: String,
    pub subscriptions: usize,
    pub self_service: bool,
}

/// One path of one license of a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathView {
    /// "Direct" or the group's display name.
    pub source: String,
    pub group_id: Option<GroupId>,
    pub state: PathStatus,
    pub error: LicenseError,
    pub detail: String,
    /// The error in the admin's words (empty when there is none): inside a group bundle,
    /// `Other` names the product that blocked it.
    pub reason: String,
    pub disabled_plans: Vec<String>,
    pub applied: bool,
    pub updated_at: Timestamp,
}

/// One product of a user with every path and the plans in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserLicense {
    pub sku_id: SkuId,
    pub part_number: String,
    pub display_name: String,
    /// The user holds a seat of it.
    pub held: bool,
    /// Plans in force: the union over applied paths (D1), with the paths that enable each.
    pub enabled_plans: Vec<(String, Vec<String>)>,
    /// Effective disabledPlans: the intersection over applied paths.
    pub disabled_plans: Vec<String>,
    pub paths: Vec<PathView>,
}

/// A user with roles, groups and every license path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserView {
    pub user: User,
    pub roles: Vec<DirectoryRole>,
    /// Direct groups first, then nested ones, by name.
    pub groups: Vec<(String, bool)>,
    pub licenses: Vec<UserLicense>,
    /// The usage location group paths use when the user has none (D6).
    pub effective_location: String,
}

/// How many of a group's users in error its page lists (the rest are counted).
pub const ERRORS_SHOWN: usize = 200;

/// A group with members and licenses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupView {
    pub group: Group,
    pub member_users: usize,
    pub member_groups: Vec<String>,
    pub member_of: Vec<String>,
    /// Live users below the group, nested groups included, each once; when
    /// `transitive_exact` is false, an upper bound (the nested groups hold more memberships
    /// than are counted one by one, see `TRANSITIVE_COUNT_SCAN`).
    pub transitive_users: usize,
    pub transitive_exact: bool,
    pub licenses: Vec<(String, String, Vec<String>)>,
    pub licensed_users: i64,
    /// How many users have an error on a path from this group.
    pub error_users: usize,
    /// The first [`ERRORS_SHOWN`] of those users' errors: UPN, part number, error, and the
    /// error in the admin's words.
    pub errors: Vec<(String, String, String, String)>,
    /// Guests among the transitive members (item 20).
    pub guests: usize,
    /// Set when the group carries licenses and holds guests: the advice against it (item 20).
    pub guest_warning: Option<String>,
}

impl App {
    /// The admin center's product table.
    pub async fn sku_rows(&self, tenant: &Tenant) -> Result<Vec<SkuRow>> {
        let mut tx = self.store().read(tenant.id).await?;
        let catalog = self.catalog(&mut tx).await?;
        let ledger = load_ledger(&mut tx).await?;
        let subs = tx.subscriptions().await?;
        tx.commit().await?;
        let soon = now().plus_days(30);
        let mut rows: BTreeMap<String, SkuRow> = BTreeMap::new();
        for s in &subs {
            let Some(p) = catalog.product(&s.sku_id) else {
                continue;
            };
            let seats = ledger.get(&s.sku_id);
            let row = rows.entry(p.part_number.clone()).or_insert_with(|| SkuRow {
                sku_id: s.sku_id,
                part_number: p.part_number.clone(),
                display_name: p.display_name.clone(),
                total: seats.capacity,
                assigned: seats.consumed,
                available: seats.free(),
                expiring_soon: 0,
                suspended: seats.suspended,
                status: String::new(),
                subscriptions: 0,
                self_service: false,
            });
            row.subscriptions += 1;
            row.self_service |= s.self_service_owner.is_some();
            let ending = s.status == SubscriptionStatus::Warning
                || (s.status == SubscriptionStatus::Enabled
                    && s.next_lifecycle_at.is_some_and(|t| t <= soon));
            if ending {
                row.expiring_soon += s.units;
            }
        }
        for (sku_status, row) in rows
            .values_mut()
            .map(|r| {
                (
                    subs.iter()
                        .filter(|s| s.sku_id == r.sku_id)
                        .map(|s| s.status)
                        .min(),
                    r,
                )
            })
            .collect::<Vec<_>>()
        {
            row.status = match sku_status {
                Some(SubscriptionStatus::Enabled) => "Enabled",
                Some(SubscriptionStatus::Warning) => "Warning",
                Some(SubscriptionStatus::Suspended) => "Suspended",
                Some(SubscriptionStatus::LockedOut) => "LockedOut",
                _ => "Deleted",
            }
            .to_string();
        }
        Ok(rows.into_values().collect())
    }

    /// A user with every license, path, plan and error.
    pub async fn user_view(&self, tenant: &Tenant, key: &str) -> Result<UserView> {
        let mut tx = self.store().read(tenant.id).await?;
        let user = match find_user(&mut tx, key).await {
            Ok(u) => u,
            Err(e) => match crate::users::find_deleted_user(&mut tx, key).await {
                Ok(u) => u,
                Err(_) => return Err(e),
            },
        };
        let catalog = self.catalog(&mut tx).await?;
        let groups = Groups::load(&mut tx).await?;
        let roles = tx.roles_of(user.id).await?;
        let direct: Vec<(GroupId, Timestamp)> = tx
            .memberships_of(&[user.id.0])
            .await?
            .into_iter()
            .filter(|m| m.kind == MemberKind::User)
            .map(|m| (m.group_id, m.created_at))
            .collect();
        let name = |g: &GroupId| {
            groups
                .groups
                .get(g)
                .map(|x| x.display_name.clone())
                .unwrap_or_else(|| g.to_string())
        };
        let mut group_list: Vec<(String, bool)> = groups
            .transitive(&direct)
            .keys()
            .map(|g| (name(g), direct.iter().any(|(d, _)| d == g)))
            .collect();
        group_list.sort_by(|a, b| {
            b.1.cmp(&a.1)
                .then(a.0.to_lowercase().cmp(&b.0.to_lowercase()))
        });
        let states = tx
            .path_states(Some(&[user.id]))
            .await?
            .remove(&user.id)
            .unwrap_or_default();
        tx.commit().await?;
        let all_states = states.clone();
        let mut by_sku: BTreeMap<String, Vec<_>> = BTreeMap::new();
        for s in states {
            let part = catalog
                .product(&s.sku)
                .map(|p| p.part_number.clone())
                .unwrap_or_else(|| s.sku.to_string());
            by_sku.entry(part).or_default().push(s);
        }
        let mut licenses = Vec::new();
        for (part, mut paths) in by_sku {
            paths.sort_by_key(|p| {
                (
                    p.source != Source::Direct,
                    p.source.group().map(|g| name(&g)),
                )
            });
            let sku = paths[0].sku;
            let product = catalog.product(&sku);
            let plan_name = |id| catalog.plan_name(id);
            let source_name = |s: &Source| match s {
                Source::Direct => "Direct".to_string(),
                Source::Group(g) => name(g),
            };
            let mut enabled = Vec::new();
            let mut disabled = Vec::new();
            if let Some(p) = product {
                for plan in &p.plans {
                    let via: Vec<String> = paths
                        .iter()
                        .filter(|s| s.applied && !s.disabled_plans.contains(plan))
                        .map(|s| source_name(&s.source))
                        .collect();
                    if !via.is_empty() {
                        enabled.push((plan_name(plan), via));
                    } else if paths.iter().any(|s| s.applied) {
                        disabled.push(plan_name(plan));
                    }
                }
            }
            enabled.sort();
            disabled.sort();
            licenses.push(UserLicense {
                sku_id: sku,
                part_number: part,
                display_name: product.map(|p| p.display_name.clone()).unwrap_or_default(),
                held: paths.iter().any(|p| p.applied),
                enabled_plans: enabled,
                disabled_plans: disabled,
                paths: paths
                    .iter()
                    .map(|p| PathView {
                        source: source_name(&p.source),
                        group_id: p.source.group(),
                        state: p.status,
                        error: p.error,
                        detail: p.detail.clone(),
                        reason: path_reason(&catalog, &all_states, p),
                        disabled_plans: p.disabled_plans.iter().map(plan_name).collect(),
                        applied: p.applied,
                        updated_at: p.updated_at,
                    })
                    .collect(),
            });
        }
        let effective_location = match user.usage_location {
            Some(l) => l.to_string(),
            None => format!("{} (tenant country, group licenses only)", tenant.country),
        };
        Ok(UserView {
            user,
            roles,
            groups: group_list,
            licenses,
            effective_location,
        })
    }

    /// A group with its members, licenses and the members in error.
    pub async fn group_view(&self, tenant: &Tenant, key: &str) -> Result<GroupView> {
        let mut tx = self.store().read(tenant.id).await?;
        let g = find_group(&mut tx, key).await?;
        let catalog = self.catalog(&mut tx).await?;
        let groups = Groups::load(&mut tx).await?;
        // Counts and the few nested groups only: a group of a million members costs some index
        // counts, not a million rows (issue 8: the group page under 50 ms).
        let member_users = tx.member_counts(g.id).await?.live_users as usize;
        let name = |id: &GroupId| {
            groups
                .groups
                .get(id)
                .map(|x| x.display_name.clone())
                .unwrap_or_else(|| id.to_string())
        };
        let mut member_groups: Vec<String> = groups
            .children
            .get(&g.id)
            .into_iter()
            .flatten()
            .map(&name)
            .collect();
        member_groups.sort();
        let mut member_of: Vec<String> = groups
            .parents
            .get(&g.id)
            .into_iter()
            .flatten()
            .map(|(p, _)| name(p))
            .collect();
        member_of.sort();
        let below = groups.descendants(g.id);
        let (transitive, transitive_exact) = tx.live_user_members(&below).await?;
        let guests = tx.live_guest_members(&below).await? as usize;
        let mut licenses: Vec<(String, String, Vec<String>)> = groups
            .licenses
            .get(&g.id)
            .into_iter()
            .flatten()
            .map(|a| {
                let p = catalog.product(&a.sku_id);
                (
                    p.map(|p| p.part_number.clone())
                        .unwrap_or_else(|| a.sku_id.to_string()),
                    p.map(|p| p.display_name.clone()).unwrap_or_default(),
                    a.disabled_plans
                        .iter()
                        .map(|d| catalog.plan_name(d))
                        .collect(),
                )
            })
            .collect();
        licenses.sort();
        let counts = tx.group_license_counts().await?;
        let shown: Vec<UserId> = tx
            .users_with_errors_from_page(g.id, None, ERRORS_SHOWN as i64)
            .await?;
        let users: HashMap<UserId, User> = tx
            .users_by_ids(&shown)
            .await?
            .into_iter()
            .map(|u| (u.id, u))
            .collect();
        let states = tx.path_states(Some(&shown)).await?;
        tx.commit().await?;
        let mut errors = Vec::new();
        for u in &shown {
            for s in states
                .get(u)
                .into_iter()
                .flatten()
                .filter(|s| s.source == Source::Group(g.id) && s.error != LicenseError::None)
            {
                let part = catalog
                    .product(&s.sku)
                    .map(|p| p.part_number.clone())
                    .unwrap_or_default();
                let upn = users
                    .get(u)
                    .map(|x| x.upn.clone())
                    .unwrap_or_else(|| u.to_string());
                let all = states.get(u).map(Vec::as_slice).unwrap_or(&[]);
                errors.push((
                    upn,
                    part,
                    s.error.to_string(),
                    path_reason(&catalog, all, s),
                ));
            }
        }
        errors.sort();
        Ok(GroupView {
            licensed_users: counts.get(&g.id).map(|c| c.0).unwrap_or(0),
            error_users: counts.get(&g.id).map(|c| c.1).unwrap_or(0) as usize,
            group: g,
            member_users,
            member_groups,
            member_of,
            transitive_users: transitive as usize,
            transitive_exact,
            guest_warning: (guests > 0 && !licenses.is_empty())
                .then(|| crate::groups::guest_license_warning(guests)),
            guests,
            licenses,
            errors,
        })
    }
}

/// A path's error in the admin's words. `Other` inside a group bundle (G12, D5) names the
/// product of the same group that could not be assigned, and why.
fn path_reason(catalog: &skuld_domain::Catalog, all: &[PathState], s: &PathState) -> String {
    let name = |sku: &SkuId| {
        catalog
            .product(sku)
            .map(|p| p.display_name.clone())
            .unwrap_or_else(|| sku.to_string())
    };
    match s.error {
        LicenseError::None => String::new(),
        LicenseError::Other if s.source != Source::Direct => {
            match all.iter().find(|x| {
                x.source == s.source
                    && x.sku != s.sku
                    && !matches!(x.error, LicenseError::None | LicenseError::Other)
            }) {
                Some(b) => format!(
                    "blocked: {} could not be assigned ({})",
                    name(&b.sku),
                    b.error
                ),
                None => s.detail.clone(),
            }
        }
        LicenseError::CountViolation => format!(
            "waiting for a free license of {}: buy seats or free some",
            name(&s.sku)
        ),
        _ => s.detail.clone(),
    }
}

/// The derived license data of one user, in ids: what Graph shows as `assignedLicenses`,
/// `assignedPlans`, `licenseDetails` and `licenseAssignmentStates`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UserLicensing {
    /// Products the user holds a seat of, with the effective disabled plans: the
    /// intersection over the applied paths (D1). Ordered by product id.
    pub assigned: Vec<(SkuId, Vec<skuld_domain::PlanId>)>,
    /// Every path, applied or not.
    pub states: Vec<skuld_domain::licensing::PathState>,
}

impl App {
    /// The derived license data of the given users (users without any have an empty entry).
    pub async fn licensing_of(
        &self,
        tenant: &Tenant,
        users: &[UserId],
    ) -> Result<HashMap<UserId, UserLicensing>> {
        let mut tx = self.store().read(tenant.id).await?;
        let mut states = tx.path_states(Some(users)).await?;
        tx.commit().await?;
        let mut out = HashMap::new();
        for u in users {
            let mut st = states.remove(u).unwrap_or_default();
            st.sort_by(|a, b| {
                (a.sku, a.source.group().map(|g| g.0)).cmp(&(b.sku, b.source.group().map(|g| g.0)))
            });
            let mut assigned: BTreeMap<SkuId, Vec<skuld_domain::PlanId>> = BTreeMap::new();
            for s in st.iter().filter(|s| s.applied) {
                match assigned.get_mut(&s.sku) {
                    None => {
                        assigned.insert(s.sku, s.disabled_plans.clone());
                    }
                    Some(d) => d.retain(|p| s.disabled_plans.contains(p)),
                }
            }
            out.insert(
                *u,
                UserLicensing {
                    assigned: assigned.into_iter().collect(),
                    states: st,
                },
            );
        }
        Ok(out)
    }
}
