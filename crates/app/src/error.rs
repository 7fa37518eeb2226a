//! Errors of the use cases. A licensing or directory refusal ([`Refusal`]) carries what happened
//! as data — products, users, groups, plans, counts — and is rendered twice from it: Graph's exact
//! text ([`Refusal::graph_text`], graph-api.md §1.3, §2.1, because scripts match on it) and the
//! admin's sentence ([`Refusal::admin_text`], what `Display` prints: the CLI and the admin center),
//! which names things by name and says what to do next.

use skuld_domain::{SkuId, SubscriptionId};
use skuld_store::StoreError;
use std::fmt::Write as _;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The object does not exist (Graph 404 `Request_ResourceNotFound`).
    #[error("{0}")]
    NotFound(String),
    /// The request breaks a rule (Graph 400 `Request_BadRequest`).
    #[error("{0}")]
    BadRequest(String),
    /// The actor lacks the right (Graph 403 `Authorization_RequestDenied`).
    #[error("{0}")]
    Forbidden(String),
    /// A refusal with its facts; `Display` is the admin's sentence.
    #[error("{}", .0.admin_text())]
    Refused(Box<Refusal>),
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl AppError {
    pub(crate) fn not_found(key: &str) -> Self {
        AppError::NotFound(graph_not_found(key))
    }
    pub(crate) fn forbidden() -> Self {
        AppError::Forbidden("Insufficient privileges to complete the operation.".into())
    }
    /// The refusal, if this is one.
    pub fn refusal(&self) -> Option<&Refusal> {
        match self {
            AppError::Refused(r) => Some(r),
            _ => None,
        }
    }
}

impl From<Refusal> for AppError {
    fn from(r: Refusal) -> Self {
        AppError::Refused(Box::new(r))
    }
}

impl From<Problem> for AppError {
    fn from(p: Problem) -> Self {
        Refusal::one(p).into()
    }
}

fn graph_not_found(key: &str) -> String {
    format!(
        "Resource '{key}' does not exist or one of its queried reference-property objects are not present."
    )
}

/// A product as the admin knows it: its friendly name and its part number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductRef {
    pub sku: SkuId,
    /// `ENTERPRISEPACK`: what `skuld` commands accept.
    pub part: String,
    /// `Office 365 E3`, the catalog's product name.
    pub name: String,
}

/// A service plan: Graph's `servicePlanName` and its friendly name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanRef {
    pub name: String,
    pub friendly: String,
}

impl ProductRef {
    /// The product as the catalog names it (its skuId when the catalog does not know it).
    pub(crate) fn of(catalog: &skuld_domain::Catalog, sku: SkuId) -> Self {
        match catalog.product(&sku) {
            Some(p) => ProductRef {
                sku,
                part: p.part_number.clone(),
                name: if p.display_name.is_empty() {
                    p.part_number.clone()
                } else {
                    p.display_name.clone()
                },
            },
            None => ProductRef {
                sku,
                part: sku.to_string(),
                name: sku.to_string(),
            },
        }
    }
}

impl PlanRef {
    pub(crate) fn of(catalog: &skuld_domain::Catalog, plan: &skuld_domain::PlanId) -> Self {
        match catalog.plan(plan) {
            Some(p) => PlanRef {
                name: p.name.clone(),
                friendly: p.friendly_name.clone(),
            },
            None => PlanRef {
                name: plan.to_string(),
                friendly: plan.to_string(),
            },
        }
    }

    fn admin(&self) -> String {
        if self.friendly.is_empty() || self.friendly == self.name {
            self.name.clone()
        } else {
            format!("{} ({})", self.friendly, self.name)
        }
    }
}

/// How Graph classes a problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalKind {
    /// 404 `Request_ResourceNotFound`.
    NotFound,
    /// 400 `Request_BadRequest`.
    BadRequest,
}

