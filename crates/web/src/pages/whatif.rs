//! What-if preview (issue 8, page 9; no peer has it): before assigning a product to a group,
//! adding members, removing seats or deleting users, the page shows who would get a license,
//! who would wait in which error, who would lose one and the seats left — computed by the real
//! use case and engine in a transaction that is rolled back (`App::what_if`). **Make this
//! change** then does it for real, through the same use case.
//!
//! The preview is a `GET` (it changes nothing), so other pages can link to it with the change
//! filled in: `/whatif?change=group&group=…&product=…`.

use crate::error::{fixable, WebResult};
use crate::session::Query;
use crate::session::{Form, Signed};
use crate::view::Chrome;
use crate::WebState;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use skuld_app::{Action, Held, LicenseSpec, SkuRow, WhatIf, WhatIfChange};
use skuld_domain::{SubscriptionId, SubscriptionStatus};

/// At most this many users or members in one preview (as the pages that make the change).
pub const MAX_USERS: usize = 20;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/whatif", get(page))
        .route("/whatif/apply", post(apply))
}

/// The change, as the forms send it (the preview's query and the apply form's fields).
#[derive(Deserialize, Default, Clone)]
struct Fields {
    /// `group`, `members`, `seats` or `delete`.
    #[serde(default)]
    change: String,
    #[serde(default)]
    group: String,
    /// Picked in the type-ahead (ids).
    #[serde(default)]
    pick: Vec<String>,
    /// Group names or user names, one per line.
    #[serde(default)]
    names: String,
    #[serde(default)]
    product: String,
    #[serde(default)]
    subscription: String,
    #[serde(default)]
    seats: String,
    /// Set by the Preview button: the form was sent (a tab link only opens the form).
    #[serde(default)]
    preview: Option<String>,
}

impl Fields {
    fn kind(&self) -> &'static str {
        match self.change.as_str() {
            "members" => "members",
            "seats" => "seats",
            "delete" => "delete",
            _ => "group",
        }
    }

    fn keys(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for k in self
            .pick
            .iter()
            .map(String::as_str)
            .chain(self.names.lines())
        {
            let k = k.trim();
            if !k.is_empty() && !out.iter().any(|o| o.eq_ignore_ascii_case(k)) {
                out.push(k.to_string());
            }
        }
        out
    }
}

struct SubOption {
    id: String,
    label: String,
}

struct Row {
    user_id: String,
    name: String,
    upn: String,
    product: String,
    text: String,
    detail: String,
}

struct SeatRow {
    product: String,
    part: String,
    total: String,
    assigned: String,
    available: i64,
    short: bool,
}

struct Preview {
    summary: String,
    gets: Vec<Row>,
    waits: Vec<Row>,
    loses: Vec<Row>,
    seats: Vec<SeatRow>,
}

#[derive(Template)]
#[template(path = "whatif/whatif.html")]
struct WhatIfPage {
    chrome: Chrome,
    f: Fields,
    kind: &'static str,
    products: Vec<SkuRow>,
    subs: Vec<SubOption>,
    /// Ids picked in the type-ahead, with their labels.
    picked: Vec<(String, String)>,
    preview: Option<Preview>,
    error: Option<String>,
    /// The signed-in user may make the previewed change.
    may_apply: bool,
    /// Which changes the signed-in user may preview.
    may: [bool; 4],
}

fn action(kind: &str) -> Action {
    match kind {
        "members" => Action::ManageMembers,
        "seats" => Action::ManageSubscriptions,
        "delete" => Action::DeleteUser,
        _ => Action::AssignGroupLicense,
    }
}

async fn sub_options(state: &WebState, signed: &Signed) -> WebResult<Vec<SubOption>> {
    let catalog = state.app.tenant_catalog(&signed.tenant).await?;
    let mut v: Vec<SubOption> = state
        .app
        .subscriptions(&signed.tenant)
        .await?
        .into_iter()
        .filter(|s| s.status != SubscriptionStatus::Deleted)
        .map(|s| {
            let name = catalog
                .product(&s.sku_id)
                .map(|p| p.display_name.clone())
                .unwrap_or_else(|| s.sku_id.to_string());
            SubOption {
                id: s.id.to_string(),
                label: format!("{name} · {} seats · {}", s.units, s.status),
            }
        })
        .collect();
    v.sort_by(|a, b| a.label.cmp(&b.label));
    Ok(v)
}

