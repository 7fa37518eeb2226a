//! List queries (`TenantTx::list_users`, `list_groups`, counts): every filter kind, search,
//! keyset paging, cursors.

use crate::directory::{group, state};
use crate::harness::{for_each_backend, tenant, user};
use crate::WriteFixture;
use skuld_domain::directory::GroupKind;
use skuld_domain::licensing::{LicenseError, PathState, PathStatus, Source};
use skuld_domain::query::{Cmp, Field, Filter, ListQuery, Order, PlanCond, Search, Value};
use skuld_domain::{Group, PlanId, SkuId, Timestamp, UsageLocation, User, UserId, UserType};
use skuld_store::{GroupAssignmentRow, Store, StoreError, TenantTx};
use std::collections::BTreeSet;
use uuid::Uuid;

fn q(filter: Filter) -> ListQuery {
    ListQuery {
        filter: Some(filter),
        limit: 999,
        ..Default::default()
    }
}
fn cmp(field: Field, op: Cmp, value: Value) -> Filter {
    Filter::Compare { field, op, value }
}
fn s(v: &str) -> Value {
    Value::Str(v.into())
}

/// Every page of a query, checking page sizes.
async fn walk_users(tx: &mut TenantTx, q: &ListQuery) -> Vec<User> {
    let mut q = q.clone();
    let mut out = Vec::new();
    for _ in 0..1000 {
        let p = tx.list_users(&q).await.unwrap();
        assert!(p.items.len() <= q.limit as usize);
        out.extend(p.items);
        match p.next {
            Some(c) => q.after = Some(c),
            None => return out,
        }
    }
    panic!("paging does not end");
}

async fn walk_groups(tx: &mut TenantTx, q: &ListQuery) -> Vec<Group> {
    let mut q = q.clone();
    let mut out = Vec::new();
    for _ in 0..1000 {
        let p = tx.list_groups(&q).await.unwrap();
        assert!(p.items.len() <= q.limit as usize);
        out.extend(p.items);
        match p.next {
            Some(c) => q.after = Some(c),
            None => return out,
        }
    }
    panic!("paging does not end");
}

fn names_u(v: &[User]) -> BTreeSet<String> {
    v.iter().map(|u| u.mail_nickname.clone()).collect()
}
fn names_g(v: &[Group]) -> BTreeSet<String> {
    v.iter().map(|g| g.mail_nickname.clone()).collect()
}
fn set(v: &[&str]) -> BTreeSet<String> {
    v.iter().map(|s| s.to_string()).collect()
}

struct Fixture {
    e3: SkuId,
    ems: SkuId,
    p1: PlanId,
    p2: PlanId,
    p3: PlanId,
    adele: User,
    created: Vec<User>,
}

