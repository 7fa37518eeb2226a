//! Item 20: guests read only their own user, their own memberships and the groups they are a
//! member of (Entra's default "Guest user access is restricted to properties and memberships of
//! their own directory objects"); changing `userType` needs a Global Administrator both ways
//! (rulebook B1); licensing a group that holds guests is allowed but flagged in the audit entry.

use crate::harness::*;
use serde_json::json;
use skuld_domain::DirectoryRole::*;

const DENIED: &str = "Insufficient privileges to complete the operation.";

async fn guest(w: &World, alias: &str) -> skuld_domain::User {
    w.app
        .create_user(
            &w.tenant,
            skuld_app::NewUser {
                upn: format!("{alias}_fabrikam.test#EXT#@contoso.test"),
                display_name: alias.into(),
                usage_location: Some("US".into()),
                user_type: skuld_domain::UserType::Guest,
                account_enabled: true,
                password: Some(format!("Passw0rd!{alias}")),
                ..Default::default()
            },
            &OP,
        )
        .await
        .unwrap()
        .0
}

async fn group(w: &World, name: &str) -> String {
    w.app
        .create_group(
            &w.tenant,
            skuld_app::NewGroup {
                display_name: name.into(),
                security_enabled: true,
                ..Default::default()
            },
            &OP,
        )
        .await
        .unwrap()
        .id
        .to_string()
}

#[tokio::test]
async fn item20_a_guest_reads_only_their_own_objects() {
    for w in World::all().await {
        let g = guest(&w, "gina").await;
        let other = w.user("olaf", Some("US")).await;
        let parent = group(&w, "Partners").await;
        let child = group(&w, "Partner project").await;
        let elsewhere = group(&w, "Finance").await;
        w.app
            .add_member(&w.tenant, &parent, &child, &OP)
            .await
            .unwrap();
        w.app
            .add_member(&w.tenant, &child, &g.upn, &OP)
            .await
            .unwrap();
        w.app
            .add_member(&w.tenant, &elsewhere, &other.upn, &OP)
            .await
            .unwrap();
        let t = w.token(&g.upn).await;

        // Own profile and memberships.
        let me = w.get("/v1.0/me", &t).await;
        me.expect(200);
        assert_eq!(me.body["id"], g.id.to_string());
        w.get(&format!("/v1.0/users/{}", g.id), &t)
            .await
            .expect(200);
        let mine = w.get(&format!("/v1.0/users/{}/memberOf", g.id), &t).await;
        mine.expect(200);
        assert_eq!(mine.ids(), std::slice::from_ref(&child));
        let all = w
            .get(&format!("/v1.0/users/{}/transitiveMemberOf", g.id), &t)
            .await;
        all.expect(200);
        let mut ids = all.ids();
        ids.sort();
        let mut want = vec![parent.clone(), child.clone()];
        want.sort();
        assert_eq!(ids, want);
        // The groups they belong to, directly or through nesting.
        w.get(&format!("/v1.0/groups/{child}"), &t)
            .await
            .expect(200);
        w.get(&format!("/v1.0/groups/{parent}"), &t)
            .await
            .expect(200);

        // Nothing else: lists, other users (existing or not), other groups.
        for url in [
            "/v1.0/users".to_string(),
            "/v1.0/groups".to_string(),
            "/v1.0/users/$count".to_string(),
            format!("/v1.0/users/{}", other.id),
            format!("/v1.0/users/{}", other.upn),
            format!("/v1.0/users/{}/memberOf", other.id),
            format!("/v1.0/users/{}", uuid::Uuid::new_v4()),
            format!("/v1.0/groups/{elsewhere}"),
            format!("/v1.0/groups/{}", uuid::Uuid::new_v4()),
        ] {
            w.get(&url, &t)
                .await
                .expect_error(403, "Authorization_RequestDenied", DENIED);
        }

        // A member user still reads the directory; a guest holding a role reads what it grants.
        let m = w.token(&other.upn).await;
        w.get("/v1.0/users", &m).await.expect(200);
        w.get(&format!("/v1.0/groups/{child}"), &m)
            .await
            .expect(200);
        w.app
            .add_role(&w.tenant, &g.upn, GlobalReader, &OP)
            .await
            .unwrap();
        let t = w.token(&g.upn).await;
        w.get("/v1.0/users", &t).await.expect(200);
    }
}

