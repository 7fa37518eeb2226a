//! The admin center's state (migration 0007): browser sessions and daily product snapshots.

use crate::{Result, Store, TenantTx};
use skuld_domain::{SkuId, TenantId, Timestamp, UserId};
use sqlx::Row;
use std::str::FromStr;

/// A signed-in browser, as stored (the token itself is never stored, only its hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSessionRow {
    pub token_hash: String,
    pub tenant_id: TenantId,
    pub user_id: UserId,
    pub csrf: String,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    pub expires_at: Timestamp,
}

/// One product's counts on one day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SkuSnapshot {
    pub sku_id: SkuId,
    /// Days since 1970-01-01 (UTC).
    pub day: i64,
    pub total: i64,
    pub assigned: i64,
}

fn corrupt(what: &str) -> crate::StoreError {
    crate::StoreError::Corrupt(format!("bad {what} in web_sessions"))
}

impl Store {
    pub async fn insert_web_session(&self, s: &WebSessionRow) -> Result<()> {
        sqlx::query("INSERT INTO web_sessions (token_hash, tenant_id, user_id, csrf, created_at, last_seen_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(&s.token_hash)
            .bind(s.tenant_id.to_string())
            .bind(s.user_id.to_string())
            .bind(&s.csrf)
            .bind(s.created_at.0)
            .bind(s.last_seen_at.0)
            .bind(s.expires_at.0)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn web_session(&self, token_hash: &str) -> Result<Option<WebSessionRow>> {
        let row = sqlx::query("SELECT token_hash, tenant_id, user_id, csrf, created_at, last_seen_at, expires_at FROM web_sessions WHERE token_hash = $1")
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await?;
        let Some(r) = row else { return Ok(None) };
        let tenant: String = r.try_get("tenant_id")?;
        let user: String = r.try_get("user_id")?;
        Ok(Some(WebSessionRow {
            token_hash: r.try_get("token_hash")?,
            tenant_id: TenantId::from_str(&tenant).map_err(|_| corrupt("tenant id"))?,
            user_id: UserId::from_str(&user).map_err(|_| corrupt("user id"))?,
            csrf: r.try_get("csrf")?,
            created_at: Timestamp(r.try_get("created_at")?),
            last_seen_at: Timestamp(r.try_get("last_seen_at")?),
            expires_at: Timestamp(r.try_get("expires_at")?),
        }))
    }

    /// Marks a session as used now.
    pub async fn touch_web_session(&self, token_hash: &str, at: Timestamp) -> Result<()> {
        sqlx::query("UPDATE web_sessions SET last_seen_at = $2 WHERE token_hash = $1")
            .bind(token_hash)
            .bind(at.0)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn delete_web_session(&self, token_hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM web_sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Ends every session of one user (password changed, sign-in blocked, user deleted).
    pub async fn delete_web_sessions_of(&self, tenant: TenantId, user: UserId) -> Result<u64> {
        let r = sqlx::query("DELETE FROM web_sessions WHERE tenant_id = $1 AND user_id = $2")
            .bind(tenant.to_string())
            .bind(user.to_string())
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected())
    }

    /// Removes sessions past their absolute expiry or idle since before `idle_before`.
    pub async fn purge_web_sessions(&self, at: Timestamp, idle_before: Timestamp) -> Result<u64> {
        let r = sqlx::query("DELETE FROM web_sessions WHERE expires_at <= $1 OR last_seen_at < $2")
            .bind(at.0)
            .bind(idle_before.0)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected())
    }
}

impl TenantTx {
    /// Records (or replaces) a product's counts for one day.
    pub async fn put_sku_snapshot(&mut self, s: &SkuSnapshot) -> Result<()> {
        sqlx::query("INSERT INTO sku_snapshots (tenant_id, sku_id, day, total, assigned) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, sku_id, day) DO UPDATE SET total = $4, assigned = $5")
            .bind(&self.tid)
            .bind(s.sku_id.to_string())
            .bind(s.day)
            .bind(s.total)
            .bind(s.assigned)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Every snapshot from `since_day` on, by product then day.
    pub async fn sku_snapshots(&mut self, since_day: i64) -> Result<Vec<SkuSnapshot>> {
        let rows = sqlx::query("SELECT sku_id, day, total, assigned FROM sku_snapshots WHERE tenant_id = $1 AND day >= $2 ORDER BY sku_id, day")
            .bind(&self.tid)
            .bind(since_day)
            .fetch_all(&mut *self.tx)
            .await?;
        rows.iter()
            .map(|r| {
                let sku: String = r.try_get("sku_id")?;
                Ok(SkuSnapshot {
                    sku_id: SkuId::from_str(&sku).map_err(|_| {
                        crate::StoreError::Corrupt("bad sku id in sku_snapshots".into())
                    })?,
                    day: r.try_get("day")?,
                    total: r.try_get("total")?,
                    assigned: r.try_get("assigned")?,
                })
            })
            .collect()
    }

    /// Drops snapshots older than `before_day` (two years are kept).
    pub async fn prune_sku_snapshots(&mut self, before_day: i64) -> Result<u64> {
        let r = sqlx::query("DELETE FROM sku_snapshots WHERE tenant_id = $1 AND day < $2")
            .bind(&self.tid)
            .bind(before_day)
            .execute(&mut *self.tx)
            .await?;
        Ok(r.rows_affected())
    }
}
