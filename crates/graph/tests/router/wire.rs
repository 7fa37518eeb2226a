//! Wire edge cases (issue 7 items 11, 13, 14): every rejection is Graph's envelope, `GET /`,
//! `$metadata`, member `$count`, `$select` on membersWithLicenseErrors, nested and oversized
//! `$batch`, and a corpus of nasty inputs against every endpoint that must never panic (the
//! catch-panic layer's marker never appears) and always answer Graph's envelope.

use crate::harness::*;
use axum::body::Body;
use axum::http::Request;
use serde_json::{json, Value};
use skuld_graph::throttle::Limits;
use tower::ServiceExt;

/// One request straight into the router, any bytes in the URI the `http` crate lets through.
async fn send(w: &World, method: &str, uri: &str, token: &str, body: Vec<u8>) -> Option<Response> {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header("host", "graph.test")
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(Body::from(body))
        .ok()?; // a URI hyper would not accept either
    let resp = w.router.clone().oneshot(req).await.expect("infallible");
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .expect("body");
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Some(Response {
        status,
        headers,
        body,
        text,
    })
}

/// Asserts that a response did not come from the catch-panic layer, is no 5xx, and that an
/// error is Graph's envelope with its ids (or the token endpoint's OAuth error).
#[track_caller]
fn assert_sound(what: &str, r: &Response) {
    assert!(
        r.headers.get(skuld_graph::PANIC_MARKER).is_none(),
        "{what} panicked: {}",
        r.text
    );
    assert!(r.status.as_u16() < 500, "{what}: {} {}", r.status, r.text);
    if r.status.as_u16() >= 400 {
        // The token endpoint answers OAuth's `{"error": "invalid_request", …}` for what it
        // reads itself.
        if (what.contains("/oauth2/") || what.contains("/v2.0/")) && r.body["error"].is_string() {
            return;
        }
        assert!(r.body["error"]["code"].is_string(), "{what}: {}", r.text);
        assert!(r.body["error"]["message"].is_string(), "{what}: {}", r.text);
        let inner = &r.body["error"]["innerError"];
        assert!(
            inner["request-id"].as_str().is_some_and(|s| s.len() == 36),
            "{what}: {}",
            r.text
        );
        assert!(
            inner["client-request-id"]
                .as_str()
                .is_some_and(|s| !s.is_empty()),
            "{what}: {}",
            r.text
        );
    }
}

fn unthrottled() -> Limits {
    Limits {
        scale: 1.0,
        enabled: false,
    }
}

// ---- item 11 ------------------------------------------------------------------------------

#[tokio::test]
async fn item11_extractor_rejections_answer_graph_envelopes() {
    for w in World::all().await {
        extractor_rejections(&w).await;
    }
}

async fn extractor_rejections(w: &World) {
    let t = w.admin_token().await;
    // axum's Path rejection (not UTF-8) used to answer text/plain; a NUL reached PostgreSQL.
    for uri in [
        "/v1.0/users/%FF",
        "/v1.0/groups/%C0%80/members",
        "/v1.0/users/%FF/licenseDetails/%FE",
        "/v1.0/directory/deletedItems/%FF",
        "/v1.0/users/a%00b",
        "/v1.0/users/%0D%0A/memberOf",
        "/v1.0/groups/%7f",
    ] {
        let r = send(w, "GET", uri, &t, vec![]).await.unwrap();
        r.expect(400);
        assert_sound(uri, &r);
        assert!(
            r.headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json"),
            "{uri}"
        );
    }
    // Wrong method: the documented 405 text.
    w.call("PUT", "/v1.0/users", Some(&t), None)
        .await
        .expect_error(
            405,
            "Request_BadRequest",
            "Specified HTTP method is not allowed for the request target.",
        );
}

