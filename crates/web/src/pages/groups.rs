//! Teams & groups › **Groups** (issue 8 page 8; admin-center.md "Group license problems"): the
//! list with type, membership, licenses and error columns (keyset pages); **Add a group**
//! (security or Microsoft 365; assigned, or dynamic with a rule editor that checks the rule as
//! it is typed, shows the error position and previews who matches); a group's details with the
//! **Members** tab (add through the type-ahead, remove, nested groups, the transitive view) and
//! the **Licenses** tab (products with apps, the members in error with the reason and the fix,
//! **Reprocess**, assign and remove a product); the **Settings** tab (name, description, the
//! membership rule of a dynamic group and its pause, the license priority skuld uses when seats
//! are short (D4), and **Delete group**).

use crate::error::{fixable, WebError, WebResult};
use crate::session::{Form, Signed};
use crate::view::{html, Chrome};
use crate::WebState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use skuld_app::{Action, AppError, GroupPatch, LicenseSpec, Member, NewGroup, RULE_PREVIEW_SCAN};
use skuld_domain::query::{Field, Filter, ListQuery, Order};
use skuld_domain::rule::MembershipRule;
use skuld_domain::{Group, GroupKind, PlanId, SkuId};

/// Groups per page of the list, and members per page of the Members tab.
const PAGE: u32 = 50;
/// Members added or removed at a time (as for licenses: up to 20).
const MAX_MEMBERS: usize = 20;
const MAX_NAME: usize = 256;
const MAX_DESCRIPTION: usize = 1024;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/groups", get(list))
        .route("/groups/new", get(new_form).post(create))
        .route("/groups/rule", post(rule_check))
        .route("/groups/{id}", get(details))
        .route("/groups/{id}/members", post(add_members))
        .route("/groups/{id}/members/remove", post(remove_members))
        .route("/groups/{id}/licenses", post(assign_product))
        .route("/groups/{id}/licenses/remove", post(remove_product))
        .route("/groups/{id}/reprocess", post(reprocess))
        .route("/groups/{id}/settings", post(save_settings))
        .route("/groups/{id}/delete", post(delete))
}

fn kind_label(g: &Group) -> &'static str {
    match g.kind {
        GroupKind::Microsoft365 => "Microsoft 365",
        GroupKind::Security => "Security",
    }
}

fn membership_label(g: &Group) -> &'static str {
    if g.is_dynamic() {
        "Dynamic"
    } else {
        "Assigned"
    }
}

// ---------------------------------------------------------------- list

struct Row {
    id: String,
    name: String,
    kind: &'static str,
    membership: &'static str,
    licenses: String,
    licensed: i64,
    errors: i64,
}

#[derive(Template)]
#[template(path = "groups/list.html")]
struct ListPage {
    chrome: Chrome,
    rows: Vec<Row>,
    q: String,
    next: Option<String>,
    can_create: bool,
    first_page: bool,
    done: Option<String>,
}

#[derive(Deserialize, Default)]
struct ListQueryForm {
    #[serde(default)]
    q: String,
    #[serde(default)]
    after: Option<String>,
    #[serde(default)]
    done: Option<String>,
}

