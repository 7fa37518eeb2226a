//! `directory/deletedItems` (graph-api.md §5), `auditLogs/directoryAudits` (§7) and
//! `roleManagement/directory/roleAssignments` for the built-in roles (§10.4).

use crate::auth::Caller;
use crate::body::{collection, entity, json, no_content, Base, JsonBody, Props};
use crate::error::{GraphError, GraphResult};
use crate::odata::Resource;
use crate::routes::users::list_users;
use crate::routes::{deny_unless, project, select_list, select_only, RawQuery};
use crate::state::GraphState;
use crate::wire;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::{json as j, Map, Value};
use skuld_app::{Action, AppError};
use skuld_domain::{DirectoryRole, Timestamp, UserId};
use skuld_store::AuditRow;

// ---- deleted items --------------------------------------------------------------------------

pub async fn deleted_users(
    State(st): State<GraphState>,
    caller: Caller,
    base: Base,
    RawQuery(q): RawQuery,
) -> GraphResult<Response> {
    deny_unless(&caller, Action::ReadUsers)?;
    list_users(&st, &caller, &base, q.as_deref(), Resource::DeletedUser).await
}

pub async fn deleted_groups(base: Base, caller: Caller) -> GraphResult<Response> {
    deny_unless(&caller, Action::ReadGroups)?;
    // Security groups are deleted permanently; skuld keeps no deleted Microsoft 365 groups.
    Ok(json(
        StatusCode::OK,
        collection(
            format!(
                "{}/$metadata#directory/deletedItems/microsoft.graph.group",
                base.graph
            ),
            None,
            vec![],
            None,
        ),
    ))
}

/// The bare `/directory/deletedItems` needs a type cast.
pub async fn deleted_items_uncast(caller: Caller) -> GraphResult<Response> {
    let _ = caller;
    Err(GraphError::bad_request(
        "The request URI is not valid. A type cast segment such as 'microsoft.graph.user' is required.",
    ))
}

async fn deleted_user(
    st: &GraphState,
    caller: &Caller,
    id: &str,
) -> GraphResult<skuld_domain::User> {
    let uid = UserId::parse(id).map_err(|_| GraphError::not_found(id))?;
    st.app
        .any_user(&caller.tenant, uid)
        .await?
        .filter(|u| u.is_deleted())
        .ok_or_else(|| GraphError::not_found(id))
}

pub async fn deleted_item(
    State(st): State<GraphState>,
    caller: Caller,
    base: Base,
    Path(id): Path<String>,
) -> GraphResult<Response> {
    deny_unless(&caller, Action::ReadUsers)?;
    let u = deleted_user(&st, &caller, &id).await?;
    let catalog = st.app.tenant_catalog(&caller.tenant).await?;
    let Value::Object(m) = wire::typed("user", wire::user(&u, None, &catalog, None)) else {
        unreachable!("typed returns an object")
    };
    let mut m = m;
    m.insert(
        "deletedDateTime".into(),
        u.deleted_at.map(wire::dt).unwrap_or(Value::Null),
    );
    Ok(json(
        StatusCode::OK,
        entity(
            format!("{}/$metadata#directoryObjects/$entity", base.graph),
            m,
        ),
    ))
}

pub async fn restore(
    State(st): State<GraphState>,
    caller: Caller,
    base: Base,
    Path(id): Path<String>,
) -> GraphResult<Response> {
    deny_unless(&caller, Action::DeleteUser)?;
    let u = deleted_user(&st, &caller, &id).await?;
    let u = st
        .app
        .restore_user(&caller.tenant, &u.id.to_string(), &caller.actor)
        .await?;
    let catalog = st.app.tenant_catalog(&caller.tenant).await?;
    let Value::Object(m) = wire::typed("user", wire::user(&u, None, &catalog, None)) else {
        unreachable!("typed returns an object")
    };
    Ok(json(
        StatusCode::OK,
        entity(
            format!("{}/$metadata#directoryObjects/$entity", base.graph),
            m,
        ),
    ))
}

pub async fn purge(
    State(st): State<GraphState>,
    caller: Caller,
    Path(id): Path<String>,
) -> GraphResult<Response> {
    deny_unless(&caller, Action::DeleteUser)?;
    let u = deleted_user(&st, &caller, &id).await?;
    st.app
        .purge_user(&caller.tenant, &u.id.to_string(), &caller.actor)
        .await?;
    Ok(no_content())
}

