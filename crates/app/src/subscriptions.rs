//! Subscriptions: buying seats, changing them, the lifecycle by date (D8) and self-service
//! purchases (D9).

use crate::audit::{Actor, Audit};
use crate::authz::Action;
use crate::error::{Problem, ProductRef};
use crate::reconcile::{reconcile, Ctx, Groups};
use crate::users::{bad, find_user};
use crate::{App, AppError, Result};
use skuld_domain::{
    SkuId, Subscription, SubscriptionId, SubscriptionStatus, Tenant, Timestamp, UserId,
};
use skuld_store::TenantTx;

/// A subscription to add.
#[derive(Debug, Clone)]
pub struct NewSubscription {
    pub sku: SkuId,
    pub units: i64,
    pub status: SubscriptionStatus,
    pub is_trial: bool,
    /// A self-service purchase by this user (D9).
    pub self_service_owner: Option<String>,
    /// When the term ends (Enabled → Warning), or the current status ends.
    pub next_lifecycle_at: Option<Timestamp>,
}

/// Users with a path for the product: holders' states depend on whether its units are
/// suspended, and which error a waiting user shows depends on which products are short.
async fn holders(tx: &mut TenantTx, sku: SkuId) -> Result<Vec<UserId>> {
    Ok(tx.users_with_sku(sku).await?)
}

fn unknown(sub: SubscriptionId) -> AppError {
    Problem::UnknownSubscription {
        key: sub.to_string(),
    }
    .into()
}

impl App {
    pub async fn add_subscription(
        &self,
        tenant: &Tenant,
        n: NewSubscription,
        actor: &Actor,
    ) -> Result<Subscription> {
        if !actor.may(Action::ManageSubscriptions) {
            return Err(AppError::forbidden());
        }
        if n.units < 0 || n.units > 10_000_000 {
            return Err(bad("the number of seats must be between 0 and 10,000,000"));
        }
        let (mut tx, cx) = self.begin(tenant).await?;
        let product = cx.catalog.product(&n.sku).ok_or_else(|| {
            bad(format!(
                "there is no product {} in the catalog (see `skuld sku list`)",
                n.sku
            ))
        })?;
        if tx
            .subscriptions()
            .await?
            .iter()
            .filter(|s| s.status != SubscriptionStatus::Deleted)
            .count()
            >= 300
        {
            return Err(bad(
                "a tenant can have at most 300 license-based subscriptions",
            ));
        }
        let owner = match &n.self_service_owner {
            Some(k) => Some(find_user(&mut tx, k).await?),
            None => None,
        };
        let sub = Subscription {
            id: SubscriptionId::new(),
            sku_id: n.sku,
            units: n.units,
            status: n.status,
            is_trial: n.is_trial,
            self_service_owner: owner.as_ref().map(|u| u.id),
            created_at: cx.now,
            next_lifecycle_at: n.next_lifecycle_at,
        };
        tx.upsert_subscription(&sub).await?;
        let mut affected = holders(&mut tx, sub.sku_id).await?;
        if let Some(o) = &owner {
            // The purchaser licenses itself with what it bought.
            if o.usage_location.is_none() {
                return Err(Problem::NoUsageLocation {
                    user: o.upn.clone(),
                    products: vec![ProductRef::of(&cx.catalog, sub.sku_id)],
                    example: tenant.country.to_string(),
                }
                .into());
            }
            tx.upsert_direct(o.id, sub.sku_id, &[], cx.now).await?;
            affected.push(o.id);
        }
        let groups = Groups::load(&mut tx).await?;
        reconcile(&mut tx, &cx, &groups, &affected, &[sub.sku_id]).await?;
        let mut audit = Audit::new(actor, cx.now);
        audit.push(
            "SubscriptionManagement",
            "Add subscription",
            "Subscription",
            sub.id.to_string(),
            product.part_number.clone(),
            vec![("TotalLicenses", String::new(), sub.units.to_string())],
            None,
        );
        tx.insert_audit(&audit.rows).await?;
        tx.commit().await?;
        Ok(sub)
    }

    pub async fn subscriptions(&self, tenant: &Tenant) -> Result<Vec<Subscription>> {
        let mut tx = self.store().read(tenant.id).await?;
        let s = tx.subscriptions().await?;
        tx.commit().await?;
        Ok(s)
    }

    /// Changes the number of seats. Like Microsoft (M-BUY), seats that are assigned cannot be
    /// removed unless `allow_over_allocation` (a renewal with fewer seats): then nobody loses a
    /// license but nobody new gets one until consumption is below capacity (D8).
    pub async fn set_seats(
        &self,
        tenant: &Tenant,
        sub: SubscriptionId,
        units: i64,
        allow_over_allocation: bool,
        actor: &Actor,
    ) -> Result<Subscription> {
        if !actor.may(Action::ManageSubscriptions) {
            return Err(AppError::forbidden());
        }
        let (mut tx, cx) = self.begin(tenant).await?;
        let (s, old, affected) =
            write_seats(&mut tx, &cx, sub, units, allow_over_allocation).await?;
        let groups = Groups::load(&mut tx).await?;
        reconcile(&mut tx, &cx, &groups, &affected, &[s.sku_id]).await?;
        let mut audit = Audit::new(actor, cx.now);
        audit.push(
            "SubscriptionManagement",
            "Update subscription",
            "Subscription",
            s.id.to_string(),
            s.sku_id.to_string(),
            vec![("TotalLicenses", old.to_string(), units.to_string())],
            None,
        );
        tx.insert_audit(&audit.rows).await?;
        tx.commit().await?;
        Ok(s)
    }

