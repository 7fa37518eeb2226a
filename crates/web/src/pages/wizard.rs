//! Users › **Add a user** (admin-center.md "Add a user (wizard)", rulebook §8.1–§8.2): *Set up
//! the basics*, *Assign product licenses*, *Optional settings*, *Review and finish*, then the
//! new user's credentials to copy or print (Microsoft removed e-mailing passwords in 2024).
//! The steps keep what was typed in hidden fields (no server state); each step is checked on
//! Next and everything again on Finish, and the user, its licenses and its roles are created
//! in one transaction (`App::create_user_with`): all of it or nothing.

use crate::error::{admin_message, capital, WebError, WebResult};
use crate::session::{Form, Signed};
use crate::view::Chrome;
use crate::WebState;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use skuld_app::{Action, AppError, LicenseSpec, NewUser, SkuRow};
use skuld_domain::{DirectoryRole, Password, PlanId, SkuId, Upn, UsageLocation, UserType};

pub fn routes() -> Router<WebState> {
    Router::new().route("/users/add", get(start).post(step))
}

/// The wizard's steps: form value and label.
const STEPS: [(&str, &str); 4] = [
    ("basics", "Set up the basics"),
    ("licenses", "Assign product licenses"),
    ("optional", "Optional settings"),
    ("review", "Review and finish"),
];

/// What the admin typed, carried from step to step. Every field is optional in the form; the
/// checks decide what is required.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct Wizard {
    /// The step this form was on.
    step: String,
    /// `next`, `back` or `finish`.
    go: String,
    first: String,
    last: String,
    display: String,
    username: String,
    domain: String,
    /// `auto` (generate) or `own`.
    pw_mode: String,
    password: String,
    /// `on`: the user must change the password at first sign-in.
    force: String,
    location: String,
    /// `assign` or `none` ("Create user without product license").
    license_mode: String,
    /// Chosen products (sku ids).
    sku: Vec<String>,
    /// Apps left on, `sku:plan` (only sent by the licenses step).
    on: Vec<String>,
    /// Apps turned off, `sku:plan` (carried between steps).
    off: Vec<String>,
    /// `user` ("User (no admin center access)") or `admin` ("Admin center access").
    access: String,
    /// Chosen roles (display names).
    role: Vec<String>,
    job_title: String,
    department: String,
    office: String,
    business_phone: String,
    mobile_phone: String,
    fax: String,
    street: String,
    city: String,
    state: String,
    postal: String,
    country: String,
}

/// The longest value of each free-text field (rulebook §8.3 limits; Graph's 128 for job title).
const LIMITS: [(&str, &str, usize); 14] = [
    ("first", "First name", 64),
    ("last", "Last name", 64),
    ("display", "Display name", 256),
    ("job_title", "Job title", 128),
    ("department", "Department", 64),
    ("office", "Office", 128),
    ("business_phone", "Office phone", 64),
    ("mobile_phone", "Mobile phone", 64),
    ("fax", "Fax number", 64),
    ("street", "Street address", 1023),
    ("city", "City", 128),
    ("state", "State or province", 128),
    ("postal", "ZIP or postal code", 40),
    ("country", "Country or region", 128),
];

impl Wizard {
    fn fresh(signed: &Signed) -> Self {
        Wizard {
            step: "basics".into(),
            domain: signed.tenant.default_domain.clone(),
            pw_mode: "auto".into(),
            force: "on".into(),
            location: signed.tenant.country.to_string(),
            license_mode: "assign".into(),
            access: "user".into(),
            ..Default::default()
        }
    }

    fn text(&self, name: &str) -> &str {
        match name {
            "first" => &self.first,
            "last" => &self.last,
            "display" => &self.display,
            "job_title" => &self.job_title,
            "department" => &self.department,
            "office" => &self.office,
            "business_phone" => &self.business_phone,
            "mobile_phone" => &self.mobile_phone,
            "fax" => &self.fax,
            "street" => &self.street,
            "city" => &self.city,
            "state" => &self.state,
            "postal" => &self.postal,
            "country" => &self.country,
            _ => "",
        }
    }

