//! Users (admin-center.md §"Users › Active users", rulebook §8.5 and §9): Active users — a
//! keyset-paged list with search and filters, and **Manage product licenses** for the
//! selected users (Assign more, Replace, Unassign all, with apps on or off and a result per
//! user); a user's details (profile, Licenses and apps with every path's state, usage
//! location, groups, roles, reset password, block sign-in, delete, reprocess); and Deleted
//! users (restore with the licenses it gets back or waits for, delete permanently).

use crate::error::{admin_message, WebError, WebResult};
use crate::session::{Form, Signed};
use crate::view::{date, html, Chrome};
use crate::WebState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use skuld_app::{
    Action, AppError, ChangeOutcome, LicenseSpec, Problem, SkuRow, UserFilter, UserListQuery,
    UserPatch, UserView,
};
use skuld_domain::licensing::LicenseError;
use skuld_domain::{Catalog, PlanId, SkuId, UsageLocation, User, UserType};
use std::collections::HashMap;

/// At most this many users in one **Manage product licenses** (Microsoft allows more than the
/// product page's 20 here; skuld keeps one change small enough to read its results).
pub const MAX_MANAGE: usize = 100;
/// Users per page of Active users and Deleted users.
pub const PAGE_SIZE: u32 = 50;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/users", get(list))
        .route("/users/licenses", post(manage))
        .route("/users/deleted", get(deleted))
        .route("/users/deleted/{id}/restore", post(restore))
        .route("/users/deleted/{id}/purge", post(purge))
        .route("/users/{id}", get(details))
        .route("/users/{id}/licenses", post(save_licenses))
        .route("/users/{id}/password", post(reset_password))
        .route("/users/{id}/block", post(block))
        .route("/users/{id}/delete", post(delete))
        .route("/users/{id}/reprocess", post(reprocess))
}

// ---------------------------------------------------------------- helpers

/// What a query value keeps unencoded: RFC 3986's unreserved characters (ids and cursors
/// stay readable).
const QUERY_VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, QUERY_VALUE).to_string()
}

/// `path?k=v&…`, leaving out empty values.
fn href(path: &str, pairs: &[(&str, &str)]) -> String {
    let q: Vec<String> = pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", enc(v)))
        .collect();
    if q.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{}", q.join("&"))
    }
}

/// A page with a status: 400 when it carries an error the admin can fix.
fn page<T: Template>(t: &T, error: bool) -> WebResult {
    let status = if error {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    Ok((status, Html(t.render()?)).into_response())
}

/// A refusal the admin can fix is shown on the page; a missing right or a server fault is the
/// error page.
fn form_error(e: AppError) -> WebResult<String> {
    match e {
        e @ (AppError::Forbidden(_) | AppError::Store(_) | AppError::Corrupt(_)) => {
            Err(WebError::App(e))
        }
        e => Ok(capitalized(&admin_message(&e))),
    }
}

fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn dedupe(v: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in v {
        let s = s.trim().to_string();
        if !s.is_empty() && !out.iter().any(|o| o.eq_ignore_ascii_case(&s)) {
            out.push(s);
        }
    }
    out
}

/// Every ISO 3166 code a usage location may take.
fn country_codes() -> Vec<String> {
    let mut v = Vec::new();
    for a in b'A'..=b'Z' {
        for b in b'A'..=b'Z' {
            let s = String::from_utf8(vec![a, b]).unwrap_or_default();
            if UsageLocation::parse(&s).is_ok() {
                v.push(s);
            }
        }
    }
    v
}

/// A plan's name as the admin reads it.
fn plan_label(catalog: &Catalog, id: &PlanId) -> String {
    catalog
        .plan(id)
        .map(|pl| pl.friendly_name.clone())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| catalog.plan_name(id))
}

/// What to do about a license error (rulebook §3.1).
fn fix_text(e: LicenseError) -> &'static str {
    match e {
        LicenseError::None => "",
        LicenseError::CountViolation => {
            "Buy more licenses in Your products or unassign some; the user gets one as soon as one is free."
        }
        LicenseError::MutuallyExclusiveViolation => {
            "Remove one of the conflicting licenses, or turn off the conflicting app in one of them."
        }
        LicenseError::DependencyViolation => {
            "Keep or assign the product that includes the service this app needs, then reprocess."
        }
        LicenseError::ProhibitedInUsageLocationViolation => {
            "Change the usage location, or turn off the apps that are not available there."
        }
        LicenseError::UniquenessViolation => {
            "Another object holds the same address; fix the conflict, then reprocess."
        }
        LicenseError::Other => {
            "Fix the problem of the other product from the same group, then reprocess."
        }
    }
}

fn find_part<'a>(rows: &'a [SkuRow], part: &str) -> Option<&'a SkuRow> {
    rows.iter()
        .find(|r| r.part_number.eq_ignore_ascii_case(part))
}

fn no_product(part: &str) -> String {
    format!(
        "This organization has no product {part}. Open Billing › Licenses to see the products it has."
    )
}

/// The apps boxes of one product: `PART/PLANID` values, on unless the form turned them off.
struct PlanBox {
    value: String,
    dom: String,
    name: String,
    on: bool,
}

/// The products of a license form, each with its apps.
struct ProductBox {
    part: String,
    name: String,
    available: i64,
    total: i64,
    checked: bool,
    plans: Vec<PlanBox>,
}

/// What a license form posted: products ticked, apps left on, and the products whose apps
/// boxes were on the form (a product without them keeps every app on).
#[derive(Deserialize, Default, Clone)]
struct Choice {
    #[serde(default)]
    product: Vec<String>,
    #[serde(default)]
    plan: Vec<String>,
    #[serde(default)]
    apps: Vec<String>,
}

impl Choice {
    /// Whether the app `plan` of `part` is on in this choice (`default` when the form did not
    /// show the product's apps).
    fn plan_on(&self, part: &str, plan: &PlanId, default: bool) -> bool {
        if !self.apps.iter().any(|a| a.eq_ignore_ascii_case(part)) {
            return default;
        }
        let v = format!("{part}/{plan}");
        self.plan.iter().any(|p| p.eq_ignore_ascii_case(&v))
    }

