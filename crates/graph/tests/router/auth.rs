//! The token endpoint, discovery documents and token validation (graph-api.md §8, §10).

use crate::harness::*;
use serde_json::{json, Value};
use skuld_graph::auth::Claims;

async fn form(w: &World, tenant: &str, body: &str) -> Response {
    let mut r = w
        .raw(
            "POST",
            &format!("/{tenant}/oauth2/v2.0/token"),
            None,
            Some(body.as_bytes().to_vec()),
            &[],
        )
        .await;
    if r.body.is_null() {
        r.body = Value::Null;
    }
    r
}

#[tokio::test]
async fn client_credentials_and_password_grants_issue_graph_tokens() {
    for w in World::all().await {
        let (row, secret) = w
            .app
            .add_app(
                &w.tenant,
                "script",
                &[
                    "User.Read.All".into(),
                    "LicenseAssignment.ReadWrite.All".into(),
                ],
                &OP,
            )
            .await
            .unwrap();
        let enc: String =
            percent_encoding::utf8_percent_encode(&secret, percent_encoding::NON_ALPHANUMERIC)
                .to_string();
        let r = form(
        &w,
        &w.tenant.id.to_string(),
        &format!("grant_type=client_credentials&client_id={}&client_secret={enc}&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default", row.app_id),
    )
    .await;
        r.expect(200);
        assert_eq!(r.body["token_type"], "Bearer");
        assert_eq!(r.body["expires_in"], 3599);
        let token = r.body["access_token"].as_str().unwrap().to_string();
        let claims = w.state.keys.verify(&token).unwrap();
        assert_eq!(claims.tid, w.tenant.id.to_string());
        assert_eq!(
            claims.roles,
            vec!["User.Read.All", "LicenseAssignment.ReadWrite.All"]
        );
        assert_eq!(claims.idtyp, "app");
        assert_eq!(claims.aud, "https://graph.microsoft.com");
        w.get("/v1.0/users", &token).await.expect(200);

        // The tenant may also be named by its domain; a wrong secret is invalid_client.
        let r = form(&w, "contoso.test", &format!("grant_type=client_credentials&client_id={}&client_secret=nope&scope=https://graph.microsoft.com/.default", row.app_id)).await;
        r.expect(401);
        assert_eq!(r.body["error"], "invalid_client");
        assert!(r.body["error_description"]
            .as_str()
            .unwrap()
            .starts_with("AADSTS7000215: "));
        let r = form(
            &w,
            "contoso.test",
            &format!(
                "grant_type=client_credentials&client_id={}&client_secret={enc}&scope=User.Read",
                row.app_id
            ),
        )
        .await;
        assert_eq!(r.body["error"], "invalid_scope");

        // ROPC for the admin: delegated token with wids.
        let r = form(&w, "contoso.test", "grant_type=password&client_id=cli&scope=openid%20https://graph.microsoft.com/.default&username=admin%40contoso.test&password=Passw0rd%21admin").await;
        r.expect(200);
        let claims = w
            .state
            .keys
            .verify(r.body["access_token"].as_str().unwrap())
            .unwrap();
        assert_eq!(claims.idtyp, "user");
        assert_eq!(claims.wids, vec!["62e90394-69f5-4237-9190-012177145e10"]);
        assert_eq!(claims.scp.as_deref(), Some("Directory.AccessAsUser.All"));
        assert_eq!(claims.upn.as_deref(), Some("admin@contoso.test"));
        let r = form(
            &w,
            "contoso.test",
            "grant_type=password&client_id=cli&username=admin%40contoso.test&password=wrong",
        )
        .await;
        r.expect(400);
        assert_eq!(r.body["error"], "invalid_grant");
        assert_eq!(r.body["error_codes"], json!([50126]));
        let r = form(
            &w,
            "fabrikam.test",
            "grant_type=password&client_id=cli&username=a&password=b",
        )
        .await;
        assert_eq!(r.body["error"], "invalid_request");
        let r = form(
            &w,
            "contoso.test",
            "grant_type=authorization_code&client_id=cli",
        )
        .await;
        assert_eq!(r.body["error"], "unsupported_grant_type");
    }
}

