//! `/groups` (graph-api.md §3): list, get, create, update, delete, members (`$ref` add and
//! remove in both forms), transitiveMembers, memberOf, assignLicense (202, durable job) and
//! membersWithLicenseErrors.

use crate::auth::Caller;
use crate::body::{collection, entity, id_of_reference, json, no_content, Base, JsonBody, Props};
use crate::error::{GraphError, GraphResult};
use crate::odata::{next_link, QueryOptions, Resource};
use crate::routes::users::license_body;
use crate::routes::{count_segment, deny_unless, group_values, objects, page_slice, RawQuery};
use crate::state::GraphState;
use crate::wire;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use skuld_app::{Action, GroupPatch, Member, NewGroup};
use skuld_domain::{Group, GroupKind, User};

const CREATE_PROPS: &[&str] = &[
    "displayName",
    "description",
    "mailEnabled",
    "mailNickname",
    "securityEnabled",
    "groupTypes",
    "membershipRule",
    "membershipRuleProcessingState",
    "visibility",
    "isAssignableToRole",
];

const UPDATE_PROPS: &[&str] = &[
    "displayName",
    "description",
    "membershipRule",
    "membershipRuleProcessingState",
];

async fn extra(st: &GraphState, caller: &Caller, g: &Group) -> GraphResult<wire::GroupExtra> {
    let licenses = st.app.group_licenses(&caller.tenant).await?;
    Ok(wire::GroupExtra {
        licenses: licenses.get(&g.id).cloned().unwrap_or_default(),
        processing: Some(
            st.app
                .license_processing_state(&caller.tenant, g.id)
                .await?,
        ),
        tenant_domain: caller.tenant.default_domain.clone(),
    })
}

pub async fn list(
    State(st): State<GraphState>,
    caller: Caller,
    base: Base,
    RawQuery(q): RawQuery,
) -> GraphResult<Response> {
    deny_unless(&caller, Action::ReadGroups)?;
    let opts = QueryOptions::parse(q.as_deref(), base.eventual, Resource::Group)?;
    let catalog = st.app.tenant_catalog(&caller.tenant).await?;
    let query = opts.query.clone().resolve_plans(&catalog);
    let page = st.app.list_groups(&caller.tenant, &query).await?;
    let count = if opts.count {
        Some(st.app.count_groups(&caller.tenant, &query).await?)
    } else {
        None
    };
    let licenses = st.app.group_licenses(&caller.tenant).await?;
    let select = opts.select.as_deref();
    let mut values = Vec::with_capacity(page.items.len());
    for g in &page.items {
        let mut x = wire::GroupExtra::of(g, &licenses, &caller.tenant.default_domain);
        if select.is_some_and(|s| s.iter().any(|p| p == "licenseProcessingState")) {
            x.processing = Some(
                st.app
                    .license_processing_state(&caller.tenant, g.id)
                    .await?,
            );
        }
        let mut m = wire::group(g, &x, select);
        if opts.expand_members {
            let (users, groups) = st
                .app
                .group_members(&caller.tenant, &g.id.to_string())
                .await?;
            let mut members =
                member_values(&st, &caller, &users, &groups, opts.expand_select.as_deref()).await?;
            members.truncate(20);
            m.insert("members".into(), Value::Array(members));
        }
        values.push(Value::Object(m));
    }
    let next = page
        .next
        .map(|c| next_link(&format!("{}/groups", base.graph), &opts.raw, &c));
    Ok(json(
        StatusCode::OK,
        collection(
            format!("{}/$metadata#{}", base.graph, opts.context("groups")),
            count,
            values,
            next,
        ),
    ))
}

