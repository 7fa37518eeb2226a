//! Who may do what: one table for directory roles (delegated callers, rulebook §8 and
//! graph-api.md §10.4) and one for Graph application permissions (app-only callers, §10.3).
//! Every use case asks [`Actor::may`] before it opens a transaction.
//!
//! A delegated caller (a user's token) needs both a role that grants the action and a
//! delegated permission (`scp`) that accepts it, as Graph does (graph-api.md §10.2). The scopes
//! an action accepts are the Graph permissions that grant it (Microsoft's per-endpoint tables
//! name the same permissions for delegated and application callers) plus
//! `Directory.AccessAsUser.All`, which lets an app do whatever the signed-in user may.

use crate::audit::Actor;
use skuld_domain::DirectoryRole;

/// An action of the directory that needs a right.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    ReadUsers,
    ReadGroups,
    /// Products, subscriptions and the organization.
    ReadLicenses,
    CreateUser,
    CreateGuest,
    UpdateUser,
    /// Changing only `usageLocation` (a License Administrator may, rulebook U7).
    UpdateUsageLocation,
    DeleteUser,
    /// Deleting or editing a user who holds a directory role.
    ManagePrivilegedUser,
    AssignUserLicense,
    /// Direct licenses for guests (rulebook B1: Global Administrator only).
    LicenseGuest,
    ManageGroups,
    ManageMembers,
    AssignGroupLicense,
    ManageSubscriptions,
    ReadAudit,
    ReadRoles,
    ManageRoles,
    ManageApps,
    /// Reading one's own profile (`/me`, `organization`): Graph's `User.Read`.
    ReadOwnProfile,
    /// Changing one's own password (`changePassword`, delegated only).
    ChangeOwnPassword,
}

use Action::*;
use DirectoryRole::*;

impl Action {
    /// The directory roles that grant the action (a Global Administrator has every right).
    /// `None` means every signed-in member user may.
    pub fn roles(self) -> Option<&'static [DirectoryRole]> {
        Some(match self {
            ReadUsers | ReadGroups | ReadOwnProfile | ChangeOwnPassword => return None,
            ReadLicenses | ReadRoles => &[
                GlobalReader,
                LicenseAdministrator,
                UserAdministrator,
                GroupsAdministrator,
                BillingAdministrator,
            ],
            CreateUser | UpdateUser | DeleteUser => &[UserAdministrator],
            CreateGuest => &[UserAdministrator, GuestInviter],
            UpdateUsageLocation => &[UserAdministrator, LicenseAdministrator],
            AssignUserLicense => &[LicenseAdministrator, UserAdministrator],
            AssignGroupLicense => &[LicenseAdministrator, UserAdministrator, GroupsAdministrator],
            ManageGroups | ManageMembers => &[GroupsAdministrator, UserAdministrator],
            ManageSubscriptions => &[BillingAdministrator],
            ReadAudit => &[GlobalReader],
            ManagePrivilegedUser | LicenseGuest | ManageRoles | ManageApps => &[],
        })
    }

    /// The Graph application permissions that grant the action.
    pub fn permissions(self) -> &'static [&'static str] {
        match self {
            ReadUsers | ReadOwnProfile => &[
                "User.Read.All",
                "User.ReadBasic.All",
                "User.ReadWrite.All",
                "Directory.Read.All",
                "Directory.ReadWrite.All",
            ],
            ReadGroups => &[
                "Group.Read.All",
                "Group.ReadWrite.All",
                "GroupMember.Read.All",
                "GroupMember.ReadWrite.All",
                "Directory.Read.All",
                "Directory.ReadWrite.All",
            ],
            ReadLicenses => &[
                "LicenseAssignment.Read.All",
                "LicenseAssignment.ReadWrite.All",
                "Organization.Read.All",
                "Organization.ReadWrite.All",
                "Directory.Read.All",
                "Directory.ReadWrite.All",
            ],
            CreateUser | CreateGuest | UpdateUser | UpdateUsageLocation => {
                &["User.ReadWrite.All", "Directory.ReadWrite.All"]
            }
            DeleteUser => &["User.ReadWrite.All"],
            ManagePrivilegedUser | ManageRoles => &["RoleManagement.ReadWrite.Directory"],
            AssignUserLicense | LicenseGuest => &[
                "LicenseAssignment.ReadWrite.All",
                "User.ReadWrite.All",
                "Directory.ReadWrite.All",
            ],
            ManageGroups => &["Group.ReadWrite.All", "Directory.ReadWrite.All"],
            ManageMembers => &[
                "GroupMember.ReadWrite.All",
                "Group.ReadWrite.All",
                "Directory.ReadWrite.All",
            ],
            AssignGroupLicense => &[
                "LicenseAssignment.ReadWrite.All",
                "Group.ReadWrite.All",
                "Directory.ReadWrite.All",
            ],
            ManageSubscriptions => &["Organization.ReadWrite.All"],
            ReadAudit => &["AuditLog.Read.All"],
            ReadRoles => &[
                "RoleManagement.Read.Directory",
                "RoleManagement.Read.All",
                "RoleManagement.ReadWrite.Directory",
                "Directory.Read.All",
                "Directory.ReadWrite.All",
            ],
            ManageApps => &["Application.ReadWrite.All"],
            // Graph: "Application: Not supported."
            ChangeOwnPassword => &[],
        }
    }

    /// Whether a delegated permission (a scope of a user's token) accepts the action.
    pub fn accepts_scope(self, scope: &str) -> bool {
        let eq = |p: &str| p.eq_ignore_ascii_case(scope);
        eq(FULL_DELEGATION)
            || (self == ReadOwnProfile && eq("User.Read"))
            || self.permissions().iter().any(|p| eq(p))
    }
}

