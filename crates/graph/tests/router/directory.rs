//! The directory endpoints not covered elsewhere: subscriptions, organization, audit items,
//! role assignments, deleted-item casts, a group's memberOf.

use crate::harness::*;
use serde_json::json;
use skuld_domain::DirectoryRole;

#[tokio::test]
async fn subscriptions_and_organization() {
    for w in World::all().await {
        let t = w.admin_token().await;
        let r = w.get("/v1.0/directory/subscriptions", &t).await;
        r.expect(200);
        assert_eq!(
            r.body["@odata.context"],
            "http://graph.test/v1.0/$metadata#directory/subscriptions"
        );
        let subs = r.body["value"].as_array().unwrap().clone();
        assert_eq!(subs.len(), 3);
        let e3 = subs
            .iter()
            .find(|s| s["skuPartNumber"] == "ENTERPRISEPACK")
            .unwrap();
        assert_eq!(e3["totalLicenses"], 3);
        assert_eq!(e3["status"], "Enabled");
        assert_eq!(e3["isTrial"], false);
        assert_eq!(e3["ownerType"], "Company");
        assert!(!e3["serviceStatus"].as_array().unwrap().is_empty());
        let id = e3["id"].as_str().unwrap();
        let one = w
            .get(&format!("/v1.0/directory/subscriptions/{id}"), &t)
            .await;
        one.expect(200);
        assert_eq!(one.body["skuId"], e3["skuId"]);
        w.get(
            &format!("/v1.0/directory/subscriptions(commerceSubscriptionId='{id}')"),
            &t,
        )
        .await
        .expect(200);
        w.get(
            &format!("/v1.0/directory/subscriptions/{}", uuid::Uuid::new_v4()),
            &t,
        )
        .await
        .expect(404);

        let org = w.get("/v1.0/organization", &t).await;
        org.expect(200);
        let o = &org.body["value"][0];
        assert_eq!(o["id"], json!(w.tenant.id.to_string()));
        assert_eq!(o["displayName"], "Contoso");
        assert_eq!(o["countryLetterCode"], "US");
        assert_eq!(o["verifiedDomains"][0]["name"], "contoso.test");
        assert_eq!(o["verifiedDomains"][0]["isDefault"], true);
        w.get(&format!("/v1.0/organization/{}", w.tenant.id), &t)
            .await
            .expect(200);
    }
}

