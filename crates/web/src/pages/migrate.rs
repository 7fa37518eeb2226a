//! Migrate users from direct to group licensing (issue 8, page 10; rulebook §2.7, the
//! documented procedure made one page): pick a group and a product; skuld lists the members
//! whose direct license the group's license now covers with the same or more apps, and removes
//! those direct licenses — only where the group's path is Active, so nobody loses service —
//! reporting every other member with the reason it was kept.

use crate::error::{fixable, WebError, WebResult};
use crate::session::Query;
use crate::session::{Form, Signed};
use crate::view::Chrome;
use crate::WebState;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use skuld_app::{Action, MigratePlan, MigrateVerdict, SkuRow};

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/migrate", get(page))
        .route("/migrate/apply", post(apply))
}

#[derive(Deserialize, Default, Clone)]
struct Fields {
    /// Picked in the type-ahead (an id).
    #[serde(default)]
    pick: Vec<String>,
    /// The group's name (the no-JavaScript way).
    #[serde(default)]
    group: String,
    #[serde(default)]
    product: String,
    #[serde(default)]
    preview: Option<String>,
}

impl Fields {
    fn group_key(&self) -> String {
        self.pick
            .iter()
            .map(|s| s.trim())
            .find(|s| !s.is_empty())
            .unwrap_or(self.group.trim())
            .to_string()
    }
}

struct Row {
    user_id: String,
    name: String,
    upn: String,
    reason: String,
}

struct Plan {
    group_id: String,
    group: String,
    product: String,
    covered: Vec<Row>,
    kept: Vec<Row>,
}

struct Done {
    removed: Vec<Row>,
    refused: Vec<Row>,
}

#[derive(Template)]
#[template(path = "migrate/migrate.html")]
struct MigratePage {
    chrome: Chrome,
    f: Fields,
    products: Vec<SkuRow>,
    plan: Option<Plan>,
    done: Option<Done>,
    error: Option<String>,
}

fn reason(v: &MigrateVerdict, group: &str) -> String {
    match v {
        MigrateVerdict::Covered => format!(
            "{group} gives the same or more apps and its license is active: the direct license can go."
        ),
        MigrateVerdict::NoGroupPath => format!(
            "{group}'s license has not reached this user yet. Wait for the group to finish processing, then look again."
        ),
        MigrateVerdict::GroupNotActive { error, detail } => {
            let mut s = format!("The license from {group} is not active ({error}).");
            if !detail.is_empty() {
                s.push(' ');
                s.push_str(detail);
            }
            s.push_str(" Fix the group license first; the direct license stays meanwhile.");
            s
        }
        MigrateVerdict::ExtraApps { plans } => format!(
            "The direct license turns on apps {group}'s license turns off ({}). Turn them on for the group, or keep the direct license.",
            plans
                .iter()
                .map(|p| p.friendly.clone())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn plan_view(p: &MigratePlan) -> Plan {
    let row = |r: &skuld_app::MigrateRow| Row {
        user_id: r.user.to_string(),
        name: r.display_name.clone(),
        upn: r.upn.clone(),
        reason: reason(&r.verdict, &p.group.display_name),
    };
    Plan {
        group_id: p.group.id.to_string(),
        group: p.group.display_name.clone(),
        product: p.product.name.clone(),
        covered: p.covered().map(row).collect(),
        kept: p.kept().map(row).collect(),
    }
}

fn may_migrate(signed: &Signed) -> Result<(), WebError> {
    signed.require(Action::AssignUserLicense)?;
    signed.require(Action::AssignGroupLicense)
}

async fn render(
    state: &WebState,
    signed: &Signed,
    f: Fields,
    plan: Option<Plan>,
    done: Option<Done>,
    error: Option<String>,
) -> WebResult {
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let page = MigratePage {
        chrome: Chrome::new(signed, "Migrate users to group licensing", "/migrate"),
        products: state.app.sku_rows(&signed.tenant).await?,
        f,
        plan,
        done,
        error,
    };
    Ok((status, Html(page.render()?)).into_response())
}

/// The group and product of the form, or the admin's message of what is missing.
fn choice(f: &Fields, products: &[SkuRow]) -> Result<(String, SkuRow), String> {
    let group = f.group_key();
    if group.is_empty() {
        return Err("Choose the group whose license should replace the direct licenses.".into());
    }
    match products
        .iter()
        .find(|p| p.part_number.eq_ignore_ascii_case(f.product.trim()))
    {
        Some(p) => Ok((group, p.clone())),
        None => Err("Choose one of the organization's products.".into()),
    }
}

async fn page(State(state): State<WebState>, signed: Signed, Query(f): Query<Fields>) -> WebResult {
    may_migrate(&signed)?;
    if f.preview.is_none() {
        return render(&state, &signed, f, None, None, None).await;
    }
    let products = state.app.sku_rows(&signed.tenant).await?;
    let (group, p) = match choice(&f, &products) {
        Ok(c) => c,
        Err(m) => return render(&state, &signed, f, None, None, Some(m)).await,
    };
    match state
        .app
        .migration_plan(&signed.tenant, &group, p.sku_id)
        .await
    {
        Ok(plan) => {
            let v = plan_view(&plan);
            render(&state, &signed, f, Some(v), None, None).await
        }
        Err(e) => {
            let m = fixable(e)?;
            render(&state, &signed, f, None, None, Some(m)).await
        }
    }
}

async fn apply(State(state): State<WebState>, form: Form<Fields>) -> WebResult {
    let signed = form.signed;
    let f = form.data;
    may_migrate(&signed)?;
    let products = state.app.sku_rows(&signed.tenant).await?;
    let (group, p) = match choice(&f, &products) {
        Ok(c) => c,
        Err(m) => return render(&state, &signed, f, None, None, Some(m)).await,
    };
    match state
        .app
        .migrate_to_group(&signed.tenant, &group, p.sku_id, &signed.actor)
        .await
    {
        Ok((plan, changes, refused)) => {
            let mut v = plan_view(&plan);
            let removed = v
                .covered
                .drain(..)
                .filter(|r| changes.iter().any(|c| c.user.eq_ignore_ascii_case(&r.upn)))
                .collect();
            let refused = refused
                .into_iter()
                .map(|(u, why)| Row {
                    user_id: String::new(),
                    name: u.clone(),
                    upn: u,
                    reason: why,
                })
                .collect();
            render(
                &state,
                &signed,
                f,
                Some(v),
                Some(Done { removed, refused }),
                None,
            )
            .await
        }
        Err(e) => {
            let m = fixable(e)?;
            render(&state, &signed, f, None, None, Some(m)).await
        }
    }
}
