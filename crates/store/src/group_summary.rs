//! Counts of a group's members for the admin center's group page (issue 8: every page under
//! 50 ms on a 1,000,000-user tenant): index reads and counts, never the member rows
//! themselves.

use crate::codec::list_placeholders;
use crate::{Backend, Result, TenantTx};
use skuld_domain::GroupId;
use sqlx::Row;

impl TenantTx {
    /// The first parameter's placeholder when an IN list of `?` follows (SQLite numbers `?`
    /// after the largest index seen, so the list must not follow a `$1`).
    fn first(&self) -> &'static str {
        if self.backend == Backend::Sqlite {
            "?"
        } else {
            "$1"
        }
    }

    /// A group's direct members: how many users and how many groups (an index-only count).
    pub async fn member_counts(&mut self, group: GroupId) -> Result<(i64, i64)> {
        let rows = sqlx::query(
            "SELECT member_kind, COUNT(*) AS n FROM memberships WHERE tenant_id = $1 AND group_id = $2 GROUP BY member_kind",
        )
        .bind(&self.tid)
        .bind(group.to_string())
        .fetch_all(&mut *self.tx)
        .await?;
        let (mut users, mut groups) = (0, 0);
        for r in rows {
            let kind: String = r.try_get("member_kind")?;
            let n: i64 = r.try_get("n")?;
            if kind == "group" {
                groups = n;
            } else {
                users = n;
            }
        }
        Ok((users, groups))
    }

    /// Live users who are members of any of `groups` (a group and its descendants: the
    /// transitive members), each once: the distinct members counted from the index, less the
    /// soft-deleted ones (found through the small index of deleted users).
    pub async fn live_user_members(&mut self, groups: &[GroupId]) -> Result<i64> {
        if groups.is_empty() {
            return Ok(0);
        }
        let list = list_placeholders(self.backend, 2, groups.len());
        let p1 = self.first();
        let all = format!(
            "SELECT COUNT(DISTINCT member_id) FROM memberships WHERE tenant_id = {p1} AND member_kind = 'user' AND group_id IN ({list})"
        );
        let deleted = format!(
            "SELECT COUNT(DISTINCT u.id) FROM users u JOIN memberships m ON m.tenant_id = u.tenant_id AND m.member_id = u.id
             WHERE u.tenant_id = {p1} AND u.deleted_at IS NOT NULL AND m.group_id IN ({list})"
        );
        let mut n = 0i64;
        for (i, sql) in [all, deleted].iter().enumerate() {
            let mut q = sqlx::query_scalar::<_, i64>(sql).bind(&self.tid);
            for g in groups {
                q = q.bind(g.to_string());
            }
            let c = q.fetch_one(&mut *self.tx).await?;
            n += if i == 0 { c } else { -c };
        }
        Ok(n)
    }

    /// Live guests who are members of any of `groups`, each once (read from the guests, who
    /// are few, not from the members).
    pub async fn live_guest_members(&mut self, groups: &[GroupId]) -> Result<i64> {
        if groups.is_empty() {
            return Ok(0);
        }
        let list = list_placeholders(self.backend, 2, groups.len());
        let p1 = self.first();
        let sql = format!(
            "SELECT COUNT(*) FROM users u WHERE u.tenant_id = {p1} AND u.user_type = 'Guest' AND u.deleted_at IS NULL
             AND EXISTS (SELECT 1 FROM memberships m WHERE m.tenant_id = u.tenant_id AND m.member_id = u.id AND m.group_id IN ({list}))"
        );
        let mut q = sqlx::query_scalar::<_, i64>(&sql).bind(&self.tid);
        for g in groups {
            q = q.bind(g.to_string());
        }
        Ok(q.fetch_one(&mut *self.tx).await?)
    }
}
