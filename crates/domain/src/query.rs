//! List queries over users and groups: which objects (a filter and a search), in which order,
//! and from where (an opaque cursor). The protocol crates parse their query language into this
//! tree; the store turns it into SQL. Nothing here knows either side.

use crate::catalog::Catalog;
use crate::ids::{PlanId, SkuId};
use crate::values::Timestamp;
use uuid::Uuid;

/// A literal a property is compared with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Str(String),
    Bool(bool),
    Int(i64),
    Guid(Uuid),
    Time(Timestamp),
    Null,
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// What a property holds, which decides the literals it can be compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldKind {
    /// The object id (a GUID, compared as text).
    Id,
    Text,
    Bool,
    Time,
}

/// A property of a user or a group that can be filtered or ordered on. Which properties a
/// resource has, and which operators each supports, is decided where the query is parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    // users and groups
    Id,
    DisplayName,
    MailNickname,
    CreatedDateTime,
    // users
    GivenName,
    Surname,
    UserPrincipalName,
    Mail,
    UsageLocation,
    UserType,
    AccountEnabled,
    JobTitle,
    Department,
    CompanyName,
    City,
    Country,
    State,
    PostalCode,
    StreetAddress,
    OfficeLocation,
    MobilePhone,
    FaxNumber,
    EmployeeId,
    DeletedDateTime,
    OnPremisesSyncEnabled,
    // groups
    Description,
    SecurityEnabled,
    MailEnabled,
    MembershipRule,
    /// `On` or `Paused` for dynamic groups, null for static ones.
    MembershipRuleProcessingState,
}

impl Field {
    pub fn kind(&self) -> FieldKind {
        match self {
            Field::Id => FieldKind::Id,
            Field::AccountEnabled
            | Field::OnPremisesSyncEnabled
            | Field::SecurityEnabled
            | Field::MailEnabled => FieldKind::Bool,
            Field::CreatedDateTime | Field::DeletedDateTime => FieldKind::Time,
            _ => FieldKind::Text,
        }
    }
}

/// A condition on a single service plan of an object (`assignedPlans/any(p: …)`); every given
/// part must hold for the same plan.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PlanCond {
    pub plan: Option<PlanId>,
    /// `capabilityStatus`; skuld knows only `Enabled` plans, so any other value matches nothing.
    pub capability_status: Option<String>,
    /// `service`, compared case-insensitively with [`plan_service`] of the plan's name.
    pub service: Option<TextMatch>,
}

/// Equality or prefix match of a text, case-insensitive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextMatch {
    Eq(String),
    StartsWith(String),
}

impl TextMatch {
    pub fn matches(&self, s: &str) -> bool {
        let s = s.to_lowercase();
        match self {
            TextMatch::Eq(v) => s == v.to_lowercase(),
            TextMatch::StartsWith(v) => s.starts_with(&v.to_lowercase()),
        }
    }
}

/// Which objects a list returns. String comparisons are case-insensitive; a comparison with a
/// property that is null is false (so `Not` of it is true).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    And(Vec<Filter>),
    Or(Vec<Filter>),
    Not(Box<Filter>),
    /// `eq null` / `ne null` are `Compare` with [`Value::Null`].
    Compare {
        field: Field,
        op: Cmp,
        value: Value,
    },
    In {
        field: Field,
        values: Vec<Value>,
    },
    StartsWith {
        field: Field,
        prefix: String,
    },
    EndsWith {
        field: Field,
        suffix: String,
    },
    /// Holds (a user) or assigns (a group) at least one of these products
    /// (`assignedLicenses/any(a:a/skuId eq X)`). A user holds a product when at least one of its
    /// paths to it is applied.
    HasLicense(Vec<SkuId>),
    /// `assignedPlans/any(…)` as parsed; [`Filter::resolve_plans`] turns it into
    /// [`Filter::HasEnabledPlan`], which is what the store understands.
    HasPlan(PlanCond),
    /// The user holds one of these products with the paired plan not disabled on at least one
    /// applied path.
    HasEnabledPlan(Vec<(SkuId, PlanId)>),
    /// The number of distinct products held (users) or assigned (groups) compared with `n`
    /// (`assignedLicenses/$count eq 0`).
    LicenseCount {
        op: Cmp,
        n: i64,
    },
    /// `groupTypes/any(c:c eq 'Unified')`: `Unified` (Microsoft 365 groups) and
    /// `DynamicMembership` are known, case-insensitively; anything else matches nothing.
    GroupType(String),
    /// Groups with (true) or without (false) a member whose license from the group is in error.
    HasMembersWithLicenseErrors(bool),
    /// Always true or always false.
    Const(bool),
}

