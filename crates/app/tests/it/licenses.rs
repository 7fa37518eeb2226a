//! Direct license assignment (Graph `assignLicense`) and how it meets group licenses and seats.

use crate::fixtures::Env;
use crate::fixtures::{env, refusal, sku, spec, OP};
use crate::harness::for_each_backend;
use skuld_app::{Actor, AppError, LicenseSpec, NewSubscription};
use skuld_domain::{DirectoryRole, SkuId, SubscriptionStatus, UserType};

const E3: &str = "ENTERPRISEPACK";

#[tokio::test]
async fn g13_removing_an_inherited_license_on_the_user_is_refused_with_graphs_text() {
    for_each_backend(|url| async move {
        let e = env(&url).await;
        e.subscribe(E3, 5).await;
        e.user("alice", Some("US")).await;
        e.group("Staff").await;
        e.license_group("Staff", E3).await.unwrap();
        e.add("Staff", "alice").await.unwrap();
        assert_eq!(e.paths("alice", E3).await, ["Staff: Active None"]);

        let msg = refusal(e.undirect("alice", E3).await);
        assert_eq!(
            msg,
            "User license is inherited from a group membership and it cannot be removed directly from the user."
        );
        assert_eq!(e.paths("alice", E3).await, ["Staff: Active None"]);
        assert_eq!(e.seats(E3).await, (5, 1));
        e.assert_no_drift().await;
    })
    .await;
}

#[tokio::test]
async fn d3_user_waiting_in_count_violation_gets_the_seat_when_another_license_is_removed() {
    for_each_backend(|url| async move {
        let e = env(&url).await;
        e.subscribe(E3, 1).await;
        e.user("alice", Some("US")).await;
        e.user("bob", Some("US")).await;
        e.group("Staff").await;
        e.license_group("Staff", E3).await.unwrap();
        e.add("Staff", "alice").await.unwrap();
        e.add("Staff", "bob").await.unwrap();
        assert_eq!(e.paths("alice", E3).await, ["Staff: Active None"]);
        assert_eq!(e.paths("bob", E3).await, ["Staff: Error CountViolation"]);
        assert_eq!(e.seats(E3).await, (1, 1));

        // Alice leaves the group: her seat goes to bob in the same change, no reprocess call.
        e.remove("Staff", "alice").await.unwrap();
        e.assert_no_drift().await;
        assert!(e.paths("alice", E3).await.is_empty());
        assert_eq!(e.paths("bob", E3).await, ["Staff: Active None"]);
        assert!(e.holds("bob", E3).await);
        assert_eq!(e.seats(E3).await, (1, 1));
        e.assert_no_drift().await;
    })
    .await;
}

#[tokio::test]
async fn d3_waiting_user_gets_the_seat_when_a_direct_license_of_another_user_is_removed() {
    for_each_backend(|url| async move {
        let e = env(&url).await;
        e.subscribe(E3, 1).await;
        e.user("alice", Some("US")).await;
        e.user("bob", Some("US")).await;
        e.direct("alice", E3).await.unwrap();
        e.group("Staff").await;
        e.license_group("Staff", E3).await.unwrap();
        e.add("Staff", "bob").await.unwrap();
        assert_eq!(e.paths("alice", E3).await, ["Direct: Active None"]);
        assert_eq!(e.paths("bob", E3).await, ["Staff: Error CountViolation"]);

        e.undirect("alice", E3).await.unwrap();
        assert!(e.paths("alice", E3).await.is_empty());
        assert_eq!(e.paths("bob", E3).await, ["Staff: Active None"]);
        assert_eq!(e.seats(E3).await, (1, 1));
        e.assert_no_drift().await;
    })
    .await;
}

