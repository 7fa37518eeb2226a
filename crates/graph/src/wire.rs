//! Graph's JSON shapes (graph-api.md §1–§7): users, groups, products, license details,
//! subscriptions, audit events. Only this module knows the property names.

use serde_json::{json, Map, Value};
use skuld_app::{SkuRow, UserLicensing};
use skuld_domain::catalog::AppliesTo;
use skuld_domain::licensing::{PathStatus, Source};
use skuld_domain::{Catalog, Group, GroupKind, PlanId, SkuId, Timestamp, User};

pub fn dt(t: Timestamp) -> Value {
    Value::String(t.to_rfc3339())
}

fn opt(v: &Option<String>) -> Value {
    v.as_ref()
        .map(|s| Value::String(s.clone()))
        .unwrap_or(Value::Null)
}

/// The properties of a user returned when `$select` is absent (graph-api.md §1.1).
pub const USER_DEFAULT: &[&str] = &[
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
    "id",
];

/// User properties that need the derived license data.
pub const USER_LICENSE_PROPS: &[&str] = &[
    "assignedLicenses",
    "assignedPlans",
    "provisionedPlans",
    "licenseAssignmentStates",
];

/// Whether rendering these properties needs [`UserLicensing`].
pub fn needs_licensing(select: Option<&[String]>) -> bool {
    select.is_some_and(|s| s.iter().any(|p| USER_LICENSE_PROPS.contains(&p.as_str())))
}

fn assigned_license(sku: SkuId, disabled: &[PlanId]) -> Value {
    json!({
        "disabledPlans": disabled.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
        "skuId": sku.to_string(),
    })
}

fn license_props(lic: &UserLicensing, catalog: &Catalog, prop: &str) -> Value {
    match prop {
        "assignedLicenses" => Value::Array(
            lic.assigned
                .iter()
                .map(|(s, d)| assigned_license(*s, d))
                .collect(),
        ),
        "assignedPlans" | "provisionedPlans" => {
            let mut out = Vec::new();
            for (sku, disabled) in &lic.assigned {
                let since = lic
                    .states
                    .iter()
                    .filter(|s| s.sku == *sku && s.applied)
                    .map(|s| s.since)
                    .min()
                    .unwrap_or(Timestamp(0));
                let Some(p) = catalog.product(sku) else {
                    continue;
                };
                for plan in p.plans.iter().filter(|x| !disabled.contains(x)) {
                    let name = catalog.plan(plan).map(|x| x.name.as_str()).unwrap_or("");
                    if prop == "assignedPlans" {
                        out.push(json!({
                            "assignedDateTime": dt(since),
                            "capabilityStatus": "Enabled",
                            "service": skuld_domain::query::plan_service(name),
                            "servicePlanId": plan.to_string(),
                        }));
                    } else {
                        out.push(json!({
                            "capabilityStatus": "Enabled",
                            "provisioningStatus": "Success",
                            "service": skuld_domain::query::plan_service(name),
                        }));
                    }
                }
            }
            Value::Array(out)
        }
        _ => Value::Array(
            lic.states
                .iter()
                .map(|s| {
                    json!({
                        "assignedByGroup": match s.source { Source::Direct => Value::Null, Source::Group(g) => Value::String(g.to_string()) },
                        "disabledPlans": s.disabled_plans.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
                        "error": s.error.to_string(),
                        "lastUpdatedDateTime": dt(s.updated_at),
                        "skuId": s.sku.to_string(),
                        "state": match s.status {
                            PathStatus::Active => "Active",
                            PathStatus::ActiveWithError => "ActiveWithError",
                            PathStatus::Disabled => "Disabled",
                            PathStatus::Error => "Error",
                        },
                    })
                })
                .collect(),
        ),
    }
}

/// One user property.
fn user_prop(u: &User, lic: Option<&UserLicensing>, catalog: &Catalog, p: &str) -> Value {
    match p {
        "id" => Value::String(u.id.to_string()),
        "businessPhones" => Value::Array(
            u.business_phone
                .iter()
                .map(|s| Value::String(s.clone()))
                .collect(),
        ),
        "displayName" => Value::String(u.display_name.clone()),
        "givenName" => opt(&u.given_name),
        "jobTitle" => opt(&u.job_title),
        "mail" => opt(&u.mail),
        "mobilePhone" => opt(&u.mobile_phone),
        "officeLocation" => opt(&u.office_location),
        "preferredLanguage" => Value::Null,
        "surname" => opt(&u.surname),
        "userPrincipalName" => Value::String(u.upn.clone()),
        "accountEnabled" => Value::Bool(u.account_enabled),
        "usageLocation" => u
            .usage_location
            .as_ref()
            .map(|l| Value::String(l.as_str().to_string()))
            .unwrap_or(Value::Null),
        "userType" => Value::String(u.user_type.as_str().to_string()),
        "department" => opt(&u.department),
        "companyName" => opt(&u.company_name),
        "employeeId" => opt(&u.employee_id),
        "faxNumber" => opt(&u.fax),
        "streetAddress" => opt(&u.street_address),
        "city" => opt(&u.city),
        "state" => opt(&u.state),
        "postalCode" => opt(&u.postal_code),
        "country" => opt(&u.country),
        "mailNickname" => Value::String(u.mail_nickname.clone()),
        "createdDateTime" => dt(u.created_at),
        "deletedDateTime" => u.deleted_at.map(dt).unwrap_or(Value::Null),
        "onPremisesSyncEnabled" => u
            .on_premises_sync_enabled
            .map(Value::Bool)
            .unwrap_or(Value::Null),
        "proxyAddresses" => Value::Array(
            u.mail
                .iter()
                .map(|m| Value::String(format!("SMTP:{m}")))
                .collect(),
        ),
        "otherMails" | "imAddresses" => json!([]),
        "passwordProfile" => Value::Null,
        other if USER_LICENSE_PROPS.contains(&other) => match lic {
            Some(l) => license_props(l, catalog, other),
            None => license_props(&UserLicensing::default(), catalog, other),
        },
        // Declared by Graph, not stored by skuld.
        other => crate::metadata::absent("user", other),
    }
}