    /// Sets a subscription's status (renewal, cancellation, or the lifecycle by hand).
    pub async fn set_subscription_status(
        &self,
        tenant: &Tenant,
        sub: SubscriptionId,
        status: SubscriptionStatus,
        next: Option<Timestamp>,
        actor: &Actor,
    ) -> Result<Subscription> {
        if !actor.may(Action::ManageSubscriptions) {
            return Err(AppError::forbidden());
        }
        let (mut tx, cx) = self.begin(tenant).await?;
        let mut s = tx.subscription(sub).await?.ok_or_else(|| unknown(sub))?;
        let old = s.status;
        s.status = status;
        s.next_lifecycle_at =
            next.or_else(|| status.days_until_next().map(|(d, _)| cx.now.plus_days(d)));
        tx.upsert_subscription(&s).await?;
        let affected = holders(&mut tx, s.sku_id).await?;
        let groups = Groups::load(&mut tx).await?;
        reconcile(&mut tx, &cx, &groups, &affected, &[s.sku_id]).await?;
        let mut audit = Audit::new(actor, cx.now);
        audit.push(
            "SubscriptionManagement",
            "Update subscription",
            "Subscription",
            s.id.to_string(),
            s.sku_id.to_string(),
            vec![("Status", old.to_string(), status.to_string())],
            None,
        );
        tx.insert_audit(&audit.rows).await?;
        tx.commit().await?;
        Ok(s)
    }

    /// Takes control of a self-service purchase (D9): from now on admins assign its licenses.
    pub async fn take_over(
        &self,
        tenant: &Tenant,
        sub: SubscriptionId,
        actor: &Actor,
    ) -> Result<Subscription> {
        if !actor.may(Action::ManageSubscriptions) {
            return Err(AppError::forbidden());
        }
        let (mut tx, cx) = self.begin(tenant).await?;
        let mut s = tx.subscription(sub).await?.ok_or_else(|| unknown(sub))?;
        let Some(owner) = s.self_service_owner.take() else {
            return Err(Problem::NotSelfService {
                subscription: s.id,
                product: ProductRef::of(&cx.catalog, s.sku_id),
            }
            .into());
        };
        tx.upsert_subscription(&s).await?;
        let mut audit = Audit::new(actor, cx.now);
        audit.push(
            "SubscriptionManagement",
            "Take over self-service subscription",
            "Subscription",
            s.id.to_string(),
            s.sku_id.to_string(),
            vec![("Owner", owner.to_string(), String::new())],
            None,
        );
        tx.insert_audit(&audit.rows).await?;
        tx.commit().await?;
        Ok(s)
    }

    /// Moves subscriptions whose date has come to their next status (D8): Enabled → Warning
    /// (30 days) → Suspended (90 days) → Deleted. Returns the subscriptions that moved.
    pub async fn lifecycle_tick(
        &self,
        tenant: &Tenant,
        at: Timestamp,
    ) -> Result<Vec<Subscription>> {
        let (mut tx, cx) = self.begin(tenant).await?;
        let mut moved = Vec::new();
        for mut s in tx.subscriptions().await? {
            let original = s.clone();
            while let Some(when) = s.next_lifecycle_at {
                if when > at {
                    break;
                }
                let next = match s.status {
                    SubscriptionStatus::Enabled => SubscriptionStatus::Warning,
                    SubscriptionStatus::Warning => SubscriptionStatus::Suspended,
                    SubscriptionStatus::Suspended | SubscriptionStatus::LockedOut => {
                        SubscriptionStatus::Deleted
                    }
                    SubscriptionStatus::Deleted => break,
                };
                s.status = next;
                s.next_lifecycle_at = next.days_until_next().map(|(d, _)| when.plus_days(d));
                if next == SubscriptionStatus::Warning {
                    s.next_lifecycle_at = Some(when.plus_days(30));
                }
            }
            if s != original {
                tx.upsert_subscription(&s).await?;
                moved.push(s);
            }
        }
        let groups = Groups::load(&mut tx).await?;
        for s in &moved {
            let affected = holders(&mut tx, s.sku_id).await?;
            reconcile(&mut tx, &cx, &groups, &affected, &[s.sku_id]).await?;
        }
        let system = Actor::System;
        let mut audit = Audit::new(&system, cx.now);
        for s in &moved {
            audit.push(
                "SubscriptionManagement",
                "Update subscription",
                "Subscription",
                s.id.to_string(),
                s.sku_id.to_string(),
                vec![("Status", String::new(), s.status.to_string())],
                None,
            );
        }
        tx.insert_audit(&audit.rows).await?;
        tx.commit().await?;
        Ok(moved)
    }
}

/// The intent part of a seat change (shared by [`App::set_seats`] and the what-if preview):
/// writes the subscription's new units, refusing to go below the seats in use unless
/// `allow_over_allocation`. Returns the subscription, its old units and the product's holders.
pub(crate) async fn write_seats(
    tx: &mut TenantTx,
    cx: &Ctx,
    sub: SubscriptionId,
    units: i64,
    allow_over_allocation: bool,
) -> Result<(Subscription, i64, Vec<UserId>)> {
    if !(0..=10_000_000).contains(&units) {
        return Err(bad("the number of seats must be between 0 and 10,000,000"));
    }
    let mut s = tx.subscription(sub).await?.ok_or_else(|| unknown(sub))?;
    let old = s.units;
    s.units = units;
    tx.upsert_subscription(&s).await?;
    let ledger = crate::reconcile::load_ledger(tx).await?;
    let seats = ledger.get(&s.sku_id);
    if units < old && seats.consumed > seats.capacity && !allow_over_allocation {
        return Err(Problem::SeatsBelowAssigned {
            product: ProductRef::of(&cx.catalog, s.sku_id),
            subscription: s.id,
            assigned: seats.consumed,
            requested: units,
        }
        .into());
    }
    let affected = holders(tx, s.sku_id).await?;
    Ok((s, old, affected))
}
