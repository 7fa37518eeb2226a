//! Who may do what: one table for directory roles (delegated callers, rulebook §8 and
//! graph-api.md §10.4) and one for Graph application permissions (app-only callers, §10.3).
//! Every use case asks [`Actor::may`] before it opens a transaction.

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
}

use Action::*;
use DirectoryRole::*;

impl Action {
    /// The directory roles that grant the action (a Global Administrator has every right).
    /// `None` means every signed-in member user may.
    pub fn roles(self) -> Option<&'static [DirectoryRole]> {
        Some(match self {
            ReadUsers | ReadGroups => return None,
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
            ReadUsers => &[
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
        }
    }
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
            Actor::User { roles, .. } => {
                roles.contains(&GlobalAdministrator)
                    || match action.roles() {
                        None => true,
                        Some(granting) => granting.iter().any(|r| roles.contains(r)),
                    }
            }
            Actor::App { permissions, .. } => action
                .permissions()
                .iter()
                .any(|p| permissions.iter().any(|q| q == p)),
        }
    }
}