async fn list(
    State(state): State<WebState>,
    signed: Signed,
    Query(f): Query<ListQueryForm>,
) -> WebResult {
    signed.require(Action::ReadGroups)?;
    let q = f.q.trim().to_string();
    let query = ListQuery {
        filter: (!q.is_empty()).then(|| {
            Filter::Or(vec![
                Filter::StartsWith {
                    field: Field::DisplayName,
                    prefix: q.clone(),
                },
                Filter::StartsWith {
                    field: Field::MailNickname,
                    prefix: q.clone(),
                },
            ])
        }),
        order: vec![Order {
            field: Field::DisplayName,
            descending: false,
        }],
        after: f.after.clone().filter(|a| !a.is_empty()),
        limit: PAGE,
        ..Default::default()
    };
    let page = state.app.list_groups(&signed.tenant, &query).await?;
    let stats = state.app.group_license_stats(&signed.tenant).await?;
    let licenses = state.app.group_licenses(&signed.tenant).await?;
    let catalog = state.app.tenant_catalog(&signed.tenant).await?;
    let rows = page
        .items
        .iter()
        .map(|g| {
            let (licensed, errors) = stats.get(&g.id).copied().unwrap_or((0, 0));
            let mut names: Vec<String> = licenses
                .get(&g.id)
                .into_iter()
                .flatten()
                .map(|(sku, _)| {
                    catalog
                        .product(sku)
                        .map(|p| p.display_name.clone())
                        .unwrap_or_else(|| sku.to_string())
                })
                .collect();
            names.sort();
            Row {
                id: g.id.to_string(),
                name: g.display_name.clone(),
                kind: kind_label(g),
                membership: membership_label(g),
                licenses: names.join(", "),
                licensed,
                errors,
            }
        })
        .collect();
    html(&ListPage {
        chrome: Chrome::new(&signed, "Groups", "/groups"),
        rows,
        q,
        next: page.next,
        can_create: signed.may(Action::ManageGroups),
        first_page: f.after.is_none_or(|a| a.is_empty()),
        done: f.done.filter(|d| d == "deleted").map(|_| {
            "The group was deleted; its members lost the licenses they had only from it."
                .to_string()
        }),
    })
}

// ---------------------------------------------------------------- create

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
struct NewForm {
    /// `security` or `m365`.
    kind: String,
    name: String,
    description: String,
    nickname: String,
    /// `assigned` or `dynamic`.
    membership: String,
    rule: String,
}

#[derive(Template)]
#[template(path = "groups/new.html")]
struct NewPage {
    chrome: Chrome,
    f: NewForm,
    error: Option<String>,
    check: RuleCheck,
}

async fn new_form(signed: Signed) -> WebResult {
    signed.require(Action::ManageGroups)?;
    let f = NewForm {
        kind: "security".into(),
        membership: "assigned".into(),
        ..Default::default()
    };
    html(&NewPage {
        chrome: Chrome::new(&signed, "Add a group", "/groups"),
        f,
        error: None,
        check: RuleCheck::default(),
    })
}

/// The rule editor's answer: the error with its position, or who matches.
#[derive(Template, Default)]
#[template(path = "groups/rule.html")]
struct RuleCheck {
    /// Nothing typed yet.
    empty: bool,
    error: Option<String>,
    /// The rule around the error: before, the character at the position, after.
    marked: Option<(String, String, String)>,
    position: usize,
    matches: usize,
    complete: bool,
    scanned: usize,
    first: Vec<(String, String, String)>,
    checked: bool,
}

impl RuleCheck {
    fn scan_limit(&self) -> usize {
        RULE_PREVIEW_SCAN
    }
}

async fn check_rule(state: &WebState, signed: &Signed, text: &str) -> WebResult<RuleCheck> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(RuleCheck {
            empty: true,
            ..Default::default()
        });
    }
    match state
        .app
        .preview_rule(&signed.tenant, text, &signed.actor)
        .await?
    {
        Err(e) => {
            let chars: Vec<char> = text.chars().collect();
            let at = e.position.saturating_sub(1).min(chars.len());
            let before: String = chars[..at].iter().collect();
            let here: String = chars.get(at).map(|c| c.to_string()).unwrap_or_default();
            let after: String = chars.get(at + 1..).unwrap_or_default().iter().collect();
            Ok(RuleCheck {
                error: Some(format!(
                    "The rule has an error at position {}: expected {}, found {}.",
                    e.position, e.expected, e.found
                )),
                marked: Some((before, here, after)),
                position: e.position,
                checked: true,
                ..Default::default()
            })
        }
        Ok(p) => Ok(RuleCheck {
            matches: p.matches,
            complete: p.complete,
            scanned: p.scanned,
            first: p
                .first
                .iter()
                .map(|u| (u.id.to_string(), u.display_name.clone(), u.upn.clone()))
                .collect(),
            checked: true,
            ..Default::default()
        }),
    }
}

