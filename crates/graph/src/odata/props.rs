//! Which user and group properties exist (those Microsoft's CSDL declares), and what `$filter`, `$orderby` and `$search` support
//! on each (graph-api.md §9.2; ✓ = `Yes`, A = `Advanced`, ✗ = `No`).

use super::Resource;
use skuld_domain::query::Field;

/// Support of an operation on a property.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sup {
    No,
    Yes,
    /// Only in an advanced query (ConsistencyLevel: eventual and $count=true).
    Advanced,
}

use Sup::{Advanced as A, No as N, Yes as Y};

/// A property that skuld can filter (and maybe sort and search) on.
#[derive(Debug)]
pub(crate) struct Prop {
    pub name: &'static str,
    pub field: Field,
    pub eq: Sup,
    pub starts: Sup,
    /// lt, le, gt, ge
    pub range: Sup,
    /// eq null, ne null
    pub null: Sup,
    pub ends: Sup,
    pub order: Sup,
    pub search: bool,
}

const fn p(
    name: &'static str,
    field: Field,
    [eq, starts, range, null, ends, order]: [Sup; 6],
    search: bool,
) -> Prop {
    Prop {
        name,
        field,
        eq,
        starts,
        range,
        null,
        ends,
        order,
        search,
    }
}

//                                              eq starts range null ends order
static USER: &[Prop] = &[
    p("id", Field::Id, [Y, N, N, N, N, N], false),
    p("displayName", Field::DisplayName, [Y, Y, N, A, N, Y], true),
    p("givenName", Field::GivenName, [Y, Y, N, A, N, N], true),
    p("surname", Field::Surname, [Y, Y, N, A, N, N], true),
    p(
        "userPrincipalName",
        Field::UserPrincipalName,
        [Y, Y, N, N, A, Y],
        true,
    ),
    p("mail", Field::Mail, [Y, Y, N, A, A, N], true),
    p(
        "mailNickname",
        Field::MailNickname,
        [Y, Y, N, A, N, N],
        true,
    ),
    p(
        "usageLocation",
        Field::UsageLocation,
        [Y, Y, N, A, N, N],
        false,
    ),
    p("userType", Field::UserType, [Y, N, N, A, N, N], false),
    p(
        "accountEnabled",
        Field::AccountEnabled,
        [Y, N, N, N, N, N],
        false,
    ),
    p("jobTitle", Field::JobTitle, [Y, Y, N, A, N, N], false),
    p("department", Field::Department, [Y, Y, N, A, N, N], false),
    p("companyName", Field::CompanyName, [A, A, N, A, N, N], false),
    p("city", Field::City, [Y, Y, N, A, N, N], false),
    p("country", Field::Country, [Y, Y, N, A, N, N], false),
    p("state", Field::State, [Y, Y, N, A, N, N], false),
    p("postalCode", Field::PostalCode, [A, A, N, A, N, N], false),
    p(
        "streetAddress",
        Field::StreetAddress,
        [A, A, N, A, N, N],
        false,
    ),
    p(
        "officeLocation",
        Field::OfficeLocation,
        [A, A, N, A, N, N],
        false,
    ),
    p("mobilePhone", Field::MobilePhone, [A, A, N, A, N, N], false),
    p("faxNumber", Field::FaxNumber, [A, A, N, A, N, N], false),
    p("employeeId", Field::EmployeeId, [Y, N, N, A, N, N], false),
    p(
        "createdDateTime",
        Field::CreatedDateTime,
        [Y, N, Y, A, N, A],
        false,
    ),
    p(
        "deletedDateTime",
        Field::DeletedDateTime,
        [Y, N, Y, A, N, A],
        false,
    ),
    p(
        "onPremisesSyncEnabled",
        Field::OnPremisesSyncEnabled,
        [Y, N, N, A, N, N],
        false,
    ),
];

static GROUP: &[Prop] = &[
    p("id", Field::Id, [Y, N, N, N, N, N], false),
    p("displayName", Field::DisplayName, [Y, Y, N, A, N, Y], true),
    p(
        "mailNickname",
        Field::MailNickname,
        [Y, Y, N, A, N, N],
        true,
    ),
    p("description", Field::Description, [A, A, N, A, N, N], true),
    p(
        "membershipRule",
        Field::MembershipRule,
        [Y, Y, N, N, N, N],
        false,
    ),
    p(
        "securityEnabled",
        Field::SecurityEnabled,
        [Y, N, N, N, N, N],
        false,
    ),
    p("mailEnabled", Field::MailEnabled, [Y, N, N, N, N, N], false),
    p(
        "membershipRuleProcessingState",
        Field::MembershipRuleProcessingState,
        [Y, N, N, N, N, N],
        false,
    ),
    p(
        "createdDateTime",
        Field::CreatedDateTime,
        [Y, N, N, N, N, A],
        false,
    ),
];

/// Navigation properties Graph has but skuld does not expand.
const USER_NAV: &[&str] = &[
    "manager",
    "directReports",
    "memberOf",
    "transitiveMemberOf",
    "ownedObjects",
    "registeredDevices",
    "licenseDetails",
    "extensions",
];
const GROUP_NAV: &[&str] = &[
    "owners",
    "memberOf",
    "transitiveMembers",
    "transitiveMemberOf",
    "membersWithLicenseErrors",
    "extensions",
];

fn user_like(r: Resource) -> bool {
    matches!(r, Resource::User | Resource::DeletedUser)
}

/// The filterable property `name` (case-insensitive) of `r`.
pub(crate) fn filterable(r: Resource, name: &str) -> Option<&'static Prop> {
    let table = if user_like(r) { USER } else { GROUP };
    table.iter().find(|p| p.name.eq_ignore_ascii_case(name))
}

/// Graph's spelling of property `name` (case-insensitive) of `r`, if Graph declares it: the
/// structural properties of the type in Microsoft's CSDL ([`crate::metadata`]).
pub(crate) fn known(r: Resource, name: &str) -> Option<&'static str> {
    crate::metadata::declared(if user_like(r) { "user" } else { "group" }, name)
}

/// Whether `name` is a navigation property of `r` that skuld does not expand.
pub(crate) fn known_navigation(r: Resource, name: &str) -> bool {
    let list = if user_like(r) { USER_NAV } else { GROUP_NAV };
    list.iter().any(|p| p.eq_ignore_ascii_case(name))
}
