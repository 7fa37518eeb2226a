//! The handlers of the Graph surface, one module per resource.

pub mod batch;
pub mod directory;
pub mod groups;
pub mod org;
pub mod users;

use crate::auth::Caller;
use crate::body::{collection, json, Base};
use crate::error::{GraphError, GraphResult};
use crate::odata::{check_count_segment, QueryOptions, Resource};
use crate::state::GraphState;
use crate::wire;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};
use skuld_app::Action;
use skuld_domain::Group;

/// 403 unless the caller has the right.
pub fn deny_unless(caller: &Caller, action: Action) -> GraphResult<()> {
    if caller.actor.may(action) {
        Ok(())
    } else {
        Err(GraphError::forbidden())
    }
}

/// A GUID from a request, or Graph's conversion error.
pub fn parse_guid(s: &str) -> GraphResult<uuid::Uuid> {
    let t = s.trim();
    // Graph accepts the hyphenated 36-character form only.
    if t.len() != 36 {
        return Err(GraphError::bad_guid(s));
    }
    uuid::Uuid::parse_str(t).map_err(|_| GraphError::bad_guid(s))
}

/// The raw (still percent-encoded) query string.
pub struct RawQuery(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for RawQuery {
    type Rejection = GraphError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(RawQuery(parts.uri.query().map(str::to_string)))
    }
}

/// Groups as directoryObjects (with `@odata.type`).
pub async fn group_values(
    st: &GraphState,
    caller: &Caller,
    groups: &[Group],
    select: Option<&[String]>,
) -> GraphResult<Vec<Value>> {
    let licenses = st.app.group_licenses(&caller.tenant).await?;
    Ok(groups
        .iter()
        .map(|g| {
            let x = wire::GroupExtra::of(g, &licenses, &caller.tenant.default_domain);
            wire::typed("group", wire::group(g, &x, select))
        })
        .collect())
}

/// An in-memory page of a short collection (members, memberOf): `$skiptoken` is the offset.
pub fn page_slice(
    values: Vec<Value>,
    top: u32,
    skiptoken: Option<&str>,
) -> GraphResult<(Vec<Value>, Option<String>)> {
    let start: usize = match skiptoken {
        None => 0,
        Some(t) => t
            .strip_prefix("o")
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| GraphError::bad_request("The $skiptoken is not valid."))?,
    };
    let end = (start + top as usize).min(values.len());
    let next = (end < values.len()).then(|| format!("o{end}"));
    Ok((
        values
            .into_iter()
            .skip(start)
            .take(end.saturating_sub(start))
            .collect(),
        next,
    ))
}

/// `GET /users/$count` and `/groups/$count`: a plain-text number, with `$filter`/`$search`
/// honoured; needs `ConsistencyLevel: eventual`.
pub async fn count_segment(
    st: &GraphState,
    caller: &Caller,
    base: &Base,
    q: Option<&str>,
    resource: Resource,
) -> GraphResult<Response> {
    check_count_segment(base.eventual)?;
    let opts = QueryOptions::parse(q, true, resource)?;
    let catalog = st.app.tenant_catalog(&caller.tenant).await?;
    let query = opts.query.resolve_plans(&catalog);
    let n = if resource == Resource::Group {
        st.app.count_groups(&caller.tenant, &query).await?
    } else {
        st.app.count_users(&caller.tenant, &query).await?
    };
    let mut r = n.to_string().into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain;charset=utf-8"),
    );
    Ok(r)
}

/// A page of directoryObjects (members, memberOf, membersWithLicenseErrors):
/// `#directoryObjects`, or `#directoryObjects(id,displayName)` with a `$select`.
pub fn objects(
    base: &Base,
    select: Option<&[String]>,
    values: Vec<Value>,
    next: Option<String>,
) -> Response {
    json(
        StatusCode::OK,
        collection(
            format!(
                "{}/$metadata#{}",
                base.graph,
                users::select_context("directoryObjects", select)
            ),
            None,
            values,
            next,
        ),
    )
}

/// Only `$select` is supported on subscribedSkus (graph-api.md §4.1), subscriptions and the
/// organization; it accepts every property Microsoft's CSDL declares on `ty`.
pub fn select_only(q: Option<&str>, ty: &str) -> GraphResult<Option<Vec<String>>> {
    let mut select = None;
    for (k, v) in crate::odata::decode_query(q.unwrap_or(""))? {
        match k.to_ascii_lowercase().as_str() {
            "$select" => select = Some(select_list(&v, ty)?),
            k if k.starts_with('$') => {
                return Err(GraphError::unsupported_query(format!(
                    "Query option '{k}' is not supported on this resource."
                )))
            }
            _ => {}
        }
    }
    Ok(select)
}

/// The selected properties of an entity of type `ty`; one skuld does not store renders as
/// [`crate::metadata::absent`].
pub fn project(ty: &str, m: Map<String, Value>, select: Option<&[String]>) -> Map<String, Value> {
    match select {
        None => m,
        Some(s) => s
            .iter()
            .map(|p| {
                let v = m
                    .get(p)
                    .cloned()
                    .unwrap_or_else(|| crate::metadata::absent(ty, p));
                (p.clone(), v)
            })
            .collect(),
    }
}

/// A `$select` list (`id,skuId`) of properties declared on `ty`, in Graph's spelling.
pub fn select_list(text: &str, ty: &str) -> GraphResult<Vec<String>> {
    let mut s: Vec<String> = Vec::new();
    for p in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let c = crate::metadata::declared(ty, p).ok_or_else(|| {
            GraphError::bad_request(format!(
                "Could not find a property named '{p}' on type 'microsoft.graph.{ty}'."
            ))
        })?;
        if !s.iter().any(|x| x == c) {
            s.push(c.to_string());
        }
    }
    Ok(s)
}
