//! Router tests of Migrate users from direct to group licensing (issue 8, page 10; rulebook
//! §2.7 [MIG], [PSX]): only direct licenses the group's Active path covers with the same or
//! more apps are removed; the rest are reported with the reason.

use crate::harness::{form, World};
use crate::whatif::{buy, group_of};
use axum::http::StatusCode;
use skuld_app::{Actor, LicenseSpec};
use skuld_domain::{DirectoryRole, PlanId, SkuId};

const EXO: &str = "EXCHANGESTANDARD";

async fn direct(w: &World, upn: &str, sku: SkuId, off: Vec<PlanId>) {
    w.app
        .assign_license(
            &w.tenant,
            upn,
            &[LicenseSpec {
                sku,
                disabled_plans: off,
            }],
            &[],
            &Actor::Operator,
        )
        .await
        .expect("direct license");
}

/// The sources of the user's paths to `sku`: "Direct" and/or group ids.
async fn paths(w: &World, upn: &str, sku: SkuId) -> Vec<(String, bool)> {
    let id = w.app.user(&w.tenant, upn).await.unwrap().id;
    let l = w.app.licensing_of(&w.tenant, &[id]).await.unwrap();
    let mut v: Vec<(String, bool)> = l
        .get(&id)
        .map(|l| {
            l.states
                .iter()
                .filter(|s| s.sku == sku)
                .map(|s| {
                    let src = match s.source {
                        skuld_domain::licensing::Source::Direct => "Direct".to_string(),
                        skuld_domain::licensing::Source::Group(g) => g.to_string(),
                    };
                    (src, s.applied)
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// A world with group Pilot licensing Exchange Online with one app off, and members: ann
/// and cat (direct, same app off: covered; one seat each however many paths grant it), bob
/// (direct, all apps: the group turns one off, so his direct license stays).
async fn world() -> (World, SkuId, String) {
    let w = World::demo().await;
    let (sku, _) = buy(&w, EXO, 3).await;
    let g = group_of(&w, "Pilot", &["ann", "bob", "cat"]).await;
    let catalog = w.app.tenant_catalog(&w.tenant).await.unwrap();
    let product = catalog.product(&sku).unwrap().clone();
    assert!(product.plans.len() > 1, "needs a plan to turn off");
    let off = vec![product.plans[0]];
    direct(&w, "ann@contoso.test", sku, off.clone()).await;
    direct(&w, "bob@contoso.test", sku, vec![]).await;
    direct(&w, "cat@contoso.test", sku, off.clone()).await;
    w.app
        .group_assign_license(
            &w.tenant,
            &g,
            &[LicenseSpec {
                sku,
                disabled_plans: off,
            }],
            &[],
            &Actor::Operator,
        )
        .await
        .unwrap();
    (w, sku, g)
}

#[tokio::test]
async fn only_covered_direct_licenses_are_removed_and_nobody_loses_service() {
    let (w, sku, g) = world().await;
    let mut b = w.admin().await;
    let p = b
        .get(&format!("/migrate?group=Pilot&product={EXO}&preview=1"))
        .await;
    p.ok()
        .has("Can move to the group (2)")
        .has("Keep their direct license (1)")
        .has("turns on apps Pilot&#39;s license turns off")
        .lacks("style=");
    let before = w
        .app
        .sku_rows(&w.tenant)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.part_number == EXO)
        .unwrap()
        .assigned;
    let r = b
        .post("/migrate/apply", &[("group", "Pilot"), ("product", EXO)])
        .await;
    r.ok()
        .has("2 direct licenses were removed")
        .has("Keep their direct license (1)");
    // ann and cat keep the product through the group only; bob keeps his direct license.
    for a in ["ann", "cat"] {
        assert_eq!(
            paths(&w, &format!("{a}@contoso.test"), sku).await,
            vec![(g.clone(), true)],
            "{a}"
        );
    }
    let bob = paths(&w, "bob@contoso.test", sku).await;
    assert!(bob.contains(&("Direct".to_string(), true)), "{bob:?}");
    let after = w
        .app
        .sku_rows(&w.tenant)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.part_number == EXO)
        .unwrap()
        .assigned;
    assert_eq!(before, after, "no seat was lost or added");
}

#[tokio::test]
async fn rights_csrf_and_bad_input() {
    let (w, sku, _) = world().await;
    // Both license rights are needed: a Groups Administrator has only the group one.
    for role in [
        DirectoryRole::GroupsAdministrator,
        DirectoryRole::GlobalReader,
    ] {
        let mut b = w.as_role(role).await;
        assert_eq!(
            b.get("/migrate").await.status,
            StatusCode::FORBIDDEN,
            "{role:?}"
        );
        b.get("/").await.ok().lacks("href=\"/migrate\"");
    }
    let mut b = w.as_role(DirectoryRole::LicenseAdministrator).await;
    b.get("/migrate").await.ok().has("Show users");
    let r = b
        .post_raw(
            "/migrate/apply",
            form(&[("group", "Pilot"), ("product", EXO)]),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(paths(&w, "ann@contoso.test", sku)
        .await
        .contains(&("Direct".to_string(), true)));
    // A group that does not assign the product.
    let p = b
        .get("/migrate?group=Sales&product=EXCHANGESTANDARD&preview=1")
        .await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);
    p.has("role=\"alert\"").has("Sales");
    let p = b
        .get("/migrate?group=&product=EXCHANGESTANDARD&preview=1")
        .await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);
    p.has("Choose the group");
    let p = b.get("/migrate?group=Pilot&product=NOPE&preview=1").await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);
    p.has("Choose one of the organization");
}
