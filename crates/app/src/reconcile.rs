//! The engine driver: loads the affected users' intent and state, runs the pure engine, writes
//! what changed, and lets waiting users take seats that were freed (D3) — all inside the
//! caller's transaction.

use crate::Result;
use rustc_hash::{FxHashMap, FxHashSet};
use skuld_domain::licensing::{
    Claim, Engine, Evaluation, SeatLedger, SkuSeats, Source, UserInput, UserOutcome,
};
use skuld_domain::{Catalog, Group, GroupId, SkuId, Tenant, Timestamp, UserId};
use skuld_store::{GroupAssignmentRow, MemberKind, MembershipRow, TenantTx};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

/// Above this many affected users, whole tables are scanned instead of IN lists.
const SCAN_THRESHOLD: usize = 20_000;
/// Waiting users loaded per round of self-healing.
const WAITER_PAGE: i64 = 1_000;
/// From this many users on, an evaluation runs on tokio's blocking pool (issue 7 item 8). The
/// engine takes some microseconds per user, so 500 users are a few milliseconds of CPU — about
/// where holding an async worker thread starts to delay the server's other requests; below it
/// the hop to another thread and back costs more than it saves.
const BLOCKING_THRESHOLD: usize = 500;

/// What one use case works with.
pub(crate) struct Ctx {
    pub catalog: Arc<Catalog>,
    pub tenant: Tenant,
    pub now: Timestamp,
}

impl Ctx {
    pub fn engine(&self) -> Engine<'_> {
        Engine::new(&self.catalog, Some(self.tenant.country), self.now)
    }
}

/// The result of a reconciliation.
#[derive(Default)]
pub(crate) struct Reconciled {
    /// Outcomes of the affected users, in the order they were loaded (match by user id).
    pub outcomes: Vec<UserOutcome>,
    /// Users outside the affected set who took a freed seat.
    pub healed: Vec<UserId>,
    /// Users whose states changed, affected or healed.
    pub changed: usize,
}

/// The tenant's group structure, loaded once per use case.
pub(crate) struct Groups {
    pub groups: HashMap<GroupId, Group>,
    /// child group → parent groups with the time the edge was made
    pub parents: HashMap<GroupId, Vec<(GroupId, Timestamp)>>,
    /// parent group → child groups
    pub children: HashMap<GroupId, Vec<GroupId>>,
    pub licenses: HashMap<GroupId, Vec<GroupAssignmentRow>>,
}

impl Groups {
    pub async fn load(tx: &mut TenantTx) -> Result<Groups> {
        let groups: HashMap<GroupId, Group> =
            tx.groups().await?.into_iter().map(|g| (g.id, g)).collect();
        let mut parents: HashMap<GroupId, Vec<(GroupId, Timestamp)>> = HashMap::new();
        let mut children: HashMap<GroupId, Vec<GroupId>> = HashMap::new();
        for e in tx.group_edges().await? {
            let child = GroupId(e.member_id);
            parents
                .entry(child)
                .or_default()
                .push((e.group_id, e.created_at));
            children.entry(e.group_id).or_default().push(child);
        }
        let mut licenses: HashMap<GroupId, Vec<GroupAssignmentRow>> = HashMap::new();
        for a in tx.group_assignments().await? {
            licenses.entry(a.group_id).or_default().push(a);
        }
        Ok(Groups {
            groups,
            parents,
            children,
            licenses,
        })
    }

    /// Groups reachable upwards from the user's direct groups, each with the time the path came
    /// to exist: the latest edge along a chain, the earliest chain (D2, D4).
    pub fn transitive(&self, direct: &[(GroupId, Timestamp)]) -> BTreeMap<GroupId, Timestamp> {
        let mut best: BTreeMap<GroupId, Timestamp> = BTreeMap::new();
        let mut todo: Vec<(GroupId, Timestamp)> = direct.to_vec();
        while let Some((g, t)) = todo.pop() {
            if best.get(&g).is_some_and(|old| *old <= t) {
                continue;
            }
            best.insert(g, t);
            for (p, e) in self.parents.get(&g).map(Vec::as_slice).unwrap_or(&[]) {
                todo.push((*p, t.max(*e)));
            }
        }
        best
    }

    /// The group and every group nested below it.
    pub fn descendants(&self, group: GroupId) -> Vec<GroupId> {
        let mut seen = HashSet::from([group]);
        let mut todo = vec![group];
        while let Some(g) = todo.pop() {
            for c in self.children.get(&g).map(Vec::as_slice).unwrap_or(&[]) {
                if seen.insert(*c) {
                    todo.push(*c);
                }
            }
        }
        let mut v: Vec<GroupId> = seen.into_iter().collect();
        v.sort();
        v
    }

