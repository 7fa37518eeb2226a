//! Group use cases: create, change, delete, members (static, nested, dynamic).

use crate::audit::{Actor, Audit};
use crate::authz::Action;
use crate::error::{Problem, ProductRef, Refusal};
use crate::reconcile::{reconcile, transitive_user_members, Ctx, Groups};
use crate::users::{bad, find_user};
use crate::{App, AppError, Result};
use skuld_domain::directory::{matches_user, GroupKind};
use skuld_domain::rule::MembershipRule;
use skuld_domain::{Group, GroupId, Tenant, Timestamp, User, UserId};
use skuld_store::{MemberKind, MembershipRow, TenantTx};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// A group to create.
#[derive(Debug, Clone, Default)]
pub struct NewGroup {
    pub display_name: String,
    pub description: Option<String>,
    pub mail_nickname: Option<String>,
    pub kind: GroupKind,
    pub security_enabled: bool,
    pub mail_enabled: bool,
    /// A dynamic membership rule; the group is static when None.
    pub membership_rule: Option<String>,
    pub license_priority: i32,
}

/// Changes to a group; `None` leaves a property as it is.
#[derive(Debug, Clone, Default)]
pub struct GroupPatch {
    pub display_name: Option<String>,
    pub description: Option<Option<String>>,
    pub membership_rule: Option<String>,
    pub rule_paused: Option<bool>,
    pub license_priority: Option<i32>,
}

/// Compiled dynamic membership rules, shared by every request the process serves (item 18): a
/// rule is parsed and its `-match` patterns compiled once per rule text, not on every write under
/// the tenant lock. The key is the rule text itself and compiling is a pure function of it, so an
/// entry can never be stale — not after a rule edit (the new text is another key), not when
/// another process changed the rule. The cache is bounded by dropping everything when full.
#[derive(Debug, Default)]
pub(crate) struct RuleCache {
    rules: Mutex<HashMap<String, Arc<MembershipRule>>>,
    hits: AtomicU64,
    misses: AtomicU64,
}

/// How the rule cache was used since the process started: `misses` counts compilations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleCacheStats {
    pub hits: u64,
    pub misses: u64,
}

/// Distinct rule texts kept; a tenant has few dynamic groups, an installation few tenants.
const RULE_CACHE_ENTRIES: usize = 4096;

impl RuleCache {
    /// The compiled rule for `text`; a malformed rule is the positioned error, in the Graph 400
    /// the caller answers with.
    pub(crate) fn get(&self, text: &str) -> Result<Arc<MembershipRule>> {
        if let Some(r) = self.lock().get(text) {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(r.clone());
        }
        // Compiled outside the lock: two requests missing at once compile twice, harmlessly.
        let rule = Arc::new(MembershipRule::parse(text).map_err(|e| bad(e.to_string()))?);
        self.misses.fetch_add(1, Ordering::Relaxed);
        let mut rules = self.lock();
        if rules.len() >= RULE_CACHE_ENTRIES {
            rules.clear();
        }
        rules.insert(text.to_string(), rule.clone());
        Ok(rule)
    }