#[tokio::test]
async fn graph_assignlicense_errors() {
    for_each_backend(|url| async move {
        let e = env(&url).await;
        e.subscribe(E3, 1).await;
        e.user("alice", Some("US")).await;
        e.user("bob", Some("US")).await;
        e.user("nowhere", None).await;
        e.direct("alice", E3).await.unwrap();
        let e3 = sku(E3);

        let msg = refusal(e.direct("nowhere", E3).await);
        assert_eq!(
            msg,
            "License assignment cannot be done for user with invalid usage location."
        );
        check(&e, "nowhere").await;

        let unknown = SkuId::new();
        let msg = refusal(
            e.app
                .assign_license(
                    &e.t,
                    &e.upn("bob"),
                    &[LicenseSpec {
                        sku: unknown,
                        disabled_plans: vec![],
                    }],
                    &[],
                    &OP,
                )
                .await,
        );
        assert_eq!(
            msg,
            format!("License {unknown} does not correspond to a valid company License.")
        );
        check(&e, "bob").await;
        // A real product the tenant has no subscription of is just as unknown to it.
        let e1 = sku("STANDARDPACK");
        let msg = refusal(e.direct("bob", "STANDARDPACK").await);
        assert_eq!(
            msg,
            format!("License {e1} does not correspond to a valid company License.")
        );
        check(&e, "bob").await;

        let msg = refusal(e.direct("bob", E3).await);
        assert_eq!(
            msg,
            format!("Subscription with SKU {e3} does not have any available licenses.")
        );
        check(&e, "bob").await;

        let msg = refusal(e.undirect("bob", E3).await);
        assert_eq!(msg, "User does not have a corresponding license.");
        check(&e, "bob").await;

        // All or nothing: one bad product in the request refuses the good one with it.
        e.subscribe("EMS", 5).await;
        let msg = refusal(
            e.app
                .assign_license(&e.t, &e.upn("bob"), &[spec("EMS"), spec(E3)], &[], &OP)
                .await,
        );
        assert_eq!(
            msg,
            format!("Subscription with SKU {e3} does not have any available licenses.")
        );
        assert!(e.products("bob").await.is_empty());
        assert_eq!(e.seats("EMS").await, (5, 0));
        e.assert_no_drift().await;
        // And the same request without the short product goes through.
        e.direct("bob", "EMS").await.unwrap();
        assert_eq!(e.paths("bob", "EMS").await, ["Direct: Active None"]);
    })
    .await;
}

/// A refusal left the user without a new path and nothing half-written.
async fn check(e: &Env, alias: &str) {
    assert!(e.products(alias).await.is_empty(), "{alias} got a path");
    assert_eq!(e.seats(E3).await, (1, 1));
    e.assert_no_drift().await;
}

#[tokio::test]
async fn b1_guest_licensed_directly_needs_global_administrator() {
    for_each_backend(|url| async move {
        let e = env(&url).await;
        e.subscribe(E3, 5).await;
        let admin = e.user("lic-admin", Some("US")).await;
        e.user("member", Some("US")).await;
        let mut guest = e.new_user("guest_fabrikam.test#EXT#", Some("US"));
        guest.user_type = UserType::Guest;
        let guest = e.create(guest).await;
        let license_admin = Actor::User {
            guest: false,
            id: admin.id,
            upn: admin.upn.clone(),
            roles: vec![DirectoryRole::LicenseAdministrator],
            scopes: None,
        };

        let r = e
            .app
            .assign_license(&e.t, &guest.upn, &[spec(E3)], &[], &license_admin)
            .await;
        assert!(matches!(r, Err(AppError::Forbidden(_))), "{r:?}");
        assert!(e.products(&guest_alias(&guest.upn)).await.is_empty());

        // The same administrator may license a member…
        e.app
            .assign_license(&e.t, &e.upn("member"), &[spec(E3)], &[], &license_admin)
            .await
            .unwrap();
        // …and the operator (a Global Administrator) may license the guest.
        e.app
            .assign_license(&e.t, &guest.upn, &[spec(E3)], &[], &OP)
            .await
            .unwrap();
        let global = Actor::User {
            guest: false,
            id: admin.id,
            upn: admin.upn.clone(),
            roles: vec![DirectoryRole::GlobalAdministrator],
            scopes: None,
        };
        e.app
            .assign_license(&e.t, &guest.upn, &[spec(E3)], &[], &global)
            .await
            .unwrap();
        assert_eq!(
            e.paths(&guest_alias(&guest.upn), E3).await,
            ["Direct: Active None"]
        );
        assert_eq!(e.seats(E3).await, (5, 2));
        e.assert_no_drift().await;
    })
    .await;
}

fn guest_alias(upn: &str) -> String {
    upn.trim_end_matches("@contoso.test").to_string()
}

#[tokio::test]
async fn d9_self_service_subscription_blocks_admin_assignment_until_taken_over() {
    for_each_backend(|url| async move {
        let e = env(&url).await;
        e.user("alice", Some("US")).await;
        e.user("bob", Some("US")).await;
        let sub = e
            .app
            .add_subscription(
                &e.t,
                NewSubscription {
                    sku: sku(E3),
                    units: 5,
                    status: SubscriptionStatus::Enabled,
                    is_trial: false,
                    self_service_owner: Some(e.upn("alice")),
                    next_lifecycle_at: None,
                },
                &OP,
            )
            .await
            .unwrap();
        // The purchaser licenses itself with what it bought.
        assert_eq!(e.paths("alice", E3).await, ["Direct: Active None"]);

        let msg = refusal(e.direct("bob", E3).await);
        assert!(msg.contains("self-service purchase"), "{msg}");
        let msg = refusal(e.undirect("alice", E3).await);
        assert!(msg.contains("self-service purchase"), "{msg}");
        assert!(e.products("bob").await.is_empty());
        e.group("Staff").await;
        let msg = refusal(e.license_group("Staff", E3).await);
        assert!(msg.contains("self-service purchase"), "{msg}");

        e.app.take_over(&e.t, sub.id, &OP).await.unwrap();
        e.direct("bob", E3).await.unwrap();
        assert_eq!(e.paths("bob", E3).await, ["Direct: Active None"]);
        e.undirect("alice", E3).await.unwrap();
        assert_eq!(e.seats(E3).await, (5, 1));
        e.assert_no_drift().await;
    })
    .await;
}

