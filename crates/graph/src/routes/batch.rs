//! JSON batching, `POST /$batch` (graph-api.md §9.5): up to 20 requests, run through the same
//! router one by one in an order that honours `dependsOn` (or Python's `depends_on`); a request
//! whose dependency failed answers 424. URLs may be relative (`/users`, `users`) or absolute.
//!
//! No input may take the batch down: a URL, header or body that cannot form a request answers
//! that request alone with a 400; a batch inside a batch is refused (Graph does not nest
//! batches); the combined response is capped at [`MAX_RESPONSE`] bytes, and every request past
//! the cap answers 413 without being run. Every inner error envelope carries a fresh
//! `request-id` and the batch's `client-request-id` (or the inner request's own).

use crate::body::{json, parse_object, too_large, MAX_BODY};
use crate::error::{GraphError, GraphResult};
use crate::state::{GraphState, Scheme};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode};
use axum::response::Response;
use serde_json::{json as j, Map, Value};
use tower::ServiceExt;

const MAX_REQUESTS: usize = 20;

/// The largest combined size of the inner response bodies (a 20-request batch of 999-user
/// pages with every property selected fits).
pub const MAX_RESPONSE: usize = 32 * 1024 * 1024;

/// A lower cap than [`MAX_RESPONSE`] for one batch, put into the request's extensions by an
/// embedding server or a test.
#[derive(Debug, Clone, Copy)]
pub struct ResponseCap(pub usize);

struct Item {
    id: String,
    method: Method,
    url: String,
    headers: Vec<(String, String)>,
    body: Option<Value>,
    depends_on: Vec<String>,
}

/// `https://host/v1.0/users?x` → `/users?x`; `users` → `/users`.
pub fn normalize_url(url: &str) -> String {
    let mut u = url.trim();
    if let Some(i) = u.find("://") {
        let rest = &u[i + 3..];
        u = rest.find('/').map(|j| &rest[j..]).unwrap_or("/");
    }
    let u = u.trim_start_matches('/');
    let u = u
        .strip_prefix("v1.0/")
        .or_else(|| u.strip_prefix("beta/"))
        .unwrap_or(u);
    let u = if u == "v1.0" || u == "beta" { "" } else { u };
    format!("/{u}")
}

fn parse_items(body: &Map<String, Value>) -> GraphResult<Vec<Item>> {
    let bad = |m: &str| GraphError::bad_request(m.to_string());
    let Some(Value::Array(reqs)) = body.get("requests") else {
        return Err(bad(
            "Invalid batch payload format: the 'requests' array is required.",
        ));
    };
    if reqs.is_empty() {
        return Err(bad(
            "Invalid batch payload format: the 'requests' array is empty.",
        ));
    }
    if reqs.len() > MAX_REQUESTS {
        return Err(GraphError::bad_request(format!(
            "The batch request contains {} requests, which exceeds the maximum of {MAX_REQUESTS} requests per batch.",
            reqs.len()
        )));
    }
    let mut items: Vec<Item> = Vec::new();
    for r in reqs {
        let Value::Object(r) = r else {
            return Err(bad(
                "Invalid batch payload format: each request must be an object.",
            ));
        };
        let id = match r.get("id") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => {
                return Err(bad(
                    "Invalid batch payload format: every request needs an 'id'.",
                ))
            }
        };
        if items.iter().any(|i| i.id == id) {
            return Err(GraphError::bad_request(format!(
                "Invalid batch payload format: the request id '{id}' is used more than once."
            )));
        }
        let method = r
            .get("method")
            .and_then(Value::as_str)
            .and_then(|m| Method::from_bytes(m.to_ascii_uppercase().as_bytes()).ok())
            .filter(|m| {
                [
                    Method::GET,
                    Method::POST,
                    Method::PATCH,
                    Method::PUT,
                    Method::DELETE,
                ]
                .contains(m)
            })
            .ok_or_else(|| {
                GraphError::bad_request(format!(
                    "Invalid batch payload format: request '{id}' has no valid 'method'."
                ))
            })?;
        let url = r
            .get("url")
            .and_then(Value::as_str)
            .filter(|u| !u.trim().is_empty())
            .ok_or_else(|| {
                GraphError::bad_request(format!(
                    "Invalid batch payload format: request '{id}' has no 'url'."
                ))
            })?;
        let headers = match r.get("headers") {
            None | Some(Value::Null) => vec![],
            Some(Value::Object(h)) => h
                .iter()
                .map(|(k, v)| {
                    let v = match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    (k.clone(), v)
                })
                .collect(),
            Some(_) => {
                return Err(GraphError::bad_request(format!(
                    "Invalid batch payload format: the headers of request '{id}' must be an object."
                )))
            }
        };
        let deps = r.get("dependsOn").or_else(|| r.get("depends_on"));
        let depends_on = match deps {
            None | Some(Value::Null) => vec![],
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s.clone()),
                    Value::Number(n) => Ok(n.to_string()),
                    _ => Err(bad(
                        "Invalid batch payload format: 'dependsOn' must list request ids.",
                    )),
                })
                .collect::<GraphResult<_>>()?,
            Some(_) => {
                return Err(bad(
                    "Invalid batch payload format: 'dependsOn' must be an array.",
                ))
            }
        };
        items.push(Item {
            id,
            method,
            url: normalize_url(url),
            headers,
            body: r.get("body").cloned().filter(|b| !b.is_null()),
            depends_on,
        });
    }
    for i in &items {
        for d in &i.depends_on {
            if !items.iter().any(|x| &x.id == d) || d == &i.id {
                return Err(GraphError::bad_request(format!(
                    "Invalid batch payload format: request '{}' depends on unknown request '{d}'.",
                    i.id
                )));
            }
        }
    }
    Ok(items)
}