/// `POST /groups/rule` (htmx, as the rule is typed): checks the rule and previews who matches.
async fn rule_check(State(state): State<WebState>, form: Form<NewForm>) -> WebResult {
    let signed = form.signed;
    signed.require(Action::ManageGroups)?;
    let check = check_rule(&state, &signed, &form.data.rule).await?;
    Ok(Html(check.render()?).into_response())
}

async fn create(State(state): State<WebState>, form: Form<NewForm>) -> WebResult {
    let signed = form.signed;
    signed.require(Action::ManageGroups)?;
    let f = form.data;
    let dynamic = f.membership == "dynamic";
    let mut check = RuleCheck::default();
    let error = if f.name.trim().is_empty() {
        Some("Type a name for the group.".to_string())
    } else if f.name.trim().chars().count() > MAX_NAME {
        Some(format!(
            "A group name can be at most {MAX_NAME} characters long; this one has {}. Shorten it.",
            f.name.trim().chars().count()
        ))
    } else if f.description.trim().chars().count() > MAX_DESCRIPTION {
        Some(format!(
            "A description can be at most {MAX_DESCRIPTION} characters long. Shorten it."
        ))
    } else if dynamic && f.rule.trim().is_empty() {
        Some(
            "Type the membership rule of the dynamic group, e.g. user.department -eq \"Sales\"."
                .to_string(),
        )
    } else if dynamic && MembershipRule::parse(f.rule.trim()).is_err() {
        check = check_rule(&state, &signed, &f.rule).await?;
        check.error.clone()
    } else {
        None
    };
    let again = |error: String, check: RuleCheck, f: NewForm| -> WebResult {
        let page = NewPage {
            chrome: Chrome::new(&signed, "Add a group", "/groups"),
            f,
            error: Some(error),
            check,
        };
        Ok((StatusCode::BAD_REQUEST, Html(page.render()?)).into_response())
    };
    if let Some(e) = error {
        return again(e, check, f);
    }
    let m365 = f.kind == "m365";
    let n = NewGroup {
        display_name: f.name.trim().to_string(),
        description: Some(f.description.trim().to_string()).filter(|d| !d.is_empty()),
        mail_nickname: Some(f.nickname.trim().to_string()).filter(|d| !d.is_empty()),
        kind: if m365 {
            GroupKind::Microsoft365
        } else {
            GroupKind::Security
        },
        security_enabled: !m365,
        mail_enabled: m365,
        membership_rule: dynamic.then(|| f.rule.trim().to_string()),
        license_priority: 0,
    };
    match state
        .app
        .create_group(&signed.tenant, n, &signed.actor)
        .await
    {
        Ok(g) => Ok(Redirect::to(&format!("/groups/{}?done=created", g.id)).into_response()),
        Err(e) => {
            let msg = fixable(e)?;
            again(msg, RuleCheck::default(), f)
        }
    }
}

// ---------------------------------------------------------------- details

struct MemberRow {
    id: String,
    name: String,
    detail: String,
    group: bool,
}

struct LicenseRow {
    sku: String,
    part: String,
    name: String,
    off: String,
}

struct ErrorRow {
    user: String,
    product: String,
    error: String,
    reason: String,
    fix: String,
}

struct PlanBox {
    value: String,
    name: String,
}

struct ProductChoice {
    id: String,
    name: String,
    available: i64,
    plans: Vec<PlanBox>,
}

#[derive(Template)]
#[template(path = "groups/group.html")]
struct GroupPage {
    chrome: Chrome,
    g: Group,
    id: String,
    kind: &'static str,
    membership: &'static str,
    tab: &'static str,
    done: Option<String>,
    error: Option<String>,
    // Members tab.
    members: Vec<MemberRow>,
    transitive: bool,
    next: Option<String>,
    member_users: usize,
    transitive_users: usize,
    transitive_exact: bool,
    member_of: Vec<String>,
    can_members: bool,
    members_text: String,
    // Licenses tab.
    licenses: Vec<LicenseRow>,
    licensed_users: i64,
    errors: Vec<ErrorRow>,
    error_users: usize,
    errors_shown: usize,
    processing: String,
    guest_warning: Option<String>,
    can_license: bool,
    products: Vec<ProductChoice>,
    // Settings tab.
    settings: SettingsForm,
    can_edit: bool,
    can_priority: bool,
}

