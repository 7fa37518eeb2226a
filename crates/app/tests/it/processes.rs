//! Several processes on one database (issue 7): two `App` instances stand for two servers, or a
//! server and the CLI. Item 1 (catalog versions), item 7 (failing jobs, leases).

use crate::fixtures::{env, spec, Env, OP};
use crate::harness::for_each_backend;
use skuld_app::{App, JobView, LicenseSpec, NewSubscription, UserPatch, MAX_ATTEMPTS};
use skuld_domain::{GroupId, SkuId, SubscriptionStatus, Timestamp};
use skuld_store::{GroupAssignmentRow, Store};

async fn second(e: &Env, url: &str) -> Env {
    Env {
        app: App::open(url).await.expect("open a second App"),
        t: e.t.clone(),
    }
}

async fn job_of(e: &Env, group: &str) -> JobView {
    let jobs = e.app.jobs(&e.t, true, &OP).await.unwrap();
    jobs.into_iter()
        .find(|j| j.group.as_deref() == Some(group))
        .unwrap_or_else(|| panic!("no job for {group}"))
}

/// Issue 7 item 1: a product added through one App is seen by the other at once, and a write
/// through the second that evaluates a user holding that product keeps her seat (D14).
#[tokio::test]
async fn a_product_added_by_one_process_is_seen_by_another_at_once() {
    for_each_backend(|url| async move {
        let a = env(&url).await;
        let b = second(&a, &url).await;
        // B caches the tenant's catalog before A changes it.
        assert!(b
            .app
            .tenant_catalog(&b.t)
            .await
            .unwrap()
            .find_product("ACME")
            .is_none());
        let alice = a.user("alice", Some("US")).await;
        let acme = a
            .app
            .add_custom_product(
                &a.t,
                "ACME",
                "Acme Suite",
                &[("ACME_CORE".into(), "Acme Core".into())],
                &OP,
            )
            .await
            .unwrap();
        a.app
            .add_subscription(
                &a.t,
                NewSubscription {
                    sku: acme.sku_id,
                    units: 2,
                    status: SubscriptionStatus::Enabled,
                    is_trial: false,
                    self_service_owner: None,
                    next_lifecycle_at: None,
                },
                &OP,
            )
            .await
            .unwrap();
        let acme_spec = |sku: SkuId| LicenseSpec {
            sku,
            disabled_plans: vec![],
        };
        // B sees the product and can assign it.
        let cat = b.app.tenant_catalog(&b.t).await.unwrap();
        assert_eq!(
            cat.find_product("ACME").map(|p| p.sku_id),
            Some(acme.sku_id)
        );
        assert!(b
            .app
            .sku_rows(&b.t)
            .await
            .unwrap()
            .iter()
            .any(|r| r.part_number == "ACME"));
        b.app
            .assign_license(&b.t, &alice.upn, &[acme_spec(acme.sku_id)], &[], &OP)
            .await
            .unwrap();
        // A assigns it to bob; B's write re-evaluates both and keeps their seats.
        a.user("bob", Some("US")).await;
        a.app
            .assign_license(&a.t, &b.upn("bob"), &[acme_spec(acme.sku_id)], &[], &OP)
            .await
            .unwrap();
        for who in ["alice", "bob"] {
            b.app
                .update_user(
                    &b.t,
                    &b.upn(who),
                    UserPatch {
                        department: Some(Some("Sales".into())),
                        ..UserPatch::default()
                    },
                    &OP,
                )
                .await
                .unwrap();
            assert!(b.holds(who, "ACME").await, "{who} lost her ACME seat");
        }
        assert_eq!(b.seats("ACME").await, (2, 2));
        a.assert_no_drift().await;
        b.assert_no_drift().await;
    })
    .await;
}

/// Issue 7 item 1, the in-process race: a catalog read before a product was added must not be
/// cached over the newer one. Many readers race one writer; afterwards every use sees it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_that_started_before_a_product_was_added_never_brings_the_old_catalog_back() {
    for_each_backend(|url| async move {
        let a = env(&url).await;
        let readers: Vec<_> = (0..8)
            .map(|_| {
                let app = a.app.clone();
                let t = a.t.clone();
                tokio::spawn(async move {
                    for _ in 0..5 {
                        app.tenant_catalog(&t).await.unwrap();
                    }
                })
            })
            .collect();
        a.app
            .add_custom_product(
                &a.t,
                "ACME",
                "Acme",
                &[("ACME_CORE".into(), "Core".into())],
                &OP,
            )
            .await
            .unwrap();
        for r in readers {
            r.await.unwrap();
        }
        let cat = a.app.tenant_catalog(&a.t).await.unwrap();
        assert!(cat.find_product("ACME").is_some());
    })
    .await;
}

