//! Group-based licensing: nesting, deleting licensed groups, group-local validation, dynamic
//! membership.

use crate::fixtures::{env, refusal, spec, OP};
use crate::harness::for_each_backend;
use skuld_app::{GroupPatch, NewGroup, UserPatch};

const E3: &str = "ENTERPRISEPACK";

#[tokio::test]
async fn d2_nested_group_members_are_licensed() {
    for_each_backend(|url| async move {
        let e = env(&url).await;
        e.subscribe(E3, 5).await;
        e.user("alice", Some("US")).await;
        e.user("bob", None).await;
        e.group("Parent").await;
        e.group("Child").await;
        e.group("Grandchild").await;
        e.license_group("Parent", E3).await.unwrap();
        e.add("Parent", "Child").await.unwrap();
        e.add("Child", "Grandchild").await.unwrap();
        e.add("Child", "alice").await.unwrap();
        // Joining a group two levels down licenses the user through the top group.
        e.add("Grandchild", "bob").await.unwrap();
        assert_eq!(e.paths("alice", E3).await, ["Parent: Active None"]);
        assert_eq!(e.paths("bob", E3).await, ["Parent: Active None"]);
        let view = e.app.user_view(&e.t, &e.upn("bob")).await.unwrap();
        assert_eq!(
            view.groups,
            [
                ("Grandchild".to_string(), true),
                ("Child".to_string(), false),
                ("Parent".to_string(), false)
            ]
        );
        assert_eq!(e.seats(E3).await, (5, 2));

        // Cutting the chain takes the inherited license with it.
        e.remove("Child", "Grandchild").await.unwrap();
        assert!(e.paths("bob", E3).await.is_empty());
        assert_eq!(e.paths("alice", E3).await, ["Parent: Active None"]);
        assert_eq!(e.seats(E3).await, (5, 1));
        e.assert_no_drift().await;
    })
    .await;
}

#[tokio::test]
async fn d2_a_cycle_of_nested_groups_is_refused() {
    for_each_backend(|url| async move {
        let e = env(&url).await;
        e.group("Parent").await;
        e.group("Child").await;
        e.group("Grandchild").await;
        e.add("Parent", "Child").await.unwrap();
        e.add("Child", "Grandchild").await.unwrap();
        for (group, member) in [
            ("Grandchild", "Parent"),
            ("Child", "Parent"),
            ("Parent", "Parent"),
        ] {
            let msg = refusal(e.add(group, member).await);
            assert!(msg.contains("cycle"), "{group} ∋ {member}: {msg}");
        }
        let (_, groups) = e.app.group_members(&e.t, "Grandchild").await.unwrap();
        assert!(groups.is_empty());
        let (_, groups) = e.app.group_members(&e.t, "Parent").await.unwrap();
        let names: Vec<_> = groups.iter().map(|g| g.display_name.as_str()).collect();
        assert_eq!(names, ["Child"]);
        e.assert_no_drift().await;
    })
    .await;
}

#[tokio::test]
async fn d10_licensed_group_cannot_be_deleted() {
    for_each_backend(|url| async move {
        let e = env(&url).await;
        e.subscribe(E3, 5).await;
        e.user("alice", Some("US")).await;
        e.group("Staff").await;
        e.license_group("Staff", E3).await.unwrap();
        e.add("Staff", "alice").await.unwrap();

        let msg = refusal(e.app.delete_group(&e.t, "Staff", &OP).await);
        assert_eq!(
            msg,
            "The group 'Staff' has licenses assigned. Remove all licenses from the group before deleting it."
        );
        e.app.group(&e.t, "Staff").await.unwrap();
        assert_eq!(e.paths("alice", E3).await, ["Staff: Active None"]);

        e.unlicense_group("Staff", E3).await.unwrap();
        assert!(e.paths("alice", E3).await.is_empty());
        e.app.delete_group(&e.t, "Staff", &OP).await.unwrap();
        assert!(e.app.group(&e.t, "Staff").await.is_err());
        assert_eq!(e.seats(E3).await, (5, 0));
        e.assert_no_drift().await;
    })
    .await;
}