#[tokio::test]
async fn discovery_and_jwks() {
    for w in World::all().await {
        let r = w
            .call(
                "GET",
                &format!("/{}/v2.0/.well-known/openid-configuration", w.tenant.id),
                None,
                None,
            )
            .await;
        r.expect(200);
        assert_eq!(
            r.body["issuer"],
            json!(format!("https://sts.windows.net/{}/", w.tenant.id))
        );
        assert!(r.body["token_endpoint"]
            .as_str()
            .unwrap()
            .ends_with("/oauth2/v2.0/token"));
        let r = w
            .call(
                "GET",
                &format!("/{}/discovery/v2.0/keys", w.tenant.id),
                None,
                None,
            )
            .await;
        let k = &r.body["keys"][0];
        assert_eq!(k["kty"], "EC");
        assert_eq!(k["alg"], "ES256");
        assert!(k["x"].is_string() && k["y"].is_string());
    }
}

#[tokio::test]
async fn bad_tokens_get_graphs_401s() {
    for w in World::all().await {
        let r = w.call("GET", "/v1.0/users", None, None).await;
        r.expect_error(401, "InvalidAuthenticationToken", "Access token is empty.");
        assert!(r.headers["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer realm=\"\""));
        w.raw(
            "GET",
            "/v1.0/users",
            None,
            None,
            &[("authorization", "Bearer")],
        )
        .await
        .expect_error(401, "InvalidAuthenticationToken", "Access token is empty.");
        w.call("GET", "/v1.0/users", Some("garbage"), None)
            .await
            .expect_error(
                401,
                "InvalidAuthenticationToken",
                "IDX14100: JWT is not well formed, there are no dots (.).",
            );
        let admin = w.app.user(&w.tenant, "admin@contoso.test").await.unwrap();
        let mut c = Claims::for_user(&w.tenant, &admin, &[], "x", "Directory.AccessAsUser.All");
        c.exp = c.iat - 10;
        let expired = w.state.keys.sign(&c);
        w.call("GET", "/v1.0/users", Some(&expired), None)
            .await
            .expect_error(
                401,
                "InvalidAuthenticationToken",
                "Lifetime validation failed, the token is expired.",
            );
        // Signed by another key.
        let other = skuld_graph::auth::Keys::generate();
        let forged = other.sign(&Claims::for_user(
            &w.tenant,
            &admin,
            &[],
            "x",
            "Directory.AccessAsUser.All",
        ));
        w.call("GET", "/v1.0/users", Some(&forged), None)
            .await
            .expect_error(
                401,
                "InvalidAuthenticationToken",
                "Access token validation failure. Invalid audience.",
            );
        // Another audience.
        let mut c = Claims::for_user(&w.tenant, &admin, &[], "x", "Directory.AccessAsUser.All");
        c.aud = "api://something-else".into();
        let wrong_aud = w.state.keys.sign(&c);
        w.call("GET", "/v1.0/users", Some(&wrong_aud), None)
            .await
            .expect(401);
        // A deleted user's token stops working.
        let t = w.token("admin@contoso.test").await;
        let u = w.user("leaver", Some("US")).await;
        let lt = w.token(&u.upn).await;
        w.get("/v1.0/users", &lt).await.expect(200);
        w.delete(&format!("/v1.0/users/{}", u.id), &t)
            .await
            .expect(204);
        w.get("/v1.0/users", &lt).await.expect(401);
    }
}

#[tokio::test]
async fn me_is_the_signed_in_user() {
    for w in World::all().await {
        let t = w.admin_token().await;
        let r = w.get("/v1.0/me?$select=userPrincipalName", &t).await;
        r.expect(200);
        assert_eq!(r.body["userPrincipalName"], "admin@contoso.test");
        let app = w.app_token(&["User.Read.All"]).await;
        w.get("/v1.0/me", &app).await.expect(400);
    }
}

#[tokio::test]
async fn throttling_answers_429_with_retry_after() {
    let w = World::with_limits(skuld_graph::throttle::Limits {
        scale: 0.002,
        enabled: true,
    })
    .await;
    let t = w.admin_token().await;
    // 3,500 RU × 0.002 = 7 RU per 10 s; GET /users costs 2.
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(w.get("/v1.0/users", &t).await);
    }
    assert!(statuses[0].status.is_success());
    assert_eq!(statuses[0].headers["x-ms-resource-unit"], "2");
    let throttled = statuses.iter().find(|r| r.status == 429).expect("a 429");
    assert_eq!(throttled.code(), "Request_ThrottledTemporarily");
    assert_eq!(
        throttled.headers["x-ms-throttle-information"],
        "ResourceUnitLimitExceeded"
    );
    let after: u64 = throttled.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=10).contains(&after));
    assert_eq!(
        throttled.message(),
        format!("Your request is throttled temporarily. Please try after {after} seconds.")
    );
    // Another app of the same tenant has its own budget.
    let other = w.app_token(&["User.Read.All"]).await;
    w.get("/v1.0/users", &other).await.expect(200);
}