#[derive(Deserialize, Default)]
struct DetailsQuery {
    #[serde(default)]
    tab: Option<String>,
    #[serde(default)]
    view: Option<String>,
    #[serde(default)]
    after: Option<String>,
    #[serde(default)]
    done: Option<String>,
}

/// What to do about a member's license error (admin-center.md error kinds).
fn fix_text(error: &str, product: &str) -> String {
    match error {
        "CountViolation" => format!(
            "Buy more licenses of {product} (Billing › Your products) or free some: the member gets one as soon as a seat is free."
        ),
        "MutuallyExclusiveViolation" => format!(
            "An app of {product} conflicts with an app of another license of the member: turn one of the apps off on this group's license, or remove the member's other license."
        ),
        "DependencyViolation" => format!(
            "An app of {product} needs another app that is off: turn the required app on in this group's license."
        ),
        "ProhibitedInUsageLocationViolation" => format!(
            "An app of {product} isn't available in the member's usage location: change the member's location, or turn the app off on this group's license."
        ),
        "UniquenessViolation" => {
            "Another object uses the member's e-mail address: fix the address on the user, then choose Reprocess.".into()
        }
        _ => "Another product of this group could not be assigned to the member: fix that one first, then choose Reprocess.".into(),
    }
}

fn parse_member_id(id: &str) -> WebResult<uuid::Uuid> {
    uuid::Uuid::parse_str(id).map_err(|_| {
        WebError::NotFound("There is no such member. Reload the group and try again.".into())
    })
}

#[allow(clippy::too_many_arguments)]
async fn render_group(
    state: &WebState,
    signed: &Signed,
    id: &str,
    q: DetailsQuery,
    error: Option<String>,
    members_text: String,
) -> WebResult {
    render_group_with(state, signed, id, q, error, members_text, None).await
}