// ---- audit logs -----------------------------------------------------------------------------

/// Audit timestamps carry 7 fractional digits (graph-api.md §0).
fn audit_time(t: Timestamp) -> String {
    let s = t.to_rfc3339();
    format!(
        "{}.{:03}0000Z",
        s.trim_end_matches('Z'),
        t.0.rem_euclid(1000)
    )
}

fn audit_value(r: &AuditRow) -> Value {
    let modified: Value = serde_json::from_str(&r.modified).unwrap_or_else(|_| j!([]));
    let (user, app) = match r.actor_kind.as_str() {
        "user" => (
            j!({"id": r.actor_id, "displayName": null, "userPrincipalName": r.actor, "ipAddress": null}),
            Value::Null,
        ),
        "app" => (
            Value::Null,
            j!({"appId": r.actor_id, "displayName": r.actor, "servicePrincipalId": null, "servicePrincipalName": r.actor}),
        ),
        _ => (
            Value::Null,
            j!({"appId": null, "displayName": r.actor, "servicePrincipalId": null, "servicePrincipalName": r.actor}),
        ),
    };
    let operation = match r.activity.split_whitespace().next().unwrap_or("") {
        "Add" | "Restore" => "Add",
        "Delete" | "Hard" | "Remove" => "Delete",
        _ => "Update",
    };
    j!({
        "id": r.id,
        "category": r.category,
        "correlationId": r.id,
        "result": r.result,
        "resultReason": r.result_reason,
        "activityDisplayName": r.activity,
        "activityDateTime": audit_time(r.at),
        "loggedByService": "Core Directory",
        "operationType": operation,
        "initiatedBy": {"user": user, "app": app},
        "targetResources": [{
            "id": r.target_id,
            "displayName": if r.target_type == "User" { Value::Null } else { Value::String(r.target_name.clone()) },
            "type": r.target_type,
            "userPrincipalName": if r.target_type == "User" { Value::String(r.target_name.clone()) } else { Value::Null },
            "groupType": if r.target_type == "Group" { Value::String("unifiedGroups".into()) } else { Value::Null },
            "modifiedProperties": modified,
        }],
        "additionalDetails": [],
    })
}

/// One clause of the audit `$filter` subset (graph-api.md §7 "filters commonly used").
#[derive(Debug, Clone)]
enum AuditClause {
    Field(&'static str, String),
    Time(&'static str, Timestamp),
    Target(String),
}

fn parse_audit_filter(f: &str) -> GraphResult<Vec<AuditClause>> {
    let unsupported = || {
        GraphError::unsupported_query(format!(
            "Unsupported or invalid query filter clause specified for property '{}' of resource 'directoryAudit'.",
            f.split_whitespace().next().unwrap_or("")
        ))
    };
    let mut out = Vec::new();
    for clause in split_and(f) {
        let c = clause.trim();
        let quoted = |rest: &str| -> Option<String> {
            let r = rest.trim();
            r.strip_prefix('\'')
                .and_then(|x| x.strip_suffix('\''))
                .map(|x| x.replace("''", "'"))
        };
        let lower = c.to_ascii_lowercase();
        if lower.starts_with("targetresources/any(") {
            let inner = c
                .split_once(':')
                .map(|x| x.1)
                .unwrap_or("")
                .trim_end_matches(')');
            let (lhs, rhs) = inner.split_once(" eq ").ok_or_else(unsupported)?;
            if !lhs.trim().ends_with("/id") {
                return Err(unsupported());
            }
            out.push(AuditClause::Target(
                quoted(rhs).ok_or_else(unsupported)?.to_ascii_lowercase(),
            ));
            continue;
        }
        let mut parts = c.splitn(3, ' ');
        let (prop, op, val) = (
            parts.next().unwrap_or(""),
            parts.next().unwrap_or("").to_ascii_lowercase(),
            parts.next().unwrap_or(""),
        );
        let field: &'static str = match prop {
            "activityDisplayName" => "activity",
            "category" => "category",
            "result" => "result",
            "loggedByService" => "service",
            "initiatedBy/user/id" => "user_id",
            "initiatedBy/user/userPrincipalName" => "user_upn",
            "initiatedBy/app/appId" => "app_id",
            "activityDateTime" => {
                let t = Timestamp::parse_rfc3339(val.trim()).ok_or_else(unsupported)?;
                let op: &'static str = match op.as_str() {
                    "ge" => "ge",
                    "gt" => "gt",
                    "le" => "le",
                    "lt" => "lt",
                    _ => return Err(unsupported()),
                };
                out.push(AuditClause::Time(op, t));
                continue;
            }
            _ => return Err(unsupported()),
        };
        if op != "eq" {
            return Err(unsupported());
        }
        out.push(AuditClause::Field(
            field,
            quoted(val).ok_or_else(unsupported)?,
        ));
    }
    Ok(out)
}

