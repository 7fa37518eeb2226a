//! Router tests of the audit log (issue 8, page 11; rulebook §10.1): filters by activity,
//! target, actor and date, the license events with old and new values, keyset pages, and who
//! may read it (Global Administrator and Global Reader).

use crate::harness::World;
use axum::http::StatusCode;
use skuld_domain::DirectoryRole;

#[tokio::test]
async fn the_log_shows_license_events_with_old_and_new_values() {
    let w = World::demo().await;
    let mut b = w.admin().await;
    b.get("/audit")
        .await
        .ok()
        .has("Change user license")
        .has("Modified properties")
        .has("AssignedLicense")
        .lacks("style=");
    // One activity only.
    let p = b.get("/audit?activity=Add+group").await;
    p.ok().has("Add group").lacks("<strong>Add user</strong>");
    // By target: the demo's Sales group.
    b.get("/audit?target=sales")
        .await
        .ok()
        .has("Sales")
        .lacks("<strong>Add user</strong>");
    // By actor: nothing matches a stranger.
    b.get("/audit?actor=nobody-at-all")
        .await
        .ok()
        .has("No activity matches these filters.");
    // By date: tomorrow onwards has nothing; today has everything.
    let today = skuld_web::view::date(skuld_app::now());
    let tomorrow = skuld_web::view::date(skuld_domain::Timestamp(skuld_app::now().0 + 86_400_000));
    b.get(&format!("/audit?from={tomorrow}"))
        .await
        .ok()
        .has("No activity matches these filters.");
    b.get(&format!("/audit?from={today}&to={today}"))
        .await
        .ok()
        .has("Add user");
}

#[tokio::test]
async fn pages_go_back_in_time_without_repeating() {
    let w = World::demo().await;
    for i in 0..60 {
        w.make_user(&format!("p{i:02}")).await;
    }
    let mut b = w.admin().await;
    let first = b.get("/audit?activity=Add+user").await;
    first.ok().has("Older events").has("p59@contoso.test");
    let at = first.body.find("href=\"/audit?activity=").unwrap();
    let href = &first.body[at + 6..];
    let href = href[..href.find('"').unwrap()]
        .replace("&amp;", "&")
        .replace("&#38;", "&");
    let second = b.get(&href).await;
    second
        .ok()
        .lacks("p59@contoso.test")
        .has("p00@contoso.test");
}

#[tokio::test]
async fn readers_only_and_bad_filters_on_the_page() {
    let w = World::demo().await;
    let mut r = w.as_role(DirectoryRole::GlobalReader).await;
    r.get("/audit").await.ok().has("Add user");
    for role in [
        DirectoryRole::LicenseAdministrator,
        DirectoryRole::GuestInviter,
    ] {
        let mut b = w.as_role(role).await;
        assert_eq!(
            b.get("/audit").await.status,
            StatusCode::FORBIDDEN,
            "{role:?}"
        );
        b.get("/").await.ok().lacks("href=\"/audit\"");
    }
    let p = r.get("/audit?from=yesterday").await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);
    p.has("is not a date");
    let p = r.get("/audit?activity=Rename+planet").await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);
    p.has("There is no such activity");
}
