//! The evaluation itself. One user at a time, in a deterministic order, against a seat ledger
//! shared by the batch.

use super::model::{
    Claim, LicenseError, PathState, PathStatus, SeatLedger, Source, UserInput, UserOutcome,
};
use crate::catalog::{AppliesTo, Catalog};
use crate::ids::{PlanId, SkuId, UserId};
use crate::values::{Timestamp, UsageLocation};
use std::cmp::Reverse;
use std::collections::{BTreeMap, HashMap, HashSet};

/// The licensing engine for one tenant at one moment.
pub struct Engine<'a> {
    pub catalog: &'a Catalog,
    /// The tenant's country: the usage location group paths fall back to (D6).
    pub tenant_location: Option<UsageLocation>,
    pub now: Timestamp,
}

type OrderKey = (bool, Reverse<i32>, Timestamp, UserId);

/// A unit of assignment: a direct claim alone, or all claims of one group together (G12, D5).
struct Unit<'c> {
    source: Source,
    claims: Vec<&'c Claim>,
    was_applied: bool,
}

struct Failure {
    claim: usize,
    error: LicenseError,
    detail: String,
}

impl<'a> Engine<'a> {
    pub fn new(
        catalog: &'a Catalog,
        tenant_location: Option<UsageLocation>,
        now: Timestamp,
    ) -> Self {
        Self {
            catalog,
            tenant_location,
            now,
        }
    }

    /// Evaluates `users` and updates `ledger`. Users are taken in D4 order: first those that only
    /// keep or release what they hold, then newcomers by group priority (higher first), the
    /// earliest path, then user id. Users left waiting for a seat that was released later in the
    /// batch are evaluated again until nothing changes (D3 within the batch).
    pub fn evaluate(&self, ledger: &mut SeatLedger, users: &[UserInput]) -> Vec<UserOutcome> {
        let mut order: Vec<usize> = (0..users.len()).collect();
        order.sort_by_cached_key(|&i| order_key(&users[i]));
        let mut states: Vec<Vec<PathState>> = vec![Vec::new(); users.len()];
        for &i in &order {
            states[i] = self.evaluate_user_stable(ledger, &users[i], &users[i].current);
        }
        // Every round either grants a seat or stops, so this ends.
        loop {
            let mut progress = false;
            for &i in &order {
                let waits = states[i]
                    .iter()
                    .any(|s| s.error == LicenseError::CountViolation && ledger.free(&s.sku) > 0);
                if !waits {
                    continue;
                }
                let again = self.evaluate_user_stable(ledger, &users[i], &states[i].clone());
                if !same_states(&again, &states[i]) {
                    progress = true;
                }
                states[i] = again;
            }
            if !progress {
                break;
            }
        }
        users
            .iter()
            .zip(states)
            .map(|(u, s)| UserOutcome {
                user: u.id,
                changed: !same_states(&s, &sorted(&u.current)),
                states: s,
            })
            .collect()
    }

    /// The order in which users compete for seats (D4).
    pub fn order_key(user: &UserInput) -> (bool, i32, Timestamp, UserId) {
        let k = order_key(user);
        (k.0, -(k.1).0, k.2, k.3)
    }

    fn enabled_plans(&self, sku: &SkuId, disabled: &[PlanId]) -> Vec<PlanId> {
        match self.catalog.product(sku) {
            Some(p) => p
                .plans
                .iter()
                .copied()
                .filter(|x| !disabled.contains(x))
                .collect(),
            None => Vec::new(),
        }
    }

    /// Evaluates one user until its states are a fixed point: paths already in force are checked
    /// first, so a path applied in this evaluation changes the order of the next one. A fixed
    /// point is what a full recomputation sees, so incremental and full results agree.
    fn evaluate_user_stable(
        &self,
        ledger: &mut SeatLedger,
        user: &UserInput,
        current: &[PathState],
    ) -> Vec<PathState> {
        self.settle(ledger, user, current).states
    }

