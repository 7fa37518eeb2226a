//! Billing › Licenses (admin-center.md §"Billing › Licenses"): the products table, Your
//! products (one row per subscription, seats and take-over), a product's details with its
//! Users and Groups tabs, Assign licenses (up to 20 users), Unassign, Assign to groups (up to
//! 20 groups), and the type-ahead endpoints `/pick/users` and `/pick/groups` other pages use.

use crate::error::{fixable, WebError, WebResult};
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
use skuld_app::{Action, AppError, ChangeOutcome, LicenseSpec, Problem, SkuRow};
use skuld_domain::query::{Field, Filter, ListQuery};
use skuld_domain::{PlanId, SubscriptionId, SubscriptionStatus};

/// At most this many users or groups in one assignment (Microsoft: "You can add up to 20
/// users at a time").
pub const MAX_PICK: usize = 20;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/licenses", get(products))
        .route("/licenses/subscriptions", get(subscriptions))
        .route("/licenses/subscriptions/{id}/seats", post(set_seats))
        .route("/licenses/subscriptions/{id}/takeover", post(take_over))
        .route("/licenses/{part}", get(product))
        .route("/licenses/{part}/unassign", post(unassign))
        .route("/licenses/{part}/assign", get(assign_form).post(assign))
        .route("/licenses/{part}/groups", post(assign_groups))
        .route("/pick/users", get(pick_users))
        .route("/pick/groups", get(pick_groups))
}

// ---------------------------------------------------------------- products

#[derive(Template)]
#[template(path = "licenses/products.html")]
struct Products {
    chrome: Chrome,
    rows: Vec<SkuRow>,
}

async fn products(State(state): State<WebState>, signed: Signed) -> WebResult {
    signed.require(Action::ReadLicenses)?;
    let rows = state.app.sku_rows(&signed.tenant).await?;
    html(&Products {
        chrome: Chrome::new(&signed, "Licenses", "/licenses"),
        rows,
    })
}

/// The product of a part number (case-insensitive), or a clear 404.
async fn find_product(state: &WebState, signed: &Signed, part: &str) -> WebResult<SkuRow> {
    state
        .app
        .sku_rows(&signed.tenant)
        .await?
        .into_iter()
        .find(|r| r.part_number.eq_ignore_ascii_case(part))
        .ok_or_else(|| {
            WebError::NotFound(format!(
                "This organization has no product {part}. Open Billing › Licenses to see the products it has."
            ))
        })
}

// ---------------------------------------------------------------- your products

struct SubRow {
    id: String,
    product: String,
    part: String,
    status: String,
    status_class: &'static str,
    seats: i64,
    trial: bool,
    owner: Option<String>,
    next: String,
}

#[derive(Template)]
#[template(path = "licenses/subscriptions.html")]
struct Subscriptions {
    chrome: Chrome,
    rows: Vec<SubRow>,
    manage: bool,
    error: Option<String>,
    done: Option<String>,
    /// The subscription the error is about, and the seats the admin typed.
    failed: Option<(String, String)>,
}

#[derive(Deserialize, Default)]
struct Done {
    #[serde(default)]
    done: Option<String>,
}

fn status_class(s: SubscriptionStatus) -> &'static str {
    match s {
        SubscriptionStatus::Enabled => "ok",
        SubscriptionStatus::Warning => "warn",
        _ => "bad",
    }
}

async fn subscription_rows(state: &WebState, signed: &Signed) -> WebResult<Vec<SubRow>> {
    let catalog = state.app.tenant_catalog(&signed.tenant).await?;
    let mut rows = Vec::new();
    for s in state.app.subscriptions(&signed.tenant).await? {
        if s.status == SubscriptionStatus::Deleted {
            continue;
        }
        let p = catalog.product(&s.sku_id);
        let owner = match s.self_service_owner {
            Some(o) => Some(
                state
                    .app
                    .any_user(&signed.tenant, o)
                    .await?
                    .map(|u| format!("{} ({})", u.display_name, u.upn))
                    .unwrap_or_else(|| o.to_string()),
            ),
            None => None,
        };
        rows.push(SubRow {
            id: s.id.to_string(),
            product: p
                .map(|p| p.display_name.clone())
                .unwrap_or_else(|| s.sku_id.to_string()),
            part: p.map(|p| p.part_number.clone()).unwrap_or_default(),
            status: s.status.to_string(),
            status_class: status_class(s.status),
            seats: s.units,
            trial: s.is_trial,
            owner,
            next: s.next_lifecycle_at.map(date).unwrap_or_default(),
        });
    }
    rows.sort_by(|a, b| a.product.cmp(&b.product).then(a.id.cmp(&b.id)));
    Ok(rows)
}

