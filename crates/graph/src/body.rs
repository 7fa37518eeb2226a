//! Request bodies and responses: JSON objects read strictly (unknown properties, wrong types
//! and malformed JSON are Graph 400s, oversize bodies 413), and responses with Graph's
//! content type.

use crate::error::{GraphError, GraphResult};
use crate::state::{GraphState, Scheme};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

/// The largest body accepted (Graph's own limit for directory writes is 4 MB).
pub const MAX_BODY: usize = 4 * 1024 * 1024;

/// Graph's response content type.
pub const CONTENT_TYPE: &str =
    "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";

/// A JSON object body.
pub struct JsonBody(pub Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = GraphError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let body = axum::body::to_bytes(req.into_body(), MAX_BODY)
            .await
            .map_err(|_| too_large())?;
        parse_object(&body).map(JsonBody)
    }
}

pub fn too_large() -> GraphError {
    GraphError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "Request_EntityTooLarge",
        format!("The request body exceeds the maximum size of {MAX_BODY} bytes."),
    )
}

/// Parses a JSON object; anything else is Graph's "unable to read JSON" error.
pub fn parse_object(body: &[u8]) -> GraphResult<Map<String, Value>> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(GraphError::bad_json()),
    }
}

/// Reads the properties of a body for a resource type (`User`, `Group`…), refusing unknown
/// ones. `@odata.type` and other instance annotations are accepted and ignored;
/// `prop@odata.bind` keys are allowed when `prop` is in `binds`.
pub struct Props<'a> {
    pub map: &'a Map<String, Value>,
    pub resource: &'static str,
}

impl<'a> Props<'a> {
    pub fn new(
        map: &'a Map<String, Value>,
        resource: &'static str,
        allowed: &[&str],
        binds: &[&str],
    ) -> GraphResult<Self> {
        for k in map.keys() {
            if k.starts_with("@odata.") {
                continue;
            }
            if let Some(p) = k.strip_suffix("@odata.bind") {
                if binds.contains(&p) {
                    continue;
                }
            }
            if !allowed.contains(&k.as_str()) {
                return Err(GraphError::bad_request(format!(
                    "Property '{k}' does not exist as a declared property or extension property."
                )));
            }
        }
        Ok(Props { map, resource })
    }

    pub fn has(&self, k: &str) -> bool {
        self.map.contains_key(k)
    }

    pub fn invalid(&self, k: &str) -> GraphError {
        GraphError::bad_request(format!(
            "Invalid value specified for property '{k}' of resource '{}'.",
            self.resource
        ))
    }

    pub fn required(&self, k: &str) -> GraphError {
        GraphError::bad_request(format!(
            "A value is required for property '{k}' of resource '{}'.",
            self.resource
        ))
    }

    /// `None`: absent; `Some(None)`: null; `Some(Some(s))`: a string.
    pub fn string(&self, k: &str) -> GraphResult<Option<Option<String>>> {
        match self.map.get(k) {
            None => Ok(None),
            Some(Value::Null) => Ok(Some(None)),
            Some(Value::String(s)) => Ok(Some(Some(s.clone()))),
            Some(_) => Err(self.invalid(k)),
        }
    }

    /// A string that must be present and not empty.
    pub fn required_string(&self, k: &str) -> GraphResult<String> {
        match self.string(k)? {
            Some(Some(s)) if !s.trim().is_empty() => Ok(s),
            _ => Err(self.required(k)),
        }
    }

    pub fn bool(&self, k: &str) -> GraphResult<Option<bool>> {
        match self.map.get(k) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(self.invalid(k)),
        }
    }

    pub fn string_array(&self, k: &str) -> GraphResult<Option<Vec<String>>> {
        match self.map.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| self.invalid(k))
                })
                .collect::<GraphResult<Vec<_>>>()
                .map(Some),
            Some(_) => Err(self.invalid(k)),
        }
    }

    pub fn binds(&self, prop: &str) -> GraphResult<Vec<String>> {
        let k = format!("{prop}@odata.bind");
        match self.map.get(&k) {
            None => Ok(vec![]),
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| self.invalid(&k))
                })
                .collect(),
            Some(_) => Err(self.invalid(&k)),
        }
    }
}

/// The id at the end of an `@odata.id` / `@odata.bind` URL
/// (`https://graph.microsoft.com/v1.0/directoryObjects/{id}`, `…/users/{id}`, `…/groups/{id}`,
/// or a bare id).
pub fn id_of_reference(url: &str) -> GraphResult<uuid::Uuid> {
    let last = url
        .trim()
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or("");
    let last = last
        .strip_prefix("directoryObjects('")
        .or_else(|| last.strip_prefix("users('"))
        .or_else(|| last.strip_prefix("groups('"))
        .and_then(|s| s.strip_suffix("')"))
        .unwrap_or(last);
    uuid::Uuid::parse_str(last).map_err(|_| {
        GraphError::bad_request(format!("Invalid object identifier '{}'.", url.trim()))
    })
}

/// A Graph JSON response.
pub fn json(status: StatusCode, v: Value) -> Response {
    let mut r = (status, axum::Json(v)).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    r
}

pub fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// An entity with its `@odata.context` first.
pub fn entity(context: String, m: Map<String, Value>) -> Value {
    let mut out = Map::new();
    out.insert("@odata.context".into(), Value::String(context));
    out.extend(m);
    Value::Object(out)
}

/// A collection page.
pub fn collection(
    context: String,
    count: Option<i64>,
    values: Vec<Value>,
    next: Option<String>,
) -> Value {
    let mut out = Map::new();
    out.insert("@odata.context".into(), Value::String(context));
    if let Some(c) = count {
        out.insert("@odata.count".into(), Value::from(c));
    }
    if let Some(n) = next {
        out.insert("@odata.nextLink".into(), Value::String(n));
    }
    out.insert("value".into(), Value::Array(values));
    Value::Object(out)
}

/// The versioned base URL of the request (`https://host:port/v1.0`), and request facts the
/// handlers need.
pub struct Base {
    /// `{scheme}://{host}` or `--public-url`.
    pub root: String,
    /// `{root}/v1.0`
    pub graph: String,
    /// `ConsistencyLevel: eventual` was sent.
    pub eventual: bool,
}

impl FromRequestParts<GraphState> for Base {
    type Rejection = GraphError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &GraphState,
    ) -> Result<Self, Self::Rejection> {
        let scheme = parts.extensions.get::<Scheme>().copied();
        let authority = parts.uri.authority().map(|a| a.as_str().to_string());
        let root = state.base_url_with(&parts.headers, authority.as_deref(), scheme);
        let eventual = parts
            .headers
            .get("consistencylevel")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("eventual"));
        Ok(Base {
            graph: format!("{root}/v1.0"),
            root,
            eventual,
        })
    }
}