    pub(crate) fn stats(&self) -> RuleCacheStats {
        RuleCacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<MembershipRule>>> {
        // A panic while holding the lock cannot leave the map inconsistent (inserts are whole).
        self.rules.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Brings one user's dynamic memberships in line with the rules (rulebook §2.4 "User attribute
/// change"). Deleted users keep theirs until restored.
pub(crate) async fn sync_dynamic_for_user(
    tx: &mut TenantTx,
    rules: &RuleCache,
    groups: &Groups,
    user: &User,
    now: Timestamp,
) -> Result<bool> {
    if user.is_deleted() {
        return Ok(false);
    }
    let current: HashSet<GroupId> = tx
        .memberships_of(&[user.id.0])
        .await?
        .into_iter()
        .filter(|m| m.dynamic)
        .map(|m| m.group_id)
        .collect();
    let mut changed = false;
    for g in groups.groups.values() {
        let Some(text) = &g.membership_rule else {
            continue;
        };
        if g.rule_paused {
            continue;
        }
        let rule = rules.get(text)?;
        let want = matches_user(&rule, user);
        let has = current.contains(&g.id);
        if want && !has {
            tx.add_membership(&MembershipRow {
                group_id: g.id,
                member_id: user.id.0,
                kind: MemberKind::User,
                dynamic: true,
                created_at: now,
            })
            .await?;
            changed = true;
        } else if !want && has {
            tx.remove_membership(g.id, user.id.0).await?;
            changed = true;
        }
    }
    Ok(changed)
}

/// Re-evaluates a dynamic group's rule over every live user; returns the users who joined or left.
pub(crate) async fn sync_dynamic_group(
    tx: &mut TenantTx,
    rules: &RuleCache,
    group: &Group,
    now: Timestamp,
) -> Result<Vec<UserId>> {
    if group.membership_rule.is_none() || group.rule_paused {
        return Ok(Vec::new());
    }
    let users = tx.all_users().await?;
    let (join, leave) = sync_dynamic_group_plan(tx, rules, group, &users).await?;
    for u in &leave {
        tx.remove_membership(group.id, u.0).await?;
    }
    let rows: Vec<MembershipRow> = join
        .iter()
        .map(|u| MembershipRow {
            group_id: group.id,
            member_id: u.0,
            kind: MemberKind::User,
            dynamic: true,
            created_at: now,
        })
        .collect();
    tx.add_memberships(&rows).await?;
    Ok(join.into_iter().chain(leave).collect())
}

/// Which live users should join and leave a dynamic group, without changing anything.
pub(crate) async fn sync_dynamic_group_plan(
    tx: &mut TenantTx,
    rules: &RuleCache,
    group: &Group,
    users: &[User],
) -> Result<(Vec<UserId>, Vec<UserId>)> {
    let Some(text) = &group.membership_rule else {
        return Ok((Vec::new(), Vec::new()));
    };
    if group.rule_paused {
        return Ok((Vec::new(), Vec::new()));
    }
    let rule = rules.get(text)?;
    let current: HashSet<UserId> = tx
        .members_of(group.id)
        .await?
        .into_iter()
        .filter(|m| m.kind == MemberKind::User)
        .map(|m| UserId(m.member_id))
        .collect();
    let (mut join, mut leave) = (Vec::new(), Vec::new());
    for u in users.iter().filter(|u| !u.is_deleted()) {
        let want = matches_user(&rule, u);
        if want && !current.contains(&u.id) {
            join.push(u.id);
        } else if !want && current.contains(&u.id) {
            leave.push(u.id);
        }
    }
    Ok((join, leave))
}

/// Item 20: the advice shown wherever a licensed group holds guests. Group-based licensing of
/// guests is allowed (Microsoft's model), but the rulebook and seeds advise against licensing
/// groups with B2B accounts; `n` is how many guests the group holds, nested groups included.
pub fn guest_license_warning(n: usize) -> String {
    format!(
        "{n} guest{} (B2B account{}) in this group get its licenses: Microsoft advises against licensing groups that contain guests; license guests directly instead",
        if n == 1 { "" } else { "s" },
        if n == 1 { "" } else { "s" },
    )
}

/// How many guests are transitive user members of `group`.
pub(crate) async fn guest_members(
    tx: &mut TenantTx,
    groups: &Groups,
    group: GroupId,
) -> Result<usize> {
    Ok(tx.live_guest_members(&groups.descendants(group)).await? as usize)
}

/// A group by id, display name or mail nickname.
pub(crate) async fn find_group(tx: &mut TenantTx, key: &str) -> Result<Group> {
    let key = key.trim();
    if let Ok(id) = GroupId::parse(key) {
        if let Some(g) = tx.group(id).await? {
            return Ok(g);
        }
        return Err(unknown_group(key));
    }
    let mut hits = tx.groups_named(key).await?;
    match hits.len() {
        0 => Err(unknown_group(key)),
        1 => Ok(hits.remove(0)),
        n => Err(Problem::AmbiguousGroup {
            key: key.to_string(),
            count: n,
        }
        .into()),
    }
}

fn unknown_group(key: &str) -> AppError {
    Problem::UnknownGroup {
        key: key.to_string(),
        close: Vec::new(),
    }
    .into()
}

/// Whether the error says that no user (or group) has the key.
fn is_unknown(e: &AppError) -> bool {
    matches!(e, AppError::NotFound(_))
        || e.refusal().is_some_and(|r| {
            matches!(
                r.problems.as_slice(),
                [Problem::UnknownUser { .. } | Problem::UnknownGroup { .. }]
            )
        })
}

/// A missing (`None`) or invalid property of a group: Graph's text for Graph, a sentence for
/// the admin.
fn group_property(property: &'static str, value: Option<&str>) -> AppError {
    Problem::Property {
        resource: "Group",
        property,
        value: value.map(str::to_string),
    }
    .into()
}

impl App {
    pub async fn create_group(&self, tenant: &Tenant, n: NewGroup, actor: &Actor) -> Result<Group> {
        if !actor.may(Action::ManageGroups) {
            return Err(AppError::forbidden());
        }
        let name = n.display_name.trim().to_string();
        if name.is_empty() {
            return Err(group_property("displayName", None));
        }
        let nick = n
            .mail_nickname
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| {
                name.chars()
                    .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                    .collect()
            });
        if nick.is_empty()
            || nick.chars().count() > 64
            || !nick.is_ascii()
            || nick.contains([
                '@', '(', ')', '\\', '[', ']', '"', ';', ':', '.', '<', '>', ',', ' ',
            ])
        {
            return Err(group_property("mailNickname", Some(&nick)));
        }
        if let Some(r) = &n.membership_rule {
            self.rules.get(r.trim())?;
        }
        let (mut tx, cx) = self.begin(tenant).await?;
        let g = Group {
            id: GroupId::new(),
            display_name: name,
            description: n.description.filter(|d| !d.trim().is_empty()),
            mail_nickname: nick,
            kind: n.kind,
            security_enabled: n.security_enabled,
            mail_enabled: n.mail_enabled,
            membership_rule: n.membership_rule.map(|r| r.trim().to_string()),
            rule_paused: false,
            license_priority: n.license_priority,
            created_at: cx.now,
        };
        tx.insert_group(&g).await?;
        let joined = sync_dynamic_group(&mut tx, &self.rules, &g, cx.now).await?;
        let mut audit = Audit::new(actor, cx.now);
        audit.push(
            "GroupManagement",
            "Add group",
            "Group",
            g.id.to_string(),
            g.display_name.clone(),
            vec![],
            None,
        );
        for u in &joined {
            audit.push(
                "GroupManagement",
                "Add member to group",
                "Group",
                g.id.to_string(),
                g.display_name.clone(),
                vec![("Member", String::new(), u.to_string())],
                None,
            );
        }
        tx.insert_audit(&audit.rows).await?;
        tx.commit().await?;
        Ok(g)
    }

    pub async fn group(&self, tenant: &Tenant, key: &str) -> Result<Group> {
        let mut tx = self.store().read(tenant.id).await?;
        let g = find_group(&mut tx, key).await?;
        tx.commit().await?;
        Ok(g)
    }

    pub async fn groups(&self, tenant: &Tenant) -> Result<Vec<Group>> {
        let mut tx = self.store().read(tenant.id).await?;
        let g = tx.groups().await?;
        tx.commit().await?;
        Ok(g)
    }

    /// Changes a group. A new membership rule is applied at once: users who stop matching leave
    /// the group and lose what it licensed (rulebook §2.4 "Dynamic rule edited").
    pub async fn update_group(
        &self,
        tenant: &Tenant,
        key: &str,
        p: GroupPatch,
        actor: &Actor,
    ) -> Result<Group> {
        let licensing_only = p.display_name.is_none()
            && p.description.is_none()
            && p.membership_rule.is_none()
            && p.rule_paused.is_none();
        let allowed = actor.may(Action::ManageGroups)
            || (licensing_only && actor.may(Action::AssignGroupLicense));
        if !allowed {
            return Err(AppError::forbidden());
        }
        let (mut tx, cx) = self.begin(tenant).await?;
        let mut g = find_group(&mut tx, key).await?;
        if let Some(n) = p.display_name {
            if n.trim().is_empty() {
                return Err(group_property("displayName", Some(&n)));
            }
            g.display_name = n.trim().to_string();
        }
        if let Some(d) = p.description {
            g.description = d.filter(|d| !d.trim().is_empty());
        }
        let mut affected: Vec<UserId> = Vec::new();
        if let Some(r) = p.membership_rule {
            self.rules.get(r.trim())?;
            if !g.is_dynamic() {
                // Static → dynamic: the static members are removed first (rulebook §2.4).
                let members = tx.members_of(g.id).await?;
                if members.iter().any(|m| m.kind == MemberKind::Group) {
                    return Err(bad("a group with nested groups cannot become dynamic: remove its group members first"));
                }
                for m in members {
                    tx.remove_membership(g.id, m.member_id).await?;
                    affected.push(UserId(m.member_id));
                }
            }
            g.membership_rule = Some(r.trim().to_string());
        }
        if let Some(paused) = p.rule_paused {
            g.rule_paused = paused;
        }
        let priority_changed = p
            .license_priority
            .is_some_and(|pr| pr != g.license_priority);
        if let Some(pr) = p.license_priority {
            g.license_priority = pr;
        }
        tx.update_group(&g).await?;
        affected.extend(sync_dynamic_group(&mut tx, &self.rules, &g, cx.now).await?);
        let groups = Groups::load(&mut tx).await?;
        if priority_changed {
            affected.extend(transitive_user_members(&mut tx, &groups, g.id).await?);
        }
        affected.sort();
        affected.dedup();
        reconcile(&mut tx, &cx, &groups, &affected, &[]).await?;
        let mut audit = Audit::new(actor, cx.now);
        audit.push(
            "GroupManagement",
            "Update group",
            "Group",
            g.id.to_string(),
            g.display_name.clone(),
            vec![],
            None,
        );
        tx.insert_audit(&audit.rows).await?;
        tx.commit().await?;
        Ok(g)
    }

    /// Deletes a group. Refused while it assigns licenses (D10, rulebook §2.4).
    pub async fn delete_group(&self, tenant: &Tenant, key: &str, actor: &Actor) -> Result<Group> {
        if !actor.may(Action::ManageGroups) {
            return Err(AppError::forbidden());
        }
        let (mut tx, cx) = self.begin(tenant).await?;
        let g = find_group(&mut tx, key).await?;
        let groups = Groups::load(&mut tx).await?;
        if groups.is_licensed(g.id) {
            let catalog = self.catalog(&mut tx).await?;
            let mut products: Vec<ProductRef> = groups
                .licenses
                .get(&g.id)
                .into_iter()
                .flatten()
                .map(|a| ProductRef::of(&catalog, a.sku_id))
                .collect();
            products.sort_by(|a, b| a.name.cmp(&b.name));
            return Err(Problem::GroupHasLicenses {
                group: g.display_name.clone(),
                products,
            }
            .into());
        }
        // Members of licensed parent groups lose the licenses this group passed on.
        let affected = transitive_user_members(&mut tx, &groups, g.id).await?;
        tx.delete_group(g.id).await?;
        let groups = Groups::load(&mut tx).await?;
        reconcile(&mut tx, &cx, &groups, &affected, &[]).await?;
        let mut audit = Audit::new(actor, cx.now);
        audit.push(
            "GroupManagement",
            "Delete group",
            "Group",
            g.id.to_string(),
            g.display_name.clone(),
            vec![],
            None,
        );
        tx.insert_audit(&audit.rows).await?;
        tx.commit().await?;
        Ok(g)
    }

    /// Adds a user or a group (nested, D2) to a static group; the member's licenses follow
    /// inside the same transaction (D13).
    pub async fn add_member(
        &self,
        tenant: &Tenant,
        group: &str,
        member: &str,
        actor: &Actor,
    ) -> Result<()> {
        self.change_members(tenant, group, &[member.to_string()], actor, true)
            .await
    }

    pub async fn remove_member(
        &self,
        tenant: &Tenant,
        group: &str,
        member: &str,
        actor: &Actor,
    ) -> Result<()> {
        self.change_members(tenant, group, &[member.to_string()], actor, false)
            .await
    }

    /// Adds (or removes) several members in one transaction: all of them, or none when one is
    /// refused (Graph: "any error ⇒ none added").
    pub async fn change_members(
        &self,
        tenant: &Tenant,
        group: &str,
        members: &[String],
        actor: &Actor,
        add: bool,
    ) -> Result<()> {
        if !actor.may(Action::ManageMembers) {
            return Err(AppError::forbidden());
        }
        let (mut tx, cx) = self.begin(tenant).await?;
        let mut audit = Audit::new(actor, cx.now);
        let mut affected = write_members(&mut tx, &cx, group, members, add, &mut audit).await?;
        affected.sort();
        affected.dedup();
        let groups = Groups::load(&mut tx).await?;
        let r = reconcile(&mut tx, &cx, &groups, &affected, &[]).await?;
        crate::licenses::audit_license_changes(&mut audit, &mut tx, &r).await?;
        tx.insert_audit(&audit.rows).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Direct members of a group: users and groups.
    pub async fn group_members(
        &self,
        tenant: &Tenant,
        key: &str,
    ) -> Result<(Vec<User>, Vec<Group>)> {
        let mut tx = self.store().read(tenant.id).await?;
        let g = find_group(&mut tx, key).await?;
        let rows = tx.members_of(g.id).await?;
        let user_ids: Vec<UserId> = rows
            .iter()
            .filter(|m| m.kind == MemberKind::User)
            .map(|m| UserId(m.member_id))
            .collect();
        let mut users = tx.users_by_ids(&user_ids).await?;
        users.retain(|u| !u.is_deleted());
        users.sort_by_key(|a| a.upn.to_lowercase());
        let mut groups = Vec::new();
        for m in rows.iter().filter(|m| m.kind == MemberKind::Group) {
            if let Some(c) = tx.group(GroupId(m.member_id)).await? {
                groups.push(c);
            }
        }
        tx.commit().await?;
        Ok((users, groups))
    }
}

/// The intent part of adding or removing members (shared by [`App::change_members`] and the
/// what-if preview): checks every member (all problems named, D2 cycles refused), writes the
/// memberships and their audit rows, and returns the users whose licenses may change.
pub(crate) async fn write_members(
    tx: &mut TenantTx,
    cx: &Ctx,
    group: &str,
    members: &[String],
    add: bool,
    audit: &mut Audit<'_>,
) -> Result<Vec<UserId>> {
    let g = find_group(tx, group).await?;
    if g.is_dynamic() {
        return Err(Problem::DynamicMembers {
            group: g.display_name.clone(),
            rule: g.membership_rule.clone().unwrap_or_default(),
        }
        .into());
    }
    let mut affected: Vec<UserId> = Vec::new();
    // Every member that cannot be added (or removed) is named, not only the first; the
    // first is Graph's answer.
    let mut problems: Vec<Problem> = Vec::new();
    for member in members {
        let groups = Groups::load(tx).await?;
        let mut guest = false;
        let (member_id, kind, name) = match find_user(tx, member).await {
            Ok(u) => {
                guest = u.user_type == skuld_domain::UserType::Guest;
                (u.id.0, MemberKind::User, u.upn)
            }
            Err(e) if is_unknown(&e) => match find_group(tx, member).await {
                Ok(m) => (m.id.0, MemberKind::Group, m.display_name),
                Err(e) if is_unknown(&e) => {
                    problems.push(Problem::UnknownMember {
                        key: member.trim().to_string(),
                    });
                    continue;
                }
                Err(e) => return Err(e),
            },
            Err(e) => return Err(e),
        };
        if add && kind == MemberKind::Group {
            let child = GroupId(member_id);
            // D2: a group may not contain itself, directly or through others.
            if child == g.id || groups.descendants(child).contains(&g.id) {
                problems.push(Problem::Cycle {
                    group: g.display_name.clone(),
                    member: name,
                });
                continue;
            }
        }
        // Users below a group member are affected whether it joins or leaves.
        match kind {
            MemberKind::User => affected.push(UserId(member_id)),
            MemberKind::Group => {
                affected.extend(transitive_user_members(tx, &groups, GroupId(member_id)).await?)
            }
        }
        let changed = if add {
            tx.add_membership(&MembershipRow {
                group_id: g.id,
                member_id,
                kind,
                dynamic: false,
                created_at: cx.now,
            })
            .await?
        } else {
            tx.remove_membership(g.id, member_id).await?
        };
        if !changed {
            let (group, member) = (g.display_name.clone(), name);
            problems.push(if add {
                Problem::AlreadyMember { group, member }
            } else {
                Problem::NotMember { group, member }
            });
            continue;
        }
        let act = if add {
            "Add member to group"
        } else {
            "Remove member from group"
        };
        let mut modified = vec![("Member", String::new(), name)];
        // Item 20: a guest joining a group that licenses (itself or through a parent) is
        // allowed but flagged.
        if add && guest {
            let licensing = groups
                .transitive(&[(g.id, cx.now)])
                .keys()
                .any(|x| groups.is_licensed(*x));
            if licensing {
                modified.push((
                    "GuestLicensingWarning",
                    String::new(),
                    guest_license_warning(1),
                ));
            }
        }
        audit.push(
            "GroupManagement",
            act,
            "Group",
            g.id.to_string(),
            g.display_name.clone(),
            modified,
            None,
        );
    }
    if !problems.is_empty() {
        return Err(Refusal { problems }.into());
    }
    Ok(affected)
}
