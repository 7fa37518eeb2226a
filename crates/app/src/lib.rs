//! skuld's use cases. Every change that can affect a license — a user, a membership, a group
//! license, a subscription — comes through here: authorize, open the tenant's write transaction,
//! change intent, let the engine derive the new state ([`reconcile`]), write it with the audit
//! rows, commit.
//!
//! Architecture Invariant: no other crate writes license state or seat counters; the protocol
//! crates and the CLI call these functions.

mod active_users;
mod apps;
mod audit;
mod authz;
mod bench;
mod catalog;
mod demo;
mod directory;
mod doctor;
mod error;
mod group_pages;
mod groups;
mod jobs;
mod licenses;
mod migrate;
mod onboard;
mod product_users;
mod query;
mod reconcile;
mod roles;
mod sessions;
mod subscriptions;
mod usage;
mod users;
mod views;
mod whatif;

pub use active_users::{days_left, UserFilter, UserList, UserListQuery, UserRow};
pub use apps::SignIn;
pub use audit::Actor;
pub use authz::{
    canonical_permission, canonical_scope, Action, FULL_DELEGATION, KNOWN_PERMISSIONS, KNOWN_SCOPES,
};
pub use bench::{BenchFanout, BenchMemberAdd};
pub use demo::DemoSummary;
pub use directory::Member;
pub use doctor::DoctorReport;
pub use error::{AppError, PlanRef, Problem, ProductRef, Refusal, RefusalKind};
pub use group_pages::{GroupReprocess, RulePreview, RULE_PREVIEW_SCAN, RULE_PREVIEW_SHOWN};
pub use groups::{GroupPatch, NewGroup, RuleCacheStats};
pub use jobs::{JobView, MAX_ATTEMPTS};
pub use licenses::LicenseSpec;
pub use licenses::{ChangeOutcome, FanoutResult, LicenseChange};
pub use migrate::{MigratePlan, MigrateRow, MigrateVerdict};
pub use product_users::{HolderPath, ProductGroup, ProductHolder};
pub use roles::AUDIT_ACTIVITIES;
pub use sessions::{random_token, NewSession, Session, SESSION_IDLE_MS, SESSION_MAX_MS};
pub use skuld_store::AuditFilter;
pub use skuld_store::{AppRow, JobRow, MemberKind};
pub use subscriptions::NewSubscription;
pub use usage::{day_of, SkuSnapshot, SNAPSHOT_KEEP_DAYS};
pub use users::{generate_password, verify_password, NewUser, UserPatch};
pub use views::{GroupView, PathView, SkuRow, UserLicense, UserLicensing, UserView, ERRORS_SHOWN};
pub use whatif::{Held, WhatIf, WhatIfChange, WhatIfRow, WhatIfSeats};

use skuld_domain::{Catalog, Tenant, TenantId, Timestamp, UsageLocation};
use skuld_store::{Store, TenantTx};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub type Result<T, E = AppError> = std::result::Result<T, E>;

/// A tenant's catalog and the `catalog_version` it was read at.
type Versioned = (i64, Arc<Catalog>);

/// The application: a store plus per-tenant caches. Each cache says how it stays true when
/// other processes (a second server, the CLI) write the same database:
/// - `catalogs`: each tenant's catalog with the `catalog_version` it was read at; every use
///   reads the version inside its own transaction and reloads when it differs, and an entry is
///   never replaced by one of a lower version (a reader that began before a commit cannot put
///   the old catalog back).
/// - `tenants`: tenants are created and never changed or removed by any command, so a tenant
///   once found stays true; a tenant not found is not cached.
#[derive(Clone)]
pub struct App {
    store: Store,
    catalogs: Arc<Mutex<HashMap<TenantId, Versioned>>>,
    tenants: Arc<Mutex<HashMap<TenantId, Tenant>>>,
    /// Compiled dynamic membership rules, keyed by rule text (item 18).
    rules: Arc<groups::RuleCache>,
    /// This instance's name as a job worker (the lease owner of the jobs it runs).
    worker: Arc<str>,
}

/// Milliseconds since the epoch from the system clock; the only clock of the application.
pub fn now() -> Timestamp {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp(d.as_millis() as i64)
}

impl App {
    pub fn new(store: Store) -> Self {
        Self {
            store,
            catalogs: Arc::new(Mutex::new(HashMap::new())),
            tenants: Arc::new(Mutex::new(HashMap::new())),
            rules: Arc::default(),
            worker: uuid::Uuid::new_v4().to_string().into(),
        }
    }

    pub async fn open(url: &str) -> Result<Self> {
        Ok(Self::new(Store::open(url).await?))
    }

    /// How often dynamic rules were compiled (misses) and reused (hits) by this application.
    pub fn rule_cache_stats(&self) -> RuleCacheStats {
        self.rules.stats()
    }

