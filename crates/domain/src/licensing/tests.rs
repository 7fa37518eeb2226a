//! Data-driven tests of the licensing engine, one fixture per rulebook rule or decision, and
//! property tests of its invariants. The fixtures drive a small in-memory world (intent plus
//! derived state) that calls the engine incrementally, the way the application layer does.

use super::*;
use crate::catalog::Catalog;
use crate::ids::{GroupId, PlanId, SkuId, UserId};
use crate::values::{Timestamp, UsageLocation};
use expect_test::{expect, Expect};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write;
use std::sync::Arc;
use uuid::Uuid;

#[derive(Clone)]
struct GroupRec {
    id: GroupId,
    priority: i32,
    users: Vec<(String, Timestamp)>,
    parents: Vec<(String, Timestamp)>,
    licenses: Vec<(SkuId, Vec<PlanId>, Timestamp)>,
}

#[derive(Clone)]
struct UserRec {
    id: UserId,
    loc: Option<UsageLocation>,
    deleted: bool,
}

/// Intent and derived state of one tenant, in memory.
#[derive(Clone)]
pub(super) struct World {
    catalog: Arc<Catalog>,
    country: UsageLocation,
    clock: i64,
    users: BTreeMap<String, UserRec>,
    groups: BTreeMap<String, GroupRec>,
    direct: BTreeMap<(String, SkuId), (Vec<PlanId>, Timestamp)>,
    states: HashMap<UserId, Vec<PathState>>,
    ledger: SeatLedger,
    /// Per group: users licensed through it and users with a path from it in error, kept from
    /// the engine's deltas ([`Derived::group_counts`]) the way the store keeps them.
    group_counts: BTreeMap<GroupId, (i64, i64)>,
    /// Users with a path in error, kept from the engine's deltas
    /// ([`Derived::users_in_error`]).
    users_in_error: i64,
    /// The last refusal of a synchronous operation, for fixtures that expect one.
    refused: Vec<String>,
}

fn det_id(kind: u8, name: &str) -> Uuid {
    // Stable ids make orders and renderings reproducible.
    let mut b = [0u8; 16];
    b[0] = kind;
    for (i, c) in name.bytes().enumerate().take(15) {
        b[i + 1] = c;
    }
    Uuid::from_bytes(b)
}

impl World {
    pub(super) fn new() -> Self {
        World {
            catalog: Catalog::microsoft(),
            country: UsageLocation::parse("US").unwrap(),
            clock: 1_000,
            users: BTreeMap::new(),
            groups: BTreeMap::new(),
            direct: BTreeMap::new(),
            states: HashMap::new(),
            ledger: SeatLedger::default(),
            group_counts: BTreeMap::new(),
            users_in_error: 0,
            refused: Vec::new(),
        }
    }

    fn tick(&mut self) -> Timestamp {
        self.clock += 1_000;
        Timestamp(self.clock)
    }

    pub(super) fn sku(&self, name: &str) -> SkuId {
        let part = match name {
            "E1" => "STANDARDPACK",
            "E3" => "ENTERPRISEPACK",
            "E5" => "ENTERPRISEPREMIUM",
            "P1" => "AAD_PREMIUM",
            "P2" => "AAD_PREMIUM_P2",
            "AC" => "MCOMEETADV",
            "WPA" => "WORKPLACE_ANALYTICS",
            "EXO1" => "EXCHANGESTANDARD",
            "EXO2" => "EXCHANGEENTERPRISE",
            other => other,
        };
        self.catalog
            .find_product(part)
            .unwrap_or_else(|| panic!("no product {name}"))
            .sku_id
    }

    fn sku_name(&self, id: &SkuId) -> String {
        for n in [
            "E1", "E3", "E5", "EMS", "P1", "P2", "AC", "WPA", "EXO1", "EXO2", "SPB",
        ] {
            if self.sku(n) == *id {
                return n.to_string();
            }
        }
        id.to_string()
    }

    fn plans(&self, sku: SkuId, names: &[&str]) -> Vec<PlanId> {
        let p = self.catalog.product(&sku).unwrap();
        let mut v: Vec<PlanId> = names
            .iter()
            .map(|n| {
                self.catalog
                    .find_plan_in(p, n)
                    .unwrap_or_else(|| panic!("no plan {n}"))
            })
            .collect();
        v.sort();
        v
    }