/// The delegated permission that grants an app everything the signed-in user may do.
pub const FULL_DELEGATION: &str = "Directory.AccessAsUser.All";

/// Every delegated permission skuld knows (what the token endpoint accepts in `scope`).
pub const KNOWN_SCOPES: &[&str] = &[
    "User.Read",
    "User.ReadBasic.All",
    "User.Read.All",
    "User.ReadWrite.All",
    "Group.Read.All",
    "Group.ReadWrite.All",
    "GroupMember.Read.All",
    "GroupMember.ReadWrite.All",
    "LicenseAssignment.Read.All",
    "LicenseAssignment.ReadWrite.All",
    "Organization.Read.All",
    "Organization.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
    "Directory.AccessAsUser.All",
    "AuditLog.Read.All",
    "RoleManagement.Read.Directory",
    "RoleManagement.Read.All",
    "RoleManagement.ReadWrite.Directory",
    "Application.ReadWrite.All",
];

/// The canonical spelling of a delegated permission, matched case-insensitively.
pub fn canonical_scope(p: &str) -> Option<&'static str> {
    KNOWN_SCOPES
        .iter()
        .copied()
        .find(|k| k.eq_ignore_ascii_case(p.trim()))
}

/// Every Graph application permission skuld knows (what `skuld app add --permission` accepts).
pub const KNOWN_PERMISSIONS: &[&str] = &[
    "User.Read.All",
    "User.ReadBasic.All",
    "User.ReadWrite.All",
    "Group.Read.All",
    "Group.ReadWrite.All",
    "GroupMember.Read.All",
    "GroupMember.ReadWrite.All",
    "LicenseAssignment.Read.All",
    "LicenseAssignment.ReadWrite.All",
    "Organization.Read.All",
    "Organization.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
    "AuditLog.Read.All",
    "RoleManagement.Read.Directory",
    "RoleManagement.Read.All",
    "RoleManagement.ReadWrite.Directory",
    "Application.ReadWrite.All",
];

/// The canonical spelling of a permission name, matched case-insensitively.
pub fn canonical_permission(p: &str) -> Option<&'static str> {
    KNOWN_PERMISSIONS
        .iter()
        .copied()
        .find(|k| k.eq_ignore_ascii_case(p.trim()))
}

impl Actor {
    /// Whether the actor has the right to the action.
    pub fn may(&self, action: Action) -> bool {
        match self {
            Actor::Operator | Actor::System => true,
            Actor::User { roles, scopes, .. } => {
                let by_scope = match scopes {
                    None => true,
                    Some(s) => s.iter().any(|x| action.accepts_scope(x)),
                };
                let by_role = roles.contains(&GlobalAdministrator)
                    || match action.roles() {
                        None => true,
                        Some(granting) => granting.iter().any(|r| roles.contains(r)),
                    };
                by_scope && by_role
            }
            Actor::App { permissions, .. } => action
                .permissions()
                .iter()
                .any(|p| permissions.iter().any(|q| q == p)),
        }
    }
}
