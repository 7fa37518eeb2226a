//! What every page shares: the frame around it (navigation by role, the signed-in user, the
//! sign-out form) and small formatting helpers for templates.

use crate::session::Signed;
use skuld_app::Action;

/// One entry of the navigation.
#[derive(Debug, Clone)]
pub struct NavItem {
    pub href: &'static str,
    pub label: &'static str,
    pub active: bool,
    /// Starts a group of entries under this heading.
    pub heading: Option<&'static str>,
}

/// The frame of a page.
#[derive(Debug, Clone)]
pub struct Chrome {
    pub title: String,
    pub user_name: String,
    pub upn: String,
    pub tenant_name: String,
    pub csrf: String,
    /// The token as the JSON of htmx's `hx-headers`.
    pub hx_headers: String,
    pub nav: Vec<NavItem>,
}

/// The navigation: only what the signed-in user's roles may open (rights as Graph has them).
fn nav(signed: &Signed, active: &str) -> Vec<NavItem> {
    let mut v: Vec<(Option<&'static str>, &'static str, &'static str, bool)> = vec![
        (None, "/", "Home", true),
        (
            Some("Users"),
            "/users",
            "Active users",
            signed.may(Action::ReadUsers),
        ),
        (
            None,
            "/users/add",
            "Add a user",
            signed.may(Action::CreateUser),
        ),
        (
            None,
            "/users/deleted",
            "Deleted users",
            signed.may(Action::ReadUsers),
        ),
        (
            Some("Teams & groups"),
            "/groups",
            "Groups",
            signed.may(Action::ReadGroups),
        ),
        (
            Some("Billing"),
            "/licenses",
            "Licenses",
            signed.may(Action::ReadLicenses),
        ),
        (
            None,
            "/licenses/subscriptions",
            "Your products",
            signed.may(Action::ReadLicenses),
        ),
        (
            Some("Licensing tools"),
            "/whatif",
            "What-if preview",
            signed.may(Action::ReadLicenses),
        ),
        (
            None,
            "/migrate",
            "Migrate to group licensing",
            signed.may(Action::AssignUserLicense) && signed.may(Action::AssignGroupLicense),
        ),
        (
            Some("Roles & audit"),
            "/roles",
            "Roles",
            signed.may(Action::ReadRoles),
        ),
        (None, "/audit", "Audit log", signed.may(Action::ReadAudit)),
    ];
    v.retain(|e| e.3);
    // The most specific entry that prefixes the current path is the active one.
    let best = v
        .iter()
        .filter(|e| active == e.1 || (e.1 != "/" && active.starts_with(&format!("{}/", e.1))))
        .map(|e| e.1.len())
        .max();
    v.into_iter()
        .map(|(heading, href, label, _)| NavItem {
            href,
            label,
            heading,
            active: Some(href.len()) == best
                && (active == href || (href != "/" && active.starts_with(&format!("{href}/")))),
        })
        .collect()
}

impl Chrome {
    /// The frame of a page titled `title`, at `path` (for the active navigation entry).
    pub fn new(signed: &Signed, title: impl Into<String>, path: &str) -> Self {
        Chrome {
            title: title.into(),
            user_name: signed.user.display_name.clone(),
            upn: signed.user.upn.clone(),
            tenant_name: signed.tenant.name.clone(),
            csrf: signed.csrf.clone(),
            hx_headers: serde_json::json!({ "X-CSRF-Token": signed.csrf }).to_string(),
            nav: nav(signed, path),
        }
    }
}

/// Renders a template into an HTML answer.
pub fn html<T: askama::Template>(t: &T) -> crate::error::WebResult {
    use axum::response::IntoResponse;
    Ok(axum::response::Html(t.render()?).into_response())
}

/// A percentage for a bar's width (0–100), from `part` of `whole`.
pub fn percent(part: i64, whole: i64) -> i64 {
    if whole <= 0 {
        return if part > 0 { 100 } else { 0 };
    }
    (part.saturating_mul(100) / whole).clamp(0, 100)
}

/// A date (UTC) of a timestamp, as `2026-12-02`.
pub fn date(t: skuld_domain::Timestamp) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(t.0 as i128 * 1_000_000)
        .map(|d| d.date().to_string())
        .unwrap_or_default()
}

/// A date and time (UTC) of a timestamp, as `2026-12-02 17:03`.
pub fn datetime(t: skuld_domain::Timestamp) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(t.0 as i128 * 1_000_000)
        .map(|d| format!("{} {:02}:{:02} UTC", d.date(), d.hour(), d.minute()))
        .unwrap_or_default()
}
