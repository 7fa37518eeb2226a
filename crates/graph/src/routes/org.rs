//! `subscribedSkus`, `directory/subscriptions` and `organization` (graph-api.md §4, §6).

use crate::auth::Caller;
use crate::body::{collection, entity, json, Base};
use crate::error::{GraphError, GraphResult};
use crate::routes::{deny_unless, project, select_only, RawQuery};
use crate::state::GraphState;
use crate::wire::{self, Units};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json as j, Map, Value};
use skuld_app::Action;
use skuld_domain::{Subscription, SubscriptionStatus};

fn units_of(subs: &[Subscription], sku: skuld_domain::SkuId) -> Units {
    let mut u = Units::default();
    for s in subs.iter().filter(|s| s.sku_id == sku) {
        match s.status {
            SubscriptionStatus::Enabled => u.enabled += s.units,
            SubscriptionStatus::Warning => u.warning += s.units,
            SubscriptionStatus::Suspended => u.suspended += s.units,
            SubscriptionStatus::LockedOut => u.locked_out += s.units,
            SubscriptionStatus::Deleted => {}
        }
    }
    u
}

async fn sku_values(st: &GraphState, caller: &Caller) -> GraphResult<Vec<Map<String, Value>>> {
    let rows = st.app.sku_rows(&caller.tenant).await?;
    let subs = st.app.subscriptions(&caller.tenant).await?;
    let catalog = st.app.tenant_catalog(&caller.tenant).await?;
    let tid = caller.tenant.id.to_string();
    Ok(rows
        .iter()
        .filter(|r| r.status != "Deleted")
        .map(|r| {
            let ids: Vec<String> = subs
                .iter()
                .filter(|s| s.sku_id == r.sku_id && s.status != SubscriptionStatus::Deleted)
                .map(|s| s.id.to_string())
                .collect();
            wire::subscribed_sku(&tid, r, units_of(&subs, r.sku_id), &ids, &catalog)
        })
        .collect())
}

/// `…#subscribedSkus` or `…#subscribedSkus(id,skuId)`.
fn context(base: &Base, set: &str, select: Option<&[String]>, entity: bool) -> String {
    format!(
        "{}/$metadata#{}{}",
        base.graph,
        crate::routes::users::select_context(set, select),
        if entity { "/$entity" } else { "" }
    )
}

pub async fn subscribed_skus(
    State(st): State<GraphState>,
    caller: Caller,
    base: Base,
    RawQuery(q): RawQuery,
) -> GraphResult<Response> {
    deny_unless(&caller, Action::ReadLicenses)?;
    let select = select_only(q.as_deref(), "subscribedSku")?;
    let values = sku_values(&st, &caller)
        .await?
        .into_iter()
        .map(|m| Value::Object(project("subscribedSku", m, select.as_deref())))
        .collect();
    Ok(json(
        StatusCode::OK,
        collection(
            context(&base, "subscribedSkus", select.as_deref(), false),
            None,
            values,
            None,
        ),
    ))
}