/// Splits at ` and ` outside quotes and parentheses.
fn split_and(f: &str) -> Vec<String> {
    let mut out = Vec::new();
    let (mut depth, mut quote, mut cur) = (0i32, false, String::new());
    let chars: Vec<char> = f.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            quote = !quote;
        } else if !quote && c == '(' {
            depth += 1;
        } else if !quote && c == ')' {
            depth -= 1;
        }
        if !quote && depth == 0 {
            let rest: String = chars[i..].iter().take(5).collect();
            if rest.eq_ignore_ascii_case(" and ") {
                out.push(std::mem::take(&mut cur));
                i += 5;
                continue;
            }
        }
        cur.push(c);
        i += 1;
    }
    out.push(cur);
    out
}

fn audit_matches(r: &AuditRow, clauses: &[AuditClause]) -> bool {
    clauses.iter().all(|c| match c {
        AuditClause::Field(f, v) => match *f {
            "activity" => r.activity.eq_ignore_ascii_case(v),
            "category" => r.category.eq_ignore_ascii_case(v),
            "result" => r.result.eq_ignore_ascii_case(v),
            "service" => v.eq_ignore_ascii_case("Core Directory"),
            "user_id" => r.actor_kind == "user" && r.actor_id.eq_ignore_ascii_case(v),
            "user_upn" => r.actor_kind == "user" && r.actor.eq_ignore_ascii_case(v),
            "app_id" => r.actor_kind == "app" && r.actor_id.eq_ignore_ascii_case(v),
            _ => false,
        },
        AuditClause::Time(op, t) => match *op {
            "ge" => r.at.0 >= t.0,
            "gt" => r.at.0 > t.0,
            "le" => r.at.0 <= t.0,
            _ => r.at.0 < t.0,
        },
        AuditClause::Target(id) => r.target_id.eq_ignore_ascii_case(id),
    })
}

pub async fn audits(
    State(st): State<GraphState>,
    caller: Caller,
    base: Base,
    RawQuery(q): RawQuery,
) -> GraphResult<Response> {
    deny_unless(&caller, Action::ReadAudit)?;
    let mut top: i64 = 100;
    let mut before = i64::MAX;
    let mut clauses = Vec::new();
    let mut select: Option<Vec<String>> = None;
    let mut raw: Vec<(String, String)> = Vec::new();
    for (k, v) in crate::odata::decode_query(q.as_deref().unwrap_or(""))? {
        match k.to_ascii_lowercase().as_str() {
            "$top" => {
                top = v
                    .parse()
                    .ok()
                    .filter(|n| (1..=999).contains(n))
                    .ok_or_else(|| {
                        GraphError::unsupported_query(format!(
                            "Invalid page size specified: '{v}'. Must be between 1 and 999 inclusive."
                        ))
                    })?;
            }
            "$skiptoken" => {
                before = v
                    .parse()
                    .map_err(|_| GraphError::bad_request("The $skiptoken is not valid."))?;
                continue;
            }
            "$filter" => clauses = parse_audit_filter(&v)?,
            "$select" => select = Some(select_list(&v, "directoryAudit")?),
            "$orderby" if v.trim().eq_ignore_ascii_case("activityDateTime desc") => {}
            k if k.starts_with('$') => {
                return Err(GraphError::unsupported_query(format!(
                    "Query option '{k}' is not supported on this resource."
                )))
            }
            _ => {}
        }
        raw.push((k, v));
    }
    let mut found: Vec<AuditRow> = Vec::new();
    let mut cursor = before;
    let mut more = false;
    'scan: loop {
        let batch = st.app.audit_page(&caller.tenant, cursor, 1000).await?;
        let n = batch.len();
        for r in batch {
            cursor = r.seq;
            if audit_matches(&r, &clauses) {
                if found.len() as i64 == top {
                    more = true;
                    break 'scan;
                }
                found.push(r);
            }
        }
        if n < 1000 {
            break;
        }
    }
    let next = if more {
        found.last().map(|r| {
            crate::odata::next_link(
                &format!("{}/auditLogs/directoryAudits", base.graph),
                &raw,
                &r.seq.to_string(),
            )
        })
    } else {
        None
    };
    let values = found
        .iter()
        .map(|r| match audit_value(r) {
            Value::Object(m) => Value::Object(project("directoryAudit", m, select.as_deref())),
            other => other,
        })
        .collect();
    Ok(json(
        StatusCode::OK,
        collection(
            format!(
                "{}/$metadata#{}",
                base.graph,
                crate::routes::users::select_context(
                    "auditLogs/directoryAudits",
                    select.as_deref()
                )
            ),
            None,
            values,
            next,
        ),
    ))
}

