//! The licensing engine: from intent (direct assignments, group assignments and memberships) and
//! the seat ledger to derived state (one state per user, product and path) — rulebook §2–§6 and
//! decisions D1–D14.
//!
//! The engine is incremental: callers hand it only the users a change affects, with each user's
//! complete set of claims and current path states; it returns their new states and updates the
//! seat ledger. Full recomputation is the same call over every user, so "incremental equals full"
//! is a property of one function, not of two implementations.

mod derived;
mod engine;
mod model;

pub use derived::{group_count_deltas, users_in_error_delta, Derived, Evaluation};
pub use engine::Engine;
pub use model::{
    same_licensing, Claim, LicenseError, PathState, PathStatus, SeatLedger, SkuSeats, Source,
    UserInput, UserOutcome,
};

#[cfg(test)]
mod tests;