    /// The store, for the use cases of this crate only: the protocol crates and the CLI reach
    /// data through `App`'s methods, so they cannot bypass authorization or the engine.
    pub(crate) fn store(&self) -> &Store {
        &self.store
    }

    pub(crate) fn worker_id(&self) -> &str {
        &self.worker
    }

    /// Closes the database pool (graceful shutdown).
    pub async fn close(&self) {
        self.store.close().await;
    }

    /// The Microsoft catalog plus the tenant's own products and plans (D14), cached per
    /// catalog version (issue 7 item 1): the version is read inside `tx`, so the catalog
    /// returned is the one this transaction sees, whichever process changed it.
    pub(crate) async fn catalog(&self, tx: &mut TenantTx) -> Result<Arc<Catalog>> {
        let version = tx.catalog_version().await?;
        if let Some((v, c)) = self
            .catalogs
            .lock()
            .expect("catalog cache")
            .get(&tx.tenant())
        {
            if *v == version {
                return Ok(c.clone());
            }
        }
        let (plans, products) = tx.custom_catalog().await?;
        let base = Catalog::microsoft();
        let cat = if plans.is_empty() && products.is_empty() {
            base
        } else {
            let mut c = (*base).clone();
            for p in plans {
                c.add_plan(p);
            }
            for p in products {
                c.add_product(p).map_err(AppError::Corrupt)?;
            }
            Arc::new(c)
        };
        let mut cache = self.catalogs.lock().expect("catalog cache");
        match cache.get(&tx.tenant()) {
            // A newer catalog is cached already: keep it (this transaction still uses its own).
            Some((v, _)) if *v > version => {}
            _ => {
                cache.insert(tx.tenant(), (version, cat.clone()));
            }
        }
        Ok(cat)
    }

    /// A tenant by id, from a cache (tenants are created, never changed or removed).
    pub async fn tenant_by_id(&self, id: TenantId) -> Result<Option<Tenant>> {
        if let Some(t) = self.tenants.lock().expect("tenant cache").get(&id) {
            return Ok(Some(t.clone()));
        }
        let t = self
            .store
            .find_tenant(&id.to_string())
            .await?
            .filter(|t| t.id == id);
        if let Some(t) = &t {
            self.tenants
                .lock()
                .expect("tenant cache")
                .insert(id, t.clone());
        }
        Ok(t)
    }

    /// Creates a tenant with one verified domain, which is its default.
    pub async fn create_tenant(&self, name: &str, domain: &str, country: &str) -> Result<Tenant> {
        let name = name.trim();
        if name.is_empty() {
            return Err(AppError::BadRequest("a tenant needs a name".into()));
        }
        let domain = domain.trim().to_ascii_lowercase();
        if !domain.contains('.')
            || !domain
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        {
            return Err(AppError::BadRequest(format!(
                "'{domain}' is not a valid domain name"
            )));
        }
        let country =
            UsageLocation::parse(country).map_err(|e| AppError::BadRequest(e.to_string()))?;
        if self.store.find_tenant(&domain).await?.is_some()
            || self.store.find_tenant(name).await?.is_some()
        {
            return Err(AppError::BadRequest(format!(
                "a tenant named '{name}' or with domain '{domain}' already exists"
            )));
        }
        let t = Tenant {
            id: TenantId::new(),
            name: name.to_string(),
            domains: vec![domain.clone()],
            default_domain: domain,
            country,
            created_at: now(),
        };
        self.store.create_tenant(&t).await?;
        Ok(t)
    }

    /// Finds a tenant by id, name or domain; `None` if there is none.
    pub async fn find_tenant(&self, key: &str) -> Result<Option<Tenant>> {
        Ok(self.store.find_tenant(key).await?)
    }

    /// The installation's token signing key `(kid, stored form)`: the stored one, or `fresh`
    /// stored now when there is none (idempotent across processes, see the store).
    pub async fn ensure_signing_key(
        &self,
        kid: &str,
        private_key: &str,
        at: Timestamp,
    ) -> Result<(String, String)> {
        Ok(self.store.ensure_signing_key(kid, private_key, at).await?)
    }

    /// Finds a tenant by id, name or domain.
    pub async fn tenant(&self, key: &str) -> Result<Tenant> {
        self.store
            .find_tenant(key)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("tenant '{key}' does not exist")))
    }

    pub async fn tenants(&self) -> Result<Vec<Tenant>> {
        Ok(self.store.tenants().await?)
    }

    /// The only tenant, when there is exactly one (so the CLI can omit `--tenant`).
    pub async fn sole_tenant(&self) -> Result<Tenant> {
        let mut all = self.store.tenants().await?;
        match all.len() {
            1 => Ok(all.remove(0)),
            0 => Err(AppError::NotFound(
                "there is no tenant yet: run `skuld demo` or `skuld tenant add`".into(),
            )),
            _ => Err(AppError::BadRequest(
                "there are several tenants: name one with --tenant".into(),
            )),
        }
    }
}