    fn user_name(&self, id: &UserId) -> String {
        self.users
            .iter()
            .find(|(_, u)| u.id == *id)
            .map(|(n, _)| n.clone())
            .unwrap()
    }

    fn group_name(&self, id: &GroupId) -> String {
        self.groups
            .iter()
            .find(|(_, g)| g.id == *id)
            .map(|(n, _)| n.clone())
            .unwrap()
    }

    /// Transitive groups of a user with the time the path came to exist (D2, D4).
    fn transitive(&self, user: &str) -> BTreeMap<String, Timestamp> {
        let mut best: BTreeMap<String, Timestamp> = BTreeMap::new();
        for (gname, g) in &self.groups {
            if let Some((_, t)) = g.users.iter().find(|(u, _)| u == user) {
                best.insert(gname.clone(), *t);
            }
        }
        loop {
            let mut changed = false;
            for (gname, t) in best.clone() {
                for (parent, e) in &self.groups[&gname].parents {
                    let cand = t.max(*e);
                    if best.get(parent).is_none_or(|old| cand < *old) {
                        best.insert(parent.clone(), cand);
                        changed = true;
                    }
                }
            }
            if !changed {
                return best;
            }
        }
    }

    fn input(&self, name: &str) -> UserInput {
        let u = &self.users[name];
        let mut claims = Vec::new();
        for ((un, sku), (dis, since)) in &self.direct {
            if un == name {
                claims.push(Claim {
                    sku: *sku,
                    source: Source::Direct,
                    disabled_plans: dis.clone(),
                    since: *since,
                    priority: 0,
                });
            }
        }
        for (gname, t) in self.transitive(name) {
            let g = &self.groups[&gname];
            for (sku, dis, since) in &g.licenses {
                claims.push(Claim {
                    sku: *sku,
                    source: Source::Group(g.id),
                    disabled_plans: dis.clone(),
                    since: t.max(*since),
                    priority: g.priority,
                });
            }
        }
        UserInput {
            id: u.id,
            usage_location: u.loc,
            deleted: u.deleted,
            claims,
            current: self.states.get(&u.id).cloned().unwrap_or_default(),
        }
    }

