//! Read models of the admin center's product pages and home page (issue 8): who holds one
//! product and through which path, which groups assign it, and which users are in error.

use crate::reconcile::Groups;
use crate::{App, Result};
use skuld_domain::licensing::{LicenseError, PathStatus, Source};
use skuld_domain::{Group, GroupId, SkuId, Tenant, User, UserId};

/// One path of a user to one product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HolderPath {
    /// `None` for a direct assignment.
    pub group: Option<(GroupId, String)>,
    pub state: PathStatus,
    pub error: LicenseError,
    pub detail: String,
    pub applied: bool,
}

/// A user with a path to a product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductHolder {
    pub user: User,
    /// Direct first, then groups by name.
    pub paths: Vec<HolderPath>,
}

/// A group that assigns a product, with its license counts over all its products.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductGroup {
    pub group: Group,
    pub licensed_users: i64,
    pub error_users: i64,
}

impl App {
    /// Every live user with a path (applied or not) to `sku`, by display name.
    pub async fn product_holders(&self, tenant: &Tenant, sku: SkuId) -> Result<Vec<ProductHolder>> {
        let mut tx = self.store().read(tenant.id).await?;
        let ids = tx.users_with_sku(sku).await?;
        let mut out = holders_of(&mut tx, sku, &ids).await?;
        tx.commit().await?;
        out.sort_by(|a, b| {
            (
                a.user.display_name.to_lowercase(),
                a.user.upn.to_lowercase(),
            )
                .cmp(&(
                    b.user.display_name.to_lowercase(),
                    b.user.upn.to_lowercase(),
                ))
        });
        Ok(out)
    }

    /// One page of the users with a path to `sku`, in id order after `after` (keyset: a
    /// product held by a million users costs one page). Returns the page and the cursor of the
    /// next page, if there is one.
    pub async fn product_holders_page(
        &self,
        tenant: &Tenant,
        sku: SkuId,
        after: Option<UserId>,
        limit: usize,
    ) -> Result<(Vec<ProductHolder>, Option<UserId>)> {
        let mut tx = self.store().read(tenant.id).await?;
        let ids = tx.users_with_sku_page(sku, after, limit as i64 + 1).await?;
        let more = ids.len() > limit;
        let ids = &ids[..ids.len().min(limit)];
        let mut out = holders_of(&mut tx, sku, ids).await?;
        tx.commit().await?;
        out.sort_by_key(|h| ids.iter().position(|i| *i == h.user.id));
        Ok((out, if more { ids.last().copied() } else { None }))
    }

    /// The groups that assign `sku`, by name.
    pub async fn product_groups(&self, tenant: &Tenant, sku: SkuId) -> Result<Vec<ProductGroup>> {
        let mut tx = self.store().read(tenant.id).await?;
        let groups = Groups::load(&mut tx).await?;
        let counts = tx.group_license_counts().await?;
        tx.commit().await?;
        let mut out: Vec<ProductGroup> = groups
            .licenses
            .iter()
            .filter(|(_, v)| v.iter().any(|a| a.sku_id == sku))
            .filter_map(|(g, _)| groups.groups.get(g))
            .map(|g| {
                let c = counts.get(&g.id).copied().unwrap_or((0, 0));
                ProductGroup {
                    group: g.clone(),
                    licensed_users: c.0,
                    error_users: c.1,
                }
            })
            .collect();
        out.sort_by_key(|g| g.group.display_name.to_lowercase());
        Ok(out)
    }

    /// The users with an error on any license path: how many, and `limit` of them by display
    /// name. Read from the error index, so a large tenant with few errors answers at once.
    pub async fn users_in_license_error(
        &self,
        tenant: &Tenant,
        limit: usize,
    ) -> Result<(usize, Vec<User>)> {
        let mut tx = self.store().read(tenant.id).await?;
        let (n, ids) = tx.users_in_error(limit as i64).await?;
        let mut users = tx.users_by_ids(&ids).await?;
        tx.commit().await?;
        users.retain(|u| !u.is_deleted());
        users.sort_by_key(|u| u.display_name.to_lowercase());
        Ok((n as usize, users))
    }
}

/// The live users among `ids` with their paths to `sku` (direct first, then groups by name).
async fn holders_of(
    tx: &mut skuld_store::TenantTx,
    sku: SkuId,
    ids: &[UserId],
) -> Result<Vec<ProductHolder>> {
    let users = tx.users_by_ids(ids).await?;
    let mut states = tx.path_states(Some(ids)).await?;
    let groups = Groups::load(tx).await?;
    Ok(users
        .into_iter()
        .filter(|u| !u.is_deleted())
        .map(|u| {
            let mut paths: Vec<HolderPath> = states
                .remove(&u.id)
                .unwrap_or_default()
                .into_iter()
                .filter(|s| s.sku == sku)
                .map(|s| HolderPath {
                    group: match s.source {
                        Source::Direct => None,
                        Source::Group(g) => Some((
                            g,
                            groups
                                .groups
                                .get(&g)
                                .map(|x| x.display_name.clone())
                                .unwrap_or_else(|| g.to_string()),
                        )),
                    },
                    state: s.status,
                    error: s.error,
                    detail: s.detail,
                    applied: s.applied,
                })
                .collect();
            paths.sort_by(|a, b| {
                a.group
                    .as_ref()
                    .map(|g| g.1.to_lowercase())
                    .cmp(&b.group.as_ref().map(|g| g.1.to_lowercase()))
            });
            ProductHolder { user: u, paths }
        })
        .collect())
}
