//! Issue 7 item 2, the scope matrix: every delegated permission against every endpoint of the
//! route table, for a Global Administrator (so only the token's `scp` decides). Each cell is
//! 2xx or 403 `Authorization_RequestDenied`, as Microsoft's per-endpoint permission tables say
//! — written out here on their own, not derived from `authz.rs`. Then a spot check that a
//! delegated call needs the role *and* the scope.

use crate::harness::*;
use serde_json::{json, Value};
use skuld_app::{NewGroup, NewUser};
use skuld_domain::DirectoryRole;
use skuld_graph::auth::Claims;

const ALL: &str = "Directory.AccessAsUser.All";
const READ_USERS: &[&str] = &[
    "User.ReadBasic.All",
    "User.Read.All",
    "User.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
    ALL,
];
const ME: &[&str] = &[
    "User.Read",
    "User.ReadBasic.All",
    "User.Read.All",
    "User.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
    ALL,
];
const WRITE_USERS: &[&str] = &["User.ReadWrite.All", "Directory.ReadWrite.All", ALL];
// user-delete and directory-deleteditems-restore/delete: not Directory.ReadWrite.All.
const DELETE_USERS: &[&str] = &["User.ReadWrite.All", ALL];
const USER_LICENSE: &[&str] = &[
    "LicenseAssignment.ReadWrite.All",
    "User.ReadWrite.All",
    "Directory.ReadWrite.All",
    ALL,
];
const READ_GROUPS: &[&str] = &[
    "GroupMember.Read.All",
    "Group.Read.All",
    "Group.ReadWrite.All",
    "GroupMember.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
    ALL,
];
const WRITE_GROUPS: &[&str] = &["Group.ReadWrite.All", "Directory.ReadWrite.All", ALL];
const MEMBERS: &[&str] = &[
    "GroupMember.ReadWrite.All",
    "Group.ReadWrite.All",
    "Directory.ReadWrite.All",
    ALL,
];
const GROUP_LICENSE: &[&str] = &[
    "LicenseAssignment.ReadWrite.All",
    "Group.ReadWrite.All",
    "Directory.ReadWrite.All",
    ALL,
];
const READ_LICENSES: &[&str] = &[
    "LicenseAssignment.Read.All",
    "LicenseAssignment.ReadWrite.All",
    "Organization.Read.All",
    "Organization.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
    ALL,
];
const ORGANIZATION: &[&str] = &[
    "User.Read",
    "User.ReadBasic.All",
    "User.Read.All",
    "User.ReadWrite.All",
    "LicenseAssignment.Read.All",
    "LicenseAssignment.ReadWrite.All",
    "Organization.Read.All",
    "Organization.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
    ALL,
];
const AUDIT: &[&str] = &["AuditLog.Read.All", ALL];
const READ_ROLES: &[&str] = &[
    "RoleManagement.Read.Directory",
    "RoleManagement.Read.All",
    "RoleManagement.ReadWrite.Directory",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
    ALL,
];
const WRITE_ROLES: &[&str] = &["RoleManagement.ReadWrite.Directory", ALL];
const CHANGE_PASSWORD: &[&str] = &[ALL];
/// `$batch` itself needs only a valid token; each inner request is checked on its own.
const ANY: &[&str] = skuld_app::KNOWN_SCOPES;

