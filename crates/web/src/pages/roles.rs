//! Roles (issue 8, page 12): who holds which admin role, by role; a Global Administrator
//! assigns and removes them (rulebook: only a Global Administrator manages roles; the
//! Privileged Role Administrator is not modelled).

use crate::error::{fixable, WebResult};
use crate::session::{Form, Signed};
use crate::view::{date, Chrome};
use crate::WebState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use skuld_app::Action;
use skuld_domain::DirectoryRole;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/roles", get(page))
        .route("/roles/assign", post(assign))
        .route("/roles/remove", post(remove))
}

struct Holder {
    id: String,
    upn: String,
    since: String,
}

struct RoleBox {
    /// The role's template id (what the forms post).
    key: &'static str,
    name: &'static str,
    holders: Vec<Holder>,
}

#[derive(Template)]
#[template(path = "roles/roles.html")]
struct RolesPage {
    chrome: Chrome,
    roles: Vec<RoleBox>,
    manage: bool,
    error: Option<String>,
    done: Option<String>,
    /// What the admin typed, kept after an error.
    typed_user: String,
    typed_role: String,
}

#[derive(Deserialize, Default)]
struct Done {
    #[serde(default)]
    done: Option<String>,
}

fn role_of(key: &str) -> Option<DirectoryRole> {
    DirectoryRole::ALL
        .into_iter()
        .find(|r| r.template_id() == key || format!("{r:?}").eq_ignore_ascii_case(key))
}

async fn render(
    state: &WebState,
    signed: &Signed,
    error: Option<String>,
    done: Option<String>,
    typed: (String, String),
) -> WebResult {
    let rows = state.app.role_assignments(&signed.tenant).await?;
    let roles = DirectoryRole::ALL
        .into_iter()
        .map(|r| {
            let mut holders: Vec<Holder> = rows
                .iter()
                .filter(|x| x.2 == r)
                .map(|x| Holder {
                    id: x.0.to_string(),
                    upn: x.1.clone(),
                    since: date(x.3),
                })
                .collect();
            holders.sort_by(|a, b| a.upn.cmp(&b.upn));
            RoleBox {
                key: r.template_id(),
                name: r.display_name(),
                holders,
            }
        })
        .collect();
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let page = RolesPage {
        chrome: Chrome::new(signed, "Roles", "/roles"),
        roles,
        manage: signed.may(Action::ManageRoles),
        error,
        done: done.and_then(|d| match d.as_str() {
            "assigned" => Some("The role was assigned.".to_string()),
            "removed" => Some("The role was removed.".to_string()),
            _ => None,
        }),
        typed_user: typed.0,
        typed_role: typed.1,
    };
    Ok((status, Html(page.render()?)).into_response())
}

async fn page(State(state): State<WebState>, signed: Signed, Query(q): Query<Done>) -> WebResult {
    signed.require(Action::ReadRoles)?;
    render(&state, &signed, None, q.done, Default::default()).await
}

#[derive(Deserialize)]
struct RoleForm {
    #[serde(default)]
    user: Vec<String>,
    /// The no-JavaScript fallback: a user name.
    #[serde(default)]
    upn: String,
    #[serde(default)]
    role: String,
}

async fn change(state: WebState, form: Form<RoleForm>, add: bool) -> WebResult {
    let signed = form.signed;
    signed.require(Action::ManageRoles)?;
    let data = form.data;
    let typed = (data.upn.clone(), data.role.clone());
    let Some(role) = role_of(data.role.trim()) else {
        return render(
            &state,
            &signed,
            Some("Choose one of the roles in the list.".into()),
            None,
            typed,
        )
        .await;
    };
    let mut users: Vec<String> = data.user.clone();
    if !data.upn.trim().is_empty() {
        users.push(data.upn.trim().to_string());
    }
    users.dedup();
    if users.is_empty() {
        return render(
            &state,
            &signed,
            Some(format!(
                "Choose the user who should {} the {} role.",
                if add { "get" } else { "lose" },
                role.display_name()
            )),
            None,
            typed,
        )
        .await;
    }
    for u in &users {
        let r = if add {
            state
                .app
                .add_role(&signed.tenant, u, role, &signed.actor)
                .await
        } else {
            state
                .app
                .remove_role(&signed.tenant, u, role, &signed.actor)
                .await
        };
        if let Err(e) = r {
            let msg = fixable(e)?;
            return render(&state, &signed, Some(msg), None, typed).await;
        }
    }
    Ok(Redirect::to(if add {
        "/roles?done=assigned"
    } else {
        "/roles?done=removed"
    })
    .into_response())
}

async fn assign(State(state): State<WebState>, form: Form<RoleForm>) -> WebResult {
    change(state, form, true).await
}

async fn remove(State(state): State<WebState>, form: Form<RoleForm>) -> WebResult {
    change(state, form, false).await
}