pub async fn get(
    State(st): State<GraphState>,
    caller: Caller,
    base: Base,
    Path(key): Path<String>,
    RawQuery(q): RawQuery,
) -> GraphResult<Response> {
    // Item 20: a guest reads the groups they are a member of only.
    if !st
        .app
        .may_read_group(&caller.tenant, &caller.actor, &key)
        .await?
    {
        return Err(GraphError::forbidden());
    }
    if key == "$count" {
        return count_segment(&st, &caller, &base, q.as_deref(), Resource::Group).await;
    }
    let opts = QueryOptions::parse(q.as_deref(), base.eventual, Resource::Group)?;
    let g = group_by_id(&st, &caller, &key).await?;
    let x = extra(&st, &caller, &g).await?;
    let mut m = wire::group(&g, &x, opts.select.as_deref());
    if opts.expand_members {
        let (users, groups) = st
            .app
            .group_members(&caller.tenant, &g.id.to_string())
            .await?;
        let mut members =
            member_values(&st, &caller, &users, &groups, opts.expand_select.as_deref()).await?;
        members.truncate(20);
        m.insert("members".into(), Value::Array(members));
    }
    Ok(json(
        StatusCode::OK,
        entity(
            format!(
                "{}/$metadata#{}/$entity",
                base.graph,
                opts.context("groups")
            ),
            m,
        ),
    ))
}

/// Groups are addressed by id only (Graph has no alternate key for groups).
async fn group_by_id(st: &GraphState, caller: &Caller, key: &str) -> GraphResult<Group> {
    if uuid::Uuid::parse_str(key.trim()).is_err() {
        return Err(GraphError::bad_request(format!(
            "Invalid object identifier '{key}'."
        )));
    }
    Ok(st.app.group(&caller.tenant, key).await?)
}

pub async fn create(
    State(st): State<GraphState>,
    caller: Caller,
    base: Base,
    JsonBody(body): JsonBody,
) -> GraphResult<Response> {
    deny_unless(&caller, Action::ManageGroups)?;
    let p = Props::new(&body, "Group", CREATE_PROPS, &["members", "owners"])?;
    let display_name = p.required_string("displayName")?;
    let mail_enabled = p
        .bool("mailEnabled")?
        .ok_or_else(|| p.required("mailEnabled"))?;
    let security_enabled = p
        .bool("securityEnabled")?
        .ok_or_else(|| p.required("securityEnabled"))?;
    let mail_nickname = p.required_string("mailNickname")?;
    if mail_nickname.len() > 64
        || mail_nickname
            .chars()
            .any(|c| !c.is_ascii() || "@()\\[]\";:.<>, ".contains(c))
    {
        return Err(p.invalid("mailNickname"));
    }
    let types = p.string_array("groupTypes")?.unwrap_or_default();
    let unified = types.iter().any(|t| t.eq_ignore_ascii_case("Unified"));
    let dynamic = types
        .iter()
        .any(|t| t.eq_ignore_ascii_case("DynamicMembership"));
    if types
        .iter()
        .any(|t| !t.eq_ignore_ascii_case("Unified") && !t.eq_ignore_ascii_case("DynamicMembership"))
    {
        return Err(p.invalid("groupTypes"));
    }
    let rule = p.string("membershipRule")?.flatten();
    if dynamic != rule.is_some() {
        return Err(GraphError::bad_request(if dynamic {
            "A value is required for property 'membershipRule' of resource 'Group'."
        } else {
            "Property 'membershipRule' can only be set on groups with 'DynamicMembership' in groupTypes."
        }));
    }
    if !unified && mail_enabled {
        return Err(GraphError::bad_request(
            "Mail-enabled security groups cannot be created through this API. Use 'Unified' in groupTypes for a Microsoft 365 group.",
        ));
    }
    let members = p.binds("members")?;
    if members.len() > 20 {
        return Err(GraphError::bad_request(
            "A maximum of 20 relationships can be added in one request.",
        ));
    }
    let member_ids = members
        .iter()
        .map(|m| id_of_reference(m).map(|u| u.to_string()))
        .collect::<GraphResult<Vec<_>>>()?;
    if !member_ids.is_empty() && dynamic {
        return Err(dynamic_members_error());
    }
    let n = NewGroup {
        display_name,
        description: p.string("description")?.flatten(),
        mail_nickname: Some(mail_nickname),
        kind: if unified {
            GroupKind::Microsoft365
        } else {
            GroupKind::Security
        },
        security_enabled,
        mail_enabled,
        membership_rule: rule,
        license_priority: 0,
    };
    if !member_ids.is_empty() {
        deny_unless(&caller, Action::ManageMembers)?;
        for id in &member_ids {
            if st
                .app
                .object_kind(
                    &caller.tenant,
                    uuid::Uuid::parse_str(id).unwrap_or_default(),
                )
                .await?
                .is_none()
            {
                return Err(GraphError::not_found(id));
            }
        }
    }
    let g = st
        .app
        .create_group(&caller.tenant, n, &caller.actor)
        .await?;
    if !member_ids.is_empty() {
        st.app
            .change_members(
                &caller.tenant,
                &g.id.to_string(),
                &member_ids,
                &caller.actor,
                true,
            )
            .await?;
    }
    let x = extra(&st, &caller, &g).await?;
    let mut r = json(
        StatusCode::CREATED,
        entity(
            format!("{}/$metadata#groups/$entity", base.graph),
            wire::group(&g, &x, None),
        ),
    );
    if let Ok(loc) = HeaderValue::from_str(&format!("{}/groups/{}", base.graph, g.id)) {
        r.headers_mut().insert(header::LOCATION, loc);
    }
    Ok(r)
}