/// The accepted scopes of an operation of the route table; `None`: not a Graph call with a
/// token (token endpoint, discovery, health, OpenAPI).
fn accepted(method: &str, path: &str) -> Option<&'static [&'static str]> {
    if !path.starts_with("/v1.0/") {
        return None;
    }
    let p = path.trim_start_matches("/v1.0");
    Some(match (method, p) {
        ("get", "/users" | "/users/{key}" | "/users/{key}/licenseDetails" | "/users/{key}/licenseDetails/{id}" | "/users/{key}/memberOf" | "/users/{key}/transitiveMemberOf" | "/directory/deletedItems/graph.user" | "/directory/deletedItems/{id}") => READ_USERS,
        ("get", "/me") => ME,
        ("post", "/me/changePassword" | "/users/{key}/changePassword") => CHANGE_PASSWORD,
        ("post", "/users") | ("patch", "/users/{key}") => WRITE_USERS,
        ("delete", "/users/{key}" | "/directory/deletedItems/{id}") | ("post", "/directory/deletedItems/{id}/restore") => DELETE_USERS,
        ("post", "/users/{key}/assignLicense" | "/users/{key}/reprocessLicenseAssignment") => USER_LICENSE,
        ("get", "/groups" | "/groups/{key}" | "/groups/{key}/members" | "/groups/{key}/transitiveMembers" | "/groups/{key}/memberOf" | "/groups/{key}/membersWithLicenseErrors" | "/directory/deletedItems/graph.group") => READ_GROUPS,
        ("post", "/groups") | ("patch" | "delete", "/groups/{key}") => WRITE_GROUPS,
        ("post" | "delete", "/groups/{key}/members/$ref") | ("delete", "/groups/{key}/members/{member}/$ref") => MEMBERS,
        ("post", "/groups/{key}/assignLicense") => GROUP_LICENSE,
        ("get", "/subscribedSkus" | "/subscribedSkus/{id}" | "/directory/subscriptions" | "/directory/subscriptions/{id}") => READ_LICENSES,
        ("get", "/organization" | "/organization/{id}") => ORGANIZATION,
        ("get", "/auditLogs/directoryAudits" | "/auditLogs/directoryAudits/{id}") => AUDIT,
        ("get", "/roleManagement/directory/roleAssignments" | "/roleManagement/directory/roleAssignments/{id}") => READ_ROLES,
        ("post", "/roleManagement/directory/roleAssignments") | ("delete", "/roleManagement/directory/roleAssignments/{id}") => WRITE_ROLES,
        ("post", "/$batch") => ANY,
        ("get", "/groups/{key}/members/$count" | "/groups/{key}/transitiveMembers/$count") => READ_GROUPS,
        // Needs no token: the service document; the deleted-items root only says a cast is needed.
        ("get", "/$metadata") => return None,
        ("get", "/directory/deletedItems") => return None,
        _ => panic!("the scope matrix has no row for {method} {path}: add Microsoft's permission table for it"),
    })
}

/// Objects the requests of the matrix work on.
struct Fixture {
    target: String,
    group: String,
    lic_detail: String,
    sku: String,
    subscription: String,
    audit: String,
    deleted: String,
    role: String,
    admin_id: String,
    password: String,
    n: usize,
}

async fn fresh_user(w: &World, f: &mut Fixture) -> skuld_domain::User {
    f.n += 1;
    w.app
        .create_user(
            &w.tenant,
            NewUser {
                upn: format!("cell{}@contoso.test", f.n),
                display_name: format!("cell {}", f.n),
                account_enabled: true,
                password: Some("Passw0rd!cell".into()),
                usage_location: Some("US".into()),
                ..Default::default()
            },
            &OP,
        )
        .await
        .unwrap()
        .0
}

async fn fresh_group(w: &World, f: &mut Fixture) -> String {
    f.n += 1;
    w.app
        .create_group(
            &w.tenant,
            NewGroup {
                display_name: format!("cell group {}", f.n),
                security_enabled: true,
                ..Default::default()
            },
            &OP,
        )
        .await
        .unwrap()
        .id
        .to_string()
}