/// Issue 7 item 7: a job that fails (its group names a product the catalog lacks — data made
/// inconsistent underneath it) is recorded with its reason and retried with backoff, other jobs
/// still complete, reads and doctor still work; after MAX_ATTEMPTS it is given up; once the
/// data is repaired `retry` completes it.
#[tokio::test]
async fn a_failing_job_is_recorded_retried_and_given_up_and_others_still_run() {
    for_each_backend(|url| async move {
        let e = env(&url).await;
        e.subscribe("ENTERPRISEPACK", 5).await;
        e.user("alice", Some("US")).await;
        e.user("bob", Some("US")).await;
        let broken = e.group("Broken").await;
        e.group("Fine").await;
        e.add("Broken", "alice").await.unwrap();
        e.add("Fine", "bob").await.unwrap();
        e.app
            .queue_group_license(&e.t, "Broken", &[spec("ENTERPRISEPACK")], &[], &OP)
            .await
            .unwrap();
        // Another process writes an assignment of a product the tenant does not have.
        let store = Store::open(&url).await.unwrap();
        let bogus = SkuId(uuid::Uuid::new_v4());
        let mut tx = store.write(e.t.id).await.unwrap();
        tx.upsert_group_assignment(&GroupAssignmentRow {
            group_id: broken.id,
            sku_id: bogus,
            disabled_plans: vec![],
            created_at: Timestamp(1),
        })
        .await
        .unwrap();
        tx.commit().await.unwrap();
        e.app
            .queue_group_license(&e.t, "Fine", &[spec("ENTERPRISEPACK")], &[], &OP)
            .await
            .unwrap();

        let t0 = skuld_app::now();
        assert_eq!(
            e.app.run_due_jobs(t0).await.unwrap(),
            1,
            "the good job completes"
        );
        assert!(e.holds("bob", "ENTERPRISEPACK").await);
        let j = job_of(&e, "Broken").await.job;
        assert_eq!(
            (j.state.as_str(), j.attempts, j.runs),
            ("QueuedForProcessing", 1, 1)
        );
        assert!(
            j.last_error.contains("not in the tenant's catalog"),
            "{}",
            j.last_error
        );
        assert!(j.next_attempt_at > t0, "a retry waits for its backoff");
        assert_eq!(
            e.app
                .license_processing_state(&e.t, broken.id)
                .await
                .unwrap(),
            "QueuedForProcessing"
        );
        // Reads, writes and doctor still work meanwhile.
        e.user("carol", Some("US")).await;
        e.app.doctor(&e.t).await.unwrap();
        // Not due yet: nothing runs.
        assert_eq!(e.app.run_due_jobs(t0).await.unwrap(), 0);
        assert_eq!(job_of(&e, "Broken").await.job.runs, 1);
        // Step the clock through the backoff until it gives up.
        let mut at = t0;
        for attempt in 2..=MAX_ATTEMPTS {
            at = Timestamp(job_of(&e, "Broken").await.job.next_attempt_at.0 + 1);
            e.app.run_due_jobs(at).await.unwrap();
            let j = job_of(&e, "Broken").await.job;
            assert_eq!(j.attempts, attempt);
        }
        let j = job_of(&e, "Broken").await.job;
        assert_eq!(j.state, "ProcessingFailed");
        assert_eq!(j.runs, MAX_ATTEMPTS);
        e.app
            .run_due_jobs(Timestamp(at.0 + 10_000_000))
            .await
            .unwrap();
        assert_eq!(
            job_of(&e, "Broken").await.job.runs,
            MAX_ATTEMPTS,
            "given up"
        );
        assert_eq!(
            e.app
                .license_processing_state(&e.t, broken.id)
                .await
                .unwrap(),
            "ProcessingComplete"
        );
        // Repair the data and retry by hand.
        let mut tx = store.write(e.t.id).await.unwrap();
        tx.delete_group_assignment(broken.id, bogus).await.unwrap();
        tx.commit().await.unwrap();
        let r = e.app.retry_job(&e.t, &j.id.to_string(), &OP).await.unwrap();
        assert_eq!((r.members, r.succeeded), (1, 1));
        assert!(e.holds("alice", "ENTERPRISEPACK").await);
        assert_eq!(job_of(&e, "Broken").await.job.state, "ProcessingComplete");
        e.assert_no_drift().await;
        store.close().await;
    })
    .await;
}

