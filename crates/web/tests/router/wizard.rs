//! Router tests of Users › Add a user (admin-center.md "Add a user (wizard)", rulebook
//! §8.1–§8.2): the four steps carried in hidden fields, every step checked on Next and again
//! on Finish, one transaction for the user, its licenses and its roles, and the credentials
//! page to copy or print.

use crate::harness::{form, Browser, Page, World};
use axum::http::StatusCode;
use skuld_domain::DirectoryRole;

const E1: &str = "STANDARDPACK";
const E3: &str = "ENTERPRISEPACK";
const E5: &str = "ENTERPRISEPREMIUM";
const AUDIO: &str = "MCOMEETADV";

async fn sku_id(w: &World, part: &str) -> String {
    w.app
        .sku_rows(&w.tenant)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.part_number == part)
        .unwrap_or_else(|| panic!("no {part}"))
        .sku_id
        .to_string()
}

/// The `sku:plan` values of a product's apps.
async fn apps(w: &World, part: &str) -> Vec<String> {
    let id = sku_id(w, part).await;
    let c = w.app.tenant_catalog(&w.tenant).await.unwrap();
    let p = c.find_product(part).unwrap();
    p.plans.iter().map(|pl| format!("{id}:{pl}")).collect()
}

fn unescape(s: &str) -> String {
    s.replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#38;", "&")
        .replace("&amp;", "&")
}

/// The hidden fields of a page's form (but the CSRF token, which `post` adds).
fn hidden(body: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let tag = "<input type=\"hidden\" name=\"";
    let mut rest = body;
    while let Some(i) = rest.find(tag) {
        rest = &rest[i + tag.len()..];
        let name = &rest[..rest.find('"').unwrap()];
        let v = rest.split_once("value=\"").unwrap().1;
        let value = &v[..v.find('"').unwrap()];
        if name != "_csrf" {
            out.push((name.to_string(), unescape(value)));
        }
    }
    out
}

/// Posts the page's form as a browser would: its hidden fields, the step's `fields` and the
/// button pressed.
async fn press(b: &mut Browser, last: &Page, go: &str, fields: &[(&str, &str)]) -> Page {
    let mut all = hidden(&last.body);
    all.extend(fields.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    all.push(("go".into(), go.into()));
    let refs: Vec<(&str, &str)> = all.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    b.post("/users/add", &refs).await
}

/// Every field of a complete wizard, for posting `finish` at once.
fn complete<'a>(username: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut v = vec![
        ("step", "review"),
        ("display", "New Person"),
        ("username", username),
        ("domain", "contoso.test"),
        ("pw_mode", "auto"),
        ("force", "on"),
        ("location", "US"),
        ("access", "user"),
    ];
    // A field given in `extra` replaces the default (repeated fields are added).
    for (k, val) in extra {
        match v.iter_mut().find(|(x, _)| x == k) {
            Some(slot) if !matches!(*k, "sku" | "role" | "on" | "off") => slot.1 = val,
            _ => v.push((k, val)),
        }
    }
    v.push(("go", "finish"));
    v
}

async fn exists(w: &World, upn: &str) -> bool {
    w.app.user(&w.tenant, upn).await.is_ok()
}

