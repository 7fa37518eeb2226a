//! Sign-in security at the token endpoint (issue 7 items 3, 4, 17): smart lockout with a clock
//! the test moves, per user name and source address, shared through the database; users who
//! must change their password; unknown users that look like known ones.

use crate::harness::*;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use serde_json::{json, Value};
use skuld_app::NewUser;
use std::time::{Duration, Instant};
use tower::ServiceExt;

/// A form POST to `/{tenant}/oauth2/v2.0/{endpoint}` from `source` (a socket peer, as `serve`
/// gives it), through `router`.
async fn post_form(
    router: &axum::Router,
    endpoint: &str,
    body: &str,
    source: Option<&str>,
) -> (u16, Value) {
    let mut b = Request::builder()
        .method("POST")
        .uri(format!("/contoso.test/oauth2/v2.0/{endpoint}"))
        .header("host", "graph.test")
        .header("content-type", "application/x-www-form-urlencoded");
    if let Some(s) = source {
        let addr: std::net::SocketAddr = format!("{s}:50000").parse().unwrap();
        b = b.extension(ConnectInfo(addr));
    }
    let resp = router
        .clone()
        .oneshot(b.body(Body::from(body.to_string())).unwrap())
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

async fn sign_in(
    router: &axum::Router,
    user: &str,
    pw: &str,
    source: Option<&str>,
) -> (u16, Value) {
    let body = format!(
        "grant_type=password&client_id=skuld-cli&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default&username={}&password={}",
        enc(user),
        enc(pw)
    );
    post_form(router, "token", &body, source).await
}

/// The AADSTS code of an Entra error answer, after checking its envelope.
#[track_caller]
fn aadsts(r: &(u16, Value)) -> u64 {
    assert_eq!(r.0, 400, "{}", r.1);
    assert_eq!(r.1["error"], "invalid_grant", "{}", r.1);
    let code = r.1["error_codes"][0].as_u64().unwrap();
    let d = r.1["error_description"].as_str().unwrap();
    assert!(d.starts_with(&format!("AADSTS{code}: ")), "{d}");
    assert!(d.contains("\r\nTrace ID: "), "{d}");
    code
}

const LOCKED: &str = "AADSTS50053: The account is locked, you've tried to sign in too many times with an incorrect user ID or password.";

#[tokio::test]
async fn smart_lockout_after_ten_failures_expires_and_grows() {
    for w in World::all().await {
        let r = &w.router;
        w.user("kim", Some("US")).await;
        let (kim, right) = ("kim@contoso.test", "Passw0rd!kim");
        for _ in 0..10 {
            assert_eq!(
                aadsts(&sign_in(r, kim, "wrong", Some("192.0.2.1")).await),
                50126
            );
        }
        // The 11th attempt is refused even with the right password.
        let locked = sign_in(r, kim, right, Some("192.0.2.1")).await;
        assert_eq!(aadsts(&locked), 50053);
        assert!(locked.1["error_description"]
            .as_str()
            .unwrap()
            .starts_with(LOCKED));
        // Per source address: the user signs in from elsewhere.
        assert_eq!(sign_in(r, kim, right, Some("198.51.100.7")).await.0, 200);
        // The first lockout lasts a minute.
        w.state.clock.advance(Duration::from_secs(59));
        assert_eq!(
            aadsts(&sign_in(r, kim, right, Some("192.0.2.1")).await),
            50053
        );
        w.state.clock.advance(Duration::from_secs(2));
        assert_eq!(sign_in(r, kim, right, Some("192.0.2.1")).await.0, 200);
        // The next lockout lasts longer (two minutes).
        for _ in 0..10 {
            assert_eq!(
                aadsts(&sign_in(r, kim, "wrong", Some("192.0.2.1")).await),
                50126
            );
        }
        w.state.clock.advance(Duration::from_secs(61));
        assert_eq!(
            aadsts(&sign_in(r, kim, right, Some("192.0.2.1")).await),
            50053
        );
        w.state.clock.advance(Duration::from_secs(60));
        assert_eq!(sign_in(r, kim, right, Some("192.0.2.1")).await.0, 200);
        // A success resets the count: nine more failures do not lock.
        for _ in 0..9 {
            assert_eq!(
                aadsts(&sign_in(r, kim, "wrong", Some("192.0.2.1")).await),
                50126
            );
        }
        assert_eq!(sign_in(r, kim, right, Some("192.0.2.1")).await.0, 200);
        for _ in 0..9 {
            assert_eq!(
                aadsts(&sign_in(r, kim, "wrong", Some("192.0.2.1")).await),
                50126
            );
        }
        assert_eq!(sign_in(r, kim, right, Some("192.0.2.1")).await.0, 200);
    }
}

#[tokio::test]
async fn an_unknown_user_is_locked_out_like_a_known_one() {
    for w in World::all().await {
        let r = &w.router;
        w.user("lee", Some("US")).await;
        for name in ["lee@contoso.test", "nobody@contoso.test"] {
            for _ in 0..10 {
                let a = sign_in(r, name, "wrong", None).await;
                assert_eq!(aadsts(&a), 50126);
                assert!(a.1["error_description"].as_str().unwrap().starts_with(
                    "AADSTS50126: Error validating credentials due to invalid username or password."
                ));
            }
            let a = sign_in(r, name, "wrong", None).await;
            assert_eq!(aadsts(&a), 50053, "{name}");
        }
    }
}

#[tokio::test]
async fn lockout_state_is_shared_by_servers_on_one_database() {
    for w in World::all().await {
        w.user("ann", Some("US")).await;
        let other = w.another_server().await;
        for i in 0..10 {
            let r = if i % 2 == 0 { &w.router } else { &other };
            assert_eq!(
                aadsts(&sign_in(r, "ann@contoso.test", "wrong", Some("192.0.2.9")).await),
                50126
            );
        }
        let a = sign_in(
            &other,
            "ann@contoso.test",
            "Passw0rd!ann",
            Some("192.0.2.9"),
        )
        .await;
        assert_eq!(aadsts(&a), 50053);
    }
}

/// Issue 7 item 17: an unknown user costs the same argon2 work as a wrong password.
#[tokio::test]
async fn an_unknown_user_answers_as_slowly_as_a_wrong_password() {
    let w = World::with_limits(skuld_graph::throttle::Limits::default()).await;
    w.user("tim", Some("US")).await;
    let time = |user: &'static str, source: &'static str| {
        let r = w.router.clone();
        async move {
            let t = Instant::now();
            let a = sign_in(&r, user, "wrong", Some(source)).await;
            assert_eq!(aadsts(&a), 50126);
            t.elapsed()
        }
    };
    let (mut known, mut unknown) = (Duration::MAX, Duration::MAX);
    for _ in 0..5 {
        known = known.min(time("tim@contoso.test", "192.0.2.20").await);
        unknown = unknown.min(time("ghost@contoso.test", "192.0.2.21").await);
    }
    // Without the dummy hash an unknown user answered 20 times faster.
    assert!(
        unknown * 3 >= known,
        "unknown user {unknown:?} vs wrong password {known:?}"
    );
}

/// Issue 7 item 3: `forceChangePasswordNextSignIn` refuses the password grant (AADSTS50055)
/// until the password is changed at the form beside the token endpoint.
#[tokio::test]
async fn a_user_who_must_change_the_password_gets_no_token_until_it_is_changed() {
    for w in World::all().await {
        let r = &w.router;
        w.app
            .create_user(
                &w.tenant,
                NewUser {
                    upn: "new@contoso.test".into(),
                    display_name: "New".into(),
                    account_enabled: true,
                    password: Some("Initial#Pass1".into()),
                    force_change_password: true,
                    ..Default::default()
                },
                &OP,
            )
            .await
            .unwrap();
        let a = sign_in(r, "new@contoso.test", "Initial#Pass1", None).await;
        assert_eq!(aadsts(&a), 50055);
        assert!(a.1["error_description"]
            .as_str()
            .unwrap()
            .starts_with("AADSTS50055: The password is expired."));
        // A wrong password does not reveal that the password must change.
        assert_eq!(
            aadsts(&sign_in(r, "new@contoso.test", "nope", None).await),
            50126
        );

        let change = |cur: &str, new: &str| {
            format!(
                "username=new%40contoso.test&password={}&new_password={}",
                enc(cur),
                enc(new)
            )
        };
        let (s, b) = post_form(r, "changepassword", &change("nope", "Fresh#Pass22"), None).await;
        assert_eq!((s, b["error_codes"][0].as_u64()), (400, Some(50126)), "{b}");
        let (s, b) = post_form(r, "changepassword", &change("Initial#Pass1", "short"), None).await;
        assert_eq!(
            (s, b["error"].as_str()),
            (400, Some("invalid_request")),
            "{b}"
        );
        assert!(b["error_description"].as_str().unwrap().contains(
            "The specified password does not comply with password complexity requirements."
        ));
        let (s, b) = post_form(r, "changepassword", "username=new%40contoso.test", None).await;
        assert_eq!(
            (s, b["error_codes"][0].as_u64()),
            (400, Some(900144)),
            "{b}"
        );
        let (s, _) = post_form(
            r,
            "changepassword",
            &change("Initial#Pass1", "Fresh#Pass22"),
            None,
        )
        .await;
        assert_eq!(s, 204);
        assert_eq!(
            sign_in(r, "new@contoso.test", "Fresh#Pass22", None).await.0,
            200
        );
        assert_eq!(
            aadsts(&sign_in(r, "new@contoso.test", "Initial#Pass1", None).await),
            50126
        );
        let audit = w.app.audit_log(&w.tenant, 50).await.unwrap();
        assert!(
            audit.iter().any(
                |a| a.activity == "Change user password" && a.target_name == "new@contoso.test"
            ),
            "{audit:?}"
        );

        // Graph's POST /users with passwordProfile.forceChangePasswordNextSignIn does the same.
        let t = w.admin_token().await;
        w.post(
            "/v1.0/users",
            &t,
            json!({"accountEnabled": true, "displayName": "Gx", "mailNickname": "gx",
                   "userPrincipalName": "gx@contoso.test",
                   "passwordProfile": {"forceChangePasswordNextSignIn": true, "password": "Temp#Pass333"}}),
        )
        .await
        .expect(201);
        assert_eq!(
            aadsts(&sign_in(r, "gx@contoso.test", "Temp#Pass333", None).await),
            50055
        );
    }
}

/// Issue 7 item 3: Graph's `changePassword` for the signed-in user.
#[tokio::test]
async fn graph_change_password_is_for_the_signed_in_user_only() {
    for w in World::all().await {
        let u = w.user("pat", Some("US")).await;
        let other = w.user("sam", Some("US")).await;
        let (s, b) = sign_in(&w.router, "pat@contoso.test", "Passw0rd!pat", None).await;
        assert_eq!(s, 200, "{b}");
        let t = b["access_token"].as_str().unwrap().to_string();
        let body = |cur: &str, new: &str| json!({"currentPassword": cur, "newPassword": new});
        w.post("/v1.0/me/changePassword", &t, body("wrong", "Next#Pass444"))
            .await
            .expect_error(
                403,
                "Authorization_RequestDenied",
                "Access to change password operation is denied.",
            );
        w.post("/v1.0/me/changePassword", &t, body("Passw0rd!pat", "short"))
            .await
            .expect_error(400, "Request_BadRequest", "The specified password does not comply with password complexity requirements. Please provide a different password.");
        w.post(
            "/v1.0/me/changePassword",
            &t,
            json!({"currentPassword": "x"}),
        )
        .await
        .expect(400);
        w.post(
            "/v1.0/me/changePassword",
            &t,
            body("Passw0rd!pat", "Next#Pass444"),
        )
        .await
        .expect(204);
        w.post(
            &format!("/v1.0/users/{}/changePassword", other.id),
            &t,
            body("Passw0rd!sam", "Other#Pass555"),
        )
        .await
        .expect_error(
            403,
            "Authorization_RequestDenied",
            "Access to change password operation is denied.",
        );
        w.post(
            &format!("/v1.0/users/{}/changePassword", u.id),
            &t,
            body("Next#Pass444", "Third#Pass666"),
        )
        .await
        .expect(204);
        assert_eq!(
            sign_in(&w.router, "pat@contoso.test", "Third#Pass666", None)
                .await
                .0,
            200
        );
        // Delegated only, and only with Directory.AccessAsUser.All.
        let app = w.app_token(&["User.ReadWrite.All"]).await;
        w.post("/v1.0/me/changePassword", &app, body("a", "b"))
            .await
            .expect(400);
        let narrow = w
            .token_with_scopes("pat@contoso.test", "User.ReadWrite.All")
            .await;
        w.post(
            "/v1.0/me/changePassword",
            &narrow,
            body("Third#Pass666", "Fourth#Pass77"),
        )
        .await
        .expect_error(
            403,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        );
    }
}