/// Orders the requests so each runs after its dependencies (stable otherwise); a cycle is a
/// 400.
fn order(items: &[Item]) -> GraphResult<Vec<usize>> {
    let mut done: Vec<usize> = Vec::new();
    while done.len() < items.len() {
        let before = done.len();
        for (i, it) in items.iter().enumerate() {
            if done.contains(&i) {
                continue;
            }
            if it
                .depends_on
                .iter()
                .all(|d| done.iter().any(|k| &items[*k].id == d))
            {
                done.push(i);
            }
        }
        if done.len() == before {
            return Err(GraphError::bad_request(
                "Invalid batch payload format: the dependencies of the requests form a cycle.",
            ));
        }
    }
    Ok(done)
}

/// Needs a valid token itself; each request inside is authorized and throttled on its own.
pub async fn batch(
    State(st): State<GraphState>,
    _caller: crate::auth::Caller,
    req: Request,
) -> GraphResult<Response> {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_BODY)
        .await
        .map_err(|_| too_large())?;
    let body = parse_object(&bytes)?;
    let items = parse_items(&body)?;
    let order = order(&items)?;
    let Some(router) = st.batch_router.get().cloned() else {
        return Err(GraphError::internal("the batch router is not ready"));
    };
    let auth = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .cloned();
    let host = parts.headers.get(axum::http::header::HOST).cloned();
    let scheme = parts.extensions.get::<Scheme>().copied();
    let outer_client_id = parts
        .extensions
        .get::<crate::RequestIds>()
        .map(|i| i.client_request_id.clone())
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let mut statuses: Vec<(String, u16)> = Vec::new();
    let mut responses: Vec<Value> = Vec::new();
    let cap = parts
        .extensions
        .get::<ResponseCap>()
        .map_or(MAX_RESPONSE, |c| c.0.min(MAX_RESPONSE));
    let mut budget = cap;
    for i in order {
        let it = &items[i];
        let request_id = uuid::Uuid::new_v4().to_string();
        let client_id = it
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("client-request-id"))
            .map(|(_, v)| v.clone())
            .filter(|v| v.len() <= 100)
            .unwrap_or_else(|| outer_client_id.clone());
        let refuse = |e: GraphError| {
            j!({
                "id": it.id,
                "status": e.status.as_u16(),
                "headers": {"Content-Type": "application/json"},
                "body": e.body(&request_id, &client_id),
            })
        };
        if let Some(d) = it.depends_on.iter().find(|d| {
            statuses
                .iter()
                .any(|(id, s)| id == *d && !(200..300).contains(s))
        }) {
            statuses.push((it.id.clone(), 424));
            responses.push(refuse(GraphError::new(
                StatusCode::FAILED_DEPENDENCY,
                "FailedDependency",
                format!("The request depends on request '{d}', which failed."),
            )));
            continue;
        }
        if budget == 0 {
            statuses.push((it.id.clone(), 413));
            responses.push(refuse(GraphError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Request_EntityTooLarge",
                format!("The responses of this batch exceed the maximum of {cap} bytes; send this request in another batch."),
            )));
            continue;
        }
        let path = it.url.split(['?', '#']).next().unwrap_or("");
        let p = path.trim_end_matches('/');
        if p.eq_ignore_ascii_case("/$batch") || p.eq_ignore_ascii_case("/%24batch") {
            statuses.push((it.id.clone(), 400));
            responses.push(refuse(GraphError::bad_request(
                "Invalid batch payload format: a batch request cannot contain another batch request.",
            )));
            continue;
        }
        let Ok(uri) = format!("/v1.0{}", it.url).parse::<axum::http::Uri>() else {
            statuses.push((it.id.clone(), 400));
            responses.push(refuse(GraphError::bad_request(format!(
                "Invalid batch payload format: the url of request '{}' is not a valid URL.",
                it.id
            ))));
            continue;
        };
        if crate::has_control_escape(uri.path()) {
            statuses.push((it.id.clone(), 400));
            responses.push(refuse(GraphError::bad_request(
                "The request URI is not valid.",
            )));
            continue;
        }
        let mut inner = Request::new(Body::empty());
        *inner.method_mut() = it.method.clone();
        *inner.uri_mut() = uri;
        let headers = inner.headers_mut();
        if let Some(a) = &auth {
            headers.insert(axum::http::header::AUTHORIZATION, a.clone());
        }
        if let Some(h) = &host {
            headers.insert(axum::http::header::HOST, h.clone());
        }
        for (k, v) in &it.headers {
            if let (Ok(k), Ok(v)) = (
                HeaderName::from_bytes(k.as_bytes()),
                HeaderValue::from_str(v),
            ) {
                // The outer request's token, host and framing stand for every inner request.
                if k != axum::http::header::AUTHORIZATION
                    && k != axum::http::header::HOST
                    && k != axum::http::header::CONTENT_LENGTH
                    && k != axum::http::header::TRANSFER_ENCODING
                {
                    headers.insert(k, v);
                }
            }
        }
        if let Some(v) = &it.body {
            headers
                .entry(axum::http::header::CONTENT_TYPE)
                .or_insert(HeaderValue::from_static("application/json"));
            *inner.body_mut() = Body::from(serde_json::to_vec(v).unwrap_or_default());
        }
        if let Some(s) = scheme {
            inner.extensions_mut().insert(s);
        }
        let resp = router
            .clone()
            .oneshot(inner)
            .await
            .unwrap_or_else(|e| match e {});
        let resp = crate::envelope(resp, &request_id, &client_id).await;
        let status = resp.status().as_u16();
        let mut hs = Map::new();
        for (k, v) in resp.headers() {
            let name = k.as_str();
            if matches!(
                name,
                "content-type" | "location" | "retry-after" | "odata-version"
            ) {
                if let Ok(v) = v.to_str() {
                    let key = match name {
                        "content-type" => "Content-Type",
                        "location" => "Location",
                        "retry-after" => "Retry-After",
                        _ => "OData-Version",
                    };
                    hs.insert(key.into(), Value::String(v.to_string()));
                }
            }
        }
        let is_json = resp
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        // Never buffer more than the batch may still answer.
        let Ok(bytes) = axum::body::to_bytes(resp.into_body(), budget).await else {
            budget = 0;
            statuses.push((it.id.clone(), 413));
            responses.push(refuse(GraphError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Request_EntityTooLarge",
                format!("The responses of this batch exceed the maximum of {cap} bytes; send this request on its own."),
            )));
            continue;
        };
        budget -= bytes.len();
        let text = || Value::String(String::from_utf8_lossy(&bytes).into_owned());
        let body = if bytes.is_empty() {
            None
        } else if is_json {
            Some(serde_json::from_slice::<Value>(&bytes).unwrap_or_else(|_| text()))
        } else {
            Some(text())
        };
        statuses.push((it.id.clone(), status));
        let mut r = Map::new();
        r.insert("id".into(), Value::String(it.id.clone()));
        r.insert("status".into(), j!(status));
        r.insert("headers".into(), Value::Object(hs));
        if let Some(b) = body {
            r.insert("body".into(), b);
        }
        responses.push(Value::Object(r));
    }
    Ok(json(StatusCode::OK, j!({"responses": responses})))
}

#[cfg(test)]
mod tests {
    use super::normalize_url;

    #[test]
    fn batch_urls_of_every_client_normalize() {
        assert_eq!(normalize_url("/users"), "/users");
        assert_eq!(normalize_url("users?$select=id"), "/users?$select=id");
        assert_eq!(normalize_url("http://127.0.0.1:8080/v1.0/users"), "/users");
        assert_eq!(
            normalize_url("https://graph.microsoft.com/beta/me/memberOf"),
            "/me/memberOf"
        );
        assert_eq!(normalize_url("/v1.0/subscribedSkus"), "/subscribedSkus");
    }
}
