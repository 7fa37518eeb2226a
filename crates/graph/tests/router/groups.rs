//! `/groups` and group-based licensing over HTTP (graph-api.md §3, D13).

use crate::harness::*;
use serde_json::{json, Value};

async fn group(w: &World, t: &str, name: &str) -> String {
    let r = w
        .post("/v1.0/groups", t, json!({"displayName": name, "mailEnabled": false, "mailNickname": name.to_lowercase(), "securityEnabled": true}))
        .await;
    r.expect(201);
    r.body["id"].as_str().unwrap().to_string()
}

fn member_ref(id: &str) -> Value {
    json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{id}")})
}

#[tokio::test]
async fn group_license_is_accepted_then_applied_by_the_job() {
    for w in World::all().await {
        let t = w.admin_token().await;
        let gid = group(&w, &t, "Sales").await;
        let a = w.user("a", Some("US")).await;
        let b = w.user("b", None).await; // falls back to the tenant's country (D6)
        for u in [&a, &b] {
            w.post(
                &format!("/v1.0/groups/{gid}/members/$ref"),
                &t,
                member_ref(&u.id.to_string()),
            )
            .await
            .expect(204);
        }
        let e3 = sku("ENTERPRISEPACK").to_string();
        let r = w
            .post(
                &format!("/v1.0/groups/{gid}/assignLicense"),
                &t,
                json!({"addLicenses": [{"skuId": e3, "disabledPlans": []}], "removeLicenses": []}),
            )
            .await;
        r.expect(202);
        assert_eq!(r.body["id"], json!(gid));
        assert!(r.headers["location"].to_str().unwrap().contains(&format!(
            "/directoryObjects/{gid}/Microsoft.DirectoryServices.Group"
        )));
        let st = w
            .get(
                &format!("/v1.0/groups/{gid}?$select=licenseProcessingState,assignedLicenses"),
                &t,
            )
            .await;
        assert_eq!(
            st.body["licenseProcessingState"],
            json!({"state": "QueuedForProcessing"})
        );
        assert_eq!(
            st.body["assignedLicenses"],
            json!([{"disabledPlans": [], "skuId": e3}])
        );
        // Not applied until the job runs.
        let r = w
            .get(
                &format!("/v1.0/users/{}?$select=assignedLicenses", a.id),
                &t,
            )
            .await;
        assert_eq!(r.body["assignedLicenses"], json!([]));
        w.drain().await;
        let st = w
            .get(
                &format!("/v1.0/groups/{gid}?$select=licenseProcessingState"),
                &t,
            )
            .await;
        assert_eq!(
            st.body["licenseProcessingState"],
            json!({"state": "ProcessingComplete"})
        );
        for u in [&a, &b] {
            let r = w
                .get(
                    &format!(
                        "/v1.0/users/{}?$select=assignedLicenses,licenseAssignmentStates",
                        u.id
                    ),
                    &t,
                )
                .await;
            assert_eq!(
                r.body["assignedLicenses"][0]["skuId"],
                json!(e3),
                "{}",
                r.text
            );
            assert_eq!(
                r.body["licenseAssignmentStates"][0]["assignedByGroup"],
                json!(gid)
            );
            assert_eq!(r.body["licenseAssignmentStates"][0]["state"], "Active");
        }
        // A member added later is licensed in the request (D13: membership changes are synchronous).
        let c = w.user("c", Some("US")).await;
        w.post(
            &format!("/v1.0/groups/{gid}/members/$ref"),
            &t,
            member_ref(&c.id.to_string()),
        )
        .await
        .expect(204);
        let r = w
            .get(
                &format!("/v1.0/users/{}?$select=assignedLicenses", c.id),
                &t,
            )
            .await;
        assert_eq!(r.body["assignedLicenses"][0]["skuId"], json!(e3));
        // A fourth member finds no seat: CountViolation, membersWithLicenseErrors, the filter.
        let d = w.user("d", Some("US")).await;
        w.post(
            &format!("/v1.0/groups/{gid}/members/$ref"),
            &t,
            member_ref(&d.id.to_string()),
        )
        .await
        .expect(204);
        let r = w
            .get(
                &format!("/v1.0/users/{}?$select=licenseAssignmentStates", d.id),
                &t,
            )
            .await;
        assert_eq!(r.body["licenseAssignmentStates"][0]["state"], "Error");
        assert_eq!(
            r.body["licenseAssignmentStates"][0]["error"],
            "CountViolation"
        );
        let r = w
            .get(&format!("/v1.0/groups/{gid}/membersWithLicenseErrors"), &t)
            .await;
        assert_eq!(r.ids(), vec![d.id.to_string()]);
        assert_eq!(r.body["value"][0]["@odata.type"], "#microsoft.graph.user");
        let r = w
            .get(
                "/v1.0/groups?$filter=hasMembersWithLicenseErrors+eq+true",
                &t,
            )
            .await;
        assert_eq!(r.ids(), vec![gid.clone()]);
        // Removing a member (item form) frees a seat; the waiting member takes it (D3).
        w.delete(&format!("/v1.0/groups/{gid}/members/{}/$ref", a.id), &t)
            .await
            .expect(204);
        let r = w
            .get(
                &format!("/v1.0/users/{}?$select=assignedLicenses", a.id),
                &t,
            )
            .await;
        assert_eq!(r.body["assignedLicenses"], json!([]));
        let r = w
            .get(
                &format!("/v1.0/users/{}?$select=licenseAssignmentStates", d.id),
                &t,
            )
            .await;
        assert_eq!(r.body["licenseAssignmentStates"][0]["state"], "Active");
        // The query form (Python's ref.delete uses @id).
        let idurl = format!("https://graph.microsoft.com/v1.0/directoryObjects/{}", b.id);
        let enc: String =
            percent_encoding::utf8_percent_encode(&idurl, percent_encoding::NON_ALPHANUMERIC)
                .to_string();
        w.delete(&format!("/v1.0/groups/{gid}/members/$ref?@id={enc}"), &t)
            .await
            .expect(204);
        w.delete(&format!("/v1.0/groups/{gid}/members/$ref?$id={enc}"), &t).await.expect_error(
        400,
        "Request_BadRequest",
        "One or more removed object references do not exist for the following modified properties: 'members'.",
    );
        // A licensed group cannot be deleted.
        let r = w.delete(&format!("/v1.0/groups/{gid}"), &t).await;
        r.expect(400);
        assert_eq!(r.code(), "Request_BadRequest");
        w.post(
            &format!("/v1.0/groups/{gid}/assignLicense"),
            &t,
            json!({"addLicenses": [], "removeLicenses": [e3]}),
        )
        .await
        .expect(202);
        w.drain().await;
        w.delete(&format!("/v1.0/groups/{gid}"), &t)
            .await
            .expect(204);
        w.get(&format!("/v1.0/groups/{gid}"), &t).await.expect(404);
        // Audit: the group events and the per-user changes.
        let r = w.get("/v1.0/auditLogs/directoryAudits?$filter=activityDisplayName%20eq%20%27Set%20group%20license%27", &t).await;
        r.expect(200);
        assert_eq!(r.body["value"].as_array().unwrap().len(), 2, "{}", r.text);
        assert_eq!(
            r.body["value"][0]["initiatedBy"]["user"]["userPrincipalName"],
            "admin@contoso.test"
        );
        let r = w.get("/v1.0/auditLogs/directoryAudits?$filter=activityDisplayName%20eq%20%27Finish%20applying%20group%20based%20license%20to%20users%27", &t).await;
        assert!(
            r.body["value"][0]["targetResources"][0]["modifiedProperties"][0]["newValue"]
                .as_str()
                .unwrap()
                .contains("Users successfully assigned licenses: 2"),
            "{}",
            r.text
        );
    }
}

