//! Audit log (issue 8, page 11; rulebook §10.1): every recorded activity, newest first, filtered
//! by activity, target, actor and date, with the old and new values of what changed (the
//! license events' `AssignedLicense`, `LicenseAssignmentState`, …). Paged by sequence number
//! (keyset), so a long log costs one page.

use crate::error::{WebError, WebResult};
use crate::session::Signed;
use crate::view::{datetime, Chrome};
use crate::WebState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use skuld_app::{Action, AuditFilter, AUDIT_ACTIVITIES};
use skuld_domain::Timestamp;

/// Events per page.
pub const PAGE: i64 = 50;

pub fn routes() -> Router<WebState> {
    Router::new().route("/audit", get(page))
}

#[derive(Deserialize, Default)]
struct Filters {
    #[serde(default)]
    activity: String,
    #[serde(default)]
    target: String,
    #[serde(default)]
    actor: String,
    /// `YYYY-MM-DD`, inclusive.
    #[serde(default)]
    from: String,
    /// `YYYY-MM-DD`, inclusive.
    #[serde(default)]
    to: String,
    #[serde(default)]
    before: Option<i64>,
}

struct Change {
    name: String,
    old: String,
    new: String,
}

struct Event {
    at: String,
    activity: String,
    category: String,
    target_type: String,
    target: String,
    target_link: Option<String>,
    actor: String,
    result: String,
    failed: bool,
    reason: String,
    changes: Vec<Change>,
}

#[derive(Template)]
#[template(path = "audit/audit.html")]
struct AuditPage {
    chrome: Chrome,
    /// Every activity, and whether it is the chosen one.
    activities: Vec<(&'static str, bool)>,
    f: Filters,
    events: Vec<Event>,
    /// The query string of the next page, when there is one.
    next: Option<String>,
    error: Option<String>,
}

/// Midnight UTC of a `YYYY-MM-DD` date, in milliseconds.
fn day_start(s: &str) -> Option<i64> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    let d = time::Date::parse(s.trim(), &fmt).ok()?;
    Some(d.midnight().assume_utc().unix_timestamp() * 1000)
}

/// Product ids in audit values, named as the admin knows them ("Office 365 E3").
fn named(text: &str, products: &[(String, String)]) -> String {
    let mut out = text.to_string();
    for (id, name) in products {
        if out.contains(id.as_str()) {
            out = out.replace(id.as_str(), name);
        }
    }
    out
}

fn changes(json: &str, products: &[(String, String)]) -> Vec<Change> {
    let v: serde_json::Value = serde_json::from_str(json).unwrap_or_default();
    let text = |x: Option<&serde_json::Value>| match x {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    };
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|c| Change {
                    name: text(c.get("displayName")),
                    old: named(&text(c.get("oldValue")), products),
                    new: named(&text(c.get("newValue")), products),
                })
                .collect()
        })
        .unwrap_or_default()
}

fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

async fn page(
    State(state): State<WebState>,
    signed: Signed,
    Query(f): Query<Filters>,
) -> WebResult {
    signed.require(Action::ReadAudit)?;
    let mut error = None;
    let mut date = |s: &str, end: bool, label: &str| -> Option<Timestamp> {
        if s.trim().is_empty() {
            return None;
        }
        match day_start(s) {
            Some(ms) => Some(Timestamp(if end { ms + 86_400_000 } else { ms })),
            None => {
                error = Some(format!(
                    "\"{s}\" is not a date. Write the {label} date as YYYY-MM-DD, or leave it empty."
                ));
                None
            }
        }
    };
    let from = date(&f.from, false, "from");
    let to = date(&f.to, true, "to");
    let activity = f.activity.trim();
    if !activity.is_empty() && !AUDIT_ACTIVITIES.contains(&activity) {
        return Err(WebError::BadRequest(
            "There is no such activity. Choose one from the list.".into(),
        ));
    }
    let filter = AuditFilter {
        activity: (!activity.is_empty()).then(|| activity.to_string()),
        target: Some(f.target.trim().to_string()).filter(|s| !s.is_empty()),
        actor: Some(f.actor.trim().to_string()).filter(|s| !s.is_empty()),
        from,
        to,
    };
    let before = f.before.unwrap_or(i64::MAX);
    let rows = state
        .app
        .audit_search(&signed.tenant, &filter, before, PAGE + 1, &signed.actor)
        .await?;
    let catalog = state.app.tenant_catalog(&signed.tenant).await?;
    let products: Vec<(String, String)> = catalog
        .products()
        .map(|p| (p.sku_id.to_string(), p.display_name.clone()))
        .collect();
    let more = rows.len() as i64 > PAGE;
    let last_seq = rows[..rows.len().min(PAGE as usize)].last().map(|r| r.seq);
    let events = rows
        .into_iter()
        .take(PAGE as usize)
        .map(|r| {
            let target_link = match r.target_type.as_str() {
                "User" => Some(format!("/users/{}", r.target_id)),
                "Group" => Some(format!("/groups/{}", r.target_id)),
                _ => None,
            };
            Event {
                at: datetime(r.at),
                failed: !r.result.eq_ignore_ascii_case("success"),
                result: r.result,
                reason: r.result_reason,
                activity: r.activity,
                category: r.category,
                target_type: r.target_type,
                target: if r.target_name.is_empty() {
                    r.target_id
                } else {
                    named(&r.target_name, &products)
                },
                target_link,
                actor: r.actor,
                changes: changes(&r.modified, &products),
            }
        })
        .collect();
    let next = match (more, last_seq) {
        (true, Some(seq)) => Some(format!(
            "activity={}&target={}&actor={}&from={}&to={}&before={seq}",
            enc(activity),
            enc(f.target.trim()),
            enc(f.actor.trim()),
            enc(f.from.trim()),
            enc(f.to.trim())
        )),
        _ => None,
    };
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let page = AuditPage {
        chrome: Chrome::new(&signed, "Audit log", "/audit"),
        activities: AUDIT_ACTIVITIES
            .iter()
            .map(|a| (*a, *a == f.activity.trim()))
            .collect(),
        f,
        events,
        next,
        error,
    };
    Ok((status, Html(page.render()?)).into_response())
}
