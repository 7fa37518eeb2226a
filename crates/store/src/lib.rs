//! The durable store: schema, migrations and every SQL statement of skuld, for SQLite (the
//! embedded default, WAL mode) and PostgreSQL, through one portable dialect.
//!
//! Architecture Invariant: only this crate knows SQL. Every query that touches a tenant's data
//! is a method of [`TenantTx`], which carries the tenant id, so an unscoped query cannot be
//! written from outside. Every write goes through a transaction that first takes the tenant's
//! licensing lock ([`Store::write`]); a process killed at any moment leaves the last committed
//! state.

mod codec;
mod group_summary;
pub use group_summary::{MemberCounts, TRANSITIVE_COUNT_SCAN};
mod platform;
mod query;
mod signin;
mod tenant_tx;
mod user_errors;
mod web;

pub use codec::{decode_plans, encode_plans};
pub use platform::{AppRow, JobRow, JOB_COMPLETE, JOB_FAILED, JOB_IN_PROGRESS, JOB_QUEUED};
pub use signin::SignInFailures;
pub use tenant_tx::{
    AuditFilter, AuditRow, GroupAssignmentRow, MemberKind, MembershipRow, StoredPathState, TenantTx,
};
pub use web::{SkuSnapshot, WebSessionRow};

use skuld_domain::{Tenant, TenantId, Timestamp, UsageLocation};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Executor, Row};
use std::str::FromStr;
use std::time::Duration;

/// Errors of the store. Constraint violations are told apart so callers can answer "already
/// exists" instead of a generic failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("unsupported database url '{0}': use a file path, sqlite://… or postgres://…")]
    Url(String),
    /// A list cursor this store did not issue for this query (callers answer 400).
    #[error("the page cursor is invalid or belongs to a different query")]
    BadCursor,
    /// A list query the store cannot run: a property the object does not have, or an
    /// `assignedPlans` condition not resolved against the catalog (callers answer 400).
    #[error("unsupported list query: {0}")]
    BadQuery(String),
}