/// One thing that stopped a command, with the objects involved. Users are named by UPN,
/// groups by display name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    UnknownUser {
        key: String,
        /// Close matches the caller found (the CLI fills these in).
        close: Vec<String>,
    },
    UnknownGroup {
        key: String,
        close: Vec<String>,
    },
    UnknownSubscription {
        key: String,
    },
    /// A member to add or remove that is neither a user nor a group.
    UnknownMember {
        key: String,
    },
    AmbiguousGroup {
        key: String,
        count: usize,
    },
    /// Graph rows 4: the tenant has no (live) subscription of the product; `product` is None
    /// when the catalog does not know it either.
    ProductNotInTenant {
        sku: SkuId,
        product: Option<ProductRef>,
    },
    /// Graph row 11.
    CompanyProduct {
        product: ProductRef,
    },
    /// D9: every subscription of the product is a self-service purchase.
    SelfService {
        product: ProductRef,
        /// The subscriptions with the UPN of their purchaser.
        subscriptions: Vec<(SubscriptionId, String)>,
    },
    PlanNotInProduct {
        product: ProductRef,
        plan: String,
    },
    /// Graph row 5: a direct license needs the user's own usage location (U1, D6).
    NoUsageLocation {
        user: String,
        products: Vec<ProductRef>,
        /// The tenant's country, as an example of a location.
        example: String,
    },
    /// Every plan of the product that the user's usage location prohibits (C4), at once.
    ProhibitedInLocation {
        user: String,
        product: ProductRef,
        location: String,
        plans: Vec<PlanRef>,
    },
    /// Graph row 6, G13, D10: the license comes from groups.
    Inherited {
        user: String,
        product: ProductRef,
        /// The groups that assign the product, each with the user's direct group through which
        /// the user is a member (the same group unless nested).
        groups: Vec<(String, String)>,
    },
    /// Graph row 7.
    NotAssigned {
        user: String,
        product: ProductRef,
    },
    /// Graph row 8, counted over the whole command.
    NoSeats {
        product: ProductRef,
        capacity: i64,
        /// Assigned before the command.
        assigned: i64,
        /// The users who did not get a seat.
        users: Vec<String>,
        /// Assignable subscriptions of the product with their seats.
        subscriptions: Vec<(SubscriptionId, i64)>,
    },
    /// Graph row 9, C1, D11.
    Conflict {
        user: String,
        product: ProductRef,
        plan: PlanRef,
        other_product: Option<ProductRef>,
        other_plan: PlanRef,
    },
    /// Graph row 10: a plan of the product needs one of `requires`, which the user lacks.
    Dependency {
        user: String,
        product: ProductRef,
        plan: PlanRef,
        requires: Vec<PlanRef>,
    },
    /// D12: removing the product would take away what another plan needs.
    RemovalBreaksDependency {
        user: String,
        product: ProductRef,
        dependent: PlanRef,
        dependent_product: Option<ProductRef>,
        requires: Vec<PlanRef>,
    },
    /// Any other reason the engine gave.
    NotAssignable {
        user: String,
        product: ProductRef,
        detail: String,
    },
    /// G11: a group's dependent plan needs its prerequisite in the same group.
    GroupDependency {
        group: String,
        plan: PlanRef,
        requires: Vec<PlanRef>,
    },
    GroupNotLicensable {
        group: String,
    },
    GroupLacksLicense {
        group: String,
        product: ProductRef,
    },
    /// D10: a licensed group cannot be deleted.
    GroupHasLicenses {
        group: String,
        products: Vec<ProductRef>,
    },
    DynamicMembers {
        group: String,
        rule: String,
    },
    AlreadyMember {
        group: String,
        member: String,
    },
    NotMember {
        group: String,
        member: String,
    },
    /// D2.
    Cycle {
        group: String,
        member: String,
    },
    /// Clearing the usage location would take these direct licenses away (never silently).
    LocationNeeded {
        user: String,
        products: Vec<ProductRef>,
    },
    /// M-BUY: seats below what is assigned.
    SeatsBelowAssigned {
        product: ProductRef,
        subscription: SubscriptionId,
        assigned: i64,
        requested: i64,
    },
    NotSelfService {
        subscription: SubscriptionId,
        product: ProductRef,
    },
    DuplicateUpn {
        upn: String,
    },
    UnverifiedDomain {
        upn: String,
        domains: Vec<String>,
    },
    WeakPassword {
        why: String,
    },
    /// A property of a user or group that is missing or invalid.
    Property {
        resource: &'static str,
        property: &'static str,
        value: Option<String>,
    },
}

/// Everything that stopped one command, in the order found. Graph answers with the first
/// problem (a Graph call names one object); the admin reads all of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub problems: Vec<Problem>,
}

impl Refusal {
    pub fn one(p: Problem) -> Self {
        Refusal { problems: vec![p] }
    }

    pub fn kind(&self) -> RefusalKind {
        self.problems
            .first()
            .map(Problem::kind)
            .unwrap_or(RefusalKind::BadRequest)
    }

