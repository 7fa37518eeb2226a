//! The permission matrix: every directory role and every kind of app permission against every
//! write endpoint (graph-api.md §10.3, §10.4; rulebook §8). A cell is "allowed" when the
//! request succeeds and "denied" when it answers 403 `Authorization_RequestDenied`.

use crate::harness::*;
use serde_json::{json, Value};
use skuld_domain::DirectoryRole::{self, *};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    CreateUser,
    CreateGuest,
    UpdateUser,
    UpdateUsageLocation,
    DeleteUser,
    RestoreUser,
    PurgeUser,
    AssignUserLicense,
    LicenseGuest,
    Reprocess,
    CreateGroup,
    UpdateGroup,
    DeleteGroup,
    AddMember,
    RemoveMember,
    AssignGroupLicense,
    AssignRole,
    RemoveRole,
}

const OPS: [Op; 18] = [
    Op::CreateUser,
    Op::CreateGuest,
    Op::UpdateUser,
    Op::UpdateUsageLocation,
    Op::DeleteUser,
    Op::RestoreUser,
    Op::PurgeUser,
    Op::AssignUserLicense,
    Op::LicenseGuest,
    Op::Reprocess,
    Op::CreateGroup,
    Op::UpdateGroup,
    Op::DeleteGroup,
    Op::AddMember,
    Op::RemoveMember,
    Op::AssignGroupLicense,
    Op::AssignRole,
    Op::RemoveRole,
];

/// Roles that may, besides the Global Administrator.
fn roles_allowed(op: Op) -> &'static [DirectoryRole] {
    match op {
        Op::CreateUser | Op::UpdateUser | Op::DeleteUser | Op::RestoreUser | Op::PurgeUser => {
            &[UserAdministrator]
        }
        Op::CreateGuest => &[UserAdministrator, GuestInviter],
        Op::UpdateUsageLocation | Op::AssignUserLicense | Op::Reprocess => {
            &[UserAdministrator, LicenseAdministrator]
        }
        Op::LicenseGuest | Op::AssignRole | Op::RemoveRole => &[],
        Op::CreateGroup | Op::UpdateGroup | Op::DeleteGroup | Op::AddMember | Op::RemoveMember => {
            &[GroupsAdministrator, UserAdministrator]
        }
        Op::AssignGroupLicense => &[GroupsAdministrator, UserAdministrator, LicenseAdministrator],
    }
}

/// App permissions that grant the operation.
fn permissions_allowed(op: Op) -> &'static [&'static str] {
    match op {
        Op::CreateUser | Op::CreateGuest | Op::UpdateUser | Op::UpdateUsageLocation => {
            &["User.ReadWrite.All", "Directory.ReadWrite.All"]
        }
        Op::DeleteUser | Op::RestoreUser | Op::PurgeUser => &["User.ReadWrite.All"],
        Op::AssignUserLicense | Op::LicenseGuest | Op::Reprocess => &[
            "LicenseAssignment.ReadWrite.All",
            "User.ReadWrite.All",
            "Directory.ReadWrite.All",
        ],
        Op::CreateGroup | Op::UpdateGroup | Op::DeleteGroup => {
            &["Group.ReadWrite.All", "Directory.ReadWrite.All"]
        }
        Op::AddMember | Op::RemoveMember => &[
            "GroupMember.ReadWrite.All",
            "Group.ReadWrite.All",
            "Directory.ReadWrite.All",
        ],
        Op::AssignGroupLicense => &[
            "LicenseAssignment.ReadWrite.All",
            "Group.ReadWrite.All",
            "Directory.ReadWrite.All",
        ],
        Op::AssignRole | Op::RemoveRole => &["RoleManagement.ReadWrite.Directory"],
    }
}

/// Fresh objects for one cell, made by the operator.
struct Targets {
    user: String,
    guest: String,
    deleted: String,
    group: String,
    member: String,
    role_user: String,
}

async fn seats(w: &World) {
    w.app
        .add_subscription(
            &w.tenant,
            skuld_app::NewSubscription {
                sku: sku("ENTERPRISEPACK"),
                units: 1000,
                status: skuld_domain::SubscriptionStatus::Enabled,
                is_trial: false,
                self_service_owner: None,
                next_lifecycle_at: None,
            },
            &OP,
        )
        .await
        .unwrap();
}

