//! Directory reads the protocol crates need beyond single objects: nested membership in both
//! directions, members with license errors, group licenses, sizes.

use crate::groups::find_group;
use crate::reconcile::{transitive_user_members, Groups};
use crate::users::find_user;
use crate::{Action, Actor, App, Result};
use skuld_domain::{Group, GroupId, PlanId, SkuId, Tenant, User, UserId};
use skuld_store::MemberKind;
use std::collections::HashMap;

/// A member of a group: a user or a nested group (pages are short; the size difference does
/// not matter).
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)]
pub enum Member {
    User(User),
    Group(Group),
}

impl Member {
    pub fn id(&self) -> uuid::Uuid {
        match self {
            Member::User(u) => u.id.0,
            Member::Group(g) => g.id.0,
        }
    }
}

impl App {
    /// Item 20: whether `actor` may read the user `key` — anyone with `ReadUsers`, and a guest
    /// (who has not) their own user only. An unknown key is `false`, so a guest learns nothing
    /// of who exists.
    pub async fn may_read_user(&self, tenant: &Tenant, actor: &Actor, key: &str) -> Result<bool> {
        if actor.may(Action::ReadUsers) {
            return Ok(true);
        }
        let Actor::User { id, .. } = actor else {
            return Ok(false);
        };
        let mut tx = self.store().read(tenant.id).await?;
        let u = find_user(&mut tx, key).await;
        tx.commit().await?;
        Ok(u.is_ok_and(|u| u.id == *id))
    }

    /// Item 20: whether `actor` may read the group `key` — anyone with `ReadGroups`, and a guest
    /// the groups they are a member of (directly or through nested groups).
    pub async fn may_read_group(&self, tenant: &Tenant, actor: &Actor, key: &str) -> Result<bool> {
        if actor.may(Action::ReadGroups) {
            return Ok(true);
        }
        let Actor::User { id, .. } = actor else {
            return Ok(false);
        };
        let mut tx = self.store().read(tenant.id).await?;
        let member = match find_group(&mut tx, key).await {
            Ok(g) => {
                let groups = Groups::load(&mut tx).await?;
                transitive_user_members(&mut tx, &groups, g.id)
                    .await?
                    .contains(id)
            }
            Err(_) => false,
        };
        tx.commit().await?;
        Ok(member)
    }

    /// One page of a group's members (direct, or through nested groups), ordered by id, after
    /// the member id `after`; `limit` + 1 are read so the caller knows whether more follow.
    pub async fn group_members_page(
        &self,
        tenant: &Tenant,
        key: &str,
        transitive: bool,
        after: Option<uuid::Uuid>,
        limit: i64,
    ) -> Result<(Group, Vec<Member>, bool)> {
        let mut tx = self.store().read(tenant.id).await?;
        let g = find_group(&mut tx, key).await?;
        let scope = if transitive {
            Groups::load(&mut tx).await?.descendants(g.id)
        } else {
            vec![g.id]
        };
        let mut ids = tx.members_page(&scope, after, limit + 1).await?;
        let more = ids.len() as i64 > limit;
        ids.truncate(limit.max(0) as usize);
        let user_ids: Vec<UserId> = ids
            .iter()
            .filter(|(_, k)| *k == MemberKind::User)
            .map(|(id, _)| UserId(*id))
            .collect();
        let users: HashMap<UserId, User> = tx
            .users_by_ids(&user_ids)
            .await?
            .into_iter()
            .map(|u| (u.id, u))
            .collect();
        let mut out = Vec::with_capacity(ids.len());
        for (id, kind) in ids {
            match kind {
                MemberKind::User => {
                    if let Some(u) = users.get(&UserId(id)) {
                        out.push(Member::User(u.clone()));
                    }
                }
                MemberKind::Group => {
                    if let Some(c) = tx.group(GroupId(id)).await? {
                        out.push(Member::Group(c));
                    }
                }
            }
        }
        tx.commit().await?;
        Ok((g, out, more))
    }

    /// Every user and group below a group, through nested groups (D2), users by UPN and
    /// groups by name.
    pub async fn group_transitive_members(
        &self,
        tenant: &Tenant,
        key: &str,
    ) -> Result<(Vec<User>, Vec<Group>)> {
        let mut tx = self.store().read(tenant.id).await?;
        let g = find_group(&mut tx, key).await?;
        let groups = Groups::load(&mut tx).await?;
        let ids = transitive_user_members(&mut tx, &groups, g.id).await?;
        let mut users = tx.users_by_ids(&ids).await?;
        tx.commit().await?;
        users.retain(|u| !u.is_deleted());
        users.sort_by_key(|u| u.upn.to_lowercase());
        let mut nested: Vec<Group> = groups
            .descendants(g.id)
            .into_iter()
            .filter(|x| *x != g.id)
            .filter_map(|x| groups.groups.get(&x).cloned())
            .collect();
        nested.sort_by_key(|x| x.display_name.to_lowercase());
        Ok((users, nested))
    }