/// §8.1 all steps, Global Administrator: basics, a license with one app off, a role and
/// profile info, review, Finish adding; the credentials page offers copy and print. Checked in
/// the database: the user, the direct license with the app off, the role, the profile and the
/// force-change flag (§8.2 "Require this user to change their password").
#[tokio::test]
async fn global_admin_walks_every_step_and_the_user_is_created_with_license_and_role() {
    let w = World::demo().await;
    let mut a = w.admin().await;
    let p = a.get("/users/add").await;
    p.ok()
        .has("Set up the basics")
        .has("Display name (required)")
        .has("Automatically create a password")
        .has("Require this user to change their password when they first sign in")
        .has("<option value=\"contoso.test\" selected>")
        .has("name=\"force\" value=\"on\" checked")
        .lacks("style=");
    let p = press(
        &mut a,
        &p,
        "next",
        &[
            ("first", "Nina"),
            ("last", "Novak"),
            ("display", "Nina Novak"),
            ("username", "nina.novak"),
            ("domain", "contoso.test"),
            ("pw_mode", "auto"),
            ("force", "on"),
        ],
    )
    .await;
    p.ok()
        .has("Assign product licenses")
        .has("Select location")
        .has("Office 365 E1")
        .has("licenses available")
        .has("Create user without product license (not recommended)")
        .has("name=\"display\" value=\"Nina Novak\"");
    let e1 = sku_id(&w, E1).await;
    let plans = apps(&w, E1).await;
    let mut fields = vec![
        ("location", "US"),
        ("license_mode", "assign"),
        ("sku", e1.as_str()),
    ];
    for pl in &plans[1..] {
        fields.push(("on", pl));
    }
    let p = press(&mut a, &p, "next", &fields).await;
    p.ok()
        .has("Optional settings")
        .has("Admin center access")
        .has("Global Reader")
        .has("Profile info");
    // Back and forth keeps what was chosen.
    let back = press(&mut a, &p, "back", &[]).await;
    back.ok().has(&format!("value=\"{e1}\" checked"));
    // The browser sends the boxes still ticked: the apps left on.
    let again: Vec<(&str, &str)> = fields.clone();
    let p = press(&mut a, &back, "next", &again).await;
    let p = press(
        &mut a,
        &p,
        "next",
        &[
            ("access", "admin"),
            ("role", "Global Reader"),
            ("job_title", "Analyst"),
            ("department", "Finance"),
        ],
    )
    .await;
    p.ok()
        .has("Review and finish")
        .has("nina.novak@contoso.test")
        .has("Office 365 E1")
        .has("Global Reader")
        .has("Analyst")
        .has("Finish adding");
    let done = press(&mut a, &p, "finish", &[]).await;
    done.ok()
        .has("Nina Novak was added")
        .has("nina.novak@contoso.test")
        .has("data-copy=\"cred-password\"")
        .has("data-print")
        .has("The password was created automatically");
    let v = w
        .app
        .user_view(&w.tenant, "nina.novak@contoso.test")
        .await
        .unwrap();
    assert!(v.user.force_change_password);
    assert_eq!(v.user.job_title.as_deref(), Some("Analyst"));
    assert_eq!(v.user.given_name.as_deref(), Some("Nina"));
    assert_eq!(v.roles, vec![DirectoryRole::GlobalReader]);
    let lic = v.licenses.iter().find(|l| l.part_number == E1).unwrap();
    assert!(lic.held);
    assert_eq!(lic.disabled_plans.len(), 1, "{lic:?}");
    // The password shown is the user's: it signs in (and must change it first).
    let shown = done
        .body
        .split_once("id=\"cred-password\">")
        .unwrap()
        .1
        .split_once('<')
        .unwrap()
        .0
        .to_string();
    assert_eq!(unescape(&shown).len(), 16, "{shown}");
    let mut u = w.browser();
    let r = u
        .sign_in("nina.novak@contoso.test", &unescape(&shown))
        .await;
    r.ok().has("Update your password");
}

