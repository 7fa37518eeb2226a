//! Sign-in, the forced password change, and sign-out. The passwords and smart lockout are
//! the token endpoint's ([`skuld_app::App::authenticate_user`]); a user who must change the
//! password is taken to the change page before any session starts.

use crate::error::{WebError, WebResult};
use crate::session::{self, same_token, set_cookie, SESSION_COOKIE, SIGNIN_COOKIE};
use crate::WebState;
use askama::Template;
use axum::extract::{ConnectInfo, FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use skuld_app::SignIn;
use std::net::SocketAddr;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/signin", get(show).post(sign_in))
        .route("/signin/password", post(change))
        .route("/signout", post(sign_out))
}

/// The peer address of the connection ('' when unknown), for smart lockout.
pub struct Peer(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Peer(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip().to_string())
                .unwrap_or_default(),
        ))
    }
}

#[derive(Template)]
#[template(path = "signin.html")]
struct SignInPage<'a> {
    csrf: &'a str,
    next: &'a str,
    username: &'a str,
    error: Option<&'a str>,
    notice: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "change_password.html")]
struct ChangePage<'a> {
    csrf: &'a str,
    next: &'a str,
    username: &'a str,
    error: Option<&'a str>,
}

/// Only a path of this site is a place to go back to after sign-in.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.starts_with("/\\") => {
            n.to_string()
        }
        _ => "/".into(),
    }
}

/// The sign-in form's token: the one its cookie holds, or a new one with the cookie to set.
fn pre_token(headers: &HeaderMap) -> (String, bool) {
    match session::cookie(headers, SIGNIN_COOKIE) {
        Some(t) if t.len() == 64 => (t, false),
        _ => (skuld_app::random_token(), true),
    }
}

fn page(
    state: &WebState,
    headers: &HeaderMap,
    body: impl FnOnce(&str) -> Result<String, askama::Error>,
) -> WebResult {
    let (token, fresh) = pre_token(headers);
    let mut r = Html(body(&token)?).into_response();
    if fresh {
        r.headers_mut().append(
            header::SET_COOKIE,
            set_cookie(SIGNIN_COOKIE, &token, Some(3600), state.https),
        );
    }
    Ok(r)
}

#[derive(Deserialize)]
struct ShowQuery {
    next: Option<String>,
    #[serde(default)]
    signed_out: bool,
}

async fn show(
    State(state): State<WebState>,
    headers: HeaderMap,
    Query(q): Query<ShowQuery>,
) -> WebResult {
    let next = safe_next(q.next.as_deref());
    if session::current(&state, &headers).await?.is_some() {
        return Ok(Redirect::to(&next).into_response());
    }
    let notice = q.signed_out.then_some("You signed out of your account.");
    page(&state, &headers, |csrf| {
        SignInPage {
            csrf,
            next: &next,
            username: "",
            error: None,
            notice,
        }
        .render()
    })
}

#[derive(Deserialize)]
struct SignInForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    next: Option<String>,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

/// The form's own token must match its cookie (no cross-site sign-in).
fn check_pre(headers: &HeaderMap, sent: &str) -> Result<(), WebError> {
    match session::cookie(headers, SIGNIN_COOKIE) {
        Some(c) if same_token(&c, sent) => Ok(()),
        _ => Err(WebError::Csrf),
    }
}

const WRONG: &str = "Your account or password is incorrect. If you don't remember your password, ask an administrator to reset it.";
const LOCKED: &str = "Your account is locked. You've tried to sign in too many times with an incorrect user ID or password. Wait a minute and try again.";

/// The tenant a user name belongs to: the one with its domain.
async fn tenant_of(state: &WebState, upn: &str) -> WebResult<Option<skuld_domain::Tenant>> {
    let Some((_, domain)) = upn.trim().rsplit_once('@') else {
        return Ok(None);
    };
    Ok(state.app.find_tenant(&domain.to_lowercase()).await?)
}