impl StoreError {
    /// A unique or primary key constraint was violated.
    pub fn is_unique_violation(&self) -> bool {
        match self {
            StoreError::Db(sqlx::Error::Database(e)) => {
                e.kind() == sqlx::error::ErrorKind::UniqueViolation
                    || e.message().contains("UNIQUE constraint failed")
                    || e.code().as_deref() == Some("23505")
            }
            _ => false,
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Which database is behind the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A connection pool to skuld's database.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

impl Store {
    /// Opens (creating if needed) the database at `url` and applies pending migrations.
    /// `url` is `postgres://…`, `sqlite://path`, or a plain file path for SQLite.
    pub async fn open(url: &str) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let (url, backend) = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            (url.to_string(), Backend::Postgres)
        } else if let Some(rest) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            (format!("sqlite://{}", with_mode(rest)), Backend::Sqlite)
        } else if url.contains("://") {
            return Err(StoreError::Url(url.to_string()));
        } else {
            (format!("sqlite://{}", with_mode(url)), Backend::Sqlite)
        };
        if backend == Backend::Sqlite {
            private_files(&url);
        }
        let opts = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(30));
        let pool = match backend {
            Backend::Sqlite => {
                opts.max_connections(4)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            // WAL: readers never block the writer; FULL: a commit survives power
                            // loss; busy_timeout: writers queue instead of failing.
                            conn.execute(
                                "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=30000; PRAGMA foreign_keys=ON; PRAGMA cache_size=-65536; PRAGMA mmap_size=8589934592; PRAGMA temp_store=MEMORY;",
                            )
                            .await?;
                            Ok(())
                        })
                    })
                    .connect(&url)
                    .await?
            }
            Backend::Postgres => opts.max_connections(16).connect(&url).await?,
        };
        MIGRATOR.run(&pool).await?;
        Ok(Store { pool, backend })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Starts a write transaction for one tenant and takes its licensing lock, so writes of one
    /// tenant are serialized on both backends (a row lock on PostgreSQL, the write lock on
    /// SQLite).
    pub async fn write(&self, tenant: TenantId) -> Result<TenantTx> {
        let mut tx = self.pool.begin().await?;
        let n = sqlx::query("UPDATE tenants SET lock_version = lock_version + 1 WHERE id = $1")
            .bind(tenant.to_string())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::Corrupt(format!(
                "tenant {tenant} does not exist"
            )));
        }
        Ok(TenantTx::new(tx, tenant, self.backend))
    }

    /// Starts a read transaction for one tenant: one consistent snapshot, no lock. On
    /// PostgreSQL that is a `REPEATABLE READ, READ ONLY` transaction (at the default READ
    /// COMMITTED every statement would see the latest commit, so a reader like `doctor` could
    /// mix states from before and after a concurrent write, issue 7 item 5); SQLite's deferred
    /// transaction holds one snapshot from its first read on (WAL).
    pub async fn read(&self, tenant: TenantId) -> Result<TenantTx> {
        let mut tx = self.pool.begin().await?;
        if self.backend == Backend::Postgres {
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .execute(&mut *tx)
                .await?;
        }
        Ok(TenantTx::new(tx, tenant, self.backend))
    }

    /// Creates a tenant with its verified domains (the first is the default).
    pub async fn create_tenant(&self, t: &Tenant) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("INSERT INTO tenants (id, name, default_domain, country, created_at, lock_version) VALUES ($1, $2, $3, $4, $5, 0)")
            .bind(t.id.to_string())
            .bind(&t.name)
            .bind(t.default_domain.to_ascii_lowercase())
            .bind(t.country.as_str())
            .bind(t.created_at.0)
            .execute(&mut *tx)
            .await?;
        for d in &t.domains {
            sqlx::query("INSERT INTO tenant_domains (tenant_id, name) VALUES ($1, $2)")
                .bind(t.id.to_string())
                .bind(d.to_ascii_lowercase())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn tenants(&self) -> Result<Vec<Tenant>> {
        let rows = sqlx::query(
            "SELECT id, name, default_domain, country, created_at FROM tenants ORDER BY name",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::new();
        for r in rows {
            out.push(self.tenant_from_row(&r).await?);
        }
        Ok(out)
    }

    /// Finds a tenant by id, name or any of its verified domains.
    pub async fn find_tenant(&self, key: &str) -> Result<Option<Tenant>> {
        let k = key.trim().to_ascii_lowercase();
        let row = sqlx::query(
            "SELECT t.id, t.name, t.default_domain, t.country, t.created_at FROM tenants t
             WHERE t.id = $1 OR LOWER(t.name) = $1
                OR EXISTS (SELECT 1 FROM tenant_domains d WHERE d.tenant_id = t.id AND d.name = $1)
             ORDER BY t.created_at LIMIT 1",
        )
        .bind(&k)
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(r) => Ok(Some(self.tenant_from_row(&r).await?)),
            None => Ok(None),
        }
    }

    async fn tenant_from_row(&self, r: &AnyRow) -> Result<Tenant> {
        let id: String = r.try_get("id")?;
        let domains: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM tenant_domains WHERE tenant_id = $1 ORDER BY name",
        )
        .bind(&id)
        .fetch_all(&self.pool)
        .await?;
        let country: String = r.try_get("country")?;
        Ok(Tenant {
            id: TenantId::from_str(&id).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            name: r.try_get("name")?,
            domains,
            default_domain: r.try_get("default_domain")?,
            country: UsageLocation::parse(&country)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            created_at: Timestamp(r.try_get("created_at")?),
        })
    }
}

/// Creates the SQLite file with mode 0600 before SQLite opens it (SQLite gives its `-wal` and
/// `-shm` files the database file's mode), and tightens the files of an older version that
/// were created 0644: the database holds password hashes and the sealed signing key.
fn private_files(url: &str) {
    let path = url.trim_start_matches("sqlite://");
    let path = path.split('?').next().unwrap_or("");
    if path.is_empty() || path.starts_with(':') || path.contains("mode=memory") {
        return;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let _ = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path);
        for p in [
            path.to_string(),
            format!("{path}-wal"),
            format!("{path}-shm"),
        ] {
            if std::path::Path::new(&p).exists() {
                let _ = std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600));
            }
        }
    }
}

fn with_mode(path: &str) -> String {
    if path.contains('?') {
        path.to_string()
    } else {
        format!("{path}?mode=rwc")
    }
}