    /// Graph's exact message: the first problem's.
    pub fn graph_text(&self) -> String {
        self.problems
            .first()
            .map(Problem::graph_text)
            .unwrap_or_default()
    }

    /// The admin's text: one sentence per problem.
    pub fn admin_text(&self) -> String {
        match self.problems.as_slice() {
            [] => "the command was refused".into(),
            [one] => one.admin_text(),
            many => {
                let mut s = format!("nothing was changed, because of {} problems:", many.len());
                for p in many {
                    let _ = write!(s, "\n  - {}", p.admin_text());
                }
                s
            }
        }
    }
}

fn list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

fn plans(p: &[PlanRef]) -> String {
    list(&p.iter().map(PlanRef::admin).collect::<Vec<_>>())
}

fn names(p: &[ProductRef]) -> String {
    list(&p.iter().map(|p| p.name.clone()).collect::<Vec<_>>())
}

fn close(c: &[String]) -> String {
    if c.is_empty() {
        String::new()
    } else {
        format!("; did you mean {}?", c.join(" or "))
    }
}

impl Problem {
    /// The users (UPNs, or the keys that named nobody) the problem is about; empty when it is
    /// not about particular users.
    pub fn users(&self) -> Vec<String> {
        match self {
            Problem::UnknownUser { key, .. } => vec![key.clone()],
            Problem::NoUsageLocation { user, .. }
            | Problem::ProhibitedInLocation { user, .. }
            | Problem::Inherited { user, .. }
            | Problem::NotAssigned { user, .. }
            | Problem::Conflict { user, .. }
            | Problem::Dependency { user, .. }
            | Problem::RemovalBreaksDependency { user, .. }
            | Problem::NotAssignable { user, .. }
            | Problem::LocationNeeded { user, .. } => vec![user.clone()],
            Problem::NoSeats { users, .. } => users.clone(),
            _ => Vec::new(),
        }
    }

    pub fn kind(&self) -> RefusalKind {
        match self {
            Problem::UnknownUser { .. }
            | Problem::UnknownGroup { .. }
            | Problem::UnknownSubscription { .. }
            | Problem::UnknownMember { .. } => RefusalKind::NotFound,
            _ => RefusalKind::BadRequest,
        }
    }

