//! Directory entities: tenants, users, groups, subscriptions and directory roles. These are plain
//! data; the rules that connect them live in `licensing`.

use crate::ids::{GroupId, SkuId, SubscriptionId, TenantId, UserId};
use crate::rule::{MembershipRule, RuleSubject, Value};
use crate::values::{Timestamp, Upn, UsageLocation};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// An organisation's directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tenant {
    pub id: TenantId,
    pub name: String,
    /// Verified domains; exactly one is the default.
    pub domains: Vec<String>,
    pub default_domain: String,
    /// The organisation's country: the usage location that group-based licensing falls back to
    /// for users who have none (rulebook U3, D6).
    pub country: UsageLocation,
    pub created_at: Timestamp,
}

impl Tenant {
    pub fn has_domain(&self, domain: &str) -> bool {
        self.domains.iter().any(|d| d.eq_ignore_ascii_case(domain))
    }
}

/// Graph `userType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum UserType {
    #[default]
    Member,
    Guest,
}

impl UserType {
    pub fn as_str(&self) -> &'static str {
        match self {
            UserType::Member => "Member",
            UserType::Guest => "Guest",
        }
    }
}

impl FromStr for UserType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "member" => Ok(UserType::Member),
            "guest" => Ok(UserType::Guest),
            _ => Err(format!("'{s}' is not a user type (Member or Guest)")),
        }
    }
}

/// A user object with the properties of the admin center's bulk template and Graph's user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct User {
    pub id: UserId,
    pub upn: String,
    pub display_name: String,
    pub given_name: Option<String>,
    pub surname: Option<String>,
    pub mail_nickname: String,
    pub mail: Option<String>,
    pub usage_location: Option<UsageLocation>,
    pub user_type: UserType,
    pub account_enabled: bool,
    pub job_title: Option<String>,
    pub department: Option<String>,
    pub company_name: Option<String>,
    pub employee_id: Option<String>,
    pub office_location: Option<String>,
    pub business_phone: Option<String>,
    pub mobile_phone: Option<String>,
    pub fax: Option<String>,
    pub street_address: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
    /// argon2id PHC string; never the clear text.
    pub password_hash: Option<String>,
    pub force_change_password: bool,
    pub created_at: Timestamp,
    pub deleted_at: Option<Timestamp>,
    pub on_premises_sync_enabled: Option<bool>,
}

impl User {
    pub fn is_deleted(&self) -> bool {
        self.deleted_at.is_some()
    }
    pub fn upn(&self) -> Option<Upn> {
        Upn::parse(&self.upn).ok()
    }
}

fn opt(v: &Option<String>) -> Value<'_> {
    match v.as_deref() {
        Some(s) => Value::Str(s),
        None => Value::Null,
    }
}

impl RuleSubject for User {
    fn property(&self, name: &str) -> Value<'_> {
        match name {
            "accountEnabled" => Value::Bool(self.account_enabled),
            "city" => opt(&self.city),
            "country" => opt(&self.country),
            "companyName" => opt(&self.company_name),
            "department" => opt(&self.department),
            "displayName" => Value::Str(&self.display_name),
            "employeeId" => opt(&self.employee_id),
            "givenName" => opt(&self.given_name),
            "jobTitle" => opt(&self.job_title),
            "mail" => opt(&self.mail),
            "mailNickname" => Value::Str(&self.mail_nickname),
            "mobile" => opt(&self.mobile_phone),
            "physicalDeliveryOfficeName" => opt(&self.office_location),
            "postalCode" => opt(&self.postal_code),
            "state" => opt(&self.state),
            "streetAddress" => opt(&self.street_address),
            "surname" => opt(&self.surname),
            "telephoneNumber" => opt(&self.business_phone),
            "usageLocation" => match &self.usage_location {
                Some(l) => Value::Str(l.as_str()),
                None => Value::Null,
            },
            "userPrincipalName" => Value::Str(&self.upn),
            "userType" => Value::Str(self.user_type.as_str()),
            // objectId needs an owned string; rules on ids are matched through `matches_user`.
            _ => Value::Null,
        }
    }
}

/// Evaluates a rule against a user, including `user.objectId`, which `RuleSubject` cannot lend.
pub fn matches_user(rule: &MembershipRule, user: &User) -> bool {
    struct WithId<'a>(&'a User, String);
    impl RuleSubject for WithId<'_> {
        fn property(&self, name: &str) -> Value<'_> {
            if name == "objectId" {
                Value::Str(&self.1)
            } else {
                self.0.property(name)
            }
        }
    }
    rule.matches(&WithId(user, user.id.to_string()))
}

/// Security group or Microsoft 365 group (Graph `groupTypes` contains `Unified`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum GroupKind {
    #[default]
    Security,
    Microsoft365,
}

