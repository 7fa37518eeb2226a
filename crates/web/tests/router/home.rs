//! Router tests of the home page (issue 8 "Home"): product bars, the cards of users and
//! groups with license errors and of subscriptions ending, and the usage chart.

use crate::harness::World;
use skuld_domain::{DirectoryRole, Timestamp};

#[tokio::test]
async fn home_shows_bars_error_cards_and_ending_subscriptions() {
    let w = World::demo().await;
    let mut a = w.admin().await;
    let p = a.get("/home").await;
    p.ok()
        .has("Office 365 E3")
        .has("assigned")
        .has("Users with license errors")
        .has("href=\"/users/")
        .has("Groups with license errors")
        .has("href=\"/groups/")
        .has("Subscriptions expiring soon or in grace")
        .has("In grace period")
        .has("History appears after the first days")
        .lacks("style=")
        .lacks("<svg");
    // `/` shows the same page to a browser.
    a.get("/").await.ok().has("Users with license errors");
}

#[tokio::test]
async fn the_chart_draws_assigned_seats_per_day_from_snapshots() {
    let w = World::demo().await;
    let now = w.state.clock.now();
    for d in (0..3).rev() {
        w.app
            .record_snapshots(&w.tenant, Timestamp(now.0 - d * Timestamp::DAY_MS))
            .await
            .unwrap();
    }
    let mut a = w.admin().await;
    let p = a.get("/home").await;
    p.ok()
        .has("<svg class=\"chart\"")
        .has("<polyline class=\"s0\" points=\"")
        .has("class=\"k0\"")
        .has("3 days from")
        .lacks("History appears after the first days")
        .lacks("style=")
        .lacks("<script>");
}

#[tokio::test]
async fn one_day_of_history_is_not_a_chart_yet() {
    let w = World::demo().await;
    w.app
        .record_snapshots(&w.tenant, w.state.clock.now())
        .await
        .unwrap();
    let mut a = w.admin().await;
    a.get("/home")
        .await
        .ok()
        .has("History appears after the first days")
        .lacks("<svg");
}

#[tokio::test]
async fn cards_appear_only_for_roles_that_may_read_them() {
    let w = World::demo().await;
    let mut r = w.as_role(DirectoryRole::GlobalReader).await;
    r.get("/home")
        .await
        .ok()
        .has("Users with license errors")
        .has("Groups with license errors");
    let mut g = w.as_role(DirectoryRole::GuestInviter).await;
    let p = g.get("/home").await;
    p.ok()
        .lacks("Users with license errors")
        .lacks("Subscriptions expiring soon")
        .lacks("Office 365 E3");
}

/// A signed-in user without an admin role ("User (no admin center access)") is shown no page:
/// the home page says why and what to do, and every other page refuses as well.
#[tokio::test]
async fn a_user_without_an_admin_role_is_refused_every_page() {
    let w = World::demo().await;
    let upn = w.make_user("plain").await;
    let mut b = w.browser();
    let r = b.sign_in(&upn, crate::harness::PASSWORD).await;
    assert_eq!(r.status, axum::http::StatusCode::SEE_OTHER, "{}", r.body);
    let p = b.get("/").await;
    assert_eq!(p.status, axum::http::StatusCode::FORBIDDEN);
    p.has("plain@contoso.test has no admin role")
        .has("sign out");
    for path in ["/licenses", "/whatif", "/roles", "/audit", "/migrate"] {
        assert_eq!(
            b.get(path).await.status,
            axum::http::StatusCode::FORBIDDEN,
            "{path}"
        );
    }
}
