//! Tenant-scoped queries. A [`TenantTx`] is one transaction bound to one tenant: every statement
//! below filters on `tenant_id = $1`.

use crate::codec::{decode_plans, encode_plans, list_placeholders, parse, values_placeholders};
use crate::group_summary::MemberCounts;
use crate::{Backend, Result, StoreError};
use futures_util::TryStreamExt;
use skuld_domain::catalog::{AppliesTo, Plan, Product};
use skuld_domain::directory::GroupKind;
use skuld_domain::licensing::{Derived, LicenseError, PathState, PathStatus, Source};
use skuld_domain::{
    DirectoryRole, Group, GroupId, PlanId, SkuId, Subscription, SubscriptionId, TenantId,
    Timestamp, UsageLocation, User, UserId, UserType,
};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};
use std::collections::{HashMap, HashSet};

/// Ids per IN list; far below both backends' parameter limits.
const CHUNK: usize = 500;
/// Rows per multi-row insert of path states (12 columns).
const STATE_BATCH: usize = 1000;

/// Whether a member is a user or a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MemberKind {
    User,
    Group,
}

impl MemberKind {
    fn as_str(&self) -> &'static str {
        match self {
            MemberKind::User => "user",
            MemberKind::Group => "group",
        }
    }
}

/// One membership edge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MembershipRow {
    pub group_id: GroupId,
    pub member_id: uuid::Uuid,
    pub kind: MemberKind,
    pub dynamic: bool,
    pub created_at: Timestamp,
}

/// A license a group assigns to its members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupAssignmentRow {
    pub group_id: GroupId,
    pub sku_id: SkuId,
    pub disabled_plans: Vec<PlanId>,
    pub created_at: Timestamp,
}

/// A path state with its user.
pub type StoredPathState = (UserId, PathState);

/// One audit event (rendered as Graph `directoryAudit` by the protocol crates).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    pub id: String,
    pub seq: i64,
    pub at: Timestamp,
    pub category: String,
    pub activity: String,
    pub result: String,
    pub result_reason: String,
    pub actor: String,
    /// `user`, `app`, `system` or `operator`.
    pub actor_kind: String,
    /// The user id or app id of the actor; empty for the system and the operator.
    pub actor_id: String,
    pub target_type: String,
    pub target_id: String,
    pub target_name: String,
    /// JSON array of `{displayName, oldValue, newValue}`.
    pub modified: String,
}

pub struct TenantTx {
    pub(crate) tx: Transaction<'static, Any>,
    pub(crate) tenant: TenantId,
    pub(crate) tid: String,
    pub(crate) backend: Backend,
}

const USER_COLS: &str = "id, upn, display_name, given_name, surname, mail_nickname, mail, usage_location, user_type, account_enabled, job_title, department, company_name, employee_id, office_location, business_phone, mobile_phone, fax, street_address, city, state, postal_code, country, password_hash, force_change_password, created_at, deleted_at, on_prem_sync";
const GROUP_COLS: &str = "id, display_name, description, mail_nickname, kind, security_enabled, mail_enabled, membership_rule, rule_paused, license_priority, created_at";
const STATE_COLS: &str = "user_id, sku_id, source, status, error, applied, disabled_plans, since, priority, detail, updated_at";

pub(crate) fn id<T: std::str::FromStr>(s: &str) -> Result<T>
where
    T::Err: std::fmt::Display,
{
    parse(s)
}

pub(crate) fn user_from_row(r: &AnyRow) -> Result<User> {
    let loc: Option<String> = r.try_get("usage_location")?;
    let ut: String = r.try_get("user_type")?;
    let sync: Option<i64> = r.try_get("on_prem_sync")?;
    Ok(User {
        id: id(&r.try_get::<String, _>("id")?)?,
        upn: r.try_get("upn")?,
        display_name: r.try_get("display_name")?,
        given_name: r.try_get("given_name")?,
        surname: r.try_get("surname")?,
        mail_nickname: r.try_get("mail_nickname")?,
        mail: r.try_get("mail")?,
        usage_location: loc
            .map(|l| UsageLocation::parse(&l))
            .transpose()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        user_type: parse::<UserType>(&ut)?,
        account_enabled: r.try_get::<i64, _>("account_enabled")? != 0,
        job_title: r.try_get("job_title")?,
        department: r.try_get("department")?,
        company_name: r.try_get("company_name")?,
        employee_id: r.try_get("employee_id")?,
        office_location: r.try_get("office_location")?,
        business_phone: r.try_get("business_phone")?,
        mobile_phone: r.try_get("mobile_phone")?,
        fax: r.try_get("fax")?,
        street_address: r.try_get("street_address")?,
        city: r.try_get("city")?,
        state: r.try_get("state")?,
        postal_code: r.try_get("postal_code")?,
        country: r.try_get("country")?,
        password_hash: r.try_get("password_hash")?,
        force_change_password: r.try_get::<i64, _>("force_change_password")? != 0,
        created_at: Timestamp(r.try_get("created_at")?),
        deleted_at: r.try_get::<Option<i64>, _>("deleted_at")?.map(Timestamp),
        on_premises_sync_enabled: sync.map(|v| v != 0),
    })
}

pub(crate) fn group_from_row(r: &AnyRow) -> Result<Group> {
    let kind: String = r.try_get("kind")?;
    Ok(Group {
        id: id(&r.try_get::<String, _>("id")?)?,
        display_name: r.try_get("display_name")?,
        description: r.try_get("description")?,
        mail_nickname: r.try_get("mail_nickname")?,
        kind: if kind == "Microsoft365" {
            GroupKind::Microsoft365
        } else {
            GroupKind::Security
        },
        security_enabled: r.try_get::<i64, _>("security_enabled")? != 0,
        mail_enabled: r.try_get::<i64, _>("mail_enabled")? != 0,
        membership_rule: r.try_get("membership_rule")?,
        rule_paused: r.try_get::<i64, _>("rule_paused")? != 0,
        license_priority: r.try_get::<i64, _>("license_priority")? as i32,
        created_at: Timestamp(r.try_get("created_at")?),
    })
}

fn source_str(s: &Source) -> String {
    match s {
        Source::Direct => "direct".to_string(),
        Source::Group(g) => g.to_string(),
    }
}

fn state_from_row(r: &AnyRow) -> Result<StoredPathState> {
    let src: String = r.try_get("source")?;
    let source = if src == "direct" {
        Source::Direct
    } else {
        Source::Group(id(&src)?)
    };
    Ok((
        id(&r.try_get::<String, _>("user_id")?)?,
        PathState {
            sku: id(&r.try_get::<String, _>("sku_id")?)?,
            source,
            status: parse::<PathStatus>(&r.try_get::<String, _>("status")?)?,
            error: parse::<LicenseError>(&r.try_get::<String, _>("error")?)?,
            applied: r.try_get::<i64, _>("applied")? != 0,
            disabled_plans: decode_plans(&r.try_get::<String, _>("disabled_plans")?)?,
            since: Timestamp(r.try_get("since")?),
            priority: r.try_get::<i64, _>("priority")? as i32,
            detail: r.try_get("detail")?,
            updated_at: Timestamp(r.try_get("updated_at")?),
        },
    ))
}

// Columns by position: group_id, member_id, member_kind, dynamic, created_at.
fn membership_from_row(r: &AnyRow) -> Result<MembershipRow> {
    let kind: &str = r.try_get(2)?;
    Ok(MembershipRow {
        group_id: id(r.try_get::<&str, _>(0)?)?,
        member_id: id(r.try_get::<&str, _>(1)?)?,
        kind: if kind == "group" {
            MemberKind::Group
        } else {
            MemberKind::User
        },
        dynamic: r.try_get::<i64, _>(3)? != 0,
        created_at: Timestamp(r.try_get(4)?),
    })
}