async fn targets(w: &World, n: usize) -> Targets {
    let user = w.user(&format!("u{n}"), Some("US")).await;
    let guest = w
        .app
        .create_user(
            &w.tenant,
            skuld_app::NewUser {
                upn: format!("g{n}_x.test#EXT#@contoso.test"),
                display_name: format!("guest {n}"),
                usage_location: Some("US".into()),
                user_type: skuld_domain::UserType::Guest,
                account_enabled: true,
                ..Default::default()
            },
            &OP,
        )
        .await
        .unwrap()
        .0;
    let deleted = w.user(&format!("d{n}"), Some("US")).await;
    w.app
        .delete_user(&w.tenant, &deleted.upn, &OP)
        .await
        .unwrap();
    let member = w.user(&format!("m{n}"), Some("US")).await;
    let group = w
        .app
        .create_group(
            &w.tenant,
            skuld_app::NewGroup {
                display_name: format!("grp{n}"),
                security_enabled: true,
                ..Default::default()
            },
            &OP,
        )
        .await
        .unwrap();
    w.app
        .add_member(&w.tenant, &group.id.to_string(), &member.upn, &OP)
        .await
        .unwrap();
    let role_user = w.user(&format!("r{n}"), Some("US")).await;
    w.app
        .add_role(&w.tenant, &role_user.upn, GlobalReader, &OP)
        .await
        .unwrap();
    Targets {
        user: user.id.to_string(),
        guest: guest.id.to_string(),
        deleted: deleted.id.to_string(),
        group: group.id.to_string(),
        member: member.id.to_string(),
        role_user: role_user.id.to_string(),
    }
}

