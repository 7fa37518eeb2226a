//! OData over HTTP: paging with nextLinks, $count, $filter on licenses, $search, $orderby.

use crate::harness::*;
use serde_json::json;
use std::collections::HashSet;

#[tokio::test]
async fn paging_follows_next_links_and_sees_everyone_once() {
    for w in World::all().await {
        let t = w.admin_token().await;
        for i in 0..12 {
            w.user(&format!("p{i:02}"), Some("US")).await;
        }
        let mut seen = HashSet::new();
        let mut url = "/v1.0/users?$top=5&$select=id,displayName".to_string();
        let mut pages = 0;
        loop {
            let r = w.get(&url, &t).await;
            r.expect(200);
            pages += 1;
            for id in r.ids() {
                assert!(seen.insert(id), "seen twice");
            }
            match r.body["@odata.nextLink"].as_str() {
                Some(next) => {
                    assert!(next.starts_with("http://graph.test/v1.0/users?"), "{next}");
                    assert!(next.contains("$top=5"), "{next}");
                    url = next.trim_start_matches("http://graph.test").to_string();
                }
                None => break,
            }
        }
        assert_eq!(seen.len(), 13);
        assert_eq!(pages, 3);
    }
}

#[tokio::test]
async fn count_filter_search_and_order() {
    for w in World::all().await {
        let t = w.admin_token().await;
        let a = w.user("alice", Some("US")).await;
        w.user("albert", Some("DE")).await;
        w.user("bob", Some("US")).await;
        w.license(&a.upn, "ENTERPRISEPACK").await;
        let e3 = sku("ENTERPRISEPACK");
        let ev = [("ConsistencyLevel", "eventual")];
        let r = w
            .raw("GET", "/v1.0/users/$count", Some(&t), None, &ev)
            .await;
        r.expect(200);
        assert_eq!(r.text, "4");
        let r = w
            .get(
                &format!(
                    "/v1.0/users?$filter=assignedLicenses/any(x:x/skuId%20eq%20{e3})&$select=id"
                ),
                &t,
            )
            .await;
        assert_eq!(r.ids(), vec![a.id.to_string()]);
        let r = w
            .get(
                "/v1.0/users?$filter=startswith(displayName,'al')&$select=displayName",
                &t,
            )
            .await;
        assert_eq!(r.body["value"].as_array().unwrap().len(), 2);
        let r = w.get("/v1.0/users?$filter=usageLocation%20eq%20'US'%20and%20userType%20eq%20'Member'&$select=id", &t).await;
        assert_eq!(r.body["value"].as_array().unwrap().len(), 3);
        let r = w
            .raw(
                "GET",
                "/v1.0/users?$filter=assignedLicenses/$count%20eq%200&$count=true&$select=id",
                Some(&t),
                None,
                &ev,
            )
            .await;
        r.expect(200);
        assert_eq!(r.body["@odata.count"], 3);
        let r = w
            .raw(
                "GET",
                "/v1.0/users?$search=%22displayName:bo%22&$select=displayName",
                Some(&t),
                None,
                &ev,
            )
            .await;
        r.expect(200);
        assert_eq!(r.body["value"], json!([{"displayName": "bob"}]));
        let r = w
            .get("/v1.0/users?$orderby=displayName&$select=displayName", &t)
            .await;
        let names: Vec<&str> = r.body["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["displayName"].as_str().unwrap())
            .collect();
        assert_eq!(names, vec!["admin", "albert", "alice", "bob"]);
        // $count=true without the header is silently ignored.
        let r = w.get("/v1.0/users?$count=true&$select=id", &t).await;
        assert!(r.body.get("@odata.count").is_none());
    }
}

#[tokio::test]
async fn public_url_is_used_in_context_next_links_and_location() {
    use tower::ServiceExt;
    for w in World::all().await {
        let t = w.admin_token().await;
        for i in 0..3 {
            w.user(&format!("pub{i}"), Some("US")).await;
        }
        let mut st = w.state.clone();
        st.public_url = Some("https://graph.example.org/".into());
        let router = skuld_graph::router(st);
        let req = axum::http::Request::builder()
            .uri("/v1.0/users?$top=2&$select=id")
            .header("host", "internal:8080")
            .header("authorization", format!("Bearer {t}"))
            .body(axum::body::Body::empty())
            .unwrap();
        let resp = router.clone().oneshot(req).await.unwrap();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(
            v["@odata.context"],
            "https://graph.example.org/v1.0/$metadata#users(id)"
        );
        assert!(
            v["@odata.nextLink"]
                .as_str()
                .unwrap()
                .starts_with("https://graph.example.org/v1.0/users?"),
            "{v}"
        );
        let req = axum::http::Request::builder()
            .method("POST")
            .uri("/v1.0/users")
            .header("authorization", format!("Bearer {t}"))
            .header("content-type", "application/json")
            .body(axum::body::Body::from(
                json!({"accountEnabled": true, "displayName": "P", "mailNickname": "p", "userPrincipalName": "p@contoso.test",
                       "passwordProfile": {"password": "xWwvJ]6NMw+bWH-d"}})
                .to_string(),
            ))
            .unwrap();
        let resp = router.oneshot(req).await.unwrap();
        assert_eq!(resp.status(), 201);
        assert!(resp.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("https://graph.example.org/v1.0/users/"));
    }
}
