//! Benchmarks of the licensing path against the architecture targets, run through the same use
//! cases as every other caller (durable commits included).

use crate::audit::Actor;
use crate::groups::NewGroup;
use crate::licenses::LicenseSpec;
use crate::subscriptions::NewSubscription;
use crate::{now, App, Result};
use skuld_domain::directory::GroupKind;
use skuld_domain::{
    Catalog, GroupId, SubscriptionStatus, Tenant, UsageLocation, User, UserId, UserType,
};
use skuld_store::{MemberKind, MembershipRow};
use std::time::Instant;

/// Result of `bench fanout`.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchFanout {
    pub members: usize,
    pub setup_seconds: f64,
    /// Licensing the group: every member evaluated, states and counters written, committed.
    pub seconds: f64,
    pub licensed: usize,
    pub doctor_seconds: f64,
    pub drift: usize,
}

/// Result of `bench member-add`.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchMemberAdd {
    pub users: usize,
    pub samples: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

fn bench_user(tenant: &Tenant, i: usize, at: skuld_domain::Timestamp) -> User {
    let upn = format!("user{i:07}@{}", tenant.default_domain);
    User {
        id: UserId::new(),
        mail: Some(upn.clone()),
        mail_nickname: format!("user{i:07}"),
        display_name: format!("Bench User {i}"),
        upn,
        usage_location: if i.is_multiple_of(10) {
            None
        } else {
            Some(tenant.country)
        },
        user_type: UserType::Member,
        account_enabled: true,
        department: Some(["Sales", "Engineering", "Finance", "Support"][i % 4].to_string()),
        created_at: at,
        ..User::default()
    }
}

impl App {
    /// Creates a tenant with `users` users, `members` of them in one group, and seats enough.
    async fn bench_tenant(&self, users: usize, members: usize) -> Result<(Tenant, GroupId)> {
        let suffix = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
        let tenant = self
            .create_tenant(
                &format!("bench-{suffix}"),
                &format!("bench-{suffix}.test"),
                "US",
            )
            .await?;
        let at = now();
        let actor = Actor::Operator;
        let group = self
            .create_group(
                &tenant,
                NewGroup {
                    display_name: "Everyone".into(),
                    security_enabled: true,
                    kind: GroupKind::Security,
                    ..NewGroup::default()
                },
                &actor,
            )
            .await?;
        let mut tx = self.store().write(tenant.id).await?;
        let chunk = 50_000;
        let mut i = 0;
        while i < users {
            let n = chunk.min(users - i);
            let batch: Vec<User> = (i..i + n).map(|k| bench_user(&tenant, k, at)).collect();
            tx.insert_users(&batch).await?;
            let rows: Vec<MembershipRow> = batch
                .iter()
                .enumerate()
                .filter(|(k, _)| i + k < members)
                .map(|(_, u)| MembershipRow {
                    group_id: group.id,
                    member_id: u.id.0,
                    kind: MemberKind::User,
                    dynamic: false,
                    created_at: at,
                })
                .collect();
            tx.add_memberships(&rows).await?;
            i += n;
        }
        tx.commit().await?;
        let e3 = Catalog::microsoft()
            .find_product("ENTERPRISEPACK")
            .map(|p| p.sku_id)
            .expect("E3 in catalog");
        self.add_subscription(
            &tenant,
            NewSubscription {
                sku: e3,
                units: users as i64 + 10,
                status: SubscriptionStatus::Enabled,
                is_trial: false,
                self_service_owner: None,
                next_lifecycle_at: None,
            },
            &actor,
        )
        .await?;
        let _ = UsageLocation::parse("US");
        Ok((tenant, group.id))
    }

    /// License a group of `members` members with one product (architecture target: 1,000,000
    /// members in ≤ 10 s, durable).
    pub async fn bench_fanout(&self, members: usize) -> Result<BenchFanout> {
        let t0 = Instant::now();
        let (tenant, group) = self.bench_tenant(members, members).await?;
        let setup = t0.elapsed().as_secs_f64();
        let e3 = Catalog::microsoft()
            .find_product("ENTERPRISEPACK")
            .map(|p| p.sku_id)
            .expect("E3 in catalog");
        let t1 = Instant::now();
        let r = self
            .group_assign_license(
                &tenant,
                &group.to_string(),
                &[LicenseSpec {
                    sku: e3,
                    disabled_plans: vec![],
                }],
                &[],
                &Actor::Operator,
            )
            .await?;
        let seconds = t1.elapsed().as_secs_f64();
        let t2 = Instant::now();
        let report = self.doctor(&tenant).await?;
        Ok(BenchFanout {
            members,
            setup_seconds: setup,
            seconds,
            licensed: r.succeeded,
            doctor_seconds: t2.elapsed().as_secs_f64(),
            drift: report.drift,
        })
    }

    /// Latency of single membership changes to a licensed group in a tenant of `users` users
    /// (half of them already members).
    pub async fn bench_member_add(&self, users: usize, samples: usize) -> Result<BenchMemberAdd> {
        let samples = samples.min(users / 2).max(1);
        let (tenant, group) = self.bench_tenant(users, users / 2).await?;
        let e3 = Catalog::microsoft()
            .find_product("ENTERPRISEPACK")
            .map(|p| p.sku_id)
            .expect("E3 in catalog");
        self.group_assign_license(
            &tenant,
            &group.to_string(),
            &[LicenseSpec {
                sku: e3,
                disabled_plans: vec![],
            }],
            &[],
            &Actor::Operator,
        )
        .await?;
        let mut times = Vec::with_capacity(samples);
        let step = (users / 2) / samples;
        for k in 0..samples {
            let i = users / 2 + k * step.max(1);
            let upn = format!("user{i:07}@{}", tenant.default_domain);
            let t = Instant::now();
            self.add_member(&tenant, &group.to_string(), &upn, &Actor::Operator)
                .await?;
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        times.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
        let pct = |p: f64| times[((times.len() as f64 - 1.0) * p).round() as usize];
        Ok(BenchMemberAdd {
            users,
            samples,
            p50_ms: pct(0.5),
            p99_ms: pct(0.99),
            max_ms: *times.last().unwrap_or(&0.0),
        })
    }
}
