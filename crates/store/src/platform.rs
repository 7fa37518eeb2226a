//! App registrations, token signing keys and durable jobs.

use crate::{Result, Store, StoreError, TenantTx};
use skuld_domain::{TenantId, Timestamp};
use sqlx::any::AnyRow;
use sqlx::Row;
use std::str::FromStr;

/// An application registered in a tenant (client credentials), with its Graph permissions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppRow {
    pub app_id: uuid::Uuid,
    pub object_id: uuid::Uuid,
    pub display_name: String,
    /// argon2id PHC string of the client secret.
    pub secret_hash: String,
    pub permissions: Vec<String>,
    pub created_at: Timestamp,
}

/// A durable background job (D13).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRow {
    pub id: uuid::Uuid,
    /// `group_license`.
    pub kind: String,
    pub target_id: uuid::Uuid,
    /// `QueuedForProcessing`, `ProcessingInProgress`, `ProcessingComplete`, or
    /// `ProcessingFailed` once it gave up.
    pub state: String,
    pub actor: String,
    pub result: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Runs that failed since the job was queued (or retried by hand).
    pub attempts: i64,
    /// A queued job is not run before this time (backoff after a failure).
    pub next_attempt_at: Timestamp,
    pub last_error: String,
    /// How many times a worker claimed the job.
    pub runs: i64,
    /// The worker holding the job, and until when (a crashed worker's lease expires).
    pub lease_owner: String,
    pub lease_until: Timestamp,
}

impl JobRow {
    /// A job queued now, never run.
    pub fn queued(kind: &str, target_id: uuid::Uuid, actor: String, at: Timestamp) -> JobRow {
        JobRow {
            id: uuid::Uuid::new_v4(),
            kind: kind.to_string(),
            target_id,
            state: JOB_QUEUED.to_string(),
            actor,
            result: String::new(),
            created_at: at,
            updated_at: at,
            attempts: 0,
            next_attempt_at: at,
            last_error: String::new(),
            runs: 0,
            lease_owner: String::new(),
            lease_until: Timestamp(0),
        }
    }
}

pub const JOB_QUEUED: &str = "QueuedForProcessing";
pub const JOB_IN_PROGRESS: &str = "ProcessingInProgress";
pub const JOB_COMPLETE: &str = "ProcessingComplete";
pub const JOB_FAILED: &str = "ProcessingFailed";

/// Jobs a worker may still run (queued, or in progress under a lease that may have expired).
const JOB_OPEN: &str = "state IN ('QueuedForProcessing', 'ProcessingInProgress')";

fn uuid_col(r: &AnyRow, col: &str) -> Result<uuid::Uuid> {
    let s: String = r.try_get(col)?;
    uuid::Uuid::from_str(&s).map_err(|e| StoreError::Corrupt(format!("{col} '{s}': {e}")))
}

fn app_from_row(r: &AnyRow) -> Result<AppRow> {
    let perms: String = r.try_get("permissions")?;
    Ok(AppRow {
        app_id: uuid_col(r, "app_id")?,
        object_id: uuid_col(r, "object_id")?,
        display_name: r.try_get("display_name")?,
        secret_hash: r.try_get("secret_hash")?,
        permissions: perms.split_whitespace().map(str::to_string).collect(),
        created_at: Timestamp(r.try_get("created_at")?),
    })
}

fn job_from_row(r: &AnyRow) -> Result<JobRow> {
    Ok(JobRow {
        id: uuid_col(r, "id")?,
        kind: r.try_get("kind")?,
        target_id: uuid_col(r, "target_id")?,
        state: r.try_get("state")?,
        actor: r.try_get("actor")?,
        result: r.try_get("result")?,
        created_at: Timestamp(r.try_get("created_at")?),
        updated_at: Timestamp(r.try_get("updated_at")?),
        attempts: r.try_get("attempts")?,
        next_attempt_at: Timestamp(r.try_get("next_attempt_at")?),
        last_error: r.try_get("last_error")?,
        runs: r.try_get("runs")?,
        lease_owner: r.try_get("lease_owner")?,
        lease_until: Timestamp(r.try_get("lease_until")?),
    })
}

const APP_COLS: &str = "app_id, object_id, display_name, secret_hash, permissions, created_at";
const JOB_COLS: &str = "id, kind, target_id, state, actor, result, created_at, updated_at, attempts, next_attempt_at, last_error, runs, lease_owner, lease_until";

