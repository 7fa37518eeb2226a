//! Bad input of every kind gets a Graph error envelope with a 4xx, and nothing half-written.

use crate::harness::*;
use serde_json::json;

#[tokio::test]
async fn malformed_bodies_and_ids() {
    for w in World::all().await {
        let t = w.admin_token().await;
        let u = w.user("a", Some("US")).await;
        for (method, url) in [
            ("POST", "/v1.0/users".to_string()),
            ("PATCH", format!("/v1.0/users/{}", u.id)),
            ("POST", format!("/v1.0/users/{}/assignLicense", u.id)),
            ("POST", "/v1.0/groups".to_string()),
            ("POST", "/v1.0/$batch".to_string()),
        ] {
            for body in [&b"{not json"[..], b"[1,2]", b"", b"\"text\""] {
                w.raw(method, &url, Some(&t), Some(body.to_vec()), &[]).await.expect_error(
                400,
                "Request_BadRequest",
                "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.",
            );
            }
        }
        // Oversize body: 413 in the envelope.
        let big = format!("{{\"displayName\": \"{}\"}}", "x".repeat(5 * 1024 * 1024));
        let r = w
            .raw("POST", "/v1.0/users", Some(&t), Some(big.into_bytes()), &[])
            .await;
        r.expect(413);
        assert!(!r.code().is_empty(), "{}", r.text);
        // Bad GUIDs in license bodies, group keys and deleted items.
        w.post(
            &format!("/v1.0/users/{}/assignLicense", u.id),
            &t,
            json!({"addLicenses": [], "removeLicenses": ["123"]}),
        )
        .await
        .expect_error(
            400,
            "Request_BadRequest",
            "Cannot convert the literal '123' to the expected type 'Edm.Guid'.",
        );
        w.post(&format!("/v1.0/users/{}/assignLicense", u.id), &t, json!({"addLicenses": [{"skuId": sku("ENTERPRISEPACK").to_string(), "disabledPlans": ["zz"]}], "removeLicenses": []}))
        .await
        .expect_error(400, "Request_BadRequest", "Cannot convert the literal 'zz' to the expected type 'Edm.Guid'.");
        let r = w.get("/v1.0/groups/not-a-guid", &t).await;
        r.expect(400);
        assert_eq!(r.code(), "Request_BadRequest");
        // Unknown properties.
        w.patch(
            &format!("/v1.0/users/{}", u.id),
            &t,
            json!({"shoeSize": 44}),
        )
        .await
        .expect_error(
            400,
            "Request_BadRequest",
            "Property 'shoeSize' does not exist as a declared property or extension property.",
        );
        w.post(
            &format!("/v1.0/users/{}/assignLicense", u.id),
            &t,
            json!({"addLicenses": [], "removeLicenses": [], "extra": 1}),
        )
        .await
        .expect(400);
        // Nothing was written by any of it.
        let r = w
            .get(
                &format!("/v1.0/users/{}?$select=assignedLicenses,displayName", u.id),
                &t,
            )
            .await;
        assert_eq!(r.body["assignedLicenses"], json!([]));
        assert_eq!(r.body["displayName"], "a");
    }
}

#[tokio::test]
async fn bad_odata_is_a_graph_error_not_a_500() {
    for w in World::all().await {
        let t = w.admin_token().await;
        for q in [
            "$top=1000",
            "$top=0",
            "$top=abc",
            "$filter=displayName%20eq",
            "$filter=(((",
            "$filter=shoeSize%20eq%2044",
            "$filter=endswith(mail,'x')",
            "$filter=displayName%20ne%20'x'",
            "$select=shoeSize",
            "$skip=5",
            "$orderby=shoeSize",
            "$search=%22displayName:a%22",
            "$skiptoken=%%%",
            "$skiptoken=bm9wZQ",
            "$filter=startswith(displayName,'a')&$orderby=displayName",
        ] {
            let r = w.get(&format!("/v1.0/users?{q}"), &t).await;
            assert_eq!(r.status.as_u16(), 400, "{q}: {}", r.text);
            assert!(r.code().starts_with("Request_"), "{q}: {}", r.text);
        }
        w.get("/v1.0/users?$top=1000", &t).await.expect_error(
            400,
            "Request_UnsupportedQuery",
            "Invalid page size specified: '1000'. Must be between 1 and 999 inclusive.",
        );
        w.get("/v1.0/users/$count", &t).await.expect_error(
            400,
            "Request_BadRequest",
            "$count is not currently supported.",
        );
        w.get("/v1.0/users?$search=%22displayName:a%22", &t).await.expect_error(
        400,
        "Request_UnsupportedQuery",
        "Request with $search query parameter only works through MSGraph with a special request header: 'ConsistencyLevel: eventual'",
    );
    }
}

#[tokio::test]
async fn unknown_routes_and_methods() {
    for w in World::all().await {
        let t = w.admin_token().await;
        let r = w.get("/v1.0/contacts", &t).await;
        r.expect_error(
            400,
            "Request_BadRequest",
            "Resource not found for the segment 'contacts'.",
        );
        w.call("PUT", "/v1.0/users", Some(&t), Some(json!({})))
            .await
            .expect_error(
                405,
                "Request_BadRequest",
                "Specified HTTP method is not allowed for the request target.",
            );
        // client-request-id is echoed, request-id generated, OData-Version set.
        let r = w
            .raw(
                "GET",
                "/v1.0/users",
                Some(&t),
                None,
                &[("client-request-id", "abc-123")],
            )
            .await;
        assert_eq!(r.headers["client-request-id"], "abc-123");
        assert_eq!(r.headers["odata-version"], "4.0");
        assert_eq!(r.headers["request-id"].to_str().unwrap().len(), 36);
        // /beta is an alias.
        w.get("/beta/users", &t).await.expect(200);
        w.call("GET", "/healthz", None, None).await.expect(200);
    }
}

#[tokio::test]
async fn openapi_describes_every_route() {
    for w in World::all().await {
        let r = w.call("GET", "/openapi.json", None, None).await;
        r.expect(200);
        assert_eq!(r.body["openapi"], "3.0.3");
        let paths = r.body["paths"].as_object().unwrap();
        for op in skuld_graph::operations() {
            assert!(
                paths[op.path].get(op.method).is_some(),
                "{} {}",
                op.method,
                op.path
            );
        }
        assert!(paths["/v1.0/users/{key}/assignLicense"]["post"]["summary"].is_string());
        assert!(paths.len() >= 30);
    }
}