#[tokio::test]
async fn g11_group_dependency_refused() {
    for_each_backend(|url| async move {
        let e = env(&url).await;
        e.subscribe("MCOMEETADV", 5).await;
        e.subscribe(E3, 5).await;
        e.user("alice", Some("US")).await;
        e.group("Conferencing").await;
        e.add("Conferencing", "alice").await.unwrap();

        // Audio Conferencing needs Skype for Business (Plan 2) in the same group.
        let msg = refusal(e.license_group("Conferencing", "MCOMEETADV").await);
        assert!(
            msg.starts_with(
                "License operation failed. Make sure that the group has necessary services"
            ),
            "{msg}"
        );
        let view = e.app.group_view(&e.t, "Conferencing").await.unwrap();
        assert!(view.licenses.is_empty(), "{:?}", view.licenses);
        assert!(e.products("alice").await.is_empty());

        // It does not help that the user has the prerequisite elsewhere: validation is group-local.
        e.direct("alice", E3).await.unwrap();
        refusal(e.license_group("Conferencing", "MCOMEETADV").await);

        // With the prerequisite in the same group the bundle is accepted.
        e.app
            .group_assign_license(
                &e.t,
                "Conferencing",
                &[spec("MCOMEETADV"), spec(E3)],
                &[],
                &OP,
            )
            .await
            .unwrap();
        assert_eq!(
            e.paths("alice", "MCOMEETADV").await,
            ["Conferencing: Active None"]
        );
        e.assert_no_drift().await;
    })
    .await;
}

#[tokio::test]
async fn dynamic_group_user_attribute_change_joins_and_leaves_with_the_license() {
    for_each_backend(|url| async move {
        let e = env(&url).await;
        e.subscribe(E3, 5).await;
        e.app
            .create_group(
                &e.t,
                NewGroup {
                    display_name: "Finance".into(),
                    security_enabled: true,
                    membership_rule: Some(r#"user.department -eq "Finance""#.into()),
                    ..NewGroup::default()
                },
                &OP,
            )
            .await
            .unwrap();
        e.license_group("Finance", E3).await.unwrap();

        let mut n = e.new_user("alice", Some("US"));
        n.department = Some("Finance".into());
        e.create(n).await;
        e.user("bob", Some("US")).await;
        let (members, _) = e.app.group_members(&e.t, "Finance").await.unwrap();
        assert_eq!(members.len(), 1);
        assert_eq!(e.paths("alice", E3).await, ["Finance: Active None"]);
        assert!(e.products("bob").await.is_empty());
        assert_eq!(e.seats(E3).await, (5, 1));

        e.app
            .update_user(
                &e.t,
                &e.upn("alice"),
                UserPatch {
                    department: Some(Some("Sales".into())),
                    ..UserPatch::default()
                },
                &OP,
            )
            .await
            .unwrap();
        let (members, _) = e.app.group_members(&e.t, "Finance").await.unwrap();
        assert!(members.is_empty());
        assert!(e.products("alice").await.is_empty());
        assert_eq!(e.seats(E3).await, (5, 0));

        // Static members cannot be added to a dynamic group by hand.
        refusal(e.add("Finance", "bob").await);
        e.assert_no_drift().await;
    })
    .await;
}

#[tokio::test]
async fn dynamic_group_malformed_rule_is_refused_with_its_position() {
    for_each_backend(|url| async move {
        let e = env(&url).await;
        let r = e
            .app
            .create_group(
                &e.t,
                NewGroup {
                    display_name: "Broken".into(),
                    security_enabled: true,
                    membership_rule: Some("user.department -eq".into()),
                    ..NewGroup::default()
                },
                &OP,
            )
            .await;
        let msg = refusal(r);
        assert!(msg.contains("position"), "{msg}");
        assert!(e.app.groups(&e.t).await.unwrap().is_empty());

        e.group("Static").await;
        let msg = refusal(
            e.app
                .update_group(
                    &e.t,
                    "Static",
                    GroupPatch {
                        membership_rule: Some("(user.city -eq \"Oslo\"".into()),
                        ..GroupPatch::default()
                    },
                    &OP,
                )
                .await,
        );
        assert!(msg.contains("position"), "{msg}");
        assert!(!e.app.group(&e.t, "Static").await.unwrap().is_dynamic());
    })
    .await;
}
