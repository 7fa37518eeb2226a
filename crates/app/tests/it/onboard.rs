//! The admin center's "Add a user" wizard as one use case (issue 8, rulebook §8.1): user,
//! direct licenses and roles in one transaction, nothing half-created; and the Groups pages'
//! use cases (rule preview, group reprocess, license counts per group).

use crate::fixtures::{env, sku, spec, OP};
use crate::harness::for_each_backend;
use skuld_app::{Actor, AppError, LicenseSpec, NewGroup, Problem};
use skuld_domain::{DirectoryRole, UserId};

const E3: &str = "ENTERPRISEPACK";
const AUDIO: &str = "MCOMEETADV";

fn actor(role: DirectoryRole) -> Actor {
    Actor::User {
        id: UserId::new(),
        upn: "actor@contoso.test".into(),
        roles: vec![role],
        guest: false,
        scopes: None,
    }
}

fn problems(r: Result<impl std::fmt::Debug, AppError>) -> Vec<Problem> {
    match r {
        Err(AppError::Refused(r)) => r.problems,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// §8.1: the user, its license and its role come together, with the audit rows of each.
#[tokio::test]
async fn wizard_creates_user_license_and_role_in_one_go() {
    for_each_backend(|url| async move {
        let e = env(&url).await;
        e.subscribe(E3, 2).await;
        let n = e.new_user("nina", Some("US"));
        let (u, generated) = e
            .app
            .create_user_with(
                &e.t,
                skuld_app::NewUser {
                    password: None,
                    force_change_password: true,
                    ..n
                },
                &[spec(E3)],
                &[DirectoryRole::LicenseAdministrator],
                &OP,
            )
            .await
            .unwrap();
        // §8.2: a generated password is 16 characters.
        assert_eq!(generated.as_deref().map(str::len), Some(16));
        assert!(u.force_change_password);
        assert!(e.holds("nina", E3).await);
        assert_eq!(e.paths("nina", E3).await, vec!["Direct: Active None"]);
        assert_eq!(e.seats(E3).await, (2, 1));
        let roles = e.app.role_assignments(&e.t).await.unwrap();
        assert!(roles
            .iter()
            .any(|r| r.1 == u.upn && r.2 == DirectoryRole::LicenseAdministrator));
        let log: Vec<String> = e
            .app
            .audit_log(&e.t, 20)
            .await
            .unwrap()
            .into_iter()
            .filter(|a| a.target_id == u.id.to_string())
            .map(|a| a.activity)
            .collect();
        for want in ["Add user", "Change user license", "Add member to role"] {
            assert!(log.iter().any(|a| a == want), "{want} missing in {log:?}");
        }
        e.assert_no_drift().await;
    })
    .await;
}

/// Issue 8 "all of it one transaction": no seat left refuses the whole wizard with the
/// admin's message (NoSeats, U-count), and no user exists afterwards.
#[tokio::test]
async fn no_seat_left_refuses_everything_and_no_user_exists() {
    for_each_backend(|url| async move {
        let e = env(&url).await;
        e.subscribe(E3, 1).await;
        e.user("first", Some("US")).await;
        e.direct("first", E3).await.unwrap();
        let r = e
            .app
            .create_user_with(
                &e.t,
                e.new_user("late", Some("US")),
                &[spec(E3)],
                &[DirectoryRole::GlobalReader],
                &OP,
            )
            .await;
        let p = problems(r);
        assert!(
            matches!(&p[..], [Problem::NoSeats { users, .. }] if users == &vec![e.upn("late")]),
            "{p:?}"
        );
        assert!(p[0].admin_text().contains("has no free licenses"));
        assert!(e.app.user(&e.t, &e.upn("late")).await.is_err());
        assert!(e.app.role_assignments(&e.t).await.unwrap().is_empty());
        assert_eq!(e.seats(E3).await, (1, 1));
        e.assert_no_drift().await;
    })
    .await;
}

/// U5: a plan prohibited in the usage location refuses the whole wizard; U1: a license needs
/// a usage location. Nothing is created in either case.
#[tokio::test]
async fn prohibited_location_or_no_location_refuses_everything() {
    for_each_backend(|url| async move {
        let e = env(&url).await;
        e.subscribe(E3, 5).await;
        e.subscribe(AUDIO, 5).await;
        let r = e
            .app
            .create_user_with(
                &e.t,
                e.new_user("bruno", Some("BN")),
                &[spec(E3), spec(AUDIO)],
                &[],
                &OP,
            )
            .await;
        let p = problems(r);
        assert!(
            p.iter().any(
                |p| matches!(p, Problem::ProhibitedInLocation { location, .. } if location == "BN")
            ),
            "{p:?}"
        );
        assert!(e.app.user(&e.t, &e.upn("bruno")).await.is_err());
        let r = e
            .app
            .create_user_with(&e.t, e.new_user("nowhere", None), &[spec(E3)], &[], &OP)
            .await;
        assert!(matches!(
            &problems(r)[..],
            [Problem::NoUsageLocation { .. }]
        ));
        assert!(e.app.user(&e.t, &e.upn("nowhere")).await.is_err());
        assert_eq!(e.seats(E3).await, (5, 0));
        // An unknown plan of the product is refused before anything is written.
        let r = e
            .app
            .create_user_with(
                &e.t,
                e.new_user("planless", Some("US")),
                &[LicenseSpec {
                    sku: sku(E3),
                    disabled_plans: vec![skuld_domain::PlanId::new()],
                }],
                &[],
                &OP,
            )
            .await;
        assert!(matches!(
            &problems(r)[..],
            [Problem::PlanNotInProduct { .. }]
        ));
        assert!(e.app.user(&e.t, &e.upn("planless")).await.is_err());
    })
    .await;
}

/// §7.1 / rulebook §8.1 roles: a User Administrator creates and licenses users but gives no
/// roles; a License Administrator creates no users. A taken username is refused.
#[tokio::test]
async fn rights_and_duplicates() {
    for_each_backend(|url| async move {
        let e = env(&url).await;
        e.subscribe(E3, 5).await;
        let ua = actor(DirectoryRole::UserAdministrator);
        let r = e
            .app
            .create_user_with(
                &e.t,
                e.new_user("withrole", Some("US")),
                &[],
                &[DirectoryRole::GlobalReader],
                &ua,
            )
            .await;
        assert!(matches!(r, Err(AppError::Forbidden(_))), "{r:?}");
        let la = actor(DirectoryRole::LicenseAdministrator);
        let r = e
            .app
            .create_user_with(&e.t, e.new_user("byla", Some("US")), &[], &[], &la)
            .await;
        assert!(matches!(r, Err(AppError::Forbidden(_))), "{r:?}");
        e.app
            .create_user_with(&e.t, e.new_user("ok", Some("US")), &[spec(E3)], &[], &ua)
            .await
            .unwrap();
        assert!(e.holds("ok", E3).await);
        let r = e
            .app
            .create_user_with(&e.t, e.new_user("ok", Some("US")), &[], &[], &ua)
            .await;
        assert!(matches!(&problems(r)[..], [Problem::DuplicateUpn { .. }]));
    })
    .await;
}

/// Groups page: the rule preview counts and names the matching users without changing
/// anything; a malformed rule answers its 1-based position.
#[tokio::test]
async fn rule_preview_matches_and_positions() {
    for_each_backend(|url| async move {
        let e = env(&url).await;
        for a in ["fa", "fb", "other"] {
            let mut n = e.new_user(a, Some("US"));
            if a != "other" {
                n.department = Some("Finance".into());
            }
            e.create(n).await;
        }
        let p = e
            .app
            .preview_rule(&e.t, r#"user.department -eq "Finance""#, &OP)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(p.matches, 2);
        assert!(p.complete);
        assert_eq!(p.scanned, 3);
        let err = e
            .app
            .preview_rule(&e.t, "user.department -eq", &OP)
            .await
            .unwrap()
            .unwrap_err();
        assert_eq!(err.position, 20);
        assert!(e.app.groups(&e.t).await.unwrap().is_empty());
    })
    .await;
}

/// §11 pain 3: Reprocess of a group evaluates its members again; a waiting member gets a
/// seat freed meanwhile (already by D3) and the reprocess leaves no drift. Counts per group
/// feed the list's license and error columns.
#[tokio::test]
async fn reprocess_group_and_counts() {
    for_each_backend(|url| async move {
        let e = env(&url).await;
        e.subscribe(E3, 1).await;
        e.group("Team").await;
        e.user("a", Some("US")).await;
        e.user("b", Some("US")).await;
        e.add("Team", "a").await.unwrap();
        e.add("Team", "b").await.unwrap();
        e.license_group("Team", E3).await.unwrap();
        let g = e.app.group(&e.t, "Team").await.unwrap();
        let stats = e.app.group_license_stats(&e.t).await.unwrap();
        assert_eq!(stats.get(&g.id), Some(&(1, 1)));
        let r = e.app.reprocess_group(&e.t, "Team", &OP).await.unwrap();
        assert_eq!((r.members, r.errors), (2, 1));
        let reader = actor(DirectoryRole::GlobalReader);
        assert!(matches!(
            e.app.reprocess_group(&e.t, "Team", &reader).await,
            Err(AppError::Forbidden(_))
        ));
        let log = e.app.audit_log(&e.t, 5).await.unwrap();
        assert!(log
            .iter()
            .any(|a| a.activity == "Trigger group license recalculation"));
        // A Microsoft 365 group that is not security-enabled carries no licenses.
        e.app
            .create_group(
                &e.t,
                NewGroup {
                    display_name: "Social".into(),
                    kind: skuld_domain::GroupKind::Microsoft365,
                    mail_enabled: true,
                    ..NewGroup::default()
                },
                &OP,
            )
            .await
            .unwrap();
        assert_eq!(
            e.app
                .reprocess_group(&e.t, "Social", &OP)
                .await
                .unwrap()
                .members,
            0
        );
        e.assert_no_drift().await;
    })
    .await;
}
