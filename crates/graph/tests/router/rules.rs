//! Item 18: dynamic membership rules are bounded (conditions, regex size) and refused through
//! Graph with a 400 that names the limit; a rule at the bound is accepted, and writes in a tenant
//! full of large rules compile each rule once.

use crate::harness::*;
use serde_json::json;

fn rule(n: usize) -> String {
    (0..n)
        .map(|i| format!("(user.city -match \"c{i}\")"))
        .collect::<Vec<_>>()
        .join(" -or ")
}

fn dynamic_group(name: &str, rule: &str) -> serde_json::Value {
    json!({"displayName": name, "mailEnabled": false, "mailNickname": name, "securityEnabled": true,
        "groupTypes": ["DynamicMembership"], "membershipRule": rule,
        "membershipRuleProcessingState": "On"})
}

#[tokio::test]
async fn item18_rules_over_the_bounds_are_refused_and_large_rules_compile_once() {
    for w in World::all().await {
        let t = w.admin_token().await;
        let limit = skuld_domain::rule::MAX_CONDITIONS;

        // Over the condition bound: a Graph 400 that names the limit, and no group is created.
        let r = w
            .post(
                "/v1.0/groups",
                &t,
                dynamic_group("TooBig", &rule(limit + 1)),
            )
            .await;
        r.expect(400);
        assert_eq!(r.code(), "Request_BadRequest", "{}", r.text);
        assert!(
            r.message().contains(&format!("at most {limit} conditions")),
            "{}",
            r.text
        );
        let all = w
            .get("/v1.0/groups?$filter=displayName%20eq%20'TooBig'", &t)
            .await;
        all.expect(200);
        assert!(all.ids().is_empty(), "{}", all.text);

        // A regex that compiles past the size bound is refused the same way.
        let r = w
            .post(
                "/v1.0/groups",
                &t,
                dynamic_group("Regex", r#"(user.city -match "(\w{50}){50}")"#),
            )
            .await;
        r.expect(400);
        assert!(r.message().contains("regular expression"), "{}", r.text);

        // At the bound: accepted. Several such groups, then many writes: each rule text is
        // compiled once, however many writes evaluate it.
        for i in 0..3 {
            let r = w
                .post(
                    "/v1.0/groups",
                    &t,
                    dynamic_group(
                        &format!("Cities{i}"),
                        &format!("{} -or (user.city -eq \"g{i}\")", rule(limit - 1)),
                    ),
                )
                .await;
            r.expect(201);
        }
        let before = w.app.rule_cache_stats();
        for i in 0..10 {
            let u = w.user(&format!("u{i}"), Some("US")).await;
            w.patch(
                &format!("/v1.0/users/{}", u.id),
                &t,
                json!({"city": format!("c{i}")}),
            )
            .await
            .expect(204);
        }
        let after = w.app.rule_cache_stats();
        assert!(
            after.misses <= before.misses + 3,
            "rules recompiled on writes: {before:?} -> {after:?}"
        );
        assert!(after.hits > before.hits, "{before:?} -> {after:?}");
    }
}