/// The request of one cell: (uri, body). `succeeds` says whether the cell should change state,
/// so destructive requests get an object of their own.
async fn request(
    w: &World,
    f: &mut Fixture,
    method: &str,
    path: &str,
    succeeds: bool,
) -> (String, Option<Value>) {
    let p = path.to_string();
    let sub = |s: &str, k: &str, v: &str| s.replace(k, v);
    let target = f.target.clone();
    let group = f.group.clone();
    let uri = match (method, path) {
        ("delete", "/v1.0/users/{key}") => {
            let victim = if succeeds {
                fresh_user(w, f).await.id.to_string()
            } else {
                target
            };
            sub(&p, "{key}", &victim)
        }
        ("delete", "/v1.0/groups/{key}") => {
            let victim = if succeeds {
                fresh_group(w, f).await
            } else {
                group
            };
            sub(&p, "{key}", &victim)
        }
        (
            "delete" | "post",
            "/v1.0/directory/deletedItems/{id}" | "/v1.0/directory/deletedItems/{id}/restore",
        ) => {
            let victim = if succeeds {
                let u = fresh_user(w, f).await;
                w.app.delete_user(&w.tenant, &u.upn, &OP).await.unwrap();
                u.id.to_string()
            } else {
                f.deleted.clone()
            };
            sub(&p, "{id}", &victim)
        }
        (
            "delete",
            "/v1.0/groups/{key}/members/$ref" | "/v1.0/groups/{key}/members/{member}/$ref",
        ) => {
            let member = fresh_group(w, f).await;
            w.app
                .add_member(&w.tenant, &group, &member, &OP)
                .await
                .unwrap();
            let u = sub(&sub(&p, "{key}", &group), "{member}", &member);
            if path.ends_with("/members/$ref") {
                format!("{u}?$id=https://graph.microsoft.com/v1.0/directoryObjects/{member}")
            } else {
                u
            }
        }
        ("delete", "/v1.0/roleManagement/directory/roleAssignments/{id}") => {
            let id = if succeeds {
                let u = fresh_user(w, f).await;
                w.app
                    .add_role(&w.tenant, &u.upn, DirectoryRole::LicenseAdministrator, &OP)
                    .await
                    .unwrap();
                format!("4d6ac14f-3453-41d0-bef9-a3e0c569773a_{}", u.id)
            } else {
                f.role.clone()
            };
            sub(&p, "{id}", &id)
        }
        (_, "/v1.0/directory/deletedItems/{id}") => sub(&p, "{id}", &f.deleted),
        (_, "/v1.0/users/{key}/licenseDetails/{id}") => {
            sub(&sub(&p, "{key}", &target), "{id}", &f.lic_detail)
        }
        (_, "/v1.0/users/{key}/changePassword") => sub(&p, "{key}", &f.admin_id),
        (_, p2) if p2.starts_with("/v1.0/users/{key}") => sub(&p, "{key}", &target),
        (_, p2) if p2.starts_with("/v1.0/groups/{key}") => sub(&p, "{key}", &group),
        (_, "/v1.0/subscribedSkus/{id}") => sub(&p, "{id}", &f.sku),
        (_, "/v1.0/directory/subscriptions/{id}") => sub(&p, "{id}", &f.subscription),
        (_, "/v1.0/organization/{id}") => sub(&p, "{id}", &w.tenant.id.to_string()),
        (_, "/v1.0/auditLogs/directoryAudits/{id}") => sub(&p, "{id}", &f.audit),
        (_, "/v1.0/roleManagement/directory/roleAssignments/{id}") => sub(&p, "{id}", &f.role),
        _ => p.clone(),
    };
    let body = match (method, path) {
        ("post", "/v1.0/users") => {
            f.n += 1;
            Some(
                json!({"accountEnabled": true, "displayName": "Cell", "mailNickname": format!("new{}", f.n),
                "userPrincipalName": format!("new{}@contoso.test", f.n),
                "passwordProfile": {"password": "Passw0rd!new", "forceChangePasswordNextSignIn": false}}),
            )
        }
        ("patch", "/v1.0/users/{key}") => Some(json!({"department": "Cells"})),
        ("post", "/v1.0/users/{key}/assignLicense") => Some(
            json!({"addLicenses": [{"skuId": sku("ENTERPRISEPACK").to_string(), "disabledPlans": []}], "removeLicenses": []}),
        ),
        ("post", "/v1.0/groups") => {
            f.n += 1;
            Some(
                json!({"displayName": "Cell group", "mailEnabled": false, "mailNickname": format!("cg{}", f.n), "securityEnabled": true}),
            )
        }
        ("patch", "/v1.0/groups/{key}") => Some(json!({"description": "cells"})),
        ("post", "/v1.0/groups/{key}/members/$ref") => {
            let member = if succeeds {
                fresh_group(w, f).await
            } else {
                f.target.clone()
            };
            Some(
                json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{member}")}),
            )
        }
        ("post", "/v1.0/groups/{key}/assignLicense") => Some(
            json!({"addLicenses": [{"skuId": sku("ENTERPRISEPACK").to_string(), "disabledPlans": []}], "removeLicenses": []}),
        ),
        ("post", "/v1.0/roleManagement/directory/roleAssignments") => {
            let principal = if succeeds {
                fresh_user(w, f).await.id.to_string()
            } else {
                f.target.clone()
            };
            Some(
                json!({"@odata.type": "#microsoft.graph.unifiedRoleAssignment",
                "roleDefinitionId": "4d6ac14f-3453-41d0-bef9-a3e0c569773a", "principalId": principal, "directoryScopeId": "/"}),
            )
        }
        ("post", "/v1.0/me/changePassword" | "/v1.0/users/{key}/changePassword") => {
            let new = format!("Changed#Pass{}", f.n + 100);
            let b = json!({"currentPassword": f.password, "newPassword": new});
            if succeeds {
                f.n += 1;
                f.password = new;
            }
            Some(b)
        }
        ("post", "/v1.0/$batch") => {
            Some(json!({"requests": [{"id": "1", "method": "GET", "url": "/organization"}]}))
        }
        ("post", _) => None,
        _ => None,
    };
    (uri, body)
}

