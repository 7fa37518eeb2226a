//! `/users` (graph-api.md §1, §2): list, get, create, update, soft delete, assignLicense,
//! reprocessLicenseAssignment, licenseDetails, memberOf, transitiveMemberOf.

use crate::auth::Caller;
use crate::body::{collection, entity, json, no_content, Base, JsonBody, Props};
use crate::error::{GraphError, GraphResult};
use crate::odata::{next_link, QueryOptions, Resource};
use crate::routes::{count_segment, deny_unless, group_values, objects, parse_guid, RawQuery};
use crate::state::GraphState;
use crate::wire;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::Value;
use skuld_app::{Action, LicenseSpec, NewUser, UserPatch};
use skuld_domain::{PlanId, SkuId, User, UserType};

/// Properties a client may send when creating a user.
const CREATE_PROPS: &[&str] = &[
    "accountEnabled",
    "displayName",
    "mailNickname",
    "userPrincipalName",
    "passwordProfile",
    "givenName",
    "surname",
    "usageLocation",
    "userType",
    "jobTitle",
    "department",
    "companyName",
    "officeLocation",
    "businessPhones",
    "mobilePhone",
    "faxNumber",
    "streetAddress",
    "city",
    "state",
    "postalCode",
    "country",
    "mail",
    "employeeId",
    "preferredLanguage",
];

/// Properties a client may change.
const UPDATE_PROPS: &[&str] = &[
    "accountEnabled",
    "displayName",
    "usageLocation",
    "userType",
    "jobTitle",
    "department",
    "companyName",
    "city",
    "country",
];

/// Percent-decoding of a user key, and the `('…')` form for UPNs starting with `$`.
pub fn user_key(raw: &str) -> String {
    let k = raw.trim();
    let k = k
        .strip_prefix("('")
        .and_then(|s| s.strip_suffix("')"))
        .unwrap_or(k);
    k.replace("''", "'")
}

pub async fn list(
    State(st): State<GraphState>,
    caller: Caller,
    base: Base,
    RawQuery(q): RawQuery,
) -> GraphResult<Response> {
    deny_unless(&caller, Action::ReadUsers)?;
    list_users(&st, &caller, &base, q.as_deref(), Resource::User).await
}

/// A page of users (live or soft-deleted) as Graph renders them.
pub async fn list_users(
    st: &GraphState,
    caller: &Caller,
    base: &Base,
    q: Option<&str>,
    resource: Resource,
) -> GraphResult<Response> {
    let opts = QueryOptions::parse(q, base.eventual, resource)?;
    let catalog = st.app.tenant_catalog(&caller.tenant).await?;
    let query = opts.query.clone().resolve_plans(&catalog);
    let page = st.app.list_users(&caller.tenant, &query).await?;
    let count = if opts.count {
        Some(st.app.count_users(&caller.tenant, &query).await?)
    } else {
        None
    };
    let select = opts.select.as_deref();
    let lic = if wire::needs_licensing(select) {
        let ids: Vec<_> = page.items.iter().map(|u| u.id).collect();
        Some(st.app.licensing_of(&caller.tenant, &ids).await?)
    } else {
        None
    };
    let deleted = resource == Resource::DeletedUser;
    let values = page
        .items
        .iter()
        .map(|u| {
            let m = wire::user(u, lic.as_ref().and_then(|l| l.get(&u.id)), &catalog, select);
            if deleted {
                wire::typed("user", m)
            } else {
                Value::Object(m)
            }
        })
        .collect();
    let (path, ctx) = if deleted {
        (
            "directory/deletedItems/microsoft.graph.user",
            "directory/deletedItems/microsoft.graph.user".to_string(),
        )
    } else {
        ("users", select_context("users", select))
    };
    let next = page
        .next
        .map(|c| next_link(&format!("{}/{path}", base.graph), &opts.raw, &c));
    Ok(json(
        StatusCode::OK,
        collection(
            format!("{}/$metadata#{ctx}", base.graph),
            count,
            values,
            next,
        ),
    ))
}