/// §8.1 roles: "Roles that may add users": Global and User Administrator; a License
/// Administrator, Global Reader or Groups Administrator is not offered the wizard and is
/// refused (403). A User Administrator is not offered admin roles (only a Global
/// Administrator assigns them) and is refused when forcing one — nothing is created.
#[tokio::test]
async fn rights_per_role() {
    let w = World::demo().await;
    for role in [
        DirectoryRole::LicenseAdministrator,
        DirectoryRole::GlobalReader,
        DirectoryRole::GroupsAdministrator,
    ] {
        let mut b = w.as_role(role).await;
        b.get("/").await.lacks("href=\"/users/add\"");
        assert_eq!(b.get("/users/add").await.status, StatusCode::FORBIDDEN);
        let name = format!("by{role:?}").to_lowercase();
        let r = b.post("/users/add", &complete(&name, &[])).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert!(!exists(&w, &format!("{name}@contoso.test")).await);
    }
    let mut ua = w.as_role(DirectoryRole::UserAdministrator).await;
    ua.get("/").await.has("href=\"/users/add\"");
    let p = ua.get("/users/add").await;
    p.ok();
    let p = press(
        &mut ua,
        &p,
        "next",
        &[
            ("display", "Uma"),
            ("username", "uma"),
            ("domain", "contoso.test"),
        ],
    )
    .await;
    let p = press(&mut ua, &p, "next", &[("license_mode", "none")]).await;
    p.ok()
        .has("User (no admin center access)")
        .lacks("Admin center access")
        .has("Only a Global Administrator gives admin roles");
    let r = ua
        .post(
            "/users/add",
            &complete(
                "forced",
                &[("access", "admin"), ("role", "Global Administrator")],
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(!exists(&w, "forced@contoso.test").await);
    // Without a role it works for the User Administrator.
    ua.post("/users/add", &complete("uma", &[("license_mode", "none")]))
        .await
        .ok()
        .has("uma@contoso.test");
    assert!(exists(&w, "uma@contoso.test").await);
}

/// Issue 8 "CSRF protection on every form": a post without the token (or with a wrong one)
/// is refused with 403 and nothing is created.
#[tokio::test]
async fn csrf_is_refused_and_nothing_is_created() {
    let w = World::demo().await;
    let mut a = w.admin().await;
    a.get("/users/add").await.ok();
    let r = a
        .post_raw("/users/add", form(&complete("nocsrf", &[])))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let mut f = vec![("_csrf", "wrong")];
    f.extend(complete("nocsrf", &[]));
    let r = a.post_raw("/users/add", form(&f)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(!exists(&w, "nocsrf@contoso.test").await);
}

/// Bad input of every step is answered on the page (400, the step again with what was typed):
/// display name required (§8.1), the password rule violated (§8.2), a username taken, a
/// domain not the tenant's, an over-long field (§8.3 limits), an unknown product. Nothing is
/// created.
#[tokio::test]
async fn bad_input_is_answered_on_the_step_and_nothing_is_created() {
    let w = World::demo().await;
    let mut a = w.admin().await;
    a.get("/users/add").await.ok();
    let basics = |display: &'static str, user: &'static str| {
        vec![
            ("step", "basics"),
            ("display", display),
            ("username", user),
            ("domain", "contoso.test"),
            ("go", "next"),
        ]
    };
    let r = a.post("/users/add", &basics("  ", "empty")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    r.has("Type a display name")
        .has("role=\"alert\"")
        .has("value=\"empty\"");

    let mut f = basics("Weak", "weak");
    f.extend([("pw_mode", "own"), ("password", "alllowercase")]);
    let r = a.post("/users/add", &f).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    r.has("it needs three of: lower case, upper case, digits, symbols")
        .has("Set up the basics");
    let mut f = basics("Short", "short");
    f.extend([("pw_mode", "own"), ("password", "Ab1!")]);
    let r = a.post("/users/add", &f).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    r.has("8 to 256 characters long");

    let alias = w.admin_upn.split('@').next().unwrap().to_string();
    let r = a
        .post(
            "/users/add",
            &[
                ("step", "basics"),
                ("display", "Dup"),
                ("username", &alias),
                ("domain", "contoso.test"),
                ("go", "next"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    r.has("is already taken");

    let r = a
        .post(
            "/users/add",
            &[
                ("step", "basics"),
                ("display", "Elsewhere"),
                ("username", "elsewhere"),
                ("domain", "fabrikam.test"),
                ("go", "next"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    r.has("is not a domain of your organization");

    let long = "x".repeat(129);
    let r = a
        .post(
            "/users/add",
            &[
                ("step", "optional"),
                ("access", "user"),
                ("job_title", &long),
                ("go", "next"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    r.has("Job title can be at most 128 characters long")
        .has("Optional settings");

    let r = a
        .post(
            "/users/add",
            &[
                ("step", "licenses"),
                ("location", "US"),
                ("license_mode", "assign"),
                ("sku", "00000000-0000-0000-0000-000000000000"),
                ("go", "next"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    r.has("Your organization has no product");
    let r = a
        .post(
            "/users/add",
            &[
                ("step", "licenses"),
                ("location", "US"),
                ("license_mode", "assign"),
                ("go", "next"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    r.has("Choose at least one product license");

    // Finish checks everything again: a tampered hidden field is caught on its step.
    let r = a
        .post("/users/add", &complete("tampered", &[("display", "")]))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    r.has("Type a display name").has("Set up the basics");
    for u in ["empty", "weak", "short", "elsewhere", "tampered"] {
        assert!(!exists(&w, &format!("{u}@contoso.test")).await, "{u}");
    }
}

/// Issue 8 "All of it one transaction: nothing half-created": Office 365 E5 has no free seat
/// in the demo (NoSeats), and Audio Conferencing is prohibited in Brunei (U5): Finish is
/// refused with the admin's message on the review page, and no user exists afterwards — not
/// even with the role that was asked for.
#[tokio::test]
async fn no_seat_or_prohibited_location_refuses_the_whole_user() {
    let w = World::demo().await;
    let mut a = w.admin().await;
    a.get("/users/add").await.ok();
    let e5 = sku_id(&w, E5).await;
    let before = w.app.role_assignments(&w.tenant).await.unwrap().len();
    let r = a
        .post(
            "/users/add",
            &complete(
                "noseat",
                &[
                    ("license_mode", "assign"),
                    ("sku", &e5),
                    ("access", "admin"),
                    ("role", "Global Reader"),
                ],
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    r.has("The user was not added, and nothing was changed")
        .has("Office 365 E5 has no free licenses")
        .has("Review and finish");
    assert!(!exists(&w, "noseat@contoso.test").await);
    assert_eq!(
        w.app.role_assignments(&w.tenant).await.unwrap().len(),
        before
    );

    let e3 = sku_id(&w, E3).await;
    let audio = sku_id(&w, AUDIO).await;
    let r = a
        .post(
            "/users/add",
            &complete(
                "brunei",
                &[
                    ("license_mode", "assign"),
                    ("sku", &e3),
                    ("sku", &audio),
                    ("location", "BN"),
                ],
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    r.has("not available in BN");
    assert!(!exists(&w, "brunei@contoso.test").await);
}

/// §8.1 "Create user without product license": the user is created with no license; an own
/// password that follows the rules is kept, and the force-change box can be unticked.
#[tokio::test]
async fn without_license_and_with_own_password() {
    let w = World::demo().await;
    let mut a = w.admin().await;
    a.get("/users/add").await.ok();
    let r = a
        .post(
            "/users/add",
            &complete(
                "plain",
                &[
                    ("license_mode", "none"),
                    ("pw_mode", "own"),
                    ("password", "Plain-Pass-2026"),
                    ("force", "off"),
                ],
            ),
        )
        .await;
    r.ok()
        .has("plain@contoso.test")
        .has("Plain-Pass-2026")
        .lacks("must change this password");
    let v = w
        .app
        .user_view(&w.tenant, "plain@contoso.test")
        .await
        .unwrap();
    assert!(!v.user.force_change_password);
    assert!(v
        .licenses
        .iter()
        .all(|l| l.paths.iter().all(|p| p.source != "Direct")));
    let mut u = w.browser();
    let r = u.sign_in("plain@contoso.test", "Plain-Pass-2026").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
}