    fn ticked(&self, part: &str) -> bool {
        self.product.iter().any(|p| p.eq_ignore_ascii_case(part))
    }

    /// The chosen products as specs; an unknown product or app is the admin's error.
    fn specs(&self, rows: &[SkuRow], catalog: &Catalog) -> Result<Vec<LicenseSpec>, String> {
        let mut out = Vec::new();
        for part in dedupe(self.product.clone()) {
            let row = find_part(rows, &part).ok_or_else(|| no_product(&part))?;
            let plans = catalog
                .product(&row.sku_id)
                .map(|p| p.plans.clone())
                .unwrap_or_default();
            out.push(LicenseSpec {
                sku: row.sku_id,
                disabled_plans: plans
                    .iter()
                    .filter(|p| !self.plan_on(&row.part_number, p, true))
                    .copied()
                    .collect(),
            });
        }
        // An app value that names no app of its product is refused, not ignored.
        for v in &self.plan {
            let Some((part, plan)) = v.split_once('/') else {
                return Err(format!(
                    "\"{v}\" is not an app of a product. Reload the page and try again."
                ));
            };
            let row = find_part(rows, part).ok_or_else(|| no_product(part))?;
            let known = catalog
                .product(&row.sku_id)
                .is_some_and(|p| PlanId::parse(plan).is_ok_and(|id| p.plans.contains(&id)));
            if !known {
                return Err(format!(
                    "{} has no app \"{plan}\". Reload the page and choose its apps again.",
                    row.display_name
                ));
            }
        }
        Ok(out)
    }
}

fn product_boxes(
    rows: &[SkuRow],
    catalog: &Catalog,
    checked: impl Fn(&SkuRow) -> bool,
    plan_on: impl Fn(&SkuRow, &PlanId) -> bool,
) -> Vec<ProductBox> {
    rows.iter()
        .map(|r| ProductBox {
            part: r.part_number.clone(),
            name: r.display_name.clone(),
            available: r.available,
            total: r.total,
            checked: checked(r),
            plans: catalog
                .product(&r.sku_id)
                .map(|p| p.plans.clone())
                .unwrap_or_default()
                .iter()
                .map(|id| PlanBox {
                    value: format!("{}/{id}", r.part_number),
                    dom: format!("plan-{}-{id}", r.part_number),
                    name: plan_label(catalog, id),
                    on: plan_on(r, id),
                })
                .collect(),
        })
        .collect()
}

/// The users a problem is about (UPNs, or the key for an unknown user).
fn problem_users(p: &Problem) -> Vec<String> {
    match p {
        Problem::UnknownUser { key, .. } => vec![key.clone()],
        Problem::NoUsageLocation { user, .. }
        | Problem::ProhibitedInLocation { user, .. }
        | Problem::Inherited { user, .. }
        | Problem::NotAssigned { user, .. }
        | Problem::Conflict { user, .. }
        | Problem::Dependency { user, .. }
        | Problem::RemovalBreaksDependency { user, .. }
        | Problem::NotAssignable { user, .. } => vec![user.clone()],
        Problem::NoSeats { users, .. } => users.clone(),
        _ => Vec::new(),
    }
}

fn outcome_text(product: &str, o: &ChangeOutcome) -> String {
    match o {
        ChangeOutcome::Assigned => format!("{product}: license assigned."),
        ChangeOutcome::Changed { on, off } => {
            let names = |v: &[skuld_app::PlanRef]| {
                v.iter()
                    .map(|p| p.friendly.clone())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let mut s = format!("{product}: already assigned; apps changed.");
            if !on.is_empty() {
                s.push_str(&format!(" Turned on: {}.", names(on)));
            }
            if !off.is_empty() {
                s.push_str(&format!(" Turned off: {}.", names(off)));
            }
            s
        }
        ChangeOutcome::Removed => format!("{product}: license removed."),
        _ => format!("{product}: already assigned with these apps; nothing changed."),
    }
}

/// A license a user has through a group: it stays whatever is done to direct licenses (G13).
struct Inherited {
    product: String,
    group: String,
    group_id: String,
}

fn inherited_of(v: &UserView) -> Vec<Inherited> {
    let mut out = Vec::new();
    for l in &v.licenses {
        for p in &l.paths {
            if let Some(g) = p.group_id {
                out.push(Inherited {
                    product: if l.display_name.is_empty() {
                        l.part_number.clone()
                    } else {
                        l.display_name.clone()
                    },
                    group: p.source.clone(),
                    group_id: g.to_string(),
                });
            }
        }
    }
    out
}

fn direct_of(v: &UserView) -> Vec<String> {
    v.licenses
        .iter()
        .filter(|l| l.paths.iter().any(|p| p.group_id.is_none()))
        .map(|l| {
            if l.display_name.is_empty() {
                l.part_number.clone()
            } else {
                l.display_name.clone()
            }
        })
        .collect()
}

#[derive(Deserialize)]
struct Empty {}

// ---------------------------------------------------------------- active users

struct FilterLink {
    href: String,
    label: &'static str,
    active: bool,
}

struct ListRow {
    id: String,
    name: String,
    upn: String,
    licenses: String,
    error: bool,
    blocked: bool,
    guest: bool,
}

#[derive(Template)]
#[template(path = "users/list.html")]
struct ListPage {
    chrome: Chrome,
    q: String,
    filter_key: &'static str,
    filter_label: &'static str,
    product: String,
    products: Vec<(String, String)>,
    filters: Vec<FilterLink>,
    rows: Vec<ListRow>,
    can_manage: bool,
    can_add: bool,
    next_href: Option<String>,
    first_href: Option<String>,
    error: Option<String>,
    done: Option<String>,
}

#[derive(Deserialize, Default)]
struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    filter: String,
    #[serde(default)]
    product: String,
    #[serde(default)]
    after: Option<String>,
    #[serde(default)]
    done: Option<String>,
}

