//! `$batch` (graph-api.md §9.5).

use crate::harness::*;
use serde_json::{json, Value};

#[tokio::test]
async fn batch_runs_requests_in_dependency_order() {
    for w in World::all().await {
        let t = w.admin_token().await;
        let u = w.user("a", Some("US")).await;
        let e3 = sku("ENTERPRISEPACK").to_string();
        let r = w
        .post(
            "/v1.0/$batch",
            &t,
            json!({"requests": [
                {"id": "3", "method": "GET", "url": format!("/users/{}?$select=assignedLicenses", u.id), "dependsOn": ["2"]},
                {"id": "1", "method": "GET", "url": "http://127.0.0.1:8080/v1.0/users?$select=id"},
                {"id": "2", "method": "POST", "url": format!("users/{}/assignLicense", u.id), "depends_on": ["1"],
                 "headers": {"Content-Type": "application/json"},
                 "body": {"addLicenses": [{"skuId": e3, "disabledPlans": []}], "removeLicenses": []}},
                {"id": "4", "method": "GET", "url": "/users/nobody@contoso.test"},
                {"id": "5", "method": "GET", "url": "/users", "dependsOn": ["4"]},
                {"id": "6", "method": "GET", "url": "/users/$count", "headers": {"ConsistencyLevel": "eventual"}},
            ]}),
        )
        .await;
        r.expect(200);
        let by_id = |id: &str| -> Value {
            r.body["responses"]
                .as_array()
                .unwrap()
                .iter()
                .find(|x| x["id"] == id)
                .unwrap()
                .clone()
        };
        assert_eq!(by_id("1")["status"], 200);
        assert_eq!(by_id("2")["status"], 200);
        assert_eq!(by_id("3")["status"], 200);
        assert_eq!(
            by_id("3")["body"]["assignedLicenses"][0]["skuId"],
            json!(e3)
        );
        assert_eq!(by_id("4")["status"], 404);
        assert_eq!(
            by_id("4")["body"]["error"]["code"],
            "Request_ResourceNotFound"
        );
        assert_eq!(by_id("5")["status"], 424);
        assert_eq!(by_id("6")["status"], 200);
        assert_eq!(by_id("6")["body"], json!("2"));
    }
}

#[tokio::test]
async fn malformed_batches_are_refused_whole() {
    for w in World::all().await {
        let t = w.admin_token().await;
        let many: Vec<Value> = (0..21)
            .map(|i| json!({"id": i.to_string(), "method": "GET", "url": "/users"}))
            .collect();
        let r = w.post("/v1.0/$batch", &t, json!({"requests": many})).await;
        r.expect(400);
        assert!(r.message().contains("maximum of 20"), "{}", r.text);
        w.post("/v1.0/$batch", &t, json!({"requests": [{"id": "1", "method": "GET", "url": "/users"}, {"id": "1", "method": "GET", "url": "/users"}]}))
        .await
        .expect(400);
        w.post(
        "/v1.0/$batch",
        &t,
        json!({"requests": [{"id": "1", "method": "GET", "url": "/users", "dependsOn": ["9"]}]}),
    )
    .await
    .expect(400);
        w.post("/v1.0/$batch", &t, json!({"nope": []}))
            .await
            .expect(400);
        // Without a token every inner request is a 401, but the batch itself needs one too.
        w.call(
            "POST",
            "/v1.0/$batch",
            None,
            Some(json!({"requests": [{"id": "1", "method": "GET", "url": "/users"}]})),
        )
        .await
        .expect(401);
    }
}