/// Issue 7 item 7: a worker that claimed a job and died holds a lease that expires; until then
/// nobody else runs the job, afterwards another worker does.
#[tokio::test]
async fn a_crashed_workers_lease_expires_and_the_job_runs_again() {
    for_each_backend(|url| async move {
        let e = env(&url).await;
        e.subscribe("ENTERPRISEPACK", 5).await;
        e.user("alice", Some("US")).await;
        e.group("Staff").await;
        e.add("Staff", "alice").await.unwrap();
        let (_, job) = e
            .app
            .queue_group_license(&e.t, "Staff", &[spec("ENTERPRISEPACK")], &[], &OP)
            .await
            .unwrap();
        let now = skuld_app::now();
        let store = Store::open(&url).await.unwrap();
        let mut tx = store.write(e.t.id).await.unwrap();
        assert!(tx
            .claim_job(job.id, "crashed-worker", now, Timestamp(now.0 + 60_000))
            .await
            .unwrap());
        tx.commit().await.unwrap();
        store.close().await;
        assert_eq!(e.app.run_due_jobs(now).await.unwrap(), 0, "the lease holds");
        assert_eq!(
            e.app
                .license_processing_state(&e.t, GroupId(job.target_id))
                .await
                .unwrap(),
            "ProcessingInProgress"
        );
        assert!(!e.holds("alice", "ENTERPRISEPACK").await);
        assert_eq!(
            e.app.run_due_jobs(Timestamp(now.0 + 60_001)).await.unwrap(),
            1
        );
        let j = job_of(&e, "Staff").await.job;
        assert_eq!((j.state.as_str(), j.runs), ("ProcessingComplete", 2));
        assert!(e.holds("alice", "ENTERPRISEPACK").await);
        e.assert_no_drift().await;
    })
    .await;
}

/// Issue 7 item 7: two Apps on one database racing to run the same jobs never both run one:
/// every job is claimed exactly once (`runs` on the job row) and completes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_racing_run_every_job_exactly_once() {
    for_each_backend(|url| async move {
        let a = env(&url).await;
        let b = second(&a, &url).await;
        a.subscribe("ENTERPRISEPACK", 100).await;
        const GROUPS: usize = 12;
        for i in 0..GROUPS {
            let g = format!("Team{i}");
            a.group(&g).await;
            let u = format!("user{i}");
            a.user(&u, Some("US")).await;
            a.add(&g, &u).await.unwrap();
            let queued_by = if i % 2 == 0 { &a } else { &b };
            queued_by
                .app
                .queue_group_license(&a.t, &g, &[spec("ENTERPRISEPACK")], &[], &OP)
                .await
                .unwrap();
        }
        let (ra, rb) = tokio::join!(
            {
                let app = a.app.clone();
                tokio::spawn(async move { app.run_open_jobs().await.unwrap() })
            },
            {
                let app = b.app.clone();
                tokio::spawn(async move { app.run_open_jobs().await.unwrap() })
            }
        );
        assert_eq!(
            ra.unwrap() + rb.unwrap(),
            GROUPS,
            "each job completed by exactly one"
        );
        let jobs = a.app.jobs(&a.t, true, &OP).await.unwrap();
        assert_eq!(jobs.len(), GROUPS);
        for j in &jobs {
            assert_eq!(
                (j.job.state.as_str(), j.job.runs),
                ("ProcessingComplete", 1),
                "{:?}",
                j.job
            );
        }
        let audit = a.app.audit_log(&a.t, 1000).await.unwrap();
        let starts = audit
            .iter()
            .filter(|r| r.activity == "Start applying group based license to users")
            .count();
        assert_eq!(starts, GROUPS, "one application per job");
        a.assert_no_drift().await;
    })
    .await;
}
