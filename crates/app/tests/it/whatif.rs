//! The what-if preview (issue 8, page 9) against reality: for random tenants and changes, the
//! preview's "gets / waits / loses" equal what the real action then does, and the preview
//! itself changes nothing. Rulebook rows: D3 (freed seats go to waiting users), D4 (a
//! deterministic order when seats are short), CountViolation and UsageLocation errors (§3.1),
//! M-BUY (fewer seats than assigned are refused).

use crate::fixtures::{env, sku, spec, Env, OP};
use proptest::prelude::*;
use skuld_app::{WhatIf, WhatIfChange};
use std::collections::{BTreeMap, BTreeSet};

const PARTS: [&str; 2] = ["EXCHANGESTANDARD", "STANDARDPACK"];

#[derive(Debug, Clone)]
enum Change {
    AssignGroup { part: usize, members: Vec<usize> },
    AddMembers { members: Vec<usize> },
    SetSeats { units: i64 },
    Delete { users: Vec<usize> },
}

#[derive(Debug, Clone)]
struct Case {
    seats: [i64; 2],
    /// Per user: has a usage location, holds E1 directly.
    users: Vec<(bool, bool)>,
    /// Members of the licensed group (Exchange Online) before the change.
    members: Vec<usize>,
    change: Change,
}

fn case() -> impl Strategy<Value = Case> {
    (
        0i64..4,
        0i64..3,
        proptest::collection::vec((prop::bool::weighted(0.8), prop::bool::weighted(0.3)), 2..6),
    )
        .prop_flat_map(|(a, b, users)| {
            let n = users.len();
            let idx = proptest::collection::vec(0..n, 0..n);
            let change = prop_oneof![
                (0usize..2, proptest::collection::vec(0..n, 1..=n))
                    .prop_map(|(part, members)| Change::AssignGroup { part, members }),
                proptest::collection::vec(0..n, 1..=n)
                    .prop_map(|members| Change::AddMembers { members }),
                (0i64..5).prop_map(|units| Change::SetSeats { units }),
                proptest::collection::vec(0..n, 1..3).prop_map(|users| Change::Delete { users }),
            ];
            (Just([a, b]), Just(users), idx, change).prop_map(|(seats, users, members, change)| {
                Case {
                    seats,
                    users,
                    members,
                    change,
                }
            })
        })
}

fn alias(i: usize) -> String {
    format!("u{i}")
}

/// Each user's hold on each product: "Active", an error's name, or absent.
async fn holds(e: &Env, n: usize) -> BTreeMap<(String, String), String> {
    let mut out = BTreeMap::new();
    for i in 0..n {
        let upn = e.upn(&alias(i));
        let Ok(v) = e.app.user_view(&e.t, &upn).await else {
            continue; // deleted: holds nothing
        };
        for l in v.licenses {
            let s = if l.held {
                "Active".to_string()
            } else {
                l.paths
                    .iter()
                    .map(|p| p.error.to_string())
                    .find(|x| x != "None")
                    .unwrap_or_else(|| "Nothing".into())
            };
            if s != "Nothing" {
                out.insert((upn.clone(), l.part_number.clone()), s);
            }
        }
    }
    out
}

type Sets = (
    BTreeSet<(String, String)>,
    BTreeSet<(String, String)>,
    BTreeSet<(String, String)>,
);

fn previewed(w: &WhatIf) -> Sets {
    let key = |r: &skuld_app::WhatIfRow| (r.upn.clone(), r.product.part.clone());
    (
        w.gets().map(key).collect(),
        w.waits().map(key).collect(),
        w.loses().map(key).collect(),
    )
}

fn happened(
    before: &BTreeMap<(String, String), String>,
    after: &BTreeMap<(String, String), String>,
) -> Sets {
    let keys: BTreeSet<&(String, String)> = before.keys().chain(after.keys()).collect();
    let mut s: Sets = Default::default();
    for k in keys {
        let (b, a) = (before.get(k), after.get(k));
        let was = b.is_some_and(|x| x == "Active");
        let is = a.is_some_and(|x| x == "Active");
        if is && !was {
            s.0.insert(k.clone());
        }
        if !was && a.is_some_and(|x| x != "Active") && a != b {
            s.1.insert(k.clone());
        }
        if was && !is {
            s.2.insert(k.clone());
        }
    }
    s
}

