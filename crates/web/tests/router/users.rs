//! Router tests of the users pages (admin-center.md §"Users › Active users", rulebook §8.5
//! and §9): Active users (keyset pages, search, filters), Manage product licenses (Assign
//! more, Replace, Unassign all), a user's details (Licenses and apps, usage location, groups,
//! roles, reset password, block sign-in, delete, reprocess) and Deleted users (restore,
//! delete permanently). Rights follow `authz.rs` (rulebook §7.1).

use crate::harness::{form, Browser, World, PASSWORD};
use axum::http::StatusCode;
use skuld_app::{Actor, LicenseSpec, NewUser};
use skuld_domain::{DirectoryRole, UserType};

const E1: &str = "STANDARDPACK";
const E3: &str = "ENTERPRISEPACK";
const P2: &str = "AAD_PREMIUM_P2";
const AUDIO: &str = "MCOMEETADV";

async fn sku(w: &World, part: &str) -> skuld_app::SkuRow {
    w.app
        .sku_rows(&w.tenant)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.part_number == part)
        .expect("product")
}

/// Gives a product enough seats for a test.
async fn seats(w: &World, part: &str, n: i64) {
    let s = sku(w, part).await;
    let sub = w
        .app
        .subscriptions(&w.tenant)
        .await
        .unwrap()
        .into_iter()
        .find(|x| x.sku_id == s.sku_id)
        .expect("subscription");
    w.app
        .set_seats(&w.tenant, sub.id, n, false, &Actor::Operator)
        .await
        .expect("seats");
}

async fn give(w: &World, upn: &str, part: &str) {
    let s = sku(w, part).await;
    w.app
        .assign_license(
            &w.tenant,
            upn,
            &[LicenseSpec {
                sku: s.sku_id,
                disabled_plans: vec![],
            }],
            &[],
            &Actor::Operator,
        )
        .await
        .expect("assign");
}

/// The products the user holds directly, by part number.
async fn direct(w: &World, upn: &str) -> Vec<String> {
    let mut v: Vec<String> = w
        .app
        .user_view(&w.tenant, upn)
        .await
        .unwrap()
        .licenses
        .iter()
        .filter(|l| l.paths.iter().any(|p| p.source == "Direct"))
        .map(|l| l.part_number.clone())
        .collect();
    v.sort();
    v
}

/// Whether the user holds `part` through the group named `group`.
async fn inherited(w: &World, upn: &str, part: &str, group: &str) -> bool {
    w.app
        .user_view(&w.tenant, upn)
        .await
        .unwrap()
        .licenses
        .iter()
        .any(|l| l.part_number == part && l.paths.iter().any(|p| p.source == group && p.applied))
}

async fn id_of(w: &World, upn: &str) -> String {
    w.app.user(&w.tenant, upn).await.unwrap().id.to_string()
}

async fn no_location_user(w: &World, alias: &str) -> String {
    let upn = format!("{alias}@contoso.test");
    w.app
        .create_user(
            &w.tenant,
            NewUser {
                upn: upn.clone(),
                display_name: alias.into(),
                usage_location: None,
                user_type: UserType::Member,
                account_enabled: true,
                password: Some(PASSWORD.into()),
                ..Default::default()
            },
            &Actor::Operator,
        )
        .await
        .unwrap();
    upn
}

/// The `value`s of every input named `name`.
fn values(body: &str, name: &str) -> Vec<String> {
    let needle = format!("name=\"{name}\" value=\"");
    body.match_indices(&needle)
        .map(|(i, m)| {
            let rest = &body[i + m.len()..];
            rest[..rest.find('"').unwrap()].to_string()
        })
        .collect()
}

// ---------------------------------------------------------------- Active users

/// Active users: every role with ReadUsers reads the list; only roles with AssignUserLicense
/// (License, User and Global Administrator, rulebook §7.1) get the checkboxes and Manage
/// product licenses.
#[tokio::test]
async fn active_users_are_listed_for_readers_and_managed_by_license_admins() {
    let w = World::demo().await;
    let mut a = w.admin().await;
    let p = a.get("/users").await;
    p.ok()
        .has("Active users")
        .has("Olivia Martin")
        .has("olivia.martin@contoso.test")
        .has("Office 365 E5")
        .has("Manage product licenses")
        .has("data-select-all=\"user\"")
        .has("name=\"user\" value=\"")
        .has("Users with errors")
        .has("Sign-in blocked")
        .has("Synchronized users")
        .lacks("style=");
    for role in [
        DirectoryRole::GlobalReader,
        DirectoryRole::GroupsAdministrator,
    ] {
        let mut r = w.as_role(role).await;
        r.get("/users")
            .await
            .ok()
            .has("Olivia Martin")
            .lacks("Manage product licenses")
            .lacks("name=\"user\" value=\"");
    }
    for role in [
        DirectoryRole::LicenseAdministrator,
        DirectoryRole::UserAdministrator,
    ] {
        let mut r = w.as_role(role).await;
        r.get("/users").await.ok().has("Manage product licenses");
    }
    // Nobody signed in: to the sign-in page.
    let mut nobody = w.browser();
    assert_eq!(nobody.get("/users").await.status, StatusCode::SEE_OTHER);
}