#[tokio::test]
async fn bulk_assignment_is_all_or_nothing() {
    for_each_backend(|url| async move {
        let e = env(&url).await;
        e.subscribe(E3, 2).await;
        for a in ["alice", "bob", "carol"] {
            e.user(a, Some("US")).await;
        }
        let all: Vec<String> = ["alice", "bob", "carol"].iter().map(|a| e.upn(a)).collect();
        let msg = refusal(
            e.app
                .assign_licenses(&e.t, &all, &[spec(E3)], &[], false, &OP)
                .await,
        );
        assert_eq!(
            msg,
            format!(
                "Subscription with SKU {} does not have any available licenses.",
                sku(E3)
            )
        );
        for a in ["alice", "bob", "carol"] {
            assert!(e.products(a).await.is_empty(), "{a} got a path");
        }
        assert_eq!(e.seats(E3).await, (2, 0));
        e.app
            .assign_licenses(&e.t, &all[..2], &[spec(E3)], &[], false, &OP)
            .await
            .unwrap();
        assert_eq!(e.seats(E3).await, (2, 2));
        e.assert_no_drift().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_assignments_never_exceed_the_seats() {
    for_each_backend(|url| async move {
        const USERS: usize = 6;
        let e = env(&url).await;
        e.subscribe(E3, 3).await;
        for i in 0..USERS {
            e.user(&format!("user{i}"), Some("US")).await;
        }
        let tasks: Vec<_> = (0..USERS)
            .map(|i| {
                let (app, t, upn) = (e.app.clone(), e.t.clone(), e.upn(&format!("user{i}")));
                tokio::spawn(
                    async move { app.assign_license(&t, &upn, &[spec(E3)], &[], &OP).await },
                )
            })
            .collect();
        let mut granted = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(_) => granted += 1,
                Err(AppError::Refused(r)) => {
                    let m = r.graph_text();
                    assert!(m.contains("does not have any available licenses"), "{m}")
                }
                Err(other) => panic!("unexpected failure: {other:?}"),
            }
        }
        assert_eq!(granted, 3);
        assert_eq!(e.seats(E3).await, (3, 3));
        e.assert_no_drift().await;
    })
    .await;
}

#[tokio::test]
async fn d12_removing_a_direct_prerequisite_is_refused_for_every_user_of_a_bulk_change() {
    for_each_backend(|url| async move {
        let e = env(&url).await;
        e.subscribe(E3, 5).await;
        e.subscribe("EMS", 5).await;
        e.subscribe("MCOMEETADV", 5).await;
        e.user("alice", Some("US")).await;
        e.user("bob", Some("US")).await;
        // Alice has Skype for Business from a group, bob directly with E3.
        e.group("Staff").await;
        e.license_group("Staff", E3).await.unwrap();
        e.add("Staff", "alice").await.unwrap();
        e.direct("alice", "EMS").await.unwrap();
        e.direct("bob", E3).await.unwrap();
        e.direct("bob", "MCOMEETADV").await.unwrap();

        // Alone, bob cannot drop the E3 his Audio Conferencing depends on.
        let msg = refusal(e.undirect("bob", E3).await);
        assert!(
            msg.starts_with("License assignment failed because"),
            "{msg}"
        );

        // Nor in a bulk "replace" with alice, whichever order the users come in.
        for order in [["alice", "bob"], ["bob", "alice"]] {
            let users: Vec<String> = order.iter().map(|a| e.upn(a)).collect();
            let msg = refusal(
                e.app
                    .assign_licenses(&e.t, &users, &[spec("MCOMEETADV")], &[], true, &OP)
                    .await,
            );
            assert!(
                msg.starts_with("License assignment failed because"),
                "{order:?}: {msg}"
            );
            assert_eq!(
                e.paths("bob", E3).await,
                ["Direct: Active None"],
                "{order:?}"
            );
            assert_eq!(e.paths("alice", "EMS").await, ["Direct: Active None"]);
        }
        e.assert_no_drift().await;
    })
    .await;
}

// Issue 7, "Errors in the admin's language": one refusal, two renderings.
#[tokio::test]
async fn issue7_a_many_user_assignment_names_every_failing_user_and_counts_the_seats() {
    for_each_backend(|url| async move {
        let e = env(&url).await;
        let sub = e.subscribe(E3, 1).await;
        e.user("alice", Some("US")).await;
        e.user("bob", Some("US")).await;
        e.user("carol", Some("US")).await;
        e.user("nowhere", None).await;
        let users: Vec<String> = ["alice", "bob", "carol", "nowhere", "ghost"]
            .iter()
            .map(|a| e.upn(a))
            .collect();
        let r = crate::fixtures::refused(
            e.app
                .assign_licenses(&e.t, &users, &[spec(E3)], &[], false, &OP)
                .await,
        );
        // Graph names the first problem with Microsoft's text.
        assert_eq!(
            r.graph_text(),
            "License assignment cannot be done for user with invalid usage location."
        );
        let admin = r.admin_text();
        assert!(admin.starts_with("nothing was changed, because of 3 problems:"), "{admin}");
        assert!(admin.contains("nowhere@contoso.test has no usage location, which a direct license of Office 365 E3 needs: set one with `skuld user set nowhere@contoso.test --location CC`"), "{admin}");
        assert!(admin.contains("there is no user 'ghost@contoso.test'"), "{admin}");
        // One seat for three users: two more are needed, counted over the whole command.
        assert!(
            admin.contains("Office 365 E3 has only 1 free license(s) (0 of 1 assigned); 2 more are needed for these users:"),
            "{admin}"
        );
        assert!(
            admin.contains(&format!("`skuld subscription set-seats {} 3`", sub.id)),
            "{admin}"
        );
        assert_eq!(e.seats(E3).await, (1, 0), "nothing was written");
        e.assert_no_drift().await;
    })
    .await;
}

#[tokio::test]
async fn issue7_clearing_the_location_of_a_user_with_direct_licenses_is_refused_naming_them() {
    for_each_backend(|url| async move {
        let e = env(&url).await;
        e.subscribe(E3, 2).await;
        e.user("priya", Some("US")).await;
        e.direct("priya", E3).await.unwrap();
        let r = crate::fixtures::refused(
            e.app
                .update_user(
                    &e.t,
                    &e.upn("priya"),
                    skuld_app::UserPatch {
                        usage_location: Some(None),
                        ..Default::default()
                    },
                    &OP,
                )
                .await,
        );
        assert_eq!(r.kind(), skuld_app::RefusalKind::BadRequest);
        assert_eq!(
            r.admin_text(),
            "priya@contoso.test holds direct licenses that need a usage location: Office 365 E3; remove them first with `skuld license remove ENTERPRISEPACK --user priya@contoso.test` or set another location"
        );
        assert!(e.holds("priya", E3).await);
        let u = e.app.user(&e.t, &e.upn("priya")).await.unwrap();
        assert_eq!(u.usage_location.map(|l| l.to_string()).as_deref(), Some("US"));
    })
    .await;
}

#[tokio::test]
async fn issue7_reassigning_with_other_apps_reports_what_changed_per_user() {
    for_each_backend(|url| async move {
        let e = env(&url).await;
        e.subscribe(E3, 5).await;
        e.user("alice", Some("US")).await;
        e.user("bob", Some("US")).await;
        e.direct("alice", E3).await.unwrap();
        let cat = skuld_domain::Catalog::microsoft();
        let product = cat.product(&sku(E3)).unwrap();
        let exchange = cat.find_plan_in(product, "EXCHANGE_S_ENTERPRISE").unwrap();
        let off = LicenseSpec {
            sku: sku(E3),
            disabled_plans: vec![exchange],
        };
        let (_, changes) = e
            .app
            .assign_licenses_reported(
                &e.t,
                &[e.upn("alice"), e.upn("bob")],
                std::slice::from_ref(&off),
                &[],
                false,
                &OP,
            )
            .await
            .unwrap();
        let by = |upn: &str| {
            changes
                .iter()
                .find(|c| c.user == upn)
                .map(|c| c.outcome.clone())
                .unwrap()
        };
        match by(&e.upn("alice")) {
            skuld_app::ChangeOutcome::Changed { on, off } => {
                assert!(on.is_empty());
                assert_eq!(
                    off.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
                    ["EXCHANGE_S_ENTERPRISE"]
                );
            }
            other => panic!("alice: {other:?}"),
        }
        assert_eq!(by(&e.upn("bob")), skuld_app::ChangeOutcome::Assigned);
        let (_, again) = e
            .app
            .assign_licenses_reported(&e.t, &[e.upn("bob")], &[off], &[], false, &OP)
            .await
            .unwrap();
        assert_eq!(again[0].outcome, skuld_app::ChangeOutcome::Unchanged);
        e.assert_no_drift().await;
    })
    .await;
}