/// The change the fields describe, or the admin's message of what is missing.
async fn change_of(
    state: &WebState,
    signed: &Signed,
    f: &Fields,
    products: &[SkuRow],
) -> WebResult<Result<WhatIfChange, String>> {
    Ok(match f.kind() {
        "group" => {
            let group = f.keys().into_iter().next().unwrap_or_default();
            if group.is_empty() {
                return Ok(Err("Choose the group to assign the product to.".into()));
            }
            let Some(p) = products
                .iter()
                .find(|p| p.part_number.eq_ignore_ascii_case(f.product.trim()))
            else {
                return Ok(Err("Choose one of the organization's products.".into()));
            };
            Ok(WhatIfChange::AssignGroup {
                group,
                license: LicenseSpec {
                    sku: p.sku_id,
                    disabled_plans: Vec::new(),
                },
            })
        }
        "members" => {
            let group = f.group.trim().to_string();
            let members = f.keys();
            if group.is_empty() {
                return Ok(Err("Choose the group the members would join.".into()));
            }
            if members.is_empty() {
                return Ok(Err(
                    "Choose at least one user or group to add as a member.".into()
                ));
            }
            if members.len() > MAX_USERS {
                return Ok(Err(format!(
                    "You can preview at most {MAX_USERS} new members at a time; you chose {}.",
                    members.len()
                )));
            }
            Ok(WhatIfChange::AddMembers { group, members })
        }
        "seats" => {
            let Ok(sub) = SubscriptionId::parse(f.subscription.trim()) else {
                return Ok(Err("Choose one of the subscriptions.".into()));
            };
            if !sub_options(state, signed)
                .await?
                .iter()
                .any(|s| s.id == sub.to_string())
            {
                return Ok(Err("Choose one of the subscriptions.".into()));
            }
            let units = match f.seats.trim().parse::<i64>() {
                Ok(n) if n >= 0 => n,
                _ => {
                    return Ok(Err(format!(
                        "\"{}\" is not a number of seats. Type a whole number, 0 or more.",
                        f.seats.trim()
                    )))
                }
            };
            Ok(WhatIfChange::SetSeats {
                subscription: sub,
                units,
            })
        }
        _ => {
            let users = f.keys();
            if users.is_empty() {
                return Ok(Err("Choose at least one user to delete.".into()));
            }
            if users.len() > MAX_USERS {
                return Ok(Err(format!(
                    "You can preview deleting at most {MAX_USERS} users at a time; you chose {}.",
                    users.len()
                )));
            }
            Ok(WhatIfChange::DeleteUsers { users })
        }
    })
}

fn held_text(h: &Held) -> (String, String) {
    match h {
        Held::Active => ("Active".into(), String::new()),
        Held::Nothing => ("No license".into(), String::new()),
        Held::Error { error, detail } => (format!("Waits: {error}"), detail.clone()),
    }
}

fn preview_of(w: &WhatIf, kind: &str) -> Preview {
    let row = |r: &skuld_app::WhatIfRow, text: String, detail: String| Row {
        user_id: r.user.to_string(),
        name: r.display_name.clone(),
        upn: r.upn.clone(),
        product: r.product.name.clone(),
        text,
        detail,
    };
    let gets = w
        .gets()
        .map(|r| {
            let how = if r.healed {
                "Gets a seat that this change frees (was waiting for one)".to_string()
            } else {
                "Gets the license".to_string()
            };
            row(r, how, String::new())
        })
        .collect();
    let waits = w
        .waits()
        .map(|r| {
            let (t, d) = held_text(&r.after);
            row(r, t, d)
        })
        .collect();
    let loses = w
        .loses()
        .map(|r| {
            let (t, d) = held_text(&r.after);
            row(r, format!("Loses the license (afterwards: {t})"), d)
        })
        .collect();
    let seats = w
        .seats
        .iter()
        .map(|s| SeatRow {
            product: s.product.name.clone(),
            part: s.product.part.clone(),
            total: if s.total_before == s.total_after {
                s.total_after.to_string()
            } else {
                format!("{} → {}", s.total_before, s.total_after)
            },
            assigned: if s.assigned_before == s.assigned_after {
                s.assigned_after.to_string()
            } else {
                format!("{} → {}", s.assigned_before, s.assigned_after)
            },
            available: s.available_after(),
            short: s.available_after() < 0,
        })
        .collect();
    let who = match kind {
        "group" => "members of the group",
        "members" => "new members (users below a group count)",
        "seats" => "holders of the product",
        _ => "users to delete",
    };
    Preview {
        summary: format!(
            "{} {who}; {} would get a license, {} would wait, {} would lose one.",
            w.affected,
            w.gets().count(),
            w.waits().count(),
            w.loses().count()
        ),
        gets,
        waits,
        loses,
        seats,
    }
}