fn dynamic_members_error() -> GraphError {
    GraphError::bad_request(
        "Members of a group with dynamic membership are set by its membership rule and cannot be added or removed.",
    )
}

pub async fn update(
    State(st): State<GraphState>,
    caller: Caller,
    Path(key): Path<String>,
    JsonBody(body): JsonBody,
) -> GraphResult<Response> {
    let p = Props::new(&body, "Group", UPDATE_PROPS, &["members"])?;
    let g = group_by_id(&st, &caller, &key).await?;
    let members = p.binds("members")?;
    if members.len() > 20 {
        return Err(GraphError::bad_request(
            "A maximum of 20 relationships can be added in one request.",
        ));
    }
    let props_changed = body
        .keys()
        .any(|k| !k.starts_with("@odata.") && !k.ends_with("@odata.bind"));
    let display_name = match p.string("displayName")? {
        None => None,
        Some(Some(s)) if !s.trim().is_empty() => Some(s),
        Some(_) => return Err(p.invalid("displayName")),
    };
    let rule_paused = match p.string("membershipRuleProcessingState")? {
        None => None,
        Some(Some(s)) if s.eq_ignore_ascii_case("On") => Some(false),
        Some(Some(s)) if s.eq_ignore_ascii_case("Paused") => Some(true),
        Some(_) => return Err(p.invalid("membershipRuleProcessingState")),
    };
    let member_ids = members
        .iter()
        .map(|m| id_of_reference(m).map(|u| u.to_string()))
        .collect::<GraphResult<Vec<_>>>()?;
    if !member_ids.is_empty() {
        deny_unless(&caller, Action::ManageMembers)?;
        if g.is_dynamic() {
            return Err(dynamic_members_error());
        }
        for id in &member_ids {
            if st
                .app
                .object_kind(
                    &caller.tenant,
                    uuid::Uuid::parse_str(id).unwrap_or_default(),
                )
                .await?
                .is_none()
            {
                return Err(GraphError::not_found(id));
            }
        }
    }
    if props_changed {
        let patch = GroupPatch {
            display_name,
            description: p.string("description")?,
            membership_rule: p.string("membershipRule")?.flatten(),
            rule_paused,
            license_priority: None,
        };
        st.app
            .update_group(&caller.tenant, &g.id.to_string(), patch, &caller.actor)
            .await?;
    }
    if !member_ids.is_empty() {
        st.app
            .change_members(
                &caller.tenant,
                &g.id.to_string(),
                &member_ids,
                &caller.actor,
                true,
            )
            .await?;
    }
    Ok(no_content())
}

