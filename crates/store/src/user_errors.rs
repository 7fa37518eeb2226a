//! The admin center's "Users with errors" list (issue 8): users with a license path in error,
//! a page at a time in id order (keyset: the page after a user id), so a page costs its size
//! and never an offset scan or a count of everybody.

use crate::{Result, StoreError, TenantTx};
use skuld_domain::UserId;

impl TenantTx {
    /// Up to `limit` users with a license path in error, by id, after `after`.
    pub async fn users_in_error_after(
        &mut self,
        after: Option<UserId>,
        limit: i64,
    ) -> Result<Vec<UserId>> {
        let after = after.map(|u| u.to_string()).unwrap_or_default();
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT user_id FROM path_states WHERE tenant_id = $1 AND (error < 'None' OR error > 'None') AND user_id > $2 ORDER BY user_id LIMIT $3",
        )
        .bind(&self.tid)
        .bind(after)
        .bind(limit.max(0))
        .fetch_all(&mut *self.tx)
        .await?;
        ids.iter()
            .map(|s| {
                UserId::parse(s)
                    .map_err(|_| StoreError::Corrupt(format!("bad user id '{s}' in path_states")))
            })
            .collect()
    }
}