/// The group page; `settings` keeps what the admin typed in the Settings tab when it is shown
/// again with an error (otherwise the tab shows the group's values).
async fn render_group_with(
    state: &WebState,
    signed: &Signed,
    id: &str,
    q: DetailsQuery,
    error: Option<String>,
    members_text: String,
    settings: Option<SettingsForm>,
) -> WebResult {
    if uuid::Uuid::parse_str(id).is_err() {
        return Err(WebError::NotFound(
            "There is no such group. Open Groups to see the groups.".into(),
        ));
    }
    let view = match state.app.group_view(&signed.tenant, id).await {
        Ok(v) => v,
        Err(e) if matches!(e, AppError::NotFound(_)) || e.refusal().is_some() => {
            return Err(WebError::NotFound(
                "There is no such group. Open Groups to see the groups.".into(),
            ))
        }
        Err(e) => return Err(e.into()),
    };
    let g = view.group.clone();
    let tab = match q.tab.as_deref() {
        Some("licenses") => "licenses",
        Some("settings") => "settings",
        _ => "members",
    };
    let transitive = q.view.as_deref() == Some("transitive");
    let mut members = Vec::new();
    let mut next = None;
    let mut products = Vec::new();
    if tab == "members" {
        let after = q
            .after
            .as_deref()
            .and_then(|a| uuid::Uuid::parse_str(a).ok());
        let (_, page, more) = state
            .app
            .group_members_page(&signed.tenant, id, transitive, after, PAGE as i64)
            .await?;
        if more {
            next = page.last().map(|m| m.id().to_string());
        }
        for m in page {
            members.push(match m {
                Member::User(u) => MemberRow {
                    id: u.id.to_string(),
                    name: u.display_name,
                    detail: u.upn,
                    group: false,
                },
                Member::Group(c) => MemberRow {
                    id: c.id.to_string(),
                    detail: format!("{} group", membership_label(&c)),
                    name: c.display_name,
                    group: true,
                },
            });
        }
    } else if signed.may(Action::AssignGroupLicense) && g.is_licensable() {
        let catalog = state.app.tenant_catalog(&signed.tenant).await?;
        for r in state.app.sku_rows(&signed.tenant).await? {
            let sid = r.sku_id.to_string();
            let plans = catalog
                .product(&r.sku_id)
                .map(|p| {
                    p.plans
                        .iter()
                        .map(|pl| PlanBox {
                            value: pl.to_string(),
                            name: catalog
                                .plan(pl)
                                .map(|x| x.friendly_name.clone())
                                .filter(|n| !n.is_empty())
                                .unwrap_or_else(|| catalog.plan_name(pl)),
                        })
                        .collect()
                })
                .unwrap_or_default();
            products.push(ProductChoice {
                id: sid,
                name: r.display_name,
                available: r.available,
                plans,
            });
        }
    }
    let rows = state.app.sku_rows(&signed.tenant).await?;
    let licenses = view
        .licenses
        .iter()
        .map(|(part, name, off)| LicenseRow {
            sku: rows
                .iter()
                .find(|r| &r.part_number == part)
                .map(|r| r.sku_id.to_string())
                .unwrap_or_default(),
            part: part.clone(),
            name: if name.is_empty() {
                part.clone()
            } else {
                name.clone()
            },
            off: off.join(", "),
        })
        .collect();
    let product_name = |part: &str| {
        rows.iter()
            .find(|r| r.part_number == part)
            .map(|r| r.display_name.clone())
            .unwrap_or_else(|| part.to_string())
    };
    let errors = view
        .errors
        .iter()
        .map(|(user, part, error, reason)| {
            let product = product_name(part);
            ErrorRow {
                fix: fix_text(error, &product),
                user: user.clone(),
                product,
                error: error.clone(),
                reason: reason.clone(),
            }
        })
        .collect();
    let processing = state
        .app
        .license_processing_state(&signed.tenant, g.id)
        .await?;
    let done = q.done.and_then(|d| match d.as_str() {
        "created" => Some("The group was created.".to_string()),
        "added" => Some("The members were added; their licenses from this group follow at once.".to_string()),
        "removed" => Some("The members were removed; licenses they had only from this group were taken away.".to_string()),
        "assigned" => Some("The group's licenses were saved; members get them in a moment (see the status below).".to_string()),
        "unassigned" => Some("The product was removed from the group; its members lose it in a moment unless they have it another way.".to_string()),
        "reprocessed" => Some("The members' licenses were evaluated again.".to_string()),
        "saved" => Some("The group's settings were saved.".to_string()),
        _ => None,
    });
    let page = GroupPage {
        chrome: Chrome::new(signed, g.display_name.clone(), "/groups"),
        id: g.id.to_string(),
        kind: kind_label(&g),
        membership: membership_label(&g),
        tab,
        done,
        error: error.clone(),
        members,
        transitive,
        next,
        member_users: view.member_users,
        transitive_users: view.transitive_users,
        transitive_exact: view.transitive_exact,
        member_of: view.member_of.clone(),
        can_members: signed.may(Action::ManageMembers) && !g.is_dynamic(),
        members_text,
        licenses,
        licensed_users: view.licensed_users,
        errors,
        error_users: view.error_users,
        errors_shown: skuld_app::ERRORS_SHOWN,
        processing,
        guest_warning: view.guest_warning.clone(),
        can_license: signed.may(Action::AssignGroupLicense) && g.is_licensable(),
        products,
        settings: settings.unwrap_or_else(|| SettingsForm::of(&g)),
        can_edit: signed.may(Action::ManageGroups),
        can_priority: signed.may(Action::ManageGroups) || signed.may(Action::AssignGroupLicense),
        g,
    };
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    Ok((status, Html(page.render()?)).into_response())
}

