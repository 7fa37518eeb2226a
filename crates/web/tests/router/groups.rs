//! Router tests of Teams & groups › Groups (issue 8 page 8; admin-center.md "Group license
//! problems"): the list with type, membership, licenses and error columns (keyset pages); Add
//! a group (security or Microsoft 365, assigned or dynamic with the rule editor); a group's
//! Members tab (add, remove, nested groups, transitive view) and Licenses tab (error banner,
//! members in error with reason and fix, Reprocess, assign and remove a product).

use crate::harness::{form, World};
use axum::http::StatusCode;
use skuld_app::{Actor, NewGroup};
use skuld_domain::DirectoryRole;

const E1: &str = "STANDARDPACK";

async fn gid(w: &World, name: &str) -> String {
    w.app.group(&w.tenant, name).await.unwrap().id.to_string()
}

async fn sku_id(w: &World, part: &str) -> String {
    w.app
        .sku_rows(&w.tenant)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.part_number == part)
        .unwrap()
        .sku_id
        .to_string()
}

async fn group_count(w: &World) -> usize {
    w.app.groups(&w.tenant).await.unwrap().len()
}

async fn direct_members(w: &World, group: &str) -> Vec<String> {
    let (users, groups) = w.app.group_members(&w.tenant, group).await.unwrap();
    users
        .into_iter()
        .map(|u| u.upn)
        .chain(groups.into_iter().map(|g| g.display_name))
        .collect()
}

async fn static_group(w: &World, name: &str) -> String {
    w.app
        .create_group(
            &w.tenant,
            NewGroup {
                display_name: name.into(),
                security_enabled: true,
                ..NewGroup::default()
            },
            &Actor::Operator,
        )
        .await
        .unwrap()
        .id
        .to_string()
}

/// §10.2 "groups with license statistics": the list shows type (Security / Microsoft 365),
/// membership (Assigned / Dynamic), the products each group assigns, licensed users and users
/// in error (G-errors link to the Licenses tab). A Global Reader reads it and is not offered
/// Add a group; a Groups Administrator is.
#[tokio::test]
async fn list_has_type_membership_license_and_error_columns() {
    let w = World::demo().await;
    let mut r = w.as_role(DirectoryRole::GlobalReader).await;
    let sales = gid(&w, "Sales").await;
    let p = r.get("/groups").await;
    p.ok()
        .has("Sales")
        .has("Contoso Social Club")
        .has("Microsoft 365")
        .has("Security")
        .has("Dynamic")
        .has("Assigned")
        .has("Office 365 E5")
        .has("Users with errors")
        .has(&format!(
            "class=\"badge bad\" href=\"/groups/{sales}?tab=licenses\""
        ))
        .lacks("Add a group")
        .lacks("style=");
    assert_eq!(r.get("/groups/new").await.status, StatusCode::FORBIDDEN);
    let mut g = w.as_role(DirectoryRole::GroupsAdministrator).await;
    g.get("/groups").await.ok().has("href=\"/groups/new\"");
    // Search by the start of the name.
    g.get("/groups?q=Sal")
        .await
        .ok()
        .has(">Sales</a>")
        .lacks(">Engineering</a>");
}

/// Keyset paging (issue 8 "paged list"): 50 a page, Next page follows the cursor.
#[tokio::test]
async fn list_pages_with_a_cursor() {
    let w = World::demo().await;
    for i in 0..50 {
        static_group(&w, &format!("Zz Team {i:02}")).await;
    }
    let mut a = w.admin().await;
    let p = a.get("/groups").await;
    p.ok()
        .has("Next page")
        .has(">Engineering</a>")
        .lacks("Zz Team 49");
    let at = p.body.find("/groups?after=").expect("next link");
    let href = &p.body[at..];
    let href = href[..href.find('"').unwrap()].replace("&amp;", "&");
    a.get(&href)
        .await
        .ok()
        .has("Zz Team 49")
        .has("First page")
        .lacks(">Engineering</a>");
}