#[tokio::test]
async fn item11_root_and_metadata_are_served() {
    let w = World::with_limits(unthrottled()).await;
    let r = w.call("GET", "/", None, None).await;
    r.expect(200);
    assert_eq!(r.body["graph"], "http://graph.test/v1.0");
    assert_eq!(r.body["metadata"], "http://graph.test/v1.0/$metadata");
    assert_eq!(r.body["openapi"], "http://graph.test/openapi.json");
    assert_eq!(r.body["health"], "http://graph.test/healthz");
    assert!(r.body.get("adminCenter").is_some());

    let r = w.call("GET", "/v1.0/$metadata", None, None).await;
    r.expect(200);
    assert_eq!(r.headers["content-type"], "application/xml");
    assert_eq!(r.text, skuld_graph::metadata::DOCUMENT);
    for needle in [
        "<EntityType Name=\"user\"",
        "<EntitySet Name=\"users\"",
        "<Singleton Name=\"directory\"",
        "<Action Name=\"assignLicense\"",
    ] {
        assert!(r.text.contains(needle), "{needle}");
    }
    // Every @odata.context names a document that exists.
    let t = w.admin_token().await;
    let ctx = w.get("/v1.0/users", &t).await.body["@odata.context"]
        .as_str()
        .unwrap()
        .to_string();
    let doc = ctx
        .split('#')
        .next()
        .unwrap()
        .replace("http://graph.test", "");
    w.call("GET", &doc, None, None).await.expect(200);
}

#[tokio::test]
async fn item11_member_count_segments_need_eventual_consistency() {
    for w in World::all().await {
        let t = w.admin_token().await;
        let a = w.user("a", Some("US")).await;
        let b = w.user("b", Some("US")).await;
        let outer = w
            .post(
                "/v1.0/groups",
                &t,
                json!({"displayName": "Outer", "mailEnabled": false, "mailNickname": "outer", "securityEnabled": true}),
            )
            .await;
        let inner = w
            .post(
                "/v1.0/groups",
                &t,
                json!({"displayName": "Inner", "mailEnabled": false, "mailNickname": "inner", "securityEnabled": true}),
            )
            .await;
        let (o, i) = (
            outer.body["id"].as_str().unwrap().to_string(),
            inner.body["id"].as_str().unwrap().to_string(),
        );
        for (g, m) in [
            (&o, a.id.to_string()),
            (&o, i.clone()),
            (&i, b.id.to_string()),
        ] {
            w.post(
                &format!("/v1.0/groups/{g}/members/$ref"),
                &t,
                json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{m}")}),
            )
            .await
            .expect(204);
        }
        let eventual = [("ConsistencyLevel", "eventual")];
        for (path, n) in [("members", "2"), ("transitiveMembers", "3")] {
            let uri = format!("/v1.0/groups/{o}/{path}/$count");
            let r = w.raw("GET", &uri, Some(&t), None, &eventual).await;
            r.expect(200);
            assert_eq!(r.text, n, "{path}");
            assert!(r.headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/plain"));
            w.get(&uri, &t).await.expect_error(
                400,
                "Request_BadRequest",
                "$count is not currently supported.",
            );
        }
    }
}

#[tokio::test]
async fn item11_members_with_license_errors_honours_select() {
    for w in World::all().await {
        let t = w.admin_token().await;
        let u = w.user("waiting", Some("US")).await;
        let g = w
            .post(
                "/v1.0/groups",
                &t,
                json!({"displayName": "G", "mailEnabled": false, "mailNickname": "g", "securityEnabled": true}),
            )
            .await
            .body["id"]
            .as_str()
            .unwrap()
            .to_string();
        w.post(
            &format!("/v1.0/groups/{g}/members/$ref"),
            &t,
            json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{}", u.id)}),
        )
        .await
        .expect(204);
        // The premium product has a single seat, held by the admin: her group path waits in
        // CountViolation.
        w.license(&w.admin.clone(), "ENTERPRISEPREMIUM").await;
        let e5 = sku("ENTERPRISEPREMIUM").to_string();
        w.post(
            &format!("/v1.0/groups/{g}/assignLicense"),
            &t,
            json!({"addLicenses": [{"skuId": e5, "disabledPlans": []}], "removeLicenses": []}),
        )
        .await
        .expect(202);
        w.drain().await;
        let r = w
            .get(
                &format!("/v1.0/groups/{g}/membersWithLicenseErrors?$select=id,displayName"),
                &t,
            )
            .await;
        r.expect(200);
        assert_eq!(
            r.body["@odata.context"],
            "http://graph.test/v1.0/$metadata#directoryObjects(id,displayName)"
        );
        let v = &r.body["value"][0];
        assert_eq!(v["id"], json!(u.id.to_string()), "{}", r.text);
        let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["@odata.type", "displayName", "id"]);
    }
}

