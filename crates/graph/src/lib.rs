//! skuld's Microsoft Graph v1.0 surface (graph-api.md): an axum router over the `app` use
//! cases. Only this crate knows Graph's JSON shapes, OData query options and the error envelope.
//!
//! A request flows: path normalisation (`/beta` → `/v1.0`, `users('…')` → `users/…`, type
//! casts) → routing → the [`auth::Caller`] extractor (token, tenant, actor, throttle) →
//! handler → `app` use case → [`wire`] JSON. Every error is a [`GraphError`] in Graph's
//! envelope, with `request-id` and `client-request-id` filled in by [`ids`].

pub mod auth;
pub mod body;
pub mod error;
pub mod metadata;
pub mod odata;
pub mod openapi;
pub mod routes;
pub mod serve;
pub mod state;
pub mod throttle;
pub mod wire;

pub use error::{GraphError, GraphResult};
pub use state::{GraphState, Scheme};

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::Response;
use axum::Router;
use error::ErrorMark;
use routes::{batch, directory, groups, org, users};

/// Declares the routes once: the router is built from this table and so is `/openapi.json`.
macro_rules! routes {
    ($($path:literal => { $($method:ident $handler:path : $summary:literal),+ $(,)? })*) => {
        /// Every route with its handlers, and the operations for the OpenAPI document.
        fn api_routes() -> (Router<GraphState>, Vec<openapi::Op>) {
            let mut r = Router::new();
            let mut ops = Vec::new();
            $(
                let mr = axum::routing::MethodRouter::<GraphState>::new();
                $( let mr = mr.$method($handler); )+
                r = r.route($path, mr);
                $( ops.push(openapi::Op { method: stringify!($method), path: $path, summary: $summary }); )+
            )*
            (r, ops)
        }
    };
}