#[tokio::test]
async fn scope_matrix_every_delegated_scope_against_every_endpoint() {
    let w = World::with_limits(skuld_graph::throttle::Limits {
        scale: 1.0,
        enabled: false,
    })
    .await;
    let full = w.admin_token().await;
    let admin = w.app.user(&w.tenant, "admin@contoso.test").await.unwrap();
    let target = w.user("target", Some("US")).await;
    w.license(&target.upn, "ENTERPRISEPACK").await;
    let group = w
        .app
        .create_group(
            &w.tenant,
            NewGroup {
                display_name: "Cells".into(),
                security_enabled: true,
                ..Default::default()
            },
            &OP,
        )
        .await
        .unwrap();
    let gone = w.user("gone", Some("US")).await;
    w.app.delete_user(&w.tenant, &gone.upn, &OP).await.unwrap();
    let first = |r: Response| r.body["value"][0]["id"].as_str().unwrap().to_string();
    let mut f = Fixture {
        lic_detail: first(
            w.get(&format!("/v1.0/users/{}/licenseDetails", target.id), &full)
                .await,
        ),
        sku: first(w.get("/v1.0/subscribedSkus", &full).await),
        subscription: first(w.get("/v1.0/directory/subscriptions", &full).await),
        audit: first(w.get("/v1.0/auditLogs/directoryAudits", &full).await),
        role: format!("62e90394-69f5-4237-9190-012177145e10_{}", admin.id),
        target: target.id.to_string(),
        group: group.id.to_string(),
        deleted: gone.id.to_string(),
        admin_id: admin.id.to_string(),
        password: "Passw0rd!admin".into(),
        n: 0,
    };
    let mut failures = Vec::new();
    let mut cells = 0;
    for op in skuld_graph::operations() {
        let Some(granting) = accepted(op.method, op.path) else {
            continue;
        };
        for scope in skuld_app::KNOWN_SCOPES {
            let ok = granting.contains(scope);
            let (uri, body) = request(&w, &mut f, op.method, op.path, ok).await;
            let claims = Claims::for_user(
                &w.tenant,
                &admin,
                &[DirectoryRole::GlobalAdministrator],
                "matrix",
                scope,
            );
            let token = w.state.keys.sign(&claims);
            // `$count` segments need advanced queries.
            let headers: &[(&str, &str)] = if op.path.ends_with("/$count") {
                &[("ConsistencyLevel", "eventual")]
            } else {
                &[]
            };
            let r = w
                .raw(
                    &op.method.to_uppercase(),
                    &uri,
                    Some(&token),
                    body.map(|b| b.to_string().into_bytes()),
                    headers,
                )
                .await;
            cells += 1;
            let good = if ok {
                r.status.is_success()
            } else {
                r.status == 403 && r.code() == "Authorization_RequestDenied"
            };
            if !good {
                failures.push(format!(
                    "{} {uri} with scp={scope}: expected {}, got {} {}",
                    op.method,
                    if ok { "2xx" } else { "403" },
                    r.status,
                    r.text
                ));
            }
        }
    }
    assert!(cells > 40 * skuld_app::KNOWN_SCOPES.len(), "{cells} cells");
    assert!(
        failures.is_empty(),
        "{} of {cells} cells wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// A delegated call needs both a role that grants the action and a scope that accepts it.
#[tokio::test]
async fn a_delegated_call_needs_the_role_and_the_scope() {
    for w in World::all().await {
        let plain = w.user_with_role("plain", None).await;
        let ua = w
            .user_with_role("ua", Some(DirectoryRole::UserAdministrator))
            .await;
        let victim = w.user("victim", Some("US")).await;
        let uri = format!("/v1.0/users/{}", victim.id);
        // The scope, no role.
        let t = w.token_with_scopes(&plain.upn, "User.ReadWrite.All").await;
        w.delete(&uri, &t).await.expect_error(
            403,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        );
        // The role, not the scope.
        let t = w
            .token_with_scopes(&ua.upn, "User.Read User.ReadBasic.All")
            .await;
        w.delete(&uri, &t).await.expect_error(
            403,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        );
        w.get(&uri, &t).await.expect(200);
        // Both.
        let t = w.token_with_scopes(&ua.upn, "User.ReadWrite.All").await;
        w.delete(&uri, &t).await.expect(204);
        // User.Read is the own profile only.
        let t = w.token_with_scopes(&plain.upn, "User.Read").await;
        w.get("/v1.0/me", &t).await.expect(200);
        w.get("/v1.0/users", &t).await.expect(403);
    }
}

fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// The token endpoint grants what was asked, canonically spelt, `.default` as
/// `Directory.AccessAsUser.All`, and refuses an unknown scope with AADSTS70011.
#[tokio::test]
async fn the_token_endpoint_grants_the_scopes_asked_for() {
    for w in World::all().await {
        let w = &w;
        let ask = |scope: &str| {
            format!(
                "grant_type=password&client_id=c&username=admin%40contoso.test&password={}&scope={}",
                enc("Passw0rd!admin"),
                enc(scope)
            )
        };
        let post = |b: String| async move {
            w.raw(
                "POST",
                "/contoso.test/oauth2/v2.0/token",
                None,
                Some(b.into_bytes()),
                &[],
            )
            .await
        };
        let r = post(ask("user.read openid profile offline_access")).await;
        r.expect(200);
        assert_eq!(r.body["scope"], "User.Read");
        let t = r.body["access_token"].as_str().unwrap().to_string();
        w.get("/v1.0/me", &t).await.expect(200);
        w.get("/v1.0/users", &t).await.expect(403);
        let r = post(ask("https://graph.microsoft.com/.default")).await;
        assert_eq!(r.body["scope"], ALL);
        let r = post(ask(
            "https://graph.microsoft.com/User.Read.All LicenseAssignment.ReadWrite.All",
        ))
        .await;
        assert_eq!(
            r.body["scope"],
            "User.Read.All LicenseAssignment.ReadWrite.All"
        );
        let r = post(ask("User.Read Mail.Send")).await;
        assert_eq!(r.status, 400, "{}", r.text);
        assert_eq!(r.body["error"], "invalid_scope");
        assert_eq!(r.body["error_codes"][0], 70011);
        assert!(r.body["error_description"].as_str().unwrap().starts_with(
            "AADSTS70011: The provided value for the input parameter 'scope' is not valid. The scope Mail.Send is not valid."
        ), "{}", r.text);
    }
}

/// Issue 7 item 19 through the router: another client id does not give a user a new budget.
#[tokio::test]
async fn a_user_cannot_escape_429_with_another_client_id() {
    let w = World::with_limits(skuld_graph::throttle::Limits {
        scale: 0.002,
        enabled: true,
    })
    .await;
    let admin = w.app.user(&w.tenant, "admin@contoso.test").await.unwrap();
    let token = |client: &str| {
        w.state
            .keys
            .sign(&Claims::for_user(&w.tenant, &admin, &[], client, ALL))
    };
    let a = token("client-a");
    // 7 RU per 10 s; GET /users costs 2.
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(w.get("/v1.0/users", &a).await.status.as_u16());
    }
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
    let b = token("client-b");
    let r = w.get("/v1.0/users", &b).await;
    assert_eq!(r.status, 429, "{}", r.text);
    // An app's budget is its own.
    let app = w.app_token(&["User.Read.All"]).await;
    w.get("/v1.0/users", &app).await.expect(200);
}