/// Search is a prefix of the display name, user name or mail; filters narrow the list.
#[tokio::test]
async fn search_and_filters_narrow_the_list() {
    let w = World::demo().await;
    let mut a = w.admin().await;
    a.get("/users?q=chlo")
        .await
        .ok()
        .has("Chloé Dubois")
        .lacks("Olivia Martin");
    a.get("/users?q=olivia.m")
        .await
        .ok()
        .has("Olivia Martin")
        .lacks("Chloé Dubois");
    // §3.1: the users with a license error (CountViolation of E5, the conflict of Daniel).
    a.get("/users?filter=errors")
        .await
        .ok()
        .has("Chloé Dubois")
        .has("Daniel Reyes")
        .has("License error")
        .lacks("Olivia Martin");
    a.get("/users?filter=guests")
        .await
        .ok()
        .has("Jane Doe")
        .lacks("Olivia Martin");
    a.get("/users?filter=unlicensed")
        .await
        .ok()
        .lacks("Olivia Martin");
    a.get("/users?filter=licensed")
        .await
        .ok()
        .has("Olivia Martin");
    a.get("/users?filter=synced")
        .await
        .ok()
        .has("No users match");
    // Per product: holders of E5 only.
    a.get("/users?product=ENTERPRISEPREMIUM")
        .await
        .ok()
        .has("Olivia Martin")
        .lacks("Ethan Walker");
    // Search and filter together.
    a.get("/users?q=emma&filter=errors")
        .await
        .ok()
        .has("Emma Wilson")
        .lacks("Chloé Dubois");
    // Sign-in blocked.
    let upn = w.make_user("blocky").await;
    w.app
        .update_user(
            &w.tenant,
            &upn,
            skuld_app::UserPatch {
                account_enabled: Some(false),
                ..Default::default()
            },
            &Actor::Operator,
        )
        .await
        .unwrap();
    a.get("/users?filter=blocked")
        .await
        .ok()
        .has("blocky")
        .lacks("Olivia Martin");
    // An unknown product is said plainly, and lists nobody.
    let p = a.get("/users?product=NOPE_PACK").await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);
    p.has("no product NOPE_PACK").lacks("Olivia Martin");
    // A cursor that is not one.
    let p = a.get("/users?after=junk").await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);
    p.has("page link is out of date");
}

/// Keyset pages: a Next page link by cursor, pages without repeats, a First page link back.
#[tokio::test]
async fn pages_follow_by_cursor_without_repeats() {
    let w = World::demo().await;
    for i in 0..12 {
        w.make_user(&format!("pager{i:02}")).await;
    }
    let mut a = w.admin().await;
    let first = a.get("/users").await;
    first.ok().has("Next page").lacks("First page");
    let ids1 = values(&first.body, "user");
    assert_eq!(ids1.len(), 50);
    let at = first.body.find("Next page").unwrap();
    let start = first.body[..at].rfind("href=\"").unwrap() + 6;
    let next = first.body[start..at]
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&");
    assert!(next.starts_with("/users?after="), "{next}");
    let second = a.get(&next).await;
    second.ok().has("First page");
    let ids2 = values(&second.body, "user");
    assert!(!ids2.is_empty());
    assert!(ids2.iter().all(|i| !ids1.contains(i)));
    let total = w.app.user_count(&w.tenant).await.unwrap() as usize;
    assert_eq!(ids1.len() + ids2.len(), total);
}

// ---------------------------------------------------------------- Manage product licenses

/// The users' ids as form fields.
fn users_fields(ids: &[String]) -> Vec<(&'static str, &str)> {
    ids.iter().map(|i| ("user", i.as_str())).collect()
}

/// §9 Assign more: "Keep the existing licenses and assign more", with an app turned off.
#[tokio::test]
async fn assign_more_keeps_existing_licenses_and_adds() {
    let w = World::demo().await;
    seats(&w, P2, 50).await;
    let a1 = w.make_user("anna").await;
    let a2 = w.make_user("bert").await;
    give(&w, &a1, E1).await;
    let ids = vec![id_of(&w, &a1).await, id_of(&w, &a2).await];
    let mut l = w.as_role(DirectoryRole::LicenseAdministrator).await;
    l.get("/users").await.ok();
    let f = l.post("/users/licenses", &users_fields(&ids)).await;
    f.ok()
        .has("Selected users (2)")
        .has("anna")
        .has("bert")
        .has("Assign more")
        .has("Replace")
        .has("Unassign all")
        .has("Entra ID P2")
        .has("licenses available")
        .has("name=\"step\" value=\"apply\"");
    let plans: Vec<String> = values(&f.body, "plan")
        .into_iter()
        .filter(|v| v.starts_with(&format!("{P2}/")))
        .collect();
    assert!(plans.len() > 1, "{plans:?}");
    let mut fields = users_fields(&ids);
    fields.extend([
        ("step", "apply"),
        ("mode", "add"),
        ("product", P2),
        ("apps", P2),
    ]);
    for p in &plans[1..] {
        fields.push(("plan", p));
    }
    let r = l.post("/users/licenses", &fields).await;
    r.ok()
        .has("Assign more: 2 user(s) done")
        .has("license assigned");
    assert_eq!(direct(&w, &a1).await, vec![P2.to_string(), E1.to_string()]);
    assert_eq!(direct(&w, &a2).await, vec![P2.to_string()]);
    let v = w.app.user_view(&w.tenant, &a2).await.unwrap();
    let lic = v.licenses.iter().find(|l| l.part_number == P2).unwrap();
    assert_eq!(lic.disabled_plans.len(), 1, "{lic:?}");
}