routes! {
    "/v1.0/users" => {
        get users::list: "List users",
        post users::create: "Create a user",
    }
    "/v1.0/users/{key}" => {
        get users::get: "Get a user by id or userPrincipalName (or count users with $count)",
        patch users::update: "Update a user",
        delete users::delete: "Delete a user (soft delete, restorable for 30 days)",
    }
    "/v1.0/users/{key}/assignLicense" => {
        post users::assign_license: "Add and remove direct licenses of a user",
    }
    "/v1.0/users/{key}/reprocessLicenseAssignment" => {
        post users::reprocess: "Evaluate a user's license assignments again",
    }
    "/v1.0/users/{key}/licenseDetails" => {
        get users::license_details: "List a user's licenses with their service plans",
    }
    "/v1.0/users/{key}/licenseDetails/{id}" => {
        get users::license_detail: "Get one license of a user",
    }
    "/v1.0/users/{key}/memberOf" => {
        get users::member_of: "List the groups a user is a direct member of",
    }
    "/v1.0/users/{key}/transitiveMemberOf" => {
        get users::transitive_member_of: "List the groups a user is a member of, through nested groups",
    }
    "/v1.0/me" => {
        get users::me: "Get the signed-in user",
    }
    "/v1.0/me/changePassword" => {
        post auth::change_my_password: "Change the signed-in user's password (204)",
    }
    "/v1.0/users/{key}/changePassword" => {
        post auth::change_user_password: "Change the signed-in user's own password (204)",
    }
    "/v1.0/groups" => {
        get groups::list: "List groups",
        post groups::create: "Create a group",
    }
    "/v1.0/groups/{key}" => {
        get groups::get: "Get a group (or count groups with $count)",
        patch groups::update: "Update a group or add members with members@odata.bind",
        delete groups::delete: "Delete a group (refused while it assigns licenses)",
    }
    "/v1.0/groups/{key}/members" => {
        get groups::members: "List a group's direct members",
    }
    "/v1.0/groups/{key}/members/$count" => {
        get groups::members_count: "Count a group's direct members (needs ConsistencyLevel: eventual)",
    }
    "/v1.0/groups/{key}/transitiveMembers/$count" => {
        get groups::transitive_members_count: "Count a group's members through nested groups (needs ConsistencyLevel: eventual)",
    }
    "/v1.0/groups/{key}/members/$ref" => {
        post groups::add_member_ref: "Add a member",
        delete groups::remove_member_query: "Remove a member (?$id= or ?@id=)",
    }
    "/v1.0/groups/{key}/members/{member}/$ref" => {
        delete groups::remove_member_item: "Remove a member",
    }
    "/v1.0/groups/{key}/transitiveMembers" => {
        get groups::transitive_members: "List a group's members through nested groups",
    }
    "/v1.0/groups/{key}/memberOf" => {
        get groups::member_of: "List the groups a group is a member of",
    }
    "/v1.0/groups/{key}/assignLicense" => {
        post groups::assign_license: "Change a group's licenses (202; applied by a durable job)",
    }
    "/v1.0/groups/{key}/membersWithLicenseErrors" => {
        get groups::members_with_license_errors: "List members whose license from this group failed",
    }
    "/v1.0/subscribedSkus" => {
        get org::subscribed_skus: "List the products the organization owns",
    }
    "/v1.0/subscribedSkus/{id}" => {
        get org::subscribed_sku: "Get one product",
    }
    "/v1.0/directory/subscriptions" => {
        get org::subscriptions: "List the organization's subscriptions",
    }
    "/v1.0/directory/subscriptions/{id}" => {
        get org::subscription: "Get one subscription",
    }
    "/v1.0/organization" => {
        get org::organization: "List the organization",
    }
    "/v1.0/organization/{id}" => {
        get org::organization_item: "Get the organization",
    }
    "/v1.0/directory/deletedItems" => {
        get directory::deleted_items_uncast: "Deleted items need a type cast",
    }
    "/v1.0/directory/deletedItems/graph.user" => {
        get directory::deleted_users: "List deleted users",
    }
    "/v1.0/directory/deletedItems/graph.group" => {
        get directory::deleted_groups: "List deleted groups",
    }
    "/v1.0/directory/deletedItems/{id}" => {
        get directory::deleted_item: "Get a deleted user",
        delete directory::purge: "Delete a deleted user permanently (frees its seats)",
    }
    "/v1.0/directory/deletedItems/{id}/restore" => {
        post directory::restore: "Restore a deleted user",
    }
    "/v1.0/auditLogs/directoryAudits" => {
        get directory::audits: "List directory audit events",
    }
    "/v1.0/auditLogs/directoryAudits/{id}" => {
        get directory::audit: "Get one audit event",
    }
    "/v1.0/roleManagement/directory/roleAssignments" => {
        get directory::role_assignments: "List directory role assignments",
        post directory::create_role_assignment: "Assign a built-in directory role",
    }
    "/v1.0/roleManagement/directory/roleAssignments/{id}" => {
        get directory::role_assignment: "Get a role assignment",
        delete directory::delete_role_assignment: "Remove a role assignment",
    }
    "/v1.0/$batch" => {
        post batch::batch: "Run up to 20 requests in one",
    }
    "/{tenant}/oauth2/v2.0/token" => {
        post auth::token: "Get an access token (client_credentials or password)",
    }
    "/{tenant}/oauth2/v2.0/changepassword" => {
        post auth::change_password_form: "Change a password that must be changed before sign-in (form: username, password, new_password; 204)",
    }
    "/{tenant}/v2.0/.well-known/openid-configuration" => {
        get auth::openid_configuration: "OpenID discovery document",
    }
    "/{tenant}/discovery/v2.0/keys" => {
        get auth::jwks: "Token signing keys (JWKS)",
    }
    "/v1.0/$metadata" => {
        get metadata::document: "The CSDL of the served surface (a slice of Microsoft's Graph v1.0 metadata)",
    }
    "/" => {
        get root: "Where things are: the Graph API, its metadata, this document, liveness",
    }
    "/healthz" => {
        get healthz: "Liveness",
    }
    "/openapi.json" => {
        get openapi::document: "This document",
    }
}