/// A user with the selected (or default) properties.
pub fn user(
    u: &User,
    lic: Option<&UserLicensing>,
    catalog: &Catalog,
    select: Option<&[String]>,
) -> Map<String, Value> {
    let mut m = Map::new();
    match select {
        Some(s) => {
            for p in s {
                m.insert(p.clone(), user_prop(u, lic, catalog, p));
            }
        }
        None => {
            for p in USER_DEFAULT {
                m.insert((*p).to_string(), user_prop(u, lic, catalog, p));
            }
        }
    }
    m
}

/// The group properties returned by default, in Graph's order (the "List groups" response
/// of Graph's v1.0 reference). `creationOptions`, which Graph also returns, is not declared in
/// the v1.0 CSDL and is left out.
pub const GROUP_DEFAULT: &[&str] = &[
    "id",
    "deletedDateTime",
    "classification",
    "createdDateTime",
    "description",
    "displayName",
    "expirationDateTime",
    "groupTypes",
    "isAssignableToRole",
    "mail",
    "mailEnabled",
    "mailNickname",
    "membershipRule",
    "membershipRuleProcessingState",
    "onPremisesDomainName",
    "onPremisesLastSyncDateTime",
    "onPremisesNetBiosName",
    "onPremisesSamAccountName",
    "onPremisesSecurityIdentifier",
    "onPremisesSyncEnabled",
    "preferredDataLocation",
    "preferredLanguage",
    "proxyAddresses",
    "renewedDateTime",
    "resourceBehaviorOptions",
    "resourceProvisioningOptions",
    "securityEnabled",
    "securityIdentifier",
    "theme",
    "uniqueName",
    "visibility",
    "onPremisesProvisioningErrors",
    "serviceProvisioningErrors",
];

/// Extra group data that comes from other tables.
#[derive(Debug, Clone, Default)]
pub struct GroupExtra {
    pub licenses: Vec<(SkuId, Vec<PlanId>)>,
    pub processing: Option<String>,
    pub tenant_domain: String,
}

impl GroupExtra {
    /// The group's licenses from the tenant's map, without a processing state.
    pub fn of(
        g: &Group,
        licenses: &std::collections::HashMap<skuld_domain::GroupId, Vec<(SkuId, Vec<PlanId>)>>,
        tenant_domain: &str,
    ) -> Self {
        GroupExtra {
            licenses: licenses.get(&g.id).cloned().unwrap_or_default(),
            processing: None,
            tenant_domain: tenant_domain.to_string(),
        }
    }
}

fn group_prop(g: &Group, x: &GroupExtra, p: &str) -> Value {
    let unified = g.kind == GroupKind::Microsoft365;
    match p {
        "id" => Value::String(g.id.to_string()),
        "deletedDateTime"
        | "classification"
        | "expirationDateTime"
        | "onPremisesSyncEnabled"
        | "preferredDataLocation"
        | "preferredLanguage"
        | "theme" => Value::Null,
        "createdDateTime" | "renewedDateTime" => dt(g.created_at),
        "resourceBehaviorOptions" | "resourceProvisioningOptions" => json!([]),
        "description" => opt(&g.description),
        "displayName" => Value::String(g.display_name.clone()),
        "groupTypes" => {
            let mut t = Vec::new();
            if unified {
                t.push("Unified");
            }
            if g.is_dynamic() {
                t.push("DynamicMembership");
            }
            json!(t)
        }
        "isAssignableToRole" => Value::Bool(false),
        "mail" => {
            if g.mail_enabled {
                Value::String(format!("{}@{}", g.mail_nickname, x.tenant_domain))
            } else {
                Value::Null
            }
        }
        "mailEnabled" => Value::Bool(g.mail_enabled),
        "mailNickname" => Value::String(g.mail_nickname.clone()),
        "membershipRule" => opt(&g.membership_rule),
        "membershipRuleProcessingState" => {
            if g.is_dynamic() {
                Value::String(if g.rule_paused { "Paused" } else { "On" }.into())
            } else {
                Value::Null
            }
        }
        "proxyAddresses" => {
            if g.mail_enabled {
                json!([format!("SMTP:{}@{}", g.mail_nickname, x.tenant_domain)])
            } else {
                json!([])
            }
        }
        "securityEnabled" => Value::Bool(g.security_enabled),
        "securityIdentifier" => {
            let b = g.id.0.as_u128();
            Value::String(format!(
                "S-1-12-1-{}-{}-{}-{}",
                (b >> 96) as u32,
                (b >> 64) as u32,
                (b >> 32) as u32,
                b as u32
            ))
        }
        "visibility" => {
            if unified {
                Value::String("Private".into())
            } else {
                Value::Null
            }
        }
        "assignedLicenses" => Value::Array(
            x.licenses
                .iter()
                .map(|(s, d)| assigned_license(*s, d))
                .collect(),
        ),
        "licenseProcessingState" => json!({
            "state": x.processing.clone().unwrap_or_else(|| "ProcessingComplete".into())
        }),
        // Declared by Graph, not stored by skuld (the onPremises* of a cloud-only group).
        other => crate::metadata::absent("group", other),
    }
}

