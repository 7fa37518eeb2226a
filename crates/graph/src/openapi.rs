//! `/openapi.json`: an OpenAPI 3.0 document of the served surface, built from the route table
//! in `lib.rs` (the same table the router is built from, so it cannot drift).

use axum::Json;
use serde_json::{json, Map, Value};

/// One operation of the route table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Op {
    pub method: &'static str,
    pub path: &'static str,
    pub summary: &'static str,
}

fn success(op: &Op) -> (&'static str, &'static str) {
    match (op.method, op.path) {
        ("post", p) if p.ends_with("/groups/{key}/assignLicense") => ("202", "Accepted"),
        ("post", p)
            if p.ends_with("/users")
                || p.ends_with("/groups")
                || p.ends_with("/roleAssignments") =>
        {
            ("201", "Created")
        }
        ("patch", _) | ("delete", _) => ("204", "No Content"),
        ("post", p) if p.ends_with("/$ref") => ("204", "No Content"),
        _ => ("200", "OK"),
    }
}

/// Builds the document.
pub fn build() -> Value {
    let mut paths: Map<String, Value> = Map::new();
    for op in crate::operations() {
        let params: Vec<Value> = op
            .path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        let (code, desc) = success(&op);
        let public =
            op.path.starts_with("/{tenant}") || op.path == "/healthz" || op.path == "/openapi.json";
        let mut o = json!({
            "summary": op.summary,
            "operationId": format!("{}{}", op.method, op.path.replace(['/', '{', '}', '$', '.'], "_")),
            "parameters": params,
            "responses": {
                code: {"description": desc},
                "400": {"description": "Bad request", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ODataError"}}}},
                "401": {"description": "Missing, invalid or expired token", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ODataError"}}}},
                "403": {"description": "Insufficient privileges", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ODataError"}}}},
                "404": {"description": "Not found", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ODataError"}}}},
                "429": {"description": "Throttled; see Retry-After", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ODataError"}}}},
            },
        });
        if public {
            o["security"] = json!([]);
        }
        if matches!(op.method, "post" | "patch")
            && !op.path.ends_with("/restore")
            && !op.path.ends_with("/reprocessLicenseAssignment")
        {
            let form = op.path.ends_with("/token");
            o["requestBody"] = if form {
                json!({"required": true, "content": {"application/x-www-form-urlencoded": {"schema": {"type": "object"}}}})
            } else {
                json!({"required": true, "content": {"application/json": {"schema": {"type": "object"}}}})
            };
        }
        paths
            .entry(op.path.to_string())
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .expect("path item")
            .insert(op.method.to_string(), o);
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "skuld — Microsoft Graph v1.0 licensing subset",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The users, groups, licensing, directory and audit slice of Microsoft Graph v1.0 that skuld serves.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
            "schemas": {
                "ODataError": {
                    "type": "object",
                    "properties": {"error": {"type": "object", "properties": {
                        "code": {"type": "string"},
                        "message": {"type": "string"},
                        "innerError": {"type": "object", "properties": {
                            "date": {"type": "string"},
                            "request-id": {"type": "string"},
                            "client-request-id": {"type": "string"},
                        }},
                    }}},
                },
            },
        },
        "security": [{"bearer": []}],
    })
}

pub async fn document() -> Json<Value> {
    Json(build())
}