impl Filter {
    /// Replaces every [`Filter::HasPlan`] by the products and plans of `catalog` that satisfy
    /// it. The plan's service is [`plan_service`] of its name.
    pub fn resolve_plans(self, catalog: &Catalog) -> Filter {
        match self {
            Filter::And(v) => {
                Filter::And(v.into_iter().map(|f| f.resolve_plans(catalog)).collect())
            }
            Filter::Or(v) => Filter::Or(v.into_iter().map(|f| f.resolve_plans(catalog)).collect()),
            Filter::Not(f) => Filter::Not(Box::new(f.resolve_plans(catalog))),
            Filter::HasPlan(cond) => {
                if let Some(s) = &cond.capability_status {
                    if !s.eq_ignore_ascii_case("Enabled") {
                        return Filter::Const(false);
                    }
                }
                let mut pairs = Vec::new();
                for product in catalog.products() {
                    for plan in &product.plans {
                        if cond.plan.is_some_and(|p| p != *plan) {
                            continue;
                        }
                        if let Some(m) = &cond.service {
                            let name = catalog.plan(plan).map(|p| p.name.as_str()).unwrap_or("");
                            if !m.matches(plan_service(name)) {
                                continue;
                            }
                        }
                        pairs.push((product.sku_id, *plan));
                    }
                }
                pairs.sort();
                if pairs.is_empty() {
                    Filter::Const(false)
                } else {
                    Filter::HasEnabledPlan(pairs)
                }
            }
            other => other,
        }
    }

    /// True if the tree still holds an unresolved [`Filter::HasPlan`].
    pub fn needs_catalog(&self) -> bool {
        match self {
            Filter::And(v) | Filter::Or(v) => v.iter().any(Filter::needs_catalog),
            Filter::Not(f) => f.needs_catalog(),
            Filter::HasPlan(_) => true,
            _ => false,
        }
    }
}

/// Graph's `assignedPlan.service` for a service plan, from the plan's name
/// (`EXCHANGE_S_ENTERPRISE` → `exchange`). Unknown plans are their own service.
pub fn plan_service(plan_name: &str) -> &str {
    let n = plan_name.to_ascii_uppercase();
    const TABLE: &[(&str, &str)] = &[
        ("EXCHANGE", "exchange"),
        ("EOP_", "exchange"),
        ("SHAREPOINT", "SharePoint"),
        ("ONEDRIVE", "SharePoint"),
        ("MCO", "MicrosoftCommunicationsOnline"),
        ("TEAMS", "TeamspaceAPI"),
        ("OFFICESUBSCRIPTION", "MicrosoftOffice"),
        ("OFFICE_", "MicrosoftOffice"),
        ("INTUNE", "SCO"),
        ("AAD_PREMIUM", "AADPremiumService"),
        ("RMS_S_", "RMSOnline"),
        ("YAMMER", "YammerEnterprise"),
        ("POWERAPPS", "PowerAppsService"),
        ("FLOW_", "ProcessSimple"),
        ("PROJECTWORKMANAGEMENT", "ProjectWorkManagement"),
        ("SWAY", "Sway"),
        ("FORMS_", "OfficeForms"),
        ("STREAM_", "MicrosoftStream"),
        ("BI_AZURE", "PowerBI"),
        ("DESKLESS", "Deskless"),
        ("WHITEBOARD", "WhiteboardServices"),
        ("MICROSOFTBOOKINGS", "MicrosoftBookings"),
    ];
    TABLE
        .iter()
        .find(|(prefix, _)| n.starts_with(prefix))
        .map(|(_, s)| *s)
        .unwrap_or(plan_name)
}

