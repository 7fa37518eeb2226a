//! The engine's inputs and outputs.

use crate::ids::{GroupId, PlanId, SkuId, UserId};
use crate::values::{Timestamp, UsageLocation};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

/// Where a license comes from: assigned to the user directly, or inherited from a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Source {
    Direct,
    Group(GroupId),
}

impl Source {
    pub fn group(&self) -> Option<GroupId> {
        match self {
            Source::Direct => None,
            Source::Group(g) => Some(*g),
        }
    }
}

/// One path's wish to license a user with a product: the intent, as the engine sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    pub sku: SkuId,
    pub source: Source,
    /// Deny-list: everything else in the product is enabled (rulebook G9). Sorted, no duplicates.
    pub disabled_plans: Vec<PlanId>,
    /// When the path came to exist: the later of the assignment and the (transitive) membership.
    pub since: Timestamp,
    /// D4: the group's license priority (0 for direct paths); higher goes first.
    pub priority: i32,
}

/// Graph `licenseAssignmentState.state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PathStatus {
    Active,
    ActiveWithError,
    Disabled,
    Error,
}

impl PathStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Active => "Active",
            Self::ActiveWithError => "ActiveWithError",
            Self::Disabled => "Disabled",
            Self::Error => "Error",
        }
    }
}

impl FromStr for PathStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "Active" => Self::Active,
            "ActiveWithError" => Self::ActiveWithError,
            "Disabled" => Self::Disabled,
            "Error" => Self::Error,
            _ => return Err(format!("unknown assignment state '{s}'")),
        })
    }
}

impl fmt::Display for PathStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Graph `licenseAssignmentState.error`, with Graph's exact spellings (`None`, not null; `Other`,
/// not `Others`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LicenseError {
    None,
    CountViolation,
    MutuallyExclusiveViolation,
    DependencyViolation,
    ProhibitedInUsageLocationViolation,
    UniquenessViolation,
    Other,
}

impl LicenseError {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::None => "None",
            Self::CountViolation => "CountViolation",
            Self::MutuallyExclusiveViolation => "MutuallyExclusiveViolation",
            Self::DependencyViolation => "DependencyViolation",
            Self::ProhibitedInUsageLocationViolation => "ProhibitedInUsageLocationViolation",
            Self::UniquenessViolation => "UniquenessViolation",
            Self::Other => "Other",
        }
    }
}

impl FromStr for LicenseError {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "None" => Self::None,
            "CountViolation" => Self::CountViolation,
            "MutuallyExclusiveViolation" => Self::MutuallyExclusiveViolation,
            "DependencyViolation" => Self::DependencyViolation,
            "ProhibitedInUsageLocationViolation" => Self::ProhibitedInUsageLocationViolation,
            "UniquenessViolation" => Self::UniquenessViolation,
            "Other" => Self::Other,
            _ => return Err(format!("unknown license error '{s}'")),
        })
    }
}

impl fmt::Display for LicenseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Derived state of one path for one user and product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathState {
    pub sku: SkuId,
    pub source: Source,
    pub status: PathStatus,
    pub error: LicenseError,
    /// The path is in force: it contributes its plans and (with the user's other applied paths
    /// of the product) one seat.
    pub applied: bool,
    pub disabled_plans: Vec<PlanId>,
    pub since: Timestamp,
    pub priority: i32,
    /// A sentence explaining the error, empty when there is none.
    pub detail: String,
    pub updated_at: Timestamp,
}

impl PathState {
    /// Equal but for when it was last written.
    pub fn same_as(&self, other: &PathState) -> bool {
        PathState {
            updated_at: other.updated_at,
            ..self.clone()
        } == *other
    }
}

/// Whether two sets of a user's path states say the same thing. Inside a group bundle that failed
/// for want of seats, which product shows `CountViolation` and which `Other` depends on the order
/// products ran out, not on intent, so those labels count as one fact; `updated_at` is ignored.
pub fn same_licensing(a: &[PathState], b: &[PathState]) -> bool {
    fn norm(states: &[PathState]) -> Vec<PathState> {
        let short: Vec<Source> = states
            .iter()
            .filter(|s| s.error == LicenseError::CountViolation && s.source != Source::Direct)
            .map(|s| s.source)
            .collect();
        let mut v: Vec<PathState> = states
            .iter()
            .map(|s| {
                let mut s = s.clone();
                s.updated_at = Timestamp(0);
                if short.contains(&s.source)
                    && matches!(s.error, LicenseError::CountViolation | LicenseError::Other)
                {
                    s.error = LicenseError::CountViolation;
                    s.detail.clear();
                }
                s
            })
            .collect();
        v.sort_by_key(|s| (s.sku, s.source));
        v
    }
    norm(a) == norm(b)
}

/// What the engine needs to know of one user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInput {
    pub id: UserId,
    pub usage_location: Option<UsageLocation>,
    pub deleted: bool,
    /// Every live claim of the user (direct and inherited), not only the changed ones.
    pub claims: Vec<Claim>,
    /// The user's stored path states.
    pub current: Vec<PathState>,
}

impl UserInput {
    pub fn holds(&self, sku: &SkuId) -> bool {
        self.current.iter().any(|s| s.applied && s.sku == *sku)
    }
}

/// The engine's verdict for one user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserOutcome {
    pub user: UserId,
    /// The complete new set of path states, sorted by (sku, source).
    pub states: Vec<PathState>,
    /// Differs from the stored states.
    pub changed: bool,
}

impl UserOutcome {
    /// Products this user waits for because no seat was free.
    pub fn waiting_for(&self) -> impl Iterator<Item = SkuId> + '_ {
        self.states
            .iter()
            .filter(|s| s.error == LicenseError::CountViolation)
            .map(|s| s.sku)
    }
}

/// Seats of one product: what the tenant's subscriptions provide and what users hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SkuSeats {
    /// Units of subscriptions in Enabled or Warning (D8).
    pub capacity: i64,
    /// Users holding a seat.
    pub consumed: i64,
    /// Units that exist but cannot be assigned (Suspended, LockedOut): holders keep their
    /// licenses, in state Disabled.
    pub suspended: i64,
}

impl SkuSeats {
    /// Seats a newcomer could take. Never negative: when capacity drops below consumption nobody
    /// is evicted and nobody new gets a seat (D8).
    pub fn free(&self) -> i64 {
        (self.capacity - self.consumed).max(0)
    }
}

/// Seats of every product of a tenant. Products without subscriptions have no seats.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SeatLedger {
    pub skus: HashMap<SkuId, SkuSeats>,
}

impl SeatLedger {
    pub fn get(&self, sku: &SkuId) -> SkuSeats {
        self.skus.get(sku).copied().unwrap_or_default()
    }
    pub fn free(&self, sku: &SkuId) -> i64 {
        self.get(sku).free()
    }
    pub(crate) fn adjust(&mut self, sku: SkuId, delta: i64) {
        self.skus.entry(sku).or_default().consumed += delta;
    }
}
