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

/// The directory roles whose holders a User Administrator may still manage: Entra's "who can
/// perform sensitive actions" table lets a User Administrator act on non-administrators and on
/// limited administrators (Helpdesk, Password, Directory Readers, Guest Inviter, Reports Reader,
/// Message Center Reader, User Administrator); of skuld's roles, these two (item 16).
pub const LIMITED_ADMIN_ROLES: &[DirectoryRole] = &[UserAdministrator, GuestInviter];

impl Actor {
    /// Whether the actor may change a user who holds `target_roles` (issue 7 item 16): the one
    /// rule every user-changing action applies on top of its own right (update, usage location,
    /// accountEnabled, userType, delete, restore, purge, password reset). A user without a role
    /// may be managed by whoever has the action's right; a limited administrator by a User
    /// Administrator too; any other role holder only with `ManagePrivilegedUser` (a Global
    /// Administrator, the operator, or an app with `RoleManagement.ReadWrite.Directory`).
    /// License assignment is not such an action: Entra lets license and user administrators
    /// license "all users, including all administrators" (rulebook §7.1).
    pub fn may_manage_user(&self, target_roles: &[DirectoryRole]) -> bool {
        if target_roles.is_empty() || self.may(ManagePrivilegedUser) {
            return true;
        }
        match self {
            Actor::User { roles, .. } => {
                roles.contains(&UserAdministrator)
                    && target_roles.iter().all(|r| LIMITED_ADMIN_ROLES.contains(r))
            }
            _ => false,
        }
    }

    /// Whether the actor has the right to the action.
    pub fn may(&self, action: Action) -> bool {
        match self {
            Actor::Operator | Actor::System => true,
            Actor::User {
                roles,
                scopes,
                guest,
                ..
            } => {
                let by_scope = match scopes {
                    None => true,
                    Some(s) => s.iter().any(|x| action.accepts_scope(x)),
                };
                let by_role = roles.contains(&GlobalAdministrator)
                    || match action.roles() {
                        // Item 20: Entra's default for guests ("Guest user access is restricted
                        // to properties and memberships of their own directory objects"): a
                        // guest without a role reads no lists and no other objects;
                        // `App::may_read_user` / `may_read_group` let them read their own.
                        None => !*guest || !roles.is_empty(),
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
