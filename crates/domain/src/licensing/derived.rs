//! Derived license state in the only form the store accepts for writing: a [`Derived`] has
//! private fields and is made by [`Engine::evaluate_derived`] alone, so `path_states` and
//! `sku_usage` cannot be written with anything the engine did not compute (issue 7 item 10).

use super::{Engine, PathState, SeatLedger, UserInput, UserOutcome};
use crate::{SkuId, UserId};

/// What one evaluation changed: the users whose stored states it replaces, their new states,
/// and the seat counters it moved (absolute values after the evaluation).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Derived {
    clear: Vec<UserId>,
    states: Vec<(UserId, PathState)>,
    usage: Vec<(SkuId, i64)>,
}

impl Derived {
    /// Users whose stored states are deleted before `states` are written.
    pub fn clear(&self) -> &[UserId] {
        &self.clear
    }
    /// The new states of the changed users.
    pub fn states(&self) -> &[(UserId, PathState)] {
        &self.states
    }
    /// Seat counters the evaluation changed: `(product, consumed)`.
    pub fn usage(&self) -> &[(SkuId, i64)] {
        &self.usage
    }
    /// Users whose states changed.
    pub fn is_empty(&self) -> bool {
        self.clear.is_empty() && self.states.is_empty() && self.usage.is_empty()
    }

    /// Arbitrary derived state, for tests of the store and of `doctor` that must write states
    /// the engine would not (corruption, ordering). Only with the `test-fixtures` feature,
    /// which only dev-dependencies enable.
    #[cfg(feature = "test-fixtures")]
    pub fn fixture(
        clear: Vec<UserId>,
        states: Vec<(UserId, PathState)>,
        usage: Vec<(SkuId, i64)>,
    ) -> Derived {
        Derived {
            clear,
            states,
            usage,
        }
    }
}

/// One evaluation: the outcomes (for audit and reporting) and the derived state to store.
#[derive(Debug, Clone)]
pub struct Evaluation {
    pub outcomes: Vec<UserOutcome>,
    pub derived: Derived,
}

impl Engine<'_> {
    /// [`Engine::evaluate`], packed for the store: the changed users' states and the seat
    /// counters this evaluation moved.
    pub fn evaluate_derived(&self, ledger: &mut SeatLedger, users: &[UserInput]) -> Evaluation {
        let before = ledger.clone();
        let outcomes = self.evaluate(ledger, users);
        let mut derived = Derived::default();
        for (i, o) in users.iter().zip(&outcomes) {
            if !o.changed {
                continue;
            }
            if !i.current.is_empty() {
                derived.clear.push(o.user);
            }
            derived
                .states
                .extend(o.states.iter().map(|s| (o.user, s.clone())));
        }
        let mut usage: Vec<(SkuId, i64)> = ledger
            .skus
            .iter()
            .filter(|(sku, seats)| before.get(sku).consumed != seats.consumed)
            .map(|(sku, seats)| (*sku, seats.consumed))
            .collect();
        usage.sort();
        derived.usage = usage;
        Evaluation { outcomes, derived }
    }
}
