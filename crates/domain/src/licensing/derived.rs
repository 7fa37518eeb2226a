//! Derived license state in the only form the store accepts for writing: a [`Derived`] has
//! private fields and is made by [`Engine::evaluate_derived`] alone, so `path_states` and
//! `sku_usage` cannot be written with anything the engine did not compute (issue 7 item 10).
//! The per-group license counters (`group_license_counts`) are derived the same way: as deltas
//! of the changed users' old and new states, and so is the tenant's count of users with a path
//! in error (`tenant_license_counts`).

use super::{Engine, LicenseError, PathState, SeatLedger, Source, UserInput, UserOutcome};
use crate::{GroupId, SkuId, UserId};
use std::collections::BTreeMap;

/// What one evaluation changed: the users whose stored states it replaces, their new states,
/// the seat counters it moved (absolute values after the evaluation) and how it moved the
/// per-group license counters (deltas).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Derived {
    clear: Vec<UserId>,
    states: Vec<(UserId, PathState)>,
    usage: Vec<(SkuId, i64)>,
    group_counts: Vec<(GroupId, i64, i64)>,
    users_in_error: i64,
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
    /// How the evaluation moved the per-group counters: `(group, licensed, errors)`, where
    /// `licensed` is the change in the number of users holding a license through the group (an
    /// applied path whose source is the group) and `errors` the change in the number of users
    /// with a path from the group in error. Sorted by group; groups whose counts did not move
    /// are left out.
    pub fn group_counts(&self) -> &[(GroupId, i64, i64)] {
        &self.group_counts
    }
    /// How the evaluation moved the number of the tenant's users with at least one path in
    /// error (direct or through any group).
    pub fn users_in_error(&self) -> i64 {
        self.users_in_error
    }
    /// Nothing changed.
    pub fn is_empty(&self) -> bool {
        self.clear.is_empty()
            && self.states.is_empty()
            && self.usage.is_empty()
            && self.group_counts.is_empty()
            && self.users_in_error == 0
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
            group_counts: Vec::new(),
            users_in_error: 0,
        }
    }

    /// The fixture with per-group counter deltas (by default a fixture moves none, which is
    /// how tests corrupt the counters). Only with the `test-fixtures` feature.
    #[cfg(feature = "test-fixtures")]
    pub fn with_group_counts(mut self, group_counts: Vec<(GroupId, i64, i64)>) -> Derived {
        self.group_counts = group_counts;
        self
    }

    /// The fixture with a delta of the tenant's users-in-error counter (by default none).
    /// Only with the `test-fixtures` feature.
    #[cfg(feature = "test-fixtures")]
    pub fn with_users_in_error(mut self, users_in_error: i64) -> Derived {
        self.users_in_error = users_in_error;
        self
    }
}

/// Per-group license counters and the tenant's users-in-error counter moved by replacing
/// users' states: adds what each user's new states count and subtracts what its old ones
/// counted.
#[derive(Debug, Default)]
struct GroupTally(BTreeMap<GroupId, (i64, i64)>, i64);

impl GroupTally {
    /// Counts one user's states with `sign` (+1 for new states, −1 for old ones): once per group
    /// the user holds a license through (an applied path from it) and once per group it has a
    /// path in error from, however many products the group gives.
    fn add(&mut self, states: &[PathState], sign: i64) {
        if states.iter().any(|s| s.error != LicenseError::None) {
            self.1 += sign;
        }
        let mut marks: BTreeMap<GroupId, (bool, bool)> = BTreeMap::new();
        for s in states {
            if let Source::Group(g) = s.source {
                let m = marks.entry(g).or_default();
                m.0 |= s.applied;
                m.1 |= s.error != LicenseError::None;
            }
        }
        for (g, (licensed, errored)) in marks {
            if licensed || errored {
                let e = self.0.entry(g).or_default();
                e.0 += sign * i64::from(licensed);
                e.1 += sign * i64::from(errored);
            }
        }
    }

    fn into_deltas(self) -> Vec<(GroupId, i64, i64)> {
        self.0
            .into_iter()
            .filter(|(_, (l, e))| *l != 0 || *e != 0)
            .map(|(g, (l, e))| (g, l, e))
            .collect()
    }
}

/// The per-group counter deltas of replacing the states `old` by `new` (each a list of
/// `(user, state)`, any order): what [`Derived::group_counts`] holds for an evaluation. Public
/// for tests that write derived state by hand and for checks that count afresh (`old` empty).
pub fn group_count_deltas(
    old: &[(UserId, PathState)],
    new: &[(UserId, PathState)],
) -> Vec<(GroupId, i64, i64)> {
    tally(old, new).into_deltas()
}

/// The change in the number of users with at least one path in error from replacing the
/// states `old` by `new`: what [`Derived::users_in_error`] holds for an evaluation. Public for
/// the same tests and checks as [`group_count_deltas`].
pub fn users_in_error_delta(old: &[(UserId, PathState)], new: &[(UserId, PathState)]) -> i64 {
    tally(old, new).1
}

fn tally(old: &[(UserId, PathState)], new: &[(UserId, PathState)]) -> GroupTally {
    fn by_user(rows: &[(UserId, PathState)]) -> BTreeMap<UserId, Vec<PathState>> {
        let mut m: BTreeMap<UserId, Vec<PathState>> = BTreeMap::new();
        for (u, s) in rows {
            m.entry(*u).or_default().push(s.clone());
        }
        m
    }
    let mut tally = GroupTally::default();
    for states in by_user(old).values() {
        tally.add(states, -1);
    }
    for states in by_user(new).values() {
        tally.add(states, 1);
    }
    tally
}

/// One evaluation: the outcomes (for audit and reporting) and the derived state to store.
#[derive(Debug, Clone)]
pub struct Evaluation {
    pub outcomes: Vec<UserOutcome>,
    pub derived: Derived,
}

impl Engine<'_> {
    /// [`Engine::evaluate`], packed for the store: the changed users' states, the seat
    /// counters this evaluation moved and the per-group license counter deltas.
    pub fn evaluate_derived(&self, ledger: &mut SeatLedger, users: &[UserInput]) -> Evaluation {
        let before = ledger.clone();
        let outcomes = self.evaluate(ledger, users);
        let mut derived = Derived::default();
        let mut tally = GroupTally::default();
        for (i, o) in users.iter().zip(&outcomes) {
            if !o.changed {
                continue;
            }
            // The stored states go (write_states deletes them) and the new ones come: the
            // counters move by the difference, including down to nothing for a purged user.
            tally.add(&i.current, -1);
            tally.add(&o.states, 1);
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
        derived.users_in_error = tally.1;
        derived.group_counts = tally.into_deltas();
        Evaluation { outcomes, derived }
    }
}
