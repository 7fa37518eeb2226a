//! `/users`, `assignLicense` (graph-api.md §2.1 rows 1–11), licenseDetails, deletedItems.

use crate::harness::*;
use serde_json::json;

#[tokio::test]
async fn create_get_update_delete_restore_a_user() {
    for w in World::all().await {
        let t = w.admin_token().await;
        let r = w
        .post(
            "/v1.0/users",
            &t,
            json!({"@odata.type": "#microsoft.graph.user", "accountEnabled": true, "displayName": "Adele Vance",
                   "mailNickname": "AdeleV", "userPrincipalName": "AdeleV@contoso.test", "usageLocation": "US",
                   "passwordProfile": {"forceChangePasswordNextSignIn": true, "password": "xWwvJ]6NMw+bWH-d"}}),
        )
        .await;
        r.expect(201);
        assert_eq!(
            r.body["@odata.context"],
            "http://graph.test/v1.0/$metadata#users/$entity"
        );
        assert_eq!(r.body["displayName"], "Adele Vance");
        assert_eq!(r.body["businessPhones"], json!([]));
        assert!(r.body["givenName"].is_null());
        assert!(
            r.body.get("passwordProfile").is_none(),
            "default properties only"
        );
        let id = r.body["id"].as_str().unwrap().to_string();
        assert!(r.headers["location"].to_str().unwrap().ends_with(&id));

        // By id, by UPN (any case), percent-encoded, and the ('…') form.
        for key in [
            id.clone(),
            "adelev@contoso.test".into(),
            "AdeleV%40contoso.test".into(),
        ] {
            w.get(&format!("/v1.0/users/{key}"), &t).await.expect(200);
        }
        w.get("/v1.0/users('AdeleV@contoso.test')", &t)
            .await
            .expect(200);
        let r = w
            .get(
                &format!("/v1.0/users/{id}?$select=usageLocation,userType,accountEnabled"),
                &t,
            )
            .await;
        r.expect(200);
        assert_eq!(
            r.body["@odata.context"],
            "http://graph.test/v1.0/$metadata#users(usageLocation,userType,accountEnabled)/$entity"
        );
        assert_eq!(r.body["usageLocation"], "US");
        assert_eq!(r.body["userType"], "Member");
        assert!(
            r.body.get("id").is_none(),
            "$select returns exactly what was selected"
        );

        let r = w
            .patch(
                &format!("/v1.0/users/{id}"),
                &t,
                json!({"usageLocation": "DE", "department": "Sales"}),
            )
            .await;
        r.expect(204);
        assert!(r.text.is_empty());
        let r = w
            .get(
                &format!("/v1.0/users/{id}?$select=usageLocation,department"),
                &t,
            )
            .await;
        assert_eq!(r.body["usageLocation"], "DE");
        assert_eq!(r.body["department"], "Sales");

        w.delete(&format!("/v1.0/users/{id}"), &t).await.expect(204);
        w.get(&format!("/v1.0/users/{id}"), &t).await.expect_error(
        404,
        "Request_ResourceNotFound",
        &format!("Resource '{id}' does not exist or one of its queried reference-property objects are not present."),
    );
        for cast in ["microsoft.graph.user", "graph.user"] {
            let r = w
                .get(&format!("/v1.0/directory/deletedItems/{cast}"), &t)
                .await;
            r.expect(200);
            assert_eq!(r.ids(), vec![id.clone()]);
            assert_eq!(r.body["value"][0]["@odata.type"], "#microsoft.graph.user");
        }
        let r = w
            .get(&format!("/v1.0/directory/deletedItems/{id}"), &t)
            .await;
        r.expect(200);
        assert!(r.body["deletedDateTime"].is_string());
        let r = w
            .post(
                &format!("/v1.0/directory/deletedItems/{id}/restore"),
                &t,
                json!({}),
            )
            .await;
        r.expect(200);
        assert_eq!(r.body["@odata.type"], "#microsoft.graph.user");
        assert_eq!(
            r.body["@odata.context"],
            "http://graph.test/v1.0/$metadata#directoryObjects/$entity"
        );
        w.get(&format!("/v1.0/users/{id}"), &t).await.expect(200);

        // Permanent delete.
        w.delete(&format!("/v1.0/users/{id}"), &t).await.expect(204);
        w.delete(&format!("/v1.0/directory/deletedItems/{id}"), &t)
            .await
            .expect(204);
        w.get(&format!("/v1.0/directory/deletedItems/{id}"), &t)
            .await
            .expect(404);
    }
}