async fn render_subscriptions(
    state: &WebState,
    signed: &Signed,
    error: Option<String>,
    done: Option<String>,
    failed: Option<(String, String)>,
) -> WebResult {
    let page = Subscriptions {
        chrome: Chrome::new(signed, "Your products", "/licenses/subscriptions"),
        rows: subscription_rows(state, signed).await?,
        manage: signed.may(Action::ManageSubscriptions),
        done: done.and_then(|d| match d.as_str() {
            "seats" => Some("The number of seats was changed.".to_string()),
            "takeover" => {
                Some("You took over the purchase: admins now assign its licenses.".to_string())
            }
            _ => None,
        }),
        failed,
        error: error.clone(),
    };
    let body = page.render()?;
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    Ok((status, Html(body)).into_response())
}

async fn subscriptions(
    State(state): State<WebState>,
    signed: Signed,
    Query(q): Query<Done>,
) -> WebResult {
    signed.require(Action::ReadLicenses)?;
    render_subscriptions(&state, &signed, None, q.done, None).await
}

#[derive(Deserialize)]
struct SeatsForm {
    #[serde(default)]
    seats: String,
}

fn parse_sub(id: &str) -> WebResult<SubscriptionId> {
    SubscriptionId::parse(id).map_err(|_| {
        WebError::NotFound(
            "There is no such subscription. Open Your products to see the subscriptions.".into(),
        )
    })
}

async fn set_seats(
    State(state): State<WebState>,
    Path(id): Path<String>,
    form: Form<SeatsForm>,
) -> WebResult {
    let signed = form.signed;
    signed.require(Action::ManageSubscriptions)?;
    let sub = parse_sub(&id)?;
    let typed = form.data.seats.trim().to_string();
    let seats = match typed.parse::<i64>() {
        Ok(n) if n >= 0 => n,
        _ => {
            return render_subscriptions(
                &state,
                &signed,
                Some(format!(
                    "\"{typed}\" is not a number of seats. Type a whole number, 0 or more."
                )),
                None,
                Some((id, typed)),
            )
            .await
        }
    };
    match state
        .app
        .set_seats(&signed.tenant, sub, seats, false, &signed.actor)
        .await
    {
        Ok(_) => Ok(Redirect::to("/licenses/subscriptions?done=seats").into_response()),
        Err(e) => {
            let msg = fixable(e)?;
            render_subscriptions(&state, &signed, Some(msg), None, Some((id, typed))).await
        }
    }
}

#[derive(Deserialize)]
struct Empty {}

async fn take_over(
    State(state): State<WebState>,
    Path(id): Path<String>,
    form: Form<Empty>,
) -> WebResult {
    let signed = form.signed;
    signed.require(Action::ManageSubscriptions)?;
    let sub = parse_sub(&id)?;
    match state
        .app
        .take_over(&signed.tenant, sub, &signed.actor)
        .await
    {
        Ok(_) => Ok(Redirect::to("/licenses/subscriptions?done=takeover").into_response()),
        Err(e) => {
            let msg = fixable(e)?;
            render_subscriptions(&state, &signed, Some(msg), None, None).await
        }
    }
}

// ---------------------------------------------------------------- product details

struct HolderRow {
    id: String,
    name: String,
    upn: String,
    /// "Direct" or the group's name.
    via: String,
    group_id: Option<String>,
    direct: bool,
    state: String,
    state_class: &'static str,
    reason: String,
}

struct GroupRow {
    id: String,
    name: String,
    licensed: i64,
    errors: i64,
}

#[derive(Template)]
#[template(path = "licenses/product.html")]
struct ProductPage {
    chrome: Chrome,
    p: SkuRow,
    tab: &'static str,
    holders: Vec<HolderRow>,
    groups: Vec<GroupRow>,
    can_assign: bool,
    can_assign_groups: bool,
    error: Option<String>,
    done: Option<String>,
    /// The groups the admin typed (kept after an error).
    groups_text: String,
    /// The cursor of the Users tab's next page.
    next: Option<String>,
    /// Not the first page.
    paged: bool,
}

