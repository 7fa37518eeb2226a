//! `subscribedSkus`, `directory/subscriptions` and `organization` (graph-api.md §4, §6).

use crate::auth::Caller;
use crate::body::{collection, entity, json, Base};
use crate::error::{GraphError, GraphResult};
use crate::routes::{deny_unless, RawQuery};
use crate::state::GraphState;
use crate::wire::{self, Units};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json as j, Map, Value};
use skuld_app::Action;
use skuld_domain::{Subscription, SubscriptionStatus};

/// Only `$select` is supported on subscribedSkus (graph-api.md §4.1).
fn select_only(q: Option<&str>, props: &[&str]) -> GraphResult<Option<Vec<String>>> {
    let mut select = None;
    for (k, v) in crate::odata::decode_query(q.unwrap_or(""))? {
        match k.to_ascii_lowercase().as_str() {
            "$select" => {
                let mut s = Vec::new();
                for p in v.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                    let c = props
                        .iter()
                        .find(|x| x.eq_ignore_ascii_case(p))
                        .ok_or_else(|| {
                            GraphError::bad_request(format!(
                                "Could not find a property named '{p}' on type 'microsoft.graph.subscribedSku'."
                            ))
                        })?;
                    s.push(c.to_string());
                }
                select = Some(s);
            }
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

const SKU_PROPS: &[&str] = &[
    "accountName",
    "accountId",
    "appliesTo",
    "capabilityStatus",
    "consumedUnits",
    "id",
    "prepaidUnits",
    "servicePlans",
    "skuId",
    "skuPartNumber",
    "subscriptionIds",
];

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

fn project(m: Map<String, Value>, select: Option<&[String]>) -> Map<String, Value> {
    match select {
        None => m,
        Some(s) => s
            .iter()
            .map(|p| (p.clone(), m.get(p).cloned().unwrap_or(Value::Null)))
            .collect(),
    }
}

pub async fn subscribed_skus(
    State(st): State<GraphState>,
    caller: Caller,
    base: Base,
    RawQuery(q): RawQuery,
) -> GraphResult<Response> {
    deny_unless(&caller, Action::ReadLicenses)?;
    let select = select_only(q.as_deref(), SKU_PROPS)?;
    let values = sku_values(&st, &caller)
        .await?
        .into_iter()
        .map(|m| Value::Object(project(m, select.as_deref())))
        .collect();
    Ok(json(
        StatusCode::OK,
        collection(
            format!("{}/$metadata#subscribedSkus", base.graph),
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
    let select = select_only(q.as_deref(), SKU_PROPS)?;
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
            format!("{}/$metadata#subscribedSkus/$entity", base.graph),
            project(m, select.as_deref()),
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
) -> GraphResult<Response> {
    deny_unless(&caller, Action::ReadLicenses)?;
    let subs = st.app.subscriptions(&caller.tenant).await?;
    let catalog = st.app.tenant_catalog(&caller.tenant).await?;
    let tid = caller.tenant.id.to_string();
    let values = subs
        .iter()
        .map(|s| Value::Object(subscription_value(s, &catalog, &tid)))
        .collect();
    Ok(json(
        StatusCode::OK,
        collection(
            format!("{}/$metadata#directory/subscriptions", base.graph),
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
) -> GraphResult<Response> {
    deny_unless(&caller, Action::ReadLicenses)?;
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
            format!("{}/$metadata#directory/subscriptions/$entity", base.graph),
            subscription_value(s, &catalog, &caller.tenant.id.to_string()),
        ),
    ))
}

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
    m
}

pub async fn organization(
    State(_st): State<GraphState>,
    caller: Caller,
    base: Base,
) -> GraphResult<Response> {
    // Graph's least privilege for the organization is User.Read.
    if !caller.actor.may(Action::ReadLicenses) && !caller.actor.may(Action::ReadOwnProfile) {
        return Err(GraphError::forbidden());
    }
    Ok(json(
        StatusCode::OK,
        collection(
            format!("{}/$metadata#organization", base.graph),
            None,
            vec![Value::Object(organization_value(&caller.tenant))],
            None,
        ),
    ))
}

pub async fn organization_item(
    State(_st): State<GraphState>,
    caller: Caller,
    base: Base,
    Path(id): Path<String>,
) -> GraphResult<Response> {
    // Graph's least privilege for the organization is User.Read.
    if !caller.actor.may(Action::ReadLicenses) && !caller.actor.may(Action::ReadOwnProfile) {
        return Err(GraphError::forbidden());
    }
    if !id.eq_ignore_ascii_case(&caller.tenant.id.to_string()) {
        return Err(GraphError::not_found(&id));
    }
    Ok(json(
        StatusCode::OK,
        entity(
            format!("{}/$metadata#organization/$entity", base.graph),
            organization_value(&caller.tenant),
        ),
    ))
}
