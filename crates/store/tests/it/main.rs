//! Integration tests of the store. Every test runs on a fresh database of every backend
//! (SQLite, and PostgreSQL when `SKULD_TEST_PG_URL` is set): see [`harness`].

mod backends;
mod derived;
mod directory;
mod harness;
mod isolation;
mod member_counts;
mod query;
mod schema;
mod transactions;

use skuld_domain::licensing::{group_count_deltas, users_in_error_delta, Derived, PathState};
use skuld_domain::{SkuId, UserId};
use skuld_store::TenantTx;

/// Writes hand-made derived state through the store's only writer, for tests that need states
/// the engine would not produce in that order (`Derived::fixture` is a test-only constructor).
#[allow(async_fn_in_trait)]
pub trait WriteFixture {
    async fn replace_path_states(
        &mut self,
        clear: &[UserId],
        states: &[(UserId, PathState)],
    ) -> skuld_store::Result<()>;
    async fn set_sku_usage(&mut self, sku: SkuId, consumed: i64) -> skuld_store::Result<()>;
}

impl WriteFixture for TenantTx {
    /// Replaces states the way the engine's result would, per-group counters included (their
    /// deltas from the cleared users' stored states to the new ones).
    async fn replace_path_states(
        &mut self,
        clear: &[UserId],
        states: &[(UserId, PathState)],
    ) -> skuld_store::Result<()> {
        let old: Vec<(UserId, PathState)> = self
            .path_states(Some(clear))
            .await?
            .into_iter()
            .flat_map(|(u, ss)| ss.into_iter().map(move |s| (u, s)))
            .collect();
        let deltas = group_count_deltas(&old, states);
        self.write_derived(
            &Derived::fixture(clear.to_vec(), states.to_vec(), vec![])
                .with_group_counts(deltas)
                .with_users_in_error(users_in_error_delta(&old, states)),
        )
        .await
    }
    async fn set_sku_usage(&mut self, sku: SkuId, consumed: i64) -> skuld_store::Result<()> {
        self.write_derived(&Derived::fixture(vec![], vec![], vec![(sku, consumed)]))
            .await
    }
}
