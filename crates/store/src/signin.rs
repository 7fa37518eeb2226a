//! Smart lockout state (migration 0006): failed sign-ins per tenant, user name and source
//! address. Derived state, kept in the database so that every server of one installation
//! counts the same failures and honours the same lockouts.

use crate::{Result, Store, TenantTx};
use skuld_domain::{TenantId, Timestamp};
use sqlx::Row;

/// The failure record of one user name from one source address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignInFailures {
    /// Failures since the last success or the last lockout.
    pub failures: i64,
    /// Lockouts so far.
    pub lockouts: i64,
    /// Sign-ins are refused until then (`Timestamp(0)`: never locked).
    pub locked_until: Timestamp,
}

impl Store {
    /// A transaction on a tenant's sign-in state. It takes no licensing lock: a sign-in never
    /// waits for the tenant's writers.
    pub async fn sign_in(&self, tenant: TenantId) -> Result<TenantTx> {
        let tx = self.pool.begin().await?;
        Ok(TenantTx::new(tx, tenant, self.backend))
    }
}

fn from_row(r: &sqlx::any::AnyRow) -> Result<SignInFailures> {
    Ok(SignInFailures {
        failures: r.try_get("failures")?,
        lockouts: r.try_get("lockouts")?,
        locked_until: Timestamp(r.try_get("locked_until")?),
    })
}

impl TenantTx {
    pub async fn sign_in_failures(
        &mut self,
        subject: &str,
        source: &str,
    ) -> Result<Option<SignInFailures>> {
        let row = sqlx::query("SELECT failures, lockouts, locked_until FROM sign_in_failures WHERE tenant_id = $1 AND subject = $2 AND source = $3")
            .bind(&self.tid)
            .bind(subject)
            .bind(source)
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Counts one failed sign-in (atomically, so concurrent servers lose no failure); returns
    /// the record after it. On PostgreSQL the row stays locked until the transaction ends.
    pub async fn count_sign_in_failure(
        &mut self,
        subject: &str,
        source: &str,
        at: Timestamp,
    ) -> Result<SignInFailures> {
        let row = sqlx::query("INSERT INTO sign_in_failures (tenant_id, subject, source, failures, lockouts, locked_until, updated_at) VALUES ($1, $2, $3, 1, 0, 0, $4) ON CONFLICT (tenant_id, subject, source) DO UPDATE SET failures = sign_in_failures.failures + 1, updated_at = $4 RETURNING failures, lockouts, locked_until")
            .bind(&self.tid)
            .bind(subject)
            .bind(source)
            .bind(at.0)
            .fetch_one(&mut *self.tx)
            .await?;
        from_row(&row)
    }

    /// Locks sign-ins until `until` and starts counting failures again.
    pub async fn lock_sign_in(
        &mut self,
        subject: &str,
        source: &str,
        lockouts: i64,
        until: Timestamp,
        at: Timestamp,
    ) -> Result<()> {
        sqlx::query("UPDATE sign_in_failures SET failures = 0, lockouts = $4, locked_until = $5, updated_at = $6 WHERE tenant_id = $1 AND subject = $2 AND source = $3")
            .bind(&self.tid)
            .bind(subject)
            .bind(source)
            .bind(lockouts)
            .bind(until.0)
            .bind(at.0)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// A successful sign-in resets the failure count (earlier lockouts still lengthen the next).
    pub async fn clear_sign_in_failures(&mut self, subject: &str, source: &str) -> Result<()> {
        sqlx::query("UPDATE sign_in_failures SET failures = 0 WHERE tenant_id = $1 AND subject = $2 AND source = $3 AND failures <> 0")
            .bind(&self.tid)
            .bind(subject)
            .bind(source)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }
}