pub fn group(g: &Group, x: &GroupExtra, select: Option<&[String]>) -> Map<String, Value> {
    let mut m = Map::new();
    match select {
        Some(s) => {
            for p in s {
                m.insert(p.clone(), group_prop(g, x, p));
            }
        }
        None => {
            for p in GROUP_DEFAULT {
                m.insert((*p).to_string(), group_prop(g, x, p));
            }
        }
    }
    m
}

/// Puts `@odata.type` first, for directoryObject-typed results.
pub fn typed(kind: &str, m: Map<String, Value>) -> Value {
    let mut out = Map::new();
    out.insert(
        "@odata.type".into(),
        Value::String(format!("#microsoft.graph.{kind}")),
    );
    out.extend(m);
    Value::Object(out)
}

fn plan_infos(catalog: &Catalog, sku: &SkuId, disabled: &[PlanId], applies_to: &str) -> Value {
    let Some(p) = catalog.product(sku) else {
        return json!([]);
    };
    Value::Array(
        p.plans
            .iter()
            .map(|id| {
                let name = catalog.plan(id).map(|x| x.name.clone()).unwrap_or_default();
                json!({
                    "servicePlanId": id.to_string(),
                    "servicePlanName": name,
                    "provisioningStatus": if disabled.contains(id) { "Disabled" } else { "Success" },
                    "appliesTo": applies_to,
                })
            })
            .collect(),
    )
}

/// Units of a product by subscription status (Graph `licenseUnitsDetail`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Units {
    pub enabled: i64,
    pub warning: i64,
    pub suspended: i64,
    pub locked_out: i64,
}

pub fn subscribed_sku(
    tenant: &str,
    row: &SkuRow,
    units: Units,
    subscription_ids: &[String],
    catalog: &Catalog,
) -> Map<String, Value> {
    let applies = match catalog.product(&row.sku_id).map(|p| p.applies_to) {
        Some(AppliesTo::Company) => "Company",
        _ => "User",
    };
    let mut m = Map::new();
    m.insert("accountName".into(), Value::String(tenant.to_string()));
    m.insert("accountId".into(), Value::String(tenant.to_string()));
    m.insert("appliesTo".into(), Value::String(applies.into()));
    m.insert("capabilityStatus".into(), Value::String(row.status.clone()));
    m.insert("consumedUnits".into(), json!(row.assigned));
    m.insert(
        "id".into(),
        Value::String(format!("{tenant}_{}", row.sku_id)),
    );
    m.insert(
        "prepaidUnits".into(),
        json!({"enabled": units.enabled, "lockedOut": units.locked_out, "suspended": units.suspended, "warning": units.warning}),
    );
    m.insert(
        "servicePlans".into(),
        plan_infos(catalog, &row.sku_id, &[], applies),
    );
    m.insert("skuId".into(), Value::String(row.sku_id.to_string()));
    m.insert(
        "skuPartNumber".into(),
        Value::String(row.part_number.clone()),
    );
    m.insert("subscriptionIds".into(), json!(subscription_ids));
    m
}

/// `licenseDetails.id`: base64url of the user id and the SKU id in .NET byte order (§2.3).
pub fn license_detail_id(user: uuid::Uuid, sku: SkuId) -> String {
    use base64::Engine;
    let mut b = Vec::with_capacity(32);
    b.extend_from_slice(&user.to_bytes_le());
    b.extend_from_slice(&sku.0.to_bytes_le());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

pub fn license_detail(
    user: uuid::Uuid,
    sku: SkuId,
    disabled: &[PlanId],
    catalog: &Catalog,
) -> Value {
    json!({
        "id": license_detail_id(user, sku),
        "skuId": sku.to_string(),
        "skuPartNumber": catalog.product(&sku).map(|p| p.part_number.clone()).unwrap_or_default(),
        "servicePlans": plan_infos(catalog, &sku, disabled, "User"),
    })
}