// ---- items 13 and 14: $batch ---------------------------------------------------------------

fn batch_response<'a>(r: &'a Response, id: &str) -> &'a Value {
    r.body["responses"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["id"] == id))
        .unwrap_or_else(|| panic!("no response {id}: {}", r.text))
}

#[tokio::test]
async fn item13_a_batch_inside_a_batch_is_refused() {
    let w = World::with_limits(unthrottled()).await;
    let t = w.admin_token().await;
    let inner = json!({"requests": [{"id": "x", "method": "GET", "url": "/users"}]});
    let mut nested = inner.clone();
    for _ in 0..5 {
        nested = json!({"requests": [{"id": "n", "method": "POST", "url": "/$batch",
            "headers": {"Content-Type": "application/json"}, "body": nested}]});
    }
    let r = w
        .post(
            "/v1.0/$batch",
            &t,
            json!({"requests": [
                {"id": "1", "method": "POST", "url": "/$batch", "headers": {"Content-Type": "application/json"}, "body": inner},
                {"id": "2", "method": "POST", "url": "https://graph.microsoft.com/v1.0/$batch", "body": nested},
                {"id": "3", "method": "POST", "url": "%24batch?x=1", "body": {}},
                {"id": "4", "method": "GET", "url": "/users?$select=id"},
            ]}),
        )
        .await;
    r.expect(200);
    assert_sound("nested batch", &r);
    for id in ["1", "2", "3"] {
        let x = batch_response(&r, id);
        assert_eq!(x["status"], 400, "{id}: {x}");
        assert_eq!(
            x["body"]["error"]["message"],
            "Invalid batch payload format: a batch request cannot contain another batch request."
        );
    }
    assert_eq!(batch_response(&r, "4")["status"], 200);
    // The answer stays the size of what was asked.
    assert!(r.text.len() < 20_000, "{} bytes", r.text.len());
}