async fn render_list(
    state: &WebState,
    signed: &Signed,
    q: ListQuery,
    error: Option<String>,
) -> WebResult {
    signed.require(Action::ReadUsers)?;
    let filter = UserFilter::parse(&q.filter);
    let skus = state.app.sku_rows(&signed.tenant).await?;
    let search = q.q.trim().to_string();
    let mut error = error;
    let product = if q.product.trim().is_empty() {
        None
    } else {
        match find_part(&skus, q.product.trim()) {
            Some(r) => Some(r.sku_id),
            None => {
                error.get_or_insert_with(|| no_product(q.product.trim()));
                None
            }
        }
    };
    let part = product
        .and_then(|s| skus.iter().find(|r| r.sku_id == s))
        .map(|r| r.part_number.clone())
        .unwrap_or_default();
    let mut rows = Vec::new();
    let mut next = None;
    // A product that does not exist lists nobody rather than everybody.
    if product.is_some() || q.product.trim().is_empty() {
        let listed = state
            .app
            .active_users(
                &signed.tenant,
                &signed.actor,
                &UserListQuery {
                    search: search.clone(),
                    filter,
                    product,
                    after: q.after.clone().filter(|a| !a.is_empty()),
                    limit: PAGE_SIZE,
                },
            )
            .await;
        match listed {
            Ok(l) => {
                next = l.next;
                rows = l
                    .rows
                    .into_iter()
                    .map(|r| ListRow {
                        id: r.user.id.to_string(),
                        licenses: r
                            .products
                            .iter()
                            .map(|p| p.name.clone())
                            .collect::<Vec<_>>()
                            .join(", "),
                        error: r.in_error,
                        blocked: !r.user.account_enabled,
                        guest: r.user.user_type == UserType::Guest,
                        name: r.user.display_name,
                        upn: r.user.upn,
                    })
                    .collect();
            }
            Err(e) => {
                let msg = form_error(e)?;
                error.get_or_insert(msg);
            }
        }
    }
    let filters = UserFilter::ALL
        .into_iter()
        .map(|f| FilterLink {
            href: href(
                "/users",
                &[
                    ("q", &search),
                    ("filter", if f == UserFilter::All { "" } else { f.key() }),
                    ("product", &part),
                ],
            ),
            label: f.label(),
            active: f == filter,
        })
        .collect();
    let fkey = if filter == UserFilter::All {
        ""
    } else {
        filter.key()
    };
    let next_href = next.map(|n| {
        href(
            "/users",
            &[
                ("q", &search),
                ("filter", fkey),
                ("product", &part),
                ("after", &n),
            ],
        )
    });
    let first_href = q.after.as_deref().filter(|a| !a.is_empty()).map(|_| {
        href(
            "/users",
            &[("q", &search), ("filter", fkey), ("product", &part)],
        )
    });
    let done = q.done.and_then(|d| match d.as_str() {
        "licenses" => Some("The licenses were changed.".to_string()),
        _ => None,
    });
    let has_error = error.is_some();
    page(
        &ListPage {
            chrome: Chrome::new(signed, "Active users", "/users"),
            q: search,
            filter_key: fkey,
            filter_label: filter.label(),
            product: part,
            products: skus
                .iter()
                .map(|r| (r.part_number.clone(), r.display_name.clone()))
                .collect(),
            filters,
            rows,
            can_manage: signed.may(Action::AssignUserLicense),
            can_add: signed.may(Action::CreateUser),
            next_href,
            first_href,
            error,
            done,
        },
        has_error,
    )
}

async fn list(
    State(state): State<WebState>,
    signed: Signed,
    Query(q): Query<ListQuery>,
) -> WebResult {
    render_list(&state, &signed, q, None).await
}

// ---------------------------------------------------------------- manage product licenses

struct ChosenUser {
    id: String,
    name: String,
    upn: String,
    guest: bool,
    direct: String,
    inherited: Vec<Inherited>,
}

#[derive(Template)]
#[template(path = "users/manage.html")]
struct ManagePage {
    chrome: Chrome,
    users: Vec<ChosenUser>,
    mode: String,
    products: Vec<ProductBox>,
    errors: Vec<String>,
    max: usize,
}

struct ResultRow {
    id: String,
    name: String,
    upn: String,
    lines: Vec<String>,
    stays: Vec<Inherited>,
}

#[derive(Template)]
#[template(path = "users/manage_results.html")]
struct ManageResults {
    chrome: Chrome,
    mode_label: &'static str,
    got: Vec<ResultRow>,
    failed: Vec<ResultRow>,
}

#[derive(Deserialize, Default)]
struct ManageForm {
    #[serde(default)]
    user: Vec<String>,
    #[serde(default)]
    step: Option<String>,
    #[serde(default)]
    mode: Option<String>,
    #[serde(default)]
    product: Vec<String>,
    #[serde(default)]
    plan: Vec<String>,
    #[serde(default)]
    apps: Vec<String>,
}

fn mode_label(mode: &str) -> Option<&'static str> {
    match mode {
        "add" => Some("Assign more"),
        "replace" => Some("Replace"),
        "unassign" => Some("Unassign all"),
        _ => None,
    }
}