    /// Iterates `evaluate_user` until its output is its input, within [`pass_bound`] passes
    /// (item 9: the argument is on `pass_bound`). Exceeding the bound would mean the argument is
    /// wrong; that is reported loudly rather than returning a state that is not a fixed point.
    pub(super) fn settle(
        &self,
        ledger: &mut SeatLedger,
        user: &UserInput,
        current: &[PathState],
    ) -> Settled {
        let mut cur = sorted(current);
        let bound = pass_bound(user, &cur);
        for pass in 1..=bound {
            let next = self.evaluate_user(ledger, user, &cur);
            // A pass sees its input only through which paths are applied (point 3 on
            // `pass_bound`): if those did not change, the next pass would return `next` again.
            // Point 4 there: nothing to retain and every claim applied is a fixed point too.
            let all_applied = next.iter().all(|s| s.applied)
                && next.len() == user.claims.len()
                && !user.deleted
                && retention_candidates(user, &cur) == 0;
            if all_applied || applied_paths(&next) == applied_paths(&cur) {
                return Settled {
                    states: next,
                    passes: pass,
                    bound,
                };
            }
            cur = next;
        }
        panic!(
            "licensing engine: user {} did not reach a fixed point within {bound} passes \
             (the bound argued in engine::pass_bound is wrong)",
            user.id
        );
    }

    /// Evaluates one user given the states it currently holds; applies its seat changes to the
    /// ledger and returns its complete new set of path states.
    fn evaluate_user(
        &self,
        ledger: &mut SeatLedger,
        user: &UserInput,
        current: &[PathState],
    ) -> Vec<PathState> {
        let held_before: HashSet<SkuId> = current
            .iter()
            .filter(|s| s.applied)
            .map(|s| s.sku)
            .collect();
        let cur: HashMap<(SkuId, Source), &PathState> =
            current.iter().map(|s| ((s.sku, s.source), s)).collect();
        let mut out: Vec<PathState> = Vec::with_capacity(user.claims.len());

        if user.deleted {
            // D7: a soft-deleted user keeps its intents, in state Disabled, and holds no seat.
            for c in &user.claims {
                out.push(self.state_for(
                    c,
                    PathStatus::Disabled,
                    LicenseError::None,
                    false,
                    String::new(),
                ));
            }
            return self.finish(ledger, &held_before, &cur, out);
        }

        // Units: each direct claim alone, each group's claims together.
        let mut by_group: BTreeMap<Source, Vec<&Claim>> = BTreeMap::new();
        let mut units: Vec<Unit<'_>> = Vec::new();
        for c in &user.claims {
            match c.source {
                Source::Direct => units.push(Unit {
                    source: c.source,
                    claims: vec![c],
                    was_applied: false,
                }),
                Source::Group(_) => by_group.entry(c.source).or_default().push(c),
            }
        }
        // Claims of a group in product order, so which product reports the error does not
        // depend on the order intent was loaded in.
        units.extend(by_group.into_iter().map(|(source, mut claims)| {
            claims.sort_by_key(|c| c.sku);
            Unit {
                source,
                claims,
                was_applied: false,
            }
        }));
        for u in &mut units {
            u.was_applied = u
                .claims
                .iter()
                .any(|c| cur.get(&(c.sku, c.source)).is_some_and(|s| s.applied));
        }
        // What the user already has goes first, so a newcomer path never displaces it.
        units.sort_by_key(|u| {
            let prio = u.claims.iter().map(|c| c.priority).max().unwrap_or(0);
            let since = u.claims.iter().map(|c| c.since).min().unwrap_or_default();
            (
                !u.was_applied,
                u.source != Source::Direct,
                Reverse(prio),
                since,
                u.source,
            )
        });

        let mut applied_plans: Vec<PlanId> = Vec::new();
        let mut holds: HashSet<SkuId> = HashSet::new();
        for unit in &units {
            let enabled: Vec<Vec<PlanId>> = unit
                .claims
                .iter()
                .map(|c| self.enabled_plans(&c.sku, &c.disabled_plans))
                .collect();
            match self.check_unit(
                ledger,
                user,
                unit,
                &enabled,
                &applied_plans,
                &holds,
                &held_before,
            ) {
                None => {
                    for (c, plans) in unit.claims.iter().zip(&enabled) {
                        let seats = ledger.get(&c.sku);
                        // Units exist but none can be assigned: the holder keeps the license
                        // with its plans suspended (rulebook §3.2, I8).
                        let status = if seats.capacity <= 0 && seats.suspended > 0 {
                            PathStatus::Disabled
                        } else {
                            PathStatus::Active
                        };
                        out.push(self.state_for(
                            c,
                            status,
                            LicenseError::None,
                            true,
                            String::new(),
                        ));
                        holds.insert(c.sku);
                        applied_plans.extend(plans.iter().copied());
                    }
                }
                Some(f) => {
                    for (i, c) in unit.claims.iter().enumerate() {
                        let (error, detail) = if i == f.claim {
                            (f.error, f.detail.clone())
                        } else {
                            // G12: the group's other products are not assigned either.
                            (
                                LicenseError::Other,
                                "another license assigned by the same group could not be assigned"
                                    .to_string(),
                            )
                        };
                        out.push(self.state_for(c, PathStatus::Error, error, false, detail));
                    }
                }
            }
        }

        self.retain_for_dependencies(user, current, &mut out);
        self.check_direct_dependencies(&mut out);
        self.finish(ledger, &held_before, &cur, out)
    }