pub async fn subscribed_sku(
    State(st): State<GraphState>,
    caller: Caller,
    base: Base,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> GraphResult<Response> {
    deny_unless(&caller, Action::ReadLicenses)?;
    let select = select_only(q.as_deref(), "subscribedSku")?;
    let found = sku_values(&st, &caller).await?.into_iter().find(|m| {
        m.get("id").and_then(Value::as_str) == Some(id.as_str())
            || m.get("skuId").and_then(Value::as_str) == Some(id.to_ascii_lowercase().as_str())
    });
    let Some(m) = found else {
        return Err(GraphError::not_found(&id));
    };
    Ok(json(
        StatusCode::OK,
        entity(
            context(&base, "subscribedSkus", select.as_deref(), true),
            project("subscribedSku", m, select.as_deref()),
        ),
    ))
}

fn subscription_value(
    s: &Subscription,
    st_catalog: &skuld_domain::Catalog,
    tenant: &str,
) -> Map<String, Value> {
    let p = st_catalog.product(&s.sku_id);
    let status = match s.status {
        SubscriptionStatus::Enabled => "Enabled",
        SubscriptionStatus::Warning => "Warning",
        SubscriptionStatus::Suspended => "Suspended",
        SubscriptionStatus::LockedOut => "LockedOut",
        SubscriptionStatus::Deleted => "Deleted",
    };
    let plans: Vec<Value> = p
        .map(|p| {
            p.plans
                .iter()
                .map(|id| {
                    j!({
                        "servicePlanId": id.to_string(),
                        "servicePlanName": st_catalog.plan(id).map(|x| x.name.clone()).unwrap_or_default(),
                        "provisioningStatus": "Success",
                        "appliesTo": "User",
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let mut m = Map::new();
    m.insert("id".into(), Value::String(s.id.to_string()));
    m.insert(
        "commerceSubscriptionId".into(),
        Value::String(s.id.to_string()),
    );
    m.insert("createdDateTime".into(), wire::dt(s.created_at));
    m.insert("isTrial".into(), Value::Bool(s.is_trial));
    m.insert(
        "nextLifecycleDateTime".into(),
        s.next_lifecycle_at.map(wire::dt).unwrap_or(Value::Null),
    );
    m.insert(
        "ownerId".into(),
        s.self_service_owner
            .map(|o| Value::String(o.to_string()))
            .unwrap_or(Value::String(tenant.to_string())),
    );
    m.insert("ownerTenantId".into(), Value::String(tenant.to_string()));
    m.insert(
        "ownerType".into(),
        Value::String(
            if s.self_service_owner.is_some() {
                "User"
            } else {
                "Company"
            }
            .into(),
        ),
    );
    m.insert("serviceStatus".into(), Value::Array(plans));
    m.insert("skuId".into(), Value::String(s.sku_id.to_string()));
    m.insert(
        "skuPartNumber".into(),
        Value::String(p.map(|p| p.part_number.clone()).unwrap_or_default()),
    );
    m.insert("status".into(), Value::String(status.into()));
    m.insert("totalLicenses".into(), j!(s.units));
    m
}

pub async fn subscriptions(
    State(st): State<GraphState>,
    caller: Caller,
    base: Base,
    RawQuery(q): RawQuery,
) -> GraphResult<Response> {
    deny_unless(&caller, Action::ReadLicenses)?;
    let select = select_only(q.as_deref(), "companySubscription")?;
    let subs = st.app.subscriptions(&caller.tenant).await?;
    let catalog = st.app.tenant_catalog(&caller.tenant).await?;
    let tid = caller.tenant.id.to_string();
    let values = subs
        .iter()
        .map(|s| {
            Value::Object(project(
                "companySubscription",
                subscription_value(s, &catalog, &tid),
                select.as_deref(),
            ))
        })
        .collect();
    Ok(json(
        StatusCode::OK,
        collection(
            context(&base, "directory/subscriptions", select.as_deref(), false),
            None,
            values,
            None,
        ),
    ))
}

pub async fn subscription(
    State(st): State<GraphState>,
    caller: Caller,
    base: Base,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> GraphResult<Response> {
    deny_unless(&caller, Action::ReadLicenses)?;
    let select = select_only(q.as_deref(), "companySubscription")?;
    let key = id
        .strip_prefix("(commerceSubscriptionId='")
        .and_then(|s| s.strip_suffix("')"))
        .unwrap_or(&id)
        .to_ascii_lowercase();
    let subs = st.app.subscriptions(&caller.tenant).await?;
    let catalog = st.app.tenant_catalog(&caller.tenant).await?;
    let Some(s) = subs.iter().find(|s| s.id.to_string() == key) else {
        return Err(GraphError::not_found(&id));
    };
    Ok(json(
        StatusCode::OK,
        entity(
            context(&base, "directory/subscriptions", select.as_deref(), true),
            project(
                "companySubscription",
                subscription_value(s, &catalog, &caller.tenant.id.to_string()),
                select.as_deref(),
            ),
        ),
    ))
}

/// The organization's properties returned by default, in Graph's order (the "Get
/// organization" response of Graph's v1.0 reference, restricted to what the v1.0 CSDL
/// declares). Those skuld does not keep (address, phones, notification mails) are `null` or
/// `[]` as the CSDL's nullability says.
const ORGANIZATION_DEFAULT: &[&str] = &[
    "id",
    "deletedDateTime",
    "businessPhones",
    "city",
    "country",
    "countryLetterCode",
    "createdDateTime",
    "defaultUsageLocation",
    "displayName",
    "marketingNotificationEmails",
    "onPremisesLastSyncDateTime",
    "onPremisesSyncEnabled",
    "partnerTenantType",
    "postalCode",
    "preferredLanguage",
    "securityComplianceNotificationMails",
    "securityComplianceNotificationPhones",
    "state",
    "street",
    "technicalNotificationMails",
    "tenantType",
    "privacyProfile",
    "assignedPlans",
    "provisionedPlans",
    "verifiedDomains",
];

fn organization_value(st_tenant: &skuld_domain::Tenant) -> Map<String, Value> {
    let t = st_tenant;
    let mut m = Map::new();
    m.insert("id".into(), Value::String(t.id.to_string()));
    m.insert("displayName".into(), Value::String(t.name.clone()));
    m.insert(
        "countryLetterCode".into(),
        Value::String(t.country.as_str().into()),
    );
    m.insert(
        "defaultUsageLocation".into(),
        Value::String(t.country.as_str().into()),
    );
    m.insert("createdDateTime".into(), wire::dt(t.created_at));
    m.insert("tenantType".into(), Value::String("AAD".into()));
    m.insert(
        "verifiedDomains".into(),
        Value::Array(
            t.domains
                .iter()
                .map(|d| {
                    j!({
                        "capabilities": "Email, OfficeCommunicationsOnline",
                        "isDefault": d.eq_ignore_ascii_case(&t.default_domain),
                        "isInitial": d.eq_ignore_ascii_case(&t.default_domain),
                        "name": d,
                        "type": "Managed",
                    })
                })
                .collect(),
        ),
    );
    m.insert("assignedPlans".into(), j!([]));
    let mut out = Map::new();
    for p in ORGANIZATION_DEFAULT {
        let v = m
            .remove(*p)
            .unwrap_or_else(|| crate::metadata::absent("organization", p));
        out.insert((*p).to_string(), v);
    }
    out
}

pub async fn organization(
    State(_st): State<GraphState>,
    caller: Caller,
    base: Base,
    RawQuery(q): RawQuery,
) -> GraphResult<Response> {
    // Graph's least privilege for the organization is User.Read.
    if !caller.actor.may(Action::ReadLicenses) && !caller.actor.may(Action::ReadOwnProfile) {
        return Err(GraphError::forbidden());
    }
    let select = select_only(q.as_deref(), "organization")?;
    let m = project(
        "organization",
        organization_value(&caller.tenant),
        select.as_deref(),
    );
    Ok(json(
        StatusCode::OK,
        collection(
            context(&base, "organization", select.as_deref(), false),
            None,
            vec![Value::Object(m)],
            None,
        ),
    ))
}

pub async fn organization_item(
    State(_st): State<GraphState>,
    caller: Caller,
    base: Base,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> GraphResult<Response> {
    // Graph's least privilege for the organization is User.Read.
    if !caller.actor.may(Action::ReadLicenses) && !caller.actor.may(Action::ReadOwnProfile) {
        return Err(GraphError::forbidden());
    }
    let select = select_only(q.as_deref(), "organization")?;
    if !id.eq_ignore_ascii_case(&caller.tenant.id.to_string()) {
        return Err(GraphError::not_found(&id));
    }
    Ok(json(
        StatusCode::OK,
        entity(
            context(&base, "organization", select.as_deref(), true),
            project(
                "organization",
                organization_value(&caller.tenant),
                select.as_deref(),
            ),
        ),
    ))
}