/// A group. Static groups have explicit members (users and groups); dynamic groups derive their
/// user members from `membership_rule`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Group {
    pub id: GroupId,
    pub display_name: String,
    pub description: Option<String>,
    pub mail_nickname: String,
    pub kind: GroupKind,
    pub security_enabled: bool,
    pub mail_enabled: bool,
    /// `Some` for a dynamic group.
    pub membership_rule: Option<String>,
    /// `membershipRuleProcessingState` = `Paused` stops re-evaluation.
    pub rule_paused: bool,
    /// D4: higher priority groups get seats first when seats are short.
    pub license_priority: i32,
    pub created_at: Timestamp,
}

impl Group {
    pub fn is_dynamic(&self) -> bool {
        self.membership_rule.is_some()
    }
    /// G1: only security-enabled groups can carry licenses.
    pub fn is_licensable(&self) -> bool {
        self.security_enabled
    }
}

/// `companySubscription.status`. Lifecycle by date (D8): Enabled → Warning (30 d) → Suspended
/// (90 d) → Deleted; LockedOut is a cancelled subscription before deletion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
pub enum SubscriptionStatus {
    Enabled,
    Warning,
    Suspended,
    LockedOut,
    Deleted,
}

impl SubscriptionStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Enabled => "Enabled",
            Self::Warning => "Warning",
            Self::Suspended => "Suspended",
            Self::LockedOut => "LockedOut",
            Self::Deleted => "Deleted",
        }
    }
    /// D8: units of Enabled and Warning (grace) subscriptions can be assigned.
    pub fn is_assignable(&self) -> bool {
        matches!(self, Self::Enabled | Self::Warning)
    }
    /// Days a subscription stays in this status before moving on when not renewed.
    pub fn days_until_next(&self) -> Option<(i64, SubscriptionStatus)> {
        match self {
            Self::Enabled => None,
            Self::Warning => Some((30, Self::Suspended)),
            Self::Suspended | Self::LockedOut => Some((90, Self::Deleted)),
            Self::Deleted => None,
        }
    }
}

impl fmt::Display for SubscriptionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SubscriptionStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "enabled" => Ok(Self::Enabled),
            "warning" => Ok(Self::Warning),
            "suspended" => Ok(Self::Suspended),
            "lockedout" => Ok(Self::LockedOut),
            "deleted" => Ok(Self::Deleted),
            _ => Err(format!(
                "'{s}' is not a subscription status (Enabled, Warning, Suspended, LockedOut, Deleted)"
            )),
        }
    }
}

/// A purchased subscription of one product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    pub id: SubscriptionId,
    pub sku_id: SkuId,
    pub units: i64,
    pub status: SubscriptionStatus,
    pub is_trial: bool,
    /// D9: a self-service purchase, owned by this user until an admin takes it over.
    pub self_service_owner: Option<UserId>,
    pub created_at: Timestamp,
    /// When the subscription moves to its next status if not renewed.
    pub next_lifecycle_at: Option<Timestamp>,
}

/// The built-in directory roles skuld knows, with their Entra template ids (rulebook §7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
pub enum DirectoryRole {
    GlobalAdministrator,
    LicenseAdministrator,
    UserAdministrator,
    GroupsAdministrator,
    BillingAdministrator,
    GlobalReader,
    GuestInviter,
}

impl DirectoryRole {
    pub const ALL: [DirectoryRole; 7] = [
        Self::GlobalAdministrator,
        Self::LicenseAdministrator,
        Self::UserAdministrator,
        Self::GroupsAdministrator,
        Self::BillingAdministrator,
        Self::GlobalReader,
        Self::GuestInviter,
    ];
    pub fn template_id(&self) -> &'static str {
        match self {
            Self::GlobalAdministrator => "62e90394-69f5-4237-9190-012177145e10",
            Self::LicenseAdministrator => "4d6ac14f-3453-41d0-bef9-a3e0c569773a",
            Self::UserAdministrator => "fe930be7-5e62-47db-91af-98c3a49a38b1",
            Self::GroupsAdministrator => "fdd7a751-b60b-444a-984c-02652fe8fa1c",
            Self::BillingAdministrator => "b0f54661-2d74-4c50-afa3-1ec803f12efe",
            Self::GlobalReader => "f2ef992c-3afb-46b9-b7cf-a126ee74c451",
            Self::GuestInviter => "95e79109-95c0-4d8e-aee3-d01accf2d47b",
        }
    }
    pub fn display_name(&self) -> &'static str {
        match self {
            Self::GlobalAdministrator => "Global Administrator",
            Self::LicenseAdministrator => "License Administrator",
            Self::UserAdministrator => "User Administrator",
            Self::GroupsAdministrator => "Groups Administrator",
            Self::BillingAdministrator => "Billing Administrator",
            Self::GlobalReader => "Global Reader",
            Self::GuestInviter => "Guest Inviter",
        }
    }
    /// Accepts the display name (any case, spaces optional) or the template id.
    pub fn parse(s: &str) -> Option<Self> {
        let norm: String = s
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_lowercase();
        Self::ALL.into_iter().find(|r| {
            r.template_id() == norm
                || r.display_name().replace(' ', "").to_ascii_lowercase() == norm
        })
    }
}