    pub fn is_licensed(&self, group: GroupId) -> bool {
        self.licenses.get(&group).is_some_and(|l| !l.is_empty())
    }
}

/// Users who are members of `group`, directly or through nested groups (D2).
pub(crate) async fn transitive_user_members(
    tx: &mut TenantTx,
    groups: &Groups,
    group: GroupId,
) -> Result<Vec<UserId>> {
    let mut out: Vec<UserId> = Vec::new();
    for g in groups.descendants(group) {
        for (m, kind) in tx.member_ids_of(g).await? {
            if kind == MemberKind::User {
                out.push(UserId(m));
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// Seats per product: capacity from subscriptions (D8), consumption from the counters.
pub(crate) async fn load_ledger(tx: &mut TenantTx) -> Result<SeatLedger> {
    let mut ledger = SeatLedger::default();
    for s in tx.subscriptions().await? {
        let e = ledger
            .skus
            .entry(s.sku_id)
            .or_insert_with(SkuSeats::default);
        if s.status.is_assignable() {
            e.capacity += s.units;
        } else if s.status != skuld_domain::SubscriptionStatus::Deleted {
            e.suspended += s.units;
        }
    }
    for (sku, consumed) in tx.sku_usage().await? {
        ledger.skus.entry(sku).or_default().consumed = consumed;
    }
    Ok(ledger)
}

/// Builds the engine inputs of `users` from intent and stored state.
pub(crate) async fn load_inputs(
    tx: &mut TenantTx,
    groups: &Groups,
    users: &[UserId],
) -> Result<Vec<UserInput>> {
    let big = users.len() > SCAN_THRESHOLD;
    let wanted: FxHashSet<UserId> = users.iter().copied().collect();
    let rows: Vec<_> = if big {
        tx.licensing_users(None)
            .await?
            .into_iter()
            .filter(|u| wanted.contains(&u.0))
            .collect()
    } else {
        tx.licensing_users(Some(users)).await?
    };
    let mut direct: FxHashMap<UserId, Vec<Claim>> = FxHashMap::default();
    for (u, sku, disabled, at) in tx
        .direct_assignments(if big { None } else { Some(users) })
        .await?
    {
        if wanted.contains(&u) {
            direct.entry(u).or_default().push(Claim {
                sku,
                source: Source::Direct,
                disabled_plans: disabled,
                since: at,
                priority: 0,
            });
        }
    }
    let memberships: Vec<MembershipRow> = if big {
        tx.all_memberships().await?
    } else {
        let ids: Vec<uuid::Uuid> = users.iter().map(|u| u.0).collect();
        tx.memberships_of(&ids).await?
    };
    let mut member_of: FxHashMap<UserId, Vec<(GroupId, Timestamp)>> = FxHashMap::default();
    for m in memberships {
        let u = UserId(m.member_id);
        if m.kind == MemberKind::User && wanted.contains(&u) {
            member_of
                .entry(u)
                .or_default()
                .push((m.group_id, m.created_at));
        }
    }
    tracing::debug!(users = users.len(), "loaded users, directs and memberships");
    let mut states = tx.path_states(if big { None } else { Some(users) }).await?;
    tracing::debug!("loaded path states");
    let mut out = Vec::with_capacity(rows.len());
    for (uid, usage_location, deleted) in rows {
        let mut claims = direct.remove(&uid).unwrap_or_default();
        if let Some(direct_groups) = member_of.get(&uid) {
            for (g, since) in groups.transitive(direct_groups) {
                let Some(group) = groups.groups.get(&g) else {
                    continue;
                };
                // G1: only security-enabled groups license their members.
                if !group.is_licensable() {
                    continue;
                }
                for a in groups.licenses.get(&g).map(Vec::as_slice).unwrap_or(&[]) {
                    claims.push(Claim {
                        sku: a.sku_id,
                        source: Source::Group(g),
                        disabled_plans: a.disabled_plans.clone(),
                        since: since.max(a.created_at),
                        priority: group.license_priority,
                    });
                }
            }
        }
        out.push(UserInput {
            id: uid,
            usage_location,
            deleted,
            claims,
            current: states.remove(&uid).unwrap_or_default(),
        });
    }
    Ok(out)
}

/// Re-evaluates `affected` (plus anybody who can now take a freed seat, D3) and writes the
/// changes. `capacity_changed` names products whose capacity grew, so their waiters get a turn.
pub(crate) async fn reconcile(
    tx: &mut TenantTx,
    cx: &Ctx,
    groups: &Groups,
    affected: &[UserId],
    capacity_changed: &[SkuId],
) -> Result<Reconciled> {
    let t = std::time::Instant::now();
    let mut ledger = load_ledger(tx).await?;
    let start = ledger.clone();
    let inputs = load_inputs(tx, groups, affected).await?;
    let loaded = t.elapsed();
    let Evaluation { outcomes, derived } = evaluate(cx, &mut ledger, inputs).await?;
    let evaluated_in = t.elapsed() - loaded;
    tx.write_derived(&derived).await?;
    let mut changed = outcomes.iter().filter(|o| o.changed).count();
    tracing::debug!(users = affected.len(), ?loaded, ?evaluated_in, written = ?(t.elapsed() - loaded - evaluated_in), "reconciled");

    // D3: seats released by this change, or added capacity, go to waiting users in D4 order.
    let mut healed = Vec::new();
    let evaluated: HashSet<UserId> = affected.iter().copied().collect();
    let mut skus: Vec<SkuId> = start
        .skus
        .iter()
        .filter(|(s, before)| ledger.get(s).consumed < before.consumed)
        .map(|(s, _)| *s)
        .chain(capacity_changed.iter().copied())
        .collect();
    skus.sort();
    skus.dedup();
    for sku in skus {
        let mut offset_blocked: HashSet<UserId> = HashSet::new();
        while ledger.free(&sku) > 0 {
            let waiting: Vec<UserId> = tx
                .waiting_for(sku, WAITER_PAGE + offset_blocked.len() as i64)
                .await?
                .into_iter()
                .filter(|u| !offset_blocked.contains(u))
                .collect();
            if waiting.is_empty() {
                break;
            }
            let inputs = load_inputs(tx, groups, &waiting).await?;
            let Evaluation {
                outcomes: outs,
                derived,
            } = evaluate(cx, &mut ledger, inputs).await?;
            tx.write_derived(&derived).await?;
            let n = outs.iter().filter(|o| o.changed).count();
            changed += n;
            for o in &outs {
                if o.changed && !evaluated.contains(&o.user) {
                    healed.push(o.user);
                }
                // Still waiting for this product: blocked by something else; skip next round.
                if o.waiting_for().any(|s| s == sku) {
                    offset_blocked.insert(o.user);
                }
            }
            if n == 0 && waiting.len() < WAITER_PAGE as usize {
                break;
            }
        }
    }

    Ok(Reconciled {
        outcomes,
        healed,
        changed,
    })
}

/// Runs the engine over `inputs`, updating `ledger`. Large batches go to the blocking pool with
/// owned inputs (the catalog is shared), so a fan-out does not stall the async workers.
async fn evaluate(cx: &Ctx, ledger: &mut SeatLedger, inputs: Vec<UserInput>) -> Result<Evaluation> {
    if inputs.len() < BLOCKING_THRESHOLD {
        return Ok(cx.engine().evaluate_derived(ledger, &inputs));
    }
    let catalog = cx.catalog.clone();
    let country = cx.tenant.country;
    let now = cx.now;
    let mut owned = std::mem::take(ledger);
    let joined = tokio::task::spawn_blocking(move || {
        let e = Engine::new(&catalog, Some(country), now).evaluate_derived(&mut owned, &inputs);
        (owned, e)
    })
    .await;
    match joined {
        Ok((back, e)) => {
            *ledger = back;
            Ok(e)
        }
        // A panic in the engine is a bug: let it surface as the panic it is.
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => Err(crate::AppError::Corrupt(format!(
            "the licensing evaluation was cancelled: {e}"
        ))),
    }
}

/// Purges users for good (D7): their licensing intent goes first, then `reconcile` drops their
/// states and gives their seats to waiting users, then the users themselves go. Derived state
/// is written by the engine's result only, as everywhere.
pub(crate) async fn purge(tx: &mut TenantTx, cx: &Ctx, users: &[UserId]) -> Result<Reconciled> {
    for u in users {
        tx.remove_user_claims(*u).await?;
    }
    let groups = Groups::load(tx).await?;
    let r = reconcile(tx, cx, &groups, users, &[]).await?;
    for u in users {
        tx.hard_delete_user(*u).await?;
    }
    Ok(r)
}
