//! Throttling modelled on Graph's identity and access limits (graph-api.md §11): per app and
//! tenant, a token bucket of resource units refilled over 10 seconds (sized by the tenant:
//! 3,500 / 5,000 / 8,000 RU for fewer than 50, up to 500, and more users), a write bucket of
//! 3,000 requests per 150 seconds, and 5 audit log requests per 10 seconds. Each request costs
//! Graph's base cost for its resource, less one for `$select` or a `$top` under 20, plus one
//! for `$expand`, at least 1.
//!
//! Buckets are kept per (app, tenant) and, for delegated tokens, per (user, tenant) as well: the
//! app id of a user's token is whatever client id the user asked for, so it alone would let a
//! user escape a 429 by asking for another token. A bucket left idle until it is full again is
//! the same as a fresh one and is dropped, so memory follows the active callers only.

use crate::auth::Caller;
use crate::error::GraphError;
use axum::http::Method;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// The budgets; `scale` multiplies every budget (tests shrink them, load tests grow them).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub scale: f64,
    pub enabled: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            scale: 1.0,
            enabled: true,
        }
    }
}

#[derive(Debug)]
struct Bucket {
    level: f64,
    at: Instant,
    cap: f64,
    window_secs: f64,
}

impl Bucket {
    fn full(cap: f64, window_secs: f64, now: Instant) -> Self {
        Bucket {
            level: cap,
            at: now,
            cap,
            window_secs,
        }
    }
    fn rate(&self) -> f64 {
        self.cap / self.window_secs
    }
    fn refill(&mut self, now: Instant) {
        let dt = now.saturating_duration_since(self.at).as_secs_f64();
        self.level = (self.level + dt * self.rate()).min(self.cap);
        self.at = now;
    }
    /// The seconds until `cost` can be taken (0: now).
    fn wait_for(&self, cost: f64) -> u64 {
        if self.level >= cost {
            0
        } else {
            ((cost - self.level) / self.rate()).ceil().max(1.0) as u64
        }
    }
    /// Refills, then takes `cost` if there is enough; else the seconds until there is.
    #[cfg(test)]
    fn take(&mut self, cost: f64, now: Instant) -> Result<(), u64> {
        self.refill(now);
        match self.wait_for(cost) {
            0 => {
                self.level -= cost;
                Ok(())
            }
            w => Err(w),
        }
    }
    /// Whether the bucket would be full by `now`: then forgetting it changes nothing.
    fn idle(&self, now: Instant) -> bool {
        let dt = now.saturating_duration_since(self.at).as_secs_f64();
        self.level + dt * self.rate() >= self.cap
    }
}

/// Who is charged, in which tenant: `("app:{client id}" | "user:{object id}", tenant id)`.
type Key = (String, String);

/// Takes `cost` from every bucket of `keys`, or from none of them (the longest wait).
fn take_all(
    map: &mut HashMap<Key, Bucket>,
    keys: &[Key],
    cost: f64,
    cap: f64,
    window_secs: f64,
    now: Instant,
) -> Result<(), u64> {
    let mut wait = 0;
    for k in keys {
        let b = map
            .entry(k.clone())
            .or_insert_with(|| Bucket::full(cap, window_secs, now));
        b.cap = cap;
        b.refill(now);
        wait = wait.max(b.wait_for(cost));
    }
    if wait > 0 {
        return Err(wait);
    }
    for k in keys {
        if let Some(b) = map.get_mut(k) {
            b.level -= cost;
        }
    }
    Ok(())
}

/// At most this many buckets of one kind are kept; beyond it the longest idle go first.
const MAX_BUCKETS: usize = 100_000;
/// Idle buckets are swept at most this often.
const SWEEP_SECS: u64 = 10;

#[derive(Default)]
struct Buckets {
    ru: HashMap<Key, Bucket>,
    writes: HashMap<Key, Bucket>,
    audit: HashMap<Key, Bucket>,
    swept: Option<Instant>,
}

impl Buckets {
    fn sweep(&mut self, now: Instant) {
        let due = match self.swept {
            None => true,
            Some(t) => now.saturating_duration_since(t).as_secs() >= SWEEP_SECS,
        };
        let over = [&self.ru, &self.writes, &self.audit]
            .iter()
            .any(|m| m.len() > MAX_BUCKETS);
        if !due && !over {
            return;
        }
        self.swept = Some(now);
        for m in [&mut self.ru, &mut self.writes, &mut self.audit] {
            m.retain(|_, b| !b.idle(now));
            if m.len() > MAX_BUCKETS {
                let mut ats: Vec<Instant> = m.values().map(|b| b.at).collect();
                ats.sort_unstable();
                let cut = ats[m.len() - MAX_BUCKETS / 2];
                m.retain(|_, b| b.at >= cut);
            }
        }
    }
}