async fn run(c: Case) {
    let dir = tempfile::tempdir().unwrap();
    let url = dir.path().join("w.db").display().to_string();
    let e = env(&url).await;
    let exo = e.subscribe(PARTS[0], c.seats[0]).await;
    e.subscribe(PARTS[1], c.seats[1]).await;
    for (i, (located, e1)) in c.users.iter().enumerate() {
        e.user(&alias(i), located.then_some("US")).await;
        if *e1 {
            let _ = e.direct(&alias(i), PARTS[1]).await;
        }
    }
    e.group("Licensed").await;
    e.license_group("Licensed", PARTS[0]).await.unwrap();
    let mut members = c.members.clone();
    members.sort();
    members.dedup();
    for m in &members {
        e.add("Licensed", &alias(*m)).await.unwrap();
    }
    e.group("Other").await;
    let keys = |v: &[usize]| -> Vec<String> {
        let mut v: Vec<String> = v.iter().map(|i| e.upn(&alias(*i))).collect();
        v.sort();
        v.dedup();
        v
    };
    let change = match &c.change {
        Change::AssignGroup { part, members } => {
            for k in keys(members) {
                e.app.add_member(&e.t, "Other", &k, &OP).await.unwrap();
            }
            WhatIfChange::AssignGroup {
                group: "Other".into(),
                license: spec(PARTS[*part]),
            }
        }
        Change::AddMembers { members } => WhatIfChange::AddMembers {
            group: "Licensed".into(),
            members: keys(members),
        },
        Change::SetSeats { units } => WhatIfChange::SetSeats {
            subscription: exo.id,
            units: *units,
        },
        Change::Delete { users } => WhatIfChange::DeleteUsers { users: keys(users) },
    };
    let n = c.users.len();
    let before = holds(&e, n).await;
    let seats_before = e.seats(PARTS[0]).await;
    let preview = e.app.what_if(&e.t, &change, &OP).await;
    assert_eq!(holds(&e, n).await, before, "the preview changed nothing");
    assert_eq!(e.seats(PARTS[0]).await, seats_before);
    let real = match &change {
        WhatIfChange::AssignGroup { group, license } => e
            .app
            .group_assign_license(&e.t, group, std::slice::from_ref(license), &[], &OP)
            .await
            .map(|_| ()),
        WhatIfChange::AddMembers { group, members } => {
            e.app.change_members(&e.t, group, members, &OP, true).await
        }
        WhatIfChange::SetSeats {
            subscription,
            units,
        } => e
            .app
            .set_seats(&e.t, *subscription, *units, false, &OP)
            .await
            .map(|_| ()),
        WhatIfChange::DeleteUsers { users } => {
            e.app.delete_users(&e.t, users, &OP).await.map(|_| ())
        }
    };
    match (preview, real) {
        (Ok(w), Ok(())) => {
            let after = holds(&e, n).await;
            assert_eq!(
                previewed(&w),
                happened(&before, &after),
                "{c:?}\nbefore {before:?}\nafter {after:?}\npreview {w:#?}"
            );
            let (total, assigned) = e.seats(PARTS[0]).await;
            if let Some(s) = w.seats.iter().find(|s| s.product.sku == sku(PARTS[0])) {
                assert_eq!(
                    (s.total_after, s.assigned_after),
                    (total, assigned),
                    "{c:?}"
                );
            }
        }
        (Err(p), Err(r)) => assert_eq!(p.to_string(), r.to_string(), "{c:?}"),
        (p, r) => panic!("preview {p:?} but the action {r:?}: {c:?}"),
    }
    e.assert_no_drift().await;
    e.app.close().await;
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 24,
        max_shrink_iters: 32,
        ..ProptestConfig::default()
    })]

    #[test]
    fn the_preview_is_what_the_action_then_does(c in case()) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(run(c));
    }
}