#[tokio::test]
async fn audit_items_and_filters() {
    for w in World::all().await {
        let t = w.admin_token().await;
        let u = w.user("audited", Some("US")).await;
        w.post(
            &format!("/v1.0/users/{}/assignLicense", u.id),
            &t,
            json!({"addLicenses": [{"skuId": sku("ENTERPRISEPACK").to_string(), "disabledPlans": []}], "removeLicenses": []}),
        )
        .await
        .expect(200);
        let r = w
            .get(&format!("/v1.0/auditLogs/directoryAudits?$filter=targetResources/any(t:t/id%20eq%20'{}')", u.id), &t)
            .await;
        r.expect(200);
        let acts: Vec<&str> = r.body["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["activityDisplayName"].as_str().unwrap())
            .collect();
        assert_eq!(
            acts,
            vec!["Change user license", "Add user"],
            "newest first"
        );
        let change = &r.body["value"][0];
        assert_eq!(change["category"], "UserManagement");
        assert_eq!(change["loggedByService"], "Core Directory");
        assert_eq!(change["result"], "success");
        assert_eq!(
            change["initiatedBy"]["user"]["userPrincipalName"],
            "admin@contoso.test"
        );
        assert_eq!(
            change["targetResources"][0]["userPrincipalName"],
            "audited@contoso.test"
        );
        let when = change["activityDateTime"].as_str().unwrap();
        assert_eq!(when.len(), "2018-01-09T21:20:02.7215374Z".len(), "{when}");
        let id = change["id"].as_str().unwrap();
        let one = w
            .get(&format!("/v1.0/auditLogs/directoryAudits/{id}"), &t)
            .await;
        one.expect(200);
        assert_eq!(one.body["id"], json!(id));
        w.get("/v1.0/auditLogs/directoryAudits/nope", &t)
            .await
            .expect(404);
        // Paging through the log.
        let r = w.get("/v1.0/auditLogs/directoryAudits?$filter=activityDisplayName%20eq%20'Add%20user'&$top=1", &t).await;
        assert_eq!(r.body["value"].as_array().unwrap().len(), 1);
        assert!(
            r.body["@odata.nextLink"]
                .as_str()
                .unwrap()
                .contains("$skiptoken="),
            "{}",
            r.text
        );
        let next = r.body["@odata.nextLink"]
            .as_str()
            .unwrap()
            .trim_start_matches("http://graph.test")
            .to_string();
        w.get(&next, &t).await.expect(200);
        w.get(
            "/v1.0/auditLogs/directoryAudits?$filter=shoeSize%20eq%20'x'",
            &t,
        )
        .await
        .expect(400);
        w.get("/v1.0/auditLogs/directoryAudits?$top=5000", &t)
            .await
            .expect(400);
    }
}

#[tokio::test]
async fn role_assignments_list_get_create_delete() {
    for w in World::all().await {
        let t = w.admin_token().await;
        let u = w.user("lic", Some("US")).await;
        let la = DirectoryRole::LicenseAdministrator.template_id();
        let body = json!({"@odata.type": "#microsoft.graph.unifiedRoleAssignment", "principalId": u.id.to_string(), "roleDefinitionId": la, "directoryScopeId": "/"});
        let r = w
            .post(
                "/v1.0/roleManagement/directory/roleAssignments",
                &t,
                body.clone(),
            )
            .await;
        r.expect(201);
        assert_eq!(r.body["principalId"], json!(u.id.to_string()));
        assert_eq!(r.body["roleDefinitionId"], la);
        let id = r.body["id"].as_str().unwrap().to_string();
        w.post("/v1.0/roleManagement/directory/roleAssignments", &t, body)
            .await
            .expect(400);
        w.get(
            &format!("/v1.0/roleManagement/directory/roleAssignments/{id}"),
            &t,
        )
        .await
        .expect(200);
        let r = w.get(&format!("/v1.0/roleManagement/directory/roleAssignments?$filter=principalId%20eq%20'{}'", u.id), &t).await;
        assert_eq!(r.ids(), vec![id.clone()]);
        // The new License Administrator may now assign licenses, at once.
        let lt = w.token(&u.upn).await;
        let other = w.user("other", Some("US")).await;
        w.post(
            &format!("/v1.0/users/{}/assignLicense", other.id),
            &lt,
            json!({"addLicenses": [{"skuId": sku("ENTERPRISEPACK").to_string(), "disabledPlans": []}], "removeLicenses": []}),
        )
        .await
        .expect(200);
        w.delete(
            &format!("/v1.0/roleManagement/directory/roleAssignments/{id}"),
            &t,
        )
        .await
        .expect(204);
        w.get(
            &format!("/v1.0/roleManagement/directory/roleAssignments/{id}"),
            &t,
        )
        .await
        .expect(404);
        // And may no longer (the token is the same; the right is read at each request).
        w.post(
            &format!("/v1.0/users/{}/assignLicense", other.id),
            &lt,
            json!({"addLicenses": [], "removeLicenses": [sku("ENTERPRISEPACK").to_string()]}),
        )
        .await
        .expect(403);
        w.post(
            "/v1.0/roleManagement/directory/roleAssignments",
            &t,
            json!({"principalId": u.id.to_string(), "roleDefinitionId": uuid::Uuid::new_v4().to_string()}),
        )
        .await
        .expect(404);
    }
}

#[tokio::test]
async fn deleted_item_casts_and_group_member_of() {
    for w in World::all().await {
        let t = w.admin_token().await;
        w.get("/v1.0/directory/deletedItems", &t).await.expect(400);
        let r = w
            .get("/v1.0/directory/deletedItems/microsoft.graph.group", &t)
            .await;
        r.expect(200);
        assert_eq!(r.body["value"], json!([]));
        let mk = |name: &str| json!({"displayName": name, "mailEnabled": false, "mailNickname": name, "securityEnabled": true});
        let a = w.post("/v1.0/groups", &t, mk("outer")).await.body["id"]
            .as_str()
            .unwrap()
            .to_string();
        let b = w.post("/v1.0/groups", &t, mk("inner")).await.body["id"]
            .as_str()
            .unwrap()
            .to_string();
        w.post(
            &format!("/v1.0/groups/{a}/members/$ref"),
            &t,
            json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{b}")}),
        )
        .await
        .expect(204);
        let r = w.get(&format!("/v1.0/groups/{b}/memberOf"), &t).await;
        assert_eq!(r.ids(), vec![a]);
        assert_eq!(r.body["value"][0]["@odata.type"], "#microsoft.graph.group");
        let r = w
            .raw(
                "GET",
                "/v1.0/groups/$count",
                Some(&t),
                None,
                &[("ConsistencyLevel", "eventual")],
            )
            .await;
        assert_eq!(r.text, "2");
    }
}