async fn render(
    state: &WebState,
    signed: &Signed,
    f: Fields,
    preview: Option<Preview>,
    error: Option<String>,
) -> WebResult {
    let kind = f.kind();
    let products = state.app.sku_rows(&signed.tenant).await?;
    let subs = if signed.may(Action::ManageSubscriptions) {
        sub_options(state, signed).await?
    } else {
        Vec::new()
    };
    // The chips show names, not ids.
    let mut picked = Vec::new();
    for id in &f.pick {
        let label = if kind == "group" {
            state
                .app
                .group(&signed.tenant, id)
                .await
                .map(|g| g.display_name)
                .ok()
        } else {
            state
                .app
                .user(&signed.tenant, id)
                .await
                .map(|u| u.display_name)
                .ok()
        };
        picked.push((id.clone(), label.unwrap_or_else(|| id.clone())));
    }
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let page = WhatIfPage {
        chrome: Chrome::new(signed, "What-if preview", "/whatif"),
        may_apply: signed.may(action(kind)),
        may: [
            signed.may(Action::AssignGroupLicense),
            signed.may(Action::ManageMembers),
            signed.may(Action::ManageSubscriptions),
            signed.may(Action::DeleteUser),
        ],
        kind,
        products,
        subs,
        picked,
        preview,
        error,
        f,
    };
    Ok((status, Html(page.render()?)).into_response())
}

async fn page(State(state): State<WebState>, signed: Signed, Query(f): Query<Fields>) -> WebResult {
    signed.require(Action::ReadLicenses)?;
    let mut f = f;
    if f.change.is_empty() {
        f.change = ["group", "members", "seats", "delete"]
            .into_iter()
            .find(|k| signed.may(action(k)))
            .unwrap_or("group")
            .to_string();
    }
    if f.preview.is_none() {
        return render(&state, &signed, f, None, None).await;
    }
    signed.require(action(f.kind()))?;
    let products = state.app.sku_rows(&signed.tenant).await?;
    let change = match change_of(&state, &signed, &f, &products).await? {
        Ok(c) => c,
        Err(msg) => return render(&state, &signed, f, None, Some(msg)).await,
    };
    match state
        .app
        .what_if(&signed.tenant, &change, &signed.actor)
        .await
    {
        Ok(w) => {
            let p = preview_of(&w, f.kind());
            render(&state, &signed, f, Some(p), None).await
        }
        Err(e) => {
            let msg = fixable(e)?;
            render(&state, &signed, f, None, Some(msg)).await
        }
    }
}

/// Makes the previewed change for real, through the same use case as its own page.
async fn apply(State(state): State<WebState>, form: Form<Fields>) -> WebResult {
    let signed = form.signed;
    let f = form.data;
    signed.require(action(f.kind()))?;
    let products = state.app.sku_rows(&signed.tenant).await?;
    let change = match change_of(&state, &signed, &f, &products).await? {
        Ok(c) => c,
        Err(msg) => return render(&state, &signed, f, None, Some(msg)).await,
    };
    let (t, a) = (&signed.tenant, &signed.actor);
    let done = match &change {
        WhatIfChange::AssignGroup { group, license } => {
            // Synchronously, so the page that follows shows the result.
            let r = state
                .app
                .group_assign_license(t, group, std::slice::from_ref(license), &[], a)
                .await;
            let part = products
                .iter()
                .find(|p| p.sku_id == license.sku)
                .map(|p| p.part_number.clone())
                .unwrap_or_default();
            r.map(|_| format!("/licenses/{part}?tab=users&done=applied"))
        }
        WhatIfChange::AddMembers { group, members } => {
            let r = state.app.change_members(t, group, members, a, true).await;
            let id = state.app.group(t, group).await.map(|g| g.id.to_string());
            r.and(id.map(|id| format!("/groups/{id}?tab=licenses")))
        }
        WhatIfChange::SetSeats {
            subscription,
            units,
        } => state
            .app
            .set_seats(t, *subscription, *units, false, a)
            .await
            .map(|_| "/licenses/subscriptions?done=seats".to_string()),
        WhatIfChange::DeleteUsers { users } => state
            .app
            .delete_users(t, users, a)
            .await
            .map(|_| "/users/deleted".to_string()),
    };
    match done {
        Ok(to) => Ok(Redirect::to(&to).into_response()),
        Err(e) => {
            let msg = fixable(e)?;
            render(&state, &signed, f, None, Some(msg)).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_trimmed_and_deduplicated_case_insensitively() {
        let f = Fields {
            pick: vec!["a@x".into()],
            names: " A@X \n\nb@x\n".into(),
            ..Default::default()
        };
        assert_eq!(f.keys(), vec!["a@x".to_string(), "b@x".to_string()]);
    }

    #[test]
    fn unknown_change_kinds_preview_a_group_assignment() {
        for (c, k) in [("members", "members"), ("x", "group"), ("", "group")] {
            let f = Fields {
                change: c.into(),
                ..Default::default()
            };
            assert_eq!(f.kind(), k);
        }
    }
}
