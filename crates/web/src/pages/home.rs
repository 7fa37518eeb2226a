//! Home: per product assigned of total as a bar; cards of users and groups with license
//! errors and of subscriptions that end soon or are in grace; a chart of assigned seats per
//! product per day from the daily snapshots (drawn on the server as SVG, no JavaScript).

use crate::error::WebResult;
use crate::session::Signed;
use crate::view::{date, html, percent, Chrome};
use crate::WebState;
use askama::Template;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use skuld_app::Action;
use skuld_domain::query::{Filter, ListQuery};
use skuld_domain::{SubscriptionStatus, Timestamp};
use std::collections::BTreeMap;

/// How many users or groups in error a card names.
const SHOWN: usize = 5;
/// Days of history the chart shows.
const CHART_DAYS: i64 = 30;

pub fn routes() -> Router<WebState> {
    Router::new().route("/home", get(show))
}

struct Bar {
    name: String,
    part: String,
    assigned: i64,
    total: i64,
    width: i64,
}

struct Named {
    id: String,
    name: String,
}

struct Ending {
    product: String,
    part: String,
    status: String,
    class: &'static str,
    seats: i64,
    when: String,
}

struct Series {
    name: String,
    class: usize,
    points: String,
    last: i64,
}

/// The chart: series of assigned seats, the axis labels.
struct Chart {
    series: Vec<Series>,
    first_day: String,
    last_day: String,
    max: i64,
    days: usize,
}

#[derive(Template)]
#[template(path = "home/home.html")]
struct Home {
    chrome: Chrome,
    products: Vec<Bar>,
    licenses: bool,
    users_card: bool,
    error_users: usize,
    users: Vec<Named>,
    groups_card: bool,
    error_groups: i64,
    groups: Vec<Named>,
    ending: Vec<Ending>,
    chart: Option<Chart>,
}

async fn show(
    axum::extract::State(state): axum::extract::State<WebState>,
    signed: Signed,
) -> Response {
    page(&state, &signed).await
}

/// The home page of a signed-in user (also what `GET /` shows a browser).
pub async fn page(state: &WebState, signed: &Signed) -> Response {
    use axum::response::IntoResponse;
    render(state, signed)
        .await
        .unwrap_or_else(|e| e.into_response())
}

/// Chart geometry (SVG user units).
const W: i64 = 600;
const LEFT: i64 = 40;
const BOTTOM: i64 = 180;
const TOP: i64 = 10;

fn chart(
    snapshots: &[skuld_app::SkuSnapshot],
    names: &BTreeMap<skuld_domain::SkuId, String>,
) -> Option<Chart> {
    let days: std::collections::BTreeSet<i64> = snapshots.iter().map(|s| s.day).collect();
    if days.len() < 2 {
        return None;
    }
    let first = *days.iter().next()?;
    let last = *days.iter().next_back()?;
    let max = snapshots
        .iter()
        .map(|s| s.assigned)
        .max()
        .unwrap_or(0)
        .max(1);
    let mut by: BTreeMap<String, Vec<(i64, i64)>> = BTreeMap::new();
    for s in snapshots {
        let name = names
            .get(&s.sku_id)
            .cloned()
            .unwrap_or_else(|| s.sku_id.to_string());
        by.entry(name).or_default().push((s.day, s.assigned));
    }
    let span = (last - first).max(1);
    let x = |d: i64| LEFT + (d - first) * (W - LEFT - 10) / span;
    let y = |v: i64| BOTTOM - v * (BOTTOM - TOP) / max;
    let series = by
        .into_iter()
        .enumerate()
        .map(|(i, (name, mut pts))| {
            pts.sort();
            Series {
                points: pts
                    .iter()
                    .map(|(d, v)| format!("{},{}", x(*d), y(*v)))
                    .collect::<Vec<_>>()
                    .join(" "),
                last: pts.last().map(|p| p.1).unwrap_or(0),
                name,
                class: i % 6,
            }
        })
        .collect();
    let day = |d: i64| date(Timestamp(d * Timestamp::DAY_MS));
    Some(Chart {
        series,
        first_day: day(first),
        last_day: day(last),
        max,
        days: days.len(),
    })
}

async fn render(state: &WebState, signed: &Signed) -> WebResult {
    let tenant = &signed.tenant;
    let licenses = signed.may(Action::ReadLicenses);
    let mut products = Vec::new();
    let mut ending = Vec::new();
    let mut chart_data = None;
    if licenses {
        let rows = state.app.sku_rows(tenant).await?;
        let names: BTreeMap<_, _> = rows
            .iter()
            .map(|r| (r.sku_id, r.display_name.clone()))
            .collect();
        products = rows
            .iter()
            .map(|r| Bar {
                width: percent(r.assigned, r.total),
                name: r.display_name.clone(),
                part: r.part_number.clone(),
                assigned: r.assigned,
                total: r.total,
            })
            .collect();
        let catalog = state.app.tenant_catalog(tenant).await?;
        let now = state.clock.now();
        let soon = now.plus_days(30);
        for s in state.app.subscriptions(tenant).await? {
            let show = match s.status {
                SubscriptionStatus::Warning
                | SubscriptionStatus::Suspended
                | SubscriptionStatus::LockedOut => true,
                SubscriptionStatus::Enabled => s.next_lifecycle_at.is_some_and(|t| t <= soon),
                SubscriptionStatus::Deleted => false,
            };
            if !show {
                continue;
            }
            let p = catalog.product(&s.sku_id);
            ending.push(Ending {
                product: p
                    .map(|p| p.display_name.clone())
                    .unwrap_or_else(|| s.sku_id.to_string()),
                part: p.map(|p| p.part_number.clone()).unwrap_or_default(),
                status: match s.status {
                    SubscriptionStatus::Enabled => "Expiring soon".to_string(),
                    SubscriptionStatus::Warning => "In grace period (Warning)".to_string(),
                    other => other.to_string(),
                },
                class: if s.status == SubscriptionStatus::Enabled {
                    "warn"
                } else {
                    "bad"
                },
                seats: s.units,
                when: s.next_lifecycle_at.map(date).unwrap_or_default(),
            });
        }
        let history = state.app.usage_history(tenant, now, CHART_DAYS).await?;
        chart_data = chart(&history, &names);
    }
    let users_card = licenses && signed.may(Action::ReadUsers);
    let (error_users, users) = if users_card {
        let (n, v) = state.app.users_in_license_error(tenant, SHOWN).await?;
        (
            n,
            v.into_iter()
                .map(|u| Named {
                    id: u.id.to_string(),
                    name: u.display_name,
                })
                .collect(),
        )
    } else {
        (0, Vec::new())
    };
    let groups_card = licenses && signed.may(Action::ReadGroups);
    let (error_groups, groups) = if groups_card {
        let q = ListQuery {
            filter: Some(Filter::HasMembersWithLicenseErrors(true)),
            limit: SHOWN as u32,
            ..Default::default()
        };
        let n = state.app.count_groups(tenant, &q).await?;
        let v = state.app.list_groups(tenant, &q).await?.items;
        (
            n,
            v.into_iter()
                .map(|g| Named {
                    id: g.id.to_string(),
                    name: g.display_name,
                })
                .collect(),
        )
    } else {
        (0, Vec::new())
    };
    html(&Home {
        chrome: Chrome::new(signed, "Home", "/"),
        products,
        licenses,
        users_card,
        error_users,
        users,
        groups_card,
        error_groups,
        groups,
        ending,
        chart: chart_data,
    })
}
