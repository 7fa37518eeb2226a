//! Item 16: one privileged-target rule for every user-changing use case, including the ones the
//! Graph surface does not expose (password reset). The Graph cells are in the router's matrix.

use crate::fixtures::{env, OP};
use crate::harness::for_each_backend;
use skuld_app::{Actor, AppError};
use skuld_domain::DirectoryRole::{self, *};

fn actor(id: skuld_domain::UserId, role: DirectoryRole) -> Actor {
    Actor::User {
        id,
        upn: "actor@contoso.test".into(),
        roles: vec![role],
        guest: false,
        scopes: None,
    }
}

#[tokio::test]
async fn item16_password_reset_and_restore_follow_the_privileged_target_rule() {
    for_each_backend(|url| async move {
        let e = env(&url).await;
        let me = e.user("ua", Some("US")).await;
        let ua = actor(me.id, UserAdministrator);
        for (alias, role, allowed) in [
            ("plain", None, true),
            ("helper", Some(UserAdministrator), true),
            ("inviter", Some(GuestInviter), true),
            ("global", Some(GlobalAdministrator), false),
            ("licenser", Some(LicenseAdministrator), false),
            ("reader", Some(GlobalReader), false),
        ] {
            let u = e.user(alias, Some("US")).await;
            if let Some(r) = role {
                e.app.add_role(&e.t, &u.upn, r, &OP).await.unwrap();
            }
            let r = e
                .app
                .reset_password(&e.t, &u.upn, "N3w-Passw0rd!x", false, &ua)
                .await;
            match (allowed, &r) {
                (true, Ok(_)) | (false, Err(AppError::Forbidden(_))) => {}
                _ => panic!("reset {alias}: {r:?}"),
            }
            // Restore and purge of a deleted holder follow the same rule.
            e.app.delete_user(&e.t, &u.upn, &OP).await.unwrap();
            let r = e.app.restore_user(&e.t, &u.id.to_string(), &ua).await;
            assert_eq!(r.is_ok(), allowed, "restore {alias}: {r:?}");
            if !allowed {
                assert!(matches!(r, Err(AppError::Forbidden(_))));
                let r = e.app.purge_user(&e.t, &u.id.to_string(), &ua).await;
                assert!(
                    matches!(r, Err(AppError::Forbidden(_))),
                    "purge {alias}: {r:?}"
                );
                // Still there to be restored by a Global Administrator.
                e.app
                    .restore_user(&e.t, &u.id.to_string(), &OP)
                    .await
                    .unwrap();
            }
        }
        // A Global Administrator manages them all.
        let ga = actor(me.id, GlobalAdministrator);
        e.app
            .reset_password(&e.t, &e.upn("global"), "N3w-Passw0rd!y", false, &ga)
            .await
            .unwrap();
    })
    .await;
}