/// Manage product licenses (rulebook §9): the first post (from Active users) shows the form
/// for the chosen users; the second (`step=apply`) applies Assign more, Replace or Unassign
/// all through `assign_licenses_reported`, leaving out the users a refusal names.
async fn manage(State(state): State<WebState>, form: Form<ManageForm>) -> WebResult {
    let signed = form.signed;
    signed.require(Action::AssignUserLicense)?;
    let data = form.data;
    let choice = Choice {
        product: data.product.clone(),
        plan: data.plan.clone(),
        apps: data.apps.clone(),
    };
    let keys = dedupe(data.user.clone());
    if keys.is_empty() {
        return render_list(
            &state,
            &signed,
            ListQuery::default(),
            Some("Tick the users whose licenses you want to manage, then choose Manage product licenses.".into()),
        )
        .await;
    }
    if keys.len() > MAX_MANAGE {
        return render_list(
            &state,
            &signed,
            ListQuery::default(),
            Some(format!(
                "You can manage the licenses of at most {MAX_MANAGE} users at a time; you chose {}. Choose fewer, or license them through a group.",
                keys.len()
            )),
        )
        .await;
    }
    // Every chosen user must exist before anything is shown or changed.
    let mut views: Vec<UserView> = Vec::new();
    for k in &keys {
        match state.app.user(&signed.tenant, k).await {
            Ok(u) => views.push(
                state
                    .app
                    .user_view(&signed.tenant, &u.id.to_string())
                    .await?,
            ),
            Err(e) => {
                let msg = form_error(e)?;
                return render_list(&state, &signed, ListQuery::default(), Some(msg)).await;
            }
        }
    }
    let skus = state.app.sku_rows(&signed.tenant).await?;
    let catalog = state.app.tenant_catalog(&signed.tenant).await?;
    let apply = data.step.as_deref() == Some("apply");
    let mode = data.mode.clone().unwrap_or_else(|| "add".into());
    let render = |errors: Vec<String>, choice: &Choice, mode: &str| -> WebResult {
        let products = product_boxes(
            &skus,
            &catalog,
            |r| choice.ticked(&r.part_number),
            |r, p| choice.plan_on(&r.part_number, p, true),
        );
        let has_error = !errors.is_empty();
        page(
            &ManagePage {
                chrome: Chrome::new(&signed, "Manage product licenses", "/users"),
                users: views
                    .iter()
                    .map(|v| ChosenUser {
                        id: v.user.id.to_string(),
                        name: v.user.display_name.clone(),
                        upn: v.user.upn.clone(),
                        guest: v.user.user_type == UserType::Guest,
                        direct: direct_of(v).join(", "),
                        inherited: inherited_of(v),
                    })
                    .collect(),
                mode: mode.to_string(),
                products,
                errors,
                max: MAX_MANAGE,
            },
            has_error,
        )
    };
    if !apply {
        return render(Vec::new(), &Choice::default(), "add");
    }
    let Some(label) = mode_label(&mode) else {
        return render(
            vec!["Choose Assign more, Replace or Unassign all.".into()],
            &choice,
            "add",
        );
    };
    let specs = match choice.specs(&skus, &catalog) {
        Ok(s) => s,
        Err(msg) => return render(vec![msg], &choice, &mode),
    };
    let (add, replace) = match mode.as_str() {
        "unassign" => (Vec::new(), true),
        "replace" => (specs, true),
        _ => (specs, false),
    };
    if mode != "unassign" && add.is_empty() {
        return render(
            vec![format!(
                "Choose at least one product to assign with {label}{}.",
                if mode == "replace" {
                    ", or choose Unassign all to remove the direct licenses"
                } else {
                    ""
                }
            )],
            &choice,
            &mode,
        );
    }
    let name_of: HashMap<String, (String, String)> = views
        .iter()
        .map(|v| {
            (
                v.user.upn.to_lowercase(),
                (v.user.id.to_string(), v.user.display_name.clone()),
            )
        })
        .collect();
    let row = |upn: &str, lines: Vec<String>, stays: Vec<Inherited>| {
        let (id, name) = name_of
            .get(&upn.to_lowercase())
            .cloned()
            .unwrap_or_else(|| (String::new(), upn.to_string()));
        ResultRow {
            id,
            name,
            upn: upn.to_string(),
            lines,
            stays,
        }
    };
    let mut failed: Vec<ResultRow> = Vec::new();
    let mut todo: Vec<String> = Vec::new();
    for v in &views {
        // B1: only a Global Administrator licenses a guest directly.
        if v.user.user_type == UserType::Guest
            && !add.is_empty()
            && !signed.may(Action::LicenseGuest)
        {
            failed.push(row(
                &v.user.upn,
                vec!["Only a Global Administrator can assign licenses to a guest directly. Ask one, or license the guest through a group.".into()],
                Vec::new(),
            ));
        } else {
            todo.push(v.user.upn.clone());
        }
    }
    let mut changes = Vec::new();
    // At most three rounds: the users a refusal names are left out and the rest are changed.
    for _ in 0..3 {
        if todo.is_empty() {
            break;
        }
        match state
            .app
            .assign_licenses_reported(&signed.tenant, &todo, &add, &[], replace, &signed.actor)
            .await
        {
            Ok((_, c)) => {
                changes = c;
                break;
            }
            Err(AppError::Refused(r)) => {
                let mut named = Vec::new();
                for problem in &r.problems {
                    let users = problem_users(problem);
                    if users.is_empty() {
                        // Not about one user (a product the tenant cannot assign): nobody can.
                        return render(vec![capitalized(&problem.admin_text())], &choice, &mode);
                    }
                    for u in users {
                        if let Some(f) = failed.iter_mut().find(|f| f.upn.eq_ignore_ascii_case(&u))
                        {
                            f.lines.push(capitalized(&problem.admin_text()));
                        } else {
                            failed.push(row(
                                &u,
                                vec![capitalized(&problem.admin_text())],
                                Vec::new(),
                            ));
                        }
                        named.push(u);
                    }
                }
                todo.retain(|k| !named.iter().any(|n| n.eq_ignore_ascii_case(k)));
                if named.is_empty() {
                    break;
                }
            }
            Err(e) => {
                let msg = form_error(e)?;
                return render(vec![msg], &choice, &mode);
            }
        }
    }
    if todo.is_empty() {
        // Nobody was changed: the form again, with every user's problem.
        let errors = failed
            .iter()
            .map(|f| format!("{} ({}): {}", f.name, f.upn, f.lines.join(" ")))
            .collect();
        return render(errors, &choice, &mode);
    }
    let mut got = Vec::new();
    for v in views
        .iter()
        .filter(|v| todo.iter().any(|t| t.eq_ignore_ascii_case(&v.user.upn)))
    {
        let mut lines: Vec<String> = changes
            .iter()
            .filter(|c| c.user.eq_ignore_ascii_case(&v.user.upn))
            .map(|c| outcome_text(&c.product.name, &c.outcome))
            .collect();
        if lines.is_empty() {
            lines.push("No direct licenses to remove; nothing changed.".into());
        }
        let stays = if replace { inherited_of(v) } else { Vec::new() };
        got.push(row(&v.user.upn, lines, stays));
    }
    html(&ManageResults {
        chrome: Chrome::new(&signed, "Manage product licenses", "/users"),
        mode_label: label,
        got,
        failed,
    })
}