#[derive(Deserialize, Default)]
struct ProductQuery {
    #[serde(default)]
    tab: Option<String>,
    #[serde(default)]
    done: Option<String>,
    /// The Users tab's page: the last user id of the previous page.
    #[serde(default)]
    after: Option<String>,
}

/// Holders per page of the Users tab.
pub const HOLDERS_PAGE: usize = 100;

#[allow(clippy::too_many_arguments)]
async fn render_product(
    state: &WebState,
    signed: &Signed,
    p: SkuRow,
    tab: &str,
    error: Option<String>,
    done: Option<String>,
    groups_text: String,
    after: Option<skuld_domain::UserId>,
) -> WebResult {
    let tab = if tab == "groups" { "groups" } else { "users" };
    let mut holders = Vec::new();
    let mut groups = Vec::new();
    let mut next = None;
    if tab == "users" {
        let (page, more) = state
            .app
            .product_holders_page(&signed.tenant, p.sku_id, after, HOLDERS_PAGE)
            .await?;
        next = more.map(|u| u.to_string());
        for h in page {
            for path in &h.paths {
                let (state_label, class) = if path.applied {
                    if path.error == skuld_domain::licensing::LicenseError::None {
                        ("Assigned".to_string(), "ok")
                    } else {
                        (format!("Assigned, with an error ({})", path.error), "warn")
                    }
                } else {
                    (format!("Error: {}", path.error), "bad")
                };
                holders.push(HolderRow {
                    id: h.user.id.to_string(),
                    name: h.user.display_name.clone(),
                    upn: h.user.upn.clone(),
                    via: path
                        .group
                        .as_ref()
                        .map(|g| g.1.clone())
                        .unwrap_or_else(|| "Direct".into()),
                    group_id: path.group.as_ref().map(|g| g.0.to_string()),
                    direct: path.group.is_none(),
                    state: state_label,
                    state_class: class,
                    reason: path.detail.clone(),
                });
            }
        }
    } else {
        for g in state.app.product_groups(&signed.tenant, p.sku_id).await? {
            groups.push(GroupRow {
                id: g.group.id.to_string(),
                name: g.group.display_name.clone(),
                licensed: g.licensed_users,
                errors: g.error_users,
            });
        }
    }
    let done = done.and_then(|d| match d.as_str() {
        "unassigned" => Some("The licenses were unassigned.".to_string()),
        "applied" => Some(
            "The change was made. Each user's state below is what it did; compare it with the preview."
                .to_string(),
        ),
        "groups" => Some(
            "The groups' licenses were saved; members get them in a moment (see each group's status)."
                .to_string(),
        ),
        _ => None,
    });
    let page = ProductPage {
        chrome: Chrome::new(signed, p.display_name.clone(), "/licenses"),
        p,
        tab,
        holders,
        groups,
        can_assign: signed.may(Action::AssignUserLicense),
        can_assign_groups: signed.may(Action::AssignGroupLicense),
        error: error.clone(),
        done,
        groups_text,
        next,
        paged: after.is_some(),
    };
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    Ok((status, Html(page.render()?)).into_response())
}

async fn product(
    State(state): State<WebState>,
    signed: Signed,
    Path(part): Path<String>,
    Query(q): Query<ProductQuery>,
) -> WebResult {
    signed.require(Action::ReadLicenses)?;
    let p = find_product(&state, &signed, &part).await?;
    let after = match q.after.as_deref().filter(|a| !a.is_empty()) {
        Some(a) => Some(skuld_domain::UserId::parse(a).map_err(|_| {
            WebError::BadRequest(
                "That page of users does not exist. Open the product again.".into(),
            )
        })?),
        None => None,
    };
    render_product(
        &state,
        &signed,
        p,
        q.tab.as_deref().unwrap_or("users"),
        None,
        q.done,
        String::new(),
        after,
    )
    .await
}

#[derive(Deserialize)]
struct PickedUsers {
    #[serde(default)]
    user: Vec<String>,
}