pub async fn audit(
    State(st): State<GraphState>,
    caller: Caller,
    base: Base,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> GraphResult<Response> {
    deny_unless(&caller, Action::ReadAudit)?;
    let select = select_only(q.as_deref(), "directoryAudit")?;
    let mut cursor = i64::MAX;
    loop {
        let batch = st.app.audit_page(&caller.tenant, cursor, 1000).await?;
        if let Some(r) = batch.iter().find(|r| r.id == id) {
            let Value::Object(m) = audit_value(r) else {
                unreachable!("audit_value returns an object")
            };
            return Ok(json(
                StatusCode::OK,
                entity(
                    format!(
                        "{}/$metadata#{}/$entity",
                        base.graph,
                        crate::routes::users::select_context(
                            "auditLogs/directoryAudits",
                            select.as_deref()
                        )
                    ),
                    project("directoryAudit", m, select.as_deref()),
                ),
            ));
        }
        match batch.last() {
            Some(r) if batch.len() == 1000 => cursor = r.seq,
            _ => return Err(GraphError::not_found(&id)),
        }
    }
}

// ---- role assignments -----------------------------------------------------------------------

fn assignment_id(role: DirectoryRole, user: UserId) -> String {
    format!("{}_{}", role.template_id(), user)
}

fn assignment_value(role: DirectoryRole, user: UserId) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("id".into(), Value::String(assignment_id(role, user)));
    m.insert("principalId".into(), Value::String(user.to_string()));
    m.insert(
        "roleDefinitionId".into(),
        Value::String(role.template_id().into()),
    );
    m.insert("directoryScopeId".into(), Value::String("/".into()));
    m
}

pub async fn role_assignments(
    State(st): State<GraphState>,
    caller: Caller,
    base: Base,
    RawQuery(q): RawQuery,
) -> GraphResult<Response> {
    deny_unless(&caller, Action::ReadRoles)?;
    let rows = st.app.role_assignments(&caller.tenant).await?;
    // `$filter=principalId eq '…'` and `roleDefinitionId eq '…'`, the forms clients use.
    let mut principal = None;
    let mut definition = None;
    let mut select: Option<Vec<String>> = None;
    for (k, v) in crate::odata::decode_query(q.as_deref().unwrap_or(""))? {
        if k == "$select" {
            select = Some(select_list(&v, "unifiedRoleAssignment")?);
        } else if k == "$filter" {
            for c in split_and(&v) {
                let mut p = c.trim().splitn(3, ' ');
                let (prop, op, val) = (
                    p.next().unwrap_or(""),
                    p.next().unwrap_or(""),
                    p.next().unwrap_or(""),
                );
                let val = val.trim().trim_matches('\'').to_ascii_lowercase();
                match (prop, op) {
                    ("principalId", "eq") => principal = Some(val),
                    ("roleDefinitionId", "eq") => definition = Some(val),
                    _ => {
                        return Err(GraphError::unsupported_query(format!(
                            "Unsupported or invalid query filter clause specified for property '{prop}' of resource 'unifiedRoleAssignment'."
                        )))
                    }
                }
            }
        } else if k.starts_with('$') && k != "$top" {
            return Err(GraphError::unsupported_query(format!(
                "Query option '{k}' is not supported on this resource."
            )));
        }
    }
    let values = rows
        .iter()
        .filter(|(u, _, r, _)| {
            principal.as_deref().is_none_or(|p| p == u.to_string())
                && definition.as_deref().is_none_or(|d| d == r.template_id())
        })
        .map(|(u, _, r, _)| {
            Value::Object(project(
                "unifiedRoleAssignment",
                assignment_value(*r, *u),
                select.as_deref(),
            ))
        })
        .collect();
    Ok(json(
        StatusCode::OK,
        collection(
            format!(
                "{}/$metadata#{}",
                base.graph,
                crate::routes::users::select_context(
                    "roleManagement/directory/roleAssignments",
                    select.as_deref()
                )
            ),
            None,
            values,
            None,
        ),
    ))
}