    #[allow(clippy::too_many_arguments)]
    fn check_unit(
        &self,
        ledger: &SeatLedger,
        user: &UserInput,
        unit: &Unit<'_>,
        enabled: &[Vec<PlanId>],
        applied_plans: &[PlanId],
        holds: &HashSet<SkuId>,
        held_before: &HashSet<SkuId>,
    ) -> Option<Failure> {
        let fail = |claim, error, detail| {
            Some(Failure {
                claim,
                error,
                detail,
            })
        };
        for (i, c) in unit.claims.iter().enumerate() {
            match self.catalog.product(&c.sku) {
                None => {
                    return fail(
                        i,
                        LicenseError::Other,
                        format!("product {} does not exist", c.sku),
                    )
                }
                Some(p) if p.applies_to == AppliesTo::Company => {
                    return fail(
                        i,
                        LicenseError::Other,
                        format!("license {} cannot be assigned to a user", c.sku),
                    )
                }
                Some(_) => {}
            }
        }
        // U1–U3, D6: direct paths need the user's own location, group paths fall back to the
        // tenant's country.
        let location = match unit.source {
            Source::Direct => user.usage_location,
            Source::Group(_) => user.usage_location.or(self.tenant_location),
        };
        for (i, plans) in enabled.iter().enumerate() {
            let Some(loc) = location else {
                return fail(
                    i,
                    LicenseError::ProhibitedInUsageLocationViolation,
                    "the user has no usage location".into(),
                );
            };
            if let Some(p) = plans.iter().find(|p| self.catalog.is_prohibited(p, loc)) {
                return fail(
                    i,
                    LicenseError::ProhibitedInUsageLocationViolation,
                    format!(
                        "service plan {} is not available in usage location {loc}",
                        self.catalog.plan_name(p)
                    ),
                );
            }
        }
        // C1, D11: conflicts across every path of the user, and inside the unit.
        let mut seen: Vec<PlanId> = applied_plans.to_vec();
        for (i, plans) in enabled.iter().enumerate() {
            for p in plans {
                if let Some(q) = self.conflict_with(p, &seen) {
                    return fail(
                        i,
                        LicenseError::MutuallyExclusiveViolation,
                        format!(
                            "service plans {},{} are mutually exclusive",
                            self.catalog.plan_name(p),
                            self.catalog.plan_name(&q)
                        ),
                    );
                }
            }
            seen.extend(plans.iter().copied());
        }
        // G10/G11: a group's dependencies must be met inside the same group.
        if let Source::Group(_) = unit.source {
            let unit_plans: Vec<PlanId> = enabled.iter().flatten().copied().collect();
            for (i, plans) in enabled.iter().enumerate() {
                for p in plans {
                    let req = self.catalog.requirements(p);
                    if !req.is_empty() && !req.iter().any(|r| unit_plans.contains(r)) {
                        return fail(
                            i,
                            LicenseError::DependencyViolation,
                            self.dependency_text(p),
                        );
                    }
                }
            }
        }
        // G6, D1: a seat only for a product the user does not hold yet; D4: holders are never
        // evicted, so a held product needs no free seat.
        for (i, c) in unit.claims.iter().enumerate() {
            if !holds.contains(&c.sku) && !held_before.contains(&c.sku) && ledger.free(&c.sku) <= 0
            {
                return fail(
                    i,
                    LicenseError::CountViolation,
                    format!(
                        "subscription with SKU {} does not have any available licenses",
                        c.sku
                    ),
                );
            }
        }
        None
    }

