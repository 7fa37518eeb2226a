//! What the admin center keeps in the database (issue 8): daily product snapshots for the home
//! page's chart (kept two years) and server-side sessions (idle and absolute expiry, dead when
//! the user is blocked or deleted).

use crate::fixtures::{env, sku, OP};
use crate::harness::for_each_backend;
use skuld_app::{day_of, UserPatch, SESSION_IDLE_MS, SESSION_MAX_MS, SNAPSHOT_KEEP_DAYS};
use skuld_domain::Timestamp;

const E3: &str = "ENTERPRISEPACK";
const DAY: i64 = Timestamp::DAY_MS;

#[tokio::test]
async fn snapshots_are_one_per_product_and_day_and_kept_two_years() {
    for_each_backend(|url| async move {
        let e = env(&url).await;
        e.subscribe(E3, 5).await;
        e.user("alice", Some("US")).await;
        let t0 = Timestamp(1_790_000_000_000);
        e.app.record_snapshots(&e.t, t0).await.unwrap();
        e.direct("alice", E3).await.unwrap();
        // Written again the same day: the last write of the day wins, no second row.
        e.app
            .record_snapshots(&e.t, Timestamp(t0.0 + 60_000))
            .await
            .unwrap();
        let h = e.app.usage_history(&e.t, t0, 30).await.unwrap();
        let e3: Vec<_> = h.iter().filter(|s| s.sku_id == sku(E3)).collect();
        assert_eq!(e3.len(), 1, "{h:?}");
        assert_eq!((e3[0].day, e3[0].total, e3[0].assigned), (day_of(t0), 5, 1));

        // The next day is a second point; only the asked-for window is read.
        e.app
            .record_snapshots(&e.t, Timestamp(t0.0 + DAY))
            .await
            .unwrap();
        let later = Timestamp(t0.0 + DAY);
        assert_eq!(e.app.usage_history(&e.t, later, 2).await.unwrap().len(), 2);
        assert_eq!(e.app.usage_history(&e.t, later, 1).await.unwrap().len(), 1);

        // Two years on, the old days are pruned.
        let far = Timestamp(t0.0 + (SNAPSHOT_KEEP_DAYS + 1) * DAY);
        e.app.record_snapshots(&e.t, far).await.unwrap();
        let all = e
            .app
            .usage_history(&e.t, far, SNAPSHOT_KEEP_DAYS)
            .await
            .unwrap();
        assert!(all.iter().all(|s| s.day > day_of(t0)), "{all:?}");
        assert_eq!(all.len(), 1);
    })
    .await;
}

#[tokio::test]
async fn sessions_expire_when_idle_or_old_and_die_with_their_user() {
    for_each_backend(|url| async move {
        let e = env(&url).await;
        let u = e.user("alice", Some("US")).await;
        let t0 = Timestamp(1_790_000_000_000);
        let s = e.app.start_session(&e.t, u.id, t0).await.unwrap();
        let live = e.app.session(&s.token, t0).await.unwrap().expect("live");
        assert_eq!(live.user.id, u.id);
        assert_eq!(live.csrf, s.csrf);
        assert!(e.app.session("not-a-token", t0).await.unwrap().is_none());

        // Used every half hour it lives until the absolute limit.
        let mut at = t0.0;
        while at + SESSION_IDLE_MS / 2 < t0.0 + SESSION_MAX_MS {
            at += SESSION_IDLE_MS / 2;
            assert!(e
                .app
                .session(&s.token, Timestamp(at))
                .await
                .unwrap()
                .is_some());
        }
        assert!(e
            .app
            .session(&s.token, Timestamp(t0.0 + SESSION_MAX_MS))
            .await
            .unwrap()
            .is_none());

        // Idle too long: ended.
        let s = e.app.start_session(&e.t, u.id, t0).await.unwrap();
        assert!(e
            .app
            .session(&s.token, Timestamp(t0.0 + SESSION_IDLE_MS + 1))
            .await
            .unwrap()
            .is_none());

        // Blocked: the session is dead at once.
        let s = e.app.start_session(&e.t, u.id, t0).await.unwrap();
        e.app
            .update_user(
                &e.t,
                &e.upn("alice"),
                UserPatch {
                    account_enabled: Some(false),
                    ..UserPatch::default()
                },
                &OP,
            )
            .await
            .unwrap();
        assert!(e.app.session(&s.token, t0).await.unwrap().is_none());

        // Sign-out ends one session; end_sessions_of ends them all.
        let b = e.user("bob", Some("US")).await;
        let s1 = e.app.start_session(&e.t, b.id, t0).await.unwrap();
        let s2 = e.app.start_session(&e.t, b.id, t0).await.unwrap();
        e.app.end_session(&s1.token).await.unwrap();
        assert!(e.app.session(&s1.token, t0).await.unwrap().is_none());
        assert!(e.app.session(&s2.token, t0).await.unwrap().is_some());
        e.app.end_sessions_of(&e.t, b.id).await.unwrap();
        assert!(e.app.session(&s2.token, t0).await.unwrap().is_none());
    })
    .await;
}