fn parse_assignment_id(id: &str) -> Option<(DirectoryRole, UserId)> {
    let (r, u) = id.split_once('_')?;
    Some((DirectoryRole::parse(r)?, UserId::parse(u).ok()?))
}

pub async fn role_assignment(
    State(st): State<GraphState>,
    caller: Caller,
    base: Base,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> GraphResult<Response> {
    deny_unless(&caller, Action::ReadRoles)?;
    let select = select_only(q.as_deref(), "unifiedRoleAssignment")?;
    let rows = st.app.role_assignments(&caller.tenant).await?;
    let found =
        parse_assignment_id(&id).filter(|(r, u)| rows.iter().any(|(x, _, y, _)| x == u && y == r));
    let Some((r, u)) = found else {
        return Err(GraphError::not_found(&id));
    };
    Ok(json(
        StatusCode::OK,
        entity(
            format!(
                "{}/$metadata#{}/$entity",
                base.graph,
                crate::routes::users::select_context(
                    "roleManagement/directory/roleAssignments",
                    select.as_deref()
                )
            ),
            project(
                "unifiedRoleAssignment",
                assignment_value(r, u),
                select.as_deref(),
            ),
        ),
    ))
}

pub async fn create_role_assignment(
    State(st): State<GraphState>,
    caller: Caller,
    base: Base,
    JsonBody(body): JsonBody,
) -> GraphResult<Response> {
    deny_unless(&caller, Action::ManageRoles)?;
    let p = Props::new(
        &body,
        "UnifiedRoleAssignment",
        &["principalId", "roleDefinitionId", "directoryScopeId"],
        &[],
    )?;
    let principal = p.required_string("principalId")?;
    let definition = p.required_string("roleDefinitionId")?;
    let scope = p
        .string("directoryScopeId")?
        .flatten()
        .unwrap_or_else(|| "/".into());
    if scope != "/" {
        return Err(p.invalid("directoryScopeId"));
    }
    crate::routes::parse_guid(&principal)?;
    let role =
        DirectoryRole::parse(&definition).ok_or_else(|| GraphError::not_found(&definition))?;
    if role.template_id() != definition.trim().to_ascii_lowercase() {
        return Err(p.invalid("roleDefinitionId"));
    }
    let u = st
        .app
        .add_role(&caller.tenant, &principal, role, &caller.actor)
        .await
        .map_err(|e| match e {
            AppError::BadRequest(m) if m.contains("already") => GraphError::bad_request(
                "A conflicting object with one or more of the specified property values is present in the directory.",
            ),
            other => other.into(),
        })?;
    let mut r = json(
        StatusCode::CREATED,
        entity(
            format!(
                "{}/$metadata#roleManagement/directory/roleAssignments/$entity",
                base.graph
            ),
            assignment_value(role, u.id),
        ),
    );
    if let Ok(loc) = HeaderValue::from_str(&format!(
        "{}/roleManagement/directory/roleAssignments/{}",
        base.graph,
        assignment_id(role, u.id)
    )) {
        r.headers_mut().insert(header::LOCATION, loc);
    }
    Ok(r)
}

pub async fn delete_role_assignment(
    State(st): State<GraphState>,
    caller: Caller,
    Path(id): Path<String>,
) -> GraphResult<Response> {
    deny_unless(&caller, Action::ManageRoles)?;
    let Some((role, user)) = parse_assignment_id(&id) else {
        return Err(GraphError::not_found(&id));
    };
    st.app
        .remove_role(&caller.tenant, &user.to_string(), role, &caller.actor)
        .await
        .map_err(|e| match e {
            AppError::BadRequest(_) | AppError::NotFound(_) | AppError::Refused(_) => {
                GraphError::not_found(&id)
            }
            other => other.into(),
        })?;
    Ok(no_content())
}
