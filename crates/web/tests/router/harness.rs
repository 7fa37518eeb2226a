//! The world of the admin center's router tests: the real router on a temporary SQLite
#![allow(dead_code)]
//! database seeded with the demo tenant, and a cookie-keeping [`Browser`] that signs in
//! through the sign-in form and sends each form's CSRF token, as a browser does. No sockets.

use axum::body::Body;
use axum::http::{header, HeaderMap, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use skuld_app::{Actor, App, NewUser};
use skuld_domain::{DirectoryRole, Tenant, UserType};
use skuld_web::{Clock, WebState};
use std::collections::BTreeMap;
use tower::ServiceExt;

/// The password of the users [`World::as_role`] makes.
pub const PASSWORD: &str = "Adm1n-Center!2026";

pub struct World {
    pub app: App,
    pub state: WebState,
    pub router: Router,
    pub tenant: Tenant,
    pub admin_upn: String,
    pub admin_password: String,
    _dir: tempfile::TempDir,
}

/// What the Graph router would answer: everything that is not the admin center's.
fn fallback() -> Router {
    Router::new().fallback(|| async { (StatusCode::IM_A_TEAPOT, "graph") })
}

impl World {
    /// The demo tenant (Contoso), on a fresh SQLite database.
    pub async fn demo() -> World {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("skuld.db");
        let app = App::open(db.to_str().expect("utf-8 path"))
            .await
            .expect("open");
        let sum = app.seed_demo(None).await.expect("demo");
        let mut state = WebState::new(app.clone());
        // Fixed at the real time the demo was seeded; tests move it (idle expiry, lockout).
        state.clock = Clock::fixed(skuld_app::now().0);
        let router = skuld_web::router(state.clone(), fallback());
        World {
            app,
            state,
            router,
            tenant: sum.tenant,
            admin_upn: sum.admin_upn,
            admin_password: sum.admin_password,
            _dir: dir,
        }
    }

    /// A browser nobody has signed in to yet.
    pub fn browser(&self) -> Browser {
        Browser {
            router: self.router.clone(),
            cookies: BTreeMap::new(),
            csrf: None,
            https: false,
        }
    }

    /// A browser signed in as `upn`.
    pub async fn signed_in(&self, upn: &str, password: &str) -> Browser {
        let mut b = self.browser();
        let r = b.sign_in(upn, password).await;
        assert_eq!(
            r.status,
            StatusCode::SEE_OTHER,
            "sign-in of {upn}: {}",
            r.body
        );
        b.get("/").await.ok();
        b
    }

    /// A browser signed in as the demo tenant's Global Administrator.
    pub async fn admin(&self) -> Browser {
        self.signed_in(&self.admin_upn.clone(), &self.admin_password.clone())
            .await
    }

    /// A new member user holding `roles` (none: an ordinary user), signed in.
    pub async fn as_roles(&self, alias: &str, roles: &[DirectoryRole]) -> Browser {
        let upn = self.make_user(alias).await;
        for r in roles {
            self.app
                .add_role(&self.tenant, &upn, *r, &Actor::Operator)
                .await
                .expect("role");
        }
        self.signed_in(&upn, PASSWORD).await
    }

    /// A browser signed in as a new user holding only `role`.
    pub async fn as_role(&self, role: DirectoryRole) -> Browser {
        let alias = format!("{role:?}").to_lowercase();
        self.as_roles(&alias, &[role]).await
    }

    /// Creates a member user `alias@contoso.test` (password [`PASSWORD`], usage location US).
    pub async fn make_user(&self, alias: &str) -> String {
        let upn = format!("{alias}@contoso.test");
        self.app
            .create_user(
                &self.tenant,
                NewUser {
                    upn: upn.clone(),
                    display_name: alias.to_string(),
                    usage_location: Some("US".into()),
                    user_type: UserType::Member,
                    account_enabled: true,
                    password: Some(PASSWORD.into()),
                    ..Default::default()
                },
                &Actor::Operator,
            )
            .await
            .expect("user");
        upn
    }
}

/// One answer.
#[derive(Debug)]
pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    /// Where a redirect goes.
    pub fn location(&self) -> Option<&str> {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
    }
    /// Panics unless the page is a 200.
    pub fn ok(&self) -> &Self {
        assert_eq!(self.status, StatusCode::OK, "{}", self.body);
        self
    }
    /// Panics unless the body contains `text` (HTML-escaped as askama escapes).
    pub fn has(&self, text: &str) -> &Self {
        assert!(
            self.body.contains(text) || self.body.contains(&escape(text)),
            "page does not contain {text:?}:\n{}",
            self.body
        );
        self
    }
    /// Panics if the body contains `text`.
    pub fn lacks(&self, text: &str) -> &Self {
        assert!(
            !self.body.contains(text) && !self.body.contains(&escape(text)),
            "page contains {text:?}:\n{}",
            self.body
        );
        self
    }
    /// The value of the first `name="_csrf"` field.
    pub fn csrf(&self) -> Option<String> {
        field_value(&self.body, "_csrf")
    }
}