/// The throttle of one server.
#[derive(Default)]
pub struct Throttle {
    pub limits: Limits,
    buckets: Mutex<Buckets>,
    /// Tenant id → user count, to size the resource-unit budget.
    sizes: Mutex<HashMap<String, (Instant, i64)>>,
}

/// Graph's base cost of a request, with the query modifiers.
pub fn cost(method: &Method, path: &str, query: Option<&str>) -> u32 {
    let p = path.trim_end_matches('/');
    let segs: Vec<&str> = p.split('/').filter(|s| !s.is_empty()).collect();
    let last = segs.last().copied().unwrap_or("");
    if method != Method::GET {
        return 1;
    }
    let base: i32 = match last {
        "users" => 2,
        "subscribedSkus" => 3,
        "licenseDetails" => 2,
        "members" => 3,
        "transitiveMembers" => 5,
        _ => 1,
    };
    let q = query.unwrap_or("").to_ascii_lowercase();
    let mut c = base;
    if q.contains("$select=") || q.contains("%24select=") {
        c -= 1;
    }
    if q.contains("$expand=") || q.contains("%24expand=") {
        c += 1;
    }
    if let Some(top) = q
        .split('&')
        .find_map(|kv| {
            kv.strip_prefix("$top=")
                .or_else(|| kv.strip_prefix("%24top="))
        })
        .and_then(|v| v.parse::<i64>().ok())
    {
        if top < 20 {
            c -= 1;
        }
    }
    c.max(1) as u32
}

impl Throttle {
    pub fn new(limits: Limits) -> Self {
        Throttle {
            limits,
            ..Default::default()
        }
    }

    /// The resource-unit budget per 10 seconds for a tenant of `users` users.
    fn ru_budget(&self, users: i64) -> f64 {
        let base = if users < 50 {
            3_500.0
        } else if users <= 500 {
            5_000.0
        } else {
            8_000.0
        };
        base * self.limits.scale
    }

    /// The last known user count of a tenant, if fresh (a minute).
    pub fn tenant_size(&self, tenant: &str) -> Option<i64> {
        let s = self.sizes.lock().expect("throttle sizes");
        s.get(tenant)
            .filter(|(at, _)| at.elapsed().as_secs() < 60)
            .map(|(_, n)| *n)
    }

    pub fn set_tenant_size(&self, tenant: &str, users: i64) {
        self.sizes
            .lock()
            .expect("throttle sizes")
            .insert(tenant.to_string(), (Instant::now(), users));
    }

    /// Charges a request; `Err` is the 429 to answer. Returns the request's cost.
    pub fn charge(
        &self,
        caller: &Caller,
        method: &Method,
        path: &str,
        query: Option<&str>,
    ) -> Result<u32, GraphError> {
        let tenant = caller.tenant.id.to_string();
        self.charge_at(
            &tenant,
            &caller.client,
            caller.user.as_deref(),
            method,
            path,
            query,
            Instant::now(),
        )
    }

    /// [`Self::charge`] for a client (app id) and, for delegated tokens, a user, at `now`.
    #[allow(clippy::too_many_arguments)]
    pub fn charge_at(
        &self,
        tenant: &str,
        client: &str,
        user: Option<&str>,
        method: &Method,
        path: &str,
        query: Option<&str>,
        now: Instant,
    ) -> Result<u32, GraphError> {
        let c = cost(method, path, query);
        if !self.limits.enabled {
            return Ok(c);
        }
        let mut keys = vec![(format!("app:{client}"), tenant.to_string())];
        if let Some(u) = user {
            keys.push((format!("user:{u}"), tenant.to_string()));
        }
        let users = self.tenant_size(tenant).unwrap_or(0);
        let ru_cap = self.ru_budget(users);
        let mut b = self.buckets.lock().expect("throttle buckets");
        b.sweep(now);
        if path.contains("/auditLogs/") {
            let cap = (5.0 * self.limits.scale).max(1.0);
            take_all(&mut b.audit, &keys, 1.0, cap, 10.0, now).map_err(GraphError::throttled)?;
        }
        if method != Method::GET {
            let cap = (3_000.0 * self.limits.scale).max(1.0);
            take_all(&mut b.writes, &keys, 1.0, cap, 150.0, now)
                .map_err(|s| GraphError::throttled_by(s, "WriteLimitExceeded"))?;
        }
        take_all(&mut b.ru, &keys, c as f64, ru_cap.max(c as f64), 10.0, now)
            .map_err(|s| GraphError::throttled_by(s, "ResourceUnitLimitExceeded"))?;
        Ok(c)
    }