#[tokio::test]
async fn item13_the_combined_batch_response_is_capped() {
    let w = World::with_limits(unthrottled()).await;
    let t = w.admin_token().await;
    for i in 0..5 {
        w.user(&format!("u{i}"), Some("US")).await;
    }
    let reqs: Vec<Value> = (0..20)
        .map(|i| json!({"id": i.to_string(), "method": "GET", "url": "/users?$select=id,displayName,userPrincipalName"}))
        .collect();
    let body = json!({ "requests": reqs }).to_string();
    let one_page = w
        .get("/v1.0/users?$select=id,displayName,userPrincipalName", &t)
        .await
        .text
        .len();
    // A cap of three and a half pages: three answered, the rest refused without running.
    let cap = one_page * 7 / 2;
    let req = Request::builder()
        .method("POST")
        .uri("/v1.0/$batch")
        .header("host", "graph.test")
        .header("authorization", format!("Bearer {t}"))
        .header("content-type", "application/json")
        .extension(skuld_graph::routes::batch::ResponseCap(cap))
        .body(Body::from(body))
        .unwrap();
    let resp = w.router.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), 200);
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    let r: Value = serde_json::from_slice(&bytes).unwrap();
    let statuses: Vec<u64> = (0..20)
        .map(|i| {
            let id = i.to_string();
            r["responses"]
                .as_array()
                .unwrap()
                .iter()
                .find(|x| x["id"] == id)
                .unwrap()["status"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(&statuses[..3], &[200, 200, 200], "{statuses:?}");
    assert!(statuses[3..].iter().all(|s| *s == 413), "{statuses:?}");
    assert!(bytes.len() < cap + 20 * 1024, "{} bytes", bytes.len());
    let refused = r["responses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == "19")
        .unwrap();
    assert_eq!(refused["body"]["error"]["code"], "Request_EntityTooLarge");
}

#[tokio::test]
async fn item14_inner_urls_that_cannot_form_a_request_answer_alone() {
    let w = World::with_limits(unthrottled()).await;
    let t = w.admin_token().await;
    let long_path = format!("/users/{}", "a".repeat(100_000));
    let long_query = format!("/users?$filter={}", "(".repeat(100_000));
    let nasty = [
        "/users/a b",
        "/users/a\r\nX-Injected: 1",
        "/users/a\nb",
        "/users/\u{0}",
        "/users/%FF",
        "/users/%C0%80",
        long_path.as_str(),
        long_query.as_str(),
        "/users?$select=%FF",
        "http://[::1",
        "/users/\u{7f}",
        "/users/é",
    ];
    let reqs: Vec<Value> = nasty
        .iter()
        .enumerate()
        .map(|(i, u)| {
            json!({"id": i.to_string(), "method": "GET", "url": u,
                   "headers": {"X-Bad": "a\r\nb", "client-request-id": format!("c-{i}")}})
        })
        .collect();
    let r = w
        .post("/v1.0/$batch", &t, json!({ "requests": reqs }))
        .await;
    r.expect(200);
    assert_sound("nasty batch", &r);
    for (i, u) in nasty.iter().enumerate() {
        let x = batch_response(&r, &i.to_string());
        let status = x["status"].as_u64().unwrap();
        assert!((400..500).contains(&status), "{u:?}: {x}");
        let inner = &x["body"]["error"]["innerError"];
        // Item "Fidelity": inner envelopes carry their ids.
        assert_eq!(inner["request-id"].as_str().map(str::len), Some(36), "{x}");
        assert_eq!(inner["client-request-id"], format!("c-{i}"), "{x}");
    }
}

#[tokio::test]
async fn fidelity_inner_batch_errors_carry_request_ids() {
    let w = World::with_limits(unthrottled()).await;
    let t = w.admin_token().await;
    let r = w
        .raw(
            "POST",
            "/v1.0/$batch",
            Some(&t),
            Some(
                json!({"requests": [
                    {"id": "1", "method": "GET", "url": "/users/nobody@contoso.test"},
                    {"id": "2", "method": "GET", "url": "/users", "dependsOn": ["1"]},
                    {"id": "3", "method": "GET", "url": "/users/%FF"},
                ]})
                .to_string()
                .into_bytes(),
            ),
            &[("client-request-id", "outer-id")],
        )
        .await;
    r.expect(200);
    let mut seen = std::collections::HashSet::new();
    for id in ["1", "2", "3"] {
        let inner = &batch_response(&r, id)["body"]["error"]["innerError"];
        let rid = inner["request-id"].as_str().unwrap_or("").to_string();
        assert_eq!(rid.len(), 36, "{id}: {inner}");
        assert!(seen.insert(rid), "request ids are fresh per request");
        assert_eq!(inner["client-request-id"], "outer-id", "{id}");
    }
}

// ---- item 14: the corpus -------------------------------------------------------------------

#[tokio::test]
async fn item14_nasty_inputs_against_every_endpoint_never_panic() {
    let w = World::with_limits(unthrottled()).await;
    let t = w.admin_token().await;
    let long = "x".repeat(100_000);
    let segments = [
        "%FF".to_string(),
        "%C0%80".to_string(),
        "%00".to_string(),
        "%0D%0A".to_string(),
        "a%20b".to_string(),
        "%27%27".to_string(),
        "('%27)".to_string(),
        "$count".to_string(),
        "%24batch".to_string(),
        "00000000-0000-0000-0000-000000000000".to_string(),
        "contoso.test".to_string(),
        long.clone(),
    ];
    let long_select = format!("$select={}", "id,".repeat(30_000));
    let deep_filter = format!("$filter={}", "(".repeat(50_000));
    let long_query = format!("x={long}");
    let queries = [
        "$select=%FF",
        "$filter=%FF",
        "$top=99999999999999999999999",
        "$top=-1",
        "$skiptoken=%00",
        "$orderby=,",
        "$expand=members((((((",
        "$expand=members($select=%27)",
        "$count=maybe",
        "$search=%22",
        "$select=id&$select=id",
        "$filter=startswith(displayName,%27a%27)%20and%20(",
        long_select.as_str(),
        deep_filter.as_str(),
        long_query.as_str(),
    ];
    let deep_json = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let deep_obj = format!("{}1{}", "{\"a\":".repeat(10_000), "}".repeat(10_000));
    let bodies: Vec<Vec<u8>> = vec![
        deep_json.into_bytes(),
        deep_obj.into_bytes(),
        b"{\"displayName\": 1e400}".to_vec(),
        b"{\"displayName\": 123456789012345678901234567890}".to_vec(),
        b"{\"accountEnabled\": \"yes\", \"displayName\": [], \"mailNickname\": {}, \"userPrincipalName\": 7}".to_vec(),
        b"{\"displayName\": \"a\", \"displayName\": \"b\"}".to_vec(),
        b"{\"addLicenses\": {}, \"removeLicenses\": \"x\"}".to_vec(),
        b"{\"addLicenses\": [{\"skuId\": 5}], \"removeLicenses\": [null]}".to_vec(),
        b"{\"@odata.id\": 5}".to_vec(),
        b"{\"requests\": [{\"id\": {}, \"method\": 1, \"url\": []}]}".to_vec(),
        b"{\"requests\": 5}".to_vec(),
        vec![0xff, 0xfe, b'{', b'}'],
        b"{\"a\": \"\\ud800\"}".to_vec(),
        b"null".to_vec(),
        format!("{{\"displayName\": \"{long}\"}}").into_bytes(),
    ];
    let mut n = 0;
    for op in skuld_graph::operations() {
        let method = op.method.to_ascii_uppercase();
        let fill = |seg: &str| -> String {
            let mut p = op.path.to_string();
            while let (Some(a), Some(b)) = (p.find('{'), p.find('}')) {
                p.replace_range(a..=b, seg);
            }
            p
        };
        for seg in &segments {
            let uri = fill(seg);
            if let Some(r) = send(&w, &method, &uri, &t, vec![]).await {
                assert_sound(&format!("{method} {uri:.200}"), &r);
                n += 1;
            }
        }
        let base = fill("00000000-0000-0000-0000-000000000001");
        for q in &queries {
            let uri = format!("{base}?{q}");
            if let Some(r) = send(&w, &method, &uri, &t, vec![]).await {
                assert_sound(&format!("{method} {uri:.200}"), &r);
                n += 1;
            }
        }
        if method == "POST" || method == "PATCH" {
            for path in [base.clone(), fill("")] {
                for b in &bodies {
                    if let Some(r) = send(&w, &method, &path, &t, b.clone()).await {
                        assert_sound(
                            &format!("{method} {path} {:.80}", String::from_utf8_lossy(b)),
                            &r,
                        );
                        n += 1;
                    }
                }
            }
        }
    }
    // The same bodies inside a batch, against every writable endpoint.
    for op in skuld_graph::operations()
        .into_iter()
        .filter(|o| o.path.starts_with("/v1.0/") && (o.method == "post" || o.method == "patch"))
    {
        let path = op
            .path
            .trim_start_matches("/v1.0")
            .replace("{key}", "x")
            .replace("{id}", "x");
        let reqs: Vec<Value> = bodies
            .iter()
            .enumerate()
            .filter_map(|(i, b)| {
                let v: Value = serde_json::from_slice(b).ok()?;
                Some(
                    json!({"id": i.to_string(), "method": op.method, "url": path, "body": v,
                            "headers": {"Content-Type": "application/json"}}),
                )
            })
            .collect();
        let r = w
            .post("/v1.0/$batch", &t, json!({ "requests": reqs }))
            .await;
        assert_sound(&format!("batch {path}"), &r);
        for x in r.body["responses"].as_array().into_iter().flatten() {
            assert!(x["status"].as_u64().is_some_and(|s| s < 500), "{path}: {x}");
        }
        n += 1;
    }
    assert!(n > 500, "only {n} requests were sent");
}