/// G1 and the two group types: a security group (Assigned) and a Microsoft 365 group
/// (mail-enabled, not security-enabled) are created by a Groups Administrator; checked in the
/// database.
#[tokio::test]
async fn create_security_and_microsoft_365_groups() {
    let w = World::demo().await;
    let mut g = w.as_role(DirectoryRole::GroupsAdministrator).await;
    g.get("/groups/new")
        .await
        .ok()
        .has("Security")
        .has("Microsoft 365")
        .has("Dynamic user")
        .has("hx-post=\"/groups/rule\"")
        .has("hx-trigger=\"input changed delay:300ms\"")
        .has("<label for=\"rule\">");
    let r = g
        .post(
            "/groups/new",
            &[
                ("kind", "security"),
                ("name", "Pilots"),
                ("description", "Early adopters"),
                ("membership", "assigned"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let made = w.app.group(&w.tenant, "Pilots").await.unwrap();
    assert!(made.security_enabled && !made.is_dynamic());
    assert_eq!(made.description.as_deref(), Some("Early adopters"));
    assert_eq!(
        r.location(),
        Some(format!("/groups/{}?done=created", made.id).as_str())
    );
    g.get(r.location().unwrap())
        .await
        .ok()
        .has("The group was created");
    let r = g
        .post(
            "/groups/new",
            &[
                ("kind", "m365"),
                ("name", "Book Club"),
                ("membership", "assigned"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let m = w.app.group(&w.tenant, "Book Club").await.unwrap();
    assert_eq!(m.kind, skuld_domain::GroupKind::Microsoft365);
    assert!(!m.security_enabled && m.mail_enabled);
}

/// §2.4 dynamic groups: the rule editor answers as the rule is typed (htmx fragment) with the
/// error's 1-based position, or how many users match and the first of them; creating the
/// dynamic group stores the rule and its members are the users the preview named.
#[tokio::test]
async fn dynamic_group_rule_editor_validates_and_previews() {
    let w = World::demo().await;
    let mut a = w.admin().await;
    a.get("/groups/new").await.ok();
    let bad = a
        .post("/groups/rule", &[("rule", "user.department -eq")])
        .await;
    bad.ok()
        .has("Error at position 20")
        .has("expected")
        .has("<mark>")
        .lacks("<html");
    let good = a
        .post(
            "/groups/rule",
            &[("rule", "user.department -eq \"Finance\"")],
        )
        .await;
    good.ok()
        .has("The rule is valid")
        .has("user(s) match this rule now")
        .has("Charlotte Lewis");
    let empty = a.post("/groups/rule", &[("rule", "  ")]).await;
    empty.ok().has("Type a rule");
    // Rights: the editor belongs to Add a group.
    let mut r = w.as_role(DirectoryRole::GlobalReader).await;
    r.get("/groups").await.ok();
    assert_eq!(
        r.post("/groups/rule", &[("rule", "user.city -eq \"X\"")])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let r = a
        .post(
            "/groups/new",
            &[
                ("kind", "security"),
                ("name", "Finance Copy"),
                ("membership", "dynamic"),
                ("rule", "user.department -eq \"Finance\""),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let g = w.app.group(&w.tenant, "Finance Copy").await.unwrap();
    assert_eq!(
        g.membership_rule.as_deref(),
        Some("user.department -eq \"Finance\"")
    );
    let members = direct_members(&w, "Finance Copy").await;
    assert!(members.contains(&"charlotte.lewis@contoso.test".to_string()));
    assert_eq!(members, direct_members(&w, "Finance").await);
}

/// Bad input on Add a group is answered on the page (400) with what was typed, and no group
/// is created: empty name, over-long name, a dynamic group without a rule, a bad rule with its
/// position.
#[tokio::test]
async fn bad_group_input_is_answered_on_the_page() {
    let w = World::demo().await;
    let mut a = w.admin().await;
    a.get("/groups/new").await.ok();
    let before = group_count(&w).await;
    let r = a
        .post("/groups/new", &[("kind", "security"), ("name", " ")])
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    r.has("Type a name for the group").has("role=\"alert\"");
    let long = "n".repeat(257);
    let r = a.post("/groups/new", &[("name", &long)]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    r.has("at most 256 characters");
    let r = a
        .post("/groups/new", &[("name", "Dyn"), ("membership", "dynamic")])
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    r.has("Type the membership rule");
    let r = a
        .post(
            "/groups/new",
            &[
                ("name", "Broken"),
                ("membership", "dynamic"),
                ("rule", "user.department -eq \"Finance\" -and"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    r.has("The rule has an error at position")
        .has("value=\"Broken\"")
        .has("user.department -eq &#34;Finance&#34; -and");
    assert_eq!(group_count(&w).await, before);
}

/// Issue 8 "CSRF protection on every form": every POST of the groups pages without the token
/// is refused (403) and nothing changes.
#[tokio::test]
async fn every_post_needs_the_csrf_token() {
    let w = World::demo().await;
    let mut a = w.admin().await;
    a.get("/groups").await.ok();
    let pilots = static_group(&w, "Pilots").await;
    let upn = w.make_user("csrf.user").await;
    let e1 = sku_id(&w, E1).await;
    let before = group_count(&w).await;
    for (path, body) in [
        ("/groups/new".to_string(), form(&[("name", "Sneaky")])),
        (
            "/groups/rule".to_string(),
            form(&[("rule", "user.city -eq \"X\"")]),
        ),
        (
            format!("/groups/{pilots}/members"),
            form(&[("members", &upn)]),
        ),
        (
            format!("/groups/{pilots}/members/remove"),
            form(&[("member", &upn)]),
        ),
        (format!("/groups/{pilots}/licenses"), form(&[("sku", &e1)])),
        (
            format!("/groups/{pilots}/licenses/remove"),
            form(&[("sku", &e1)]),
        ),
        (format!("/groups/{pilots}/reprocess"), String::new()),
        (
            format!("/groups/{pilots}/settings"),
            form(&[("name", "Sneaky"), ("priority", "5")]),
        ),
        (format!("/groups/{pilots}/delete"), String::new()),
    ] {
        let r = a.post_raw(&path, body).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}");
    }
    assert_eq!(group_count(&w).await, before);
    assert_eq!(
        w.app
            .group(&w.tenant, &pilots)
            .await
            .unwrap()
            .license_priority,
        0
    );
    assert!(direct_members(&w, "Pilots").await.is_empty());
    assert!(!w
        .app
        .group_licenses(&w.tenant)
        .await
        .unwrap()
        .contains_key(&w.app.group(&w.tenant, "Pilots").await.unwrap().id));
}

/// D2 nested groups: members are added through the type-ahead ids (a user and a group) or by
/// name, removed by ticking them, and the transitive view lists the nested group's members;
/// checked in the database. Unknown names and more than 20 at a time are refused on the page
/// with nothing changed.
#[tokio::test]
async fn members_add_remove_nested_and_transitive() {
    let w = World::demo().await;
    let pilots = static_group(&w, "Pilots").await;
    let crew = static_group(&w, "Crew").await;
    let ann = w.make_user("ann").await;
    let bob = w.make_user("bob").await;
    let ann_id = w.app.user(&w.tenant, &ann).await.unwrap().id.to_string();
    w.app
        .add_member(&w.tenant, "Crew", &bob, &Actor::Operator)
        .await
        .unwrap();
    let mut g = w.as_role(DirectoryRole::GroupsAdministrator).await;
    let p = g.get(&format!("/groups/{pilots}")).await;
    p.ok()
        .has("Add members")
        .has("hx-get=\"/pick/users\"")
        .has("hx-get=\"/pick/groups\"")
        .has("This group has no members");
    let r = g
        .post(
            &format!("/groups/{pilots}/members"),
            &[("member", &ann_id), ("member", &crew)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let mut m = direct_members(&w, "Pilots").await;
    m.sort();
    assert_eq!(m, vec!["Crew".to_string(), ann.clone()]);
    g.get(&format!("/groups/{pilots}?tab=members"))
        .await
        .ok()
        .has("ann")
        .has("<span class=\"badge\">Group</span>")
        .lacks("bob@contoso.test");
    g.get(&format!("/groups/{pilots}?tab=members&view=transitive"))
        .await
        .ok()
        .has("bob@contoso.test")
        .has("2 user(s) in all");
    // Unknown member: nothing is added.
    let r = g
        .post(
            &format!("/groups/{pilots}/members"),
            &[("members", &format!("{bob}\nnobody@contoso.test"))],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    r.has("Nothing was changed").has("nobody@contoso.test");
    assert!(!direct_members(&w, "Pilots").await.contains(&bob));
    let many: String = (0..21)
        .map(|i| format!("u{i}@contoso.test"))
        .collect::<Vec<_>>()
        .join("\n");
    let r = g
        .post(&format!("/groups/{pilots}/members"), &[("members", &many)])
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    r.has("at most 20 members at a time");
    // Remove by ticking.
    let r = g
        .post(
            &format!("/groups/{pilots}/members/remove"),
            &[("member", &ann_id)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(direct_members(&w, "Pilots").await, vec!["Crew".to_string()]);
    // A Global Reader sees members but no forms, and is refused when forcing one.
    let mut r = w.as_role(DirectoryRole::GlobalReader).await;
    r.get(&format!("/groups/{pilots}"))
        .await
        .ok()
        .has("Crew")
        .lacks("Add members")
        .lacks("Remove members")
        .lacks("name=\"member\"");
    let f = r
        .post(&format!("/groups/{pilots}/members"), &[("member", &ann_id)])
        .await;
    assert_eq!(f.status, StatusCode::FORBIDDEN);
    assert_eq!(direct_members(&w, "Pilots").await, vec!["Crew".to_string()]);
}

/// §2.4: a dynamic group's members come from its rule — the page says so, offers no member
/// forms, and a forced add is refused on the page with nothing changed.
#[tokio::test]
async fn dynamic_group_members_are_not_editable() {
    let w = World::demo().await;
    let finance = gid(&w, "Finance").await;
    let upn = w.make_user("dyn.try").await;
    let mut a = w.admin().await;
    a.get(&format!("/groups/{finance}"))
        .await
        .ok()
        .has("This is a dynamic group")
        .has("user.department -eq")
        .lacks("Add members")
        .lacks("Remove members");
    let before = direct_members(&w, "Finance").await;
    let r = a
        .post(&format!("/groups/{finance}/members"), &[("members", &upn)])
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    r.has("Nothing was changed");
    assert_eq!(direct_members(&w, "Finance").await, before);
}

/// admin-center.md "A group's Licenses page shows a notification when members are in error;
/// clicking lists them with the reason" and §11 pain 3 Reprocess: Sales runs out of Office 365
/// E5 seats in the demo (CountViolation). A License Administrator sees the banner, each member
/// in error with the reason and the fix, and Reprocess (audited); a Global Reader sees the
/// errors but no Reprocess or Assign, and is refused when forcing them.
#[tokio::test]
async fn licenses_tab_errors_reason_fix_and_reprocess() {
    let w = World::demo().await;
    let sales = gid(&w, "Sales").await;
    let mut l = w.as_role(DirectoryRole::LicenseAdministrator).await;
    let p = l.get(&format!("/groups/{sales}?tab=licenses")).await;
    p.ok()
        .has("license problem(s)")
        .has("Members with license errors")
        .has("CountViolation")
        .has("waiting for a free license of Office 365 E5")
        .has("Buy more licenses of Office 365 E5")
        .has("Errors &amp; issues")
        .has("Reprocess")
        .has("Assign a product to this group");
    let r = l.post(&format!("/groups/{sales}/reprocess"), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        r.location(),
        Some(format!("/groups/{sales}?tab=licenses&done=reprocessed").as_str())
    );
    let log = w.app.audit_log(&w.tenant, 5).await.unwrap();
    assert!(log
        .iter()
        .any(|a| a.activity == "Trigger group license recalculation" && a.target_name == "Sales"));
    let mut r = w.as_role(DirectoryRole::GlobalReader).await;
    r.get(&format!("/groups/{sales}?tab=licenses"))
        .await
        .ok()
        .has("CountViolation")
        .lacks("Reprocess")
        .lacks("Assign a product to this group");
    let n = w.app.audit_log(&w.tenant, 100).await.unwrap().len();
    assert_eq!(
        r.post(&format!("/groups/{sales}/reprocess"), &[])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(w.app.audit_log(&w.tenant, 100).await.unwrap().len(), n);
}

/// G-assign (D13): a product is assigned to a group with one app turned off and the worker
/// is woken; the job gives the members the license (checked in the database); the product is
/// removed again. An unknown product and a group that is not security-enabled (G1) are
/// refused on the page, nothing queued.
#[tokio::test]
async fn assign_and_remove_a_product_on_the_group() {
    let w = World::demo().await;
    let pilots = static_group(&w, "Pilots").await;
    let ann = w.make_user("ann").await;
    w.app
        .add_member(&w.tenant, "Pilots", &ann, &Actor::Operator)
        .await
        .unwrap();
    let e1 = sku_id(&w, E1).await;
    let c = w.app.tenant_catalog(&w.tenant).await.unwrap();
    let plans: Vec<String> = c
        .find_product(E1)
        .unwrap()
        .plans
        .iter()
        .map(|p| format!("{e1}:{p}"))
        .collect();
    let mut l = w.as_role(DirectoryRole::LicenseAdministrator).await;
    l.get(&format!("/groups/{pilots}?tab=licenses"))
        .await
        .ok()
        .has("This group assigns no products")
        .has(&format!("value=\"{e1}\""));
    let mut fields = vec![("sku", e1.as_str())];
    for p in &plans[1..] {
        fields.push(("on", p));
    }
    let r = l.post(&format!("/groups/{pilots}/licenses"), &fields).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let gid = w.app.group(&w.tenant, "Pilots").await.unwrap().id;
    let lic = w.app.group_licenses(&w.tenant).await.unwrap();
    let mine = lic.get(&gid).expect("group license");
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].1.len(), 1, "one app off");
    w.app.run_open_jobs().await.unwrap();
    let v = w.app.user_view(&w.tenant, &ann).await.unwrap();
    assert!(v
        .licenses
        .iter()
        .any(|x| x.part_number == E1 && x.held && x.paths.iter().any(|p| p.source == "Pilots")));
    l.get(&format!("/groups/{pilots}?tab=licenses"))
        .await
        .ok()
        .has("Office 365 E1")
        .has("Remove");
    let r = l
        .post(
            &format!("/groups/{pilots}/licenses/remove"),
            &[("sku", &e1)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(!w
        .app
        .group_licenses(&w.tenant)
        .await
        .unwrap()
        .contains_key(&gid));
    // Unknown product.
    let r = l
        .post(
            &format!("/groups/{pilots}/licenses"),
            &[("sku", "00000000-0000-0000-0000-000000000000")],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    r.has("Your organization has no product");
    // G1: a Microsoft 365 group that is not security-enabled carries no licenses.
    let social = gid_of(&w, "Contoso Social Club").await;
    l.get(&format!("/groups/{social}?tab=licenses"))
        .await
        .ok()
        .has("isn't security-enabled")
        .lacks("Assign a product to this group");
    let r = l
        .post(&format!("/groups/{social}/licenses"), &[("sku", &e1)])
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        !w.app.group_licenses(&w.tenant).await.unwrap().contains_key(
            &w.app
                .group(&w.tenant, "Contoso Social Club")
                .await
                .unwrap()
                .id
        )
    );
    // A Global Reader may not assign group licenses.
    let mut r = w.as_role(DirectoryRole::GlobalReader).await;
    r.get("/groups").await.ok();
    assert_eq!(
        r.post(&format!("/groups/{pilots}/licenses"), &[("sku", &e1)])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
}

async fn gid_of(w: &World, name: &str) -> String {
    gid(w, name).await
}

/// An unknown group id is a clear 404.
#[tokio::test]
async fn unknown_group_is_404() {
    let w = World::demo().await;
    let mut a = w.admin().await;
    let p = a.get("/groups/00000000-0000-0000-0000-000000000000").await;
    assert_eq!(p.status, StatusCode::NOT_FOUND);
    p.has("There is no such group");
    assert_eq!(
        a.get("/groups/not-an-id").await.status,
        StatusCode::NOT_FOUND
    );
}

/// The Settings tab: a Groups Administrator renames a group, edits its description and a
/// dynamic group's rule (a malformed rule is refused with its position, nothing changed) and
/// pauses it; a License Administrator changes only the license priority (D4), the rest of the
/// form is read-only and ignored; a Global Reader sees the values and may not post. Delete is
/// refused while the group assigns products (D10) and works once it does not.
#[tokio::test]
async fn settings_edit_priority_and_delete() {
    let w = World::demo().await;
    let pilots = static_group(&w, "Pilots").await;
    let mut g = w.as_role(DirectoryRole::GroupsAdministrator).await;
    g.get(&format!("/groups/{pilots}?tab=settings"))
        .await
        .ok()
        .has("Properties")
        .has("License priority")
        .has("Delete group")
        .lacks("Dynamic membership rule");
    let r = g
        .post(
            &format!("/groups/{pilots}/settings"),
            &[
                ("name", "Pilot crew"),
                ("description", "Flies"),
                ("priority", "0"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let now = w.app.group(&w.tenant, &pilots).await.unwrap();
    assert_eq!(now.display_name, "Pilot crew");
    assert_eq!(now.description.as_deref(), Some("Flies"));
    // Bad input is answered on the page, nothing written.
    for (fields, says) in [
        (vec![("name", " "), ("priority", "0")], "Enter a name"),
        (
            vec![("name", "Pilot crew"), ("priority", "high")],
            "whole number",
        ),
        (
            vec![("name", "Pilot crew"), ("priority", "5000")],
            "from -1000 to 1000",
        ),
    ] {
        let r = g.post(&format!("/groups/{pilots}/settings"), &fields).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{says}");
        r.has(says);
    }
    let after = w.app.group(&w.tenant, &pilots).await.unwrap();
    assert_eq!(
        (after.display_name.as_str(), after.license_priority),
        ("Pilot crew", 0)
    );

    // A dynamic group's rule and pause.
    let finance = gid(&w, "Finance").await;
    g.get(&format!("/groups/{finance}?tab=settings"))
        .await
        .ok()
        .has("Dynamic membership rule")
        .has("Pause processing");
    let r = g
        .post(
            &format!("/groups/{finance}/settings"),
            &[
                ("name", "Finance"),
                ("rule", "user.department -eq"),
                ("priority", "0"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    r.has("The membership rule isn")
        .has("at position 20")
        .has("user.department -eq");
    let f = w.app.group(&w.tenant, &finance).await.unwrap();
    assert_eq!(
        f.membership_rule.as_deref(),
        Some(r#"user.department -eq "Finance""#)
    );
    let r = g
        .post(
            &format!("/groups/{finance}/settings"),
            &[
                ("name", "Finance"),
                ("description", "Finance and controlling"),
                ("rule", r#"user.department -eq "Controlling""#),
                ("paused", "on"),
                ("priority", "0"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let f = w.app.group(&w.tenant, &finance).await.unwrap();
    assert_eq!(
        f.membership_rule.as_deref(),
        Some(r#"user.department -eq "Controlling""#)
    );
    assert!(f.rule_paused);

    // A License Administrator: the priority only.
    let mut l = w.as_role(DirectoryRole::LicenseAdministrator).await;
    l.get(&format!("/groups/{pilots}?tab=settings"))
        .await
        .ok()
        .has("readonly")
        .lacks("Delete group");
    let r = l
        .post(
            &format!("/groups/{pilots}/settings"),
            &[("name", "Renamed by license admin"), ("priority", "7")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let p = w.app.group(&w.tenant, &pilots).await.unwrap();
    assert_eq!(
        (p.display_name.as_str(), p.license_priority),
        ("Pilot crew", 7)
    );
    assert_eq!(
        l.post(&format!("/groups/{pilots}/delete"), &[])
            .await
            .status,
        StatusCode::FORBIDDEN
    );

    // A Global Reader may read, not write.
    let mut r = w.as_role(DirectoryRole::GlobalReader).await;
    r.get(&format!("/groups/{pilots}?tab=settings"))
        .await
        .ok()
        .has("Pilot crew")
        .lacks("type=\"submit\" class=\"primary\">Save");
    assert_eq!(
        r.post(&format!("/groups/{pilots}/settings"), &[("priority", "9")])
            .await
            .status,
        StatusCode::FORBIDDEN
    );

    // Delete: refused while the group assigns a product, then done.
    let e1 = sku_id(&w, E1).await;
    l.post(&format!("/groups/{pilots}/licenses"), &[("sku", &e1)])
        .await;
    w.app.run_open_jobs().await.unwrap();
    let before = group_count(&w).await;
    let r = g.post(&format!("/groups/{pilots}/delete"), &[]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    r.has("The group wasn").has("Office 365 E1");
    assert_eq!(group_count(&w).await, before);
    l.post(
        &format!("/groups/{pilots}/licenses/remove"),
        &[("sku", &e1)],
    )
    .await;
    w.app.run_open_jobs().await.unwrap();
    let r = g.post(&format!("/groups/{pilots}/delete"), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), Some("/groups?done=deleted"));
    assert_eq!(group_count(&w).await, before - 1);
    g.get("/groups?done=deleted")
        .await
        .ok()
        .has("The group was deleted");
}
