//! Graph's error envelope (graph-api.md §8): `{"error": {"code", "message", "innerError":
//! {"date", "request-id", "client-request-id"}}}`. Every failure of the Graph surface, down to a
//! malformed body or an unknown route, answers in this shape with a 4xx/5xx status.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use skuld_app::AppError;

/// A Graph error: status, code and message. The `innerError` ids are filled in by the
/// request-id layer when the response is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Seconds a throttled caller should wait (429 only).
    pub retry_after: Option<u64>,
    /// Which limit a 429 hit (`ResourceUnitLimitExceeded`, `WriteLimitExceeded`, …).
    pub throttle_information: Option<&'static str>,
}

impl GraphError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
            throttle_information: None,
        }
    }
    /// 400 `Request_BadRequest`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "Request_BadRequest", message)
    }
    /// 400 `Request_UnsupportedQuery`.
    pub fn unsupported_query(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "Request_UnsupportedQuery", message)
    }
    /// 404 `Request_ResourceNotFound` with Graph's text for a missing key.
    pub fn not_found(key: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "Request_ResourceNotFound",
            format!("Resource '{key}' does not exist or one of its queried reference-property objects are not present."),
        )
    }
    /// 403 `Authorization_RequestDenied`.
    pub fn forbidden() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        )
    }
    /// 401 `InvalidAuthenticationToken`.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            message,
        )
    }
    /// 400 for a body that is not JSON (graph-api.md §1.3).
    pub fn bad_json() -> Self {
        Self::bad_request("Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.")
    }
    /// 400 for an unparsable GUID (graph-api.md §2.1 row 2).
    pub fn bad_guid(value: &str) -> Self {
        Self::bad_request(format!(
            "Cannot convert the literal '{value}' to the expected type 'Edm.Guid'."
        ))
    }
    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "Request_BadRequest",
            "Specified HTTP method is not allowed for the request target.",
        )
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Service_InternalServerError",
            message,
        )
    }
    /// 429 with `Retry-After` and the limit that was hit (graph-api.md §11).
    pub fn throttled_by(seconds: u64, information: &'static str) -> Self {
        let mut e = Self::throttled(seconds);
        e.throttle_information = Some(information);
        e
    }

    /// 429 with `Retry-After` (graph-api.md §11).
    pub fn throttled(seconds: u64) -> Self {
        let mut e = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "Request_ThrottledTemporarily",
            format!("Your request is throttled temporarily. Please try after {seconds} seconds."),
        );
        e.retry_after = Some(seconds);
        e
    }

    /// The JSON body; `request_id` and `client_request_id` go into `innerError`.
    pub fn body(&self, request_id: &str, client_request_id: &str) -> serde_json::Value {
        let date = time::OffsetDateTime::now_utc();
        let date = format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            date.year(),
            date.month() as u8,
            date.day(),
            date.hour(),
            date.minute(),
            date.second()
        );
        serde_json::json!({"error": {
            "code": self.code,
            "message": self.message,
            "innerError": {
                "date": date,
                "request-id": request_id,
                "client-request-id": client_request_id,
            }
        }})
    }
}

/// Marker put into the response extensions, so the request-id layer can fill in `innerError`.
#[derive(Debug, Clone)]
pub struct ErrorMark(pub GraphError);

impl IntoResponse for GraphError {
    fn into_response(self) -> Response {
        // The request-id layer rewrites the body with the real ids; this body stands alone when
        // the error is produced outside it (router tests call handlers through it too).
        let body = self.body("", "");
        let mut r = (self.status, axum::Json(body)).into_response();
        if let Some(s) = self.retry_after {
            r.headers_mut().insert(
                "Retry-After",
                HeaderValue::from_str(&s.to_string()).expect("digits"),
            );
            if let Some(info) = self.throttle_information {
                r.headers_mut()
                    .insert("x-ms-throttle-information", HeaderValue::from_static(info));
            }
        }
        if self.status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert("WWW-Authenticate", HeaderValue::from_static(
                "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", client_id=\"00000003-0000-0000-c000-000000000000\""));
        }
        r.extensions_mut().insert(ErrorMark(self));
        r
    }
}

impl From<AppError> for GraphError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::NotFound(m) => {
                Self::new(StatusCode::NOT_FOUND, "Request_ResourceNotFound", m)
            }
            AppError::BadRequest(m) => Self::bad_request(m),
            AppError::Forbidden(_) => Self::forbidden(),
            // The refusal's Graph rendering: Microsoft's exact text (the CLI prints the admin's).
            AppError::Refused(r) => match r.kind() {
                skuld_app::RefusalKind::NotFound => Self::new(
                    StatusCode::NOT_FOUND,
                    "Request_ResourceNotFound",
                    r.graph_text(),
                ),
                skuld_app::RefusalKind::BadRequest => Self::bad_request(r.graph_text()),
            },
            other => {
                tracing::error!(error = %other, "internal error");
                Self::internal("An internal server error occurred.")
            }
        }
    }
}

pub type GraphResult<T> = Result<T, GraphError>;
