//! Who is signed in: the session cookie, the [`Signed`] extractor every page takes, and the
//! CSRF-checked [`Form`] every form posts through.

use crate::error::WebError;
use crate::WebState;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use skuld_app::{Action, Actor};
use skuld_domain::{DirectoryRole, Tenant, User};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "skuld_session";
/// The sign-in form's own CSRF cookie (before there is a session).
pub const SIGNIN_COOKIE: &str = "skuld_signin";
/// The form field that carries the CSRF token.
pub const CSRF_FIELD: &str = "_csrf";
/// The header htmx sends the CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The signed-in user of a request.
#[derive(Debug, Clone)]
pub struct Signed {
    pub tenant: Tenant,
    pub user: User,
    pub actor: Actor,
    pub csrf: String,
}

impl Signed {
    pub fn may(&self, a: Action) -> bool {
        self.actor.may(a)
    }
    pub fn roles(&self) -> &[DirectoryRole] {
        match &self.actor {
            Actor::User { roles, .. } => roles,
            _ => &[],
        }
    }
    /// Refuses a user without an admin role ("User (no admin center access)"): signed in, but
    /// shown no page.
    pub fn admin(self) -> Result<Self, WebError> {
        if self.roles().is_empty() {
            return Err(WebError::Forbidden(format!(
                "{} has no admin role, so the admin center has nothing to show. Ask a Global Administrator for a role, or sign out.",
                self.user.upn
            )));
        }
        Ok(self)
    }

    /// Refuses unless the user may do `a`.
    pub fn require(&self, a: Action) -> Result<(), WebError> {
        if self.may(a) {
            Ok(())
        } else {
            Err(WebError::Forbidden(
                "Your admin role doesn't allow this. Ask a Global Administrator for a role that does."
                    .into(),
            ))
        }
    }
}

/// The value of one cookie of a request.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// A `Set-Cookie` value: `HttpOnly`, `SameSite=Lax`, `Path=/`, `Secure` on HTTPS.
pub fn set_cookie(name: &str, value: &str, max_age_s: Option<i64>, https: bool) -> HeaderValue {
    let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
    if let Some(a) = max_age_s {
        c.push_str(&format!("; Max-Age={a}"));
    }
    if https {
        c.push_str("; Secure");
    }
    HeaderValue::from_str(&c).expect("cookie value is ASCII")
}

/// The session of a request, if one is live.
pub async fn current(state: &WebState, headers: &HeaderMap) -> Result<Option<Signed>, WebError> {
    let Some(token) = cookie(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let Some(s) = state.app.session(&token, state.clock.now()).await? else {
        return Ok(None);
    };
    Ok(Some(Signed {
        tenant: s.tenant,
        user: s.user,
        actor: s.actor,
        csrf: s.csrf,
    }))
}

/// Sends the browser to sign in and come back to `next` (htmx requests get `HX-Redirect`).
pub fn to_sign_in(parts: &Parts) -> Response {
    let next = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    let target = format!(
        "/signin?next={}",
        percent_encoding::utf8_percent_encode(&next, percent_encoding::NON_ALPHANUMERIC)
    );
    if parts.headers.contains_key("hx-request") {
        let mut r = axum::http::StatusCode::NO_CONTENT.into_response();
        r.headers_mut().insert(
            "hx-redirect",
            HeaderValue::from_str(&target).expect("ascii"),
        );
        return r;
    }
    Redirect::to(&target).into_response()
}

impl FromRequestParts<WebState> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &WebState) -> Result<Self, Response> {
        match current(state, &parts.headers).await {
            Ok(Some(s)) => s.admin().map_err(IntoResponse::into_response),
            Ok(None) => Err(to_sign_in(parts)),
            Err(e) => Err(e.into_response()),
        }
    }
}

#[derive(Deserialize)]
struct CsrfOnly {
    #[serde(rename = "_csrf", default)]
    csrf: Option<String>,
}

/// Whether two tokens are equal, in time that does not depend on where they differ.
pub fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A posted form of a signed-in user, its CSRF token checked (field `_csrf` or header
/// `X-CSRF-Token`). Repeated fields (`user=a&user=b`) deserialize into `Vec`s.
#[derive(Debug)]
pub struct Form<T> {
    pub signed: Signed,
    pub data: T,
}

impl<T: DeserializeOwned> FromRequest<WebState> for Form<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &WebState) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let signed = Signed::from_request_parts(&mut parts, state).await?;
        let bytes = Bytes::from_request(Request::from_parts(parts.clone(), body), state)
            .await
            .map_err(IntoResponse::into_response)?;
        let sent = parts
            .headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .or_else(|| {
                serde_html_form::from_bytes::<CsrfOnly>(&bytes)
                    .ok()
                    .and_then(|c| c.csrf)
            });
        if !sent.is_some_and(|t| same_token(&t, &signed.csrf)) {
            return Err(WebError::Csrf.into_response());
        }
        let data = serde_html_form::from_bytes::<T>(&bytes).map_err(|e| {
            WebError::BadRequest(format!(
                "The form could not be read ({e}). Reload the page and try again."
            ))
            .into_response()
        })?;
        Ok(Form { signed, data })
    }
}

/// A query string with repeated fields (`pick=a&pick=b` into a `Vec`), which axum's own
/// `Query` does not read. A query that cannot be read is answered as a bad request page.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Response> {
        serde_html_form::from_str(parts.uri.query().unwrap_or_default())
            .map(Query)
            .map_err(|e| {
                WebError::BadRequest(format!(
                    "The address could not be read ({e}). Go back and try again."
                ))
                .into_response()
            })
    }
}
