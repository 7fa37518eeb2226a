//! Throttling modelled on Graph's identity and access limits (graph-api.md §11): per app and
//! tenant, a token bucket of resource units refilled over 10 seconds (sized by the tenant:
//! 3,500 / 5,000 / 8,000 RU for fewer than 50, up to 500, and more users), a write bucket of
//! 3,000 requests per 150 seconds, and 5 audit log requests per 10 seconds. Each request costs
//! Graph's base cost for its resource, less one for `$select` or a `$top` under 20, plus one
//! for `$expand`, at least 1.

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
}

impl Bucket {
    fn full(cap: f64) -> Self {
        Bucket {
            level: cap,
            at: Instant::now(),
        }
    }
    /// Refills, then takes `cost` if there is enough; else the seconds until there is.
    fn take(&mut self, cost: f64, cap: f64, window_secs: f64) -> Result<(), u64> {
        let now = Instant::now();
        let rate = cap / window_secs;
        self.level = (self.level + now.duration_since(self.at).as_secs_f64() * rate).min(cap);
        self.at = now;
        if self.level >= cost {
            self.level -= cost;
            Ok(())
        } else {
            Err(((cost - self.level) / rate).ceil().max(1.0) as u64)
        }
    }
}

#[derive(Default)]
struct Buckets {
    ru: HashMap<(String, String), Bucket>,
    writes: HashMap<(String, String), Bucket>,
    audit: HashMap<(String, String), Bucket>,
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
        let c = cost(method, path, query);
        if !self.limits.enabled {
            return Ok(c);
        }
        let tenant = caller.tenant.id.to_string();
        let key = (caller.client.clone(), tenant.clone());
        let users = self.tenant_size(&tenant).unwrap_or(0);
        let ru_cap = self.ru_budget(users);
        let mut b = self.buckets.lock().expect("throttle buckets");
        if path.contains("/auditLogs/") {
            let cap = (5.0 * self.limits.scale).max(1.0);
            b.audit
                .entry(key.clone())
                .or_insert_with(|| Bucket::full(cap))
                .take(1.0, cap, 10.0)
                .map_err(GraphError::throttled)?;
        }
        if method != Method::GET {
            let cap = (3_000.0 * self.limits.scale).max(1.0);
            b.writes
                .entry(key.clone())
                .or_insert_with(|| Bucket::full(cap))
                .take(1.0, cap, 150.0)
                .map_err(|s| GraphError::throttled_by(s, "WriteLimitExceeded"))?;
        }
        b.ru.entry(key)
            .or_insert_with(|| Bucket::full(ru_cap))
            .take(c as f64, ru_cap.max(c as f64), 10.0)
            .map_err(|s| GraphError::throttled_by(s, "ResourceUnitLimitExceeded"))?;
        Ok(c)
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
        let mut b = Bucket::full(10.0);
        for _ in 0..5 {
            assert!(b.take(2.0, 10.0, 10.0).is_ok());
        }
        let wait = b.take(2.0, 10.0, 10.0).unwrap_err();
        assert!((1..=2).contains(&wait), "{wait}");
    }
}