async fn run(w: &World, token: &str, op: Op, x: &Targets, n: usize) -> Response {
    let e3 = sku("ENTERPRISEPACK").to_string();
    let lic = json!({"addLicenses": [{"skuId": e3, "disabledPlans": []}], "removeLicenses": []});
    let user_body = |upn: String, kind: &str| -> Value {
        json!({"accountEnabled": true, "displayName": "New", "mailNickname": format!("new{n}"), "userPrincipalName": upn,
               "userType": kind, "passwordProfile": {"password": "xWwvJ]6NMw+bWH-d"}})
    };
    match op {
        Op::CreateUser => w.post("/v1.0/users", token, user_body(format!("new{n}@contoso.test"), "Member")).await,
        Op::CreateGuest => w.post("/v1.0/users", token, user_body(format!("ng{n}_x.test#EXT#@contoso.test"), "Guest")).await,
        Op::UpdateUser => w.patch(&format!("/v1.0/users/{}", x.user), token, json!({"department": "Ops"})).await,
        Op::UpdateUsageLocation => w.patch(&format!("/v1.0/users/{}", x.user), token, json!({"usageLocation": "DE"})).await,
        Op::DeleteUser => w.delete(&format!("/v1.0/users/{}", x.user), token).await,
        Op::RestoreUser => w.post(&format!("/v1.0/directory/deletedItems/{}/restore", x.deleted), token, json!({})).await,
        Op::PurgeUser => w.delete(&format!("/v1.0/directory/deletedItems/{}", x.deleted), token).await,
        Op::AssignUserLicense => w.post(&format!("/v1.0/users/{}/assignLicense", x.user), token, lic).await,
        Op::LicenseGuest => w.post(&format!("/v1.0/users/{}/assignLicense", x.guest), token, lic).await,
        Op::Reprocess => w.post(&format!("/v1.0/users/{}/reprocessLicenseAssignment", x.user), token, json!({})).await,
        Op::CreateGroup => {
            w.post("/v1.0/groups", token, json!({"displayName": "G", "mailEnabled": false, "mailNickname": format!("g{n}"), "securityEnabled": true})).await
        }
        Op::UpdateGroup => w.patch(&format!("/v1.0/groups/{}", x.group), token, json!({"description": "d"})).await,
        Op::DeleteGroup => w.delete(&format!("/v1.0/groups/{}", x.group), token).await,
        Op::AddMember => {
            w.post(&format!("/v1.0/groups/{}/members/$ref", x.group), token, json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{}", x.user)})).await
        }
        Op::RemoveMember => w.delete(&format!("/v1.0/groups/{}/members/{}/$ref", x.group, x.member), token).await,
        Op::AssignGroupLicense => w.post(&format!("/v1.0/groups/{}/assignLicense", x.group), token, lic).await,
        Op::AssignRole => {
            w.post(
                "/v1.0/roleManagement/directory/roleAssignments",
                token,
                json!({"@odata.type": "#microsoft.graph.unifiedRoleAssignment", "principalId": x.user,
                       "roleDefinitionId": LicenseAdministrator.template_id(), "directoryScopeId": "/"}),
            )
            .await
        }
        Op::RemoveRole => {
            w.delete(&format!("/v1.0/roleManagement/directory/roleAssignments/{}_{}", GlobalReader.template_id(), x.role_user), token).await
        }
    }
}

fn verdict(r: &Response) -> Option<bool> {
    match r.status.as_u16() {
        200..=299 => Some(true),
        403 if r.code() == "Authorization_RequestDenied" => Some(false),
        _ => None,
    }
}

#[tokio::test]
async fn every_role_against_every_write_endpoint() {
    for w in World::all().await {
        seats(&w).await;
        let mut who: Vec<(String, Option<DirectoryRole>)> = DirectoryRole::ALL
            .iter()
            .map(|r| (format!("{r:?}"), Some(*r)))
            .collect();
        who.push(("NoRole".into(), None));
        let mut wrong = Vec::new();
        let mut n = 0;
        for (name, role) in &who {
            let actor = w
                .user_with_role(&format!("actor{}", name.to_lowercase()), *role)
                .await;
            let token = w.token(&actor.upn).await;
            for op in OPS {
                n += 1;
                let x = targets(&w, n).await;
                let r = run(&w, &token, op, &x, n).await;
                let expected = *role == Some(GlobalAdministrator)
                    || role.is_some_and(|r| roles_allowed(op).contains(&r));
                if verdict(&r) != Some(expected) {
                    wrong.push(format!(
                        "{name} {op:?}: expected {}, got {} {}",
                        if expected { "allowed" } else { "403" },
                        r.status,
                        r.text
                    ));
                }
            }
        }
        assert!(
            wrong.is_empty(),
            "{} cells differ:\n{}",
            wrong.len(),
            wrong.join("\n")
        );
    }
}

#[tokio::test]
async fn every_app_permission_against_every_write_endpoint() {
    for w in World::all().await {
        seats(&w).await;
        let perms = [
            "User.Read.All",
            "User.ReadWrite.All",
            "LicenseAssignment.ReadWrite.All",
            "Group.ReadWrite.All",
            "GroupMember.ReadWrite.All",
            "Directory.ReadWrite.All",
            "RoleManagement.ReadWrite.Directory",
            "AuditLog.Read.All",
        ];
        let mut wrong = Vec::new();
        let mut n = 1000;
        for p in perms {
            let token = w.app_token(&[p]).await;
            for op in OPS {
                n += 1;
                let x = targets(&w, n).await;
                let r = run(&w, &token, op, &x, n).await;
                let expected = permissions_allowed(op).contains(&p);
                if verdict(&r) != Some(expected) {
                    wrong.push(format!(
                        "{p} {op:?}: expected {}, got {} {}",
                        if expected { "allowed" } else { "403" },
                        r.status,
                        r.text
                    ));
                }
            }
        }
        assert!(
            wrong.is_empty(),
            "{} cells differ:\n{}",
            wrong.len(),
            wrong.join("\n")
        );
    }
}

#[tokio::test]
async fn readers_read_and_only_read() {
    for w in World::all().await {
        let reader = w.user_with_role("reader", Some(GlobalReader)).await;
        let t = w.token(&reader.upn).await;
        for url in [
            "/v1.0/users",
            "/v1.0/groups",
            "/v1.0/subscribedSkus",
            "/v1.0/auditLogs/directoryAudits",
            "/v1.0/directory/subscriptions",
            "/v1.0/organization",
            "/v1.0/roleManagement/directory/roleAssignments",
        ] {
            w.get(url, &t).await.expect(200);
        }
        let plain = w.user_with_role("plain", None).await;
        let t = w.token(&plain.upn).await;
        w.get("/v1.0/users", &t).await.expect(200);
        for url in ["/v1.0/subscribedSkus", "/v1.0/auditLogs/directoryAudits"] {
            w.get(url, &t).await.expect_error(
                403,
                "Authorization_RequestDenied",
                "Insufficient privileges to complete the operation.",
            );
        }
        let billing = w
            .user_with_role("billing", Some(BillingAdministrator))
            .await;
        let t = w.token(&billing.upn).await;
        w.get("/v1.0/subscribedSkus", &t).await.expect(200);
        let app = w.app_token(&["LicenseAssignment.Read.All"]).await;
        w.get("/v1.0/subscribedSkus", &app).await.expect(200);
        w.get("/v1.0/users", &app).await.expect(403);
    }
}

/// Item 16: the user-changing endpoints a privileged target restricts (`Actor::may_manage_user`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum UserOp {
    UpdateUser,
    UpdateUsageLocation,
    DisableAccount,
    /// Rulebook B1 via item 20: changing `userType` needs a Global Administrator.
    ChangeUserType,
    DeleteUser,
    RestoreUser,
    PurgeUser,
    /// Not restricted: Entra lets license admins license "all users, including all
    /// administrators" (rulebook §7.1).
    AssignUserLicense,
}

const USER_OPS: [UserOp; 8] = [
    UserOp::UpdateUser,
    UserOp::UpdateUsageLocation,
    UserOp::DisableAccount,
    UserOp::ChangeUserType,
    UserOp::DeleteUser,
    UserOp::RestoreUser,
    UserOp::PurgeUser,
    UserOp::AssignUserLicense,
];

