//! Test databases: every test runs once per backend, each time on a fresh database — a
//! SQLite file in a temp dir always, and a PostgreSQL database with a random name when
//! `SKULD_TEST_PG_URL` is set (`source scripts/lib/pg.sh && start_test_postgres` provides one).
//! `SKULD_REQUIRE_PG=1` turns a missing PostgreSQL into a failure instead of a silent skip, so CI
//! cannot pass on SQLite alone.

use sqlx::{Connection, Executor, PgConnection};
use std::future::Future;
use tempfile::TempDir;

/// One fresh database. Keeps what it needs alive (the temp dir) and drops the PostgreSQL
/// database again in [`TestDb::cleanup`].
pub struct TestDb {
    pub backend: &'static str,
    pub url: String,
    _dir: Option<TempDir>,
    /// `(server url, database name)` of a database this harness created.
    pg: Option<(String, String)>,
}

impl TestDb {
    async fn cleanup(self) {
        if let Some((admin, name)) = &self.pg {
            // Best effort: a throwaway server is deleted anyway; a shared one should not fill up.
            if let Ok(mut c) = PgConnection::connect(admin).await {
                let _ = c
                    .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                    .await;
                let _ = c.close().await;
            }
        }
    }
}

/// Fresh databases for one test: SQLite always, PostgreSQL when configured.
pub async fn backends() -> Vec<TestDb> {
    let dir = tempfile::tempdir().expect("create a temp dir for SQLite");
    let path = dir.path().join("skuld.db");
    let mut out = vec![TestDb {
        backend: "sqlite",
        url: path.to_str().expect("temp path is UTF-8").to_string(),
        _dir: Some(dir),
        pg: None,
    }];
    match std::env::var("SKULD_TEST_PG_URL") {
        Ok(url) if !url.trim().is_empty() => out.push(fresh_pg_database(url.trim()).await),
        _ => {
            if std::env::var("SKULD_REQUIRE_PG").as_deref() == Ok("1") {
                panic!(
                    "SKULD_REQUIRE_PG=1 but SKULD_TEST_PG_URL is not set: run the tests with a \
                     PostgreSQL server, e.g. `bash -c 'source scripts/lib/pg.sh && \
                     start_test_postgres && cargo test'`, or unset SKULD_REQUIRE_PG"
                );
            }
        }
    }
    out
}

async fn fresh_pg_database(admin: &str) -> TestDb {
    let name = format!("skuld_t_{}", uuid::Uuid::new_v4().simple());
    let mut c = PgConnection::connect(admin)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to SKULD_TEST_PG_URL={admin}: {e}"));
    c.execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .unwrap_or_else(|e| panic!("CREATE DATABASE {name} on {admin}: {e}"));
    let _ = c.close().await;
    TestDb {
        backend: "postgres",
        url: with_database(admin, &name),
        _dir: None,
        pg: Some((admin.to_string(), name)),
    }
}

/// `postgres://u@h:p/old?x=y` → `postgres://u@h:p/<name>?x=y`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let authority_start = base.find("://").map(|i| i + 3).unwrap_or(0);
    let root = match base[authority_start..].find('/') {
        Some(i) => &base[..authority_start + i],
        None => base,
    };
    match query {
        Some(q) => format!("{root}/{name}?{q}"),
        None => format!("{root}/{name}"),
    }
}

/// Runs `test` once per backend on a fresh database. Every backend runs even when one fails;
/// the failure names the backends it happened on.
pub async fn for_each_backend<F, Fut>(test: F)
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut failures = Vec::new();
    for db in backends().await {
        // A task of its own, so a panic comes back as a value we can label.
        let result = tokio::spawn(test(db.url.clone())).await;
        let backend = db.backend;
        db.cleanup().await;
        if let Err(e) = result {
            let msg = if e.is_panic() {
                let p = e.into_panic();
                p.downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "(non-string panic)".into())
            } else {
                e.to_string()
            };
            failures.push(format!("[{backend}] {msg}"));
        }
    }
    if !failures.is_empty() {
        panic!("{}", failures.join("\n\n"));
    }
}

#[test]
fn with_database_replaces_only_the_path() {
    assert_eq!(
        with_database("postgres://skuld@127.0.0.1:55432/postgres", "x"),
        "postgres://skuld@127.0.0.1:55432/x"
    );
    assert_eq!(
        with_database("postgresql://a:b@h/db?sslmode=disable", "x"),
        "postgresql://a:b@h/x?sslmode=disable"
    );
    assert_eq!(with_database("postgres://h:1", "x"), "postgres://h:1/x");
}

#[tokio::test]
async fn backends_include_postgres_exactly_when_configured() {
    let configured = std::env::var("SKULD_TEST_PG_URL").is_ok_and(|u| !u.trim().is_empty());
    let dbs = backends().await;
    let names: Vec<_> = dbs.iter().map(|d| d.backend).collect();
    let expected = if configured {
        vec!["sqlite", "postgres"]
    } else {
        vec!["sqlite"]
    };
    for db in dbs {
        db.cleanup().await;
    }
    assert_eq!(names, expected);
}
