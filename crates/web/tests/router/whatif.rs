//! Router tests of the what-if preview (issue 8, page 9): the preview is computed by the real
//! use case and engine and keeps nothing; "Make this change" then does what the preview said.
//! Rulebook rows: D3 (freed seats go to waiting users), D4 (deterministic order when seats are
//! short), CountViolation (§3.1), M-BUY (seats below assigned are refused).

use crate::harness::{form, World};
use axum::http::StatusCode;
use skuld_app::{Actor, NewGroup, NewSubscription};
use skuld_domain::licensing::LicenseError;
use skuld_domain::{DirectoryRole, GroupKind, SkuId, SubscriptionStatus};

/// Exchange Online (Plan 1): a product the demo tenant has not bought.
const EXO: &str = "EXCHANGESTANDARD";

/// Buys `units` seats of `part`; returns the product and the subscription.
pub async fn buy(w: &World, part: &str, units: i64) -> (SkuId, String) {
    let sku = w
        .app
        .tenant_catalog(&w.tenant)
        .await
        .unwrap()
        .find_product(part)
        .expect("product in the catalog")
        .sku_id;
    let s = w
        .app
        .add_subscription(
            &w.tenant,
            NewSubscription {
                sku,
                units,
                status: SubscriptionStatus::Enabled,
                is_trial: false,
                self_service_owner: None,
                next_lifecycle_at: None,
            },
            &Actor::Operator,
        )
        .await
        .expect("subscription");
    (sku, s.id.to_string())
}

/// A static security group holding the users `aliases` (made here).
pub async fn group_of(w: &World, name: &str, aliases: &[&str]) -> String {
    let g = w
        .app
        .create_group(
            &w.tenant,
            NewGroup {
                display_name: name.into(),
                description: None,
                mail_nickname: None,
                kind: GroupKind::Security,
                security_enabled: true,
                mail_enabled: false,
                membership_rule: None,
                license_priority: 0,
            },
            &Actor::Operator,
        )
        .await
        .expect("group");
    for a in aliases {
        let upn = w.make_user(a).await;
        w.app
            .add_member(&w.tenant, &g.id.to_string(), &upn, &Actor::Operator)
            .await
            .expect("member");
    }
    g.id.to_string()
}

/// The user's state of `sku`: Some(None) holds it, Some(Some(e)) waits in e, None has no path.
async fn state(w: &World, upn: &str, sku: SkuId) -> Option<Option<LicenseError>> {
    let id = w.app.user(&w.tenant, upn).await.unwrap().id;
    let l = w.app.licensing_of(&w.tenant, &[id]).await.unwrap();
    let mine: Vec<_> = l
        .get(&id)
        .map(|l| l.states.iter().filter(|s| s.sku == sku).collect())
        .unwrap_or_default();
    if mine.is_empty() {
        return None;
    }
    if mine.iter().any(|s| s.applied) {
        return Some(None);
    }
    Some(mine.first().map(|s| s.error))
}