/// `users` or `users(id,displayName)`.
pub fn select_context(set: &str, select: Option<&[String]>) -> String {
    match select {
        Some(s) => format!("{set}({})", s.join(",")),
        None => set.to_string(),
    }
}

/// Renders one user with the options of the request.
pub async fn render_user(
    st: &GraphState,
    caller: &Caller,
    base: &Base,
    u: &User,
    select: Option<&[String]>,
    extra_license_props: bool,
) -> GraphResult<Value> {
    let catalog = st.app.tenant_catalog(&caller.tenant).await?;
    let lic = if extra_license_props || wire::needs_licensing(select) {
        st.app
            .licensing_of(&caller.tenant, &[u.id])
            .await?
            .remove(&u.id)
    } else {
        None
    };
    let mut m = wire::user(u, lic.as_ref(), &catalog, select);
    if extra_license_props && select.is_none() {
        for p in ["assignedLicenses", "assignedPlans"] {
            let v = wire::user(u, lic.as_ref(), &catalog, Some(&[p.to_string()]));
            m.extend(v);
        }
    }
    Ok(entity(
        format!(
            "{}/$metadata#{}/$entity",
            base.graph,
            select_context("users", select)
        ),
        m,
    ))
}

pub async fn get(
    State(st): State<GraphState>,
    caller: Caller,
    base: Base,
    Path(key): Path<String>,
    RawQuery(q): RawQuery,
) -> GraphResult<Response> {
    // Item 20: a guest reads their own user only.
    if !st
        .app
        .may_read_user(&caller.tenant, &caller.actor, &user_key(&key))
        .await?
    {
        return Err(GraphError::forbidden());
    }
    if key == "$count" {
        return count_segment(&st, &caller, &base, q.as_deref(), Resource::User).await;
    }
    let key = user_key(&key);
    let opts = QueryOptions::parse(q.as_deref(), base.eventual, Resource::User)?;
    let u = st.app.user(&caller.tenant, &key).await?;
    let v = render_user(&st, &caller, &base, &u, opts.select.as_deref(), false).await?;
    Ok(json(StatusCode::OK, v))
}

fn opt_string(p: &Props<'_>, k: &str) -> GraphResult<Option<String>> {
    Ok(p.string(k)?.flatten())
}

pub async fn create(
    State(st): State<GraphState>,
    caller: Caller,
    base: Base,
    JsonBody(body): JsonBody,
) -> GraphResult<Response> {
    let p = Props::new(&body, "User", CREATE_PROPS, &[])?;
    let user_type = match opt_string(&p, "userType")? {
        None => UserType::Member,
        Some(t) => t.parse::<UserType>().map_err(|_| p.invalid("userType"))?,
    };
    deny_unless(
        &caller,
        if user_type == UserType::Guest {
            Action::CreateGuest
        } else {
            Action::CreateUser
        },
    )?;
    let account_enabled = p
        .bool("accountEnabled")?
        .ok_or_else(|| p.required("accountEnabled"))?;
    let display_name = p.required_string("displayName")?;
    let mail_nickname = p.required_string("mailNickname")?;
    let upn = p.required_string("userPrincipalName")?;
    let (password, force) = match body.get("passwordProfile") {
        Some(Value::Object(pp)) => {
            let pp = Props::new(
                pp,
                "PasswordProfile",
                &[
                    "password",
                    "forceChangePasswordNextSignIn",
                    "forceChangePasswordNextSignInWithMfa",
                ],
                &[],
            )?;
            let pw = pp
                .string("password")?
                .flatten()
                .filter(|s| !s.is_empty())
                .ok_or_else(|| p.required("passwordProfile"))?;
            (
                pw,
                pp.bool("forceChangePasswordNextSignIn")?.unwrap_or(true),
            )
        }
        None | Some(Value::Null) => return Err(p.required("passwordProfile")),
        Some(_) => return Err(p.invalid("passwordProfile")),
    };
    let phones = p.string_array("businessPhones")?.unwrap_or_default();
    if phones.len() > 1 {
        return Err(p.invalid("businessPhones"));
    }
    let n = NewUser {
        upn,
        display_name,
        given_name: opt_string(&p, "givenName")?,
        surname: opt_string(&p, "surname")?,
        mail_nickname: Some(mail_nickname),
        usage_location: opt_string(&p, "usageLocation")?,
        user_type,
        account_enabled,
        job_title: opt_string(&p, "jobTitle")?,
        department: opt_string(&p, "department")?,
        company_name: opt_string(&p, "companyName")?,
        office_location: opt_string(&p, "officeLocation")?,
        business_phone: phones.into_iter().next(),
        mobile_phone: opt_string(&p, "mobilePhone")?,
        fax: opt_string(&p, "faxNumber")?,
        street_address: opt_string(&p, "streetAddress")?,
        city: opt_string(&p, "city")?,
        state: opt_string(&p, "state")?,
        postal_code: opt_string(&p, "postalCode")?,
        country: opt_string(&p, "country")?,
        password: Some(password),
        force_change_password: force,
    };
    let (u, _) = st
        .app
        .create_user(&caller.tenant, n, &caller.actor)
        .await
        .map_err(user_error)?;
    let v = render_user(&st, &caller, &base, &u, None, false).await?;
    let mut r = json(StatusCode::CREATED, v);
    if let Ok(loc) = HeaderValue::from_str(&format!("{}/users/{}", base.graph, u.id)) {
        r.headers_mut().insert(header::LOCATION, loc);
    }
    Ok(r)
}