/// Starts the session and sends the browser on.
async fn signed_in(
    state: &WebState,
    tenant: &skuld_domain::Tenant,
    user: skuld_domain::UserId,
    next: &str,
) -> WebResult {
    let s = state
        .app
        .start_session(tenant, user, state.clock.now())
        .await?;
    let mut r = Redirect::to(next).into_response();
    let h = r.headers_mut();
    h.append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, &s.token, None, state.https),
    );
    h.append(
        header::SET_COOKIE,
        set_cookie(SIGNIN_COOKIE, "", Some(0), state.https),
    );
    Ok(r)
}

async fn sign_in(
    State(state): State<WebState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    axum::Form(f): axum::Form<SignInForm>,
) -> WebResult {
    check_pre(&headers, &f.csrf)?;
    let next = safe_next(f.next.as_deref());
    let again = |error: &str| {
        let (status, error) = (axum::http::StatusCode::OK, error.to_string());
        page(&state, &headers, |csrf| {
            SignInPage {
                csrf,
                next: &next,
                username: &f.username,
                error: Some(&error),
                notice: None,
            }
            .render()
        })
        .map(|r| (status, r).into_response())
    };
    let Some(tenant) = tenant_of(&state, &f.username).await? else {
        return again(WRONG);
    };
    match state
        .app
        .authenticate_user(&tenant, &f.username, &f.password, &peer, state.clock.now())
        .await?
    {
        SignIn::Ok(u, _) => signed_in(&state, &tenant, u.id, &next).await,
        SignIn::Invalid => again(WRONG),
        SignIn::Locked => again(LOCKED),
        SignIn::MustChange => page(&state, &headers, |csrf| {
            ChangePage {
                csrf,
                next: &next,
                username: &f.username,
                error: None,
            }
            .render()
        }),
    }
}

#[derive(Deserialize)]
struct ChangeForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    next: Option<String>,
    #[serde(default)]
    username: String,
    #[serde(default)]
    current: String,
    #[serde(default)]
    new: String,
    #[serde(default)]
    confirm: String,
}

async fn change(
    State(state): State<WebState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    axum::Form(f): axum::Form<ChangeForm>,
) -> WebResult {
    check_pre(&headers, &f.csrf)?;
    let next = safe_next(f.next.as_deref());
    let again = |error: String| {
        page(&state, &headers, |csrf| {
            ChangePage {
                csrf,
                next: &next,
                username: &f.username,
                error: Some(&error),
            }
            .render()
        })
    };
    if f.new != f.confirm {
        return again("The new password and the confirmation don't match. Type the same password in both boxes.".into());
    }
    let Some(tenant) = tenant_of(&state, &f.username).await? else {
        return again(WRONG.into());
    };
    match state
        .app
        .change_password(&tenant, &f.username, &f.current, &f.new, &peer, state.clock.now())
        .await
    {
        Ok(SignIn::Ok(u, _)) => {
            state.app.end_sessions_of(&tenant, u.id).await?;
            signed_in(&state, &tenant, u.id, &next).await
        }
        Ok(SignIn::Locked) => again(LOCKED.into()),
        Ok(_) => again(WRONG.into()),
        Err(skuld_app::AppError::BadRequest(_)) => again("That password doesn't meet the password rules: use 8 to 256 characters with three of these four: lowercase letters, uppercase letters, numbers and symbols, and not your current password.".into()),
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
struct SignOutForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
}

async fn sign_out(
    State(state): State<WebState>,
    headers: HeaderMap,
    axum::Form(f): axum::Form<SignOutForm>,
) -> Response {
    let mut r = Redirect::to("/signin?signed_out=true").into_response();
    if let Some(token) = session::cookie(&headers, SESSION_COOKIE) {
        match state.app.session(&token, state.clock.now()).await {
            Ok(Some(s)) if same_token(&s.csrf, &f.csrf) => {
                if let Err(e) = state.app.end_session(&token).await {
                    return WebError::from(e).into_response();
                }
            }
            Ok(Some(_)) => return WebError::Csrf.into_response(),
            Ok(None) => {}
            Err(e) => return WebError::from(e).into_response(),
        }
    }
    r.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, "", Some(0), state.https),
    );
    r
}