#[tokio::test]
async fn previewing_a_group_assignment_changes_nothing_and_then_happens_as_previewed() {
    let w = World::demo().await;
    let (sku, _) = buy(&w, EXO, 2).await;
    let g = group_of(&w, "Pilot", &["ann", "bob", "cat"]).await;
    let mut b = w.admin().await;
    let q = format!("/whatif?change=group&pick={g}&product={EXO}&preview=1");
    let p = b.get(&q).await;
    p.ok()
        .has("What would happen")
        .has("3 members of the group; 2 would get a license, 1 would wait, 0 would lose one.")
        .has("Would get a license (2)")
        .has("Would wait (1)")
        .has("Waits: CountViolation")
        .has("Make this change")
        .lacks("style=");
    // D4: who gets the seats is deterministic; the preview names the same users as the real run.
    let waiting_in_preview: Vec<&str> = ["ann", "bob", "cat"]
        .into_iter()
        .filter(|a| {
            let at = p.body.find("Would wait (1)").unwrap();
            p.body[at..].contains(&format!("{a}@contoso.test"))
        })
        .collect();
    assert_eq!(waiting_in_preview.len(), 1, "{}", p.body);
    // Nothing was kept: no group license, nobody holds the product.
    for a in ["ann", "bob", "cat"] {
        assert_eq!(state(&w, &format!("{a}@contoso.test"), sku).await, None);
    }
    assert!(w
        .app
        .group_view(&w.tenant, &g)
        .await
        .unwrap()
        .licenses
        .is_empty());
    // Make this change: the real use case, and what the preview said happens.
    let r = b
        .post(
            "/whatif/apply",
            &[("change", "group"), ("pick", &g), ("product", EXO)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(
        r.location(),
        Some("/licenses/EXCHANGESTANDARD?tab=users&done=applied")
    );
    for a in ["ann", "bob", "cat"] {
        let s = state(&w, &format!("{a}@contoso.test"), sku).await;
        if a == waiting_in_preview[0] {
            assert_eq!(s, Some(Some(LicenseError::CountViolation)), "{a}");
        } else {
            assert_eq!(s, Some(None), "{a}");
        }
    }
    b.get("/licenses/EXCHANGESTANDARD?tab=users&done=applied")
        .await
        .ok()
        .has("The change was made");
}

#[tokio::test]
async fn deleting_a_holder_previews_the_waiting_user_taking_the_seat() {
    let w = World::demo().await;
    let (sku, _) = buy(&w, EXO, 2).await;
    let g = group_of(&w, "Pilot", &["ann", "bob", "cat"]).await;
    w.app
        .group_assign_license(
            &w.tenant,
            &g,
            &[skuld_app::LicenseSpec {
                sku,
                disabled_plans: vec![],
            }],
            &[],
            &Actor::Operator,
        )
        .await
        .unwrap();
    let mut holders = Vec::new();
    let mut waiter = String::new();
    for a in ["ann", "bob", "cat"] {
        let upn = format!("{a}@contoso.test");
        match state(&w, &upn, sku).await {
            Some(None) => holders.push(upn),
            _ => waiter = upn,
        }
    }
    let mut b = w.admin().await;
    let q = format!(
        "/whatif?change=delete&names={}&preview=1",
        form(&[("", &holders[0])]).trim_start_matches('=')
    );
    b.get(&q)
        .await
        .ok()
        .has("Would lose a license (1)")
        .has("Gets a seat that this change frees")
        .has(&waiter);
    assert!(
        w.app.user(&w.tenant, &holders[0]).await.is_ok(),
        "preview deleted nobody"
    );
    // The real delete does the same (D3).
    let r = b
        .post(
            "/whatif/apply",
            &[("change", "delete"), ("names", &holders[0])],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(w.app.user(&w.tenant, &holders[0]).await.is_err());
    assert_eq!(state(&w, &waiter, sku).await, Some(None));
}

#[tokio::test]
async fn seats_previews_show_the_refusal_or_the_healed_waiters() {
    let w = World::demo().await;
    let (sku, sub) = buy(&w, EXO, 1).await;
    let g = group_of(&w, "Pilot", &["ann", "bob"]).await;
    w.app
        .group_assign_license(
            &w.tenant,
            &g,
            &[skuld_app::LicenseSpec {
                sku,
                disabled_plans: vec![],
            }],
            &[],
            &Actor::Operator,
        )
        .await
        .unwrap();
    let mut b = w.as_role(DirectoryRole::BillingAdministrator).await;
    // A Billing Administrator's preview opens on the change it may make.
    b.get("/whatif")
        .await
        .ok()
        .has("Change seats")
        .lacks("Assign a product to a group</a>");
    // M-BUY: fewer seats than assigned is refused, as Your products refuses it.
    let p = b
        .get(&format!(
            "/whatif?change=seats&subscription={sub}&seats=0&preview=1"
        ))
        .await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST, "{}", p.body);
    p.has("role=\"alert\"").lacks("What would happen");
    // One more seat: the waiting member takes it (D3).
    b.get(&format!(
        "/whatif?change=seats&subscription={sub}&seats=2&preview=1"
    ))
    .await
    .ok()
    .has("2 holders of the product; 1 would get a license, 0 would wait, 0 would lose one.")
    .has("Would get a license (1)")
    .has("1 → 2");
    let subs = w.app.subscriptions(&w.tenant).await.unwrap();
    assert_eq!(
        subs.iter().find(|s| s.id.to_string() == sub).unwrap().units,
        1,
        "the preview kept nothing"
    );
    // Bad input is answered on the page.
    let p = b
        .get(&format!(
            "/whatif?change=seats&subscription={sub}&seats=many&preview=1"
        ))
        .await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);
    p.has("is not a number of seats");
}

#[tokio::test]
async fn rights_csrf_and_bad_input() {
    let w = World::demo().await;
    buy(&w, EXO, 5).await;
    let g = group_of(&w, "Pilot", &["ann"]).await;
    // A Global Reader may open the page but preview nothing.
    let mut r = w.as_role(DirectoryRole::GlobalReader).await;
    r.get("/whatif")
        .await
        .ok()
        .has("doesn't allow any of the changes")
        .lacks("Make this change");
    let forced = r
        .get(&format!(
            "/whatif?change=group&pick={g}&product={EXO}&preview=1"
        ))
        .await;
    assert_eq!(forced.status, StatusCode::FORBIDDEN);
    let forced = r
        .post(
            "/whatif/apply",
            &[("change", "group"), ("pick", &g), ("product", EXO)],
        )
        .await;
    assert_eq!(forced.status, StatusCode::FORBIDDEN);
    // A Guest Inviter cannot read licenses at all.
    let mut gi = w.as_role(DirectoryRole::GuestInviter).await;
    assert_eq!(gi.get("/whatif").await.status, StatusCode::FORBIDDEN);

    let mut b = w.as_role(DirectoryRole::LicenseAdministrator).await;
    b.get("/whatif")
        .await
        .ok()
        .has("Assign a product to a group");
    // CSRF: the apply form without its token changes nothing.
    let p = b
        .post_raw(
            "/whatif/apply",
            form(&[("change", "group"), ("pick", &g), ("product", EXO)]),
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert!(w
        .app
        .group_view(&w.tenant, &g)
        .await
        .unwrap()
        .licenses
        .is_empty());
    // Unknown product, unknown group, no group: on the page, 400.
    let p = b
        .get(&format!(
            "/whatif?change=group&pick={g}&product=NOPE&preview=1"
        ))
        .await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);
    p.has("Choose one of the organization&#39;s products");
    let p = b
        .get(&format!(
            "/whatif?change=group&names=No+such+group&product={EXO}&preview=1"
        ))
        .await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST, "{}", p.body);
    p.has("role=\"alert\"");
    // Too many members at once.
    let mut u = w.as_role(DirectoryRole::UserAdministrator).await;
    let names: Vec<String> = (0..21).map(|i| format!("u{i}@contoso.test")).collect();
    let p = u
        .get(&format!(
            "/whatif?change=members&group=Pilot&names={}&preview=1",
            names.join("%0A")
        ))
        .await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);
    p.has("at most 20 new members");
}