#[tokio::test]
async fn create_user_errors_use_graphs_texts() {
    for w in World::all().await {
        let t = w.admin_token().await;
        let good = json!({"accountEnabled": true, "displayName": "A", "mailNickname": "a",
        "userPrincipalName": "a@contoso.test", "passwordProfile": {"password": "xWwvJ]6NMw+bWH-d"}});
        w.post("/v1.0/users", &t, good.clone()).await.expect(201);
        w.post("/v1.0/users", &t, good.clone()).await.expect_error(
            400,
            "Request_BadRequest",
            "Another object with the same value for property userPrincipalName already exists.",
        );
        let mut missing = good.clone();
        missing.as_object_mut().unwrap().remove("displayName");
        w.post("/v1.0/users", &t, missing).await.expect_error(
            400,
            "Request_BadRequest",
            "A value is required for property 'displayName' of resource 'User'.",
        );
        let mut weak = good.clone();
        weak["userPrincipalName"] = json!("b@contoso.test");
        weak["passwordProfile"] = json!({"password": "short"});
        w.post("/v1.0/users", &t, weak).await.expect_error(
        400,
        "Request_BadRequest",
        "The specified password does not comply with password complexity requirements. Please provide a different password.",
    );
        let mut domain = good.clone();
        domain["userPrincipalName"] = json!("c@fabrikam.test");
        w.post("/v1.0/users", &t, domain).await.expect_error(
        400,
        "Request_BadRequest",
        "The domain portion of the userPrincipalName property is invalid. You must use one of the verified domain names in your organization.",
    );
        let mut unknown = good.clone();
        unknown["userPrincipalName"] = json!("d@contoso.test");
        unknown["favouriteColour"] = json!("blue");
        w.post("/v1.0/users", &t, unknown).await.expect_error(
        400,
        "Request_BadRequest",
        "Property 'favouriteColour' does not exist as a declared property or extension property.",
    );
        let mut wrong_type = good.clone();
        wrong_type["userPrincipalName"] = json!("e@contoso.test");
        wrong_type["accountEnabled"] = json!("yes");
        w.post("/v1.0/users", &t, wrong_type).await.expect_error(
            400,
            "Request_BadRequest",
            "Invalid value specified for property 'accountEnabled' of resource 'User'.",
        );
        // Nothing of the refused requests was written.
        let r = w.get("/v1.0/users?$select=userPrincipalName", &t).await;
        let upns: Vec<&str> = r.body["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["userPrincipalName"].as_str().unwrap())
            .collect();
        assert_eq!(upns.len(), 2, "{upns:?}");
    }
}

#[tokio::test]
async fn assign_license_adds_toggles_plans_and_removes() {
    for w in World::all().await {
        let t = w.admin_token().await;
        let u = w.user("adele", Some("US")).await;
        let e3 = sku("ENTERPRISEPACK").to_string();
        let exo = plan("ENTERPRISEPACK", "EXCHANGE_S_ENTERPRISE");
        let r = w
        .post(
            &format!("/v1.0/users/{}/assignLicense", u.id),
            &t,
            json!({"addLicenses": [{"skuId": e3, "disabledPlans": [exo]}], "removeLicenses": []}),
        )
        .await;
        r.expect(200);
        assert_eq!(
            r.body["@odata.context"],
            "http://graph.test/v1.0/$metadata#users/$entity"
        );
        assert_eq!(
            r.body["assignedLicenses"],
            json!([{"disabledPlans": [exo], "skuId": e3}])
        );
        let plans = r.body["assignedPlans"].as_array().unwrap();
        assert!(!plans.is_empty());
        assert!(plans
            .iter()
            .all(|p| p["servicePlanId"] != json!(exo) && p["capabilityStatus"] == "Enabled"));
        assert!(plans.iter().any(|p| p["service"] == "SharePoint"));

        // licenseDetails and licenseAssignmentStates.
        let r = w
            .get(&format!("/v1.0/users/{}/licenseDetails", u.id), &t)
            .await;
        r.expect(200);
        assert_eq!(
            r.body["@odata.context"],
            format!(
                "http://graph.test/v1.0/$metadata#users('{}')/licenseDetails",
                u.id
            )
        );
        let d = &r.body["value"][0];
        assert_eq!(d["skuPartNumber"], "ENTERPRISEPACK");
        let ld_id = d["id"].as_str().unwrap().to_string();
        let sp = d["servicePlans"].as_array().unwrap();
        assert_eq!(
            sp.iter()
                .find(|p| p["servicePlanId"] == json!(exo))
                .unwrap()["provisioningStatus"],
            "Disabled"
        );
        w.get(&format!("/v1.0/users/{}/licenseDetails/{ld_id}", u.id), &t)
            .await
            .expect(200);
        let r = w
            .get(
                &format!("/v1.0/users/{}?$select=licenseAssignmentStates", u.id),
                &t,
            )
            .await;
        let s = &r.body["licenseAssignmentStates"][0];
        assert_eq!(s["assignedByGroup"], serde_json::Value::Null);
        assert_eq!(s["state"], "Active");
        assert_eq!(s["error"], "None");
        assert_eq!(s["skuId"], json!(e3));

        // Re-adding replaces disabledPlans.
        let r = w
            .post(
                &format!("/v1.0/users/{}/assignLicense", u.id),
                &t,
                json!({"addLicenses": [{"skuId": e3, "disabledPlans": []}], "removeLicenses": []}),
            )
            .await;
        assert_eq!(
            r.body["assignedLicenses"],
            json!([{"disabledPlans": [], "skuId": e3}])
        );
        let skus = w.get("/v1.0/subscribedSkus", &t).await;
        let e3row = skus.body["value"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["skuId"] == json!(e3))
            .unwrap()
            .clone();
        assert_eq!(e3row["consumedUnits"], 1);
        assert_eq!(
            e3row["prepaidUnits"],
            json!({"enabled": 3, "lockedOut": 0, "suspended": 0, "warning": 0})
        );
        assert_eq!(e3row["id"], json!(format!("{}_{e3}", w.tenant.id)));
        let one = w
            .get(&format!("/v1.0/subscribedSkus/{}_{e3}", w.tenant.id), &t)
            .await;
        one.expect(200);
        assert_eq!(one.body["consumedUnits"], 1);

        let r = w
            .post(
                &format!("/v1.0/users/{}/assignLicense", u.id),
                &t,
                json!({"addLicenses": [], "removeLicenses": [e3]}),
            )
            .await;
        r.expect(200);
        assert_eq!(r.body["assignedLicenses"], json!([]));
    }
}

#[tokio::test]
async fn assign_license_errors_follow_the_validation_table() {
    for w in World::all().await {
        let t = w.admin_token().await;
        let u = w.user("adele", Some("US")).await;
        let nowhere = w.user("nowhere", None).await;
        let e3 = sku("ENTERPRISEPACK").to_string();
        let url = format!("/v1.0/users/{}/assignLicense", u.id);
        // 1: a parameter missing.
        w.post(&url, &t, json!({"addLicenses": []})).await.expect_error(
        400,
        "Request_BadRequest",
        "One or more parameters of the operation 'assignLicense' are missing from the request payload. The missing parameters are: removeLicenses.",
    );
        w.post(&url, &t, json!({"removeLicenses": []})).await.expect_error(
        400,
        "Request_BadRequest",
        "One or more parameters of the operation 'assignLicense' are missing from the request payload. The missing parameters are: addLicenses.",
    );
        // 2: a GUID that is not one.
        w.post(&url, &t, json!({"addLicenses": [{"skuId": "not-a-guid", "disabledPlans": []}], "removeLicenses": []}))
        .await
        .expect_error(400, "Request_BadRequest", "Cannot convert the literal 'not-a-guid' to the expected type 'Edm.Guid'.");
        // 3: no such user.
        w.post("/v1.0/users/ghost@contoso.test/assignLicense", &t, json!({"addLicenses": [], "removeLicenses": []}))
        .await
        .expect_error(404, "Request_ResourceNotFound", "Resource 'ghost@contoso.test' does not exist or one of its queried reference-property objects are not present.");
        // 4: a product the tenant does not own.
        let ems = sku("EMS").to_string();
        w.post(
            &url,
            &t,
            json!({"addLicenses": [{"skuId": ems, "disabledPlans": []}], "removeLicenses": []}),
        )
        .await
        .expect_error(
            400,
            "Request_BadRequest",
            &format!("License {ems} does not correspond to a valid company License."),
        );
        // 5: no usage location.
        w.post(
            &format!("/v1.0/users/{}/assignLicense", nowhere.id),
            &t,
            json!({"addLicenses": [{"skuId": e3, "disabledPlans": []}], "removeLicenses": []}),
        )
        .await
        .expect_error(
            400,
            "Request_BadRequest",
            "License assignment cannot be done for user with invalid usage location.",
        );
        // 7: removing a license the user does not have.
        w.post(&url, &t, json!({"addLicenses": [], "removeLicenses": [e3]}))
            .await
            .expect_error(
                400,
                "Request_BadRequest",
                "User does not have a corresponding license.",
            );
        // 8: no free seat (E5 has one unit).
        let e5 = sku("ENTERPRISEPREMIUM").to_string();
        let other = w.user("other", Some("US")).await;
        w.license(&other.upn, "ENTERPRISEPREMIUM").await;
        w.post(
            &url,
            &t,
            json!({"addLicenses": [{"skuId": e5, "disabledPlans": []}], "removeLicenses": []}),
        )
        .await
        .expect_error(
            400,
            "Request_BadRequest",
            &format!("Subscription with SKU {e5} does not have any available licenses."),
        );
        // 10: a dependency missing (Audio Conferencing needs Skype for Business Online).
        let audio = sku("MCOMEETADV").to_string();
        let r = w
        .post(
            &url,
            &t,
            json!({"addLicenses": [{"skuId": audio, "disabledPlans": []}], "removeLicenses": []}),
        )
        .await;
        r.expect(400);
        assert_eq!(r.code(), "Request_BadRequest");
        assert!(
            r.message()
                .starts_with("License assignment failed because service plan "),
            "{}",
            r.text
        );
        assert!(
            r.message().contains(" depends on the service plan(s) "),
            "{}",
            r.text
        );
        // The user was not changed by any of it.
        let r = w
            .get(
                &format!("/v1.0/users/{}?$select=assignedLicenses", u.id),
                &t,
            )
            .await;
        assert_eq!(r.body["assignedLicenses"], json!([]));
    }
}

#[tokio::test]
async fn inherited_licenses_cannot_be_removed_on_the_user() {
    for w in World::all().await {
        let t = w.admin_token().await;
        let u = w.user("adele", Some("US")).await;
        let g = w
        .post("/v1.0/groups", &t, json!({"displayName": "Sales", "mailEnabled": false, "mailNickname": "sales", "securityEnabled": true}))
        .await;
        let gid = g.body["id"].as_str().unwrap().to_string();
        w.post(
        &format!("/v1.0/groups/{gid}/members/$ref"),
        &t,
        json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{}", u.id)}),
    )
    .await
    .expect(204);
        let e3 = sku("ENTERPRISEPACK").to_string();
        w.post(
            &format!("/v1.0/groups/{gid}/assignLicense"),
            &t,
            json!({"addLicenses": [{"skuId": e3, "disabledPlans": []}], "removeLicenses": []}),
        )
        .await
        .expect(202);
        w.drain().await;
        w.post(&format!("/v1.0/users/{}/assignLicense", u.id), &t, json!({"addLicenses": [], "removeLicenses": [e3]}))
        .await
        .expect_error(400, "Request_BadRequest", "User license is inherited from a group membership and it cannot be removed directly from the user.");
    }
}

#[tokio::test]
async fn reprocess_and_member_of() {
    for w in World::all().await {
        let t = w.admin_token().await;
        let u = w.user("adele", Some("US")).await;
        let r = w
            .post(
                &format!("/v1.0/users/{}/reprocessLicenseAssignment", u.id),
                &t,
                json!({}),
            )
            .await;
        r.expect(200);
        assert_eq!(r.body["id"], json!(u.id.to_string()));
        let a = w.post("/v1.0/groups", &t, json!({"displayName": "A", "mailEnabled": false, "mailNickname": "a", "securityEnabled": true})).await;
        let b = w.post("/v1.0/groups", &t, json!({"displayName": "B", "mailEnabled": false, "mailNickname": "b", "securityEnabled": true})).await;
        let (a, b) = (
            a.body["id"].as_str().unwrap().to_string(),
            b.body["id"].as_str().unwrap().to_string(),
        );
        w.post(
            &format!("/v1.0/groups/{a}/members/$ref"),
            &t,
            json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/groups/{b}")}),
        )
        .await
        .expect(204);
        w.post(
            &format!("/v1.0/groups/{b}/members/$ref"),
            &t,
            json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/users/{}", u.id)}),
        )
        .await
        .expect(204);
        let r = w.get(&format!("/v1.0/users/{}/memberOf", u.id), &t).await;
        assert_eq!(r.ids(), vec![b.clone()]);
        assert_eq!(r.body["value"][0]["@odata.type"], "#microsoft.graph.group");
        let r = w
            .get(&format!("/v1.0/users/{}/transitiveMemberOf", u.id), &t)
            .await;
        let mut ids = r.ids();
        ids.sort();
        let mut want = vec![a, b];
        want.sort();
        assert_eq!(ids, want);
    }
}