/// Rulebook B1: only a Global Administrator licenses a guest directly, so flipping `userType`
/// (to license the user as a member and flip back) needs the same right, both ways.
#[tokio::test]
async fn item20_changing_user_type_needs_a_global_administrator_both_ways() {
    for w in World::all().await {
        let g = guest(&w, "gus").await;
        let m = w.user("mia", Some("US")).await;
        let ua = w.user_with_role("ua", Some(UserAdministrator)).await;
        let t = w.token(&ua.upn).await;
        for (id, to) in [(g.id, "Member"), (m.id, "Guest")] {
            w.patch(&format!("/v1.0/users/{id}"), &t, json!({"userType": to}))
                .await
                .expect_error(403, "Authorization_RequestDenied", DENIED);
        }
        // The User Administrator keeps every other right on them, and sending the current type
        // is no change.
        w.patch(
            &format!("/v1.0/users/{}", g.id),
            &t,
            json!({"department": "Ops", "userType": "Guest"}),
        )
        .await
        .expect(204);
        assert_eq!(
            w.app.user(&w.tenant, &g.upn).await.unwrap().user_type,
            skuld_domain::UserType::Guest
        );
        let admin = w.admin_token().await;
        w.patch(
            &format!("/v1.0/users/{}", g.id),
            &admin,
            json!({"userType": "Member"}),
        )
        .await
        .expect(204);
        w.patch(
            &format!("/v1.0/users/{}", m.id),
            &admin,
            json!({"userType": "Guest"}),
        )
        .await
        .expect(204);
        assert_eq!(
            w.app.user(&w.tenant, &g.upn).await.unwrap().user_type,
            skuld_domain::UserType::Member
        );
    }
}

/// Group licensing of guests stays allowed (Microsoft's model) but its audit entry carries the
/// advice; so does a guest joining a licensed group.
#[tokio::test]
async fn item20_licensing_a_group_with_guests_is_flagged_in_the_audit_entry() {
    for w in World::all().await {
        let g = guest(&w, "gwen").await;
        let parent = group(&w, "Licensed partners").await;
        let child = group(&w, "Partner team").await;
        w.app
            .add_member(&w.tenant, &parent, &child, &OP)
            .await
            .unwrap();
        w.app
            .add_member(&w.tenant, &child, &g.upn, &OP)
            .await
            .unwrap();
        let admin = w.admin_token().await;
        let e3 = sku("ENTERPRISEPACK").to_string();
        let r = w
            .post(
                &format!("/v1.0/groups/{parent}/assignLicense"),
                &admin,
                json!({"addLicenses": [{"skuId": e3, "disabledPlans": []}], "removeLicenses": []}),
            )
            .await;
        assert!(r.status.is_success(), "{}", r.text);
        w.drain().await;
        // The guest is licensed through the group (allowed).
        assert!(!w
            .app
            .user_view(&w.tenant, &g.upn)
            .await
            .unwrap()
            .licenses
            .is_empty());
        let later = guest(&w, "gale").await;
        w.app
            .add_member(&w.tenant, &child, &later.upn, &OP)
            .await
            .unwrap();

        let audits = w.get("/v1.0/auditLogs/directoryAudits", &admin).await;
        audits.expect(200);
        let entries = audits.body["value"].as_array().unwrap().clone();
        let warning_of = |activity: &str| -> Vec<String> {
            entries
                .iter()
                .filter(|e| e["activityDisplayName"] == activity)
                .flat_map(|e| {
                    e["targetResources"][0]["modifiedProperties"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default()
                })
                .filter(|p| p["displayName"] == "GuestLicensingWarning")
                .map(|p| p["newValue"].as_str().unwrap_or_default().to_string())
                .collect()
        };
        let set = warning_of("Set group license");
        assert_eq!(set.len(), 1, "{}", audits.text);
        assert!(
            set[0].contains("1 guest (B2B account)") && set[0].contains("advises against"),
            "{}",
            set[0]
        );
        let added = warning_of("Add member to group");
        assert_eq!(
            added.len(),
            1,
            "only the guest added to a licensed group: {}",
            audits.text
        );
    }
}