    /// The groups a user is a member of: directly, or also through nested groups.
    pub async fn user_member_of(
        &self,
        tenant: &Tenant,
        key: &str,
        transitive: bool,
    ) -> Result<Vec<Group>> {
        let mut tx = self.store().read(tenant.id).await?;
        let u = find_user(&mut tx, key).await?;
        let direct: Vec<(GroupId, skuld_domain::Timestamp)> = tx
            .memberships_of(&[u.id.0])
            .await?
            .into_iter()
            .map(|m| (m.group_id, m.created_at))
            .collect();
        let groups = Groups::load(&mut tx).await?;
        tx.commit().await?;
        let ids: Vec<GroupId> = if transitive {
            groups.transitive(&direct).into_keys().collect()
        } else {
            direct.into_iter().map(|(g, _)| g).collect()
        };
        let mut out: Vec<Group> = ids
            .into_iter()
            .filter_map(|g| groups.groups.get(&g).cloned())
            .collect();
        out.sort_by_key(|g| g.display_name.to_lowercase());
        Ok(out)
    }

    /// The groups a group is a member of.
    pub async fn group_member_of(&self, tenant: &Tenant, key: &str) -> Result<Vec<Group>> {
        let mut tx = self.store().read(tenant.id).await?;
        let g = find_group(&mut tx, key).await?;
        let groups = Groups::load(&mut tx).await?;
        tx.commit().await?;
        let mut out: Vec<Group> = groups
            .parents
            .get(&g.id)
            .into_iter()
            .flatten()
            .filter_map(|(p, _)| groups.groups.get(p).cloned())
            .collect();
        out.sort_by_key(|g| g.display_name.to_lowercase());
        Ok(out)
    }

    /// Users with an error on a license path from this group (Graph
    /// `membersWithLicenseErrors`).
    pub async fn members_with_license_errors(
        &self,
        tenant: &Tenant,
        key: &str,
    ) -> Result<Vec<User>> {
        let mut tx = self.store().read(tenant.id).await?;
        let g = find_group(&mut tx, key).await?;
        let ids = tx.users_with_errors_from(g.id).await?;
        let mut users = tx.users_by_ids(&ids).await?;
        tx.commit().await?;
        users.retain(|u| !u.is_deleted());
        users.sort_by_key(|u| u.upn.to_lowercase());
        Ok(users)
    }

    /// The licenses every group assigns, with their disabled plans.
    pub async fn group_licenses(
        &self,
        tenant: &Tenant,
    ) -> Result<HashMap<GroupId, Vec<(SkuId, Vec<PlanId>)>>> {
        let mut tx = self.store().read(tenant.id).await?;
        let rows = tx.group_assignments().await?;
        tx.commit().await?;
        let mut out: HashMap<GroupId, Vec<(SkuId, Vec<PlanId>)>> = HashMap::new();
        for r in rows {
            out.entry(r.group_id)
                .or_default()
                .push((r.sku_id, r.disabled_plans));
        }
        for v in out.values_mut() {
            v.sort();
        }
        Ok(out)
    }

    /// The number of live users of a tenant.
    pub async fn user_count(&self, tenant: &Tenant) -> Result<i64> {
        let mut tx = self.store().read(tenant.id).await?;
        let n = tx.count_users(false).await?;
        tx.commit().await?;
        Ok(n)
    }

    /// A user, live or soft-deleted, by id.
    pub async fn any_user(&self, tenant: &Tenant, id: UserId) -> Result<Option<User>> {
        let mut tx = self.store().read(tenant.id).await?;
        let u = tx.user(id).await?;
        tx.commit().await?;
        Ok(u)
    }

    /// Whether an object id is a member (user or group) of the tenant: for `$ref` bodies.
    pub async fn object_kind(&self, tenant: &Tenant, id: uuid::Uuid) -> Result<Option<MemberKind>> {
        let mut tx = self.store().read(tenant.id).await?;
        let k = if tx.user(UserId(id)).await?.is_some_and(|u| !u.is_deleted()) {
            Some(MemberKind::User)
        } else if tx.group(GroupId(id)).await?.is_some() {
            Some(MemberKind::Group)
        } else {
            None
        };
        tx.commit().await?;
        Ok(k)
    }
}
