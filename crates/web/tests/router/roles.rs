//! Router tests of Roles (issue 8, page 12): who holds which admin role; only a Global
//! Administrator assigns and removes roles (what another role may not do is not offered and is
//! refused if forced).

use crate::harness::{form, World};
use axum::http::StatusCode;
use skuld_domain::DirectoryRole;

const LICENSE_ADMIN: &str = "4d6ac14f-3453-41d0-bef9-a3e0c569773a";

async fn roles_of(w: &World, upn: &str) -> Vec<DirectoryRole> {
    w.app.user_view(&w.tenant, upn).await.unwrap().roles
}

#[tokio::test]
async fn a_global_administrator_assigns_and_removes_a_role() {
    let w = World::demo().await;
    let upn = w.make_user("dana").await;
    let mut b = w.admin().await;
    b.get("/roles")
        .await
        .ok()
        .has("Global Administrator")
        .has("License Administrator")
        .has("Assign a role")
        .has(&w.admin_upn)
        .lacks("style=");
    let r = b
        .post("/roles/assign", &[("upn", &upn), ("role", LICENSE_ADMIN)])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), Some("/roles?done=assigned"));
    assert_eq!(
        roles_of(&w, &upn).await,
        vec![DirectoryRole::LicenseAdministrator]
    );
    b.get("/roles?done=assigned")
        .await
        .ok()
        .has("The role was assigned.")
        .has(&upn);
    let id = w.app.user(&w.tenant, &upn).await.unwrap().id.to_string();
    let r = b
        .post("/roles/remove", &[("user", &id), ("role", LICENSE_ADMIN)])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(roles_of(&w, &upn).await.is_empty());
}

#[tokio::test]
async fn other_roles_see_the_roles_but_may_not_change_them() {
    let w = World::demo().await;
    let upn = w.make_user("erin").await;
    for role in [
        DirectoryRole::GlobalReader,
        DirectoryRole::UserAdministrator,
        DirectoryRole::LicenseAdministrator,
    ] {
        let mut b = w.as_role(role).await;
        b.get("/roles")
            .await
            .ok()
            .has("Only a Global Administrator can assign or remove roles.")
            .lacks("Assign a role")
            .lacks("action=\"/roles/remove\"");
        let r = b
            .post("/roles/assign", &[("upn", &upn), ("role", LICENSE_ADMIN)])
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{role:?}");
        assert!(roles_of(&w, &upn).await.is_empty());
    }
    // A Guest Inviter may not even read them.
    let mut g = w.as_role(DirectoryRole::GuestInviter).await;
    assert_eq!(g.get("/roles").await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn csrf_and_bad_input_change_nothing() {
    let w = World::demo().await;
    let upn = w.make_user("fay").await;
    let mut b = w.admin().await;
    b.get("/roles").await.ok();
    let r = b
        .post_raw(
            "/roles/assign",
            form(&[("upn", &upn), ("role", LICENSE_ADMIN)]),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(roles_of(&w, &upn).await.is_empty());
    // An unknown user is named on the page.
    let r = b
        .post(
            "/roles/assign",
            &[("upn", "nobody@contoso.test"), ("role", LICENSE_ADMIN)],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    r.has("role=\"alert\"").has("nobody@contoso.test");
    // An unknown role.
    let r = b
        .post("/roles/assign", &[("upn", &upn), ("role", "Emperor")])
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    r.has("Choose one of the roles in the list.");
    // No user.
    let r = b.post("/roles/assign", &[("role", LICENSE_ADMIN)]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    r.has("Choose the user who should get the License Administrator role.");
    assert!(roles_of(&w, &upn).await.is_empty());
}