    fn conflict_with(&self, p: &PlanId, others: &[PlanId]) -> Option<PlanId> {
        let (fam, rank) = self.catalog.family_of(p)?;
        if fam.stackable {
            return None;
        }
        others.iter().copied().find(|q| {
            self.catalog
                .family_of(q)
                .is_some_and(|(f2, r2)| f2.name == fam.name && r2 != rank)
        })
    }

    fn dependency_text(&self, p: &PlanId) -> String {
        let req: Vec<String> = self
            .catalog
            .requirements(p)
            .iter()
            .map(|r| self.catalog.plan_name(r))
            .collect();
        format!(
            "service plan {} depends on the service plan(s) {}",
            self.catalog.plan_name(p),
            req.join(", ")
        )
    }

    /// D12: a path whose intent is gone but that provides a plan a remaining plan depends on stays
    /// in force as ActiveWithError / DependencyViolation until the dependency is resolved.
    fn retain_for_dependencies(
        &self,
        user: &UserInput,
        current: &[PathState],
        out: &mut Vec<PathState>,
    ) {
        let live: HashSet<(SkuId, Source)> =
            user.claims.iter().map(|c| (c.sku, c.source)).collect();
        let mut candidates: Vec<&PathState> = current
            .iter()
            .filter(|s| s.applied && !live.contains(&(s.sku, s.source)))
            .collect();
        if candidates.is_empty() {
            return;
        }
        candidates.sort_by_key(|s| (s.sku, s.source));
        let base: Vec<PlanId> = out
            .iter()
            .filter(|s| s.applied)
            .flat_map(|s| self.enabled_plans(&s.sku, &s.disabled_plans))
            .collect();
        let mut kept: Vec<(&PathState, Vec<PlanId>)> = candidates
            .iter()
            .map(|s| (*s, self.enabled_plans(&s.sku, &s.disabled_plans)))
            .collect();
        let mut i = 0;
        while i < kept.len() {
            let mine = &kept[i].1;
            let others: HashSet<PlanId> = base
                .iter()
                .copied()
                .chain(
                    kept.iter()
                        .enumerate()
                        .filter(|(j, _)| *j != i)
                        .flat_map(|(_, k)| k.1.iter().copied()),
                )
                .collect();
            let needed = others.iter().any(|p| {
                let req = self.catalog.requirements(p);
                !req.is_empty()
                    && !req.iter().any(|r| others.contains(r))
                    && req.iter().any(|r| mine.contains(r))
            });
            if needed {
                i += 1;
            } else {
                kept.remove(i);
            }
        }
        for (s, plans) in kept {
            let dependent = base
                .iter()
                .find(|p| {
                    self.catalog
                        .requirements(p)
                        .iter()
                        .any(|r| plans.contains(r))
                })
                .copied();
            out.push(PathState {
                status: PathStatus::ActiveWithError,
                error: LicenseError::DependencyViolation,
                applied: true,
                detail: dependent
                    .map(|p| self.dependency_text(&p))
                    .unwrap_or_default(),
                updated_at: self.now,
                ..s.clone()
            });
        }
    }

