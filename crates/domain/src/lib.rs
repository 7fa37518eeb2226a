//! The pure core of skuld: validated ids and values, the product catalog, directory entities,
//! the licensing engine and the dynamic membership rule language.
//!
//! Architecture Invariant: this crate does no IO, has no async and knows nothing of HTTP, JSON
//! wire shapes or SQL. Everything here is a function of its inputs, so it is tested with fast
//! table-driven and property tests.

pub mod catalog;
pub mod directory;
pub mod ids;
pub mod licensing;
pub mod query;
pub mod rule;
pub mod values;

pub use catalog::{AppliesTo, Catalog, Plan, Product};
pub use directory::{
    DirectoryRole, Group, GroupKind, Subscription, SubscriptionStatus, Tenant, User, UserType,
};
pub use ids::{GroupId, PlanId, SkuId, SubscriptionId, TenantId, UserId};
pub use licensing::{
    Claim, Engine, LicenseError, PathState, PathStatus, SeatLedger, SkuSeats, Source, UserInput,
    UserOutcome,
};
pub use values::{Password, Timestamp, Upn, UsageLocation, ValueError};