/// §9 Replace: every direct license goes, the chosen ones come; inherited licenses stay and
/// are named with their group (G13).
#[tokio::test]
async fn replace_swaps_direct_licenses_and_keeps_inherited_ones() {
    let w = World::demo().await;
    seats(&w, P2, 50).await;
    seats(&w, E3, 60).await;
    let upn = w.make_user("rita").await;
    w.app
        .add_member(&w.tenant, "Engineering", &upn, &Actor::Operator)
        .await
        .unwrap();
    give(&w, &upn, AUDIO).await;
    assert!(inherited(&w, &upn, E3, "Engineering").await);
    let ids = vec![id_of(&w, &upn).await];
    let mut u = w.as_role(DirectoryRole::UserAdministrator).await;
    u.get("/users").await.ok();
    u.post("/users/licenses", &users_fields(&ids))
        .await
        .ok()
        .has("inherited from group")
        .has("Engineering")
        .has("Direct licenses: Microsoft 365 Audio Conferencing");
    let mut fields = users_fields(&ids);
    fields.extend([("step", "apply"), ("mode", "replace"), ("product", P2)]);
    let r = u.post("/users/licenses", &fields).await;
    r.ok()
        .has("Replace: 1 user(s) done")
        .has("license removed")
        .has("license assigned")
        .has("Stays: Office 365 E3, inherited from group");
    assert_eq!(direct(&w, &upn).await, vec![P2.to_string()]);
    assert!(inherited(&w, &upn, E3, "Engineering").await);
}

/// §9 Unassign all: direct licenses only; inherited ones stay, named with their group.
#[tokio::test]
async fn unassign_all_removes_direct_licenses_only() {
    let w = World::demo().await;
    seats(&w, E3, 60).await;
    let upn = w.make_user("sven").await;
    w.app
        .add_member(&w.tenant, "Engineering", &upn, &Actor::Operator)
        .await
        .unwrap();
    give(&w, &upn, AUDIO).await;
    let plain = w.make_user("tina").await;
    let ids = vec![id_of(&w, &upn).await, id_of(&w, &plain).await];
    let mut a = w.admin().await;
    a.get("/users").await.ok();
    let mut fields = users_fields(&ids);
    fields.extend([("step", "apply"), ("mode", "unassign")]);
    let r = a.post("/users/licenses", &fields).await;
    r.ok()
        .has("Unassign all: 2 user(s) done")
        .has("Microsoft 365 Audio Conferencing")
        .has("license removed")
        .has("Stays: Office 365 E3, inherited from group")
        .has("No direct licenses to remove");
    assert!(direct(&w, &upn).await.is_empty());
    assert!(inherited(&w, &upn, E3, "Engineering").await);
}