// ---------------------------------------------------------------- user details

struct PathRow {
    via: String,
    group_id: Option<String>,
    state: String,
    state_class: &'static str,
    error: String,
    reason: String,
    fix: &'static str,
    disabled: String,
}

struct LicenseBox {
    product: ProductBox,
    direct: bool,
    paths: Vec<PathRow>,
    held: bool,
}

struct GroupRow {
    id: String,
    name: String,
    direct: bool,
}

#[derive(Template)]
#[template(path = "users/details.html")]
struct DetailsPage {
    chrome: Chrome,
    u: User,
    id: String,
    is_me: bool,
    created: String,
    location: String,
    effective_location: String,
    licenses: Vec<LicenseBox>,
    /// Licenses of products the tenant no longer sells (read-only).
    others: Vec<(String, Vec<PathRow>)>,
    groups: Vec<GroupRow>,
    roles: Vec<&'static str>,
    countries: Vec<String>,
    can_license: bool,
    guest_locked: bool,
    can_location: bool,
    can_manage_user: bool,
    can_delete: bool,
    error: Option<String>,
    done: Option<String>,
}

#[derive(Deserialize, Default)]
struct DetailsQuery {
    #[serde(default)]
    done: Option<String>,
}

fn path_rows(v: &UserView, part: &str) -> Vec<PathRow> {
    v.licenses
        .iter()
        .filter(|l| l.part_number == part)
        .flat_map(|l| l.paths.iter())
        .map(|p| {
            let (state, class) = match (p.applied, p.error) {
                (true, LicenseError::None) => ("Active".to_string(), "ok"),
                (true, _) => ("Active, with an error".to_string(), "warn"),
                (false, LicenseError::None) => (p.state.as_str().to_string(), "bad"),
                (false, _) => ("Not assigned: error".to_string(), "bad"),
            };
            PathRow {
                via: p.source.clone(),
                group_id: p.group_id.map(|g| g.to_string()),
                state,
                state_class: class,
                error: if p.error == LicenseError::None {
                    String::new()
                } else {
                    p.error.as_str().to_string()
                },
                reason: if p.reason.is_empty() {
                    p.detail.clone()
                } else {
                    p.reason.clone()
                },
                fix: fix_text(p.error),
                disabled: p.disabled_plans.join(", "),
            }
        })
        .collect()
}

async fn user_or_404(state: &WebState, signed: &Signed, id: &str) -> WebResult<UserView> {
    let v = state.app.user_view(&signed.tenant, id).await?;
    if v.user.is_deleted() {
        return Err(WebError::NotFound(format!(
            "{} was deleted. Open Deleted users to restore it.",
            v.user.display_name
        )));
    }
    Ok(v)
}

async fn render_details(
    state: &WebState,
    signed: &Signed,
    id: &str,
    error: Option<String>,
    done: Option<String>,
    posted: Option<(&Choice, Option<String>)>,
) -> WebResult {
    signed.require(Action::ReadUsers)?;
    let v = user_or_404(state, signed, id).await?;
    let u = v.user.clone();
    let skus = state.app.sku_rows(&signed.tenant).await?;
    let catalog = state.app.tenant_catalog(&signed.tenant).await?;
    let lic = state
        .app
        .licensing_of(&signed.tenant, &[u.id])
        .await?
        .remove(&u.id)
        .unwrap_or_default();
    // The direct path of each product, with its disabled apps.
    let direct: HashMap<SkuId, Vec<PlanId>> = lic
        .states
        .iter()
        .filter(|s| s.source == skuld_domain::licensing::Source::Direct)
        .map(|s| (s.sku, s.disabled_plans.clone()))
        .collect();
    let boxes = product_boxes(
        &skus,
        &catalog,
        |r| match posted {
            Some((c, _)) => c.ticked(&r.part_number),
            None => direct.contains_key(&r.sku_id),
        },
        |r, p| {
            let stored = direct.get(&r.sku_id).is_none_or(|d| !d.contains(p));
            match posted {
                Some((c, _)) => c.plan_on(&r.part_number, p, stored),
                None => stored,
            }
        },
    );
    let licenses = boxes
        .into_iter()
        .map(|b| {
            let row = find_part(&skus, &b.part);
            LicenseBox {
                direct: row.is_some_and(|r| direct.contains_key(&r.sku_id)),
                held: v.licenses.iter().any(|l| l.part_number == b.part && l.held),
                paths: path_rows(&v, &b.part),
                product: b,
            }
        })
        .collect();
    let others = v
        .licenses
        .iter()
        .filter(|l| find_part(&skus, &l.part_number).is_none())
        .map(|l| {
            (
                if l.display_name.is_empty() {
                    l.part_number.clone()
                } else {
                    l.display_name.clone()
                },
                path_rows(&v, &l.part_number),
            )
        })
        .collect();
    let all = state
        .app
        .user_member_of(&signed.tenant, &u.id.to_string(), true)
        .await?;
    let mine = state
        .app
        .user_member_of(&signed.tenant, &u.id.to_string(), false)
        .await?;
    let mut groups: Vec<GroupRow> = all
        .into_iter()
        .map(|g| GroupRow {
            direct: mine.iter().any(|m| m.id == g.id),
            id: g.id.to_string(),
            name: g.display_name,
        })
        .collect();
    groups.sort_by(|a, b| {
        b.direct
            .cmp(&a.direct)
            .then(a.name.to_lowercase().cmp(&b.name.to_lowercase()))
    });
    let location = match posted {
        Some((_, Some(l))) => l.clone(),
        _ => u.usage_location.map(|l| l.to_string()).unwrap_or_default(),
    };
    let can_manage_user = signed.actor.may_manage_user(&v.roles);
    let guest_locked = u.user_type == UserType::Guest && !signed.may(Action::LicenseGuest);
    let done = done.and_then(|d| {
        Some(match d.as_str() {
            "saved" => "Your changes were saved.".to_string(),
            "nochange" => {
                "Nothing was changed: the licenses, apps and usage location are as they were."
                    .to_string()
            }
            "blocked" => format!(
                "Sign-in is blocked: {} can't sign in until you unblock it.",
                u.display_name
            ),
            "unblocked" => format!("Sign-in is allowed again for {}.", u.display_name),
            "reprocessed" => {
                "The licenses were evaluated again; the states below are current.".to_string()
            }
            _ => return None,
        })
    });
    let has_error = error.is_some();
    page(
        &DetailsPage {
            chrome: Chrome::new(signed, u.display_name.clone(), "/users"),
            id: u.id.to_string(),
            is_me: u.id == signed.user.id,
            created: date(u.created_at),
            location,
            effective_location: v.effective_location.clone(),
            licenses,
            others,
            groups,
            roles: v.roles.iter().map(|r| r.display_name()).collect(),
            countries: country_codes(),
            can_license: signed.may(Action::AssignUserLicense),
            guest_locked,
            can_location: signed.may(Action::UpdateUsageLocation) && can_manage_user,
            can_manage_user: signed.may(Action::UpdateUser) && can_manage_user,
            can_delete: signed.may(Action::DeleteUser) && can_manage_user,
            u,
            error,
            done,
        },
        has_error,
    )
}