/// The target's directory role: none, a limited administrator a User Administrator may manage
/// (Entra's "who can perform sensitive actions"), or a privileged one.
const TARGET_ROLES: [Option<DirectoryRole>; 4] = [
    None,
    Some(UserAdministrator),
    Some(GlobalAdministrator),
    Some(LicenseAdministrator),
];

fn user_op_roles(op: UserOp) -> &'static [DirectoryRole] {
    match op {
        UserOp::UpdateUser
        | UserOp::DisableAccount
        | UserOp::DeleteUser
        | UserOp::RestoreUser
        | UserOp::PurgeUser => &[UserAdministrator],
        UserOp::UpdateUsageLocation | UserOp::AssignUserLicense => {
            &[UserAdministrator, LicenseAdministrator]
        }
        UserOp::ChangeUserType => &[],
    }
}

/// Whether `actor` may act on a holder of `target` at all (the privileged-target rule).
fn may_manage(actor: Option<DirectoryRole>, target: Option<DirectoryRole>, op: UserOp) -> bool {
    matches!(
        (op, target, actor),
        (UserOp::AssignUserLicense, _, _)
            | (_, None, _)
            | (_, _, Some(GlobalAdministrator))
            | (_, Some(UserAdministrator), Some(UserAdministrator))
    )
}

async fn user_op_target(w: &World, op: UserOp, role: Option<DirectoryRole>, n: usize) -> String {
    let u = w.user_with_role(&format!("t{n}"), role).await;
    if matches!(op, UserOp::RestoreUser | UserOp::PurgeUser) {
        w.app.delete_user(&w.tenant, &u.upn, &OP).await.unwrap();
    }
    u.id.to_string()
}

async fn run_user_op(w: &World, token: &str, op: UserOp, target: &str) -> Response {
    let e3 = sku("ENTERPRISEPACK").to_string();
    let user = format!("/v1.0/users/{target}");
    match op {
        UserOp::UpdateUser => w.patch(&user, token, json!({"department": "Ops"})).await,
        UserOp::UpdateUsageLocation => w.patch(&user, token, json!({"usageLocation": "DE"})).await,
        UserOp::DisableAccount => {
            w.patch(&user, token, json!({"accountEnabled": false}))
                .await
        }
        UserOp::ChangeUserType => w.patch(&user, token, json!({"userType": "Guest"})).await,
        UserOp::DeleteUser => w.delete(&user, token).await,
        UserOp::RestoreUser => {
            w.post(
                &format!("/v1.0/directory/deletedItems/{target}/restore"),
                token,
                json!({}),
            )
            .await
        }
        UserOp::PurgeUser => {
            w.delete(&format!("/v1.0/directory/deletedItems/{target}"), token)
                .await
        }
        UserOp::AssignUserLicense => {
            w.post(
                &format!("{user}/assignLicense"),
                token,
                json!({"addLicenses": [{"skuId": e3, "disabledPlans": []}], "removeLicenses": []}),
            )
            .await
        }
    }
}

/// Item 16: every role × (target without a role, limited administrator, privileged
/// administrators) × every user-changing endpoint. A User Administrator can no longer disable,
/// restore or purge a Global Administrator; the refused call changes nothing.
#[tokio::test]
async fn privileged_targets_every_role_against_every_user_changing_endpoint() {
    for w in World::all().await {
        seats(&w).await;
        let mut who: Vec<Option<DirectoryRole>> =
            DirectoryRole::ALL.iter().map(|r| Some(*r)).collect();
        who.push(None);
        let mut wrong = Vec::new();
        let mut n = 0;
        for role in &who {
            let actor = w.user_with_role(&format!("pa{}", n), *role).await;
            n += 1;
            let token = w.token(&actor.upn).await;
            for op in USER_OPS {
                for target_role in TARGET_ROLES {
                    n += 1;
                    let target = user_op_target(&w, op, target_role, n).await;
                    let before = w.app.user(&w.tenant, &target).await.ok();
                    let r = run_user_op(&w, &token, op, &target).await;
                    let expected = (*role == Some(GlobalAdministrator)
                        || role.is_some_and(|r| user_op_roles(op).contains(&r)))
                        && may_manage(*role, target_role, op);
                    if verdict(&r) != Some(expected) {
                        wrong.push(format!(
                            "{role:?} {op:?} on {target_role:?}: expected {}, got {} {}",
                            if expected { "allowed" } else { "403" },
                            r.status,
                            r.text
                        ));
                    }
                    if !expected && w.app.user(&w.tenant, &target).await.ok() != before {
                        wrong.push(format!(
                            "{role:?} {op:?} on {target_role:?}: refused but changed"
                        ));
                    }
                }
            }
        }
        assert!(
            wrong.is_empty(),
            "{} cells differ:\n{}",
            wrong.len(),
            wrong.join("\n")
        );
    }
}
