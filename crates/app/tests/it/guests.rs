//! Item 20: licensing groups that hold guests is allowed but flagged in the group's view (what
//! `skuld group show` and the admin center show); B1's userType rule for delegated callers.

use crate::fixtures::{env, OP};
use crate::harness::for_each_backend;
use skuld_app::{Actor, AppError, UserPatch};
use skuld_domain::{DirectoryRole, UserType};

const E3: &str = "ENTERPRISEPACK";

#[tokio::test]
async fn item20_group_view_warns_when_a_licensed_group_holds_guests() {
    for_each_backend(|url| async move {
        let e = env(&url).await;
        e.subscribe(E3, 5).await;
        e.group("Partners").await;
        e.group("Partner team").await;
        e.add("Partners", "Partner team").await.unwrap();
        e.user("amy", Some("US")).await;
        e.add("Partner team", "amy").await.unwrap();
        let mut n = e.new_user("gil_fabrikam.test#EXT#", Some("US"));
        n.user_type = UserType::Guest;
        e.create(n).await;
        e.add("Partner team", "gil_fabrikam.test#EXT#").await.unwrap();

        // Not licensed yet: guests are counted, no warning.
        let v = e.app.group_view(&e.t, "Partners").await.unwrap();
        assert_eq!((v.guests, v.guest_warning.clone()), (1, None));

        e.license_group("Partners", E3).await.unwrap();
        let v = e.app.group_view(&e.t, "Partners").await.unwrap();
        assert_eq!(v.guests, 1);
        assert_eq!(
            v.guest_warning.as_deref(),
            Some("1 guest (B2B account) in this group get its licenses: Microsoft advises against licensing groups that contain guests; license guests directly instead")
        );
        // Allowed all the same (Microsoft's model): the guest holds the license.
        assert!(e.holds("gil_fabrikam.test#EXT#", E3).await);
        // The group without guests carries no warning.
        e.license_group("Partner team", E3).await.unwrap();
        e.remove("Partner team", "gil_fabrikam.test#EXT#").await.unwrap();
        let v = e.app.group_view(&e.t, "Partner team").await.unwrap();
        assert_eq!((v.guests, v.guest_warning), (0, None));
        e.assert_no_drift().await;
    })
    .await;
}

#[tokio::test]
async fn item20_user_type_changes_need_the_right_to_license_guests() {
    for_each_backend(|url| async move {
        let e = env(&url).await;
        let m = e.user("max", Some("US")).await;
        let ua = Actor::User {
            id: m.id,
            upn: "ua@contoso.test".into(),
            roles: vec![DirectoryRole::UserAdministrator],
            guest: false,
            scopes: None,
        };
        let flip = |t: UserType| UserPatch {
            user_type: Some(t),
            ..UserPatch::default()
        };
        let r = e
            .app
            .update_user(&e.t, &m.upn, flip(UserType::Guest), &ua)
            .await;
        assert!(matches!(r, Err(AppError::Forbidden(_))), "{r:?}");
        assert_eq!(
            e.app.user(&e.t, &m.upn).await.unwrap().user_type,
            UserType::Member
        );
        e.app
            .update_user(&e.t, &m.upn, flip(UserType::Guest), &OP)
            .await
            .unwrap();
        let r = e
            .app
            .update_user(&e.t, &m.upn, flip(UserType::Member), &ua)
            .await;
        assert!(matches!(r, Err(AppError::Forbidden(_))), "{r:?}");
    })
    .await;
}
