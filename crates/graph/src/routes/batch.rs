//! JSON batching, `POST /$batch` (graph-api.md §9.5): up to 20 requests, run through the same
//! router one by one in an order that honours `dependsOn` (or Python's `depends_on`); a request
//! whose dependency failed answers 424. URLs may be relative (`/users`, `users`) or absolute.

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
    let mut statuses: Vec<(String, u16)> = Vec::new();
    let mut responses: Vec<Value> = Vec::new();
    for i in order {
        let it = &items[i];
        if let Some(d) = it.depends_on.iter().find(|d| {
            statuses
                .iter()
                .any(|(id, s)| id == *d && !(200..300).contains(s))
        }) {
            statuses.push((it.id.clone(), 424));
            responses.push(j!({
                "id": it.id,
                "status": 424,
                "headers": {"Content-Type": "application/json"},
                "body": {"error": {"code": "FailedDependency", "message": format!("The request depends on request '{d}', which failed.")}},
            }));
            continue;
        }
        let mut b = Request::builder()
            .method(it.method.clone())
            .uri(format!("/v1.0{}", it.url));
        let headers = b.headers_mut().expect("fresh builder");
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
                if k != axum::http::header::AUTHORIZATION {
                    headers.insert(k, v);
                }
            }
        }
        let body = match &it.body {
            Some(v) => {
                headers
                    .entry(axum::http::header::CONTENT_TYPE)
                    .or_insert(HeaderValue::from_static("application/json"));
                Body::from(serde_json::to_vec(v).unwrap_or_default())
            }
            None => Body::empty(),
        };
        let mut inner = match b.body(body) {
            Ok(r) => r,
            Err(_) => {
                statuses.push((it.id.clone(), 400));
                responses.push(j!({"id": it.id, "status": 400, "headers": {}, "body": GraphError::bad_request("The request URL is not valid.").body("", "")}));
                continue;
            }
        };
        if let Some(s) = scheme {
            inner.extensions_mut().insert(s);
        }
        let resp = router
            .clone()
            .oneshot(inner)
            .await
            .unwrap_or_else(|e| match e {});
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
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap_or_default();
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
