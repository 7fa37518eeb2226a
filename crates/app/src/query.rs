//! List queries of users and groups (Graph `$filter`, `$search`, `$orderby`, paging): the
//! protocol crate parses them into a [`ListQuery`], the store runs them. `assignedPlans`
//! conditions are resolved here against the tenant's catalog if the caller has not done so.

use crate::{App, AppError, Result};
use skuld_domain::query::{ListQuery, Page};
use skuld_domain::{Group, Tenant, User};
use skuld_store::{StoreError, TenantTx};
use std::borrow::Cow;

/// A cursor or query the store refuses is the caller's mistake (400), not ours.
fn query_error(e: StoreError) -> AppError {
    match e {
        StoreError::BadCursor => AppError::BadRequest(
            "The specified $skiptoken is invalid or belongs to a different query.".into(),
        ),
        StoreError::BadQuery(m) => AppError::BadRequest(m),
        other => AppError::Store(other),
    }
}

impl App {
    async fn resolved<'q>(
        &self,
        tx: &mut TenantTx,
        q: &'q ListQuery,
    ) -> Result<Cow<'q, ListQuery>> {
        if q.filter.as_ref().is_some_and(|f| f.needs_catalog()) {
            let catalog = self.catalog(tx).await?;
            Ok(Cow::Owned(q.clone().resolve_plans(&catalog)))
        } else {
            Ok(Cow::Borrowed(q))
        }
    }

    /// One page of the tenant's live users (soft-deleted ones with `q.deleted`) matching `q`.
    pub async fn list_users(&self, tenant: &Tenant, q: &ListQuery) -> Result<Page<User>> {
        let mut tx = self.store().read(tenant.id).await?;
        let q = self.resolved(&mut tx, q).await?;
        let page = tx.list_users(&q).await.map_err(query_error)?;
        tx.commit().await?;
        Ok(page)
    }

    /// How many users match `q` (its cursor and page size are ignored).
    pub async fn count_users(&self, tenant: &Tenant, q: &ListQuery) -> Result<i64> {
        let mut tx = self.store().read(tenant.id).await?;
        let q = self.resolved(&mut tx, q).await?;
        let n = tx.count_users_matching(&q).await.map_err(query_error)?;
        tx.commit().await?;
        Ok(n)
    }

    /// One page of the tenant's groups matching `q`.
    pub async fn list_groups(&self, tenant: &Tenant, q: &ListQuery) -> Result<Page<Group>> {
        let mut tx = self.store().read(tenant.id).await?;
        let q = self.resolved(&mut tx, q).await?;
        let page = tx.list_groups(&q).await.map_err(query_error)?;
        tx.commit().await?;
        Ok(page)
    }

    /// How many groups match `q` (its cursor and page size are ignored).
    pub async fn count_groups(&self, tenant: &Tenant, q: &ListQuery) -> Result<i64> {
        let mut tx = self.store().read(tenant.id).await?;
        let q = self.resolved(&mut tx, q).await?;
        let n = tx.count_groups_matching(&q).await.map_err(query_error)?;
        tx.commit().await?;
        Ok(n)
    }
}