pub async fn delete(
    State(st): State<GraphState>,
    caller: Caller,
    Path(key): Path<String>,
) -> GraphResult<Response> {
    deny_unless(&caller, Action::ManageGroups)?;
    let g = group_by_id(&st, &caller, &key).await?;
    st.app
        .delete_group(&caller.tenant, &g.id.to_string(), &caller.actor)
        .await?;
    Ok(no_content())
}

/// The part of a directoryObject `$select` that type `ty` (`user`, `group`) declares: a
/// member group is not asked for user-only properties. `None` stays `None` (the defaults).
fn select_for(ty: &str, select: Option<&[String]>) -> Option<Vec<String>> {
    select.map(|s| {
        s.iter()
            .filter(|p| crate::metadata::declared(ty, p).is_some())
            .cloned()
            .collect()
    })
}

/// Users and groups as directoryObjects, with the request's `$select`.
async fn member_values(
    st: &GraphState,
    caller: &Caller,
    users: &[User],
    groups: &[Group],
    select: Option<&[String]>,
) -> GraphResult<Vec<Value>> {
    let catalog = st.app.tenant_catalog(&caller.tenant).await?;
    let user_select = select_for("user", select);
    let lic = if wire::needs_licensing(user_select.as_deref()) {
        let ids: Vec<_> = users.iter().map(|u| u.id).collect();
        Some(st.app.licensing_of(&caller.tenant, &ids).await?)
    } else {
        None
    };
    let mut out: Vec<Value> = users
        .iter()
        .map(|u| {
            let l = lic.as_ref().and_then(|l| l.get(&u.id));
            wire::typed("user", wire::user(u, l, &catalog, user_select.as_deref()))
        })
        .collect();
    let group_select = select_for("group", select);
    out.extend(group_values(st, caller, groups, group_select.as_deref()).await?);
    Ok(out)
}

pub async fn members(
    State(st): State<GraphState>,
    caller: Caller,
    base: Base,
    Path(key): Path<String>,
    RawQuery(q): RawQuery,
) -> GraphResult<Response> {
    list_members(st, caller, base, key, q, false).await
}

pub async fn transitive_members(
    State(st): State<GraphState>,
    caller: Caller,
    base: Base,
    Path(key): Path<String>,
    RawQuery(q): RawQuery,
) -> GraphResult<Response> {
    list_members(st, caller, base, key, q, true).await
}

async fn list_members(
    st: GraphState,
    caller: Caller,
    base: Base,
    key: String,
    q: Option<String>,
    transitive: bool,
) -> GraphResult<Response> {
    deny_unless(&caller, Action::ReadGroups)?;
    let g = group_by_id(&st, &caller, &key).await?;
    let opts = QueryOptions::parse(q.as_deref(), base.eventual, Resource::User)?;
    let after = match opts.query.after.as_deref() {
        None => None,
        Some(t) => Some(
            uuid::Uuid::parse_str(t)
                .map_err(|_| GraphError::bad_request("The $skiptoken is not valid."))?,
        ),
    };
    let (_, members, more) = st
        .app
        .group_members_page(
            &caller.tenant,
            &g.id.to_string(),
            transitive,
            after,
            opts.query.limit as i64,
        )
        .await?;
    let select = opts.select.as_deref();
    let mut users: Vec<User> = Vec::new();
    let mut groups: Vec<Group> = Vec::new();
    for m in &members {
        match m {
            Member::User(u) => users.push(u.clone()),
            Member::Group(g) => groups.push(g.clone()),
        }
    }
    let rendered = member_values(&st, &caller, &users, &groups, select).await?;
    // Back into the page's order (by member id).
    let ids = users
        .iter()
        .map(|u| u.id.to_string())
        .chain(groups.iter().map(|g| g.id.to_string()));
    let mut by_id: std::collections::HashMap<String, Value> = ids.zip(rendered).collect();
    let values: Vec<Value> = members
        .iter()
        .filter_map(|m| by_id.remove(&m.id().to_string()))
        .collect();
    let set = if transitive {
        "transitiveMembers"
    } else {
        "members"
    };
    let next = if more {
        members.last().map(|m| {
            next_link(
                &format!("{}/groups/{}/{set}", base.graph, g.id),
                &opts.raw,
                &m.id().to_string(),
            )
        })
    } else {
        None
    };
    Ok(objects(&base, select, values, next))
}