async fn details(
    State(state): State<WebState>,
    signed: Signed,
    Path(id): Path<String>,
    Query(q): Query<DetailsQuery>,
) -> WebResult {
    signed.require(Action::ReadGroups)?;
    render_group(&state, &signed, &id, q, None, String::new()).await
}

// ---------------------------------------------------------------- members

#[derive(Deserialize, Default)]
#[serde(default)]
struct MembersForm {
    /// Ids chosen in the type-ahead (users and groups).
    member: Vec<String>,
    /// The no-JavaScript fallback: user names or group names, one per line.
    members: String,
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

fn members_tab() -> DetailsQuery {
    DetailsQuery {
        tab: Some("members".into()),
        ..Default::default()
    }
}

async fn change(
    state: &WebState,
    signed: &Signed,
    id: &str,
    f: MembersForm,
    add: bool,
) -> WebResult {
    signed.require(Action::ManageMembers)?;
    let text = f.members.clone();
    let mut keys = f.member;
    keys.extend(f.members.lines().map(str::to_string));
    let keys = dedupe(keys);
    if keys.is_empty() {
        let m = if add {
            "Choose at least one user or group to add: type a name and pick from the results, or write names one per line."
        } else {
            "Tick the members you want to remove, then choose Remove members."
        };
        return render_group(state, signed, id, members_tab(), Some(m.into()), text).await;
    }
    if keys.len() > MAX_MEMBERS {
        let m = format!(
            "You can change at most {MAX_MEMBERS} members at a time; you chose {}. Choose fewer.",
            keys.len()
        );
        return render_group(state, signed, id, members_tab(), Some(m), text).await;
    }
    match state
        .app
        .change_members(&signed.tenant, id, &keys, &signed.actor, add)
        .await
    {
        Ok(()) => Ok(Redirect::to(&format!(
            "/groups/{id}?tab=members&done={}",
            if add { "added" } else { "removed" }
        ))
        .into_response()),
        Err(e) => {
            let m = format!("Nothing was changed: {}", admin_message_of(e)?);
            render_group(state, signed, id, members_tab(), Some(m), text).await
        }
    }
}

fn admin_message_of(e: AppError) -> WebResult<String> {
    if matches!(&e, AppError::NotFound(_)) {
        return Err(WebError::NotFound(
            "There is no such group. Open Groups to see the groups.".into(),
        ));
    }
    fixable(e)
}

async fn add_members(
    State(state): State<WebState>,
    Path(id): Path<String>,
    form: Form<MembersForm>,
) -> WebResult {
    parse_member_id(&id)?;
    change(&state, &form.signed, &id, form.data, true).await
}

async fn remove_members(
    State(state): State<WebState>,
    Path(id): Path<String>,
    form: Form<MembersForm>,
) -> WebResult {
    parse_member_id(&id)?;
    change(&state, &form.signed, &id, form.data, false).await
}

// ---------------------------------------------------------------- licenses

#[derive(Deserialize, Default)]
#[serde(default)]
struct ProductForm {
    sku: String,
    /// Apps left on, `sku:plan` (only of the chosen product count).
    on: Vec<String>,
}

fn licenses_tab() -> DetailsQuery {
    DetailsQuery {
        tab: Some("licenses".into()),
        ..Default::default()
    }
}

async fn tenant_sku(state: &WebState, signed: &Signed, sku: &str) -> WebResult<Option<SkuId>> {
    let rows = state.app.sku_rows(&signed.tenant).await?;
    Ok(rows
        .iter()
        .find(|r| r.sku_id.to_string() == sku.trim())
        .map(|r| r.sku_id))
}

async fn assign_product(
    State(state): State<WebState>,
    Path(id): Path<String>,
    form: Form<ProductForm>,
) -> WebResult {
    let signed = form.signed;
    signed.require(Action::AssignGroupLicense)?;
    parse_member_id(&id)?;
    let f = form.data;
    let Some(sku) = tenant_sku(&state, &signed, &f.sku).await? else {
        let m = if f.sku.trim().is_empty() {
            "Choose a product to assign to the group.".to_string()
        } else {
            format!(
                "Your organization has no product \"{}\". Choose one from the list (Billing › Licenses shows what you own).",
                f.sku.trim()
            )
        };
        return render_group(&state, &signed, &id, licenses_tab(), Some(m), String::new()).await;
    };
    let catalog = state.app.tenant_catalog(&signed.tenant).await?;
    let prefix = format!("{sku}:");
    let on: Vec<&str> =
        f.on.iter()
            .filter_map(|o| o.strip_prefix(&prefix))
            .collect();
    let disabled: Vec<PlanId> = catalog
        .product(&sku)
        .map(|p| {
            p.plans
                .iter()
                .filter(|pl| !on.contains(&pl.to_string().as_str()))
                .copied()
                .collect()
        })
        .unwrap_or_default();
    let spec = [LicenseSpec {
        sku,
        disabled_plans: disabled,
    }];
    match state
        .app
        .queue_group_license(&signed.tenant, &id, &spec, &[], &signed.actor)
        .await
    {
        Ok(_) => {
            state.wake_worker();
            Ok(Redirect::to(&format!("/groups/{id}?tab=licenses&done=assigned")).into_response())
        }
        Err(e) => {
            let m = admin_message_of(e)?;
            render_group(&state, &signed, &id, licenses_tab(), Some(m), String::new()).await
        }
    }
}

async fn remove_product(
    State(state): State<WebState>,
    Path(id): Path<String>,
    form: Form<ProductForm>,
) -> WebResult {
    let signed = form.signed;
    signed.require(Action::AssignGroupLicense)?;
    parse_member_id(&id)?;
    let Some(sku) = tenant_sku(&state, &signed, &form.data.sku).await? else {
        let m = "Choose a product of the group to remove.".to_string();
        return render_group(&state, &signed, &id, licenses_tab(), Some(m), String::new()).await;
    };
    match state
        .app
        .queue_group_license(&signed.tenant, &id, &[], &[sku], &signed.actor)
        .await
    {
        Ok(_) => {
            state.wake_worker();
            Ok(Redirect::to(&format!("/groups/{id}?tab=licenses&done=unassigned")).into_response())
        }
        Err(e) => {
            let m = admin_message_of(e)?;
            render_group(&state, &signed, &id, licenses_tab(), Some(m), String::new()).await
        }
    }
}

#[derive(Deserialize, Default)]
struct Empty {}

async fn reprocess(
    State(state): State<WebState>,
    Path(id): Path<String>,
    form: Form<Empty>,
) -> WebResult {
    let signed = form.signed;
    signed.require(Action::AssignGroupLicense)?;
    parse_member_id(&id)?;
    match state
        .app
        .reprocess_group(&signed.tenant, &id, &signed.actor)
        .await
    {
        Ok(_) => Ok(
            Redirect::to(&format!("/groups/{id}?tab=licenses&done=reprocessed")).into_response(),
        ),
        Err(e) => {
            let m = admin_message_of(e)?;
            render_group(&state, &signed, &id, licenses_tab(), Some(m), String::new()).await
        }
    }
}

// ---------------------------------------------------------------- settings

/// The Settings tab's form: the group's properties as typed.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
struct SettingsForm {
    name: String,
    description: String,
    /// The membership rule (dynamic groups only).
    rule: String,
    /// "on" when rule processing is paused.
    paused: Option<String>,
    priority: String,
}

impl SettingsForm {
    fn of(g: &Group) -> SettingsForm {
        SettingsForm {
            name: g.display_name.clone(),
            description: g.description.clone().unwrap_or_default(),
            rule: g.membership_rule.clone().unwrap_or_default(),
            paused: g.rule_paused.then(|| "on".to_string()),
            priority: g.license_priority.to_string(),
        }
    }
}

fn settings_tab() -> DetailsQuery {
    DetailsQuery {
        tab: Some("settings".into()),
        ..Default::default()
    }
}

/// The patch the form asks for, or what is wrong with it in the admin's words. Only what the
/// signed-in admin may change is taken: properties with Groups (or User or Global)
/// Administrator, the priority also with License Administrator.
fn settings_patch(signed: &Signed, g: &Group, f: &SettingsForm) -> Result<GroupPatch, String> {
    let priority = f.priority.trim();
    let priority: i32 = if priority.is_empty() {
        0
    } else {
        priority.parse().ok().filter(|p: &i32| (-1000..=1000).contains(p)).ok_or_else(|| {
            format!("The license priority must be a whole number from -1000 to 1000; \"{priority}\" isn't one.")
        })?
    };
    let mut patch = GroupPatch {
        license_priority: (priority != g.license_priority).then_some(priority),
        ..Default::default()
    };
    if !signed.may(Action::ManageGroups) {
        return Ok(patch);
    }
    let name = f.name.trim();
    if name.is_empty() {
        return Err("Enter a name for the group.".into());
    }
    if name.chars().count() > MAX_NAME {
        return Err(format!(
            "The name can be at most {MAX_NAME} characters long."
        ));
    }
    if name != g.display_name {
        patch.display_name = Some(name.to_string());
    }
    let description = f.description.trim();
    if description.chars().count() > MAX_DESCRIPTION {
        return Err(format!(
            "The description can be at most {MAX_DESCRIPTION} characters long."
        ));
    }
    if description != g.description.as_deref().unwrap_or("") {
        patch.description = Some((!description.is_empty()).then(|| description.to_string()));
    }
    if g.is_dynamic() {
        let rule = f.rule.trim();
        if let Err(e) = MembershipRule::parse(rule) {
            return Err(format!(
                "The membership rule isn't valid: {e}. Correct it, or leave the rule as it was."
            ));
        }
        if Some(rule) != g.membership_rule.as_deref() {
            patch.membership_rule = Some(rule.to_string());
        }
        let paused = f.paused.is_some();
        if paused != g.rule_paused {
            patch.rule_paused = Some(paused);
        }
    }
    Ok(patch)
}

async fn save_settings(
    State(state): State<WebState>,
    Path(id): Path<String>,
    form: Form<SettingsForm>,
) -> WebResult {
    let signed = form.signed;
    if !(signed.may(Action::ManageGroups) || signed.may(Action::AssignGroupLicense)) {
        signed.require(Action::ManageGroups)?;
    }
    parse_member_id(&id)?;
    let f = form.data;
    let g = match state.app.group(&signed.tenant, &id).await {
        Ok(g) => g,
        Err(e) => {
            // A missing group is a 404 page; anything else is shown on the page.
            let m = admin_message_of(e)?;
            return Err(WebError::NotFound(m));
        }
    };
    let patch = match settings_patch(&signed, &g, &f) {
        Ok(p) => p,
        Err(m) => {
            return render_group_with(
                &state,
                &signed,
                &id,
                settings_tab(),
                Some(m),
                String::new(),
                Some(f),
            )
            .await
        }
    };
    match state
        .app
        .update_group(&signed.tenant, &id, patch, &signed.actor)
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/groups/{id}?tab=settings&done=saved")).into_response()),
        Err(e) => {
            let m = format!("Nothing was changed: {}", admin_message_of(e)?);
            render_group_with(
                &state,
                &signed,
                &id,
                settings_tab(),
                Some(m),
                String::new(),
                Some(f),
            )
            .await
        }
    }
}

async fn delete(
    State(state): State<WebState>,
    Path(id): Path<String>,
    form: Form<Empty>,
) -> WebResult {
    let signed = form.signed;
    signed.require(Action::ManageGroups)?;
    parse_member_id(&id)?;
    match state
        .app
        .delete_group(&signed.tenant, &id, &signed.actor)
        .await
    {
        Ok(_) => Ok(Redirect::to("/groups?done=deleted").into_response()),
        Err(e) => {
            let m = format!("The group wasn't deleted: {}", admin_message_of(e)?);
            render_group(&state, &signed, &id, settings_tab(), Some(m), String::new()).await
        }
    }
}
