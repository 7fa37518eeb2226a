//! Daily product usage snapshots for the admin center's chart (issue 8): once a day per
//! product, the seats purchased and assigned; two years are kept.

use crate::{App, Result};
use skuld_domain::{Tenant, Timestamp};
const DAY_MS: i64 = Timestamp::DAY_MS;
pub use skuld_store::SkuSnapshot;

/// How many days of snapshots are kept.
pub const SNAPSHOT_KEEP_DAYS: i64 = 730;

/// The day (days since 1970-01-01, UTC) of a timestamp.
pub fn day_of(t: Timestamp) -> i64 {
    t.0.div_euclid(DAY_MS)
}

impl App {
    /// Writes today's snapshot of every product (again, if it was already written today: the
    /// last write of a day wins) and drops those older than [`SNAPSHOT_KEEP_DAYS`].
    pub async fn record_snapshots(&self, tenant: &Tenant, at: Timestamp) -> Result<usize> {
        let rows = self.sku_rows(tenant).await?;
        let day = day_of(at);
        let mut tx = self.store().write(tenant.id).await?;
        for r in &rows {
            tx.put_sku_snapshot(&SkuSnapshot {
                sku_id: r.sku_id,
                day,
                total: r.total,
                assigned: r.assigned,
            })
            .await?;
        }
        tx.prune_sku_snapshots(day - SNAPSHOT_KEEP_DAYS).await?;
        tx.commit().await?;
        Ok(rows.len())
    }

    /// The snapshots of the last `days` days up to `at`, by product then day.
    pub async fn usage_history(
        &self,
        tenant: &Tenant,
        at: Timestamp,
        days: i64,
    ) -> Result<Vec<SkuSnapshot>> {
        let mut tx = self.store().read(tenant.id).await?;
        let v = tx
            .sku_snapshots(day_of(at) - days.clamp(1, SNAPSHOT_KEEP_DAYS) + 1)
            .await?;
        tx.commit().await?;
        Ok(v)
    }
}