    /// Direct paths check their dependencies against everything the user ends up with; a direct
    /// path whose prerequisite is missing is not applied (DependencyViolation).
    fn check_direct_dependencies(&self, out: &mut [PathState]) {
        if !out.iter().any(|s| s.applied && s.source == Source::Direct) {
            return;
        }
        loop {
            let all: HashSet<PlanId> = out
                .iter()
                .filter(|s| s.applied)
                .flat_map(|s| self.enabled_plans(&s.sku, &s.disabled_plans))
                .collect();
            let broken = out.iter().position(|s| {
                s.applied
                    && s.source == Source::Direct
                    && s.error == LicenseError::None
                    && self
                        .enabled_plans(&s.sku, &s.disabled_plans)
                        .iter()
                        .any(|p| {
                            let req = self.catalog.requirements(p);
                            !req.is_empty() && !req.iter().any(|r| all.contains(r))
                        })
            });
            let Some(i) = broken else { break };
            let plans = self.enabled_plans(&out[i].sku, &out[i].disabled_plans);
            let p = plans
                .iter()
                .find(|p| {
                    let req = self.catalog.requirements(p);
                    !req.is_empty() && !req.iter().any(|r| all.contains(r))
                })
                .copied()
                .unwrap_or(plans[0]);
            out[i].status = PathStatus::Error;
            out[i].error = LicenseError::DependencyViolation;
            out[i].applied = false;
            out[i].detail = self.dependency_text(&p);
        }
    }

    fn state_for(
        &self,
        c: &Claim,
        status: PathStatus,
        error: LicenseError,
        applied: bool,
        detail: String,
    ) -> PathState {
        PathState {
            sku: c.sku,
            source: c.source,
            status,
            error,
            applied,
            disabled_plans: c.disabled_plans.clone(),
            since: c.since,
            priority: c.priority,
            detail,
            updated_at: self.now,
        }
    }

    /// Keeps `updated_at` of unchanged states, sorts, and books seat changes (one seat per user
    /// per product, G6).
    fn finish(
        &self,
        ledger: &mut SeatLedger,
        held_before: &HashSet<SkuId>,
        cur: &HashMap<(SkuId, Source), &PathState>,
        mut out: Vec<PathState>,
    ) -> Vec<PathState> {
        for s in &mut out {
            if let Some(old) = cur.get(&(s.sku, s.source)) {
                if s.same_as(old) {
                    s.updated_at = old.updated_at;
                }
            }
        }
        out.sort_by_key(|s| (s.sku, s.source));
        let holds: HashSet<SkuId> = out.iter().filter(|s| s.applied).map(|s| s.sku).collect();
        for s in holds.difference(held_before) {
            ledger.adjust(*s, 1);
        }
        for s in held_before.difference(&holds) {
            ledger.adjust(*s, -1);
        }
        out
    }
}

fn order_key(u: &UserInput) -> OrderKey {
    let pending = u.claims.iter().filter(|c| {
        !u.current
            .iter()
            .any(|s| s.applied && s.sku == c.sku && s.source == c.source)
    });
    match pending.map(|c| (Reverse(c.priority), c.since)).min() {
        None => (false, Reverse(0), Timestamp(0), u.id),
        Some((p, since)) => (true, p, since, u.id),
    }
}

