//! Property tests over random operation sequences (conventions §8).

use super::*;
use proptest::prelude::*;

const USERS: [&str; 5] = ["u0", "u1", "u2", "u3", "u4"];
const GROUPS: [&str; 3] = ["g0", "g1", "g2"];
const SKUS: [&str; 5] = ["E1", "E3", "EMS", "AC", "P1"];

fn op() -> impl Strategy<Value = String> {
    let u = prop::sample::select(USERS.to_vec());
    let g = prop::sample::select(GROUPS.to_vec());
    let s = prop::sample::select(SKUS.to_vec());
    prop_oneof![
        (s.clone(), 0..4u8).prop_map(|(s, n)| format!("seats {s} {n}")),
        (g.clone(), u.clone()).prop_map(|(g, u)| format!("member {g} {u}")),
        (g.clone(), u.clone()).prop_map(|(g, u)| format!("unmember {g} {u}")),
        (g.clone(), g.clone()).prop_map(|(a, b)| format!("member {a} {b}")),
        (g.clone(), g.clone()).prop_map(|(a, b)| format!("unmember {a} {b}")),
        (u.clone(), s.clone()).prop_map(|(u, s)| format!("direct {u} {s}")),
        (u.clone(), s.clone()).prop_map(|(u, s)| format!("undirect {u} {s}")),
        (g.clone(), s.clone()).prop_map(|(g, s)| format!("license {g} {s}")),
        (g.clone(), s.clone()).prop_map(|(g, s)| format!("unlicense {g} {s}")),
        u.clone().prop_map(|u| format!("delete {u}")),
        u.clone().prop_map(|u| format!("restore {u}")),
        (u.clone(), prop::sample::select(vec!["US", "BN", "-"]))
            .prop_map(|(u, l)| format!("location {u} {l}")),
        s.prop_map(|s| format!("suspend {s}")),
    ]
}

fn world_with_users() -> World {
    let mut w = World::new();
    for (i, u) in USERS.iter().enumerate() {
        w.run(&format!("user {u} {}", if i == 4 { "-" } else { "US" }));
    }
    for (i, g) in GROUPS.iter().enumerate() {
        w.run(&format!("group {g} prio={}", i % 2));
    }
    w
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Incremental state equals full recomputation; one seat per user per product; consumed
    /// seats never exceed capacity unless capacity dropped below what was held.
    #[test]
    fn invariants_hold_over_random_operation_sequences(ops in prop::collection::vec(op(), 1..40)) {
        let mut w = world_with_users();
        for o in &ops {
            let before = w.ledger.clone();
            w.run(o);
            prop_assert_eq!(w.drift(), Vec::<String>::new(), "after {}", o);
            for (sku, seats) in &w.ledger.skus {
                let was = before.get(sku);
                // A seat is granted only while one is free; over-allocation can only be left
                // over from a capacity drop (D8).
                prop_assert!(
                    seats.consumed <= seats.capacity.max(was.consumed),
                    "{} consumed {} of {} after {}", sku, seats.consumed, seats.capacity, o
                );
            }
            for states in w.states.values() {
                // I3: a path in Error contributes no seat; applied paths are never in Error.
                for s in states {
                    prop_assert_eq!(s.applied, matches!(s.status, PathStatus::Active | PathStatus::ActiveWithError) || (s.status == PathStatus::Disabled && s.applied));
                    prop_assert!(!(s.applied && s.status == PathStatus::Error));
                }
            }
        }
    }

    /// D3: after any sequence, nobody waits for a product that has a free seat and that they
    /// could take (the waiting state is a fixed point of the engine).
    #[test]
    fn nobody_waits_while_a_seat_is_free_for_them(ops in prop::collection::vec(op(), 1..40)) {
        let mut w = world_with_users();
        for o in &ops {
            w.run(o);
        }
        let names: Vec<String> = w.users.keys().cloned().collect();
        let inputs: Vec<UserInput> = names.iter().map(|n| w.input(n)).collect();
        let mut ledger = w.ledger.clone();
        let outs = w.engine().evaluate(&mut ledger, &inputs);
        prop_assert!(outs.iter().all(|o| !o.changed));
    }
}
