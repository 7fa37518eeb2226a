//! A tenant with products, users and tokens, and a one-line way to call the router.

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use axum::Router;
use serde_json::Value;
use skuld_app::{Actor, App, LicenseSpec, NewSubscription, NewUser};
use skuld_domain::{Catalog, DirectoryRole, SkuId, SubscriptionStatus, Tenant, User};
use skuld_graph::auth::{Claims, Keys};
use skuld_graph::throttle::{Limits, Throttle};
use skuld_graph::GraphState;
use std::sync::Arc;
use tower::ServiceExt;

pub const OP: Actor = Actor::Operator;

pub fn sku(part: &str) -> SkuId {
    Catalog::microsoft()
        .find_product(part)
        .unwrap_or_else(|| panic!("{part} is not in the catalog"))
        .sku_id
}

pub fn plan(part: &str, plan_name: &str) -> String {
    let c = Catalog::microsoft();
    let p = c.find_product(part).expect("product");
    p.plans
        .iter()
        .find(|id| c.plan(id).is_some_and(|x| x.name == plan_name))
        .unwrap_or_else(|| panic!("{plan_name} is not in {part}"))
        .to_string()
}

pub struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Response {
    /// `error.code` of a Graph error envelope.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
    pub fn message(&self) -> &str {
        self.body["error"]["message"].as_str().unwrap_or("")
    }
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Self {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.text);
        self
    }
    /// Asserts a Graph error envelope with this status, code and message.
    #[track_caller]
    pub fn expect_error(&self, status: u16, code: &str, message: &str) {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.text);
        assert_eq!(self.code(), code, "body: {}", self.text);
        assert_eq!(self.message(), message, "body: {}", self.text);
        let inner = &self.body["error"]["innerError"];
        assert!(
            inner["request-id"].as_str().is_some_and(|s| s.len() == 36),
            "{}",
            self.text
        );
        assert!(
            inner["date"].as_str().is_some_and(|s| s.len() == 19),
            "{}",
            self.text
        );
    }
    pub fn ids(&self) -> Vec<String> {
        self.body["value"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v["id"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }
}

pub struct World {
    pub app: App,
    pub state: GraphState,
    pub router: Router,
    pub tenant: Tenant,
    pub admin: String,
    _db: crate::backends::TestDb,
}

impl World {
    /// Contoso (US) with ENTERPRISEPACK ×3, MCOMEETADV ×2, ENTERPRISEPREMIUM ×1 and an admin, on
    /// every backend: SQLite, and PostgreSQL when `SKULD_TEST_PG_URL` is set.
    pub async fn all() -> Vec<World> {
        let mut out = Vec::new();
        for db in crate::backends::backends().await {
            let limits = Limits {
                scale: 100.0,
                enabled: true,
            };
            out.push(Self::on(db, limits).await);
        }
        out
    }

    pub async fn with_limits(limits: Limits) -> World {
        let db = crate::backends::backends().await.remove(0);
        Self::on(db, limits).await
    }

    async fn on(db: crate::backends::TestDb, limits: Limits) -> World {
        let app = App::open(&db.url).await.expect("open");
        let tenant = app
            .create_tenant("Contoso", "contoso.test", "US")
            .await
            .expect("tenant");
        for (part, units) in [
            ("ENTERPRISEPACK", 3),
            ("MCOMEETADV", 2),
            ("ENTERPRISEPREMIUM", 1),
        ] {
            app.add_subscription(
                &tenant,
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
            .expect("subscription");
        }
        let mut state = GraphState::new(app.clone(), Keys::generate());
        state.throttle = Arc::new(Throttle::new(limits));
        let router = skuld_graph::router(state.clone());
        let w = World {
            app,
            state,
            router,
            tenant,
            admin: "admin@contoso.test".into(),
            _db: db,
        };
        w.user("admin", Some("US")).await;
        w.app
            .add_role(
                &w.tenant,
                "admin@contoso.test",
                DirectoryRole::GlobalAdministrator,
                &OP,
            )
            .await
            .expect("role");
        w
    }

    /// Creates `{alias}@contoso.test` with the password `Passw0rd!{alias}`.
    pub async fn user(&self, alias: &str, location: Option<&str>) -> User {
        self.app
            .create_user(
                &self.tenant,
                NewUser {
                    upn: format!("{alias}@contoso.test"),
                    display_name: alias.to_string(),
                    usage_location: location.map(str::to_string),
                    account_enabled: true,
                    password: Some(format!("Passw0rd!{alias}")),
                    ..Default::default()
                },
                &OP,
            )
            .await
            .expect("user")
            .0
    }

    pub async fn user_with_role(&self, alias: &str, role: Option<DirectoryRole>) -> User {
        let u = self.user(alias, Some("US")).await;
        if let Some(r) = role {
            self.app
                .add_role(&self.tenant, &u.upn, r, &OP)
                .await
                .expect("role");
        }
        u
    }

    pub async fn license(&self, upn: &str, part: &str) {
        self.app
            .assign_license(
                &self.tenant,
                upn,
                &[LicenseSpec {
                    sku: sku(part),
                    disabled_plans: vec![],
                }],
                &[],
                &OP,
            )
            .await
            .expect("license");
    }

    /// A second server on this world's database (its own `App`, caches and key), as a second
    /// `skuld serve` on the same database would be.
    pub async fn another_server(&self) -> Router {
        let app = App::open(&self._db.url).await.expect("open");
        skuld_graph::router(GraphState::new(app, Keys::generate()))
    }

    /// A delegated token for a user of this tenant (signed as the token endpoint would).
    pub async fn token(&self, upn: &str) -> String {
        self.token_with_scopes(upn, "Directory.AccessAsUser.All")
            .await
    }

    /// A delegated token with these delegated permissions (`scp`).
    pub async fn token_with_scopes(&self, upn: &str, scopes: &str) -> String {
        let u = self.app.user(&self.tenant, upn).await.expect("user");
        let roles = self
            .app
            .role_assignments(&self.tenant)
            .await
            .expect("roles")
            .into_iter()
            .filter(|r| r.0 == u.id)
            .map(|r| r.2)
            .collect::<Vec<_>>();
        self.state.keys.sign(&Claims::for_user(
            &self.tenant,
            &u,
            &roles,
            "test-client",
            scopes,
        ))
    }

    pub async fn admin_token(&self) -> String {
        self.token(&self.admin.clone()).await
    }

    /// An app-only token for a fresh app registration with these permissions.
    pub async fn app_token(&self, permissions: &[&str]) -> String {
        let perms: Vec<String> = permissions.iter().map(|p| p.to_string()).collect();
        let (row, _) = self
            .app
            .add_app(&self.tenant, "test app", &perms, &OP)
            .await
            .expect("app");
        self.state.keys.sign(&Claims::for_app(&self.tenant, &row))
    }

    pub async fn call(
        &self,
        method: &str,
        uri: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Response {
        self.raw(
            method,
            uri,
            token,
            body.map(|b| b.to_string().into_bytes()),
            &[],
        )
        .await
    }

    pub async fn get(&self, uri: &str, token: &str) -> Response {
        self.call("GET", uri, Some(token), None).await
    }

    pub async fn post(&self, uri: &str, token: &str, body: Value) -> Response {
        self.call("POST", uri, Some(token), Some(body)).await
    }

    pub async fn patch(&self, uri: &str, token: &str, body: Value) -> Response {
        self.call("PATCH", uri, Some(token), Some(body)).await
    }

    pub async fn delete(&self, uri: &str, token: &str) -> Response {
        self.call("DELETE", uri, Some(token), None).await
    }

    pub async fn raw(
        &self,
        method: &str,
        uri: &str,
        token: Option<&str>,
        body: Option<Vec<u8>>,
        headers: &[(&str, &str)],
    ) -> Response {
        let mut b = Request::builder()
            .method(Method::from_bytes(method.as_bytes()).expect("method"))
            .uri(uri)
            .header("host", "graph.test");
        if let Some(t) = token {
            b = b.header("authorization", format!("Bearer {t}"));
        }
        if body.is_some() {
            b = b.header("content-type", "application/json");
        }
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let req = b
            .body(body.map(Body::from).unwrap_or_else(Body::empty))
            .expect("request");
        let resp = self.router.clone().oneshot(req).await.expect("infallible");
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .expect("body");
        let text = String::from_utf8_lossy(&bytes).into_owned();
        // What hyper would refuse to send: a length header that is not the body's.
        if let Some(len) = headers.get("content-length") {
            assert_eq!(
                len.to_str().unwrap(),
                bytes.len().to_string(),
                "content-length of {method} {uri}"
            );
        }
        if status.is_client_error() && !bytes.is_empty() && !uri.contains("/oauth2/") {
            assert!(
                headers["content-type"]
                    .to_str()
                    .unwrap()
                    .starts_with("application/json;odata.metadata=minimal"),
                "{method} {uri}: {:?}",
                headers.get("content-type")
            );
        }
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Response {
            status,
            headers,
            body,
            text,
        }
    }

    /// Runs queued group license jobs (the server's worker does this in the background).
    pub async fn drain(&self) {
        self.app.run_open_jobs().await.expect("jobs");
    }
}
