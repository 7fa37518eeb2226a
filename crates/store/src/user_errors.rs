//! Users with a license path in error, for the admin center (issue 8): the "Users with errors"
//! list, the home page's card and a group's members in error, a page at a time in id order
//! (keyset: the page after a user id). Each error value is one ordered range of an index
//! (`path_states_error_user`, or `path_states_source` for one group), merged here, so a page
//! costs its size and never a scan of the million path states that are not in error.

use crate::{Result, StoreError, TenantTx};
use skuld_domain::licensing::LicenseError;
use skuld_domain::{GroupId, UserId};

/// Every error a path state can be in (all but `None`).
pub const PATH_ERRORS: [LicenseError; 6] = [
    LicenseError::CountViolation,
    LicenseError::MutuallyExclusiveViolation,
    LicenseError::DependencyViolation,
    LicenseError::ProhibitedInUsageLocationViolation,
    LicenseError::UniquenessViolation,
    LicenseError::Other,
];

// Adding a variant to LicenseError must add it to PATH_ERRORS: this match stops compiling.
const _: fn(LicenseError) = |e| match e {
    LicenseError::None
    | LicenseError::CountViolation
    | LicenseError::MutuallyExclusiveViolation
    | LicenseError::DependencyViolation
    | LicenseError::ProhibitedInUsageLocationViolation
    | LicenseError::UniquenessViolation
    | LicenseError::Other => {}
};

/// How many distinct users have a path in error, counted from the path states: one equality
/// range of `path_states_error_user` per error value, joined by UNION (which keeps each user
/// once), so the count costs the rows in error and not the tenant's path states. (An `IN`
/// list or `<> 'None'` lets SQLite's planner choose a scan of every path state.)
fn count_in_error_sql() -> String {
    let parts: Vec<String> = PATH_ERRORS
        .iter()
        .map(|e| {
            format!(
                "SELECT user_id FROM path_states WHERE tenant_id = $1 AND error = '{}'",
                e.as_str()
            )
        })
        .collect();
    format!("SELECT COUNT(*) FROM ({}) e", parts.join(" UNION "))
}

impl TenantTx {
    /// How many users have a path in error: the counter kept with the derived state.
    pub async fn users_in_error_count(&mut self) -> Result<i64> {
        let n: Option<i64> = sqlx::query_scalar(
            "SELECT users_in_error FROM tenant_license_counts WHERE tenant_id = $1",
        )
        .bind(&self.tid)
        .fetch_optional(&mut *self.tx)
        .await?;
        Ok(n.unwrap_or(0))
    }

    /// [`TenantTx::users_in_error_count`] counted afresh from the path states: what the
    /// counter must equal (`skuld doctor`).
    pub async fn users_in_error_scanned(&mut self) -> Result<i64> {
        Ok(sqlx::query_scalar(&count_in_error_sql())
            .bind(&self.tid)
            .fetch_one(&mut *self.tx)
            .await?)
    }

    /// Up to `limit` users with a license path in error, by id, after `after`.
    pub async fn users_in_error_after(
        &mut self,
        after: Option<UserId>,
        limit: i64,
    ) -> Result<Vec<UserId>> {
        self.error_users_page(None, after, limit).await
    }

    /// Up to `limit` users with a path from `group` in error, by id, after `after` (Graph
    /// `membersWithLicenseErrors`; how many there are is in the group's counters).
    pub async fn users_with_errors_from_page(
        &mut self,
        group: GroupId,
        after: Option<UserId>,
        limit: i64,
    ) -> Result<Vec<UserId>> {
        self.error_users_page(Some(group), after, limit).await
    }

    async fn error_users_page(
        &mut self,
        group: Option<GroupId>,
        after: Option<UserId>,
        limit: i64,
    ) -> Result<Vec<UserId>> {
        let after = after.map(|u| u.to_string()).unwrap_or_default();
        let sql = if group.is_some() {
            "SELECT DISTINCT user_id FROM path_states WHERE tenant_id = $1 AND source = $5 AND error = $2 AND user_id > $3 ORDER BY user_id LIMIT $4"
        } else {
            "SELECT DISTINCT user_id FROM path_states WHERE tenant_id = $1 AND error = $2 AND user_id > $3 ORDER BY user_id LIMIT $4"
        };
        let mut ids: Vec<String> = Vec::new();
        for e in PATH_ERRORS {
            let mut q = sqlx::query_scalar::<_, String>(sql)
                .bind(&self.tid)
                .bind(e.as_str())
                .bind(&after)
                .bind(limit.max(0));
            if let Some(g) = group {
                q = q.bind(g.to_string());
            }
            ids.extend(q.fetch_all(&mut *self.tx).await?);
        }
        ids.sort();
        ids.dedup();
        ids.truncate(limit.max(0) as usize);
        ids.iter()
            .map(|s| {
                UserId::parse(s)
                    .map_err(|_| StoreError::Corrupt(format!("bad user id '{s}' in path_states")))
            })
            .collect()
    }
}