    fn upn(&self) -> String {
        format!("{}@{}", self.username.trim(), self.domain.trim())
    }

    fn own_password(&self) -> bool {
        self.pw_mode == "own"
    }

    fn licensing(&self) -> bool {
        self.license_mode != "none" && !self.sku.is_empty()
    }

    fn admin(&self) -> bool {
        self.access == "admin"
    }

    /// The fields of every step but `step`, as hidden inputs.
    fn hidden(&self, step: &str) -> Vec<(&'static str, String)> {
        let mut v: Vec<(&'static str, String)> = Vec::new();
        if step != "basics" {
            for (k, val) in [
                ("first", &self.first),
                ("last", &self.last),
                ("display", &self.display),
                ("username", &self.username),
                ("domain", &self.domain),
                ("pw_mode", &self.pw_mode),
            ] {
                v.push((k, val.clone()));
            }
            if self.own_password() {
                v.push(("password", self.password.clone()));
            }
            v.push((
                "force",
                if self.force == "on" { "on" } else { "off" }.into(),
            ));
        }
        if step != "licenses" {
            v.push(("location", self.location.clone()));
            v.push(("license_mode", self.license_mode.clone()));
            v.extend(self.sku.iter().map(|s| ("sku", s.clone())));
            v.extend(self.off.iter().map(|s| ("off", s.clone())));
        }
        if step != "optional" {
            v.push(("access", self.access.clone()));
            v.extend(self.role.iter().map(|s| ("role", s.clone())));
            for (k, _, _) in LIMITS.iter().skip(3) {
                v.push((k, self.text(k).to_string()));
            }
        }
        v
    }
}

/// Country names of the usage-location list; codes skuld does not accept are left out.
fn countries() -> Vec<(&'static str, &'static str)> {
    COUNTRIES
        .iter()
        .copied()
        .filter(|(c, _)| UsageLocation::parse(c).is_ok())
        .collect()
}

fn country_name(code: &str) -> String {
    COUNTRIES
        .iter()
        .find(|(c, _)| c.eq_ignore_ascii_case(code))
        .map(|(c, n)| format!("{n} ({c})"))
        .unwrap_or_else(|| code.to_string())
}

struct PlanBox {
    value: String,
    name: String,
    on: bool,
}

struct ProductBox {
    id: String,
    name: String,
    part: String,
    available: i64,
    total: i64,
    chosen: bool,
    plans: Vec<PlanBox>,
}

struct RoleBox {
    value: String,
    name: String,
    on: bool,
}

#[derive(Template)]
#[template(path = "wizard/wizard.html")]
struct Page {
    chrome: Chrome,
    step: &'static str,
    /// Label and class (`done`, `current`, ``) of each step.
    steps: Vec<(&'static str, &'static str)>,
    w: Wizard,
    hidden: Vec<(&'static str, String)>,
    error: Option<String>,
    domains: Vec<String>,
    products: Vec<ProductBox>,
    countries: Vec<(&'static str, &'static str)>,
    roles: Vec<RoleBox>,
    can_license: bool,
    can_roles: bool,
    /// The review: label and value.
    review: Vec<(&'static str, String)>,
}

#[derive(Template)]
#[template(path = "wizard/done.html")]
struct Done {
    chrome: Chrome,
    name: String,
    upn: String,
    password: String,
    generated: bool,
    force: bool,
    licenses: Vec<String>,
    roles: Vec<String>,
}

async fn tenant_products(state: &WebState, signed: &Signed) -> WebResult<Vec<SkuRow>> {
    Ok(state.app.sku_rows(&signed.tenant).await?)
}

async fn product_boxes(
    state: &WebState,
    signed: &Signed,
    w: &Wizard,
) -> WebResult<Vec<ProductBox>> {
    let catalog = state.app.tenant_catalog(&signed.tenant).await?;
    let mut out = Vec::new();
    for r in tenant_products(state, signed).await? {
        let id = r.sku_id.to_string();
        let plans = catalog
            .product(&r.sku_id)
            .map(|p| {
                p.plans
                    .iter()
                    .map(|pl| {
                        let value = format!("{id}:{pl}");
                        PlanBox {
                            on: !w.off.contains(&value),
                            name: catalog
                                .plan(pl)
                                .map(|x| x.friendly_name.clone())
                                .filter(|n| !n.is_empty())
                                .unwrap_or_else(|| catalog.plan_name(pl)),
                            value,
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        out.push(ProductBox {
            chosen: w.sku.contains(&id),
            id,
            name: r.display_name,
            part: r.part_number,
            available: r.available,
            total: r.total,
            plans,
        });
    }
    Ok(out)
}

fn step_index(step: &str) -> usize {
    STEPS.iter().position(|s| s.0 == step).unwrap_or(0)
}

async fn render(
    state: &WebState,
    signed: &Signed,
    w: Wizard,
    step: usize,
    error: Option<String>,
) -> WebResult {
    let step = step.min(STEPS.len() - 1);
    let key = STEPS[step].0;
    let products = if key == "licenses" {
        product_boxes(state, signed, &w).await?
    } else {
        Vec::new()
    };
    let review = if key == "review" {
        review(state, signed, &w).await?
    } else {
        Vec::new()
    };
    let roles = DirectoryRole::ALL
        .iter()
        .map(|r| RoleBox {
            value: r.display_name().to_string(),
            name: r.display_name().to_string(),
            on: w.role.iter().any(|x| DirectoryRole::parse(x) == Some(*r)),
        })
        .collect();
    let page = Page {
        chrome: Chrome::new(signed, "Add a user", "/users/add"),
        step: key,
        steps: STEPS
            .iter()
            .enumerate()
            .map(|(i, s)| {
                (
                    s.1,
                    if i < step {
                        "done"
                    } else if i == step {
                        "current"
                    } else {
                        ""
                    },
                )
            })
            .collect(),
        hidden: w.hidden(key),
        w,
        error: error.clone(),
        domains: signed.tenant.domains.clone(),
        products,
        countries: countries(),
        roles,
        can_license: signed.may(Action::AssignUserLicense),
        can_roles: signed.may(Action::ManageRoles),
        review,
    };
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    Ok((status, Html(page.render()?)).into_response())
}

async fn review(
    state: &WebState,
    signed: &Signed,
    w: &Wizard,
) -> WebResult<Vec<(&'static str, String)>> {
    let mut v = vec![
        ("Display name", w.display.trim().to_string()),
        ("Username", w.upn()),
        (
            "Password",
            if w.own_password() {
                "Your own password".to_string()
            } else {
                "Created automatically".to_string()
            },
        ),
        (
            "Must change the password at first sign-in",
            if w.force == "on" { "Yes" } else { "No" }.to_string(),
        ),
    ];
    if !w.location.trim().is_empty() {
        v.push(("Location", country_name(w.location.trim())));
    }
    let licenses = if w.licensing() {
        let rows = tenant_products(state, signed).await?;
        let names: Vec<String> = w
            .sku
            .iter()
            .map(|s| {
                let off = w
                    .off
                    .iter()
                    .filter(|o| o.starts_with(&format!("{s}:")))
                    .count();
                let name = rows
                    .iter()
                    .find(|r| r.sku_id.to_string() == *s)
                    .map(|r| r.display_name.clone())
                    .unwrap_or_else(|| s.clone());
                if off > 0 {
                    format!("{name} ({off} app(s) turned off)")
                } else {
                    name
                }
            })
            .collect();
        names.join(", ")
    } else {
        "None (created without a product license)".to_string()
    };
    v.push(("Product licenses", licenses));
    let roles: Vec<String> = parse_roles(w)
        .unwrap_or_default()
        .iter()
        .map(|r| r.display_name().to_string())
        .collect();
    v.push((
        "Roles",
        if roles.is_empty() {
            "User (no admin center access)".to_string()
        } else {
            roles.join(", ")
        },
    ));
    for (k, label, _) in LIMITS.iter().skip(3) {
        let t = w.text(k).trim();
        if !t.is_empty() {
            v.push((label, t.to_string()));
        }
    }
    Ok(v)
}

/// The chosen roles; an unknown role name is the admin's error.
fn parse_roles(w: &Wizard) -> Result<Vec<DirectoryRole>, String> {
    if !w.admin() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for r in &w.role {
        match DirectoryRole::parse(r) {
            Some(x) if !out.contains(&x) => out.push(x),
            Some(_) => {}
            None => {
                return Err(format!(
                    "There is no admin role \"{r}\". Choose roles from the list."
                ))
            }
        }
    }
    Ok(out)
}

/// The apps turned off of one chosen product, checked against the product's plans.
fn disabled_of(w: &Wizard, sku: &str) -> Result<Vec<PlanId>, String> {
    w.off
        .iter()
        .filter_map(|o| o.split_once(':'))
        .filter(|(s, _)| *s == sku)
        .map(|(_, p)| {
            PlanId::parse(p).map_err(|_| {
                format!(
                    "\"{p}\" is not an app of the chosen product. Choose the apps from the list."
                )
            })
        })
        .collect()
}

/// Checks one step; the admin's message when something must be fixed.
async fn check(
    state: &WebState,
    signed: &Signed,
    w: &Wizard,
    step: &str,
) -> WebResult<Option<String>> {
    match step {
        "basics" => check_basics(state, signed, w).await,
        "licenses" => check_licenses(state, signed, w).await,
        "optional" => Ok(check_optional(w)),
        _ => Ok(None),
    }
}

fn too_long(w: &Wizard, fields: &[(&str, &str, usize)]) -> Option<String> {
    fields.iter().find_map(|(k, label, max)| {
        let n = w.text(k).trim().chars().count();
        (n > *max).then(|| {
            format!("{label} can be at most {max} characters long; it has {n}. Shorten it.")
        })
    })
}

async fn check_basics(state: &WebState, signed: &Signed, w: &Wizard) -> WebResult<Option<String>> {
    if w.display.trim().is_empty() {
        return Ok(Some(
            "Type a display name: it is the name people see for this user.".into(),
        ));
    }
    if let Some(m) = too_long(w, &LIMITS[..3]) {
        return Ok(Some(m));
    }
    let name = w.username.trim();
    if name.is_empty() {
        return Ok(Some(
            "Type a username: the part before the @ of the user's sign-in name.".into(),
        ));
    }
    if name.contains('@') {
        return Ok(Some(format!(
            "Type the username without @ and a domain (\"{}\"), and choose the domain from the list.",
            name.split('@').next().unwrap_or_default()
        )));
    }
    if !signed.tenant.has_domain(w.domain.trim()) {
        return Ok(Some(format!(
            "\"{}\" is not a domain of your organization. Choose one of: {}.",
            w.domain.trim(),
            signed.tenant.domains.join(", ")
        )));
    }
    let upn = w.upn();
    if let Err(e) = Upn::parse(&upn) {
        return Ok(Some(format!(
            "{}. A username may use letters A–Z, digits and ' . - _ ! # ^ ~, up to 64 characters, and may not end with a dot.",
            capital(&e.to_string())
        )));
    }
    if state.app.user(&signed.tenant, &upn).await.is_ok() {
        return Ok(Some(format!(
            "The username {upn} is already taken. Choose another username."
        )));
    }
    if w.own_password() {
        if let Err(e) = Password::parse(&w.password) {
            return Ok(Some(format!(
                "{}. A password needs 8 to 256 characters and three of these four: lower case letters, upper case letters, digits, symbols.",
                capital(&e.to_string())
            )));
        }
    }
    Ok(None)
}

async fn check_licenses(
    state: &WebState,
    signed: &Signed,
    w: &Wizard,
) -> WebResult<Option<String>> {
    let loc = w.location.trim();
    if !loc.is_empty() && UsageLocation::parse(loc).is_err() {
        return Ok(Some(format!(
            "\"{loc}\" is not a location. Choose the country where the user works from the list."
        )));
    }
    if w.license_mode == "none" {
        return Ok(None);
    }
    if w.sku.is_empty() {
        return Ok(Some(
            "Choose at least one product license, or choose Create user without product license."
                .into(),
        ));
    }
    if loc.is_empty() {
        return Ok(Some(
            "Select a location: a product license needs the country where the user works.".into(),
        ));
    }
    let rows = tenant_products(state, signed).await?;
    for s in &w.sku {
        if !rows.iter().any(|r| r.sku_id.to_string() == *s) {
            return Ok(Some(format!(
                "Your organization has no product \"{s}\". Choose products from the list (Billing › Licenses shows what you own)."
            )));
        }
        if let Err(m) = disabled_of(w, s) {
            return Ok(Some(m));
        }
    }
    Ok(None)
}

fn check_optional(w: &Wizard) -> Option<String> {
    if let Err(m) = parse_roles(w) {
        return Some(m);
    }
    if w.admin() && w.role.is_empty() {
        return Some(
            "Choose at least one admin role, or choose User (no admin center access).".into(),
        );
    }
    too_long(w, &LIMITS[3..])
}

fn opt(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

async fn start(State(state): State<WebState>, signed: Signed) -> WebResult {
    signed.require(Action::CreateUser)?;
    let w = Wizard::fresh(&signed);
    render(&state, &signed, w, 0, None).await
}

async fn step(State(state): State<WebState>, form: Form<Wizard>) -> WebResult {
    let signed = form.signed;
    signed.require(Action::CreateUser)?;
    let mut w = form.data;
    let at = step_index(&w.step);
    if STEPS[at].0 == "licenses" {
        // The boxes left unticked are the apps turned off.
        let products = product_boxes(&state, &signed, &Wizard::default()).await?;
        w.off = products
            .iter()
            .flat_map(|p| p.plans.iter())
            .filter(|b| !w.on.contains(&b.value))
            .map(|b| b.value.clone())
            .collect();
    }
    if !signed.may(Action::AssignUserLicense) {
        w.license_mode = "none".into();
    }
    // What a role may not do is not offered; forced, it is refused.
    if w.admin() && !w.role.is_empty() && !signed.may(Action::ManageRoles) {
        signed.require(Action::ManageRoles)?;
    }
    match w.go.as_str() {
        "back" => render(&state, &signed, w, at.saturating_sub(1), None).await,
        "finish" => finish(&state, &signed, w).await,
        _ => match check(&state, &signed, &w, STEPS[at].0).await? {
            Some(m) => render(&state, &signed, w, at, Some(m)).await,
            None => render(&state, &signed, w, at + 1, None).await,
        },
    }
}

async fn finish(state: &WebState, signed: &Signed, w: Wizard) -> WebResult {
    // Everything again: the hidden fields come from the browser.
    for (i, (key, _)) in STEPS.iter().enumerate() {
        if let Some(m) = check(state, signed, &w, key).await? {
            return render(state, signed, w, i, Some(m)).await;
        }
    }
    let roles = parse_roles(&w).unwrap_or_default();
    let mut licenses = Vec::new();
    if w.licensing() {
        for s in &w.sku {
            let Ok(sku) = SkuId::parse(s) else {
                let m = format!("Your organization has no product \"{s}\".");
                return render(state, signed, w, 1, Some(m)).await;
            };
            licenses.push(LicenseSpec {
                sku,
                disabled_plans: disabled_of(&w, s).unwrap_or_default(),
            });
        }
    }
    let n = NewUser {
        upn: w.upn(),
        display_name: w.display.trim().to_string(),
        given_name: opt(&w.first),
        surname: opt(&w.last),
        usage_location: opt(&w.location),
        user_type: UserType::Member,
        account_enabled: true,
        job_title: opt(&w.job_title),
        department: opt(&w.department),
        office_location: opt(&w.office),
        business_phone: opt(&w.business_phone),
        mobile_phone: opt(&w.mobile_phone),
        fax: opt(&w.fax),
        street_address: opt(&w.street),
        city: opt(&w.city),
        state: opt(&w.state),
        postal_code: opt(&w.postal),
        country: opt(&w.country),
        password: w.own_password().then(|| w.password.clone()),
        force_change_password: w.force == "on",
        ..Default::default()
    };
    match state
        .app
        .create_user_with(&signed.tenant, n, &licenses, &roles, &signed.actor)
        .await
    {
        Ok((u, generated)) => {
            let rows = tenant_products(state, signed).await?;
            let names = licenses
                .iter()
                .map(|l| {
                    rows.iter()
                        .find(|r| r.sku_id == l.sku)
                        .map(|r| r.display_name.clone())
                        .unwrap_or_else(|| l.sku.to_string())
                })
                .collect();
            let page = Done {
                chrome: Chrome::new(signed, "User added", "/users/add"),
                name: u.display_name.clone(),
                upn: u.upn.clone(),
                generated: generated.is_some(),
                password: generated.unwrap_or(w.password),
                force: u.force_change_password,
                licenses: names,
                roles: roles.iter().map(|r| r.display_name().to_string()).collect(),
            };
            Ok(Html(page.render()?).into_response())
        }
        Err(e @ (AppError::Forbidden(_) | AppError::Store(_) | AppError::Corrupt(_))) => {
            Err(WebError::App(e))
        }
        Err(e) => {
            let m = format!(
                "The user was not added, and nothing was changed: {}",
                admin_message(&e)
            );
            render(state, signed, w, 3, Some(m)).await
        }
    }
}

/// Country names of the usage-location list (ISO 3166-1 alpha-2), by code.
const COUNTRIES: &[(&str, &str)] = &[
    ("AD", "Andorra"),
    ("AE", "United Arab Emirates"),
    ("AF", "Afghanistan"),
    ("AG", "Antigua and Barbuda"),
    ("AI", "Anguilla"),
    ("AL", "Albania"),
    ("AM", "Armenia"),
    ("AO", "Angola"),
    ("AQ", "Antarctica"),
    ("AR", "Argentina"),
    ("AS", "American Samoa"),
    ("AT", "Austria"),
    ("AU", "Australia"),
    ("AW", "Aruba"),
    ("AX", "Åland Islands"),
    ("AZ", "Azerbaijan"),
    ("BA", "Bosnia and Herzegovina"),
    ("BB", "Barbados"),
    ("BD", "Bangladesh"),
    ("BE", "Belgium"),
    ("BF", "Burkina Faso"),
    ("BG", "Bulgaria"),
    ("BH", "Bahrain"),
    ("BI", "Burundi"),
    ("BJ", "Benin"),
    ("BL", "Saint Barthélemy"),
    ("BM", "Bermuda"),
    ("BN", "Brunei Darussalam"),
    ("BO", "Bolivia"),
    ("BQ", "Bonaire, Sint Eustatius and Saba"),
    ("BR", "Brazil"),
    ("BS", "Bahamas"),
    ("BT", "Bhutan"),
    ("BV", "Bouvet Island"),
    ("BW", "Botswana"),
    ("BY", "Belarus"),
    ("BZ", "Belize"),
    ("CA", "Canada"),
    ("CC", "Cocos (Keeling) Islands"),
    ("CD", "Congo, The Democratic Republic of the"),
    ("CF", "Central African Republic"),
    ("CG", "Congo"),
    ("CH", "Switzerland"),
    ("CI", "Côte d'Ivoire"),
    ("CK", "Cook Islands"),
    ("CL", "Chile"),
    ("CM", "Cameroon"),
    ("CN", "China"),
    ("CO", "Colombia"),
    ("CR", "Costa Rica"),
    ("CU", "Cuba"),
    ("CV", "Cabo Verde"),
    ("CW", "Curaçao"),
    ("CX", "Christmas Island"),
    ("CY", "Cyprus"),
    ("CZ", "Czechia"),
    ("DE", "Germany"),
    ("DJ", "Djibouti"),
    ("DK", "Denmark"),
    ("DM", "Dominica"),
    ("DO", "Dominican Republic"),
    ("DZ", "Algeria"),
    ("EC", "Ecuador"),
    ("EE", "Estonia"),
    ("EG", "Egypt"),
    ("EH", "Western Sahara"),
    ("ER", "Eritrea"),
    ("ES", "Spain"),
    ("ET", "Ethiopia"),
    ("FI", "Finland"),
    ("FJ", "Fiji"),
    ("FK", "Falkland Islands (Malvinas)"),
    ("FM", "Micronesia, Federated States of"),
    ("FO", "Faroe Islands"),
    ("FR", "France"),
    ("GA", "Gabon"),
    ("GB", "United Kingdom"),
    ("GD", "Grenada"),
    ("GE", "Georgia"),
    ("GF", "French Guiana"),
    ("GG", "Guernsey"),
    ("GH", "Ghana"),
    ("GI", "Gibraltar"),
    ("GL", "Greenland"),
    ("GM", "Gambia"),
    ("GN", "Guinea"),
    ("GP", "Guadeloupe"),
    ("GQ", "Equatorial Guinea"),
    ("GR", "Greece"),
    ("GS", "South Georgia and the South Sandwich Islands"),
    ("GT", "Guatemala"),
    ("GU", "Guam"),
    ("GW", "Guinea-Bissau"),
    ("GY", "Guyana"),
    ("HK", "Hong Kong"),
    ("HM", "Heard Island and McDonald Islands"),
    ("HN", "Honduras"),
    ("HR", "Croatia"),
    ("HT", "Haiti"),
    ("HU", "Hungary"),
    ("ID", "Indonesia"),
    ("IE", "Ireland"),
    ("IL", "Israel"),
    ("IM", "Isle of Man"),
    ("IN", "India"),
    ("IO", "British Indian Ocean Territory"),
    ("IQ", "Iraq"),
    ("IR", "Iran"),
    ("IS", "Iceland"),
    ("IT", "Italy"),
    ("JE", "Jersey"),
    ("JM", "Jamaica"),
    ("JO", "Jordan"),
    ("JP", "Japan"),
    ("KE", "Kenya"),
    ("KG", "Kyrgyzstan"),
    ("KH", "Cambodia"),
    ("KI", "Kiribati"),
    ("KM", "Comoros"),
    ("KN", "Saint Kitts and Nevis"),
    ("KP", "North Korea"),
    ("KR", "South Korea"),
    ("KW", "Kuwait"),
    ("KY", "Cayman Islands"),
    ("KZ", "Kazakhstan"),
    ("LA", "Laos"),
    ("LB", "Lebanon"),
    ("LC", "Saint Lucia"),
    ("LI", "Liechtenstein"),
    ("LK", "Sri Lanka"),
    ("LR", "Liberia"),
    ("LS", "Lesotho"),
    ("LT", "Lithuania"),
    ("LU", "Luxembourg"),
    ("LV", "Latvia"),
    ("LY", "Libya"),
    ("MA", "Morocco"),
    ("MC", "Monaco"),
    ("MD", "Moldova"),
    ("ME", "Montenegro"),
    ("MF", "Saint Martin (French part)"),
    ("MG", "Madagascar"),
    ("MH", "Marshall Islands"),
    ("MK", "North Macedonia"),
    ("ML", "Mali"),
    ("MM", "Myanmar"),
    ("MN", "Mongolia"),
    ("MO", "Macao"),
    ("MP", "Northern Mariana Islands"),
    ("MQ", "Martinique"),
    ("MR", "Mauritania"),
    ("MS", "Montserrat"),
    ("MT", "Malta"),
    ("MU", "Mauritius"),
    ("MV", "Maldives"),
    ("MW", "Malawi"),
    ("MX", "Mexico"),
    ("MY", "Malaysia"),
    ("MZ", "Mozambique"),
    ("NA", "Namibia"),
    ("NC", "New Caledonia"),
    ("NE", "Niger"),
    ("NF", "Norfolk Island"),
    ("NG", "Nigeria"),
    ("NI", "Nicaragua"),
    ("NL", "Netherlands"),
    ("NO", "Norway"),
    ("NP", "Nepal"),
    ("NR", "Nauru"),
    ("NU", "Niue"),
    ("NZ", "New Zealand"),
    ("OM", "Oman"),
    ("PA", "Panama"),
    ("PE", "Peru"),
    ("PF", "French Polynesia"),
    ("PG", "Papua New Guinea"),
    ("PH", "Philippines"),
    ("PK", "Pakistan"),
    ("PL", "Poland"),
    ("PM", "Saint Pierre and Miquelon"),
    ("PN", "Pitcairn"),
    ("PR", "Puerto Rico"),
    ("PS", "Palestine, State of"),
    ("PT", "Portugal"),
    ("PW", "Palau"),
    ("PY", "Paraguay"),
    ("QA", "Qatar"),
    ("RE", "Réunion"),
    ("RO", "Romania"),
    ("RS", "Serbia"),
    ("RU", "Russian Federation"),
    ("RW", "Rwanda"),
    ("SA", "Saudi Arabia"),
    ("SB", "Solomon Islands"),
    ("SC", "Seychelles"),
    ("SD", "Sudan"),
    ("SE", "Sweden"),
    ("SG", "Singapore"),
    ("SH", "Saint Helena, Ascension and Tristan da Cunha"),
    ("SI", "Slovenia"),
    ("SJ", "Svalbard and Jan Mayen"),
    ("SK", "Slovakia"),
    ("SL", "Sierra Leone"),
    ("SM", "San Marino"),
    ("SN", "Senegal"),
    ("SO", "Somalia"),
    ("SR", "Suriname"),
    ("SS", "South Sudan"),
    ("ST", "Sao Tome and Principe"),
    ("SV", "El Salvador"),
    ("SX", "Sint Maarten (Dutch part)"),
    ("SY", "Syria"),
    ("SZ", "Eswatini"),
    ("TC", "Turks and Caicos Islands"),
    ("TD", "Chad"),
    ("TF", "French Southern Territories"),
    ("TG", "Togo"),
    ("TH", "Thailand"),
    ("TJ", "Tajikistan"),
    ("TK", "Tokelau"),
    ("TL", "Timor-Leste"),
    ("TM", "Turkmenistan"),
    ("TN", "Tunisia"),
    ("TO", "Tonga"),
    ("TR", "Türkiye"),
    ("TT", "Trinidad and Tobago"),
    ("TV", "Tuvalu"),
    ("TW", "Taiwan"),
    ("TZ", "Tanzania"),
    ("UA", "Ukraine"),
    ("UG", "Uganda"),
    ("UM", "United States Minor Outlying Islands"),
    ("US", "United States"),
    ("UY", "Uruguay"),
    ("UZ", "Uzbekistan"),
    ("VA", "Holy See (Vatican City State)"),
    ("VC", "Saint Vincent and the Grenadines"),
    ("VE", "Venezuela"),
    ("VG", "Virgin Islands, British"),
    ("VI", "Virgin Islands, U.S."),
    ("VN", "Vietnam"),
    ("VU", "Vanuatu"),
    ("WF", "Wallis and Futuna"),
    ("WS", "Samoa"),
    ("YE", "Yemen"),
    ("YT", "Mayotte"),
    ("ZA", "South Africa"),
    ("ZM", "Zambia"),
    ("ZW", "Zimbabwe"),
];