/// Unassign licenses: only direct assignments (a license from a group is changed on the
/// group, G13). All or nothing, through `assign_licenses_reported`.
async fn unassign(
    State(state): State<WebState>,
    Path(part): Path<String>,
    form: Form<PickedUsers>,
) -> WebResult {
    let signed = form.signed;
    signed.require(Action::AssignUserLicense)?;
    let p = find_product(&state, &signed, &part).await?;
    let users = dedupe(form.data.user);
    if users.is_empty() {
        return render_product(
            &state,
            &signed,
            p,
            "users",
            Some(
                "Tick the users whose license you want to unassign, then choose Unassign licenses."
                    .into(),
            ),
            None,
            String::new(),
            None,
        )
        .await;
    }
    match state
        .app
        .assign_licenses_reported(
            &signed.tenant,
            &users,
            &[],
            &[p.sku_id],
            false,
            &signed.actor,
        )
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!(
            "/licenses/{}?tab=users&done=unassigned",
            p.part_number
        ))
        .into_response()),
        Err(e) => {
            let msg = fixable(e)?;
            render_product(
                &state,
                &signed,
                p,
                "users",
                Some(msg),
                None,
                String::new(),
                None,
            )
            .await
        }
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

// ---------------------------------------------------------------- assign licenses

struct PlanBox {
    id: String,
    name: String,
    on: bool,
}

#[derive(Template)]
#[template(path = "licenses/assign.html")]
struct AssignPage {
    chrome: Chrome,
    p: SkuRow,
    plans: Vec<PlanBox>,
    users_text: String,
    /// Chosen in the type-ahead: id and label.
    chosen: Vec<(String, String)>,
    error: Option<String>,
}

struct Outcome {
    user: String,
    text: String,
}

#[derive(Template)]
#[template(path = "licenses/results.html")]
struct ResultsPage {
    chrome: Chrome,
    p: SkuRow,
    got: Vec<Outcome>,
    failed: Vec<Outcome>,
}

async fn plan_boxes(
    state: &WebState,
    signed: &Signed,
    p: &SkuRow,
    on: Option<&[String]>,
) -> WebResult<Vec<PlanBox>> {
    let catalog = state.app.tenant_catalog(&signed.tenant).await?;
    let Some(product) = catalog.product(&p.sku_id) else {
        return Ok(Vec::new());
    };
    Ok(product
        .plans
        .iter()
        .map(|id| {
            let s = id.to_string();
            PlanBox {
                on: on.is_none_or(|v| v.contains(&s)),
                name: catalog
                    .plan(id)
                    .map(|pl| pl.friendly_name.clone())
                    .filter(|n| !n.is_empty())
                    .unwrap_or_else(|| catalog.plan_name(id)),
                id: s,
            }
        })
        .collect())
}

async fn assign_form(
    State(state): State<WebState>,
    signed: Signed,
    Path(part): Path<String>,
) -> WebResult {
    signed.require(Action::AssignUserLicense)?;
    let p = find_product(&state, &signed, &part).await?;
    let plans = plan_boxes(&state, &signed, &p, None).await?;
    html(&AssignPage {
        chrome: Chrome::new(
            &signed,
            format!("Assign licenses: {}", p.display_name),
            "/licenses",
        ),
        p,
        plans,
        users_text: String::new(),
        chosen: Vec::new(),
        error: None,
    })
}

#[derive(Deserialize)]
struct AssignForm {
    /// Ids chosen in the type-ahead.
    #[serde(default)]
    user: Vec<String>,
    /// The no-JavaScript fallback: user names, one per line.
    #[serde(default)]
    users: String,
    /// The apps left on.
    #[serde(default)]
    plan: Vec<String>,
}

/// The users a problem is about.
fn problem_users(p: &Problem) -> Vec<String> {
    match p {
        Problem::UnknownUser { key, .. } => vec![key.clone()],
        Problem::NoUsageLocation { user, .. }
        | Problem::ProhibitedInLocation { user, .. }
        | Problem::Inherited { user, .. }
        | Problem::NotAssigned { user, .. }
        | Problem::Conflict { user, .. }
        | Problem::Dependency { user, .. }
        | Problem::RemovalBreaksDependency { user, .. } => vec![user.clone()],
        Problem::NoSeats { users, .. } => users.clone(),
        _ => Vec::new(),
    }
}

