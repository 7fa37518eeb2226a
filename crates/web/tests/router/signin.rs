//! Router tests of sign-in, the forced password change, sign-out, sessions, CSRF and the
//! security headers (issue 8 "Sign-in and safety").

use crate::harness::{form, World, PASSWORD};
use axum::http::{header, StatusCode};
use skuld_app::Actor;

#[tokio::test]
async fn a_browser_without_a_session_is_sent_to_sign_in_and_back() {
    let w = World::demo().await;
    let mut b = w.browser();
    let r = b.get("/").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), Some("/signin"));
    let r = b.get("/home?x=1").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), Some("/signin?next=%2Fhome%3Fx%3D1"));
    // htmx gets a redirect it follows itself.
    let r = b.htmx("/home").await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(r.headers.get("hx-redirect").is_some());
}

#[tokio::test]
async fn sign_in_starts_a_session_with_a_safe_cookie_and_goes_to_next() {
    let w = World::demo().await;
    let mut b = w.browser();
    b.get("/signin?next=%2Fhome").await.ok().has("Sign in");
    let r = b
        .post(
            "/signin",
            &[
                ("username", &w.admin_upn),
                ("password", &w.admin_password),
                ("next", "/home"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), Some("/home"));
    let cookie = r
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("skuld_session="))
        .expect("session cookie");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain HTTP: {cookie}");
    b.get("/").await.ok().has("Home").has("Sign out");
}

#[tokio::test]
async fn next_never_leaves_the_site() {
    let w = World::demo().await;
    for evil in ["https://evil.test/", "//evil.test/", "/\\evil.test"] {
        let mut b = w.browser();
        b.get("/signin").await.ok();
        let r = b
            .post(
                "/signin",
                &[
                    ("username", &w.admin_upn),
                    ("password", &w.admin_password),
                    ("next", evil),
                ],
            )
            .await;
        assert_eq!(r.location(), Some("/"), "{evil}");
    }
}