    fn engine(&self) -> Engine<'_> {
        Engine::new(&self.catalog, Some(self.country), Timestamp(self.clock))
    }

    /// Runs the engine over `inputs` and stores what it derived, states and counters.
    fn evaluate_and_store(&mut self, inputs: &[UserInput]) -> Vec<UserOutcome> {
        let mut ledger = self.ledger.clone();
        let Evaluation { outcomes, derived } = self.engine().evaluate_derived(&mut ledger, inputs);
        self.ledger = ledger;
        for (g, licensed, errors) in derived.group_counts() {
            let c = self.group_counts.entry(*g).or_default();
            c.0 += licensed;
            c.1 += errors;
            if *c == (0, 0) {
                self.group_counts.remove(g);
            }
        }
        self.users_in_error += derived.users_in_error();
        for o in &outcomes {
            self.states.insert(o.user, o.states.clone());
        }
        outcomes
    }

    /// Per group, counted afresh from the stored states: what `group_counts` must equal.
    fn group_counts_scanned(&self) -> BTreeMap<GroupId, (i64, i64)> {
        let all: Vec<(UserId, PathState)> = self
            .states
            .iter()
            .flat_map(|(u, ss)| ss.iter().map(|s| (*u, s.clone())))
            .collect();
        group_count_deltas(&[], &all)
            .into_iter()
            .map(|(g, l, e)| (g, (l, e)))
            .collect()
    }

    /// Evaluates the affected users, then lets waiting users take freed seats (D3).
    fn apply(&mut self, affected: &[String]) {
        let inputs: Vec<UserInput> = affected.iter().map(|n| self.input(n)).collect();
        self.evaluate_and_store(&inputs);
        loop {
            let waiting: Vec<String> = self
                .users
                .iter()
                .filter(|(_, u)| {
                    self.states.get(&u.id).is_some_and(|s| {
                        s.iter().any(|p| {
                            p.error == LicenseError::CountViolation && self.ledger.free(&p.sku) > 0
                        })
                    })
                })
                .map(|(n, _)| n.clone())
                .collect();
            if waiting.is_empty() {
                return;
            }
            let inputs: Vec<UserInput> = waiting.iter().map(|n| self.input(n)).collect();
            let progress = self.evaluate_and_store(&inputs).iter().any(|o| o.changed);
            if !progress {
                return;
            }
        }
    }

    fn members_of(&self, group: &str) -> Vec<String> {
        self.users
            .keys()
            .filter(|u| self.transitive(u).contains_key(group))
            .cloned()
            .collect()
    }

    /// Runs one fixture line.
    pub(super) fn run(&mut self, line: &str) {
        let t: Vec<&str> = line.split_whitespace().collect();
        let now = self.tick();
        let loc = |s: &str| {
            if s == "-" {
                None
            } else {
                Some(UsageLocation::parse(s).unwrap())
            }
        };
        let disabled = |w: &World, sku: SkuId, rest: &[&str]| {
            let names: Vec<&str> = rest.iter().filter_map(|x| x.strip_prefix('-')).collect();
            w.plans(sku, &names)
        };
        match t.as_slice() {
            [] => {}
            ["country", c] => self.country = UsageLocation::parse(c).unwrap(),
            ["seats", sku, n] => {
                let sku = self.sku(sku);
                let s = self.ledger.skus.entry(sku).or_default();
                s.capacity = n.parse().unwrap();
                s.suspended = 0;
                // Holders' states depend on whether units are suspended.
                let holders = self.holders(sku);
                self.apply(&holders);
            }
            ["suspend", sku] => {
                let sku = self.sku(sku);
                let s = self.ledger.skus.entry(sku).or_default();
                s.suspended = s.capacity;
                s.capacity = 0;
                let holders = self.holders(sku);
                self.apply(&holders);
            }
            ["user", name, l] => {
                self.users.insert(
                    name.to_string(),
                    UserRec {
                        id: UserId(det_id(1, name)),
                        loc: loc(l),
                        deleted: false,
                    },
                );
            }
            ["group", name, rest @ ..] => {
                let priority = rest
                    .iter()
                    .find_map(|x| x.strip_prefix("prio="))
                    .map(|p| p.parse().unwrap())
                    .unwrap_or(0);
                self.groups.insert(
                    name.to_string(),
                    GroupRec {
                        id: GroupId(det_id(2, name)),
                        priority,
                        users: vec![],
                        parents: vec![],
                        licenses: vec![],
                    },
                );
            }
            ["member", g, u] => {
                if self.groups.contains_key(*u) {
                    // D2: a cycle is refused.
                    if *u == *g || self.ancestors(g).contains(*u) {
                        self.refused
                            .push(format!("member {g} {u}: would create a cycle"));
                        return;
                    }
                    self.groups
                        .get_mut(*u)
                        .unwrap()
                        .parents
                        .push((g.to_string(), now));
                    let affected = self.members_of(u);
                    self.apply(&affected);
                } else {
                    self.groups
                        .get_mut(*g)
                        .unwrap()
                        .users
                        .push((u.to_string(), now));
                    self.apply(&[u.to_string()]);
                }
            }
            ["unmember", g, u] => {
                if self.groups.contains_key(*u) {
                    let affected = self.members_of(u);
                    self.groups
                        .get_mut(*u)
                        .unwrap()
                        .parents
                        .retain(|(p, _)| p != g);
                    self.apply(&affected);
                } else {
                    self.groups
                        .get_mut(*g)
                        .unwrap()
                        .users
                        .retain(|(x, _)| x != u);
                    self.apply(&[u.to_string()]);
                }
            }
            ["direct", u, sku, rest @ ..] => {
                let sku_id = self.sku(sku);
                let dis = disabled(self, sku_id, rest);
                let before = self.clone();
                let since = self
                    .direct
                    .get(&(u.to_string(), sku_id))
                    .map(|(_, s)| *s)
                    .unwrap_or(now);
                self.direct.insert((u.to_string(), sku_id), (dis, since));
                self.apply(&[u.to_string()]);
                // Direct assignment is synchronous (Graph assignLicense): an error is refused
                // and nothing is kept.
                let id = self.users[*u].id;
                if let Some(s) = self.states[&id]
                    .iter()
                    .find(|s| s.source == Source::Direct && s.sku == sku_id && !s.applied)
                {
                    let why = format!("direct {u} {sku}: refused, {}: {}", s.error, s.detail);
                    *self = before;
                    self.refused.push(why);
                }
            }
            ["undirect", u, sku] => {
                let sku_id = self.sku(sku);
                let before = self.clone();
                self.direct.remove(&(u.to_string(), sku_id));
                self.apply(&[u.to_string()]);
                let id = self.users[*u].id;
                if self.states[&id]
                    .iter()
                    .any(|s| s.source == Source::Direct && s.sku == sku_id)
                {
                    let why =
                        format!("undirect {u} {sku}: refused, a remaining plan depends on it");
                    *self = before;
                    self.refused.push(why);
                }
            }
            ["license", g, sku, rest @ ..] => {
                let sku_id = self.sku(sku);
                let dis = disabled(self, sku_id, rest);
                let gr = self.groups.get_mut(*g).unwrap();
                gr.licenses.retain(|(s, _, _)| *s != sku_id);
                gr.licenses.push((sku_id, dis, now));
                let affected = self.members_of(g);
                self.apply(&affected);
            }
            ["unlicense", g, sku] => {
                let sku_id = self.sku(sku);
                self.groups
                    .get_mut(*g)
                    .unwrap()
                    .licenses
                    .retain(|(s, _, _)| *s != sku_id);
                let affected = self.members_of(g);
                self.apply(&affected);
            }
            ["delete", u] => {
                self.users.get_mut(*u).unwrap().deleted = true;
                self.apply(&[u.to_string()]);
            }
            ["restore", u] => {
                self.users.get_mut(*u).unwrap().deleted = false;
                self.apply(&[u.to_string()]);
            }
            ["location", u, l] => {
                self.users.get_mut(*u).unwrap().loc = loc(l);
                self.apply(&[u.to_string()]);
            }
            ["purge", u] => {
                // D7: the user's intent goes, the engine clears its states, then the user goes.
                self.direct.retain(|(x, _), _| x != u);
                for g in self.groups.values_mut() {
                    g.users.retain(|(x, _)| x != u);
                }
                self.apply(&[u.to_string()]);
                let id = self.users[*u].id;
                assert!(
                    self.states.get(&id).is_none_or(Vec::is_empty),
                    "purge {u}: states left"
                );
                self.states.remove(&id);
                self.users.remove(*u);
            }
            other => panic!("unknown fixture line {other:?}"),
        }
    }

    fn holders(&self, sku: SkuId) -> Vec<String> {
        self.users
            .iter()
            .filter(|(_, u)| {
                self.states
                    .get(&u.id)
                    .is_some_and(|s| s.iter().any(|p| p.sku == sku))
            })
            .map(|(n, _)| n.clone())
            .collect()
    }

    fn ancestors(&self, g: &str) -> HashSet<String> {
        let mut out = HashSet::new();
        let mut todo = vec![g.to_string()];
        while let Some(x) = todo.pop() {
            for (p, _) in &self.groups[&x].parents {
                if out.insert(p.clone()) {
                    todo.push(p.clone());
                }
            }
        }
        out
    }

    /// Recomputes every user from intent (with the stored holders, D4) and reports differences.
    pub(super) fn drift(&self) -> Vec<String> {
        let names: Vec<String> = self.users.keys().cloned().collect();
        let inputs: Vec<UserInput> = names.iter().map(|n| self.input(n)).collect();
        let mut ledger = self.ledger.clone();
        let outs = self.engine().evaluate(&mut ledger, &inputs);
        let mut drift = Vec::new();
        for (i, o) in inputs.iter().zip(&outs) {
            if !same_licensing(&i.current, &o.states) {
                drift.push(format!("user {} would change", self.user_name(&o.user)));
            }
        }
        if ledger != self.ledger {
            drift.push("seat counters would change".into());
        }
        // Independent count: consumed = users holding at least one applied path.
        for (sku, seats) in &self.ledger.skus {
            let holders = self
                .states
                .values()
                .filter(|s| s.iter().any(|p| p.applied && p.sku == *sku))
                .count() as i64;
            if holders != seats.consumed {
                drift.push(format!(
                    "{} consumed {} but {} holders",
                    self.sku_name(sku),
                    seats.consumed,
                    holders
                ));
            }
        }
        // The per-group counters kept from deltas equal a fresh count of the states.
        let scanned = self.group_counts_scanned();
        if scanned != self.group_counts {
            drift.push(format!(
                "group counters {:?} but states count {:?}",
                self.named_counts(&self.group_counts),
                self.named_counts(&scanned)
            ));
        }
        let in_error = self
            .states
            .values()
            .filter(|ss| ss.iter().any(|s| s.error != LicenseError::None))
            .count() as i64;
        if in_error != self.users_in_error {
            drift.push(format!(
                "users-in-error counter {} but {in_error} users have a path in error",
                self.users_in_error
            ));
        }
        drift
    }

    /// Group counters by group name, for messages and expectations.
    pub(super) fn named_counts(
        &self,
        counts: &BTreeMap<GroupId, (i64, i64)>,
    ) -> BTreeMap<String, (i64, i64)> {
        counts
            .iter()
            .map(|(g, c)| (self.group_name(g), *c))
            .collect()
    }

    pub(super) fn render(&self) -> String {
        let mut s = String::new();
        let mut skus: Vec<(&SkuId, &SkuSeats)> = self.ledger.skus.iter().collect();
        skus.sort_by_key(|(id, _)| self.sku_name(id));
        for (id, seats) in skus {
            writeln!(
                s,
                "sku {} consumed {}/{}",
                self.sku_name(id),
                seats.consumed,
                seats.capacity
            )
            .unwrap();
        }
        for (name, u) in &self.users {
            let mut states = self.states.get(&u.id).cloned().unwrap_or_default();
            states.sort_by_key(|p| {
                (
                    self.sku_name(&p.sku),
                    p.source.group().map(|g| self.group_name(&g)),
                )
            });
            for p in states {
                let src = match p.source {
                    Source::Direct => "direct".to_string(),
                    Source::Group(g) => self.group_name(&g),
                };
                let mut dis: Vec<String> = p
                    .disabled_plans
                    .iter()
                    .map(|d| self.catalog.plan_name(d))
                    .collect();
                dis.sort();
                let dis = if dis.is_empty() {
                    String::new()
                } else {
                    format!(" -{}", dis.join(",-"))
                };
                let detail = if p.detail.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", p.detail)
                };
                writeln!(
                    s,
                    "{name} {} {src}{dis}: {} {}{detail}",
                    self.sku_name(&p.sku),
                    p.status,
                    p.error
                )
                .unwrap();
            }
        }
        for r in &self.refused {
            writeln!(s, "refused: {r}").unwrap();
        }
        s
    }

    /// Enabled plans of a user's product: the union over applied paths (D1, G7).
    pub(super) fn enabled(&self, user: &str, sku: SkuId) -> Vec<String> {
        let id = self.users[user].id;
        let product = self.catalog.product(&sku).unwrap();
        let mut out: Vec<String> = product
            .plans
            .iter()
            .filter(|p| {
                self.states[&id]
                    .iter()
                    .any(|s| s.applied && s.sku == sku && !s.disabled_plans.contains(p))
            })
            .map(|p| self.catalog.plan_name(p))
            .collect();
        out.sort();
        out
    }
}

/// Runs a fixture and compares the rendered state. Every fixture also checks that the
/// incrementally maintained state equals a full recomputation.
fn check(fixture: &str, expect: Expect) {
    let mut w = World::new();
    for line in fixture.lines() {
        let line = line.split("//").next().unwrap().trim();
        w.run(line);
    }
    assert_eq!(
        w.drift(),
        Vec::<String>::new(),
        "incremental state differs from recomputation"
    );
    expect.assert_eq(&w.render());
}

#[path = "fixtures.rs"]
mod fixtures;
#[path = "properties.rs"]
mod properties;