impl TenantTx {
    pub async fn insert_app(&mut self, a: &AppRow) -> Result<()> {
        sqlx::query("INSERT INTO app_registrations (tenant_id, app_id, object_id, display_name, secret_hash, permissions, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(&self.tid)
            .bind(a.app_id.to_string())
            .bind(a.object_id.to_string())
            .bind(&a.display_name)
            .bind(&a.secret_hash)
            .bind(a.permissions.join(" "))
            .bind(a.created_at.0)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    pub async fn app(&mut self, app_id: uuid::Uuid) -> Result<Option<AppRow>> {
        let sql = format!(
            "SELECT {APP_COLS} FROM app_registrations WHERE tenant_id = $1 AND app_id = $2"
        );
        let row = sqlx::query(&sql)
            .bind(&self.tid)
            .bind(app_id.to_string())
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map(app_from_row).transpose()
    }

    pub async fn apps(&mut self) -> Result<Vec<AppRow>> {
        let sql = format!(
            "SELECT {APP_COLS} FROM app_registrations WHERE tenant_id = $1 ORDER BY display_name, app_id"
        );
        let rows = sqlx::query(&sql)
            .bind(&self.tid)
            .fetch_all(&mut *self.tx)
            .await?;
        rows.iter().map(app_from_row).collect()
    }

    pub async fn delete_app(&mut self, app_id: uuid::Uuid) -> Result<bool> {
        let n = sqlx::query("DELETE FROM app_registrations WHERE tenant_id = $1 AND app_id = $2")
            .bind(&self.tid)
            .bind(app_id.to_string())
            .execute(&mut *self.tx)
            .await?
            .rows_affected();
        Ok(n > 0)
    }

    pub async fn insert_job(&mut self, j: &JobRow) -> Result<()> {
        sqlx::query(&format!("INSERT INTO jobs (tenant_id, {JOB_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"))
            .bind(&self.tid)
            .bind(j.id.to_string())
            .bind(&j.kind)
            .bind(j.target_id.to_string())
            .bind(&j.state)
            .bind(&j.actor)
            .bind(&j.result)
            .bind(j.created_at.0)
            .bind(j.updated_at.0)
            .bind(j.attempts)
            .bind(j.next_attempt_at.0)
            .bind(&j.last_error)
            .bind(j.runs)
            .bind(&j.lease_owner)
            .bind(j.lease_until.0)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Claims a job for `owner` until `until`: succeeds only when the job is open, due, and
    /// nobody holds an unexpired lease on it (one UPDATE, `rows_affected == 1`), so two workers
    /// never both claim one job. Counts the run.
    pub async fn claim_job(
        &mut self,
        id: uuid::Uuid,
        owner: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<bool> {
        let n = sqlx::query(&format!(
            "UPDATE jobs SET state = 'ProcessingInProgress', lease_owner = $3, lease_until = $5, runs = runs + 1, updated_at = $4
             WHERE tenant_id = $1 AND id = $2 AND {JOB_OPEN} AND next_attempt_at <= $4 AND lease_until <= $4"
        ))
        .bind(&self.tid)
        .bind(id.to_string())
        .bind(owner)
        .bind(now.0)
        .bind(until.0)
        .execute(&mut *self.tx)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// Marks a job `owner` holds complete with its result and releases the lease; false when
    /// `owner` no longer holds it (then the caller must not commit its work).
    pub async fn complete_job(
        &mut self,
        id: uuid::Uuid,
        owner: &str,
        result: &str,
        at: Timestamp,
    ) -> Result<bool> {
        let n = sqlx::query(
            "UPDATE jobs SET state = 'ProcessingComplete', result = $4, lease_owner = '', lease_until = 0, updated_at = $5
             WHERE tenant_id = $1 AND id = $2 AND lease_owner = $3 AND state = 'ProcessingInProgress'",
        )
        .bind(&self.tid)
        .bind(id.to_string())
        .bind(owner)
        .bind(result)
        .bind(at.0)
        .execute(&mut *self.tx)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// Records a failed run of a job `owner` holds: queued again for `retry_at`, or
    /// `ProcessingFailed` for good when `retry_at` is None. Releases the lease.
    pub async fn fail_job(
        &mut self,
        id: uuid::Uuid,
        owner: &str,
        error: &str,
        retry_at: Option<Timestamp>,
        at: Timestamp,
    ) -> Result<bool> {
        let (state, next) = match retry_at {
            Some(t) => (JOB_QUEUED, t.0),
            None => (JOB_FAILED, 0),
        };
        let n = sqlx::query(
            "UPDATE jobs SET state = $4, attempts = attempts + 1, next_attempt_at = $5, last_error = $6, lease_owner = '', lease_until = 0, updated_at = $7
             WHERE tenant_id = $1 AND id = $2 AND lease_owner = $3 AND state = 'ProcessingInProgress'",
        )
        .bind(&self.tid)
        .bind(id.to_string())
        .bind(owner)
        .bind(state)
        .bind(next)
        .bind(error)
        .bind(at.0)
        .execute(&mut *self.tx)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// Queues a job that failed (or waits for its backoff) again at once, with a fresh count
    /// of attempts. False if the job is unknown, complete, or being run.
    pub async fn retry_job(&mut self, id: uuid::Uuid, at: Timestamp) -> Result<bool> {
        let n = sqlx::query(
            "UPDATE jobs SET state = 'QueuedForProcessing', attempts = 0, next_attempt_at = $3, updated_at = $3
             WHERE tenant_id = $1 AND id = $2 AND (state = 'ProcessingFailed' OR (state = 'QueuedForProcessing' AND lease_until <= $3))",
        )
        .bind(&self.tid)
        .bind(id.to_string())
        .bind(at.0)
        .execute(&mut *self.tx)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    pub async fn job(&mut self, id: uuid::Uuid) -> Result<Option<JobRow>> {
        let sql = format!("SELECT {JOB_COLS} FROM jobs WHERE tenant_id = $1 AND id = $2");
        let row = sqlx::query(&sql)
            .bind(&self.tid)
            .bind(id.to_string())
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map(job_from_row).transpose()
    }

    /// Jobs of one target that a worker may still run, oldest first.
    pub async fn open_jobs_for(&mut self, target: uuid::Uuid) -> Result<Vec<JobRow>> {
        let sql = format!(
            "SELECT {JOB_COLS} FROM jobs WHERE tenant_id = $1 AND target_id = $2 AND {JOB_OPEN} ORDER BY created_at, id"
        );
        let rows = sqlx::query(&sql)
            .bind(&self.tid)
            .bind(target.to_string())
            .fetch_all(&mut *self.tx)
            .await?;
        rows.iter().map(job_from_row).collect()
    }

    /// Every job of the tenant a worker may still run, oldest first.
    pub async fn open_jobs(&mut self) -> Result<Vec<JobRow>> {
        let sql = format!(
            "SELECT {JOB_COLS} FROM jobs WHERE tenant_id = $1 AND {JOB_OPEN} ORDER BY created_at, id"
        );
        let rows = sqlx::query(&sql)
            .bind(&self.tid)
            .fetch_all(&mut *self.tx)
            .await?;
        rows.iter().map(job_from_row).collect()
    }

    /// Jobs for `skuld job list`: those not complete (open and failed), or all with `all`;
    /// newest first.
    pub async fn jobs(&mut self, all: bool) -> Result<Vec<JobRow>> {
        let cond = if all {
            ""
        } else {
            " AND state <> 'ProcessingComplete'"
        };
        let sql = format!(
            "SELECT {JOB_COLS} FROM jobs WHERE tenant_id = $1{cond} ORDER BY created_at DESC, id"
        );
        let rows = sqlx::query(&sql)
            .bind(&self.tid)
            .fetch_all(&mut *self.tx)
            .await?;
        rows.iter().map(job_from_row).collect()
    }
}

impl Store {
    /// The token signing key in force: `(kid, stored private key)` (see migration 0006 for the
    /// stored form).
    pub async fn signing_key(&self) -> Result<Option<(String, String)>> {
        let row =
            sqlx::query("SELECT kid, private_key FROM signing_key_slot WHERE slot = 'current'")
                .fetch_optional(&self.pool)
                .await?;
        row.map(|r| Ok((r.try_get("kid")?, r.try_get("private_key")?)))
            .transpose()
    }

    /// Stores a signing key unless one exists already; returns the key in force. Idempotent
    /// under concurrency: every caller inserts into the same slot, the database keeps the first
    /// row, and everyone reads back that row (so two servers starting at once agree on one key).
    pub async fn ensure_signing_key(
        &self,
        kid: &str,
        private_key: &str,
        at: Timestamp,
    ) -> Result<(String, String)> {
        sqlx::query("INSERT INTO signing_key_slot (slot, kid, private_key, created_at) VALUES ('current', $1, $2, $3) ON CONFLICT (slot) DO NOTHING")
            .bind(kid)
            .bind(private_key)
            .bind(at.0)
            .execute(&self.pool)
            .await?;
        self.signing_key()
            .await?
            .ok_or_else(|| StoreError::Corrupt("no signing key after insert".into()))
    }

    /// Replaces the stored form of the key in force if it is still `old` (sealing a key an
    /// older version stored in plain form); `false` when another server changed it first.
    pub async fn reseal_signing_key(&self, kid: &str, old: &str, new: &str) -> Result<bool> {
        let n = sqlx::query("UPDATE signing_key_slot SET private_key = $3 WHERE slot = 'current' AND kid = $1 AND private_key = $2")
            .bind(kid)
            .bind(old)
            .bind(new)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(n == 1)
    }

    /// Tenants with open jobs, and the oldest open job's time.
    pub async fn tenants_with_open_jobs(&self) -> Result<Vec<TenantId>> {
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT tenant_id FROM jobs WHERE state IN ('QueuedForProcessing', 'ProcessingInProgress') GROUP BY tenant_id ORDER BY MIN(created_at)",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|s| TenantId::from_str(s).map_err(|e| StoreError::Corrupt(e.to_string())))
            .collect()
    }
}