pub async fn member_of(
    State(st): State<GraphState>,
    caller: Caller,
    base: Base,
    Path(key): Path<String>,
) -> GraphResult<Response> {
    deny_unless(&caller, Action::ReadGroups)?;
    let g = group_by_id(&st, &caller, &key).await?;
    let parents = st
        .app
        .group_member_of(&caller.tenant, &g.id.to_string())
        .await?;
    let values = group_values(&st, &caller, &parents, None).await?;
    Ok(objects(&base, None, values, None))
}

pub async fn members_with_license_errors(
    State(st): State<GraphState>,
    caller: Caller,
    base: Base,
    Path(key): Path<String>,
    RawQuery(q): RawQuery,
) -> GraphResult<Response> {
    deny_unless(&caller, Action::ReadGroups)?;
    let g = group_by_id(&st, &caller, &key).await?;
    let opts = QueryOptions::parse(q.as_deref(), base.eventual, Resource::User)?;
    let users = st
        .app
        .members_with_license_errors(&caller.tenant, &g.id.to_string())
        .await?;
    let select = opts.select.as_deref();
    let values = member_values(&st, &caller, &users, &[], select).await?;
    let (items, next) = page_slice(values, opts.query.limit, opts.query.after.as_deref())?;
    let path = format!("groups/{}/membersWithLicenseErrors", g.id);
    let next = next.map(|c| next_link(&format!("{}/{path}", base.graph), &opts.raw, &c));
    Ok(objects(&base, select, items, next))
}

/// `GET /groups/{id}/members/$count` and `transitiveMembers/$count`: a plain-text number;
/// like every directory `$count`, it needs `ConsistencyLevel: eventual` (graph-api.md §8).
async fn count_members(
    st: GraphState,
    caller: Caller,
    base: Base,
    key: String,
    q: Option<String>,
    transitive: bool,
) -> GraphResult<Response> {
    deny_unless(&caller, Action::ReadGroups)?;
    crate::odata::check_count_segment(base.eventual)?;
    let opts = QueryOptions::parse(q.as_deref(), base.eventual, Resource::User)?;
    if opts.query.filter.is_some() || opts.query.search.is_some() {
        return Err(GraphError::unsupported_query(
            "$filter and $search are not supported on a member count.",
        ));
    }
    let g = group_by_id(&st, &caller, &key).await?;
    const PAGE: i64 = 5000;
    let (mut n, mut after) = (0u64, None);
    loop {
        let (_, page, more) = st
            .app
            .group_members_page(&caller.tenant, &g.id.to_string(), transitive, after, PAGE)
            .await?;
        n += page.len() as u64;
        match page.last() {
            Some(m) if more => after = Some(m.id()),
            _ => break,
        }
    }
    let mut r = n.to_string().into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain;charset=utf-8"),
    );
    Ok(r)
}

pub async fn members_count(
    State(st): State<GraphState>,
    caller: Caller,
    base: Base,
    Path(key): Path<String>,
    RawQuery(q): RawQuery,
) -> GraphResult<Response> {
    count_members(st, caller, base, key, q, false).await
}

pub async fn transitive_members_count(
    State(st): State<GraphState>,
    caller: Caller,
    base: Base,
    Path(key): Path<String>,
    RawQuery(q): RawQuery,
) -> GraphResult<Response> {
    count_members(st, caller, base, key, q, true).await
}