/// Maps the app's validation texts for users to Graph's (graph-api.md §1.3).
fn user_error(e: skuld_app::AppError) -> GraphError {
    let g = GraphError::from(e);
    if g.status != StatusCode::BAD_REQUEST {
        return g;
    }
    let m = g.message.to_ascii_lowercase();
    if m.contains("password") && (m.contains("complex") || m.contains("characters")) {
        return GraphError::bad_request("The specified password does not comply with password complexity requirements. Please provide a different password.");
    }
    if m.contains("domain") && m.contains("userprincipalname") {
        return GraphError::bad_request("The domain portion of the userPrincipalName property is invalid. You must use one of the verified domain names in your organization.");
    }
    g
}

pub async fn update(
    State(st): State<GraphState>,
    caller: Caller,
    Path(key): Path<String>,
    JsonBody(body): JsonBody,
) -> GraphResult<Response> {
    let p = Props::new(&body, "User", UPDATE_PROPS, &[])?;
    let only_location = body
        .keys()
        .filter(|k| !k.starts_with('@'))
        .all(|k| k == "usageLocation");
    if !(caller.actor.may(Action::UpdateUser)
        || (only_location && caller.actor.may(Action::UpdateUsageLocation)))
    {
        return Err(GraphError::forbidden());
    }
    let display_name = match p.string("displayName")? {
        None => None,
        Some(Some(s)) if !s.trim().is_empty() => Some(s),
        Some(_) => return Err(p.invalid("displayName")),
    };
    let user_type = match p.string("userType")? {
        None => None,
        Some(Some(t)) => Some(t.parse::<UserType>().map_err(|_| p.invalid("userType"))?),
        Some(None) => return Err(p.invalid("userType")),
    };
    let patch = UserPatch {
        display_name,
        usage_location: p.string("usageLocation")?,
        department: p.string("department")?,
        job_title: p.string("jobTitle")?,
        city: p.string("city")?,
        country: p.string("country")?,
        company_name: p.string("companyName")?,
        account_enabled: p.bool("accountEnabled")?,
        user_type,
    };
    st.app
        .update_user(&caller.tenant, &user_key(&key), patch, &caller.actor)
        .await
        .map_err(|e| {
            let g = GraphError::from(e);
            if g.status == StatusCode::BAD_REQUEST && g.message.contains("usage location") {
                p.invalid("usageLocation")
            } else {
                g
            }
        })?;
    Ok(no_content())
}

pub async fn delete(
    State(st): State<GraphState>,
    caller: Caller,
    Path(key): Path<String>,
) -> GraphResult<Response> {
    deny_unless(&caller, Action::DeleteUser)?;
    st.app
        .delete_user(&caller.tenant, &user_key(&key), &caller.actor)
        .await?;
    Ok(no_content())
}

