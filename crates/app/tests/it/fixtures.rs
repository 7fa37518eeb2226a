//! A tenant to act on and short helpers over the public API, all as `Actor::Operator` unless a
//! test says otherwise.

use skuld_app::{
    Actor, App, AppError, FanoutResult, LicenseSpec, NewGroup, NewSubscription, NewUser, Refusal,
    RefusalKind,
};
use skuld_domain::{
    Catalog, Group, SkuId, Subscription, SubscriptionStatus, Tenant, User, UserType,
};

pub const OP: Actor = Actor::Operator;

/// The product's id in Microsoft's catalog, by part number (`ENTERPRISEPACK`, `EMS`, …).
pub fn sku(part: &str) -> SkuId {
    Catalog::microsoft()
        .find_product(part)
        .unwrap_or_else(|| panic!("{part} is not in the catalog"))
        .sku_id
}

pub fn spec(part: &str) -> LicenseSpec {
    LicenseSpec {
        sku: sku(part),
        disabled_plans: vec![],
    }
}

/// Graph's message of a refusal, failing on success.
pub fn refusal<T: std::fmt::Debug>(r: Result<T, AppError>) -> String {
    match r {
        Err(AppError::BadRequest(m)) => m,
        Err(AppError::Refused(r)) if r.kind() == RefusalKind::BadRequest => r.graph_text(),
        other => panic!("expected a BadRequest refusal, got {other:?}"),
    }
}

/// The refusal itself (both renderings), failing on anything else.
pub fn refused<T: std::fmt::Debug>(r: Result<T, AppError>) -> Refusal {
    match r {
        Err(AppError::Refused(r)) => *r,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

pub struct Env {
    pub app: App,
    pub t: Tenant,
}

pub async fn env(url: &str) -> Env {
    let app = App::open(url).await.expect("open the store");
    let t = app
        .create_tenant("Contoso", "contoso.test", "US")
        .await
        .unwrap();
    Env { app, t }
}

impl Env {
    pub fn upn(&self, alias: &str) -> String {
        format!("{alias}@contoso.test")
    }

    pub async fn subscribe(&self, part: &str, units: i64) -> Subscription {
        self.app
            .add_subscription(
                &self.t,
                NewSubscription {
                    sku: sku(part),
                    units,
                    status: SubscriptionStatus::Enabled,
                    is_trial: false,
                    self_service_owner: None,
                    next_lifecycle_at: None,
                },
                &OP,
            )
            .await
            .unwrap()
    }

    pub fn new_user(&self, alias: &str, location: Option<&str>) -> NewUser {
        NewUser {
            upn: self.upn(alias),
            display_name: alias.to_string(),
            usage_location: location.map(str::to_string),
            user_type: UserType::Member,
            account_enabled: true,
            password: Some("Sk-uld-Test-1".into()),
            ..NewUser::default()
        }
    }

    pub async fn user(&self, alias: &str, location: Option<&str>) -> User {
        self.create(self.new_user(alias, location)).await
    }

    pub async fn create(&self, n: NewUser) -> User {
        self.app.create_user(&self.t, n, &OP).await.unwrap().0
    }

    pub async fn group(&self, name: &str) -> Group {
        self.app
            .create_group(
                &self.t,
                NewGroup {
                    display_name: name.to_string(),
                    security_enabled: true,
                    ..NewGroup::default()
                },
                &OP,
            )
            .await
            .unwrap()
    }

    /// Adds a user (by alias) or a group (by name) to a group.
    pub async fn add(&self, group: &str, member: &str) -> Result<(), AppError> {
        self.app
            .add_member(&self.t, group, &self.key(member), &OP)
            .await
    }

    pub async fn remove(&self, group: &str, member: &str) -> Result<(), AppError> {
        self.app
            .remove_member(&self.t, group, &self.key(member), &OP)
            .await
    }

    fn key(&self, member: &str) -> String {
        // Users are named by alias in the tests, groups by their capitalised display name.
        if member.starts_with(|c: char| c.is_ascii_lowercase()) {
            self.upn(member)
        } else {
            member.to_string()
        }
    }

    pub async fn license_group(&self, group: &str, part: &str) -> Result<FanoutResult, AppError> {
        self.app
            .group_assign_license(&self.t, group, &[spec(part)], &[], &OP)
            .await
    }

    pub async fn unlicense_group(&self, group: &str, part: &str) -> Result<FanoutResult, AppError> {
        self.app
            .group_assign_license(&self.t, group, &[], &[sku(part)], &OP)
            .await
    }

    pub async fn direct(&self, alias: &str, part: &str) -> Result<User, AppError> {
        self.app
            .assign_license(&self.t, &self.upn(alias), &[spec(part)], &[], &OP)
            .await
    }

    pub async fn undirect(&self, alias: &str, part: &str) -> Result<User, AppError> {
        self.app
            .assign_license(&self.t, &self.upn(alias), &[], &[sku(part)], &OP)
            .await
    }

    /// Every path of the user's license of `part`, as `"<source>: <state> <error>"`.
    pub async fn paths(&self, alias: &str, part: &str) -> Vec<String> {
        let view = self.app.user_view(&self.t, &self.upn(alias)).await.unwrap();
        view.licenses
            .iter()
            .filter(|l| l.part_number == part)
            .flat_map(|l| &l.paths)
            .map(|p| format!("{}: {} {}", p.source, p.state, p.error))
            .collect()
    }

    /// Whether the user holds a seat of `part`.
    pub async fn holds(&self, alias: &str, part: &str) -> bool {
        let view = self.app.user_view(&self.t, &self.upn(alias)).await.unwrap();
        view.licenses
            .iter()
            .any(|l| l.part_number == part && l.held)
    }

    /// Products the user has any path of, held or not.
    pub async fn products(&self, alias: &str) -> Vec<String> {
        let view = self.app.user_view(&self.t, &self.upn(alias)).await.unwrap();
        view.licenses.into_iter().map(|l| l.part_number).collect()
    }

    /// `(total, assigned)` seats of a product, as the admin center shows them.
    pub async fn seats(&self, part: &str) -> (i64, i64) {
        let rows = self.app.sku_rows(&self.t).await.unwrap();
        let row = rows
            .iter()
            .find(|r| r.part_number == part)
            .unwrap_or_else(|| panic!("no subscription of {part}"));
        (row.total, row.assigned)
    }

    /// The stored derived state equals a recomputation from intent.
    pub async fn assert_no_drift(&self) {
        let report = self.app.doctor(&self.t).await.unwrap();
        assert_eq!(report.drift, 0, "doctor found drift: {:#?}", report.details);
    }
}