/// `POST /groups/{id}/members/$ref` with `{"@odata.id": "…/directoryObjects/{id}"}`.
pub async fn add_member_ref(
    State(st): State<GraphState>,
    caller: Caller,
    Path(key): Path<String>,
    JsonBody(body): JsonBody,
) -> GraphResult<Response> {
    deny_unless(&caller, Action::ManageMembers)?;
    let url = match body.get("@odata.id") {
        Some(Value::String(s)) => s.clone(),
        _ => {
            return Err(GraphError::bad_request(
                "A value is required for property '@odata.id' of resource 'DirectoryObject'.",
            ))
        }
    };
    let member = id_of_reference(&url)?;
    let g = group_by_id(&st, &caller, &key).await?;
    if g.is_dynamic() {
        return Err(dynamic_members_error());
    }
    if st.app.object_kind(&caller.tenant, member).await?.is_none() {
        return Err(GraphError::not_found(&member.to_string()));
    }
    st.app
        .add_member(
            &caller.tenant,
            &g.id.to_string(),
            &member.to_string(),
            &caller.actor,
        )
        .await?;
    Ok(no_content())
}

async fn remove(
    st: &GraphState,
    caller: &Caller,
    key: &str,
    member: &str,
) -> GraphResult<Response> {
    deny_unless(caller, Action::ManageMembers)?;
    let member = id_of_reference(member)?;
    let g = group_by_id(st, caller, key).await?;
    if g.is_dynamic() {
        return Err(dynamic_members_error());
    }
    if st.app.object_kind(&caller.tenant, member).await?.is_none() {
        return Err(GraphError::not_found(&member.to_string()));
    }
    st.app
        .remove_member(
            &caller.tenant,
            &g.id.to_string(),
            &member.to_string(),
            &caller.actor,
        )
        .await?;
    Ok(no_content())
}

/// `DELETE /groups/{id}/members/{memberId}/$ref`.
pub async fn remove_member_item(
    State(st): State<GraphState>,
    caller: Caller,
    Path((key, member)): Path<(String, String)>,
) -> GraphResult<Response> {
    remove(&st, &caller, &key, &member).await
}

/// `DELETE /groups/{id}/members/$ref?$id={url}` (or `@id=`).
pub async fn remove_member_query(
    State(st): State<GraphState>,
    caller: Caller,
    Path(key): Path<String>,
    RawQuery(q): RawQuery,
) -> GraphResult<Response> {
    let target = crate::odata::decode_query(q.as_deref().unwrap_or(""))?
        .into_iter()
        .find(|(k, _)| k == "$id" || k == "@id")
        .map(|(_, v)| v);
    let Some(target) = target else {
        return Err(GraphError::bad_request(
            "The $id query parameter is required to remove a reference.",
        ));
    };
    remove(&st, &caller, &key, &target).await
}

/// `POST /groups/{id}/assignLicense`: 202 Accepted; the server's worker applies it (D13).
pub async fn assign_license(
    State(st): State<GraphState>,
    caller: Caller,
    base: Base,
    Path(key): Path<String>,
    JsonBody(body): JsonBody,
) -> GraphResult<Response> {
    deny_unless(&caller, Action::AssignGroupLicense)?;
    let (add, remove) = license_body(&body)?;
    let g = group_by_id(&st, &caller, &key).await?;
    let (g, _job) = st
        .app
        .queue_group_license(
            &caller.tenant,
            &g.id.to_string(),
            &add,
            &remove,
            &caller.actor,
        )
        .await?;
    st.jobs.notify_one();
    let x = extra(&st, &caller, &g).await?;
    let mut r = json(
        StatusCode::ACCEPTED,
        entity(
            format!("{}/$metadata#groups/$entity", base.graph),
            wire::group(&g, &x, None),
        ),
    );
    if let Ok(loc) = HeaderValue::from_str(&format!(
        "{}/v2/{}/directoryObjects/{}/Microsoft.DirectoryServices.Group",
        base.root, caller.tenant.id, g.id
    )) {
        r.headers_mut().insert(header::LOCATION, loc);
    }
    Ok(r)
}