async fn details(
    State(state): State<WebState>,
    signed: Signed,
    Path(id): Path<String>,
    Query(q): Query<DetailsQuery>,
) -> WebResult {
    render_details(&state, &signed, &id, None, q.done, None).await
}

#[derive(Deserialize, Default)]
struct LicensesForm {
    #[serde(default)]
    product: Vec<String>,
    #[serde(default)]
    plan: Vec<String>,
    #[serde(default)]
    apps: Vec<String>,
    /// Absent when the form showed no location select.
    #[serde(default)]
    usage_location: Option<String>,
}

/// Licenses and apps: saves the ticked products with their apps (direct licenses only; an
/// inherited license is changed on its group, G13) and the usage location (U7: a License
/// Administrator may change it). The location is set first, so new licenses can use it; when
/// the licenses are then refused, it is set back, so nothing is half-written.
async fn save_licenses(
    State(state): State<WebState>,
    Path(id): Path<String>,
    form: Form<LicensesForm>,
) -> WebResult {
    let signed = form.signed;
    let data = form.data;
    let choice = Choice {
        product: data.product.clone(),
        plan: data.plan.clone(),
        apps: data.apps.clone(),
    };
    if !signed.may(Action::AssignUserLicense) && !signed.may(Action::UpdateUsageLocation) {
        signed.require(Action::AssignUserLicense)?;
    }
    let v = user_or_404(&state, &signed, &id).await?;
    let u = v.user.clone();
    let uid = u.id.to_string();
    let skus = state.app.sku_rows(&signed.tenant).await?;
    let catalog = state.app.tenant_catalog(&signed.tenant).await?;
    let again = |msg: String| {
        let (state, signed, uid, choice, loc) = (
            &state,
            &signed,
            uid.clone(),
            choice.clone(),
            data.usage_location.clone(),
        );
        async move { render_details(state, signed, &uid, Some(msg), None, Some((&choice, loc))).await }
    };
    // The new location: "" clears it.
    let old_loc = u.usage_location;
    let new_loc = match data.usage_location.as_deref().map(str::trim) {
        None => old_loc,
        Some("") => None,
        Some(l) => match UsageLocation::parse(l) {
            Ok(l) => Some(l),
            Err(_) => {
                return again(format!(
                    "\"{l}\" is not a country code. Choose the usage location from the list."
                ))
                .await
            }
        },
    };
    let specs = match choice.specs(&skus, &catalog) {
        Ok(s) => s,
        Err(msg) => return again(msg).await,
    };
    let lic = state
        .app
        .licensing_of(&signed.tenant, &[u.id])
        .await?
        .remove(&u.id)
        .unwrap_or_default();
    let direct: HashMap<SkuId, Vec<PlanId>> = lic
        .states
        .iter()
        .filter(|s| s.source == skuld_domain::licensing::Source::Direct)
        .map(|s| (s.sku, s.disabled_plans.clone()))
        .collect();
    let add: Vec<LicenseSpec> = specs
        .into_iter()
        .filter(|s| {
            direct.get(&s.sku).is_none_or(|d| {
                let mut a = d.clone();
                let mut b = s.disabled_plans.clone();
                a.sort();
                b.sort();
                a != b
            })
        })
        .collect();
    // Only products on the form can be unticked: those the tenant has.
    let remove: Vec<SkuId> = skus
        .iter()
        .filter(|r| direct.contains_key(&r.sku_id) && !choice.ticked(&r.part_number))
        .map(|r| r.sku_id)
        .collect();
    let licenses_change = !add.is_empty() || !remove.is_empty();
    let location_change = new_loc != old_loc;
    if licenses_change {
        signed.require(Action::AssignUserLicense)?;
    }
    if location_change {
        signed.require(Action::UpdateUsageLocation)?;
    }
    if !licenses_change && !location_change {
        return Ok(Redirect::to(&format!("/users/{uid}?done=nochange")).into_response());
    }
    if licenses_change
        && u.user_type == UserType::Guest
        && !add.is_empty()
        && !signed.may(Action::LicenseGuest)
    {
        return Err(WebError::Forbidden(
            "Only a Global Administrator can assign licenses to a guest directly (rulebook B1). License the guest through a group, or ask a Global Administrator.".into(),
        ));
    }
    let set_location = |loc: Option<UsageLocation>| UserPatch {
        usage_location: Some(loc.map(|l| l.to_string())),
        ..Default::default()
    };
    if location_change {
        if let Err(e) = state
            .app
            .update_user(&signed.tenant, &uid, set_location(new_loc), &signed.actor)
            .await
        {
            let msg = form_error(e)?;
            return again(msg).await;
        }
    }
    if licenses_change {
        if let Err(e) = state
            .app
            .assign_licenses_reported(
                &signed.tenant,
                std::slice::from_ref(&uid),
                &add,
                &remove,
                false,
                &signed.actor,
            )
            .await
        {
            if location_change {
                // Back to the old location: the refused save leaves nothing behind.
                state
                    .app
                    .update_user(&signed.tenant, &uid, set_location(old_loc), &signed.actor)
                    .await?;
            }
            let msg = form_error(e)?;
            return again(msg).await;
        }
    }
    Ok(Redirect::to(&format!("/users/{uid}?done=saved")).into_response())
}