/// The `value` of the first input named `name` in `html`.
pub fn field_value(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{name}\""))?;
    let start = html[..at].rfind('<')?;
    let end = at + html[at..].find('>')?;
    let tag = &html[start..end];
    let v = tag.split_once("value=\"")?.1;
    Some(v[..v.find('"')?].to_string())
}

/// As askama escapes text.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}

/// A form body from fields (repeated names allowed).
pub fn form(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// Keeps cookies and the last seen CSRF token, as a browser keeps them.
pub struct Browser {
    router: Router,
    pub cookies: BTreeMap<String, String>,
    /// The CSRF token of the last page that had a form.
    pub csrf: Option<String>,
    pub https: bool,
}

impl Browser {
    async fn send(&mut self, mut req: Request<Body>) -> Page {
        if !self.cookies.is_empty() {
            let c = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
            req.headers_mut()
                .insert(header::COOKIE, c.parse().expect("cookie"));
        }
        let r = self.router.clone().oneshot(req).await.expect("infallible");
        let (parts, body) = r.into_parts();
        for v in parts.headers.get_all(header::SET_COOKIE) {
            let v = v.to_str().expect("ascii");
            let kv = v.split(';').next().unwrap_or_default();
            if let Some((k, val)) = kv.split_once('=') {
                if val.is_empty() || v.contains("Max-Age=0") {
                    self.cookies.remove(k);
                } else {
                    self.cookies.insert(k.to_string(), val.to_string());
                }
            }
        }
        let bytes = body.collect().await.expect("body").to_bytes();
        let page = Page {
            status: parts.status,
            headers: parts.headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        };
        if let Some(t) = page.csrf() {
            self.csrf = Some(t);
        }
        page
    }

    /// `GET path` as a browser asks for a page.
    pub async fn get(&mut self, path: &str) -> Page {
        let req = Request::get(path)
            .header(header::ACCEPT, "text/html,application/xhtml+xml")
            .body(Body::empty())
            .expect("request");
        self.send(req).await
    }

    /// `GET path` as htmx asks for a fragment.
    pub async fn htmx(&mut self, path: &str) -> Page {
        let req = Request::get(path)
            .header(header::ACCEPT, "text/html")
            .header("hx-request", "true")
            .body(Body::empty())
            .expect("request");
        self.send(req).await
    }

    /// Posts a form without adding a CSRF token.
    pub async fn post_raw(&mut self, path: &str, body: String) -> Page {
        let req = Request::post(path)
            .header(header::ACCEPT, "text/html")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .expect("request");
        self.send(req).await
    }

    /// Posts a form with the CSRF token of the last page seen (as the page's form would).
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let token = self
            .csrf
            .clone()
            .expect("no page with a form was seen before posting");
        let mut all: Vec<(&str, &str)> = vec![("_csrf", &token)];
        all.extend_from_slice(fields);
        self.post_raw(path, form(&all)).await
    }

    /// Signs in through the sign-in form; returns the form's answer.
    pub async fn sign_in(&mut self, upn: &str, password: &str) -> Page {
        let p = self.get("/signin").await;
        assert_eq!(p.status, StatusCode::OK, "{}", p.body);
        self.post("/signin", &[("username", upn), ("password", password)])
            .await
    }
}