fn subscription_from_row(r: &AnyRow) -> Result<Subscription> {
    let owner: Option<String> = r.try_get("self_service_owner")?;
    Ok(Subscription {
        id: id(&r.try_get::<String, _>("id")?)?,
        sku_id: id(&r.try_get::<String, _>("sku_id")?)?,
        units: r.try_get("units")?,
        status: parse(&r.try_get::<String, _>("status")?)?,
        is_trial: r.try_get::<i64, _>("is_trial")? != 0,
        self_service_owner: owner.map(|o| id(&o)).transpose()?,
        created_at: Timestamp(r.try_get("created_at")?),
        next_lifecycle_at: r
            .try_get::<Option<i64>, _>("next_lifecycle_at")?
            .map(Timestamp),
    })
}

impl TenantTx {
    pub(crate) fn new(tx: Transaction<'static, Any>, tenant: TenantId, backend: Backend) -> Self {
        Self {
            tx,
            tenant,
            tid: tenant.to_string(),
            backend,
        }
    }

    /// The tenant parameter of a statement that also has an anonymous list (see codec).
    fn p1(&self) -> &'static str {
        if self.backend == Backend::Sqlite {
            "?"
        } else {
            "$1"
        }
    }

    /// `select` (a `SELECT … FROM table` without WHERE) restricted to this tenant and, when `keys`
    /// is given, to rows whose `key_col` is one of them (in chunks); rows are mapped as they come.
    async fn select_scoped<T>(
        &mut self,
        select: &str,
        key_col: &str,
        keys: Option<Vec<String>>,
        map: impl Fn(&AnyRow) -> Result<T>,
    ) -> Result<Vec<T>> {
        let base = format!("{select} WHERE tenant_id = {}", self.p1());
        let mut out = Vec::new();
        match keys {
            None => {
                let q = sqlx::query(&base).bind(&self.tid);
                map_rows(&mut self.tx, q, &mut out, &map).await?;
            }
            Some(keys) => {
                for chunk in keys.chunks(CHUNK) {
                    let sql = format!(
                        "{base} AND {key_col} IN ({})",
                        list_placeholders(self.backend, 2, chunk.len())
                    );
                    let mut q = sqlx::query(&sql).bind(&self.tid);
                    for k in chunk {
                        q = q.bind(k.as_str());
                    }
                    map_rows(&mut self.tx, q, &mut out, &map).await?;
                }
            }
        }
        Ok(out)
    }

    pub fn tenant(&self) -> TenantId {
        self.tenant
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub async fn commit(self) -> Result<()> {
        self.tx.commit().await?;
        Ok(())
    }

    pub async fn rollback(self) -> Result<()> {
        self.tx.rollback().await?;
        Ok(())
    }

    // ---- users ----------------------------------------------------------------------------

    pub async fn insert_user(&mut self, u: &User) -> Result<()> {
        let sql = format!(
            "INSERT INTO users (tenant_id, upn_key, {USER_COLS}) VALUES ({})",
            list_placeholders(self.backend, 1, 30)
        );
        bind_user(
            sqlx::query(&sql)
                .bind(&self.tid)
                .bind(u.upn.to_ascii_lowercase()),
            u,
        )
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Writes every column of an existing user.
    pub async fn update_user(&mut self, u: &User) -> Result<()> {
        // A soft delete or a restore moves the live-member counters of the user's groups.
        let was: Option<Option<i64>> =
            sqlx::query_scalar("SELECT deleted_at FROM users WHERE tenant_id = $1 AND id = $2")
                .bind(&self.tid)
                .bind(u.id.to_string())
                .fetch_optional(&mut *self.tx)
                .await?;
        if let Some(was) = was {
            match (was.is_some(), u.deleted_at.is_some()) {
                (false, true) => self.shift_live_member_counts(u.id, -1).await?,
                (true, false) => self.shift_live_member_counts(u.id, 1).await?,
                _ => {}
            }
        }
        let sets: Vec<String> = USER_COLS
            .split(", ")
            .enumerate()
            .skip(1)
            .map(|(i, c)| format!("{c} = ${}", i + 3))
            .collect();
        let sql = format!(
            "UPDATE users SET upn_key = $2, {} WHERE tenant_id = $1 AND id = $3",
            sets.join(", ")
        );
        bind_user(
            sqlx::query(&sql)
                .bind(&self.tid)
                .bind(u.upn.to_ascii_lowercase()),
            u,
        )
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    pub async fn user(&mut self, user: UserId) -> Result<Option<User>> {
        let sql = format!("SELECT {USER_COLS} FROM users WHERE tenant_id = $1 AND id = $2");
        let row = sqlx::query(&sql)
            .bind(&self.tid)
            .bind(user.to_string())
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    /// A live user by UPN (case-insensitive).
    pub async fn user_by_upn(&mut self, upn: &str) -> Result<Option<User>> {
        let sql = format!(
            "SELECT {USER_COLS} FROM users WHERE tenant_id = $1 AND upn_key = $2 AND deleted_at IS NULL"
        );
        let row = sqlx::query(&sql)
            .bind(&self.tid)
            .bind(upn.trim().to_ascii_lowercase())
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    /// Soft-deleted users with this UPN, newest first.
    pub async fn deleted_users_by_upn(&mut self, upn: &str) -> Result<Vec<User>> {
        let sql = format!(
            "SELECT {USER_COLS} FROM users WHERE tenant_id = $1 AND upn_key = $2 AND deleted_at IS NOT NULL ORDER BY deleted_at DESC"
        );
        let rows = sqlx::query(&sql)
            .bind(&self.tid)
            .bind(upn.trim().to_ascii_lowercase())
            .fetch_all(&mut *self.tx)
            .await?;
        rows.iter().map(user_from_row).collect()
    }

    /// Users ordered by UPN; `deleted` selects soft-deleted ones instead of live ones.
    pub async fn users(&mut self, deleted: bool, limit: i64, offset: i64) -> Result<Vec<User>> {
        let cond = if deleted {
            "deleted_at IS NOT NULL"
        } else {
            "deleted_at IS NULL"
        };
        let sql = format!(
            "SELECT {USER_COLS} FROM users WHERE tenant_id = $1 AND {cond} ORDER BY upn_key, id LIMIT $2 OFFSET $3"
        );
        let rows = sqlx::query(&sql)
            .bind(&self.tid)
            .bind(limit)
            .bind(offset)
            .fetch_all(&mut *self.tx)
            .await?;
        rows.iter().map(user_from_row).collect()
    }

    /// Every user, live and deleted.
    pub async fn all_users(&mut self) -> Result<Vec<User>> {
        let sql = format!("SELECT {USER_COLS} FROM users WHERE tenant_id = $1");
        let rows = sqlx::query(&sql)
            .bind(&self.tid)
            .fetch_all(&mut *self.tx)
            .await?;
        rows.iter().map(user_from_row).collect()
    }

    pub async fn users_by_ids(&mut self, ids: &[UserId]) -> Result<Vec<User>> {
        let keys = ids.iter().map(|u| u.to_string()).collect();
        self.select_scoped(
            &format!("SELECT {USER_COLS} FROM users"),
            "id",
            Some(keys),
            user_from_row,
        )
        .await
    }

    /// What licensing needs of users: id, usage location, soft-deleted. Of the given users, or of
    /// everybody when `users` is None (cheaper than whole rows for large fan-outs).
    pub async fn licensing_users(
        &mut self,
        users: Option<&[UserId]>,
    ) -> Result<Vec<(UserId, Option<UsageLocation>, bool)>> {
        let keys = users.map(|ids| ids.iter().map(|u| u.to_string()).collect());
        self.select_scoped(
            "SELECT id, usage_location, deleted_at FROM users",
            "id",
            keys,
            |r| {
                let loc: Option<String> = r.try_get(1)?;
                Ok((
                    id(&r.try_get::<String, _>(0)?)?,
                    loc.map(|l| UsageLocation::parse(&l))
                        .transpose()
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    r.try_get::<Option<i64>, _>(2)?.is_some(),
                ))
            },
        )
        .await
    }

    pub async fn count_users(&mut self, deleted: bool) -> Result<i64> {
        let cond = if deleted {
            "deleted_at IS NOT NULL"
        } else {
            "deleted_at IS NULL"
        };
        let sql = format!("SELECT COUNT(*) FROM users WHERE tenant_id = $1 AND {cond}");
        Ok(sqlx::query_scalar::<_, i64>(&sql)
            .bind(&self.tid)
            .fetch_one(&mut *self.tx)
            .await?)
    }

    /// Removes the user's licensing intent (memberships and direct assignments): the first
    /// step of a purge, after which `reconcile` drops the user's states and seats.
    pub async fn remove_user_claims(&mut self, user: UserId) -> Result<()> {
        self.leave_member_counts(user.0, MemberKind::User).await?;
        let u = user.to_string();
        for sql in [
            "DELETE FROM memberships WHERE tenant_id = $1 AND member_id = $2",
            "DELETE FROM direct_assignments WHERE tenant_id = $1 AND user_id = $2",
        ] {
            sqlx::query(sql)
                .bind(&self.tid)
                .bind(&u)
                .execute(&mut *self.tx)
                .await?;
        }
        Ok(())
    }

    /// Removes a user and everything that hangs off it, for good. Derived state is not this
    /// method's to write: the user's path states must already be gone (a purge runs
    /// `reconcile` after [`TenantTx::remove_user_claims`]), otherwise this refuses.
    pub async fn hard_delete_user(&mut self, user: UserId) -> Result<()> {
        let u = user.to_string();
        let left: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM path_states WHERE tenant_id = $1 AND user_id = $2",
        )
        .bind(&self.tid)
        .bind(&u)
        .fetch_one(&mut *self.tx)
        .await?;
        if left > 0 {
            return Err(StoreError::Corrupt(format!(
                "user {user} still has {left} license state(s): purge through reconcile"
            )));
        }
        self.remove_user_claims(user).await?;
        for sql in [
            "DELETE FROM role_assignments WHERE tenant_id = $1 AND user_id = $2",
            "DELETE FROM users WHERE tenant_id = $1 AND id = $2",
        ] {
            sqlx::query(sql)
                .bind(&self.tid)
                .bind(&u)
                .execute(&mut *self.tx)
                .await?;
        }
        Ok(())
    }

    /// Inserts many users in multi-row statements (bulk import, benchmarks).
    pub async fn insert_users(&mut self, users: &[User]) -> Result<()> {
        for chunk in users.chunks(500) {
            let sql = format!(
                "INSERT INTO users (tenant_id, upn_key, {USER_COLS}) VALUES {}",
                values_placeholders(self.backend, 30, chunk.len())
            );
            let mut q = sqlx::query(&sql);
            for u in chunk {
                q = bind_user(q.bind(&self.tid).bind(u.upn.to_ascii_lowercase()), u);
            }
            q.execute(&mut *self.tx).await?;
        }
        Ok(())
    }

    // ---- groups ---------------------------------------------------------------------------

    pub async fn insert_group(&mut self, g: &Group) -> Result<()> {
        let sql = format!(
            "INSERT INTO dir_groups (tenant_id, {GROUP_COLS}) VALUES ({})",
            list_placeholders(self.backend, 1, 12)
        );
        bind_group(sqlx::query(&sql).bind(&self.tid), g)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    pub async fn update_group(&mut self, g: &Group) -> Result<()> {
        let sets: Vec<String> = GROUP_COLS
            .split(", ")
            .enumerate()
            .skip(1)
            .map(|(i, c)| format!("{c} = ${}", i + 2))
            .collect();
        let sql = format!(
            "UPDATE dir_groups SET {} WHERE tenant_id = $1 AND id = $2",
            sets.join(", ")
        );
        bind_group(sqlx::query(&sql).bind(&self.tid), g)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    pub async fn group(&mut self, group: GroupId) -> Result<Option<Group>> {
        let sql = format!("SELECT {GROUP_COLS} FROM dir_groups WHERE tenant_id = $1 AND id = $2");
        let row = sqlx::query(&sql)
            .bind(&self.tid)
            .bind(group.to_string())
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map(group_from_row).transpose()
    }

    /// Groups whose display name or mail nickname is `name` (case-insensitive).
    pub async fn groups_named(&mut self, name: &str) -> Result<Vec<Group>> {
        let sql = format!(
            "SELECT {GROUP_COLS} FROM dir_groups WHERE tenant_id = $1 AND (LOWER(display_name) = $2 OR LOWER(mail_nickname) = $2) ORDER BY created_at"
        );
        let rows = sqlx::query(&sql)
            .bind(&self.tid)
            .bind(name.trim().to_lowercase())
            .fetch_all(&mut *self.tx)
            .await?;
        rows.iter().map(group_from_row).collect()
    }

    pub async fn groups(&mut self) -> Result<Vec<Group>> {
        let sql = format!(
            "SELECT {GROUP_COLS} FROM dir_groups WHERE tenant_id = $1 ORDER BY display_name, id"
        );
        let rows = sqlx::query(&sql)
            .bind(&self.tid)
            .fetch_all(&mut *self.tx)
            .await?;
        rows.iter().map(group_from_row).collect()
    }

    pub async fn delete_group(&mut self, group: GroupId) -> Result<()> {
        self.leave_member_counts(group.0, MemberKind::Group).await?;
        self.drop_member_counts(group).await?;
        let g = group.to_string();
        for sql in [
            "DELETE FROM memberships WHERE tenant_id = $1 AND (group_id = $2 OR member_id = $2)",
            "DELETE FROM group_assignments WHERE tenant_id = $1 AND group_id = $2",
            "DELETE FROM dir_groups WHERE tenant_id = $1 AND id = $2",
        ] {
            sqlx::query(sql)
                .bind(&self.tid)
                .bind(&g)
                .execute(&mut *self.tx)
                .await?;
        }
        Ok(())
    }

    // ---- memberships ----------------------------------------------------------------------

    /// Adds a membership; returns false when it already existed.
    pub async fn add_membership(&mut self, m: &MembershipRow) -> Result<bool> {
        let n = sqlx::query(
            "INSERT INTO memberships (tenant_id, group_id, member_id, member_kind, dynamic, created_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id, group_id, member_id) DO NOTHING",
        )
        .bind(&self.tid)
        .bind(m.group_id.to_string())
        .bind(m.member_id.to_string())
        .bind(m.kind.as_str())
        .bind(m.dynamic as i64)
        .bind(m.created_at.0)
        .execute(&mut *self.tx)
        .await?
        .rows_affected();
        if n > 0 {
            let d = self.member_delta(m.member_id, m.kind).await?;
            self.bump_member_counts(m.group_id, d).await?;
        }
        Ok(n > 0)
    }

    /// Inserts many memberships (bulk import, dynamic groups, benchmarks); the ones that
    /// already exist are left as they are.
    pub async fn add_memberships(&mut self, rows: &[MembershipRow]) -> Result<()> {
        let mut deltas: HashMap<GroupId, MemberCounts> = HashMap::new();
        for chunk in rows.chunks(1000) {
            let sql = format!(
                "INSERT INTO memberships (tenant_id, group_id, member_id, member_kind, dynamic, created_at) VALUES {} ON CONFLICT (tenant_id, group_id, member_id) DO NOTHING RETURNING group_id, member_id, member_kind",
                values_placeholders(self.backend, 6, chunk.len())
            );
            let mut q = sqlx::query(&sql);
            for m in chunk {
                q = q
                    .bind(&self.tid)
                    .bind(m.group_id.to_string())
                    .bind(m.member_id.to_string())
                    .bind(m.kind.as_str())
                    .bind(m.dynamic as i64)
                    .bind(m.created_at.0);
            }
            // What was inserted, and which of the inserted users are soft-deleted.
            let mut added: Vec<(GroupId, String, bool)> = Vec::new();
            map_rows(&mut self.tx, q, &mut added, |r| {
                Ok((
                    id(r.try_get::<&str, _>(0)?)?,
                    r.try_get::<String, _>(1)?,
                    r.try_get::<&str, _>(2)? == "group",
                ))
            })
            .await?;
            let users: Vec<String> = added
                .iter()
                .filter(|(_, _, g)| !g)
                .map(|(_, m, _)| m.clone())
                .collect();
            let deleted: HashSet<String> = if users.is_empty() {
                HashSet::new()
            } else {
                let sql = format!(
                    "SELECT id FROM users WHERE tenant_id = {} AND deleted_at IS NOT NULL AND id IN ({})",
                    if self.backend == Backend::Sqlite { "?" } else { "$1" },
                    list_placeholders(self.backend, 2, users.len())
                );
                let mut q = sqlx::query_scalar::<_, String>(&sql).bind(&self.tid);
                for u in &users {
                    q = q.bind(u);
                }
                q.fetch_all(&mut *self.tx).await?.into_iter().collect()
            };
            for (g, m, is_group) in added {
                let d = deltas.entry(g).or_default();
                if is_group {
                    d.groups += 1;
                } else {
                    d.users += 1;
                    d.live_users += !deleted.contains(&m) as i64;
                }
            }
        }
        for (g, d) in deltas {
            self.bump_member_counts(g, d).await?;
        }
        Ok(())
    }

    /// Removes a membership; returns false when there was none.
    pub async fn remove_membership(&mut self, group: GroupId, member: uuid::Uuid) -> Result<bool> {
        let kind: Option<String> = sqlx::query_scalar(
            "DELETE FROM memberships WHERE tenant_id = $1 AND group_id = $2 AND member_id = $3 RETURNING member_kind",
        )
        .bind(&self.tid)
        .bind(group.to_string())
        .bind(member.to_string())
        .fetch_optional(&mut *self.tx)
        .await?;
        let Some(kind) = kind else {
            return Ok(false);
        };
        let kind = if kind == "group" {
            MemberKind::Group
        } else {
            MemberKind::User
        };
        let d = self.member_delta(member, kind).await?;
        let down = MemberCounts {
            users: -d.users,
            live_users: -d.live_users,
            groups: -d.groups,
        };
        self.bump_member_counts(group, down).await?;
        Ok(true)
    }

    pub async fn members_of(&mut self, group: GroupId) -> Result<Vec<MembershipRow>> {
        let rows = sqlx::query("SELECT group_id, member_id, member_kind, dynamic, created_at FROM memberships WHERE tenant_id = $1 AND group_id = $2")
            .bind(&self.tid)
            .bind(group.to_string());
        let mut out = Vec::new();
        map_rows(&mut self.tx, rows, &mut out, membership_from_row).await?;
        Ok(out)
    }

    /// Ids and kinds of a group's direct members (an index-only read).
    pub async fn member_ids_of(&mut self, group: GroupId) -> Result<Vec<(uuid::Uuid, MemberKind)>> {
        let q = sqlx::query(
            "SELECT member_id, member_kind FROM memberships WHERE tenant_id = $1 AND group_id = $2",
        )
        .bind(&self.tid)
        .bind(group.to_string());
        let mut out = Vec::new();
        map_rows(&mut self.tx, q, &mut out, |r| {
            let kind: &str = r.try_get(1)?;
            Ok((
                id(r.try_get::<&str, _>(0)?)?,
                if kind == "group" {
                    MemberKind::Group
                } else {
                    MemberKind::User
                },
            ))
        })
        .await?;
        Ok(out)
    }

    /// One page of the members (users and groups) of any of `groups`, each once, ordered by id,
    /// after the id `after` (keyset paging of `members` and `transitiveMembers`). Deleted users
    /// are left out.
    pub async fn members_page(
        &mut self,
        groups: &[GroupId],
        after: Option<uuid::Uuid>,
        limit: i64,
    ) -> Result<Vec<(uuid::Uuid, MemberKind)>> {
        if groups.is_empty() {
            return Ok(Vec::new());
        }
        let ph = |i: usize| {
            if self.backend == Backend::Sqlite {
                "?".to_string()
            } else {
                format!("${i}")
            }
        };
        let sql = format!(
            "SELECT DISTINCT m.member_id, m.member_kind FROM memberships m
             WHERE m.tenant_id = {} AND m.group_id IN ({}) AND m.member_id > {}
               AND NOT EXISTS (SELECT 1 FROM users u WHERE u.tenant_id = m.tenant_id AND u.id = m.member_id AND u.deleted_at IS NOT NULL)
             ORDER BY m.member_id LIMIT {}",
            ph(1),
            list_placeholders(self.backend, 2, groups.len()),
            ph(groups.len() + 2),
            ph(groups.len() + 3),
        );
        let mut q = sqlx::query(&sql).bind(&self.tid);
        for g in groups {
            q = q.bind(g.to_string());
        }
        q = q
            .bind(after.map(|a| a.to_string()).unwrap_or_default())
            .bind(limit);
        let mut out = Vec::new();
        map_rows(&mut self.tx, q, &mut out, |r| {
            let kind: &str = r.try_get(1)?;
            Ok((
                id(r.try_get::<&str, _>(0)?)?,
                if kind == "group" {
                    MemberKind::Group
                } else {
                    MemberKind::User
                },
            ))
        })
        .await?;
        Ok(out)
    }

    /// Memberships whose member is one of `members`.
    pub async fn memberships_of(&mut self, members: &[uuid::Uuid]) -> Result<Vec<MembershipRow>> {
        let keys = members.iter().map(|m| m.to_string()).collect();
        self.select_scoped(
            "SELECT group_id, member_id, member_kind, dynamic, created_at FROM memberships",
            "member_id",
            Some(keys),
            membership_from_row,
        )
        .await
    }

    /// Group-in-group edges of the tenant (few; loaded whole for nested-group walks).
    pub async fn group_edges(&mut self) -> Result<Vec<MembershipRow>> {
        let rows = sqlx::query("SELECT group_id, member_id, member_kind, dynamic, created_at FROM memberships WHERE tenant_id = $1 AND member_kind = 'group'")
            .bind(&self.tid)
            .fetch_all(&mut *self.tx)
            .await?;
        rows.iter().map(membership_from_row).collect()
    }

    pub async fn all_memberships(&mut self) -> Result<Vec<MembershipRow>> {
        let q = sqlx::query("SELECT group_id, member_id, member_kind, dynamic, created_at FROM memberships WHERE tenant_id = $1")
            .bind(&self.tid);
        let mut out = Vec::new();
        map_rows(&mut self.tx, q, &mut out, membership_from_row).await?;
        Ok(out)
    }

    // ---- license intent -------------------------------------------------------------------

    /// Sets a direct assignment; an existing one keeps its creation time (D4) and gets the new
    /// disabled plans (Graph: adding an assigned SKU replaces its options).
    pub async fn upsert_direct(
        &mut self,
        user: UserId,
        sku: SkuId,
        disabled: &[PlanId],
        at: Timestamp,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO direct_assignments (tenant_id, user_id, sku_id, disabled_plans, created_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (tenant_id, user_id, sku_id) DO UPDATE SET disabled_plans = excluded.disabled_plans",
        )
        .bind(&self.tid)
        .bind(user.to_string())
        .bind(sku.to_string())
        .bind(encode_plans(disabled))
        .bind(at.0)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    pub async fn delete_direct(&mut self, user: UserId, sku: SkuId) -> Result<bool> {
        let n = sqlx::query(
            "DELETE FROM direct_assignments WHERE tenant_id = $1 AND user_id = $2 AND sku_id = $3",
        )
        .bind(&self.tid)
        .bind(user.to_string())
        .bind(sku.to_string())
        .execute(&mut *self.tx)
        .await?
        .rows_affected();
        Ok(n > 0)
    }

    /// Direct assignments of the given users, or of everybody when `users` is None.
    pub async fn direct_assignments(
        &mut self,
        users: Option<&[UserId]>,
    ) -> Result<Vec<(UserId, SkuId, Vec<PlanId>, Timestamp)>> {
        let keys = users.map(|ids| ids.iter().map(|u| u.to_string()).collect());
        self.select_scoped(
            "SELECT user_id, sku_id, disabled_plans, created_at FROM direct_assignments",
            "user_id",
            keys,
            |r| {
                Ok((
                    id(&r.try_get::<String, _>(0)?)?,
                    id(&r.try_get::<String, _>(1)?)?,
                    decode_plans(&r.try_get::<String, _>(2)?)?,
                    Timestamp(r.try_get(3)?),
                ))
            },
        )
        .await
    }

    pub async fn upsert_group_assignment(&mut self, a: &GroupAssignmentRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO group_assignments (tenant_id, group_id, sku_id, disabled_plans, created_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (tenant_id, group_id, sku_id) DO UPDATE SET disabled_plans = excluded.disabled_plans",
        )
        .bind(&self.tid)
        .bind(a.group_id.to_string())
        .bind(a.sku_id.to_string())
        .bind(encode_plans(&a.disabled_plans))
        .bind(a.created_at.0)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    pub async fn delete_group_assignment(&mut self, group: GroupId, sku: SkuId) -> Result<bool> {
        let n = sqlx::query(
            "DELETE FROM group_assignments WHERE tenant_id = $1 AND group_id = $2 AND sku_id = $3",
        )
        .bind(&self.tid)
        .bind(group.to_string())
        .bind(sku.to_string())
        .execute(&mut *self.tx)
        .await?
        .rows_affected();
        Ok(n > 0)
    }

    /// Every group assignment of the tenant (few; loaded whole).
    pub async fn group_assignments(&mut self) -> Result<Vec<GroupAssignmentRow>> {
        let rows = sqlx::query("SELECT group_id, sku_id, disabled_plans, created_at FROM group_assignments WHERE tenant_id = $1")
            .bind(&self.tid)
            .fetch_all(&mut *self.tx)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(GroupAssignmentRow {
                    group_id: id(&r.try_get::<String, _>("group_id")?)?,
                    sku_id: id(&r.try_get::<String, _>("sku_id")?)?,
                    disabled_plans: decode_plans(&r.try_get::<String, _>("disabled_plans")?)?,
                    created_at: Timestamp(r.try_get("created_at")?),
                })
            })
            .collect()
    }

    // ---- subscriptions and catalog --------------------------------------------------------

    pub async fn upsert_subscription(&mut self, s: &Subscription) -> Result<()> {
        sqlx::query(
            "INSERT INTO subscriptions (tenant_id, id, sku_id, units, status, is_trial, self_service_owner, created_at, next_lifecycle_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (tenant_id, id) DO UPDATE SET units = excluded.units, status = excluded.status, is_trial = excluded.is_trial,
               self_service_owner = excluded.self_service_owner, next_lifecycle_at = excluded.next_lifecycle_at",
        )
        .bind(&self.tid)
        .bind(s.id.to_string())
        .bind(s.sku_id.to_string())
        .bind(s.units)
        .bind(s.status.as_str())
        .bind(s.is_trial as i64)
        .bind(s.self_service_owner.map(|o| o.to_string()))
        .bind(s.created_at.0)
        .bind(s.next_lifecycle_at.map(|t| t.0))
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    pub async fn subscriptions(&mut self) -> Result<Vec<Subscription>> {
        let rows = sqlx::query("SELECT id, sku_id, units, status, is_trial, self_service_owner, created_at, next_lifecycle_at FROM subscriptions WHERE tenant_id = $1 ORDER BY created_at, id")
            .bind(&self.tid)
            .fetch_all(&mut *self.tx)
            .await?;
        rows.iter().map(subscription_from_row).collect()
    }

    pub async fn subscription(&mut self, sub: SubscriptionId) -> Result<Option<Subscription>> {
        let row = sqlx::query("SELECT id, sku_id, units, status, is_trial, self_service_owner, created_at, next_lifecycle_at FROM subscriptions WHERE tenant_id = $1 AND id = $2")
            .bind(&self.tid)
            .bind(sub.to_string())
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map(subscription_from_row).transpose()
    }

    /// The version of the tenant's own catalog (D14), read inside this transaction: it changes
    /// in the same transaction as any change to `custom_plans` or `custom_products`, so a cached
    /// catalog of this version is exactly what this transaction would load.
    pub async fn catalog_version(&mut self) -> Result<i64> {
        Ok(
            sqlx::query_scalar::<_, i64>("SELECT catalog_version FROM tenants WHERE id = $1")
                .bind(&self.tid)
                .fetch_one(&mut *self.tx)
                .await?,
        )
    }

    /// Every change to the tenant's own catalog bumps its version (so other processes' caches
    /// see it); the writers below call this, so no change can forget it.
    async fn bump_catalog_version(&mut self) -> Result<()> {
        sqlx::query("UPDATE tenants SET catalog_version = catalog_version + 1 WHERE id = $1")
            .bind(&self.tid)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    pub async fn upsert_custom_plan(&mut self, p: &Plan) -> Result<()> {
        self.bump_catalog_version().await?;
        sqlx::query(
            "INSERT INTO custom_plans (tenant_id, id, name, friendly_name) VALUES ($1, $2, $3, $4)
             ON CONFLICT (tenant_id, id) DO UPDATE SET name = excluded.name, friendly_name = excluded.friendly_name",
        )
        .bind(&self.tid)
        .bind(p.id.to_string())
        .bind(&p.name)
        .bind(&p.friendly_name)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    pub async fn upsert_custom_product(&mut self, p: &Product) -> Result<()> {
        self.bump_catalog_version().await?;
        sqlx::query(
            "INSERT INTO custom_products (tenant_id, sku_id, part_number, display_name, applies_to, plans) VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (tenant_id, sku_id) DO UPDATE SET part_number = excluded.part_number, display_name = excluded.display_name,
               applies_to = excluded.applies_to, plans = excluded.plans",
        )
        .bind(&self.tid)
        .bind(p.sku_id.to_string())
        .bind(&p.part_number)
        .bind(&p.display_name)
        .bind(p.applies_to.as_str())
        .bind(encode_plans(&p.plans))
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    pub async fn custom_catalog(&mut self) -> Result<(Vec<Plan>, Vec<Product>)> {
        let plans =
            sqlx::query("SELECT id, name, friendly_name FROM custom_plans WHERE tenant_id = $1")
                .bind(&self.tid)
                .fetch_all(&mut *self.tx)
                .await?
                .iter()
                .map(|r| {
                    Ok(Plan {
                        id: id(&r.try_get::<String, _>("id")?)?,
                        name: r.try_get("name")?,
                        friendly_name: r.try_get("friendly_name")?,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
        let products = sqlx::query("SELECT sku_id, part_number, display_name, applies_to, plans FROM custom_products WHERE tenant_id = $1")
            .bind(&self.tid)
            .fetch_all(&mut *self.tx)
            .await?
            .iter()
            .map(|r| {
                let applies: String = r.try_get("applies_to")?;
                Ok(Product {
                    sku_id: id(&r.try_get::<String, _>("sku_id")?)?,
                    part_number: r.try_get("part_number")?,
                    display_name: r.try_get("display_name")?,
                    applies_to: if applies == "Company" { AppliesTo::Company } else { AppliesTo::User },
                    plans: decode_plans(&r.try_get::<String, _>("plans")?)?,
                    custom: true,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((plans, products))
    }

    // ---- roles ----------------------------------------------------------------------------

    pub async fn add_role(
        &mut self,
        user: UserId,
        role: DirectoryRole,
        at: Timestamp,
    ) -> Result<bool> {
        let n = sqlx::query("INSERT INTO role_assignments (tenant_id, user_id, role_template_id, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id, user_id, role_template_id) DO NOTHING")
            .bind(&self.tid)
            .bind(user.to_string())
            .bind(role.template_id())
            .bind(at.0)
            .execute(&mut *self.tx)
            .await?
            .rows_affected();
        Ok(n > 0)
    }

    pub async fn remove_role(&mut self, user: UserId, role: DirectoryRole) -> Result<bool> {
        let n = sqlx::query("DELETE FROM role_assignments WHERE tenant_id = $1 AND user_id = $2 AND role_template_id = $3")
            .bind(&self.tid)
            .bind(user.to_string())
            .bind(role.template_id())
            .execute(&mut *self.tx)
            .await?
            .rows_affected();
        Ok(n > 0)
    }

    pub async fn roles_of(&mut self, user: UserId) -> Result<Vec<DirectoryRole>> {
        let ids: Vec<String> = sqlx::query_scalar("SELECT role_template_id FROM role_assignments WHERE tenant_id = $1 AND user_id = $2 ORDER BY role_template_id")
            .bind(&self.tid)
            .bind(user.to_string())
            .fetch_all(&mut *self.tx)
            .await?;
        Ok(ids.iter().filter_map(|i| DirectoryRole::parse(i)).collect())
    }

    pub async fn role_assignments(&mut self) -> Result<Vec<(UserId, DirectoryRole, Timestamp)>> {
        let rows = sqlx::query("SELECT user_id, role_template_id, created_at FROM role_assignments WHERE tenant_id = $1 ORDER BY created_at")
            .bind(&self.tid)
            .fetch_all(&mut *self.tx)
            .await?;
        let mut out = Vec::new();
        for r in rows {
            let role: String = r.try_get("role_template_id")?;
            if let Some(role) = DirectoryRole::parse(&role) {
                out.push((
                    id(&r.try_get::<String, _>("user_id")?)?,
                    role,
                    Timestamp(r.try_get("created_at")?),
                ));
            }
        }
        Ok(out)
    }

    // ---- derived state --------------------------------------------------------------------

    /// Path states of the given users, or of everybody when `users` is None.
    pub async fn path_states(
        &mut self,
        users: Option<&[UserId]>,
    ) -> Result<HashMap<UserId, Vec<PathState>>> {
        let keys = users.map(|ids| ids.iter().map(|u| u.to_string()).collect());
        let rows = self
            .select_scoped(
                &format!("SELECT {STATE_COLS} FROM path_states"),
                "user_id",
                keys,
                state_from_row,
            )
            .await?;
        let mut out: HashMap<UserId, Vec<PathState>> = HashMap::new();
        for (u, st) in rows {
            out.entry(u).or_default().push(st);
        }
        Ok(out)
    }

    /// Writes what the engine derived: replaces the states of the changed users, sets the
    /// seat counters it moved and moves the per-group license counters by its deltas. The only
    /// writer of `path_states`, `sku_usage` and `group_license_counts`; a [`Derived`] comes only
    /// from `Engine::evaluate_derived`, so nothing else can be written here.
    pub async fn write_derived(&mut self, d: &Derived) -> Result<()> {
        self.write_states(d.clear(), d.states()).await?;
        for (sku, consumed) in d.usage() {
            self.write_usage(*sku, *consumed).await?;
        }
        self.write_group_counts(d.group_counts()).await?;
        if d.users_in_error() != 0 {
            sqlx::query(
                "INSERT INTO tenant_license_counts (tenant_id, users_in_error) VALUES ($1, $2)
                 ON CONFLICT (tenant_id) DO UPDATE SET
                 users_in_error = tenant_license_counts.users_in_error + excluded.users_in_error",
            )
            .bind(&self.tid)
            .bind(d.users_in_error())
            .execute(&mut *self.tx)
            .await?;
        }
        Ok(())
    }

    /// Adds `(group, licensed, errors)` deltas to the per-group counters, then drops the rows
    /// that reached zero (a deleted group's row goes with its last path state).
    async fn write_group_counts(&mut self, deltas: &[(GroupId, i64, i64)]) -> Result<()> {
        for chunk in deltas.chunks(CHUNK) {
            let sql = format!(
                "INSERT INTO group_license_counts (tenant_id, group_id, licensed, errors) VALUES {}
                 ON CONFLICT (tenant_id, group_id) DO UPDATE SET
                 licensed = group_license_counts.licensed + excluded.licensed,
                 errors = group_license_counts.errors + excluded.errors",
                values_placeholders(self.backend, 4, chunk.len())
            );
            let mut q = sqlx::query(&sql);
            for (g, licensed, errors) in chunk {
                q = q
                    .bind(&self.tid)
                    .bind(g.to_string())
                    .bind(*licensed)
                    .bind(*errors);
            }
            q.execute(&mut *self.tx).await?;
        }
        // Only a decrease can bring a counter to zero.
        if deltas.iter().any(|(_, l, e)| *l < 0 || *e < 0) {
            sqlx::query(
                "DELETE FROM group_license_counts WHERE tenant_id = $1 AND licensed = 0 AND errors = 0",
            )
            .bind(&self.tid)
            .execute(&mut *self.tx)
            .await?;
        }
        Ok(())
    }

    /// Replaces the path states of some users: deletes the rows of `clear` (users that had
    /// states) and inserts `states`.
    async fn write_states(&mut self, clear: &[UserId], states: &[StoredPathState]) -> Result<()> {
        for chunk in clear.chunks(CHUNK) {
            let sql = format!(
                "DELETE FROM path_states WHERE tenant_id = {} AND user_id IN ({})",
                self.p1(),
                list_placeholders(self.backend, 2, chunk.len())
            );
            let mut q = sqlx::query(&sql).bind(&self.tid);
            for u in chunk {
                q = q.bind(u.to_string());
            }
            q.execute(&mut *self.tx).await?;
        }
        let full = format!(
            "INSERT INTO path_states (tenant_id, {STATE_COLS}) VALUES {}",
            values_placeholders(self.backend, 12, STATE_BATCH)
        );
        for chunk in states.chunks(STATE_BATCH) {
            let partial;
            let sql = if chunk.len() == STATE_BATCH {
                &full
            } else {
                partial = format!(
                    "INSERT INTO path_states (tenant_id, {STATE_COLS}) VALUES {}",
                    values_placeholders(self.backend, 12, chunk.len())
                );
                &partial
            };
            let mut q = sqlx::query(sql);
            for (u, s) in chunk {
                q = q
                    .bind(&self.tid)
                    .bind(u.to_string())
                    .bind(s.sku.to_string())
                    .bind(source_str(&s.source))
                    .bind(s.status.as_str())
                    .bind(s.error.as_str())
                    .bind(s.applied as i64)
                    .bind(encode_plans(&s.disabled_plans))
                    .bind(s.since.0)
                    .bind(s.priority as i64)
                    .bind(s.detail.clone())
                    .bind(s.updated_at.0);
            }
            q.execute(&mut *self.tx).await?;
        }
        Ok(())
    }

    /// Users waiting for a seat of `sku` (CountViolation), in D4 order: group priority, then the
    /// earliest path, then user id. Read from an index in that order, so a page costs its size.
    pub async fn waiting_for(&mut self, sku: SkuId, limit: i64) -> Result<Vec<UserId>> {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT user_id FROM path_states WHERE tenant_id = $1 AND sku_id = $2 AND error = 'CountViolation'
             ORDER BY priority DESC, since, user_id LIMIT $3",
        )
        .bind(&self.tid)
        .bind(sku.to_string())
        .bind(limit)
        .fetch_all(&mut *self.tx)
        .await?;
        // A user waiting on two paths of the product appears twice; keep its best place.
        let mut seen = std::collections::HashSet::new();
        ids.iter()
            .filter(|s| seen.insert(s.as_str()))
            .map(|s| id(s))
            .collect()
    }

    /// Users holding a seat of `sku`.
    pub async fn holders_of(&mut self, sku: SkuId) -> Result<Vec<UserId>> {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT user_id FROM path_states WHERE tenant_id = $1 AND sku_id = $2 AND applied = 1",
        )
        .bind(&self.tid)
        .bind(sku.to_string())
        .fetch_all(&mut *self.tx)
        .await?;
        ids.iter().map(|s| id(s)).collect()
    }

    /// Users with any path for `sku`, held or not: their states depend on its capacity.
    pub async fn users_with_sku(&mut self, sku: SkuId) -> Result<Vec<UserId>> {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT user_id FROM path_states WHERE tenant_id = $1 AND sku_id = $2",
        )
        .bind(&self.tid)
        .bind(sku.to_string())
        .fetch_all(&mut *self.tx)
        .await?;
        ids.iter().map(|s| id(s)).collect()
    }

    /// How many users have a path in error (the counter), and the first `limit` of them by id
    /// (ranges of the error index, not a read of every path state).
    pub async fn users_in_error(&mut self, limit: i64) -> Result<(i64, Vec<UserId>)> {
        let n = self.users_in_error_count().await?;
        let ids = self.users_in_error_after(None, limit).await?;
        Ok((n, ids))
    }

    /// One page of the users with a path to `sku`, by id after `after`.
    pub async fn users_with_sku_page(
        &mut self,
        sku: SkuId,
        after: Option<UserId>,
        limit: i64,
    ) -> Result<Vec<UserId>> {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT user_id FROM path_states WHERE tenant_id = $1 AND sku_id = $2 AND user_id > $3 ORDER BY user_id LIMIT $4",
        )
        .bind(&self.tid)
        .bind(sku.to_string())
        .bind(after.map(|a| a.to_string()).unwrap_or_default())
        .bind(limit)
        .fetch_all(&mut *self.tx)
        .await?;
        ids.iter().map(|s| id(s)).collect()
    }

    /// Users with a path from `group` that is in error (Graph membersWithLicenseErrors).
    pub async fn users_with_errors_from(&mut self, group: GroupId) -> Result<Vec<UserId>> {
        self.users_with_errors_from_page(group, None, i64::MAX)
            .await
    }

    /// Per group: users licensed through it and users with a path from it in error, from the
    /// counters kept with the derived state (one row per group, not a scan of path states).
    /// Groups at zero are absent.
    pub async fn group_license_counts(&mut self) -> Result<HashMap<GroupId, (i64, i64)>> {
        let rows = sqlx::query(
            "SELECT group_id, licensed, errors FROM group_license_counts
             WHERE tenant_id = $1 AND (licensed <> 0 OR errors <> 0)",
        )
        .bind(&self.tid)
        .fetch_all(&mut *self.tx)
        .await?;
        let mut out = HashMap::new();
        for r in rows {
            let g: String = r.try_get("group_id")?;
            out.insert(id(&g)?, (r.try_get("licensed")?, r.try_get("errors")?));
        }
        Ok(out)
    }

    /// [`TenantTx::group_license_counts`] counted afresh from every path state of the tenant:
    /// what the counters must equal (`skuld doctor`). Groups at zero are absent.
    pub async fn group_license_counts_scanned(&mut self) -> Result<HashMap<GroupId, (i64, i64)>> {
        let rows = sqlx::query(
            "SELECT source, COUNT(DISTINCT CASE WHEN applied = 1 THEN user_id END) AS ok, COUNT(DISTINCT CASE WHEN error <> 'None' THEN user_id END) AS bad
             FROM path_states WHERE tenant_id = $1 AND source <> 'direct' GROUP BY source",
        )
        .bind(&self.tid)
        .fetch_all(&mut *self.tx)
        .await?;
        let mut out = HashMap::new();
        for r in rows {
            let g: String = r.try_get("source")?;
            let counts: (i64, i64) = (r.try_get("ok")?, r.try_get("bad")?);
            if counts != (0, 0) {
                out.insert(id(&g)?, counts);
            }
        }
        Ok(out)
    }

    pub async fn sku_usage(&mut self) -> Result<HashMap<SkuId, i64>> {
        let rows = sqlx::query("SELECT sku_id, consumed FROM sku_usage WHERE tenant_id = $1")
            .bind(&self.tid)
            .fetch_all(&mut *self.tx)
            .await?;
        let mut out = HashMap::new();
        for r in rows {
            out.insert(
                id(&r.try_get::<String, _>("sku_id")?)?,
                r.try_get("consumed")?,
            );
        }
        Ok(out)
    }

    async fn write_usage(&mut self, sku: SkuId, consumed: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO sku_usage (tenant_id, sku_id, consumed) VALUES ($1, $2, $3)
             ON CONFLICT (tenant_id, sku_id) DO UPDATE SET consumed = excluded.consumed",
        )
        .bind(&self.tid)
        .bind(sku.to_string())
        .bind(consumed)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    // ---- audit ----------------------------------------------------------------------------

    pub async fn insert_audit(&mut self, rows: &[AuditRow]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let next: i64 =
            sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM audit_log WHERE tenant_id = $1")
                .bind(&self.tid)
                .fetch_one(&mut *self.tx)
                .await?;
        for (i, chunk) in rows.chunks(500).enumerate() {
            let sql = format!(
                "INSERT INTO audit_log (tenant_id, id, seq, at, category, activity, result, result_reason, actor, target_type, target_id, target_name, modified, actor_kind, actor_id) VALUES {}",
                values_placeholders(self.backend, 15, chunk.len())
            );
            let mut q = sqlx::query(&sql);
            for (j, a) in chunk.iter().enumerate() {
                q = q
                    .bind(&self.tid)
                    .bind(a.id.clone())
                    .bind(next + 1 + (i * 500 + j) as i64)
                    .bind(a.at.0)
                    .bind(a.category.clone())
                    .bind(a.activity.clone())
                    .bind(a.result.clone())
                    .bind(a.result_reason.clone())
                    .bind(a.actor.clone())
                    .bind(a.target_type.clone())
                    .bind(a.target_id.clone())
                    .bind(a.target_name.clone())
                    .bind(a.modified.clone())
                    .bind(a.actor_kind.clone())
                    .bind(a.actor_id.clone());
            }
            q.execute(&mut *self.tx).await?;
        }
        Ok(())
    }

    /// Newest audit events first.
    pub async fn audit(&mut self, limit: i64) -> Result<Vec<AuditRow>> {
        self.audit_before(i64::MAX, limit).await
    }

    /// Audit events older than `before` (a `seq`), newest first: one page of the log.
    pub async fn audit_before(&mut self, before: i64, limit: i64) -> Result<Vec<AuditRow>> {
        self.audit_filtered(before, &AuditFilter::default(), limit)
            .await
    }

    /// One page of the audit log older than `before` (a `seq`), newest first, that passes
    /// `f`: the admin center's filters. Text filters match case-insensitively anywhere in the
    /// value (portable `LOWER(…) LIKE`, with `%`, `_` and `\\` in the text taken literally).
    pub async fn audit_filtered(
        &mut self,
        before: i64,
        f: &AuditFilter,
        limit: i64,
    ) -> Result<Vec<AuditRow>> {
        let mut sql = String::from(
            "SELECT id, seq, at, category, activity, result, result_reason, actor, target_type, target_id, target_name, modified, actor_kind, actor_id
             FROM audit_log WHERE tenant_id = $1 AND seq < $2",
        );
        let mut texts: Vec<String> = Vec::new();
        let mut n = 2;
        let mut next = || {
            n += 1;
            n
        };
        if let Some(a) = &f.activity {
            sql.push_str(&format!(" AND activity = ${}", next()));
            texts.push(a.clone());
        }
        let like = |t: &str| {
            format!(
                "%{}%",
                t.to_lowercase()
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_")
            )
        };
        if let Some(t) = &f.target {
            let (x, y) = (next(), next());
            sql.push_str(&format!(
                " AND (LOWER(target_name) LIKE ${x} ESCAPE '\\' OR LOWER(target_id) LIKE ${y} ESCAPE '\\')"
            ));
            texts.push(like(t));
            texts.push(like(t));
        }
        if let Some(a) = &f.actor {
            sql.push_str(&format!(" AND LOWER(actor) LIKE ${} ESCAPE '\\'", next()));
            texts.push(like(a));
        }
        let mut times: Vec<i64> = Vec::new();
        if let Some(t) = f.from {
            sql.push_str(&format!(" AND at >= ${}", next()));
            times.push(t.0);
        }
        if let Some(t) = f.to {
            sql.push_str(&format!(" AND at < ${}", next()));
            times.push(t.0);
        }
        sql.push_str(&format!(" ORDER BY seq DESC LIMIT ${}", next()));
        let mut q = sqlx::query(&sql).bind(&self.tid).bind(before);
        for t in &texts {
            q = q.bind(t);
        }
        for t in &times {
            q = q.bind(*t);
        }
        let rows = q.bind(limit).fetch_all(&mut *self.tx).await?;
        rows.iter()
            .map(|r| {
                Ok(AuditRow {
                    id: r.try_get("id")?,
                    seq: r.try_get("seq")?,
                    at: Timestamp(r.try_get("at")?),
                    category: r.try_get("category")?,
                    activity: r.try_get("activity")?,
                    result: r.try_get("result")?,
                    result_reason: r.try_get("result_reason")?,
                    actor: r.try_get("actor")?,
                    target_type: r.try_get("target_type")?,
                    target_id: r.try_get("target_id")?,
                    target_name: r.try_get("target_name")?,
                    modified: r.try_get("modified")?,
                    actor_kind: r.try_get("actor_kind")?,
                    actor_id: r.try_get("actor_id")?,
                })
            })
            .collect()
    }
}

/// The audit log page's filters; `None` passes everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// One activity, exactly (`Change user license`).
    pub activity: Option<String>,
    /// Part of the target's name or id.
    pub target: Option<String>,
    /// Part of the actor's name.
    pub actor: Option<String>,
    /// From this time (inclusive).
    pub from: Option<Timestamp>,
    /// Up to this time (exclusive).
    pub to: Option<Timestamp>,
}

type Q<'q> = sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>;

/// Runs a query and maps rows as they arrive, so large results are never held twice.
async fn map_rows<T>(
    conn: &mut sqlx::AnyConnection,
    q: Q<'_>,
    out: &mut Vec<T>,
    f: impl Fn(&AnyRow) -> Result<T>,
) -> Result<()> {
    let mut rows = q.fetch(conn);
    while let Some(r) = rows.try_next().await? {
        out.push(f(&r)?);
    }
    Ok(())
}

fn bind_user<'q>(q: Q<'q>, u: &'q User) -> Q<'q> {
    q.bind(u.id.to_string())
        .bind(u.upn.as_str())
        .bind(u.display_name.as_str())
        .bind(u.given_name.as_deref())
        .bind(u.surname.as_deref())
        .bind(u.mail_nickname.as_str())
        .bind(u.mail.as_deref())
        .bind(u.usage_location.map(|l| l.as_str().to_string()))
        .bind(u.user_type.as_str())
        .bind(u.account_enabled as i64)
        .bind(u.job_title.as_deref())
        .bind(u.department.as_deref())
        .bind(u.company_name.as_deref())
        .bind(u.employee_id.as_deref())
        .bind(u.office_location.as_deref())
        .bind(u.business_phone.as_deref())
        .bind(u.mobile_phone.as_deref())
        .bind(u.fax.as_deref())
        .bind(u.street_address.as_deref())
        .bind(u.city.as_deref())
        .bind(u.state.as_deref())
        .bind(u.postal_code.as_deref())
        .bind(u.country.as_deref())
        .bind(u.password_hash.as_deref())
        .bind(u.force_change_password as i64)
        .bind(u.created_at.0)
        .bind(u.deleted_at.map(|t| t.0))
        .bind(u.on_premises_sync_enabled.map(|b| b as i64))
}

fn bind_group<'q>(q: Q<'q>, g: &'q Group) -> Q<'q> {
    q.bind(g.id.to_string())
        .bind(g.display_name.as_str())
        .bind(g.description.as_deref())
        .bind(g.mail_nickname.as_str())
        .bind(match g.kind {
            GroupKind::Security => "Security",
            GroupKind::Microsoft365 => "Microsoft365",
        })
        .bind(g.security_enabled as i64)
        .bind(g.mail_enabled as i64)
        .bind(g.membership_rule.as_deref())
        .bind(g.rule_paused as i64)
        .bind(g.license_priority as i64)
        .bind(g.created_at.0)
}