/// Parses `assignLicense`'s body (graph-api.md §2.1 rows 1–2): both parameters mandatory,
/// GUIDs strict.
pub fn license_body(
    body: &serde_json::Map<String, Value>,
) -> GraphResult<(Vec<LicenseSpec>, Vec<SkuId>)> {
    for k in body.keys() {
        if !k.starts_with("@odata.") && k != "addLicenses" && k != "removeLicenses" {
            return Err(GraphError::bad_request(format!(
                "Property '{k}' does not exist as a declared property or extension property."
            )));
        }
    }
    let missing: Vec<&str> = ["addLicenses", "removeLicenses"]
        .into_iter()
        .filter(|k| !body.contains_key(*k))
        .collect();
    if !missing.is_empty() {
        return Err(GraphError::bad_request(format!(
            "One or more parameters of the operation 'assignLicense' are missing from the request payload. The missing parameters are: {}.",
            missing.join(",")
        )));
    }
    let invalid = |k: &str| {
        GraphError::bad_request(format!(
            "Invalid value specified for property '{k}' of resource 'AssignedLicense'."
        ))
    };
    let add = match &body["addLicenses"] {
        Value::Array(a) => a,
        _ => return Err(invalid("addLicenses")),
    };
    let remove = match &body["removeLicenses"] {
        Value::Array(a) => a,
        _ => return Err(invalid("removeLicenses")),
    };
    let mut specs = Vec::new();
    for item in add {
        let Value::Object(o) = item else {
            return Err(invalid("addLicenses"));
        };
        for k in o.keys() {
            if !k.starts_with("@odata.") && k != "skuId" && k != "disabledPlans" {
                return Err(GraphError::bad_request(format!(
                    "Property '{k}' does not exist as a declared property or extension property."
                )));
            }
        }
        let sku = match o.get("skuId") {
            Some(Value::String(s)) => SkuId(parse_guid(s)?),
            _ => return Err(invalid("skuId")),
        };
        let disabled = match o.get("disabledPlans") {
            None | Some(Value::Null) => vec![],
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| match v {
                    Value::String(s) => parse_guid(s).map(PlanId),
                    _ => Err(invalid("disabledPlans")),
                })
                .collect::<GraphResult<Vec<_>>>()?,
            Some(_) => return Err(invalid("disabledPlans")),
        };
        specs.push(LicenseSpec {
            sku,
            disabled_plans: disabled,
        });
    }
    let remove = remove
        .iter()
        .map(|v| match v {
            Value::String(s) => parse_guid(s).map(SkuId),
            _ => Err(invalid("removeLicenses")),
        })
        .collect::<GraphResult<Vec<_>>>()?;
    Ok((specs, remove))
}

pub async fn assign_license(
    State(st): State<GraphState>,
    caller: Caller,
    base: Base,
    Path(key): Path<String>,
    JsonBody(body): JsonBody,
) -> GraphResult<Response> {
    deny_unless(&caller, Action::AssignUserLicense)?;
    let (add, remove) = license_body(&body)?;
    let u = st
        .app
        .assign_license(
            &caller.tenant,
            &user_key(&key),
            &add,
            &remove,
            &caller.actor,
        )
        .await?;
    let v = render_user(&st, &caller, &base, &u, None, true).await?;
    Ok(json(StatusCode::OK, v))
}

pub async fn reprocess(
    State(st): State<GraphState>,
    caller: Caller,
    base: Base,
    Path(key): Path<String>,
) -> GraphResult<Response> {
    deny_unless(&caller, Action::AssignUserLicense)?;
    let u = st
        .app
        .reprocess_user(&caller.tenant, &user_key(&key), &caller.actor)
        .await?;
    let v = render_user(&st, &caller, &base, &u, None, true).await?;
    Ok(json(StatusCode::OK, v))
}