#[derive(Template)]
#[template(path = "users/password.html")]
struct PasswordPage {
    chrome: Chrome,
    id: String,
    name: String,
    upn: String,
    password: String,
    force: bool,
}

#[derive(Deserialize, Default)]
struct PasswordForm {
    /// `auto` or `own`.
    #[serde(default)]
    mode: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    force: Option<String>,
}

/// Reset password: generated (16 characters, §8.2) or typed; the answer shows it once.
async fn reset_password(
    State(state): State<WebState>,
    Path(id): Path<String>,
    form: Form<PasswordForm>,
) -> WebResult {
    let signed = form.signed;
    signed.require(Action::UpdateUser)?;
    let v = user_or_404(&state, &signed, &id).await?;
    let uid = v.user.id.to_string();
    let own = form.data.mode == "own";
    let password = if own {
        form.data.password.clone()
    } else {
        skuld_app::generate_password()
    };
    if own && password.is_empty() {
        return render_details(
            &state,
            &signed,
            &uid,
            Some("Type the new password, or choose Automatically create a password.".into()),
            None,
            None,
        )
        .await;
    }
    let force = form.data.force.is_some();
    match state
        .app
        .reset_password(&signed.tenant, &uid, &password, force, &signed.actor)
        .await
    {
        Ok(u) => html(&PasswordPage {
            chrome: Chrome::new(&signed, "Password reset", "/users"),
            id: uid,
            name: u.display_name,
            upn: u.upn,
            password,
            force,
        }),
        Err(e) => {
            let msg = form_error(e)?;
            render_details(
                &state,
                &signed,
                &uid,
                Some(format!("The password was not changed. {msg}")),
                None,
                None,
            )
            .await
        }
    }
}

#[derive(Deserialize, Default)]
struct BlockForm {
    /// `true` to block sign-in, `false` to allow it.
    #[serde(default)]
    blocked: String,
}

async fn block(
    State(state): State<WebState>,
    Path(id): Path<String>,
    form: Form<BlockForm>,
) -> WebResult {
    let signed = form.signed;
    signed.require(Action::UpdateUser)?;
    let v = user_or_404(&state, &signed, &id).await?;
    let uid = v.user.id.to_string();
    let blocked = match form.data.blocked.as_str() {
        "true" => true,
        "false" => false,
        _ => {
            return render_details(
                &state,
                &signed,
                &uid,
                Some("Choose Block sign-in or Unblock sign-in.".into()),
                None,
                None,
            )
            .await
        }
    };
    if blocked && v.user.id == signed.user.id {
        return render_details(
            &state,
            &signed,
            &uid,
            Some("You can't block your own sign-in: you would lock yourself out. Ask another administrator.".into()),
            None,
            None,
        )
        .await;
    }
    let patch = UserPatch {
        account_enabled: Some(!blocked),
        ..Default::default()
    };
    match state
        .app
        .update_user(&signed.tenant, &uid, patch, &signed.actor)
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!(
            "/users/{uid}?done={}",
            if blocked { "blocked" } else { "unblocked" }
        ))
        .into_response()),
        Err(e) => {
            let msg = form_error(e)?;
            render_details(&state, &signed, &uid, Some(msg), None, None).await
        }
    }
}

/// Delete: a soft delete (30 days to restore, D7); its seats are released at once.
async fn delete(
    State(state): State<WebState>,
    Path(id): Path<String>,
    form: Form<Empty>,
) -> WebResult {
    let signed = form.signed;
    signed.require(Action::DeleteUser)?;
    let v = user_or_404(&state, &signed, &id).await?;
    let uid = v.user.id.to_string();
    if v.user.id == signed.user.id {
        return render_details(
            &state,
            &signed,
            &uid,
            Some("You can't delete yourself. Ask another administrator.".into()),
            None,
            None,
        )
        .await;
    }
    match state
        .app
        .delete_user(&signed.tenant, &uid, &signed.actor)
        .await
    {
        Ok(u) => Ok(Redirect::to(&href(
            "/users/deleted",
            &[("done", "deleted"), ("id", &u.id.to_string())],
        ))
        .into_response()),
        Err(e) => {
            let msg = form_error(e)?;
            render_details(&state, &signed, &uid, Some(msg), None, None).await
        }
    }
}

/// Reprocess (P5): evaluates the user's licenses again.
async fn reprocess(
    State(state): State<WebState>,
    Path(id): Path<String>,
    form: Form<Empty>,
) -> WebResult {
    let signed = form.signed;
    signed.require(Action::AssignUserLicense)?;
    let v = user_or_404(&state, &signed, &id).await?;
    let uid = v.user.id.to_string();
    match state
        .app
        .reprocess_user(&signed.tenant, &uid, &signed.actor)
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/users/{uid}?done=reprocessed")).into_response()),
        Err(e) => {
            let msg = form_error(e)?;
            render_details(&state, &signed, &uid, Some(msg), None, None).await
        }
    }
}

// ---------------------------------------------------------------- deleted users

struct DeletedRow {
    id: String,
    name: String,
    upn: String,
    deleted: String,
    days_left: i64,
}

/// What a restored user got back and what it waits for.
struct Restored {
    id: String,
    name: String,
    back: Vec<String>,
    waiting: Vec<String>,
}

#[derive(Template)]
#[template(path = "users/deleted.html")]
struct DeletedPage {
    chrome: Chrome,
    rows: Vec<DeletedRow>,
    can_delete: bool,
    next_href: Option<String>,
    first_href: Option<String>,
    error: Option<String>,
    done: Option<String>,
    restored: Option<Restored>,
}