    /// Microsoft's text (or, where Graph has none, a sentence in Graph's style).
    pub fn graph_text(&self) -> String {
        use Problem::*;
        match self {
            UnknownUser { key, .. }
            | UnknownGroup { key, .. }
            | UnknownSubscription { key }
            | UnknownMember { key } => graph_not_found(key),
            AmbiguousGroup { key, count } => {
                format!("{count} groups are named '{key}': use the group's id")
            }
            ProductNotInTenant { sku, .. } => {
                format!("License {sku} does not correspond to a valid company License.")
            }
            CompanyProduct { product } => {
                format!("License {} cannot be assigned to a user.", product.sku)
            }
            SelfService { product, .. } => format!(
                "License {} belongs to a self-service purchase. An admin must take over the subscription before assigning or unassigning its licenses.",
                product.sku
            ),
            PlanNotInProduct { product, plan } => {
                format!("The service plan {plan} is not part of license {}.", product.sku)
            }
            NoUsageLocation { .. } | ProhibitedInLocation { .. } => {
                "License assignment cannot be done for user with invalid usage location.".into()
            }
            Inherited { .. } => "User license is inherited from a group membership and it cannot be removed directly from the user.".into(),
            NotAssigned { .. } => "User does not have a corresponding license.".into(),
            NoSeats { product, .. } => format!(
                "Subscription with SKU {} does not have any available licenses.",
                product.sku
            ),
            Conflict {
                plan, other_plan, ..
            } => format!(
                "License assignment failed because service plans {},{} are mutually exclusive",
                plan.name, other_plan.name
            ),
            Dependency { plan, requires, .. }
            | RemovalBreaksDependency {
                dependent: plan,
                requires,
                ..
            } => format!(
                "License assignment failed because service plan {} depends on the service plan(s) {}",
                plan.name,
                requires
                    .iter()
                    .map(|r| r.name.clone())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            NotAssignable { detail, .. } => format!("License assignment failed: {detail}"),
            GroupDependency { plan, requires, .. } => format!(
                "License operation failed. Make sure that the group has necessary services before adding or removing a dependent service. The service {} requires {} to be enabled as well.",
                plan.friendly,
                requires.first().map(|r| r.friendly.as_str()).unwrap_or_default()
            ),
            GroupNotLicensable { group } => format!(
                "Licenses can only be assigned to security-enabled groups; '{group}' is not security-enabled."
            ),
            GroupLacksLicense { product, .. } => {
                format!("License {} is not assigned to the group.", product.sku)
            }
            GroupHasLicenses { group, .. } => format!(
                "The group '{group}' has licenses assigned. Remove all licenses from the group before deleting it."
            ),
            DynamicMembers { group, .. } => format!(
                "The members of dynamic group '{group}' are set by its membership rule and cannot be added or removed manually."
            ),
            AlreadyMember { .. } => "One or more added object references already exist for the following modified properties: 'members'.".into(),
            NotMember { .. } => "One or more removed object references do not exist for the following modified properties: 'members'.".into(),
            Cycle { group, member } => {
                format!("adding '{member}' to '{group}' would create a cycle of nested groups")
            }
            // Graph does not document what it answers when a PATCH clears the usage location
            // of a user with direct licenses; this is a sentence in Graph's style (a 400
            // `Request_BadRequest`) rather than taking the licenses away silently.
            LocationNeeded { .. } => "The usage location cannot be removed because the user has licenses assigned directly. Remove the licenses first.".into(),
            SeatsBelowAssigned { assigned, .. } => format!(
                "You can't reduce the number of licenses below the {assigned} that are assigned: unassign licenses first"
            ),
            NotSelfService { .. } => "the subscription is not a self-service purchase".into(),
            DuplicateUpn { .. } => "Another object with the same value for property userPrincipalName already exists.".into(),
            UnverifiedDomain { .. } => "The domain portion of the userPrincipalName property is invalid. You must use one of the verified domain names in your organization.".into(),
            WeakPassword { .. } => "The specified password does not comply with password complexity requirements. Please provide a different password.".into(),
            Property {
                resource,
                property,
                value: None,
            } => format!("A value is required for property '{property}' of resource '{resource}'."),
            Property {
                resource, property, ..
            } => format!("Invalid value specified for property '{property}' of resource '{resource}'."),
        }
    }

    /// The admin's sentence: what is wrong, by name, and what to do next.
    pub fn admin_text(&self) -> String {
        use Problem::*;
        match self {
            UnknownUser { key, close: c } => format!(
                "there is no user '{key}' in this tenant (see `skuld user list`){}",
                self::close(c)
            ),
            UnknownGroup { key, close: c } => format!(
                "there is no group '{key}' in this tenant (see `skuld group list`){}",
                self::close(c)
            ),
            UnknownSubscription { key } => {
                format!("there is no subscription {key} (see `skuld subscription list`)")
            }
            UnknownMember { key } => format!(
                "there is no user or group '{key}' in this tenant (see `skuld user list` and `skuld group list`)"
            ),
            AmbiguousGroup { key, count } => format!(
                "{count} groups are named '{key}': name the one you mean by its id (see `skuld group list`)"
            ),
            ProductNotInTenant { product: Some(p), .. } => format!(
                "the tenant has no subscription of {} ({}): buy one with `skuld subscription add {} --seats N` (see `skuld sku list`)",
                p.name, p.part, p.part
            ),
            ProductNotInTenant { sku, product: None } => {
                format!("there is no product {sku} in the catalog (see `skuld sku list`)")
            }
            CompanyProduct { product } => format!(
                "{} ({}) is a product for the whole organisation and cannot be assigned to a user",
                product.name, product.part
            ),
            SelfService {
                product,
                subscriptions,
            } => {
                let subs: Vec<String> = subscriptions
                    .iter()
                    .map(|(id, owner)| format!("subscription {id}, bought by {owner}"))
                    .collect();
                let id = subscriptions
                    .first()
                    .map(|s| s.0.to_string())
                    .unwrap_or_else(|| "ID".into());
                format!(
                    "{} is a self-service purchase ({}): admins can assign or remove its licenses only after taking it over with `skuld subscription take-over {id}`",
                    product.name,
                    list(&subs)
                )
            }
            PlanNotInProduct { product, plan } => format!(
                "{} has no service plan {plan} (see `skuld sku plans {}`)",
                product.name, product.part
            ),
            NoUsageLocation {
                user,
                products,
                example,
            } => format!(
                "{user} has no usage location, which a direct license of {} needs: set one with `skuld user set {user} --location CC` (CC: the two-letter country where they use the services, e.g. {example})",
                names(products)
            ),
            ProhibitedInLocation {
                user,
                product,
                location,
                plans: ps,
            } => {
                let flags: Vec<String> = ps.iter().map(|p| format!("--disable {}", p.name)).collect();
                format!(
                    "{} of {} {} not available in {location}, the usage location of {user}: turn {} off with `{}` on the command, or change the location with `skuld user set {user} --location CC`",
                    plans(ps),
                    product.name,
                    if ps.len() == 1 { "is" } else { "are" },
                    if ps.len() == 1 { "it" } else { "them" },
                    flags.join(" ")
                )
            }
            Inherited {
                user,
                product,
                groups,
            } => {
                let granting: Vec<String> = groups.iter().map(|(g, _)| g.clone()).collect();
                let (g, via) = groups
                    .first()
                    .cloned()
                    .unwrap_or_else(|| ("G".into(), "G".into()));
                format!(
                    "{user} gets {} from group {}, not directly, so it cannot be removed on the user: remove it from the group with `skuld group license remove {g} {}` (for all its members), or take {user} out with `skuld group member remove {via} {user}`",
                    product.name,
                    list(&granting),
                    product.part
                )
            }
            NotAssigned { user, product } => format!(
                "{user} has no direct license of {}, so there is nothing to remove (see `skuld user show {user}`)",
                product.name
            ),
            NoSeats {
                product,
                capacity,
                assigned,
                users,
                subscriptions,
            } => {
                let free = (capacity - assigned).max(0);
                let needed = users.len() as i64;
                let state = if free == 0 {
                    format!("has no free licenses ({assigned} of {capacity} assigned)")
                } else {
                    format!("has only {free} free license(s) ({assigned} of {capacity} assigned)")
                };
                let buy = match subscriptions.as_slice() {
                    [] => format!("buy seats with `skuld subscription add {} --seats {needed}`", product.part),
                    [(id, units), rest @ ..] => {
                        let mut s = format!(
                            "buy seats with `skuld subscription set-seats {id} {}`",
                            units + needed
                        );
                        if !rest.is_empty() {
                            let others: Vec<String> = rest.iter().map(|(id, _)| id.to_string()).collect();
                            let _ = write!(s, " (or on subscription {})", list(&others));
                        }
                        s
                    }
                };
                format!(
                    "{} {state}; {needed} more {} needed for {}: {} — {buy} or free some",
                    product.name,
                    if needed == 1 { "is" } else { "are" },
                    if needed == 1 { "this user" } else { "these users" },
                    users.join(", ")
                )
            }
            Conflict {
                user,
                product,
                plan,
                other_product,
                other_plan,
            } => format!(
                "{} cannot be given to {user}: its plan {} conflicts with {}{} — turn one of them off (`--disable {}` on this command), or remove {} first",
                product.name,
                plan.admin(),
                other_plan.admin(),
                other_product
                    .as_ref()
                    .map(|o| format!(" of {}, which {user} already has", o.name))
                    .unwrap_or_default(),
                plan.name,
                other_product
                    .as_ref()
                    .map(|o| o.name.clone())
                    .unwrap_or_else(|| "the other license".into())
            ),
            Dependency {
                user,
                product,
                plan,
                requires,
            } => format!(
                "{} cannot be given to {user}: its plan {} needs {}{}, which {user} does not have — assign a product that includes it first, or turn the plan off with `--disable {}`",
                product.name,
                plan.admin(),
                if requires.len() > 1 { "one of " } else { "" },
                self::plans(requires),
                plan.name
            ),
            RemovalBreaksDependency {
                user,
                product,
                dependent,
                dependent_product,
                requires,
            } => format!(
                "removing {} from {user} would take away {}, which {}{} needs: remove {} first, or turn that plan off",
                product.name,
                self::plans(requires),
                dependent.admin(),
                dependent_product
                    .as_ref()
                    .map(|d| format!(" of {}", d.name))
                    .unwrap_or_default(),
                dependent_product
                    .as_ref()
                    .map(|d| d.name.clone())
                    .unwrap_or_else(|| "that license".into())
            ),
            NotAssignable {
                user,
                product,
                detail,
            } => format!("{} could not be given to {user}: {detail}", product.name),
            GroupDependency {
                group,
                plan,
                requires,
            } => format!(
                "in group {group}, the plan {} needs {}{} in the same group: assign the group a product that includes it, or turn the plan off with `--disable {}`",
                plan.admin(),
                if requires.len() > 1 { "one of " } else { "" },
                self::plans(requires),
                plan.name
            ),
            GroupNotLicensable { group } => format!(
                "group {group} is not security-enabled, so it cannot carry licenses: license a security group instead (`skuld group add NAME` makes one)"
            ),
            GroupLacksLicense { group, product } => format!(
                "group {group} has no {} license to remove (see `skuld group show {group}`)",
                product.name
            ),
            GroupHasLicenses { group, products } => format!(
                "group {group} still assigns {}: remove {} first with `skuld group license remove {group} {}` (its members lose what it gave them), then delete it",
                names(products),
                if products.len() == 1 { "it" } else { "them" },
                products
                    .first()
                    .map(|p| p.part.clone())
                    .unwrap_or_else(|| "SKU".into())
            ),
            DynamicMembers { group, rule } => format!(
                "the members of {group} come from its membership rule ({rule}) and cannot be added or removed by hand: change the rule with `skuld group set {group} --rule …`"
            ),
            AlreadyMember { group, member } => {
                format!("{member} is already a member of {group}")
            }
            NotMember { group, member } => format!(
                "{member} is not a direct member of {group} (see `skuld group member list {group}`)"
            ),
            Cycle { group, member } => format!(
                "adding {member} to {group} would create a cycle of nested groups, because {group} is already inside {member}"
            ),
            LocationNeeded { user, products } => format!(
                "{user} holds direct licenses that need a usage location: {}; remove them first with `skuld license remove {} --user {user}` or set another location",
                products
                    .iter()
                    .map(|p| p.name.clone())
                    .collect::<Vec<_>>()
                    .join(", "),
                products
                    .first()
                    .map(|p| p.part.clone())
                    .unwrap_or_else(|| "SKU".into())
            ),
            SeatsBelowAssigned {
                product,
                subscription,
                assigned,
                requested,
            } => format!(
                "{assigned} licenses of {} are assigned, more than {requested} seats: remove licenses first, or set the seats with `skuld subscription set-seats {subscription} {requested} --allow-over-allocation` (nobody loses a license, nobody new gets one)",
                product.name
            ),
            NotSelfService {
                subscription,
                product,
            } => format!(
                "subscription {subscription} of {} is not a self-service purchase: admins already assign its licenses",
                product.name
            ),
            DuplicateUpn { upn } => {
                format!("a user {upn} already exists (see `skuld user show {upn}`)")
            }
            UnverifiedDomain { upn, domains } => format!(
                "the domain of {upn} is not a verified domain of this tenant: use {}",
                list(domains)
            ),
            WeakPassword { why } => format!("the password is not accepted: {why}"),
            Property {
                resource,
                property,
                value,
            } => {
                let what = resource.to_lowercase();
                match value.as_deref().map(str::trim) {
                    None | Some("") => format!("a {what} needs a {property}"),
                    Some(v) => format!("'{v}' is not a valid {property} for a {what}"),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    //! Both texts come from one refusal (issue 7, "Errors in the admin's language").
    use super::*;

    fn audio() -> ProductRef {
        ProductRef {
            sku: SkuId::parse("0c266dff-15dd-4b49-8397-2bb16070ed52").unwrap(),
            part: "MCOMEETADV".into(),
            name: "Microsoft 365 Audio Conferencing".into(),
        }
    }

    #[test]
    fn no_seats_keeps_graphs_text_and_tells_the_admin_how_many_to_buy() {
        let sub = SubscriptionId::new();
        let r = Refusal::one(Problem::NoSeats {
            product: audio(),
            capacity: 5,
            assigned: 5,
            users: vec!["a@x.test".into(), "b@x.test".into(), "c@x.test".into()],
            subscriptions: vec![(sub, 5)],
        });
        assert_eq!(
            r.graph_text(),
            "Subscription with SKU 0c266dff-15dd-4b49-8397-2bb16070ed52 does not have any available licenses."
        );
        assert_eq!(r.kind(), RefusalKind::BadRequest);
        assert_eq!(
            r.admin_text(),
            format!("Microsoft 365 Audio Conferencing has no free licenses (5 of 5 assigned); 3 more are needed for these users: a@x.test, b@x.test, c@x.test — buy seats with `skuld subscription set-seats {sub} 8` or free some")
        );
        assert_eq!(
            AppError::from(r).to_string().split(';').next().unwrap(),
            "Microsoft 365 Audio Conferencing has no free licenses (5 of 5 assigned)"
        );
    }

    #[test]
    fn many_problems_are_all_listed_for_the_admin_and_graph_gets_the_first() {
        let r = Refusal {
            problems: vec![
                Problem::UnknownUser {
                    key: "nobody@x.test".into(),
                    close: vec!["nobby@x.test".into()],
                },
                Problem::NoUsageLocation {
                    user: "dan@x.test".into(),
                    products: vec![audio()],
                    example: "US".into(),
                },
            ],
        };
        assert_eq!(r.kind(), RefusalKind::NotFound);
        assert_eq!(
            r.graph_text(),
            "Resource 'nobody@x.test' does not exist or one of its queried reference-property objects are not present."
        );
        let text = r.admin_text();
        assert!(
            text.starts_with("nothing was changed, because of 2 problems:"),
            "{text}"
        );
        assert!(text.contains("there is no user 'nobody@x.test' in this tenant (see `skuld user list`); did you mean nobby@x.test?"), "{text}");
        assert!(text.contains("dan@x.test has no usage location, which a direct license of Microsoft 365 Audio Conferencing needs: set one with `skuld user set dan@x.test --location CC`"), "{text}");
    }

    #[test]
    fn conflict_names_both_products_and_plans_and_graph_keeps_microsofts_sentence() {
        let e3 = ProductRef {
            sku: SkuId::new(),
            part: "ENTERPRISEPACK".into(),
            name: "Office 365 E3".into(),
        };
        let p = Problem::Conflict {
            user: "amy@x.test".into(),
            product: e3,
            plan: PlanRef {
                name: "EXCHANGE_S_ENTERPRISE".into(),
                friendly: "Exchange Online (Plan 2)".into(),
            },
            other_product: Some(ProductRef {
                sku: SkuId::new(),
                part: "EXCHANGESTANDARD".into(),
                name: "Exchange Online (Plan 1)".into(),
            }),
            other_plan: PlanRef {
                name: "EXCHANGE_S_STANDARD".into(),
                friendly: "Exchange Online (Plan 1)".into(),
            },
        };
        assert_eq!(
            p.graph_text(),
            "License assignment failed because service plans EXCHANGE_S_ENTERPRISE,EXCHANGE_S_STANDARD are mutually exclusive"
        );
        let a = p.admin_text();
        assert!(
            a.contains("Office 365 E3 cannot be given to amy@x.test"),
            "{a}"
        );
        assert!(
            a.contains("of Exchange Online (Plan 1), which amy@x.test already has"),
            "{a}"
        );
        assert!(a.contains("`--disable EXCHANGE_S_ENTERPRISE`"), "{a}");
    }

    #[test]
    fn every_prohibited_plan_is_named_at_once() {
        let p = Problem::ProhibitedInLocation {
            user: "li@x.test".into(),
            product: audio(),
            location: "CN".into(),
            plans: vec![
                PlanRef {
                    name: "A_PLAN".into(),
                    friendly: "A".into(),
                },
                PlanRef {
                    name: "B_PLAN".into(),
                    friendly: "B".into(),
                },
            ],
        };
        assert_eq!(
            p.graph_text(),
            "License assignment cannot be done for user with invalid usage location."
        );
        assert_eq!(
            p.admin_text(),
            "A (A_PLAN) and B (B_PLAN) of Microsoft 365 Audio Conferencing are not available in CN, the usage location of li@x.test: turn them off with `--disable A_PLAN --disable B_PLAN` on the command, or change the location with `skuld user set li@x.test --location CC`"
        );
    }

    #[test]
    fn inherited_names_the_group_and_both_ways_out() {
        let p = Problem::Inherited {
            user: "al@x.test".into(),
            product: audio(),
            groups: vec![("Everyone".into(), "Staff".into())],
        };
        assert_eq!(p.graph_text(), "User license is inherited from a group membership and it cannot be removed directly from the user.");
        let a = p.admin_text();
        assert!(a.contains("from group Everyone"), "{a}");
        assert!(
            a.contains("`skuld group license remove Everyone MCOMEETADV`"),
            "{a}"
        );
        assert!(
            a.contains("`skuld group member remove Staff al@x.test`"),
            "{a}"
        );
    }
}