pub async fn license_details(
    State(st): State<GraphState>,
    caller: Caller,
    base: Base,
    Path(key): Path<String>,
    RawQuery(q): RawQuery,
) -> GraphResult<Response> {
    deny_unless(&caller, Action::ReadUsers)?;
    let select = crate::routes::select_only(q.as_deref(), "licenseDetails")?;
    let u = st.app.user(&caller.tenant, &user_key(&key)).await?;
    let catalog = st.app.tenant_catalog(&caller.tenant).await?;
    let lic = st.app.licensing_of(&caller.tenant, &[u.id]).await?;
    let values = lic
        .get(&u.id)
        .map(|l| {
            l.assigned
                .iter()
                .map(
                    |(s, d)| match wire::license_detail(u.id.0, *s, d, &catalog) {
                        Value::Object(m) => Value::Object(crate::routes::project(
                            "licenseDetails",
                            m,
                            select.as_deref(),
                        )),
                        other => other,
                    },
                )
                .collect()
        })
        .unwrap_or_default();
    Ok(json(
        StatusCode::OK,
        collection(
            format!(
                "{}/$metadata#users('{}')/{}",
                base.graph,
                u.id,
                select_context("licenseDetails", select.as_deref())
            ),
            None,
            values,
            None,
        ),
    ))
}

pub async fn license_detail(
    State(st): State<GraphState>,
    caller: Caller,
    base: Base,
    Path((key, id)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> GraphResult<Response> {
    deny_unless(&caller, Action::ReadUsers)?;
    let select = crate::routes::select_only(q.as_deref(), "licenseDetails")?;
    let u = st.app.user(&caller.tenant, &user_key(&key)).await?;
    let catalog = st.app.tenant_catalog(&caller.tenant).await?;
    let lic = st.app.licensing_of(&caller.tenant, &[u.id]).await?;
    let found = lic.get(&u.id).and_then(|l| {
        l.assigned
            .iter()
            .find(|(s, _)| wire::license_detail_id(u.id.0, *s) == id)
            .map(|(s, d)| wire::license_detail(u.id.0, *s, d, &catalog))
    });
    let Some(Value::Object(m)) = found else {
        return Err(GraphError::not_found(&id));
    };
    Ok(json(
        StatusCode::OK,
        entity(
            format!(
                "{}/$metadata#users('{}')/{}/$entity",
                base.graph,
                u.id,
                select_context("licenseDetails", select.as_deref())
            ),
            crate::routes::project("licenseDetails", m, select.as_deref()),
        ),
    ))
}

pub async fn member_of(
    State(st): State<GraphState>,
    caller: Caller,
    base: Base,
    Path(key): Path<String>,
) -> GraphResult<Response> {
    member_of_impl(st, caller, base, key, false).await
}

pub async fn transitive_member_of(
    State(st): State<GraphState>,
    caller: Caller,
    base: Base,
    Path(key): Path<String>,
) -> GraphResult<Response> {
    member_of_impl(st, caller, base, key, true).await
}

async fn member_of_impl(
    st: GraphState,
    caller: Caller,
    base: Base,
    key: String,
    transitive: bool,
) -> GraphResult<Response> {
    // Item 20: a guest reads their own memberships only.
    if !st
        .app
        .may_read_user(&caller.tenant, &caller.actor, &user_key(&key))
        .await?
    {
        return Err(GraphError::forbidden());
    }
    let groups = st
        .app
        .user_member_of(&caller.tenant, &user_key(&key), transitive)
        .await?;
    let values = group_values(&st, &caller, &groups, None).await?;
    Ok(objects(&base, None, values, None))
}

/// `GET /me`: the signed-in user.
pub async fn me(
    State(st): State<GraphState>,
    caller: Caller,
    base: Base,
    RawQuery(q): RawQuery,
) -> GraphResult<Response> {
    let skuld_app::Actor::User { id, .. } = &caller.actor else {
        return Err(GraphError::bad_request(
            "/me request is only valid with delegated authentication flow.",
        ));
    };
    deny_unless(&caller, Action::ReadOwnProfile)?;
    let opts = QueryOptions::parse(q.as_deref(), base.eventual, Resource::User)?;
    let u = st.app.user(&caller.tenant, &id.to_string()).await?;
    let v = render_user(&st, &caller, &base, &u, opts.select.as_deref(), false).await?;
    Ok(json(StatusCode::OK, v))
}