/// adele: E3 applied (P2 disabled), US, Member, enabled; bob: E3 waiting, EMS applied, DE,
/// Guest, disabled, odd display name; carol: no license, no job title; dave: soft-deleted.
async fn fixture(store: &Store, t: skuld_domain::TenantId) -> Fixture {
    let (e3, ems) = (SkuId::new(), SkuId::new());
    let (p1, p2, p3) = (PlanId::new(), PlanId::new(), PlanId::new());
    let mut adele = user("adele@contoso.test");
    adele.display_name = "Adele Vance".into();
    adele.mail = Some("Adele.Vance@Contoso.test".into());
    adele.usage_location = Some(UsageLocation::parse("US").unwrap());
    adele.created_at = Timestamp(1_000);
    adele.on_premises_sync_enabled = Some(true);
    let mut bob = user("bob@contoso.test");
    bob.display_name = "50%_off Bob".into();
    bob.user_type = UserType::Guest;
    bob.account_enabled = false;
    bob.job_title = None;
    bob.created_at = Timestamp(2_000);
    bob.on_premises_sync_enabled = None;
    bob.mail = Some("bob@fabrikam.test".into());
    let mut carol = user("carol@contoso.test");
    carol.display_name = "Carol Carter".into();
    carol.department = Some("Sales".into());
    carol.job_title = None;
    carol.company_name = None;
    carol.created_at = Timestamp(3_000);
    let mut dave = user("dave@contoso.test");
    dave.display_name = "Dave Deleted".into();
    dave.deleted_at = Some(Timestamp(5_000));
    let mut tx = store.write(t).await.unwrap();
    let all = vec![adele.clone(), bob.clone(), carol.clone(), dave.clone()];
    tx.insert_users(&all).await.unwrap();
    let mut p2_only = vec![p2];
    p2_only.sort();
    tx.replace_path_states(
        &[],
        &[
            (
                adele.id,
                PathState {
                    disabled_plans: p2_only,
                    ..state(e3, Source::Direct)
                },
            ),
            (
                bob.id,
                PathState {
                    status: PathStatus::Error,
                    error: LicenseError::CountViolation,
                    applied: false,
                    ..state(e3, Source::Direct)
                },
            ),
            (bob.id, state(ems, Source::Direct)),
        ],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    Fixture {
        e3,
        ems,
        p1,
        p2,
        p3,
        adele,
        created: all,
    }
}

#[tokio::test]
async fn user_filters_of_every_kind() {
    for_each_backend(|url| async move {
        let store = Store::open(&url).await.unwrap();
        let t = tenant("Contoso");
        store.create_tenant(&t).await.unwrap();
        let fx = fixture(&store, t.id).await;
        let (e3, ems) = (fx.e3, fx.ems);
        let time = |ms| Value::Time(Timestamp(ms));
        let cases: Vec<(&str, Filter, &[&str])> = vec![
            (
                "eq ignores case",
                cmp(Field::DisplayName, Cmp::Eq, s("adele VANCE")),
                &["adele"],
            ),
            (
                "ne includes nulls",
                cmp(Field::JobTitle, Cmp::Ne, s("engineer")),
                &["bob", "carol"],
            ),
            (
                "eq null",
                cmp(Field::JobTitle, Cmp::Eq, Value::Null),
                &["bob", "carol"],
            ),
            (
                "ne null",
                cmp(Field::JobTitle, Cmp::Ne, Value::Null),
                &["adele"],
            ),
            (
                "null with range",
                cmp(Field::JobTitle, Cmp::Lt, Value::Null),
                &[],
            ),
            (
                "bool",
                cmp(Field::AccountEnabled, Cmp::Eq, Value::Bool(false)),
                &["bob"],
            ),
            (
                "nullable bool eq",
                cmp(Field::OnPremisesSyncEnabled, Cmp::Eq, Value::Bool(true)),
                &["adele"],
            ),
            (
                "nullable bool ne",
                cmp(Field::OnPremisesSyncEnabled, Cmp::Ne, Value::Bool(true)),
                &["bob", "carol"],
            ),
            (
                "enum text",
                cmp(Field::UserType, Cmp::Eq, s("guest")),
                &["bob"],
            ),
            (
                "time ge",
                cmp(Field::CreatedDateTime, Cmp::Ge, time(2_000)),
                &["bob", "carol"],
            ),
            (
                "time gt",
                cmp(Field::CreatedDateTime, Cmp::Gt, time(2_000)),
                &["carol"],
            ),
            (
                "time le",
                cmp(Field::CreatedDateTime, Cmp::Le, time(2_000)),
                &["adele", "bob"],
            ),
            (
                "time lt",
                cmp(Field::CreatedDateTime, Cmp::Lt, time(2_000)),
                &["adele"],
            ),
            (
                "time eq",
                cmp(Field::CreatedDateTime, Cmp::Eq, time(3_000)),
                &["carol"],
            ),
            (
                "id guid",
                cmp(Field::Id, Cmp::Eq, Value::Guid(fx.adele.id.0)),
                &["adele"],
            ),
            (
                "id upper-case string",
                cmp(
                    Field::Id,
                    Cmp::Eq,
                    s(&fx.adele.id.to_string().to_uppercase()),
                ),
                &["adele"],
            ),
            ("id not a guid", cmp(Field::Id, Cmp::Eq, s("nope")), &[]),
            (
                "in",
                Filter::In {
                    field: Field::UsageLocation,
                    values: vec![s("us"), s("FR")],
                },
                &["adele"],
            ),
            (
                "in with null",
                Filter::In {
                    field: Field::JobTitle,
                    values: vec![s("Engineer"), Value::Null],
                },
                &["adele", "bob", "carol"],
            ),
            (
                "in empty",
                Filter::In {
                    field: Field::City,
                    values: vec![],
                },
                &[],
            ),
            (
                "startswith ignores case",
                Filter::StartsWith {
                    field: Field::Mail,
                    prefix: "ADELE.".into(),
                },
                &["adele"],
            ),
            (
                "startswith escapes %",
                Filter::StartsWith {
                    field: Field::DisplayName,
                    prefix: "50%".into(),
                },
                &["bob"],
            ),
            (
                "startswith escapes _",
                Filter::StartsWith {
                    field: Field::DisplayName,
                    prefix: "50%_o".into(),
                },
                &["bob"],
            ),
            (
                "% is no wildcard",
                Filter::StartsWith {
                    field: Field::DisplayName,
                    prefix: "%".into(),
                },
                &[],
            ),
            (
                "_ is no wildcard",
                Filter::StartsWith {
                    field: Field::DisplayName,
                    prefix: "_".into(),
                },
                &[],
            ),
            (
                "startswith on null",
                Filter::StartsWith {
                    field: Field::JobTitle,
                    prefix: "".into(),
                },
                &["adele"],
            ),
            (
                "endswith",
                Filter::EndsWith {
                    field: Field::Mail,
                    suffix: "@CONTOSO.test".into(),
                },
                &["adele", "carol"],
            ),
            (
                "holds E3 (applied only)",
                Filter::HasLicense(vec![e3]),
                &["adele"],
            ),
            (
                "holds E3 or EMS",
                Filter::HasLicense(vec![e3, ems]),
                &["adele", "bob"],
            ),
            ("holds nothing listed", Filter::HasLicense(vec![]), &[]),
            (
                "enabled plan",
                Filter::HasEnabledPlan(vec![(e3, fx.p1)]),
                &["adele"],
            ),
            (
                "disabled plan",
                Filter::HasEnabledPlan(vec![(e3, fx.p2)]),
                &[],
            ),
            (
                "plan of a waiting path",
                Filter::HasEnabledPlan(vec![(e3, fx.p1), (ems, fx.p3)]),
                &["adele", "bob"],
            ),
            (
                "one of several plans of a product",
                Filter::HasEnabledPlan(vec![(e3, fx.p2), (e3, fx.p1)]),
                &["adele"],
            ),
            (
                "no licenses",
                Filter::LicenseCount { op: Cmp::Eq, n: 0 },
                &["carol"],
            ),
            (
                "some licenses",
                Filter::LicenseCount { op: Cmp::Ne, n: 0 },
                &["adele", "bob"],
            ),
            (
                "one license",
                Filter::LicenseCount { op: Cmp::Eq, n: 1 },
                &["adele", "bob"],
            ),
            (
                "not",
                Filter::Not(Box::new(Filter::HasLicense(vec![e3]))),
                &["bob", "carol"],
            ),
            (
                "and",
                Filter::And(vec![
                    cmp(Field::UserType, Cmp::Eq, s("Member")),
                    cmp(Field::UsageLocation, Cmp::Eq, s("US")),
                ]),
                &["adele"],
            ),
            (
                "or",
                Filter::Or(vec![
                    cmp(Field::UsageLocation, Cmp::Eq, s("US")),
                    cmp(Field::Department, Cmp::Eq, s("sales")),
                ]),
                &["adele", "carol"],
            ),
            ("empty and", Filter::And(vec![]), &["adele", "bob", "carol"]),
            ("empty or", Filter::Or(vec![]), &[]),
            ("const", Filter::Const(false), &[]),
            (
                "injection is a value",
                cmp(Field::DisplayName, Cmp::Eq, s("x' OR '1'='1")),
                &[],
            ),
        ];
        let mut tx = store.read(t.id).await.unwrap();
        for (name, f, want) in cases {
            let query = q(f);
            let got = walk_users(&mut tx, &query).await;
            assert_eq!(names_u(&got), set(want), "{name}");
            assert_eq!(
                tx.count_users_matching(&query).await.unwrap(),
                want.len() as i64,
                "{name}"
            );
        }

        // deleted users instead of live ones
        let deleted = ListQuery {
            deleted: true,
            ..Default::default()
        };
        assert_eq!(
            names_u(&walk_users(&mut tx, &deleted).await),
            set(&["dave"])
        );
        let q2 = ListQuery {
            filter: Some(cmp(Field::DeletedDateTime, Cmp::Ge, time(5_000))),
            deleted: true,
            ..Default::default()
        };
        assert_eq!(tx.count_users_matching(&q2).await.unwrap(), 1);

        // search: a word of the property starts with the text
        let term = |field, text: &str| Search::Term {
            field,
            text: text.into(),
        };
        let searches: Vec<(Search, &[&str])> = vec![
            (term(Field::DisplayName, "van"), &["adele"]),
            (term(Field::DisplayName, "VANCE"), &["adele"]),
            (term(Field::DisplayName, "ance"), &[]),
            (term(Field::DisplayName, "off"), &["bob"]),
            (term(Field::Mail, "contoso"), &["adele", "carol"]),
            (term(Field::Mail, "vance"), &["adele"]),
            (term(Field::DisplayName, "%"), &[]),
            (term(Field::DisplayName, "50%_"), &["bob"]),
            (
                Search::Or(vec![
                    term(Field::DisplayName, "carol"),
                    term(Field::DisplayName, "bob"),
                ]),
                &["bob", "carol"],
            ),
            (
                Search::And(vec![
                    term(Field::DisplayName, "carol"),
                    term(Field::DisplayName, "bob"),
                ]),
                &[],
            ),
        ];
        for (search, want) in searches {
            let query = ListQuery {
                search: Some(search.clone()),
                ..Default::default()
            };
            assert_eq!(
                names_u(&walk_users(&mut tx, &query).await),
                set(want),
                "{search:?}"
            );
        }
        // filter and search together
        let query = ListQuery {
            filter: Some(Filter::HasLicense(vec![e3, ems])),
            search: Some(term(Field::DisplayName, "bob")),
            ..Default::default()
        };
        assert_eq!(tx.count_users_matching(&query).await.unwrap(), 1);

        // what the store cannot run is a BadQuery, not a database error
        for f in [
            Filter::HasPlan(PlanCond::default()),
            cmp(Field::SecurityEnabled, Cmp::Eq, Value::Bool(true)),
            Filter::GroupType("Unified".into()),
            cmp(Field::DisplayName, Cmp::Eq, Value::Bool(true)),
        ] {
            assert!(
                matches!(
                    tx.list_users(&q(f.clone())).await,
                    Err(StoreError::BadQuery(_))
                ),
                "{f:?}"
            );
        }
        tx.commit().await.unwrap();
        assert_eq!(fx.created.len(), 4);
    })
    .await;
}

#[tokio::test]
async fn group_filters_of_every_kind() {
    for_each_backend(|url| async move {
        let store = Store::open(&url).await.unwrap();
        let t = tenant("Contoso");
        store.create_tenant(&t).await.unwrap();
        let e3 = SkuId::new();
        let sec = group("Sec");
        let uni = Group {
            kind: GroupKind::Microsoft365,
            mail_enabled: true,
            description: Some("Sales team".into()),
            ..group("Uni")
        };
        let paused = Group {
            membership_rule: Some("user.department -eq \"Sales\"".into()),
            rule_paused: true,
            ..group("Paused")
        };
        let dynamic = Group {
            membership_rule: Some("user.city -eq \"Oslo\"".into()),
            ..group("Dyn")
        };
        let mut tx = store.write(t.id).await.unwrap();
        for g in [&sec, &uni, &paused, &dynamic] {
            tx.insert_group(g).await.unwrap();
        }
        tx.upsert_group_assignment(&GroupAssignmentRow {
            group_id: sec.id,
            sku_id: e3,
            disabled_plans: vec![],
            created_at: Timestamp(1),
        })
        .await
        .unwrap();
        let (u1, u2) = (UserId::new(), UserId::new());
        tx.replace_path_states(
            &[],
            &[
                (
                    u1,
                    PathState {
                        status: PathStatus::Error,
                        error: LicenseError::CountViolation,
                        applied: false,
                        ..state(e3, Source::Group(sec.id))
                    },
                ),
                // healthy paths from another group do not count
                (u2, state(e3, Source::Group(uni.id))),
            ],
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();

        let cases: Vec<(&str, Filter, &[&str])> = vec![
            ("unified", Filter::GroupType("unified".into()), &["uni"]),
            (
                "dynamic",
                Filter::GroupType("DynamicMembership".into()),
                &["dyn", "paused"],
            ),
            ("unknown type", Filter::GroupType("Other".into()), &[]),
            (
                "not unified",
                Filter::Not(Box::new(Filter::GroupType("Unified".into()))),
                &["dyn", "paused", "sec"],
            ),
            (
                "paused",
                cmp(Field::MembershipRuleProcessingState, Cmp::Eq, s("paused")),
                &["paused"],
            ),
            (
                "on",
                cmp(Field::MembershipRuleProcessingState, Cmp::Eq, s("On")),
                &["dyn"],
            ),
            (
                "static",
                cmp(Field::MembershipRuleProcessingState, Cmp::Eq, Value::Null),
                &["sec", "uni"],
            ),
            (
                "errors",
                Filter::HasMembersWithLicenseErrors(true),
                &["sec"],
            ),
            (
                "no errors",
                Filter::HasMembersWithLicenseErrors(false),
                &["dyn", "paused", "uni"],
            ),
            ("licensed", Filter::HasLicense(vec![e3]), &["sec"]),
            (
                "unlicensed",
                Filter::LicenseCount { op: Cmp::Eq, n: 0 },
                &["dyn", "paused", "uni"],
            ),
            (
                "mail enabled",
                cmp(Field::MailEnabled, Cmp::Eq, Value::Bool(true)),
                &["uni"],
            ),
            (
                "security",
                cmp(Field::SecurityEnabled, Cmp::Eq, Value::Bool(true)),
                &["dyn", "paused", "sec", "uni"],
            ),
            (
                "description",
                cmp(Field::Description, Cmp::Eq, s("sales TEAM")),
                &["uni"],
            ),
            (
                "rule prefix",
                Filter::StartsWith {
                    field: Field::MembershipRule,
                    prefix: "user.city".into(),
                },
                &["dyn"],
            ),
            (
                "display name",
                Filter::StartsWith {
                    field: Field::DisplayName,
                    prefix: "p".into(),
                },
                &["paused"],
            ),
        ];
        let mut tx = store.read(t.id).await.unwrap();
        for (name, f, want) in cases {
            let query = q(f);
            assert_eq!(
                names_g(&walk_groups(&mut tx, &query).await),
                set(want),
                "{name}"
            );
            assert_eq!(
                tx.count_groups_matching(&query).await.unwrap(),
                want.len() as i64,
                "{name}"
            );
        }
        let search = ListQuery {
            search: Some(Search::Term {
                field: Field::Description,
                text: "team".into(),
            }),
            ..Default::default()
        };
        assert_eq!(names_g(&walk_groups(&mut tx, &search).await), set(&["uni"]));
        // groups by display name, two to a page
        let by_name = ListQuery {
            order: vec![Order {
                field: Field::DisplayName,
                descending: false,
            }],
            limit: 2,
            ..Default::default()
        };
        let got: Vec<String> = walk_groups(&mut tx, &by_name)
            .await
            .into_iter()
            .map(|g| g.display_name)
            .collect();
        assert_eq!(got, vec!["Dyn", "Paused", "Sec", "Uni"]);
        assert!(matches!(
            tx.list_groups(&q(cmp(Field::UsageLocation, Cmp::Eq, s("US"))))
                .await,
            Err(StoreError::BadQuery(_))
        ));
        assert_eq!(
            tx.list_groups(&q(Filter::HasLicense(vec![e3])))
                .await
                .unwrap()
                .items,
            vec![sec.clone()]
        );
        tx.commit().await.unwrap();
    })
    .await;
}

fn numbered(i: usize) -> User {
    let mut u = user(&format!("u{i:03}@contoso.test"));
    // 50 distinct names, so ties are broken by id
    u.display_name = format!("Name {:02}", i % 50);
    u.created_at = Timestamp(1_000 + (i as i64 % 7));
    u.account_enabled = !i.is_multiple_of(3);
    u
}

#[tokio::test]
async fn paging_250_users_by_100_gives_each_once_in_order() {
    for_each_backend(|url| async move {
        let store = Store::open(&url).await.unwrap();
        let t = tenant("Contoso");
        store.create_tenant(&t).await.unwrap();
        let users: Vec<User> = (0..250).map(numbered).collect();
        let mut tx = store.write(t.id).await.unwrap();
        tx.insert_users(&users).await.unwrap();
        tx.commit().await.unwrap();

        let mut tx = store.read(t.id).await.unwrap();
        // default order: by id
        let q = ListQuery {
            limit: 100,
            ..Default::default()
        };
        let p1 = tx.list_users(&q).await.unwrap();
        assert_eq!(p1.items.len(), 100);
        let p2 = tx
            .list_users(&ListQuery {
                after: p1.next.clone(),
                ..q.clone()
            })
            .await
            .unwrap();
        assert_eq!(p2.items.len(), 100);
        let p3 = tx
            .list_users(&ListQuery {
                after: p2.next.clone(),
                ..q.clone()
            })
            .await
            .unwrap();
        assert_eq!(p3.items.len(), 50);
        assert_eq!(p3.next, None);
        let got: Vec<String> = [p1.items, p2.items, p3.items]
            .concat()
            .iter()
            .map(|u| u.id.to_string())
            .collect();
        let mut want: Vec<String> = users.iter().map(|u| u.id.to_string()).collect();
        want.sort();
        assert_eq!(got, want);
        assert_eq!(tx.count_users_matching(&q).await.unwrap(), 250);

        // by display name, descending, ties by id
        let q = ListQuery {
            order: vec![Order {
                field: Field::DisplayName,
                descending: true,
            }],
            limit: 100,
            ..Default::default()
        };
        let got: Vec<UserId> = walk_users(&mut tx, &q).await.iter().map(|u| u.id).collect();
        let mut want = users.clone();
        want.sort_by(|a, b| {
            b.display_name
                .to_lowercase()
                .cmp(&a.display_name.to_lowercase())
                .then(a.id.to_string().cmp(&b.id.to_string()))
        });
        assert_eq!(got, want.iter().map(|u| u.id).collect::<Vec<_>>());
        // a page of exactly the rest has no next link
        let q = ListQuery {
            limit: 125,
            ..Default::default()
        };
        let p = tx.list_users(&q).await.unwrap();
        let p = tx
            .list_users(&ListQuery {
                after: p.next,
                ..q.clone()
            })
            .await
            .unwrap();
        assert_eq!((p.items.len(), p.next), (125, None));
        tx.commit().await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn pages_are_stable_under_inserts_and_deletes() {
    for_each_backend(|url| async move {
        let store = Store::open(&url).await.unwrap();
        let t = tenant("Contoso");
        store.create_tenant(&t).await.unwrap();
        let users: Vec<User> = (0..30).map(numbered).collect();
        let mut tx = store.write(t.id).await.unwrap();
        tx.insert_users(&users).await.unwrap();
        tx.commit().await.unwrap();

        let q = ListQuery {
            limit: 10,
            ..Default::default()
        };
        let mut tx = store.read(t.id).await.unwrap();
        let first = tx.list_users(&q).await.unwrap();
        tx.commit().await.unwrap();
        // Before the boundary, after it, and a user of the first page goes away.
        let mut before = numbered(900);
        before.id = UserId(Uuid::from_u128(0));
        let mut after = numbered(901);
        after.id = UserId(Uuid::from_u128(u128::MAX));
        let mut tx = store.write(t.id).await.unwrap();
        tx.insert_users(&[before.clone(), after.clone()])
            .await
            .unwrap();
        tx.hard_delete_user(first.items[3].id).await.unwrap();
        tx.commit().await.unwrap();

        let mut tx = store.read(t.id).await.unwrap();
        let rest = walk_users(
            &mut tx,
            &ListQuery {
                after: first.next.clone(),
                ..q.clone()
            },
        )
        .await;
        tx.commit().await.unwrap();
        let mut seen: Vec<UserId> = first.items.iter().map(|u| u.id).collect();
        seen.extend(rest.iter().map(|u| u.id));
        let mut want: Vec<UserId> = users.iter().map(|u| u.id).collect();
        want.push(after.id);
        want.sort_by_key(|u| u.to_string());
        assert_eq!(
            seen, want,
            "every original user once, the new one after the cursor too"
        );
        assert!(!seen.contains(&before.id));
    })
    .await;
}

#[tokio::test]
async fn cursor_filter_and_order_together() {
    for_each_backend(|url| async move {
        let store = Store::open(&url).await.unwrap();
        let t = tenant("Contoso");
        store.create_tenant(&t).await.unwrap();
        let users: Vec<User> = (0..120).map(numbered).collect();
        let mut tx = store.write(t.id).await.unwrap();
        tx.insert_users(&users).await.unwrap();
        tx.commit().await.unwrap();

        let q = ListQuery {
            filter: Some(Filter::And(vec![
                cmp(Field::AccountEnabled, Cmp::Eq, Value::Bool(true)),
                Filter::StartsWith {
                    field: Field::DisplayName,
                    prefix: "name 1".into(),
                },
            ])),
            order: vec![
                Order {
                    field: Field::CreatedDateTime,
                    descending: true,
                },
                Order {
                    field: Field::DisplayName,
                    descending: false,
                },
            ],
            limit: 7,
            ..Default::default()
        };
        let mut tx = store.read(t.id).await.unwrap();
        let got: Vec<UserId> = walk_users(&mut tx, &q).await.iter().map(|u| u.id).collect();
        let mut want: Vec<&User> = users
            .iter()
            .filter(|u| u.account_enabled && u.display_name.starts_with("Name 1"))
            .collect();
        want.sort_by(|a, b| {
            b.created_at
                .cmp(&a.created_at)
                .then(
                    a.display_name
                        .to_lowercase()
                        .cmp(&b.display_name.to_lowercase()),
                )
                .then(a.id.to_string().cmp(&b.id.to_string()))
        });
        assert!(want.len() > 14, "several pages");
        assert_eq!(got, want.iter().map(|u| u.id).collect::<Vec<_>>());
        let mut counting = q.clone();
        counting.after = Some("ignored by counts".into());
        counting.limit = 1;
        assert_eq!(
            tx.count_users_matching(&counting).await.unwrap(),
            want.len() as i64
        );
        tx.commit().await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn bad_cursors_are_refused() {
    for_each_backend(|url| async move {
        use base64::Engine;
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let store = Store::open(&url).await.unwrap();
        let t = tenant("Contoso");
        store.create_tenant(&t).await.unwrap();
        let users: Vec<User> = (0..5).map(numbered).collect();
        let mut tx = store.write(t.id).await.unwrap();
        tx.insert_users(&users).await.unwrap();
        tx.insert_group(&group("G1")).await.unwrap();
        tx.insert_group(&group("G2")).await.unwrap();
        tx.commit().await.unwrap();

        let mut tx = store.read(t.id).await.unwrap();
        let by_name = ListQuery {
            order: vec![Order {
                field: Field::DisplayName,
                descending: false,
            }],
            limit: 2,
            ..Default::default()
        };
        let cursor = tx.list_users(&by_name).await.unwrap().next.unwrap();
        let id = Uuid::new_v4().to_string();
        let forged = [
            "".to_string(),
            "not base64 !".to_string(),
            b64("not json"),
            b64("{}"),
            b64("[]"),
            b64(&format!("[\"user,DisplayName+\", 5, \"{id}\"]")),
            b64("[\"user,DisplayName+\", \"x\", \"x' OR 1=1 --\"]"),
            b64(&format!("[\"user,DisplayName-\", \"x\", \"{id}\"]")),
            b64(&format!("[\"user\", \"x\", \"{id}\"]")),
            format!("{cursor}x"),
        ];
        for c in &forged {
            let r = tx
                .list_users(&ListQuery {
                    after: Some(c.clone()),
                    ..by_name.clone()
                })
                .await;
            assert!(matches!(r, Err(StoreError::BadCursor)), "{c}: {r:?}");
        }
        // a cursor of another query: other order, deleted users, groups
        for other in [
            ListQuery {
                after: Some(cursor.clone()),
                ..Default::default()
            },
            ListQuery {
                after: Some(cursor.clone()),
                deleted: true,
                ..by_name.clone()
            },
        ] {
            assert!(matches!(
                tx.list_users(&other).await,
                Err(StoreError::BadCursor)
            ));
        }
        assert!(matches!(
            tx.list_groups(&ListQuery {
                after: Some(cursor.clone()),
                ..by_name.clone()
            })
            .await,
            Err(StoreError::BadCursor)
        ));
        // a well-formed cursor with hostile key values is just a position
        let odd = b64(&format!(
            "[\"user,DisplayName+\", \"x' OR '1'='1\", \"{id}\"]"
        ));
        let page = tx
            .list_users(&ListQuery {
                after: Some(odd),
                ..by_name.clone()
            })
            .await
            .unwrap();
        assert!(page.items.is_empty(), "every name sorts before x");
        // the genuine cursor still works and the whole walk sees everybody once
        assert_eq!(walk_users(&mut tx, &by_name).await.len(), 5);
        tx.commit().await.unwrap();
    })
    .await;
}