/// Bad input is answered on the page (400) and nothing is written: no users, more than 100,
/// an unknown product, an app of no product, mutually exclusive products (§4.1, E1 with E3),
/// a user without a usage location (U1).
#[tokio::test]
async fn manage_refuses_bad_input_on_the_page_and_writes_nothing() {
    let w = World::demo().await;
    seats(&w, E1, 60).await;
    seats(&w, E3, 60).await;
    let a1 = w.make_user("carl").await;
    let a2 = w.make_user("dina").await;
    let ids = vec![id_of(&w, &a1).await, id_of(&w, &a2).await];
    let e1_before = sku(&w, E1).await.assigned;
    let mut a = w.admin().await;
    a.get("/users").await.ok();
    let r = a.post("/users/licenses", &[]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    r.has("Tick the users");
    // 101 users: refused before anything is read or written.
    let many: Vec<String> = (0..101)
        .map(|_| skuld_domain::UserId::new().to_string())
        .collect();
    let r = a.post("/users/licenses", &users_fields(&many)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    r.has("at most 100 users at a time; you chose 101");
    // An unknown user.
    let r = a
        .post("/users/licenses", &[("user", "nobody@contoso.test")])
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    r.has("nobody@contoso.test");
    let apply = |extra: Vec<(&'static str, &'static str)>| {
        let mut f = users_fields(&ids);
        f.push(("step", "apply"));
        f.extend(extra);
        f
    };
    let r = a
        .post(
            "/users/licenses",
            &apply(vec![("mode", "add"), ("product", "NOPE_PACK")]),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    r.has("no product NOPE_PACK").has("Nothing was changed");
    let r = a
        .post(
            "/users/licenses",
            &apply(vec![
                ("mode", "add"),
                ("product", E1),
                ("apps", E1),
                ("plan", "STANDARDPACK/not-a-plan"),
            ]),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    r.has("has no app");
    let r = a
        .post("/users/licenses", &apply(vec![("mode", "add")]))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    r.has("Choose at least one product");
    // E1 and E3 together: SharePoint Plan 1 and Plan 2 are mutually exclusive, for both.
    let r = a
        .post(
            "/users/licenses",
            &apply(vec![("mode", "add"), ("product", E1), ("product", E3)]),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    r.has("Nothing was changed").has("carl").has("dina");
    assert!(direct(&w, &a1).await.is_empty());
    assert!(direct(&w, &a2).await.is_empty());
    assert_eq!(sku(&w, E1).await.assigned, e1_before);
    // The form is shown again with the choice kept.
    assert!(r.body.contains("value=\"STANDARDPACK\" checked"));
    // U1: a user without a usage location alone is refused on the page…
    let nolo = no_location_user(&w, "nolo").await;
    let nolo_id = id_of(&w, &nolo).await;
    let r = a
        .post(
            "/users/licenses",
            &[
                ("user", nolo_id.as_str()),
                ("step", "apply"),
                ("mode", "add"),
                ("product", E1),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    r.has("usage location");
    assert!(direct(&w, &nolo).await.is_empty());
    // …and beside a good user, the good one gets it and the result names the other (§9).
    let r = a
        .post(
            "/users/licenses",
            &[
                ("user", nolo_id.as_str()),
                ("user", ids[0].as_str()),
                ("step", "apply"),
                ("mode", "add"),
                ("product", E1),
            ],
        )
        .await;
    r.ok()
        .has("1 user(s) done")
        .has("1 user(s) were not changed")
        .has("usage location");
    assert_eq!(direct(&w, &a1).await, vec![E1.to_string()]);
    assert!(direct(&w, &nolo).await.is_empty());
}

/// B1: a License Administrator cannot license a guest directly; the guest is named in the
/// results and the others get the license.
#[tokio::test]
async fn a_guest_is_left_out_for_a_license_admin() {
    let w = World::demo().await;
    seats(&w, E1, 60).await;
    let member = w.make_user("gus").await;
    let guest = w
        .app
        .user(&w.tenant, "ken_tailspintoys.com#EXT#@contoso.test")
        .await
        .unwrap();
    let ids = vec![guest.id.to_string(), id_of(&w, &member).await];
    let mut l = w.as_role(DirectoryRole::LicenseAdministrator).await;
    l.get("/users").await.ok();
    let mut f = users_fields(&ids);
    f.extend([("step", "apply"), ("mode", "add"), ("product", E1)]);
    l.post("/users/licenses", &f)
        .await
        .ok()
        .has("Only a Global Administrator can assign licenses to a guest");
    assert_eq!(direct(&w, &member).await, vec![E1.to_string()]);
    assert!(direct(&w, &guest.upn).await.is_empty());
}

/// Rights (§7.1): Global Reader and Groups Administrator may not manage user licenses (403,
/// nothing changed); CSRF: a post without the form's token is refused (403).
#[tokio::test]
async fn manage_needs_the_right_and_the_csrf_token() {
    let w = World::demo().await;
    seats(&w, E1, 60).await;
    let upn = w.make_user("hugo").await;
    let id = id_of(&w, &upn).await;
    let fields = [
        ("user", id.as_str()),
        ("step", "apply"),
        ("mode", "add"),
        ("product", E1),
    ];
    for role in [
        DirectoryRole::GlobalReader,
        DirectoryRole::GroupsAdministrator,
    ] {
        let mut r = w.as_role(role).await;
        r.get("/users").await.ok();
        assert_eq!(
            r.post("/users/licenses", &fields).await.status,
            StatusCode::FORBIDDEN
        );
    }
    let mut a = w.admin().await;
    a.get("/users").await.ok();
    let p = a.post_raw("/users/licenses", form(&fields)).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    let mut with_wrong = vec![("_csrf", "wrong")];
    with_wrong.extend(fields);
    let p = a.post_raw("/users/licenses", form(&with_wrong)).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert!(direct(&w, &upn).await.is_empty());
}

// ---------------------------------------------------------------- user details

/// User details: profile, Licenses and apps with every path (inherited ones read-only, naming
/// and linking the group, G13), groups direct and through nesting, roles; the forms by role.
#[tokio::test]
async fn user_details_show_every_path_and_forms_by_role() {
    let w = World::demo().await;
    let ethan = id_of(&w, "ethan.walker@contoso.test").await;
    let path = format!("/users/{ethan}");
    let mut a = w.admin().await;
    let p = a.get(&path).await;
    p.ok()
        .has("Ethan Walker")
        .has("ethan.walker@contoso.test")
        .has("Principal Software Engineer")
        .has("Engineering")
        .has("Licenses and apps")
        .has("Inherited from group <a href=\"/groups/")
        .has("Office 365 E3")
        .has("through a nested group")
        .has("direct member")
        .has("Roles")
        .has("User (no admin center access)")
        .has("Reset password")
        .has("Block sign-in")
        .has("Delete user")
        .has("Reprocess")
        .has("name=\"usage_location\"")
        .has("name=\"product\" value=\"STANDARDPACK\"")
        .lacks("style=");
    // A path in error, with its fix (§3.1): Chloé waits for an E5 seat.
    let chloe = id_of(&w, "chloe.dubois@contoso.test").await;
    a.get(&format!("/users/{chloe}"))
        .await
        .ok()
        .has("CountViolation")
        .has("waiting for a free license of Office 365 E5")
        .has("What to do: Buy more licenses");
    // Roles of the admin.
    let admin = id_of(&w, &w.admin_upn).await;
    a.get(&format!("/users/{admin}"))
        .await
        .ok()
        .has("Global Administrator")
        // Not offered on oneself.
        .lacks("Delete user")
        .lacks("Block sign-in");
    // Global Reader and Groups Administrator read, with no forms.
    for role in [
        DirectoryRole::GlobalReader,
        DirectoryRole::GroupsAdministrator,
    ] {
        let mut r = w.as_role(role).await;
        r.get(&path)
            .await
            .ok()
            .has("Office 365 E3")
            .lacks("Save changes")
            .lacks("Reset password")
            .lacks("Block sign-in")
            .lacks("Delete user")
            .lacks("Reprocess")
            .lacks("name=\"product\"");
    }
    // License Administrator: licenses, usage location and reprocess (U7, P6), nothing else.
    let mut l = w.as_role(DirectoryRole::LicenseAdministrator).await;
    l.get(&path)
        .await
        .ok()
        .has("Save changes")
        .has("name=\"usage_location\"")
        .has("Reprocess")
        .lacks("Reset password")
        .lacks("Block sign-in")
        .lacks("Delete user");
    // User Administrator cannot manage a Global Administrator (§8.5): no forms for that user.
    let mut u = w.as_role(DirectoryRole::UserAdministrator).await;
    u.get(&format!("/users/{admin}"))
        .await
        .ok()
        .lacks("Reset password")
        .lacks("Delete user")
        .lacks("Block sign-in");
    let r = u
        .post(&format!("/users/{admin}/block"), &[("blocked", "true")])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(
        w.app
            .user(&w.tenant, &w.admin_upn)
            .await
            .unwrap()
            .account_enabled
    );
    // Unknown user.
    assert_eq!(
        a.get(&format!("/users/{}", skuld_domain::UserId::new()))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

/// Licenses and apps: tick a product with an app off, untick it again; the usage location
/// is changed by a License Administrator (U7).
#[tokio::test]
async fn licenses_and_apps_are_saved_in_the_database() {
    let w = World::demo().await;
    seats(&w, E1, 60).await;
    let upn = w.make_user("ida").await;
    let id = id_of(&w, &upn).await;
    let path = format!("/users/{id}");
    let mut l = w.as_role(DirectoryRole::LicenseAdministrator).await;
    let p = l.get(&path).await;
    p.ok();
    let plans: Vec<String> = values(&p.body, "plan")
        .into_iter()
        .filter(|v| v.starts_with("STANDARDPACK/"))
        .collect();
    assert!(plans.len() > 1);
    let mut fields = vec![("product", E1), ("apps", E1), ("usage_location", "US")];
    for p in &plans[1..] {
        fields.push(("plan", p));
    }
    let r = l.post(&format!("{path}/licenses"), &fields).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), Some(format!("{path}?done=saved").as_str()));
    assert_eq!(direct(&w, &upn).await, vec![E1.to_string()]);
    let v = w.app.user_view(&w.tenant, &upn).await.unwrap();
    assert_eq!(
        v.licenses
            .iter()
            .find(|l| l.part_number == E1)
            .unwrap()
            .disabled_plans
            .len(),
        1
    );
    l.get(&format!("{path}?done=saved"))
        .await
        .ok()
        .has("Your changes were saved.")
        .has("Apps turned off");
    // Nothing changed.
    let r = l
        .post(
            &format!("{path}/licenses"),
            &[
                vec![("product", E1), ("apps", E1), ("usage_location", "US")],
                plans[1..].iter().map(|p| ("plan", p.as_str())).collect(),
            ]
            .concat(),
        )
        .await;
    assert_eq!(r.location(), Some(format!("{path}?done=nochange").as_str()));
    // The location changed, and the license unticked.
    let r = l
        .post(&format!("{path}/licenses"), &[("usage_location", "GB")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let u = w.app.user(&w.tenant, &upn).await.unwrap();
    assert_eq!(
        u.usage_location.map(|l| l.to_string()).as_deref(),
        Some("GB")
    );
    assert!(direct(&w, &upn).await.is_empty());
    // Reprocess (P5).
    let r = l.post(&format!("{path}/reprocess"), &[]).await;
    assert_eq!(
        r.location(),
        Some(format!("{path}?done=reprocessed").as_str())
    );
}

/// Bad input on Licenses and apps is shown on the page with nothing half-written: no usage
/// location (U1), conflicting products (§4.1), an unknown product, a bad country code; a
/// refused license change sets the location back.
#[tokio::test]
async fn licenses_and_apps_refusals_leave_nothing_behind() {
    let w = World::demo().await;
    seats(&w, E1, 60).await;
    seats(&w, E3, 60).await;
    let nolo = no_location_user(&w, "nola").await;
    let id = id_of(&w, &nolo).await;
    let path = format!("/users/{id}/licenses");
    let mut a = w.admin().await;
    a.get(&format!("/users/{id}")).await.ok();
    // U1: a direct license needs the user's own usage location.
    let r = a
        .post(&path, &[("product", E1), ("usage_location", "")])
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    r.has("usage location").has("banner error");
    assert!(direct(&w, &nolo).await.is_empty());
    // E1 and E3 conflict: refused, and the location typed with it is set back.
    let r = a
        .post(
            &path,
            &[("product", E1), ("product", E3), ("usage_location", "US")],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    r.has("banner error");
    assert!(direct(&w, &nolo).await.is_empty());
    assert!(w
        .app
        .user(&w.tenant, &nolo)
        .await
        .unwrap()
        .usage_location
        .is_none());
    // The form keeps what was typed.
    assert!(r.body.contains("value=\"ENTERPRISEPACK\" checked"));
    assert!(r.body.contains("value=\"US\" selected"));
    let r = a.post(&path, &[("product", "NOPE_PACK")]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    r.has("no product NOPE_PACK");
    let r = a.post(&path, &[("usage_location", "XX")]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    r.has("is not a country code");
    // With a location, the license is assigned (D3: location first, then the license).
    let r = a
        .post(&path, &[("product", E1), ("usage_location", "US")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(direct(&w, &nolo).await, vec![E1.to_string()]);
    // Inherited licenses cannot be changed here (G13): the page offers no box for the path.
    let ethan = id_of(&w, "ethan.walker@contoso.test").await;
    let before = direct(&w, "ethan.walker@contoso.test").await;
    let r = a.post(&format!("/users/{ethan}/licenses"), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(direct(&w, "ethan.walker@contoso.test").await, before);
    assert!(inherited(&w, "ethan.walker@contoso.test", E3, "Engineering").await);
}

/// Rights and CSRF of every POST of a user's details.
#[tokio::test]
async fn user_forms_need_rights_and_the_csrf_token() {
    let w = World::demo().await;
    seats(&w, E1, 60).await;
    let upn = w.make_user("jill").await;
    let id = id_of(&w, &upn).await;
    let posts: [(String, Vec<(&str, &str)>); 5] = [
        (
            format!("/users/{id}/licenses"),
            vec![("product", E1), ("usage_location", "US")],
        ),
        (
            format!("/users/{id}/password"),
            vec![("mode", "auto"), ("force", "on")],
        ),
        (format!("/users/{id}/block"), vec![("blocked", "true")]),
        (format!("/users/{id}/delete"), vec![]),
        (format!("/users/{id}/reprocess"), vec![]),
    ];
    let hash = w.app.user(&w.tenant, &upn).await.unwrap().password_hash;
    // Global Reader: every POST refused.
    let mut g = w.as_role(DirectoryRole::GlobalReader).await;
    g.get(&format!("/users/{id}")).await.ok();
    for (p, f) in &posts {
        assert_eq!(g.post(p, f).await.status, StatusCode::FORBIDDEN, "{p}");
    }
    // License Administrator: reset, block and delete refused (§7.1).
    let mut l = w.as_role(DirectoryRole::LicenseAdministrator).await;
    l.get(&format!("/users/{id}")).await.ok();
    for (p, f) in &posts[1..4] {
        assert_eq!(l.post(p, f).await.status, StatusCode::FORBIDDEN, "{p}");
    }
    // Groups Administrator: nothing.
    let mut ga = w.as_role(DirectoryRole::GroupsAdministrator).await;
    ga.get(&format!("/users/{id}")).await.ok();
    for (p, f) in &posts {
        assert_eq!(ga.post(p, f).await.status, StatusCode::FORBIDDEN, "{p}");
    }
    // CSRF: no token, nothing done.
    let mut a = w.admin().await;
    for (p, f) in &posts {
        assert_eq!(
            a.post_raw(p, form(f)).await.status,
            StatusCode::FORBIDDEN,
            "{p}"
        );
    }
    let u = w.app.user(&w.tenant, &upn).await.unwrap();
    assert!(u.account_enabled);
    assert_eq!(u.password_hash, hash);
    assert!(direct(&w, &upn).await.is_empty());
}

/// Reset password (§8.2): generated or typed, "Require this user to change their password",
/// shown once; a weak password is refused on the page and nothing changes.
#[tokio::test]
async fn reset_password_shows_the_new_password_once() {
    let w = World::demo().await;
    let upn = w.make_user("kim").await;
    let id = id_of(&w, &upn).await;
    let mut u = w.as_role(DirectoryRole::UserAdministrator).await;
    u.get(&format!("/users/{id}"))
        .await
        .ok()
        .has("Reset password");
    let hash = w.app.user(&w.tenant, &upn).await.unwrap().password_hash;
    let r = u
        .post(
            &format!("/users/{id}/password"),
            &[("mode", "own"), ("password", "abc")],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    r.has("The password was not changed");
    assert_eq!(
        w.app.user(&w.tenant, &upn).await.unwrap().password_hash,
        hash
    );
    let r = u
        .post(
            &format!("/users/{id}/password"),
            &[("mode", "auto"), ("force", "on")],
        )
        .await;
    r.ok()
        .has("This is the only time the password is shown")
        .has("data-copy=\"new-password\"")
        .has("They must change it when they next sign in");
    let at = r.body.find("id=\"new-password\">").unwrap() + "id=\"new-password\">".len();
    let shown = r.body[at..]
        .split('<')
        .next()
        .unwrap()
        .replace("&#38;", "&")
        .replace("&amp;", "&");
    assert_eq!(shown.chars().count(), 16, "{shown}");
    // The shown password is the one set: signing in with it leads to the change-password
    // page (a wrong one would be refused on the sign-in page).
    let s = w.browser().sign_in(&upn, &shown).await;
    s.ok().has("name=\"new\"");
    let after = w.app.user(&w.tenant, &upn).await.unwrap();
    assert!(after.force_change_password);
    assert_ne!(after.password_hash, hash);
    // Typed by the admin, without a forced change: the user signs in with it.
    let r = u
        .post(
            &format!("/users/{id}/password"),
            &[("mode", "own"), ("password", "Tr0ub4dor&3-horse")],
        )
        .await;
    r.ok().lacks("They must change it");
    let mut b: Browser = w.browser();
    let s = b.sign_in(&upn, "Tr0ub4dor&3-horse").await;
    assert_eq!(s.status, StatusCode::SEE_OTHER);
    assert!(
        !w.app
            .user(&w.tenant, &upn)
            .await
            .unwrap()
            .force_change_password
    );
}

/// Block sign-in and Unblock (accountEnabled); an admin can't block or delete themselves.
#[tokio::test]
async fn block_and_unblock_sign_in() {
    let w = World::demo().await;
    let upn = w.make_user("leo").await;
    let id = id_of(&w, &upn).await;
    let mut u = w.as_role(DirectoryRole::UserAdministrator).await;
    u.get(&format!("/users/{id}")).await.ok();
    let r = u
        .post(&format!("/users/{id}/block"), &[("blocked", "true")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(!w.app.user(&w.tenant, &upn).await.unwrap().account_enabled);
    u.get(&format!("/users/{id}?done=blocked"))
        .await
        .ok()
        .has("Sign-in is blocked")
        .has("Unblock sign-in");
    let r = u
        .post(&format!("/users/{id}/block"), &[("blocked", "false")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(w.app.user(&w.tenant, &upn).await.unwrap().account_enabled);
    let r = u
        .post(&format!("/users/{id}/block"), &[("blocked", "maybe")])
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // Oneself.
    let mut a = w.admin().await;
    let me = id_of(&w, &w.admin_upn).await;
    a.get(&format!("/users/{me}")).await.ok();
    let r = a
        .post(&format!("/users/{me}/block"), &[("blocked", "true")])
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    r.has("can't block your own sign-in");
    let r = a.post(&format!("/users/{me}/delete"), &[]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        w.app
            .user(&w.tenant, &w.admin_upn)
            .await
            .unwrap()
            .account_enabled
    );
}

// ---------------------------------------------------------------- delete and restore

/// Delete (D7): a soft delete, to Deleted users with a banner; Restore says which licenses it
/// got back and which it waits for, and why (§8.5: restored "even if there are none
/// available" is skuld's D7 wait in CountViolation); Delete permanently removes it for good.
#[tokio::test]
async fn delete_restore_and_purge() {
    let w = World::demo().await;
    seats(&w, E1, 60).await;
    let upn = w.make_user("mona").await;
    give(&w, &upn, E1).await;
    let id = id_of(&w, &upn).await;
    let e1_before = sku(&w, E1).await.assigned;
    let mut u = w.as_role(DirectoryRole::UserAdministrator).await;
    u.get(&format!("/users/{id}")).await.ok().has("Delete user");
    let r = u.post(&format!("/users/{id}/delete"), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(
        r.location(),
        Some(format!("/users/deleted?done=deleted&id={id}").as_str())
    );
    assert!(w.app.user(&w.tenant, &upn).await.is_err());
    assert_eq!(sku(&w, E1).await.assigned, e1_before - 1);
    let p = u.get(&format!("/users/deleted?done=deleted&id={id}")).await;
    p.ok()
        .has("mona was deleted")
        .has("mona@contoso.test")
        .has("Jordan Price")
        .has("<td>30</td>")
        .has("Restore")
        .has("Delete permanently")
        .has("data-confirm=");
    // Details of a deleted user point to Deleted users.
    assert_eq!(
        u.get(&format!("/users/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
    // Restore: E1 comes back.
    let r = u.post(&format!("/users/deleted/{id}/restore"), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let loc = r.location().unwrap().to_string();
    u.get(&loc)
        .await
        .ok()
        .has("mona</a> was restored")
        .has("Licenses back: Office 365 E1 (direct)");
    assert_eq!(direct(&w, &upn).await, vec![E1.to_string()]);
    // Jordan Price (the demo's leaver) waits for an E5 seat from Sales: the banner says so.
    let jordan = w
        .app
        .users(&w.tenant, true, 10, 0)
        .await
        .unwrap()
        .into_iter()
        .find(|x| x.upn == "jordan.price@contoso.test")
        .unwrap();
    let r = u
        .post(&format!("/users/deleted/{}/restore", jordan.id), &[])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let loc = r.location().unwrap().to_string();
    u.get(&loc)
        .await
        .ok()
        .has("Waiting for licenses")
        .has("Office 365 E5 (from group Sales)")
        .has("waiting for a free license of Office 365 E5");
    assert!(w
        .app
        .user(&w.tenant, "jordan.price@contoso.test")
        .await
        .is_ok());
    // Delete again, then permanently.
    u.get(&format!("/users/{id}")).await.ok();
    u.post(&format!("/users/{id}/delete"), &[]).await;
    let r = u.post(&format!("/users/deleted/{id}/purge"), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), Some("/users/deleted?done=purged"));
    assert!(w
        .app
        .any_user(&w.tenant, skuld_domain::UserId::parse(&id).unwrap())
        .await
        .unwrap()
        .is_none());
    u.get("/users/deleted?done=purged")
        .await
        .ok()
        .has("deleted permanently")
        .lacks("mona@contoso.test");
}

/// Deleted users: readers see the list without actions; Restore and Delete permanently need
/// DeleteUser (User Administrator, Global Administrator) and the CSRF token; a restore whose
/// user name was taken meanwhile is refused on the page (§8.5 restore conflicts).
#[tokio::test]
async fn deleted_users_rights_csrf_and_conflicts() {
    let w = World::demo().await;
    let upn = w.make_user("nina").await;
    let id = id_of(&w, &upn).await;
    w.app
        .delete_user(&w.tenant, &upn, &Actor::Operator)
        .await
        .unwrap();
    let restore = format!("/users/deleted/{id}/restore");
    let purge = format!("/users/deleted/{id}/purge");
    for role in [
        DirectoryRole::GlobalReader,
        DirectoryRole::LicenseAdministrator,
        DirectoryRole::GroupsAdministrator,
    ] {
        let mut r = w.as_role(role).await;
        r.get("/users/deleted")
            .await
            .ok()
            .has("nina@contoso.test")
            .lacks("Delete permanently")
            .lacks(&restore);
        assert_eq!(r.post(&restore, &[]).await.status, StatusCode::FORBIDDEN);
        assert_eq!(r.post(&purge, &[]).await.status, StatusCode::FORBIDDEN);
    }
    let mut a = w.admin().await;
    a.get("/users/deleted").await.ok().has(&restore);
    assert_eq!(
        a.post_raw(&restore, String::new()).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        a.post_raw(&purge, form(&[("_csrf", "wrong")])).await.status,
        StatusCode::FORBIDDEN
    );
    assert!(w.app.user(&w.tenant, &upn).await.is_err());
    // The name was taken by a new user: the restore is refused on the page.
    w.make_user("nina").await;
    let r = a.post(&restore, &[]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    r.has("banner error").has("nina@contoso.test");
    // Not an id.
    assert_eq!(
        a.post("/users/deleted/not-an-id/restore", &[]).await.status,
        StatusCode::NOT_FOUND
    );
}

/// Active users are listed by display name, as the admin center lists people.
#[tokio::test]
async fn active_users_are_listed_by_display_name() {
    let w = World::demo().await;
    for (alias, name) in [("zz1", "Zed Last"), ("aa1", "Aaron First")] {
        w.app
            .create_user(
                &w.tenant,
                skuld_app::NewUser {
                    upn: format!("{alias}@contoso.test"),
                    display_name: name.into(),
                    usage_location: Some("US".into()),
                    account_enabled: true,
                    ..Default::default()
                },
                &skuld_app::Actor::Operator,
            )
            .await
            .unwrap();
    }
    let mut b = w.admin().await;
    let p = b.get("/users?q=").await;
    p.ok();
    let rows = &p.body[p.body.find("<tbody").expect("a table")..];
    let at = |n: &str| rows.find(&format!(">{n}<"));
    let (a, m) = (
        at("Aaron First").expect("Aaron listed"),
        at("Morgan Reid").expect("the admin"),
    );
    assert!(a < m, "Aaron comes before Morgan");
    if let Some(z) = at("Zed Last") {
        assert!(m < z, "Zed comes after Morgan");
    }
    let last = b.get("/users?q=zed").await;
    last.ok().has("Zed Last");
}