#[derive(Deserialize, Default)]
struct DeletedQuery {
    #[serde(default)]
    after: Option<String>,
    #[serde(default)]
    done: Option<String>,
    #[serde(default)]
    /// The user a `done` banner is about (names come from the directory, never the address).
    id: Option<String>,
    #[serde(default)]
    restored: Option<String>,
}

/// The licenses a restored user holds again, and those it waits for with the reason (D7:
/// a restore evaluates its licenses again; seats that are gone are waited for).
async fn restored_report(
    state: &WebState,
    signed: &Signed,
    id: &str,
) -> WebResult<Option<Restored>> {
    let Ok(v) = state.app.user_view(&signed.tenant, id).await else {
        return Ok(None);
    };
    if v.user.is_deleted() {
        return Ok(None);
    }
    let mut back = Vec::new();
    let mut waiting = Vec::new();
    for l in &v.licenses {
        let name = if l.display_name.is_empty() {
            l.part_number.clone()
        } else {
            l.display_name.clone()
        };
        let via = |p: &skuld_app::PathView| {
            if p.group_id.is_some() {
                format!("from group {}", p.source)
            } else {
                "direct".to_string()
            }
        };
        if l.held {
            let paths: Vec<String> = l.paths.iter().filter(|p| p.applied).map(via).collect();
            back.push(format!("{name} ({})", paths.join(", ")));
        } else {
            for p in &l.paths {
                let why = if p.reason.is_empty() {
                    p.detail.clone()
                } else {
                    p.reason.clone()
                };
                let fix = fix_text(p.error);
                waiting.push(format!(
                    "{name} ({}): {}{}{}",
                    via(p),
                    if why.is_empty() {
                        p.error.as_str().to_string()
                    } else {
                        why
                    },
                    if fix.is_empty() { "" } else { ". " },
                    fix
                ));
            }
        }
    }
    Ok(Some(Restored {
        id: v.user.id.to_string(),
        name: v.user.display_name.clone(),
        back,
        waiting,
    }))
}

async fn render_deleted(
    state: &WebState,
    signed: &Signed,
    q: DeletedQuery,
    error: Option<String>,
) -> WebResult {
    signed.require(Action::ReadUsers)?;
    let mut error = error;
    let after = q.after.clone().filter(|a| !a.is_empty());
    let (rows, next) = match state
        .app
        .deleted_users_page(
            &signed.tenant,
            &signed.actor,
            after.clone(),
            PAGE_SIZE,
            state.clock.now(),
        )
        .await
    {
        Ok(r) => r,
        Err(e) => {
            let msg = form_error(e)?;
            error.get_or_insert(msg);
            (Vec::new(), None)
        }
    };
    let who = match q
        .id
        .as_deref()
        .and_then(|i| skuld_domain::UserId::parse(i).ok())
    {
        Some(id) => state
            .app
            .any_user(&signed.tenant, id)
            .await?
            .filter(|u| u.is_deleted())
            .map(|u| u.display_name),
        None => None,
    };
    let done = q.done.and_then(|d| match d.as_str() {
        "deleted" => who.map(|who| format!(
            "{who} was deleted. Its licenses were released for others; you can restore it here for 30 days."
        )),
        "purged" => Some("The user was deleted permanently. This can't be undone.".to_string()),
        _ => None,
    });
    let restored = match q.restored.as_deref().filter(|r| !r.is_empty()) {
        Some(id) => restored_report(state, signed, id).await?,
        None => None,
    };
    let has_error = error.is_some();
    page(
        &DeletedPage {
            chrome: Chrome::new(signed, "Deleted users", "/users/deleted"),
            rows: rows
                .into_iter()
                .map(|(u, left)| DeletedRow {
                    id: u.id.to_string(),
                    deleted: u.deleted_at.map(date).unwrap_or_default(),
                    days_left: left,
                    name: u.display_name,
                    upn: u.upn,
                })
                .collect(),
            can_delete: signed.may(Action::DeleteUser),
            next_href: next.map(|n| href("/users/deleted", &[("after", &n)])),
            first_href: after.map(|_| "/users/deleted".to_string()),
            error,
            done,
            restored,
        },
        has_error,
    )
}

async fn deleted(
    State(state): State<WebState>,
    signed: Signed,
    Query(q): Query<DeletedQuery>,
) -> WebResult {
    render_deleted(&state, &signed, q, None).await
}

fn parse_user_id(id: &str) -> WebResult<String> {
    skuld_domain::UserId::parse(id)
        .map(|u| u.to_string())
        .map_err(|_| {
            WebError::NotFound(
                "There is no such deleted user. Open Deleted users to see them.".into(),
            )
        })
}

/// Restore (§8.5, D7): the user comes back with its license intents; the answer says which
/// licenses it got back and which it waits for, and why.
async fn restore(
    State(state): State<WebState>,
    Path(id): Path<String>,
    form: Form<Empty>,
) -> WebResult {
    let signed = form.signed;
    signed.require(Action::DeleteUser)?;
    let id = parse_user_id(&id)?;
    match state
        .app
        .restore_user(&signed.tenant, &id, &signed.actor)
        .await
    {
        Ok(u) => Ok(
            Redirect::to(&href("/users/deleted", &[("restored", &u.id.to_string())]))
                .into_response(),
        ),
        Err(e) => {
            let msg = form_error(e)?;
            render_deleted(&state, &signed, DeletedQuery::default(), Some(msg)).await
        }
    }
}

/// Delete permanently: the user and its license intents are gone for good.
async fn purge(
    State(state): State<WebState>,
    Path(id): Path<String>,
    form: Form<Empty>,
) -> WebResult {
    let signed = form.signed;
    signed.require(Action::DeleteUser)?;
    let id = parse_user_id(&id)?;
    match state
        .app
        .purge_user(&signed.tenant, &id, &signed.actor)
        .await
    {
        Ok(_) => Ok(Redirect::to(&href("/users/deleted", &[("done", "purged")])).into_response()),
        Err(e) => {
            let msg = form_error(e)?;
            render_deleted(&state, &signed, DeletedQuery::default(), Some(msg)).await
        }
    }
}
