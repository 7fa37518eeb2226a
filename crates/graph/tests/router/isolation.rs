//! A token of one tenant never sees or touches another tenant's objects.

use crate::harness::*;
use serde_json::json;
use skuld_app::NewUser;
use skuld_graph::auth::Claims;

#[tokio::test]
async fn tenants_are_isolated() {
    for w in World::all().await {
        let t = w.admin_token().await;
        let fab = w
            .app
            .create_tenant("Fabrikam", "fabrikam.test", "DE")
            .await
            .unwrap();
        let (fu, _) = w
            .app
            .create_user(
                &fab,
                NewUser {
                    upn: "franz@fabrikam.test".into(),
                    display_name: "Franz".into(),
                    usage_location: Some("DE".into()),
                    account_enabled: true,
                    password: Some("Passw0rd!franz".into()),
                    ..Default::default()
                },
                &OP,
            )
            .await
            .unwrap();
        let fg = w
            .app
            .create_group(
                &fab,
                skuld_app::NewGroup {
                    display_name: "Fab".into(),
                    security_enabled: true,
                    ..Default::default()
                },
                &OP,
            )
            .await
            .unwrap();
        let mine = w.get("/v1.0/users?$select=id,userPrincipalName", &t).await;
        assert!(!mine.text.contains("fabrikam"), "{}", mine.text);
        let fid = fu.id.to_string();
        w.get(&format!("/v1.0/users/{fid}"), &t).await.expect(404);
        w.get("/v1.0/users/franz@fabrikam.test", &t)
            .await
            .expect(404);
        w.patch(
            &format!("/v1.0/users/{fid}"),
            &t,
            json!({"usageLocation": "US"}),
        )
        .await
        .expect(404);
        w.delete(&format!("/v1.0/users/{fid}"), &t)
            .await
            .expect(404);
        w.post(
            &format!("/v1.0/users/{fid}/assignLicense"),
            &t,
            json!({"addLicenses": [], "removeLicenses": []}),
        )
        .await
        .expect(404);
        w.get(&format!("/v1.0/users/{fid}/licenseDetails"), &t)
            .await
            .expect(404);
        w.get(&format!("/v1.0/groups/{}", fg.id), &t)
            .await
            .expect(404);
        w.get(&format!("/v1.0/groups/{}/members", fg.id), &t)
            .await
            .expect(404);
        w.delete(&format!("/v1.0/groups/{}", fg.id), &t)
            .await
            .expect(404);
        // Their user cannot be added to our group, ours not to theirs.
        let r = w.post("/v1.0/groups", &t, json!({"displayName": "Mine", "mailEnabled": false, "mailNickname": "mine", "securityEnabled": true})).await;
        let gid = r.body["id"].as_str().unwrap().to_string();
        w.post(
        &format!("/v1.0/groups/{gid}/members/$ref"),
        &t,
        json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{fid}")}),
    )
    .await
    .expect(404);
        w.get(&format!("/v1.0/directory/deletedItems/{fid}"), &t)
            .await
            .expect(404);
        let skus = w.get("/v1.0/subscribedSkus", &t).await;
        assert!(skus.body["value"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["id"]
                .as_str()
                .unwrap()
                .starts_with(&w.tenant.id.to_string())));
        let org = w.get("/v1.0/organization", &t).await;
        assert_eq!(org.ids(), vec![w.tenant.id.to_string()]);
        w.get(&format!("/v1.0/organization/{}", fab.id), &t)
            .await
            .expect(404);
        let audit = w.get("/v1.0/auditLogs/directoryAudits", &t).await;
        assert!(!audit.text.contains("fabrikam"), "{}", audit.text);

        // A token claiming the other tenant for one of our principals is refused.
        let admin = w.app.user(&w.tenant, "admin@contoso.test").await.unwrap();
        let forged = w.state.keys.sign(&Claims::for_user(
            &fab,
            &admin,
            &[],
            "x",
            "Directory.AccessAsUser.All",
        ));
        w.get("/v1.0/users", &forged).await.expect(401);
        // An app of one tenant cannot get a token in the other.
        let (row, secret) = w
            .app
            .add_app(&w.tenant, "ours", &["User.Read.All".into()], &OP)
            .await
            .unwrap();
        let enc: String =
            percent_encoding::utf8_percent_encode(&secret, percent_encoding::NON_ALPHANUMERIC)
                .to_string();
        let r = w
        .raw(
            "POST",
            "/fabrikam.test/oauth2/v2.0/token",
            None,
            Some(format!("grant_type=client_credentials&client_id={}&client_secret={enc}&scope=https://graph.microsoft.com/.default", row.app_id).into_bytes()),
            &[],
        )
        .await;
        r.expect(401);
        // Fabrikam's own admin sees Franz and not ours.
        w.app
            .add_role(
                &fab,
                "franz@fabrikam.test",
                skuld_domain::DirectoryRole::GlobalAdministrator,
                &OP,
            )
            .await
            .unwrap();
        let ft = w.state.keys.sign(&Claims::for_user(
            &fab,
            &fu,
            &[],
            "x",
            "Directory.AccessAsUser.All",
        ));
        let theirs = w.get("/v1.0/users?$select=userPrincipalName", &ft).await;
        assert!(
            theirs.text.contains("franz@fabrikam.test") && !theirs.text.contains("contoso"),
            "{}",
            theirs.text
        );
    }
}