/// The operations of the Graph surface (what `/openapi.json` describes).
pub fn operations() -> Vec<openapi::Op> {
    api_routes().1
}

/// The Graph router: every endpoint, the token endpoint, discovery, `/healthz` and
/// `/openapi.json`.
pub fn router(state: GraphState) -> Router {
    // The catch-panic layer sits on the inner router too, so that a panic inside one request
    // of a `$batch` answers that request alone.
    let api = api_routes()
        .0
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(not_found)
        .with_state(state.clone())
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(panicked));
    let _ = state.batch_router.set(api.clone());
    let normalised = tower::ServiceExt::map_request(api, normalise);
    Router::new()
        .fallback_service(normalised)
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(panicked))
        .layer(axum::middleware::from_fn(ids))
        .layer(
            tower_http::trace::TraceLayer::new_for_http()
                .make_span_with(
                    tower_http::trace::DefaultMakeSpan::new().level(tracing::Level::INFO),
                )
                .on_request(())
                .on_response(
                    tower_http::trace::DefaultOnResponse::new()
                        .level(tracing::Level::INFO)
                        .latency_unit(tower_http::LatencyUnit::Micros),
                ),
        )
}

async fn healthz() -> &'static str {
    "ok"
}

/// Where the admin center (crate `skuld-web`) is mounted by `skuld serve`. Because it is set,
/// `GET /` names it; the admin center itself then answers browsers (`Accept: text/html`) at `/`
/// in place of [`root`]'s JSON.
pub const ADMIN_CENTER: Option<&str> = Some("/");

/// `GET /`: a small JSON index of what this server answers.
async fn root(base: body::Base) -> Response {
    let r = &base.root;
    body::json(
        StatusCode::OK,
        serde_json::json!({
            "name": "skuld",
            "description": "A self-hosted license directory serving the licensing slice of Microsoft Graph v1.0",
            "graph": format!("{r}/v1.0"),
            "metadata": format!("{r}/v1.0/$metadata"),
            "openapi": format!("{r}/openapi.json"),
            "health": format!("{r}/healthz"),
            "adminCenter": ADMIN_CENTER.map(|p| format!("{r}{p}")),
        }),
    )
}

/// The header a response caught by the catch-panic layer carries (tests assert it never
/// appears).
pub const PANIC_MARKER: &str = "x-skuld-caught-panic";

/// The last line of defence: a handler that panicked answers Graph's 500 envelope instead of
/// dropping the connection.
fn panicked(err: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let what = err
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| err.downcast_ref::<&str>().copied())
        .unwrap_or("");
    tracing::error!(panic = what, "a request handler panicked");
    let mut r = axum::response::IntoResponse::into_response(GraphError::internal(
        "An internal server error occurred.",
    ));
    r.headers_mut()
        .insert(PANIC_MARKER, HeaderValue::from_static("true"));
    r
}

/// The ids of the request being answered, for `$batch` to reuse in its inner envelopes.
#[derive(Debug, Clone)]
pub struct RequestIds {
    pub request_id: String,
    pub client_request_id: String,
}

/// The Graph code for a status that reached the client without a [`GraphError`] (an axum
/// extractor rejection, a body limit).
fn code_for(status: StatusCode) -> &'static str {
    match status.as_u16() {
        404 => "Request_ResourceNotFound",
        413 => "Request_EntityTooLarge",
        500..=599 => "Service_InternalServerError",
        _ => "Request_BadRequest",
    }
}

