//! What every handler shares.

use crate::auth::Keys;
use crate::throttle::Throttle;
use axum::http::HeaderMap;
use skuld_app::App;
use std::sync::Arc;

/// The scheme a listener serves, put into each request's extensions by `serve`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scheme(pub &'static str);

/// The clock of sign-in decisions (smart lockout): the system clock shifted by an offset that
/// tests move forward instead of sleeping.
#[derive(Debug, Clone, Default)]
pub struct Clock(Arc<std::sync::atomic::AtomicI64>);

impl Clock {
    pub fn now(&self) -> skuld_domain::Timestamp {
        let offset = self.0.load(std::sync::atomic::Ordering::Relaxed);
        skuld_domain::Timestamp(skuld_app::now().0 + offset)
    }

    /// Moves this clock (and every clone of it) forward.
    pub fn advance(&self, by: std::time::Duration) {
        self.0
            .fetch_add(by.as_millis() as i64, std::sync::atomic::Ordering::Relaxed);
    }
}

/// The state of the Graph router.
#[derive(Clone)]
pub struct GraphState {
    pub app: App,
    pub keys: Arc<Keys>,
    /// The externally visible base URL (`https://host:port`), used in `@odata.context`,
    /// `@odata.nextLink` and `Location`. When `None`, it is taken from the request's `Host`.
    pub public_url: Option<String>,
    pub throttle: Arc<Throttle>,
    /// Wakes the background worker when a job is queued.
    pub jobs: Arc<tokio::sync::Notify>,
    /// The router itself, for `$batch` to run its requests through.
    pub batch_router: Arc<std::sync::OnceLock<axum::Router>>,
    /// The clock of smart lockout.
    pub clock: Clock,
}

impl GraphState {
    pub fn new(app: App, keys: Keys) -> Self {
        Self {
            app,
            keys: Arc::new(keys),
            public_url: None,
            throttle: Arc::new(Throttle::default()),
            jobs: Arc::new(tokio::sync::Notify::new()),
            batch_router: Arc::new(std::sync::OnceLock::new()),
            clock: Clock::default(),
        }
    }

    /// The base URL without the version: `--public-url`, else scheme and `Host` of the request.
    pub fn base_url(&self, headers: &HeaderMap) -> String {
        self.base_url_for(headers, None)
    }

    pub fn base_url_for(&self, headers: &HeaderMap, scheme: Option<Scheme>) -> String {
        self.base_url_with(headers, None, scheme)
    }

    /// As [`Self::base_url_for`], with the request URI's authority (HTTP/2 has no `Host`).
    pub fn base_url_with(
        &self,
        headers: &HeaderMap,
        authority: Option<&str>,
        scheme: Option<Scheme>,
    ) -> String {
        if let Some(u) = &self.public_url {
            return u.trim_end_matches('/').to_string();
        }
        let host = headers
            .get(axum::http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .or(authority)
            .filter(|h| {
                !h.is_empty()
                    && h.chars()
                        .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
            })
            .unwrap_or("localhost");
        format!("{}://{host}", scheme.map(|s| s.0).unwrap_or("http"))
    }
}