/// One `"property:text"` clause of a search, or a combination of them. A clause matches when
/// one of the property's words starts with the text (case-insensitive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Search {
    Term { field: Field, text: String },
    And(Vec<Search>),
    Or(Vec<Search>),
}

/// One sort key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Order {
    pub field: Field,
    pub descending: bool,
}

/// A page of a list of users or groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    pub filter: Option<Filter>,
    pub search: Option<Search>,
    /// Sort keys; the object id always breaks ties (and is the whole order when this is empty).
    pub order: Vec<Order>,
    /// Opaque cursor returned as [`Page::next`] by the previous page of the same query.
    pub after: Option<String>,
    /// Page size.
    pub limit: u32,
    /// Soft-deleted users instead of live ones (ignored for groups).
    pub deleted: bool,
}

impl Default for ListQuery {
    fn default() -> Self {
        Self {
            filter: None,
            search: None,
            order: Vec::new(),
            after: None,
            limit: 100,
            deleted: false,
        }
    }
}

impl ListQuery {
    /// The query with every [`Filter::HasPlan`] resolved against `catalog`.
    pub fn resolve_plans(mut self, catalog: &Catalog) -> ListQuery {
        self.filter = self.filter.map(|f| f.resolve_plans(catalog));
        self
    }
}

/// One page of results and the cursor of the next one (None on the last page).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_services_follow_graph_names() {
        assert_eq!(plan_service("EXCHANGE_S_ENTERPRISE"), "exchange");
        assert_eq!(plan_service("MCOSTANDARD"), "MicrosoftCommunicationsOnline");
        assert_eq!(plan_service("SHAREPOINTENTERPRISE"), "SharePoint");
        assert_eq!(plan_service("Custom_Plan"), "Custom_Plan");
    }

    #[test]
    fn has_plan_resolves_to_products_containing_the_plan() {
        let cat = Catalog::microsoft();
        let product = cat.products().find(|p| !p.plans.is_empty()).unwrap();
        let plan = product.plans[0];
        let f = Filter::Not(Box::new(Filter::HasPlan(PlanCond {
            plan: Some(plan),
            capability_status: Some("enabled".into()),
            service: None,
        })));
        assert!(f.needs_catalog());
        let r = f.resolve_plans(&cat);
        assert!(!r.needs_catalog());
        let Filter::Not(inner) = r else {
            panic!("not kept")
        };
        let Filter::HasEnabledPlan(pairs) = *inner else {
            panic!("not resolved: {inner:?}")
        };
        assert!(pairs.contains(&(product.sku_id, plan)));
        assert!(pairs.iter().all(|(_, p)| *p == plan));
        let deleted = Filter::HasPlan(PlanCond {
            plan: Some(plan),
            capability_status: Some("Deleted".into()),
            service: None,
        });
        assert_eq!(deleted.resolve_plans(&cat), Filter::Const(false));
        let unknown = Filter::HasPlan(PlanCond {
            plan: Some(PlanId::new()),
            ..Default::default()
        });
        assert_eq!(unknown.resolve_plans(&cat), Filter::Const(false));
        let exchange = Filter::HasPlan(PlanCond {
            service: Some(TextMatch::StartsWith("EXCH".into())),
            ..Default::default()
        })
        .resolve_plans(&cat);
        let Filter::HasEnabledPlan(pairs) = exchange else {
            panic!("no exchange plans")
        };
        assert!(pairs
            .iter()
            .all(|(_, p)| plan_service(&cat.plan(p).unwrap().name) == "exchange"));
    }
}