/// Turns an error response into Graph's envelope with these ids: a [`GraphError`] (its
/// [`ErrorMark`]) is rendered again with the ids; any other 4xx/5xx that is not JSON (axum's
/// `Path`, `Query`, `Json`, `Form` rejections, which answer `text/plain`) becomes an envelope
/// with its status and its text. Everything else passes unchanged.
pub async fn envelope(resp: Response, request_id: &str, client_request_id: &str) -> Response {
    let e = if let Some(ErrorMark(e)) = resp.extensions().get::<ErrorMark>().cloned() {
        e
    } else {
        let status = resp.status();
        let is_json = resp
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if status.as_u16() < 400 || is_json {
            return resp;
        }
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            body::too_large()
        } else {
            let (parts, b) = resp.into_parts();
            let bytes = axum::body::to_bytes(b, 2048).await.unwrap_or_default();
            let text = String::from_utf8_lossy(&bytes).trim().to_string();
            let message = if text.is_empty() {
                parts
                    .status
                    .canonical_reason()
                    .unwrap_or("Bad request.")
                    .to_string()
            } else {
                text
            };
            let mut e = GraphError::new(parts.status, code_for(parts.status), message);
            if parts.status == StatusCode::METHOD_NOT_ALLOWED {
                e = GraphError::method_not_allowed();
            }
            let mut fresh = body::json(e.status, e.body(request_id, client_request_id));
            for (k, v) in &parts.headers {
                if k != axum::http::header::CONTENT_LENGTH && k != axum::http::header::CONTENT_TYPE
                {
                    fresh.headers_mut().insert(k.clone(), v.clone());
                }
            }
            return fresh;
        }
    };
    let mut fresh = body::json(e.status, e.body(request_id, client_request_id));
    for (k, v) in resp.headers() {
        // The new body has its own length.
        if k != axum::http::header::CONTENT_LENGTH && k != axum::http::header::CONTENT_TYPE {
            fresh.headers_mut().insert(k.clone(), v.clone());
        }
    }
    fresh
}

async fn method_not_allowed() -> GraphError {
    GraphError::method_not_allowed()
}

async fn not_found(uri: Uri) -> GraphError {
    let seg = uri
        .path()
        .trim_start_matches("/v1.0")
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or("");
    GraphError::bad_request(format!("Resource not found for the segment '{seg}'."))
}

/// Rewrites Graph's URL spellings to the router's: `/beta` → `/v1.0`, `users('key')` →
/// `users/key`, `microsoft.graph.user` casts → `graph.user`, a trailing `/`.
fn normalise(mut req: Request) -> Request {
    let uri = req.uri();
    let path = uri.path();
    let mut p = match path.strip_prefix("/beta") {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => format!("/v1.0{rest}"),
        _ => path.to_string(),
    };
    if p.len() > 1 && p.ends_with('/') {
        p.pop();
    }
    p = p.replace("/microsoft.graph.", "/graph.");
    // users('$x@contoso.com') and users(%27…%27)
    for set in ["users", "groups", "directoryObjects"] {
        for open in [format!("/{set}('"), format!("/{set}(%27")] {
            if let Some(i) = p.find(&open) {
                let after = &p[i + open.len()..];
                let close = after
                    .find("')")
                    .map(|j| (j, 2))
                    .or_else(|| after.find("%27)").map(|j| (j, 4)));
                if let Some((j, n)) = close {
                    let key = &after[..j];
                    let encoded: String = percent_encoding::utf8_percent_encode(
                        key,
                        percent_encoding::NON_ALPHANUMERIC,
                    )
                    .to_string();
                    p = format!("{}/{set}/{encoded}{}", &p[..i], &after[j + n..]);
                }
            }
        }
    }
    p = p.replace("/subscriptions(", "/subscriptions/(");
    if p != path {
        let pq = match uri.query() {
            Some(q) => format!("{p}?{q}"),
            None => p,
        };
        if let Ok(new) = pq.parse::<axum::http::uri::PathAndQuery>() {
            let mut parts = uri.clone().into_parts();
            parts.path_and_query = Some(new);
            if let Ok(u) = Uri::from_parts(parts) {
                *req.uri_mut() = u;
            }
        }
    }
    req
}

