//! Item 18: dynamic membership rules are compiled once per rule text, and rules beyond the bounds
//! of complexity are refused with a positioned message naming the limit.

use crate::fixtures::{env, refusal, OP};
use crate::harness::for_each_backend;
use skuld_app::{GroupPatch, NewGroup, UserPatch};
use skuld_domain::rule::MAX_CONDITIONS;

/// A rule of `n` `-match` conditions, different for every `tag`.
fn rule(tag: &str, n: usize) -> String {
    (0..n)
        .map(|i| format!("user.city -match \"^{tag}{i}$\""))
        .collect::<Vec<_>>()
        .join(" -or ")
}

fn dynamic(name: &str, rule: String) -> NewGroup {
    NewGroup {
        display_name: name.into(),
        security_enabled: true,
        membership_rule: Some(rule),
        ..NewGroup::default()
    }
}

/// The reported case: several groups of 90 `-match` clauses made every write in the tenant
/// re-parse and recompile all of them. Now each rule text compiles once; writes only hit.
#[tokio::test]
async fn item18_a_tenant_of_90_clause_rules_compiles_each_rule_once() {
    for_each_backend(|url| async move {
        let e = env(&url).await;
        for (i, tag) in ["a", "b", "c", "d", "e"].iter().enumerate() {
            let r = rule(tag, 90);
            assert!(r.chars().count() <= skuld_domain::rule::MAX_RULE_CHARS);
            e.app
                .create_group(&e.t, dynamic(&format!("Dyn{i}"), r), &OP)
                .await
                .unwrap();
        }
        let after_create = e.app.rule_cache_stats();
        assert_eq!(after_create.misses, 5, "one compilation per rule");
        let alice = e.user("alice", Some("US")).await;
        for n in 0..20 {
            // c7 matches group Dyn2's rule (tag "c", clause 7) only on odd writes.
            let city = if n % 2 == 1 { "c7" } else { "elsewhere" };
            e.app
                .update_user(
                    &e.t,
                    &alice.upn,
                    UserPatch {
                        city: Some(Some(city.into())),
                        ..UserPatch::default()
                    },
                    &OP,
                )
                .await
                .unwrap();
        }
        let after_writes = e.app.rule_cache_stats();
        assert_eq!(after_writes.misses, 5, "writes compile nothing");
        // Each of the 21 user writes (create + 20 updates) evaluates the 5 rules from the cache.
        assert!(
            after_writes.hits >= after_create.hits + 21 * 5,
            "{after_writes:?}"
        );
        let (users, _) = e.app.group_members(&e.t, "Dyn2").await.unwrap();
        assert_eq!(users.len(), 1, "the last write (c7) made alice a member");

        // A new rule text is a new version: compiled once, then reused.
        e.app
            .update_group(
                &e.t,
                "Dyn0",
                GroupPatch {
                    membership_rule: Some(rule("z", 90)),
                    ..GroupPatch::default()
                },
                &OP,
            )
            .await
            .unwrap();
        assert_eq!(e.app.rule_cache_stats().misses, 6);
        e.user("bob", Some("US")).await;
        assert_eq!(e.app.rule_cache_stats().misses, 6);
        e.assert_no_drift().await;
    })
    .await;
}

/// A rule at the condition limit is accepted; one more condition is refused, at its position,
/// with the limit named, and nothing is created.
#[tokio::test]
async fn item18_a_rule_at_the_limit_is_accepted_and_over_it_refused() {
    for_each_backend(|url| async move {
        let e = env(&url).await;
        let short = |n: usize| {
            (0..n)
                .map(|i| format!("user.city -eq \"{i}\""))
                .collect::<Vec<_>>()
                .join(" -or ")
        };
        e.app
            .create_group(&e.t, dynamic("AtLimit", short(MAX_CONDITIONS)), &OP)
            .await
            .unwrap();
        let over = short(MAX_CONDITIONS + 1);
        let at = over.rfind("user.city").unwrap() + 1;
        let msg = refusal(
            e.app
                .create_group(&e.t, dynamic("OverLimit", over.clone()), &OP)
                .await,
        );
        assert_eq!(
            msg,
            format!("invalid membership rule at position {at}: expected at most 100 conditions, found condition 101")
        );
        assert!(e.app.group(&e.t, "OverLimit").await.is_err());
        let msg = refusal(
            e.app
                .update_group(
                    &e.t,
                    "AtLimit",
                    GroupPatch {
                        membership_rule: Some(over),
                        ..GroupPatch::default()
                    },
                    &OP,
                )
                .await,
        );
        assert!(msg.contains("at most 100 conditions"), "{msg}");
        let g = e.app.group(&e.t, "AtLimit").await.unwrap();
        assert_eq!(g.membership_rule, Some(short(MAX_CONDITIONS)));
        // A pattern that compiles beyond the regex bound is refused the same way.
        let msg = refusal(
            e.app
                .create_group(
                    &e.t,
                    dynamic("Huge", r#"user.city -match "(\w{50}){50}""#.into()),
                    &OP,
                )
                .await,
        );
        assert!(
            msg.contains("position 18") && msg.contains("at most 1048576 bytes"),
            "{msg}"
        );
    })
    .await;
}