#[tokio::test]
async fn member_ref_errors() {
    for w in World::all().await {
        let t = w.admin_token().await;
        let gid = group(&w, &t, "Sales").await;
        let a = w.user("a", Some("US")).await;
        let url = format!("/v1.0/groups/{gid}/members/$ref");
        w.post(&url, &t, member_ref(&a.id.to_string()))
            .await
            .expect(204);
        w.post(&url, &t, member_ref(&a.id.to_string())).await.expect_error(
        400,
        "Request_BadRequest",
        "One or more added object references already exist for the following modified properties: 'members'.",
    );
        let ghost = uuid::Uuid::new_v4().to_string();
        w.post(&url, &t, member_ref(&ghost)).await.expect(404);
        w.post(&url, &t, json!({})).await.expect(400);
        let r = w.get(&format!("/v1.0/groups/{gid}/members"), &t).await;
        assert_eq!(
            r.body["@odata.context"],
            "http://graph.test/v1.0/$metadata#directoryObjects"
        );
        assert_eq!(r.ids(), vec![a.id.to_string()]);
    }
}

#[tokio::test]
async fn nested_groups_license_their_members_and_list_transitively() {
    for w in World::all().await {
        let t = w.admin_token().await;
        let outer = group(&w, &t, "Outer").await;
        let inner = group(&w, &t, "Inner").await;
        let u = w.user("nested", Some("US")).await;
        w.post(
            &format!("/v1.0/groups/{outer}/members/$ref"),
            &t,
            member_ref(&inner),
        )
        .await
        .expect(204);
        w.post(
            &format!("/v1.0/groups/{inner}/members/$ref"),
            &t,
            member_ref(&u.id.to_string()),
        )
        .await
        .expect(204);
        let e3 = sku("ENTERPRISEPACK").to_string();
        w.post(
            &format!("/v1.0/groups/{outer}/assignLicense"),
            &t,
            json!({"addLicenses": [{"skuId": e3, "disabledPlans": []}], "removeLicenses": []}),
        )
        .await
        .expect(202);
        w.drain().await;
        let r = w
            .get(
                &format!("/v1.0/users/{}?$select=licenseAssignmentStates", u.id),
                &t,
            )
            .await;
        assert_eq!(
            r.body["licenseAssignmentStates"][0]["assignedByGroup"],
            json!(outer)
        );
        let r = w
            .get(&format!("/v1.0/groups/{outer}/transitiveMembers"), &t)
            .await;
        let mut types: Vec<&str> = r.body["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["@odata.type"].as_str().unwrap())
            .collect();
        types.sort();
        assert_eq!(
            types,
            vec!["#microsoft.graph.group", "#microsoft.graph.user"]
        );
        let r = w.get(&format!("/v1.0/groups/{outer}/members"), &t).await;
        assert_eq!(r.ids(), vec![inner.clone()]);
        let r = w
            .get(&format!("/v1.0/groups/{outer}?$expand=members"), &t)
            .await;
        assert_eq!(r.body["members"][0]["id"], json!(inner));
        // A cycle is refused.
        let r = w
            .post(
                &format!("/v1.0/groups/{inner}/members/$ref"),
                &t,
                member_ref(&outer),
            )
            .await;
        r.expect(400);
    }
}

#[tokio::test]
async fn create_with_members_bind_update_and_dynamic_groups() {
    for w in World::all().await {
        let t = w.admin_token().await;
        let a = w.user("a", Some("US")).await;
        let r = w
        .post("/v1.0/groups", &t, json!({"displayName": "Bound", "mailEnabled": false, "mailNickname": "bound", "securityEnabled": true,
            "members@odata.bind": [format!("https://graph.microsoft.com/v1.0/users/{}", a.id)]}))
        .await;
        r.expect(201);
        assert_eq!(r.body["groupTypes"], json!([]));
        assert_eq!(r.body["securityEnabled"], true);
        let gid = r.body["id"].as_str().unwrap().to_string();
        assert_eq!(
            w.get(&format!("/v1.0/groups/{gid}/members"), &t)
                .await
                .ids(),
            vec![a.id.to_string()]
        );
        w.patch(
            &format!("/v1.0/groups/{gid}"),
            &t,
            json!({"description": "People who sell"}),
        )
        .await
        .expect(204);
        let r = w.get(&format!("/v1.0/groups/{gid}"), &t).await;
        assert_eq!(r.body["description"], "People who sell");
        assert_eq!(
            r.body["@odata.context"],
            "http://graph.test/v1.0/$metadata#groups/$entity"
        );

        let r = w
        .post("/v1.0/groups", &t, json!({"displayName": "Dyn", "mailEnabled": false, "mailNickname": "dyn", "securityEnabled": true,
            "groupTypes": ["DynamicMembership"], "membershipRule": "(user.usageLocation -eq \"US\")", "membershipRuleProcessingState": "On"}))
        .await;
        r.expect(201);
        assert_eq!(r.body["groupTypes"], json!(["DynamicMembership"]));
        assert_eq!(r.body["membershipRuleProcessingState"], "On");
        let dyn_id = r.body["id"].as_str().unwrap().to_string();
        let members = w.get(&format!("/v1.0/groups/{dyn_id}/members"), &t).await;
        assert!(
            members.ids().contains(&a.id.to_string()),
            "{}",
            members.text
        );
        let r = w
            .post(
                &format!("/v1.0/groups/{dyn_id}/members/$ref"),
                &t,
                member_ref(&a.id.to_string()),
            )
            .await;
        r.expect(400);
    }
}

#[tokio::test]
async fn members_are_paged_by_keyset() {
    for w in World::all().await {
        let t = w.admin_token().await;
        let outer = group(&w, &t, "Outer").await;
        let inner = group(&w, &t, "Inner").await;
        w.post(
            &format!("/v1.0/groups/{outer}/members/$ref"),
            &t,
            member_ref(&inner),
        )
        .await
        .expect(204);
        let mut want = std::collections::BTreeSet::from([inner.clone()]);
        for i in 0..25 {
            let u = w.user(&format!("m{i:02}"), Some("US")).await;
            let target = if i % 2 == 0 { &outer } else { &inner };
            w.app
                .add_member(&w.tenant, target, &u.upn, &OP)
                .await
                .unwrap();
            want.insert(u.id.to_string());
        }
        // A deleted member is not listed.
        let gone = w.user("gone", Some("US")).await;
        w.app
            .add_member(&w.tenant, &outer, &gone.upn, &OP)
            .await
            .unwrap();
        w.app.delete_user(&w.tenant, &gone.upn, &OP).await.unwrap();
        for (set, expected) in [("members", 14), ("transitiveMembers", 26)] {
            let mut seen = Vec::new();
            let mut url = format!("/v1.0/groups/{outer}/{set}?$top=4");
            loop {
                let r = w.get(&url, &t).await;
                r.expect(200);
                seen.extend(r.ids());
                match r.body["@odata.nextLink"].as_str() {
                    Some(n) => url = n.trim_start_matches("http://graph.test").to_string(),
                    None => break,
                }
            }
            let unique: std::collections::BTreeSet<String> = seen.iter().cloned().collect();
            assert_eq!(unique.len(), seen.len(), "{set}: each member once");
            assert_eq!(seen.len(), expected, "{set}");
            assert!(unique.is_subset(&want), "{set}");
            let mut sorted = seen.clone();
            sorted.sort();
            assert_eq!(seen, sorted, "{set}: ordered by id");
        }
        w.get(&format!("/v1.0/groups/{outer}/members?$skiptoken=nope"), &t)
            .await
            .expect(400);
    }
}
