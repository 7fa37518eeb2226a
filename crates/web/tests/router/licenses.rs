//! Router tests of Billing › Licenses (admin-center.md §"Billing › Licenses"): the products
//! table, Your products (seats, take-over), product details with the Users and Groups tabs,
//! Assign licenses (≤ 20 users, apps on/off, per-user results), Unassign, Assign to groups
//! (≤ 20 groups) and the type-ahead endpoints.

use crate::harness::{form, World};
use axum::http::StatusCode;
use skuld_app::{Actor, LicenseSpec, NewGroup, NewUser};
use skuld_domain::{DirectoryRole, GroupKind, SubscriptionStatus, UserType};

const E3: &str = "ENTERPRISEPACK";
const E1: &str = "STANDARDPACK";

async fn sku(w: &World, part: &str) -> skuld_app::SkuRow {
    w.app
        .sku_rows(&w.tenant)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.part_number == part)
        .expect("product")
}

/// Whether the user holds `part` directly.
async fn direct(w: &World, upn: &str, part: &str) -> bool {
    w.app
        .user_view(&w.tenant, upn)
        .await
        .unwrap()
        .licenses
        .iter()
        .any(|l| l.part_number == part && l.paths.iter().any(|p| p.source == "Direct"))
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

async fn sub_of(w: &World, part: &str) -> skuld_domain::Subscription {
    let s = sku(w, part).await;
    w.app
        .subscriptions(&w.tenant)
        .await
        .unwrap()
        .into_iter()
        .find(|x| x.sku_id == s.sku_id)
        .expect("subscription")
}

#[tokio::test]
async fn billing_licenses_lists_products_for_readers_only() {
    let w = World::demo().await;
    let mut r = w.as_role(DirectoryRole::GlobalReader).await;
    r.get("/licenses")
        .await
        .ok()
        .has("Office 365 E3")
        .has("href=\"/licenses/ENTERPRISEPACK\"")
        .has("Available")
        .has("Assigned")
        .has("Total")
        .lacks("style=");
    // A Guest Inviter has no right to read licenses.
    let mut g = w.as_role(DirectoryRole::GuestInviter).await;
    assert_eq!(g.get("/licenses").await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        g.get("/licenses/subscriptions").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        g.get("/licenses/ENTERPRISEPACK").await.status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn an_unknown_product_is_a_clear_404() {
    let w = World::demo().await;
    let mut b = w.admin().await;
    let p = b.get("/licenses/NOPE_PACK").await;
    assert_eq!(p.status, StatusCode::NOT_FOUND);
    p.has("no product NOPE_PACK");
    let before = sku(&w, E3).await;
    let r = b
        .post("/licenses/NOPE_PACK/assign", &[("users", "x@contoso.test")])
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(sku(&w, E3).await.assigned, before.assigned);
}

#[tokio::test]
async fn product_users_tab_shows_direct_and_inherited_holders_and_forms_by_role() {
    let w = World::demo().await;
    let upn = w.make_user("dora").await;
    give(&w, &upn, E3).await;
    let mut a = w.admin().await;
    let p = a.get("/licenses/ENTERPRISEPACK").await;
    p.ok()
        .has("dora")
        .has("Through group")
        .has("Unassign licenses")
        .has("/licenses/ENTERPRISEPACK/assign");
    // Inherited rows are not selectable: only direct rows carry a checkbox.
    let boxes = p.body.matches("name=\"user\" value=").count();
    let direct_rows = p.body.matches("<td>Direct</td>").count();
    assert_eq!(boxes, direct_rows);
    // Global Reader reads but gets no forms.
    let mut r = w.as_role(DirectoryRole::GlobalReader).await;
    r.get("/licenses/ENTERPRISEPACK")
        .await
        .ok()
        .has("dora")
        .lacks("Unassign licenses")
        .lacks("/assign\"")
        .lacks("name=\"user\"");
    r.get("/licenses/ENTERPRISEPACK?tab=groups")
        .await
        .ok()
        .has("Engineering")
        .lacks("Assign to groups");
}

#[tokio::test]
async fn assign_licenses_happy_path_with_an_app_turned_off() {
    let w = World::demo().await;
    let upn = w.make_user("erin").await;
    let mut l = w.as_role(DirectoryRole::LicenseAdministrator).await;
    let f = l.get("/licenses/STANDARDPACK/assign").await;
    f.ok()
        .has("You can add up to 20 users at a time")
        .has("Turn apps and services on or off")
        .has("hx-get=\"/pick/users\"")
        .has("name=\"users\"");
    // Every plan box but the first stays ticked.
    let plans: Vec<String> = f
        .body
        .match_indices("name=\"plan\" value=\"")
        .map(|(i, m)| {
            let rest = &f.body[i + m.len()..];
            rest[..rest.find('"').unwrap()].to_string()
        })
        .collect();
    assert!(plans.len() > 1);
    let mut fields = vec![("users", upn.as_str())];
    for p in &plans[1..] {
        fields.push(("plan", p));
    }
    let r = l.post("/licenses/STANDARDPACK/assign", &fields).await;
    r.ok().has("License assigned").has(&upn);
    assert!(direct(&w, &upn, E1).await);
    let v = w.app.user_view(&w.tenant, &upn).await.unwrap();
    let lic = v.licenses.iter().find(|l| l.part_number == E1).unwrap();
    assert_eq!(lic.disabled_plans.len(), 1, "{lic:?}");
}

#[tokio::test]
async fn the_21st_user_is_refused_before_anything_is_written() {
    let w = World::demo().await;
    let mut a = w.admin().await;
    a.get("/licenses/STANDARDPACK/assign").await.ok();
    let before = sku(&w, E1).await.assigned;
    let upn = w.make_user("first").await;
    let mut names = vec![upn.clone()];
    for i in 0..20 {
        names.push(format!("nobody{i}@contoso.test"));
    }
    let text = names.join("\n");
    let r = a
        .post("/licenses/STANDARDPACK/assign", &[("users", &text)])
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    r.has("You can assign licenses to at most 20 users at a time; you chose 21. Choose fewer, or use a group.")
        .has("nobody19@contoso.test");
    assert_eq!(sku(&w, E1).await.assigned, before);
    assert!(!direct(&w, &upn, E1).await);
}

#[tokio::test]
async fn results_say_who_got_it_and_who_did_not_and_why() {
    let w = World::demo().await;
    let good = w.make_user("gina").await;
    w.app
        .create_user(
            &w.tenant,
            NewUser {
                upn: "nolo@contoso.test".into(),
                display_name: "No Location".into(),
                usage_location: None,
                user_type: UserType::Member,
                account_enabled: true,
                password: Some(crate::harness::PASSWORD.into()),
                ..Default::default()
            },
            &Actor::Operator,
        )
        .await
        .unwrap();
    let mut a = w.admin().await;
    a.get("/licenses/STANDARDPACK/assign").await.ok();
    let r = a
        .post(
            "/licenses/STANDARDPACK/assign",
            &[("users", &format!("{good}\nnolo@contoso.test"))],
        )
        .await;
    r.ok()
        .has("Assigned")
        .has("Not assigned")
        .has(&good)
        .has("nolo@contoso.test")
        .has("usage location");
    assert!(direct(&w, &good, E1).await);
    assert!(!direct(&w, "nolo@contoso.test", E1).await);
    // Not enough seats: E5 is sold out in the demo.
    let r = a
        .post("/licenses/ENTERPRISEPREMIUM/assign", &[("users", &good)])
        .await;
    r.ok().has("Not assigned").has(&good);
    assert!(!direct(&w, &good, "ENTERPRISEPREMIUM").await);
}

#[tokio::test]
async fn assigning_needs_the_right_and_a_valid_csrf_token() {
    let w = World::demo().await;
    let upn = w.make_user("hank").await;
    let mut r = w.as_role(DirectoryRole::GlobalReader).await;
    assert_eq!(
        r.get("/licenses/STANDARDPACK/assign").await.status,
        StatusCode::FORBIDDEN
    );
    let p = r
        .post("/licenses/STANDARDPACK/assign", &[("users", &upn)])
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    let p = r
        .post("/licenses/STANDARDPACK/groups", &[("groups", "Sales")])
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    let mut a = w.admin().await;
    a.get("/licenses/STANDARDPACK/assign").await.ok();
    let p = a
        .post_raw("/licenses/STANDARDPACK/assign", form(&[("users", &upn)]))
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    let p = a
        .post_raw(
            "/licenses/STANDARDPACK/assign",
            form(&[("_csrf", "wrong"), ("users", &upn)]),
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    let p = a
        .post_raw(
            "/licenses/STANDARDPACK/unassign",
            form(&[("_csrf", "wrong"), ("user", &upn)]),
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert!(!direct(&w, &upn, E1).await);
}

#[tokio::test]
async fn unassign_removes_only_direct_licenses() {
    let w = World::demo().await;
    let upn = w.make_user("ivy").await;
    give(&w, &upn, E1).await;
    let id = w.app.user(&w.tenant, &upn).await.unwrap().id.to_string();
    let mut l = w.as_role(DirectoryRole::LicenseAdministrator).await;
    l.get("/licenses/STANDARDPACK").await.ok().has("ivy");
    let r = l
        .post("/licenses/STANDARDPACK/unassign", &[("user", &id)])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(
        r.location(),
        Some("/licenses/STANDARDPACK?tab=users&done=unassigned")
    );
    assert!(!direct(&w, &upn, E1).await);
    l.get("/licenses/STANDARDPACK?tab=users&done=unassigned")
        .await
        .ok()
        .has("The licenses were unassigned.");
    // Nobody ticked: a clear message.
    let r = l.post("/licenses/STANDARDPACK/unassign", &[]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    r.has("Tick the users");
}

#[tokio::test]
async fn seats_are_changed_by_billing_admins_only() {
    let w = World::demo().await;
    let sub = sub_of(&w, E3).await;
    let path = format!("/licenses/subscriptions/{}/seats", sub.id);
    // License Administrator assigns but cannot change seats: read-only page, 403 on post.
    let mut l = w.as_role(DirectoryRole::LicenseAdministrator).await;
    l.get("/licenses/subscriptions")
        .await
        .ok()
        .has("Office 365 E3")
        .lacks("Save seats");
    let r = l.post(&path, &[("seats", "30")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let mut g = w.as_role(DirectoryRole::GlobalReader).await;
    g.get("/licenses/subscriptions")
        .await
        .ok()
        .lacks("Save seats")
        .lacks("Take over");
    assert_eq!(sub_of(&w, E3).await.units, sub.units);
    // Billing Administrator changes seats.
    let mut b = w.as_role(DirectoryRole::BillingAdministrator).await;
    b.get("/licenses/subscriptions")
        .await
        .ok()
        .has("Save seats");
    // CSRF.
    let r = b.post_raw(&path, form(&[("seats", "30")])).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Negative seats: refused, nothing written, input kept.
    let r = b.post(&path, &[("seats", "-3")]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    r.has("is not a number of seats").has("value=\"-3\"");
    assert_eq!(sub_of(&w, E3).await.units, sub.units);
    // Fewer seats than assigned: the app's refusal, shown.
    let assigned = sku(&w, E3).await.assigned;
    assert!(assigned > 1);
    let r = b.post(&path, &[("seats", "1")]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    r.has("banner error");
    assert_eq!(sub_of(&w, E3).await.units, sub.units);
    // Happy path.
    let r = b.post(&path, &[("seats", "30")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(sub_of(&w, E3).await.units, 30);
    b.get("/licenses/subscriptions?done=seats")
        .await
        .ok()
        .has("The number of seats was changed.");
}

#[tokio::test]
async fn a_self_service_purchase_is_taken_over_by_a_billing_admin() {
    let w = World::demo().await;
    let sub = w
        .app
        .subscriptions(&w.tenant)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.self_service_owner.is_some())
        .expect("self-service subscription");
    let path = format!("/licenses/subscriptions/{}/takeover", sub.id);
    let mut l = w.as_role(DirectoryRole::LicenseAdministrator).await;
    l.get("/licenses/subscriptions").await.ok().has("Charlotte");
    assert_eq!(l.post(&path, &[]).await.status, StatusCode::FORBIDDEN);
    let mut b = w.as_role(DirectoryRole::BillingAdministrator).await;
    b.get("/licenses/subscriptions").await.ok().has("Take over");
    let r = b.post(&path, &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let after = w
        .app
        .subscriptions(&w.tenant)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.id == sub.id)
        .unwrap();
    assert!(after.self_service_owner.is_none());
    // Again: not self-service any more, said plainly.
    let r = b.post(&path, &[]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    r.has("banner error");
    // Unknown subscription id.
    let r = b
        .post("/licenses/subscriptions/not-an-id/seats", &[("seats", "3")])
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let _ = SubscriptionStatus::Enabled;
}

#[tokio::test]
async fn assign_to_groups_queues_the_license_and_refuses_21_groups() {
    let w = World::demo().await;
    let g = w
        .app
        .create_group(
            &w.tenant,
            NewGroup {
                display_name: "Interns".into(),
                kind: GroupKind::Security,
                security_enabled: true,
                ..Default::default()
            },
            &Actor::Operator,
        )
        .await
        .unwrap();
    let has = |v: &std::collections::HashMap<_, Vec<(skuld_domain::SkuId, Vec<_>)>>,
               s: skuld_domain::SkuId| {
        v.get(&g.id).is_some_and(|l| l.iter().any(|x| x.0 == s))
    };
    let e1 = sku(&w, E1).await.sku_id;
    let mut a = w.as_role(DirectoryRole::GroupsAdministrator).await;
    a.get("/licenses/STANDARDPACK?tab=groups")
        .await
        .ok()
        .has("Assign to groups")
        .has("hx-get=\"/pick/groups\"");
    let many: Vec<String> = (0..21).map(|i| format!("Group {i}")).collect();
    let r = a
        .post(
            "/licenses/STANDARDPACK/groups",
            &[("groups", &many.join("\n"))],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    r.has("at most 20 groups at a time; you chose 21");
    // An unknown group: nothing queued for the others either.
    let r = a
        .post(
            "/licenses/STANDARDPACK/groups",
            &[("group", &g.id.to_string()), ("groups", "No Such Group")],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert!(!has(&w.app.group_licenses(&w.tenant).await.unwrap(), e1));
    let r = a
        .post(
            "/licenses/STANDARDPACK/groups",
            &[("group", &g.id.to_string())],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(has(&w.app.group_licenses(&w.tenant).await.unwrap(), e1));
    a.get("/licenses/STANDARDPACK?tab=groups&done=groups")
        .await
        .ok()
        .has("Interns");
}

#[tokio::test]
async fn pick_endpoints_answer_fragments_of_buttons() {
    let w = World::demo().await;
    let mut a = w.admin().await;
    let p = a.htmx("/pick/users?q=charl").await;
    p.ok()
        .has("data-pick=\"")
        .has("data-label=\"Charlotte")
        .has("charlotte.lewis@contoso.test")
        .lacks("<html");
    assert!(p.body.matches("<button type=\"button\"").count() <= 10);
    a.htmx("/pick/groups?q=Sal")
        .await
        .ok()
        .has("data-label=\"Sales\"")
        .lacks("<html");
    a.htmx("/pick/users?q=").await.ok().lacks("data-pick");
    let mut nobody = w.browser();
    assert_eq!(
        nobody.htmx("/pick/users?q=a").await.status,
        StatusCode::NO_CONTENT
    );
}

/// Speed (issue 8): the Users tab is paged by a keyset on the user id, so a product held by a
/// million users costs one page; the pages together list every holder once.
#[tokio::test]
async fn the_users_tab_pages_through_every_holder_once() {
    let w = World::demo().await;
    let (sku, _) = crate::whatif::buy(&w, "EXCHANGESTANDARD", 150).await;
    let mut upns = Vec::new();
    for i in 0..(skuld_web::pages::licenses::HOLDERS_PAGE + 5) {
        let upn = format!("h{i:03}@contoso.test");
        w.app
            .create_user(
                &w.tenant,
                NewUser {
                    upn: upn.clone(),
                    display_name: format!("Holder {i:03}"),
                    usage_location: Some("US".into()),
                    user_type: UserType::Member,
                    account_enabled: true,
                    ..Default::default()
                },
                &Actor::Operator,
            )
            .await
            .unwrap();
        upns.push(upn);
    }
    w.app
        .assign_licenses_reported(
            &w.tenant,
            &upns,
            &[LicenseSpec {
                sku,
                disabled_plans: vec![],
            }],
            &[],
            false,
            &Actor::Operator,
        )
        .await
        .unwrap();
    let mut b = w.admin().await;
    let first = b.get("/licenses/EXCHANGESTANDARD").await;
    first.ok().has("Next 100 users");
    let at = first.body.find("after=").expect("a next link");
    let cursor = &first.body[at + 6..at + 6 + 36];
    let second = b
        .get(&format!(
            "/licenses/EXCHANGESTANDARD?tab=users&after={cursor}"
        ))
        .await;
    second.ok().has("First page").lacks("Next 100 users");
    for u in &upns {
        let n = first.body.matches(&format!(">{u}<")).count()
            + second.body.matches(&format!(">{u}<")).count();
        assert_eq!(n, 1, "{u} is listed once");
    }
    let bad = b.get("/licenses/EXCHANGESTANDARD?after=nonsense").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}