/// The result of [`Engine::settle`]: the fixed point, how many passes reached it and the bound
/// those passes are proven to stay within.
pub(super) struct Settled {
    pub(super) states: Vec<PathState>,
    // Read by the property tests, which check the bound.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(super) passes: usize,
    #[cfg_attr(not(test), allow(dead_code))]
    pub(super) bound: usize,
}

/// How many passes of `evaluate_user` reach a fixed point, at most (item 9).
///
/// Write `U_k` for the units applied in the output of pass `k` and `R_k` for its retained paths
/// (applied paths whose claim is gone, D12). For `k ≥ 1`, pass `k + 1`:
///
/// 1. keeps `R_{k+1} ⊆ R_k`: retention only ever considers the input's non-live applied paths and
///    keeps a subset of them, and no claim brings one back;
/// 2. if `R_{k+1} = R_k`, keeps `U_{k+1} ⊇ U_k`: the units of `U_k` go first (they were applied),
///    in the same fixed order among themselves; they are pairwise free of conflicts (in pass `k`
///    the later of two was checked against the earlier's plans and conflicts are symmetric),
///    their location and group-local dependency checks do not depend on the input, and their
///    products are held so the seat check passes. The direct-dependency check then keeps the
///    largest subset whose dependencies are met, which contains `U_k` because `U_k ∪ R_k`
///    supported it in pass `k` and `R_{k+1} = R_k`;
/// 3. depends on its input only through which paths are applied in it: that decides which units
///    go first, which products need no new seat, which paths are retention candidates (their
///    plans come with them), and the ledger, which is the starting ledger moved by what the user
///    holds. So once a pass leaves the applied paths as it found them, the next pass would return
///    the same states: that is the fixed point, and no confirming pass is needed;
/// 4. with no retention candidate in its input and every claim applied in its output, is a fixed
///    point at once: in the next pass every unit goes first, is free of conflicts with the others
///    (each was checked against those before it), holds its products, and the direct
///    dependencies are met by the same set of paths as before. This is the common case of a
///    fan-out (a group license reaching its members), which then takes one pass.
///
/// The applied paths are `U ∪ R`. From the first pass on (its input may be anything stored), they
/// change from one pass to the next only by `R` shrinking or, with `R` unchanged, `U` growing.
/// `R` shrinks at most `r` times and between two shrinks `U` grows at most `n` times, where `r` is
/// the number of retention candidates in the input and `n` the number of units. So passes `2 …`
/// change them at most `r + (r + 1) · n` times, and the pass that leaves them unchanged comes by
/// pass `2 + r + (r + 1) · n`.
fn pass_bound(user: &UserInput, current: &[PathState]) -> usize {
    let r = retention_candidates(user, current);
    let groups: HashSet<Source> = user
        .claims
        .iter()
        .map(|c| c.source)
        .filter(|s| *s != Source::Direct)
        .collect();
    let direct = user
        .claims
        .iter()
        .filter(|c| c.source == Source::Direct)
        .count();
    let n = direct + groups.len();
    2 + r + (r + 1) * n
}

/// Applied paths whose claim is gone: what D12 may retain.
fn retention_candidates(user: &UserInput, current: &[PathState]) -> usize {
    current
        .iter()
        .filter(|s| {
            s.applied
                && !user
                    .claims
                    .iter()
                    .any(|c| c.sku == s.sku && c.source == s.source)
        })
        .count()
}

/// The paths a state applies, in the sorted order `finish` leaves states in.
fn applied_paths(states: &[PathState]) -> Vec<(SkuId, Source)> {
    let mut v: Vec<(SkuId, Source)> = states
        .iter()
        .filter(|s| s.applied)
        .map(|s| (s.sku, s.source))
        .collect();
    v.sort();
    v
}

fn sorted(states: &[PathState]) -> Vec<PathState> {
    let mut v = states.to_vec();
    v.sort_by_key(|s| (s.sku, s.source));
    v
}

fn same_states(a: &[PathState], b: &[PathState]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.same_as(y))
}