/// Whether a (still percent-encoded) path holds an escaped control character.
pub(crate) fn has_control_escape(path: &str) -> bool {
    let b = path.as_bytes();
    b.windows(3).any(|w| {
        w[0] == b'%'
            && ((w[1] == b'0' || w[1] == b'1') && w[2].is_ascii_hexdigit()
                || w[1] == b'7' && (w[2] == b'f' || w[2] == b'F'))
    })
}

/// Where the caller extractor leaves the resource units a request was charged.
#[derive(Debug, Clone, Default)]
pub struct ResourceUnits(pub std::sync::Arc<std::sync::atomic::AtomicU32>);

/// `request-id` / `client-request-id` / `OData-Version` on every response, the ids inside
/// every error envelope, and `x-ms-resource-unit` when a request was charged.
async fn ids(mut req: Request, next: Next) -> Response {
    let units = ResourceUnits::default();
    req.extensions_mut().insert(units.clone());
    let request_id = uuid::Uuid::new_v4().to_string();
    let client_request_id = req
        .headers()
        .get("client-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.len() <= 100)
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    // A control character in a path segment (`%00`, `%0A`, …) names nothing, and PostgreSQL
    // refuses NUL in text: answer before any handler looks it up.
    if has_control_escape(req.uri().path()) {
        let e = GraphError::bad_request("The request URI is not valid.");
        let mut r = body::json(e.status, e.body(&request_id, &client_request_id));
        if let Ok(v) = HeaderValue::from_str(&request_id) {
            r.headers_mut().insert("request-id", v);
        }
        if let Ok(v) = HeaderValue::from_str(&client_request_id) {
            r.headers_mut().insert("client-request-id", v);
        }
        return r;
    }
    req.extensions_mut().insert(RequestIds {
        request_id: request_id.clone(),
        client_request_id: client_request_id.clone(),
    });
    let resp = next.run(req).await;
    let mut resp = envelope(resp, &request_id, &client_request_id).await;
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        h.insert("request-id", v);
    }
    if let Ok(v) = HeaderValue::from_str(&client_request_id) {
        h.insert("client-request-id", v);
    }
    h.insert("OData-Version", HeaderValue::from_static("4.0"));
    let ru = units.0.load(std::sync::atomic::Ordering::Relaxed);
    if ru > 0 {
        h.insert("x-ms-resource-unit", HeaderValue::from(ru));
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use tower::ServiceExt;

    /// Item 14's last line of defence: a panicking handler answers Graph's 500 envelope, with
    /// the request's ids and the marker the router tests look for.
    #[tokio::test]
    async fn a_panicking_handler_answers_a_graph_500() {
        async fn boom() -> &'static str {
            panic!("boom")
        }
        let app = Router::new()
            .route("/p", axum::routing::get(boom))
            .layer(tower_http::catch_panic::CatchPanicLayer::custom(panicked))
            .layer(axum::middleware::from_fn(ids));
        let req = Request::builder()
            .uri("/p")
            .header("client-request-id", "c-1")
            .body(Body::empty())
            .unwrap();
        let resp = app.oneshot(req).await.unwrap();
        assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(resp.headers()[PANIC_MARKER], "true");
        let rid = resp.headers()["request-id"].to_str().unwrap().to_string();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(v["error"]["code"], "Service_InternalServerError");
        assert_eq!(v["error"]["innerError"]["request-id"], rid.as_str());
        assert_eq!(v["error"]["innerError"]["client-request-id"], "c-1");
    }

    #[test]
    fn control_escapes_are_found_in_paths() {
        for p in ["/users/%00", "/users/a%0Ab", "/x/%1f", "/x/%7F"] {
            assert!(has_control_escape(p), "{p}");
        }
        for p in [
            "/users/a%20b",
            "/users/%27x%27",
            "/users/%FF",
            "/x/%2",
            "/x/%",
        ] {
            assert!(!has_control_escape(p), "{p}");
        }
    }
}
