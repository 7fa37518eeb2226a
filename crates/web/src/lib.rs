//! skuld's admin center: license management in the browser, as the Microsoft 365 admin center
//! does it (`docs/admin-center.md` in the reference material), on the same `app` use cases and
//! rights as Graph — there is no second path to license state.
//!
//! Pages are rendered on the server with askama templates (`templates/`); htmx (vendored in
//! `assets/`, no CDN, no build step) adds partial updates such as type-ahead search, and every
//! basic flow works without JavaScript (plain forms, post-redirect-get).
//!
//! Safety: server-side sessions (see [`skuld_app::Session`]) behind an `HttpOnly`,
//! `SameSite=Lax` cookie (`Secure` on HTTPS); a CSRF token on every form ([`session::Form`]);
//! a strict Content-Security-Policy without inline script, `frame-ancestors 'none'`,
//! `X-Frame-Options: DENY` and `Referrer-Policy: same-origin` on every answer.
//!
//! Each page module owns its routes (`pages::*::routes`); [`router`] puts them together.

pub mod error;
pub mod pages;
pub mod session;
pub mod view;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use skuld_app::App;
use skuld_domain::Timestamp;
use std::sync::Arc;

/// What every page handler gets.
#[derive(Clone)]
pub struct WebState {
    pub app: App,
    /// Whether this listener is HTTPS (cookies are then `Secure`).
    pub https: bool,
    /// The clock (tests move it to expire sessions and lockouts).
    pub clock: Clock,
    /// Wakes the background worker when a group license job is queued.
    pub jobs: Option<Arc<tokio::sync::Notify>>,
    /// Where requests that are not the admin center's go (set by [`router`]).
    fallback: Option<Router>,
}

/// An injectable clock.
#[derive(Clone, Default)]
pub struct Clock(Option<Arc<std::sync::atomic::AtomicI64>>);

impl Clock {
    /// A clock fixed at `ms` that tests can move with [`Clock::set`].
    pub fn fixed(ms: i64) -> Self {
        Clock(Some(Arc::new(std::sync::atomic::AtomicI64::new(ms))))
    }
    pub fn set(&self, ms: i64) {
        if let Some(c) = &self.0 {
            c.store(ms, std::sync::atomic::Ordering::SeqCst);
        }
    }
    pub fn now(&self) -> Timestamp {
        match &self.0 {
            Some(c) => Timestamp(c.load(std::sync::atomic::Ordering::SeqCst)),
            None => skuld_app::now(),
        }
    }
}

impl WebState {
    pub fn new(app: App) -> Self {
        WebState {
            app,
            https: false,
            clock: Clock::default(),
            jobs: None,
            fallback: None,
        }
    }

    /// Tells the worker that a job was queued.
    pub fn wake_worker(&self) {
        if let Some(j) = &self.jobs {
            j.notify_one();
        }
    }
}

/// The admin center's routes; everything else goes to `fallback` (the Graph router). `GET /`
/// is the admin center's home page for a browser and `fallback`'s JSON index for anything that
/// does not ask for HTML.
pub fn router(mut state: WebState, fallback: Router) -> Router {
    state.fallback = Some(fallback.clone());
    pages::routes()
        .route("/", get(root))
        .route("/assets/{file}", get(asset))
        .route_layer(axum::middleware::from_fn(security_headers))
        .with_state(state)
        .fallback_service(fallback)
}

/// `GET /`: the home page for a browser (the sign-in page when nobody is signed in), the Graph
/// index otherwise.
async fn root(State(state): State<WebState>, req: Request) -> Response {
    use tower::ServiceExt;
    let html = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    if html {
        return match session::current(&state, req.headers()).await {
            Ok(Some(signed)) => match signed.admin() {
                Ok(signed) => pages::home::page(&state, &signed).await,
                Err(e) => e.into_response(),
            },
            Ok(None) => axum::response::Redirect::to("/signin").into_response(),
            Err(e) => e.into_response(),
        };
    }
    match state.fallback.clone() {
        Some(f) => match f.oneshot(req).await {
            Ok(r) => r,
            Err(e) => match e {},
        },
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}

/// The Content-Security-Policy of every page: no inline script, no inline style, no framing.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

async fn security_headers(req: Request, next: Next) -> Response {
    let mut r = next.run(req).await;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    r
}

/// The vendored static files, compiled into the binary.
const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "htmx.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/htmx.min.js"),
    ),
    (
        "htmx.LICENSE",
        "text/plain; charset=utf-8",
        include_bytes!("../assets/htmx.LICENSE"),
    ),
    (
        "favicon.svg",
        "image/svg+xml",
        include_bytes!("../assets/favicon.svg"),
    ),
    (
        "skuld.css",
        "text/css; charset=utf-8",
        include_bytes!("../assets/skuld.css"),
    ),
    (
        "skuld.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/skuld.js"),
    ),
];

async fn asset(
    State(_): State<WebState>,
    axum::extract::Path(file): axum::extract::Path<String>,
) -> Response {
    match ASSETS.iter().find(|(n, _, _)| *n == file) {
        Some((_, ty, bytes)) => (
            [
                (header::CONTENT_TYPE, *ty),
                (header::CACHE_CONTROL, "public, max-age=3600"),
            ],
            *bytes,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}
