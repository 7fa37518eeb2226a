//! Errors of the admin center, answered as a page in the admin's words.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use skuld_app::AppError;

/// Why a page could not be shown or a form not be done.
#[derive(Debug)]
pub enum WebError {
    /// The signed-in user's roles do not allow it.
    Forbidden(String),
    NotFound(String),
    BadRequest(String),
    /// The form's CSRF token is missing or wrong.
    Csrf,
    App(AppError),
}

impl From<AppError> for WebError {
    fn from(e: AppError) -> Self {
        WebError::App(e)
    }
}

impl From<askama::Error> for WebError {
    fn from(e: askama::Error) -> Self {
        WebError::App(AppError::Corrupt(format!("template: {e}")))
    }
}

/// The text the admin reads for an application error: the refusal in the admin's words, and
/// for a missing right, which role would allow it.
pub fn admin_message(e: &AppError) -> String {
    match e {
        AppError::Forbidden(_) => {
            "Your admin role doesn't allow this. Ask a Global Administrator for a role that does.".into()
        }
        AppError::Store(_) | AppError::Corrupt(_) => {
            "Something went wrong on the server; nothing was changed. Try again, and if it keeps happening look at the server log.".into()
        }
        other => other.to_string(),
    }
}

/// A refusal the admin can fix (not enough seats, a conflict, an unknown name, …) as the text
/// to show on the form's page; a missing right or a server fault stays an error (the 403 or 500
/// page).
pub fn fixable(e: AppError) -> WebResult<String> {
    match e {
        e @ (AppError::Forbidden(_) | AppError::Store(_) | AppError::Corrupt(_)) => {
            Err(WebError::App(e))
        }
        e => Ok(capital(&admin_message(&e))),
    }
}

/// A sentence starts with a capital letter (the app's texts begin with a product's or a
/// user's name, or in lower case as Graph's messages do).
pub fn capital(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    message: &'a str,
}

impl WebError {
    pub fn status(&self) -> StatusCode {
        match self {
            WebError::Forbidden(_) | WebError::Csrf => StatusCode::FORBIDDEN,
            WebError::NotFound(_) => StatusCode::NOT_FOUND,
            WebError::BadRequest(_) => StatusCode::BAD_REQUEST,
            WebError::App(e) => match e {
                AppError::NotFound(_) => StatusCode::NOT_FOUND,
                AppError::Forbidden(_) => StatusCode::FORBIDDEN,
                AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
                AppError::Refused(r) => match r.kind() {
                    skuld_app::RefusalKind::NotFound => StatusCode::NOT_FOUND,
                    skuld_app::RefusalKind::BadRequest => StatusCode::BAD_REQUEST,
                },
                AppError::Corrupt(_) | AppError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
            },
        }
    }

    pub fn message(&self) -> String {
        match self {
            WebError::Forbidden(m) | WebError::NotFound(m) | WebError::BadRequest(m) => m.clone(),
            WebError::Csrf => "This form has expired or did not come from this admin center, so nothing was changed. Reload the page and try again.".into(),
            WebError::App(e) => admin_message(e),
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        if let WebError::App(e @ (AppError::Store(_) | AppError::Corrupt(_))) = &self {
            tracing::error!(error = %e, "admin center request failed");
        }
        let status = self.status();
        let title = match status {
            StatusCode::FORBIDDEN => "Access denied",
            StatusCode::NOT_FOUND => "Not found",
            StatusCode::BAD_REQUEST => "That didn't work",
            _ => "Something went wrong",
        };
        let message = self.message();
        let body = ErrorPage {
            title,
            message: &message,
        }
        .render()
        .unwrap_or_else(|_| message.clone());
        (status, Html(body)).into_response()
    }
}

pub type WebResult<T = Response> = std::result::Result<T, WebError>;