#[tokio::test]
async fn a_wrong_password_is_told_plainly_and_smart_lockout_applies() {
    let w = World::demo().await;
    let mut b = w.browser();
    b.get("/signin").await.ok();
    let r = b
        .post(
            "/signin",
            &[("username", &w.admin_upn), ("password", "nope")],
        )
        .await;
    r.ok().has("Your account or password is incorrect");
    for _ in 0..12 {
        b.post(
            "/signin",
            &[("username", &w.admin_upn), ("password", "nope")],
        )
        .await;
    }
    let r = b
        .post(
            "/signin",
            &[("username", &w.admin_upn), ("password", &w.admin_password)],
        )
        .await;
    r.ok().has("Your account is locked");
    // After the lockout has passed, the right password works again.
    w.state.clock.set(w.state.clock.now().0 + 10 * 60_000);
    let r = b
        .post(
            "/signin",
            &[("username", &w.admin_upn), ("password", &w.admin_password)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
}

#[tokio::test]
async fn the_sign_in_form_refuses_a_post_without_its_own_token() {
    let w = World::demo().await;
    let mut b = w.browser();
    b.get("/signin").await.ok();
    let r = b
        .post_raw(
            "/signin",
            form(&[
                ("_csrf", "0000"),
                ("username", &w.admin_upn),
                ("password", &w.admin_password),
            ]),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    r.has("Reload the page and try again");
    assert!(!b.cookies.contains_key("skuld_session"));
}

#[tokio::test]
async fn a_user_who_must_change_the_password_changes_it_before_any_session() {
    let w = World::demo().await;
    let upn = w.make_user("newcomer").await;
    w.app
        .reset_password(&w.tenant, &upn, PASSWORD, true, &Actor::Operator)
        .await
        .expect("reset");
    let mut b = w.browser();
    let r = b.sign_in(&upn, PASSWORD).await;
    r.ok().has("Update your password");
    assert!(!b.cookies.contains_key("skuld_session"));
    let r = b
        .post(
            "/signin/password",
            &[
                ("username", &upn),
                ("current", PASSWORD),
                ("new", "Brand-New-2026!"),
                ("confirm", "Brand-New-2026?"),
            ],
        )
        .await;
    r.ok().has("don't match");
    let r = b
        .post(
            "/signin/password",
            &[
                ("username", &upn),
                ("current", PASSWORD),
                ("new", "short"),
                ("confirm", "short"),
            ],
        )
        .await;
    r.ok().has("password rules");
    let r = b
        .post(
            "/signin/password",
            &[
                ("username", &upn),
                ("current", PASSWORD),
                ("new", "Brand-New-2026!"),
                ("confirm", "Brand-New-2026!"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(b.cookies.contains_key("skuld_session"));
    // An ordinary user has no admin role: signed in, but shown nothing.
    let r = b.get("/").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    r.has("has no admin role");
    // The new password is the one that works now.
    let mut again = w.browser();
    let r = again.sign_in(&upn, PASSWORD).await;
    r.ok().has("incorrect");
}

#[tokio::test]
async fn sign_out_ends_the_session_and_needs_its_token() {
    let w = World::demo().await;
    let mut b = w.admin().await;
    let token = b.cookies.get("skuld_session").cloned().expect("session");
    let r = b.post_raw("/signout", form(&[("_csrf", "forged")])).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    b.get("/").await.ok();
    let r = b.post("/signout", &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), Some("/signin?signed_out=true"));
    b.get("/signin?signed_out=true")
        .await
        .ok()
        .has("You signed out");
    // The old cookie no longer opens anything.
    b.cookies.insert("skuld_session".into(), token);
    assert_eq!(b.get("/").await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn sessions_end_when_idle_and_survive_a_restart() {
    let w = World::demo().await;
    let mut b = w.admin().await;
    // A second router on the same database (a restarted server) knows the session.
    let mut state = skuld_web::WebState::new(w.app.clone());
    state.clock = w.state.clock.clone();
    let again = skuld_web::router(state, axum::Router::new());
    let cookie = b.cookies.get("skuld_session").cloned().unwrap();
    let req = axum::http::Request::get("/")
        .header(header::ACCEPT, "text/html")
        .header(header::COOKIE, format!("skuld_session={cookie}"))
        .body(axum::body::Body::empty())
        .unwrap();
    use tower::ServiceExt;
    let r = again.oneshot(req).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // Idle for longer than the timeout: signed out.
    w.state
        .clock
        .set(w.state.clock.now().0 + skuld_app::SESSION_IDLE_MS + 1);
    let r = b.get("/").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn every_form_post_without_the_session_token_is_refused() {
    let w = World::demo().await;
    let mut b = w.admin().await;
    let r = b.post_raw("/signout", form(&[("_csrf", "")])).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    r.has("did not come from this admin center");
}

#[tokio::test]
async fn every_answer_has_the_security_headers() {
    let w = World::demo().await;
    let mut b = w.admin().await;
    for path in ["/", "/signin", "/assets/skuld.css", "/nowhere-at-all"] {
        let r = b.get(path).await;
        if path == "/nowhere-at-all" {
            // Not the admin center's: the Graph router answers.
            assert_eq!(r.status, StatusCode::IM_A_TEAPOT);
            continue;
        }
        let csp = r.headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(csp.contains("script-src 'self'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert_eq!(r.headers[header::X_FRAME_OPTIONS], "DENY", "{path}");
        assert_eq!(r.headers[header::REFERRER_POLICY], "same-origin", "{path}");
    }
}

#[tokio::test]
async fn pages_hold_no_inline_script_or_style() {
    let w = World::demo().await;
    let mut b = w.admin().await;
    for path in ["/", "/signin"] {
        let r = b.get(path).await;
        assert!(!r.body.contains("<script>"), "{path}");
        assert!(!r.body.contains(" style=\""), "{path}");
        assert!(!r.body.contains(" onclick="), "{path}");
    }
}

#[tokio::test]
async fn graph_clients_still_get_json_at_the_root() {
    let w = World::demo().await;
    let req = axum::http::Request::get("/")
        .header(header::ACCEPT, "application/json")
        .body(axum::body::Body::empty())
        .unwrap();
    use tower::ServiceExt;
    let r = w.router.clone().oneshot(req).await.unwrap();
    assert_eq!(r.status(), StatusCode::IM_A_TEAPOT);
}