fn outcome_text(o: &ChangeOutcome) -> String {
    match o {
        ChangeOutcome::Assigned => "License assigned.".into(),
        ChangeOutcome::Changed { on, off } => {
            let names = |v: &[skuld_app::PlanRef]| {
                v.iter()
                    .map(|p| p.friendly.clone())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let mut s = String::from("Already had it; apps changed.");
            if !on.is_empty() {
                s.push_str(&format!(" Turned on: {}.", names(on)));
            }
            if !off.is_empty() {
                s.push_str(&format!(" Turned off: {}.", names(off)));
            }
            s
        }
        ChangeOutcome::Removed => "License removed.".into(),
        _ => "Already had it with these apps; nothing changed.".into(),
    }
}

async fn assign(
    State(state): State<WebState>,
    Path(part): Path<String>,
    form: Form<AssignForm>,
) -> WebResult {
    let signed = form.signed;
    signed.require(Action::AssignUserLicense)?;
    let p = find_product(&state, &signed, &part).await?;
    let data = form.data;
    let mut keys = data.user.clone();
    keys.extend(data.users.lines().map(str::to_string));
    let keys = dedupe(keys);
    let plans = plan_boxes(&state, &signed, &p, Some(&data.plan)).await?;
    let again = |error: String, plans: Vec<PlanBox>, p: SkuRow| AssignPage {
        chrome: Chrome::new(
            &signed,
            format!("Assign licenses: {}", p.display_name),
            "/licenses",
        ),
        p,
        plans,
        users_text: data.users.clone(),
        chosen: data.user.iter().map(|u| (u.clone(), u.clone())).collect(),
        error: Some(error),
    };
    let refuse = |page: AssignPage| -> WebResult {
        Ok((StatusCode::BAD_REQUEST, Html(page.render()?)).into_response())
    };
    if keys.is_empty() {
        return refuse(again(
            "Choose at least one user: type a name and pick from the results, or write user names one per line.".into(),
            plans,
            p,
        ));
    }
    if keys.len() > MAX_PICK {
        return refuse(again(
            format!(
                "You can assign licenses to at most {MAX_PICK} users at a time; you chose {}. Choose fewer, or use a group.",
                keys.len()
            ),
            plans,
            p,
        ));
    }
    let disabled: Vec<PlanId> = plans
        .iter()
        .filter(|b| !b.on)
        .filter_map(|b| PlanId::parse(&b.id).ok())
        .collect();
    let spec = [LicenseSpec {
        sku: p.sku_id,
        disabled_plans: disabled,
    }];
    let mut failed: Vec<Outcome> = Vec::new();
    let mut todo = keys.clone();
    // At most twice: the users a refusal names are left out and the rest are assigned.
    for _ in 0..2 {
        match state
            .app
            .assign_licenses_reported(&signed.tenant, &todo, &spec, &[], false, &signed.actor)
            .await
        {
            Ok((_, changes)) => {
                let got = changes
                    .iter()
                    .map(|c| Outcome {
                        user: c.user.clone(),
                        text: outcome_text(&c.outcome),
                    })
                    .collect();
                return html(&ResultsPage {
                    chrome: Chrome::new(
                        &signed,
                        format!("Assign licenses: {}", p.display_name),
                        "/licenses",
                    ),
                    p,
                    got,
                    failed,
                });
            }
            Err(AppError::Refused(r)) => {
                let mut named = Vec::new();
                for problem in &r.problems {
                    let users = problem_users(problem);
                    if users.is_empty() {
                        // Not about one user: nobody can get it.
                        return refuse(again(problem.admin_text(), plans, p));
                    }
                    for u in users {
                        failed.push(Outcome {
                            user: u.clone(),
                            text: problem.admin_text(),
                        });
                        named.push(u);
                    }
                }
                todo.retain(|k| !named.iter().any(|n| n.eq_ignore_ascii_case(k)));
                if todo.is_empty() || named.is_empty() {
                    break;
                }
            }
            Err(e) => {
                let msg = fixable(e)?;
                return refuse(again(msg, plans, p));
            }
        }
    }
    html(&ResultsPage {
        chrome: Chrome::new(
            &signed,
            format!("Assign licenses: {}", p.display_name),
            "/licenses",
        ),
        p,
        got: Vec::new(),
        failed,
    })
}

// ---------------------------------------------------------------- assign to groups

#[derive(Deserialize)]
struct GroupsForm {
    #[serde(default)]
    group: Vec<String>,
    /// The no-JavaScript fallback: group names, one per line.
    #[serde(default)]
    groups: String,
}

async fn assign_groups(
    State(state): State<WebState>,
    Path(part): Path<String>,
    form: Form<GroupsForm>,
) -> WebResult {
    let signed = form.signed;
    signed.require(Action::AssignGroupLicense)?;
    let p = find_product(&state, &signed, &part).await?;
    let mut keys = form.data.group.clone();
    keys.extend(form.data.groups.lines().map(str::to_string));
    let keys = dedupe(keys);
    let text = form.data.groups.clone();
    if keys.is_empty() {
        return render_product(
            &state,
            &signed,
            p,
            "groups",
            Some("Choose at least one group.".into()),
            None,
            text,
            None,
        )
        .await;
    }
    if keys.len() > MAX_PICK {
        let msg = format!(
            "You can assign licenses to at most {MAX_PICK} groups at a time; you chose {}. Choose fewer.",
            keys.len()
        );
        return render_product(&state, &signed, p, "groups", Some(msg), None, text, None).await;
    }
    // Every group must exist before anything is queued.
    let mut ids = Vec::new();
    for k in &keys {
        match state.app.group(&signed.tenant, k).await {
            Ok(g) => ids.push(g.id.to_string()),
            Err(e) => {
                let msg = fixable(e)?;
                return render_product(&state, &signed, p, "groups", Some(msg), None, text, None)
                    .await;
            }
        }
    }
    let spec = [LicenseSpec {
        sku: p.sku_id,
        disabled_plans: Vec::new(),
    }];
    let mut queued = 0;
    for id in &ids {
        match state
            .app
            .queue_group_license(&signed.tenant, id, &spec, &[], &signed.actor)
            .await
        {
            Ok(_) => queued += 1,
            Err(e) => {
                if queued > 0 {
                    state.wake_worker();
                }
                let mut msg = fixable(e)?;
                if queued > 0 {
                    msg = format!(
                        "{msg} (The first {queued} groups were saved; the others were not.)"
                    );
                }
                return render_product(&state, &signed, p, "groups", Some(msg), None, text, None)
                    .await;
            }
        }
    }
    state.wake_worker();
    Ok(Redirect::to(&format!(
        "/licenses/{}?tab=groups&done=groups",
        p.part_number
    ))
    .into_response())
}

// ---------------------------------------------------------------- type-ahead

#[derive(Deserialize, Default)]
struct Pick {
    #[serde(default)]
    q: String,
}

struct Suggestion {
    id: String,
    label: String,
    hint: String,
}

#[derive(Template)]
#[template(path = "licenses/pick.html")]
struct PickList {
    items: Vec<Suggestion>,
    q: String,
}

fn starts(fields: &[Field], q: &str) -> Filter {
    Filter::Or(
        fields
            .iter()
            .map(|f| Filter::StartsWith {
                field: *f,
                prefix: q.to_string(),
            })
            .collect(),
    )
}

async fn pick_users(
    State(state): State<WebState>,
    signed: Signed,
    Query(q): Query<Pick>,
) -> WebResult {
    signed.require(Action::ReadUsers)?;
    let text = q.q.trim().to_string();
    let mut items = Vec::new();
    if !text.is_empty() {
        let query = ListQuery {
            filter: Some(starts(
                &[
                    Field::DisplayName,
                    Field::UserPrincipalName,
                    Field::GivenName,
                    Field::Surname,
                    Field::Mail,
                ],
                &text,
            )),
            limit: 10,
            ..Default::default()
        };
        for u in state.app.list_users(&signed.tenant, &query).await?.items {
            items.push(Suggestion {
                id: u.id.to_string(),
                label: u.display_name,
                hint: u.upn,
            });
        }
    }
    Ok(Html(PickList { items, q: text }.render()?).into_response())
}

async fn pick_groups(
    State(state): State<WebState>,
    signed: Signed,
    Query(q): Query<Pick>,
) -> WebResult {
    signed.require(Action::ReadGroups)?;
    let text = q.q.trim().to_string();
    let mut items = Vec::new();
    if !text.is_empty() {
        let query = ListQuery {
            filter: Some(starts(&[Field::DisplayName, Field::MailNickname], &text)),
            limit: 10,
            ..Default::default()
        };
        for g in state.app.list_groups(&signed.tenant, &query).await?.items {
            items.push(Suggestion {
                id: g.id.to_string(),
                label: g.display_name,
                hint: g.mail_nickname,
            });
        }
    }
    Ok(Html(PickList { items, q: text }.render()?).into_response())
}