    /// How many buckets the throttle holds (bounded: idle ones are dropped).
    pub fn bucket_count(&self) -> usize {
        let b = self.buckets.lock().expect("throttle buckets");
        b.ru.len() + b.writes.len() + b.audit.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn costs_follow_graphs_table() {
        let get = Method::GET;
        assert_eq!(cost(&get, "/v1.0/users", None), 2);
        assert_eq!(cost(&get, "/v1.0/users", Some("$select=id")), 1);
        assert_eq!(cost(&get, "/v1.0/users", Some("$top=5")), 1);
        assert_eq!(cost(&get, "/v1.0/subscribedSkus", None), 3);
        assert_eq!(cost(&get, "/v1.0/groups/x/transitiveMembers", None), 5);
        assert_eq!(cost(&get, "/v1.0/groups/x/members", Some("$expand=x")), 4);
        assert_eq!(cost(&get, "/v1.0/organization", None), 1);
        assert_eq!(cost(&Method::POST, "/v1.0/users", None), 1);
    }

    #[test]
    fn a_bucket_refuses_when_empty_and_says_how_long_to_wait() {
        let now = Instant::now();
        let mut b = Bucket::full(10.0, 10.0, now);
        for _ in 0..5 {
            assert!(b.take(2.0, now).is_ok());
        }
        let wait = b.take(2.0, now).unwrap_err();
        assert!((1..=2).contains(&wait), "{wait}");
    }

    /// Issue 7 item 19: a user who asks for a token with another client id still draws on
    /// their own bucket.
    #[test]
    fn a_delegated_caller_is_throttled_per_user_whatever_the_client_id() {
        let t = Throttle::new(Limits {
            scale: 0.001,
            enabled: true,
        });
        let now = Instant::now();
        let get = Method::GET;
        // 3,500 RU × 0.001 = 3.5 RU: three requests of 1 RU, then 429.
        for _ in 0..3 {
            t.charge_at("t", "client-a", Some("u1"), &get, "/v1.0/me", None, now)
                .unwrap();
        }
        let e = t
            .charge_at("t", "client-b", Some("u1"), &get, "/v1.0/me", None, now)
            .unwrap_err();
        assert_eq!(e.status.as_u16(), 429);
        // Another user of the same new client is not affected…
        t.charge_at("t", "client-b", Some("u2"), &get, "/v1.0/me", None, now)
            .unwrap();
        // …and an app-only caller is keyed by its app id alone.
        t.charge_at("t", "app-1", None, &get, "/v1.0/me", None, now)
            .unwrap();
    }

    /// Issue 7 item 19: idle buckets are dropped, so memory does not grow with every client id
    /// ever seen.
    #[test]
    fn idle_buckets_are_evicted() {
        // Budgets so small that one write takes 50 s to refill and one RU about 3 s.
        let t = Throttle::new(Limits {
            scale: 0.001,
            enabled: true,
        });
        let now = Instant::now();
        for i in 0..2_000 {
            t.charge_at(
                "t",
                &format!("c{i}"),
                None,
                &Method::POST,
                "/v1.0/users",
                None,
                now,
            )
            .unwrap();
        }
        // One RU bucket and one write bucket per client.
        assert_eq!(t.bucket_count(), 4_000);
        // Within the refill windows nothing may be forgotten (it would reset a budget)…
        let soon = now + std::time::Duration::from_secs(11);
        t.charge_at("t", "x", None, &Method::GET, "/v1.0/users", None, soon)
            .unwrap();
        assert_eq!(
            t.bucket_count(),
            2_000 + 1,
            "RU buckets refilled, writes not yet"
        );
        // …and once every bucket has refilled, only the active caller's remain.
        let later = now + std::time::Duration::from_secs(400);
        t.charge_at("t", "y", None, &Method::GET, "/v1.0/users", None, later)
            .unwrap();
        assert_eq!(t.bucket_count(), 1);
    }
}
