//! Seats over time: soft delete and restore (D7), fewer seats than assigned (D8).

use crate::fixtures::{env, refusal, sku, OP};
use crate::harness::for_each_backend;

const E3: &str = "ENTERPRISEPACK";

#[tokio::test]
async fn d7_soft_delete_releases_seat_restore_waits() {
    for_each_backend(|url| async move {
        let e = env(&url).await;
        e.subscribe(E3, 1).await;
        e.user("alice", Some("US")).await;
        e.user("bob", Some("US")).await;
        e.direct("alice", E3).await.unwrap();
        assert_eq!(e.seats(E3).await, (1, 1));

        // Deleting releases the seat at once; the intent stays, disabled.
        e.app.delete_user(&e.t, &e.upn("alice"), &OP).await.unwrap();
        assert_eq!(e.seats(E3).await, (1, 0));
        assert_eq!(e.paths("alice", E3).await, ["Direct: Disabled None"]);
        assert!(!e.holds("alice", E3).await);

        e.direct("bob", E3).await.unwrap();
        assert_eq!(e.seats(E3).await, (1, 1));

        // Restored while seats are short: alice waits instead of going over quota.
        e.app
            .restore_user(&e.t, &e.upn("alice"), &OP)
            .await
            .unwrap();
        assert_eq!(e.paths("alice", E3).await, ["Direct: Error CountViolation"]);
        assert!(!e.holds("alice", E3).await);
        assert_eq!(e.seats(E3).await, (1, 1));
        e.assert_no_drift().await;

        // And she takes the seat as soon as it is free (D3).
        e.undirect("bob", E3).await.unwrap();
        assert_eq!(e.paths("alice", E3).await, ["Direct: Active None"]);
        assert_eq!(e.seats(E3).await, (1, 1));
        e.assert_no_drift().await;
    })
    .await;
}

#[tokio::test]
async fn d8_reducing_seats_below_consumption_needs_the_allow_flag_and_evicts_nobody() {
    for_each_backend(|url| async move {
        let e = env(&url).await;
        let sub = e.subscribe(E3, 3).await;
        for a in ["alice", "bob", "carol", "dave"] {
            e.user(a, Some("US")).await;
        }
        for a in ["alice", "bob", "carol"] {
            e.direct(a, E3).await.unwrap();
        }

        let msg = refusal(e.app.set_seats(&e.t, sub.id, 1, false, &OP).await);
        assert!(
            msg.contains("reduce the number of licenses below the 3"),
            "{msg}"
        );
        let subs = e.app.subscriptions(&e.t).await.unwrap();
        assert_eq!(subs[0].units, 3, "a refused change must not be stored");

        // Reducing to exactly the consumption is not over-allocation.
        e.app.set_seats(&e.t, sub.id, 3, false, &OP).await.unwrap();
        e.app.set_seats(&e.t, sub.id, 1, true, &OP).await.unwrap();
        assert_eq!(e.seats(E3).await, (1, 3));
        for a in ["alice", "bob", "carol"] {
            assert_eq!(e.paths(a, E3).await, ["Direct: Active None"], "{a}");
        }
        // Nobody new gets a seat until consumption is below capacity.
        let msg = refusal(e.direct("dave", E3).await);
        assert_eq!(
            msg,
            format!(
                "Subscription with SKU {} does not have any available licenses.",
                sku(E3)
            )
        );
        e.undirect("alice", E3).await.unwrap();
        refusal(e.direct("dave", E3).await);
        e.undirect("bob", E3).await.unwrap();
        refusal(e.direct("dave", E3).await);
        e.undirect("carol", E3).await.unwrap();
        e.direct("dave", E3).await.unwrap();
        assert_eq!(e.seats(E3).await, (1, 1));
        e.assert_no_drift().await;
    })
    .await;
}
