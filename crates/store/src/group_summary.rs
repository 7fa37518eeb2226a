//! Counts of a group's members for the admin center's group page (issue 8: every page under
//! 50 ms on a 1,000,000-user tenant): counters kept with every membership and user write
//! (`group_member_counts`, migration 0010), and bounded index reads, never the member rows
//! themselves.

use crate::codec::list_placeholders;
use crate::{Backend, MemberKind, Result, TenantTx};
use skuld_domain::{GroupId, UserId};
use sqlx::Row;
use std::collections::HashMap;

/// A group's direct members, as counted by the counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemberCounts {
    /// User members, soft-deleted ones included.
    pub users: i64,
    /// User members who are not soft-deleted.
    pub live_users: i64,
    /// Nested groups.
    pub groups: i64,
}

/// The largest number of membership rows read to count the distinct live users of a group
/// with nested groups exactly; above it the page shows the sum of the groups' counters as a
/// bound.
pub const TRANSITIVE_COUNT_SCAN: i64 = 50_000;

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

    /// Moves a group's member counters by the given deltas.
    pub(crate) async fn bump_member_counts(
        &mut self,
        group: GroupId,
        d: MemberCounts,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO group_member_counts (tenant_id, group_id, user_members, live_user_members, group_members)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (tenant_id, group_id) DO UPDATE SET
             user_members = group_member_counts.user_members + excluded.user_members,
             live_user_members = group_member_counts.live_user_members + excluded.live_user_members,
             group_members = group_member_counts.group_members + excluded.group_members",
        )
        .bind(&self.tid)
        .bind(group.to_string())
        .bind(d.users)
        .bind(d.live_users)
        .bind(d.groups)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Whether `id` is a user of this tenant who is not soft-deleted.
    pub(crate) async fn is_live_user(&mut self, id: uuid::Uuid) -> Result<bool> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM users WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL",
        )
        .bind(&self.tid)
        .bind(id.to_string())
        .fetch_one(&mut *self.tx)
        .await?;
        Ok(n > 0)
    }

    /// What one membership of `member` adds to its group's counters.
    pub(crate) async fn member_delta(
        &mut self,
        member: uuid::Uuid,
        kind: MemberKind,
    ) -> Result<MemberCounts> {
        Ok(match kind {
            MemberKind::User => MemberCounts {
                users: 1,
                live_users: self.is_live_user(member).await? as i64,
                groups: 0,
            },
            MemberKind::Group => MemberCounts {
                groups: 1,
                ..Default::default()
            },
        })
    }

    /// Lowers the counters of every group `member` belongs to directly, by one membership
    /// each: to be called before all of `member`'s memberships are deleted.
    pub(crate) async fn leave_member_counts(
        &mut self,
        member: uuid::Uuid,
        kind: MemberKind,
    ) -> Result<()> {
        let d = self.member_delta(member, kind).await?;
        sqlx::query(
            "UPDATE group_member_counts SET user_members = user_members - $3,
             live_user_members = live_user_members - $4, group_members = group_members - $5
             WHERE tenant_id = $1 AND group_id IN
             (SELECT group_id FROM memberships WHERE tenant_id = $1 AND member_id = $2)",
        )
        .bind(&self.tid)
        .bind(member.to_string())
        .bind(d.users)
        .bind(d.live_users)
        .bind(d.groups)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Moves the live-user counters of every group `user` belongs to directly by `delta`
    /// (-1 when the user is soft-deleted, +1 when restored).
    pub(crate) async fn shift_live_member_counts(
        &mut self,
        user: UserId,
        delta: i64,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE group_member_counts SET live_user_members = live_user_members + $3
             WHERE tenant_id = $1 AND group_id IN
             (SELECT group_id FROM memberships WHERE tenant_id = $1 AND member_id = $2)",
        )
        .bind(&self.tid)
        .bind(user.to_string())
        .bind(delta)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Removes a deleted group's counters.
    pub(crate) async fn drop_member_counts(&mut self, group: GroupId) -> Result<()> {
        sqlx::query("DELETE FROM group_member_counts WHERE tenant_id = $1 AND group_id = $2")
            .bind(&self.tid)
            .bind(group.to_string())
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// A group's direct members, from its counters (one row).
    pub async fn member_counts(&mut self, group: GroupId) -> Result<MemberCounts> {
        let row = sqlx::query(
            "SELECT user_members, live_user_members, group_members FROM group_member_counts
             WHERE tenant_id = $1 AND group_id = $2",
        )
        .bind(&self.tid)
        .bind(group.to_string())
        .fetch_optional(&mut *self.tx)
        .await?;
        Ok(match row {
            Some(r) => MemberCounts {
                users: r.try_get(0)?,
                live_users: r.try_get(1)?,
                groups: r.try_get(2)?,
            },
            None => MemberCounts::default(),
        })
    }

    /// Every group's member counters (groups without a row have no members).
    pub async fn all_member_counts(&mut self) -> Result<HashMap<GroupId, MemberCounts>> {
        let rows = sqlx::query(
            "SELECT group_id, user_members, live_user_members, group_members FROM group_member_counts
             WHERE tenant_id = $1 AND (user_members <> 0 OR live_user_members <> 0 OR group_members <> 0)",
        )
        .bind(&self.tid)
        .fetch_all(&mut *self.tx)
        .await?;
        counts_from_rows(rows)
    }

    /// [`TenantTx::all_member_counts`] counted afresh from every membership of the tenant:
    /// what the counters must equal (`skuld doctor`).
    pub async fn all_member_counts_scanned(&mut self) -> Result<HashMap<GroupId, MemberCounts>> {
        let rows = sqlx::query(
            "SELECT m.group_id,
                    SUM(CASE WHEN m.member_kind = 'user' THEN 1 ELSE 0 END),
                    SUM(CASE WHEN m.member_kind = 'user' AND u.id IS NOT NULL AND u.deleted_at IS NULL THEN 1 ELSE 0 END),
                    SUM(CASE WHEN m.member_kind = 'group' THEN 1 ELSE 0 END)
             FROM memberships m LEFT JOIN users u ON u.tenant_id = m.tenant_id AND u.id = m.member_id
             WHERE m.tenant_id = $1 GROUP BY m.group_id",
        )
        .bind(&self.tid)
        .fetch_all(&mut *self.tx)
        .await?;
        counts_from_rows(rows)
    }

    /// Live users who are members of any of `groups` (a group and its descendants: the
    /// transitive members), each once, and whether the figure is exact. One group: its
    /// counter. Several: the distinct members read from the index when the groups hold at
    /// most [`TRANSITIVE_COUNT_SCAN`] memberships together, else the sum of their counters
    /// (an upper bound: a user in two of the groups is counted twice).
    pub async fn live_user_members(&mut self, groups: &[GroupId]) -> Result<(i64, bool)> {
        let mut sum = 0;
        for g in groups {
            sum += self.member_counts(*g).await?.live_users;
        }
        if groups.len() <= 1 || sum > TRANSITIVE_COUNT_SCAN {
            return Ok((sum, groups.len() <= 1));
        }
        let list = list_placeholders(self.backend, 2, groups.len());
        let p1 = self.first();
        let sql = format!(
            "SELECT COUNT(DISTINCT m.member_id) FROM memberships m
             WHERE m.tenant_id = {p1} AND m.member_kind = 'user' AND m.group_id IN ({list})
             AND NOT EXISTS (SELECT 1 FROM users u WHERE u.tenant_id = m.tenant_id AND u.id = m.member_id AND u.deleted_at IS NOT NULL)"
        );
        let mut q = sqlx::query_scalar::<_, i64>(&sql).bind(&self.tid);
        for g in groups {
            q = q.bind(g.to_string());
        }
        Ok((q.fetch_one(&mut *self.tx).await?, true))
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

fn counts_from_rows(rows: Vec<sqlx::any::AnyRow>) -> Result<HashMap<GroupId, MemberCounts>> {
    let mut out = HashMap::new();
    for r in rows {
        let g: String = r.try_get(0)?;
        let c = MemberCounts {
            users: r.try_get(1)?,
            live_users: r.try_get(2)?,
            groups: r.try_get(3)?,
        };
        if c != MemberCounts::default() {
            out.insert(crate::tenant_tx::id(&g)?, c);
        }
    }
    Ok(out)
}
