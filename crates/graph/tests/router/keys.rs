//! The token signing key and token validation (issue 7 items 6, 15): one key however many
//! servers start at once, sealed in the database with a key kept outside it, private files,
//! and tokens refused unless shaped as skuld issues them.

use crate::harness::*;
use skuld_app::App;
use skuld_graph::auth::{Claims, Keys, SealingKey};

fn sealing(byte: u8) -> SealingKey {
    SealingKey::from_bytes(&[byte; 32]).unwrap()
}

/// Issue 7 item 6: servers starting at once on an empty database settle on one key.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_servers_settle_on_one_signing_key() {
    for db in crate::backends::backends().await {
        let mut apps = Vec::new();
        for _ in 0..6 {
            apps.push(App::open(&db.url).await.unwrap());
        }
        let mut set = tokio::task::JoinSet::new();
        for a in &apps {
            let a = a.clone();
            set.spawn(async move { Keys::load_or_create(&a, &sealing(7)).await.unwrap().jwks() });
        }
        let jwks: Vec<String> = set.join_all().await.iter().map(|j| j.to_string()).collect();
        assert!(jwks.iter().all(|j| j == &jwks[0]), "{jwks:?}");
        // And the store's own ensure, raced directly with different candidate keys.
        let mut set = tokio::task::JoinSet::new();
        for i in 0..8 {
            let a = apps[i % apps.len()].clone();
            set.spawn(async move {
                a.ensure_signing_key(&format!("kid{i}"), &format!("key{i}"), skuld_app::now())
                    .await
                    .unwrap()
            });
        }
        let results = set.join_all().await;
        assert!(results.iter().all(|r| r == &results[0]), "{results:?}");
    }
}

/// Issue 7 item 15: the key is stored sealed; a plain key of an older version is sealed on
/// start; another key-encryption key cannot open it.
#[tokio::test]
async fn the_signing_key_is_sealed_in_the_database() {
    use base64::Engine;
    for db in crate::backends::backends().await {
        let app = App::open(&db.url).await.unwrap();
        // What an older version stored: plain base64 PKCS#8.
        let der = ring::signature::EcdsaKeyPair::generate_pkcs8(
            &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            &ring::rand::SystemRandom::new(),
        )
        .unwrap();
        let plain = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
        app.ensure_signing_key("oldkid", &plain, skuld_app::now())
            .await
            .unwrap();
        let expected = Keys::from_pkcs8("oldkid".into(), der.as_ref())
            .unwrap()
            .jwks();

        let k = Keys::load_or_create(&app, &sealing(1)).await.unwrap();
        assert_eq!(k.jwks(), expected, "the old key keeps signing");
        let (kid, stored) = app
            .ensure_signing_key("other", "other", skuld_app::now())
            .await
            .unwrap();
        assert_eq!(kid, "oldkid");
        assert!(stored.starts_with("aes256gcm:v1:"), "{stored}");
        assert!(!stored.contains(&plain[10..40]), "no plain key material");
        // Opened again with the same key: the same signing key.
        assert_eq!(
            Keys::load_or_create(&app, &sealing(1))
                .await
                .unwrap()
                .jwks(),
            expected
        );
        // Another key-encryption key cannot open it.
        let e = Keys::load_or_create(&app, &sealing(2))
            .await
            .err()
            .expect("refused");
        assert!(e.to_string().contains("cannot be decrypted"), "{e}");
    }
}

/// Issue 7 item 15: the database, its WAL files, the TLS key and the key file are 0600.
#[cfg(unix)]
#[tokio::test]
async fn private_files_are_created_0600() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let db = dir.path().join("skuld.db");
    let app = App::open(db.to_str().unwrap()).await.unwrap();
    app.create_tenant("Contoso", "contoso.test", "US")
        .await
        .unwrap();
    assert_eq!(mode(&db), 0o600);
    for ext in ["-wal", "-shm"] {
        let p = dir.path().join(format!("skuld.db{ext}"));
        if p.exists() {
            assert_eq!(mode(&p), 0o600, "{ext}");
        }
    }
    let (_cert, key) = skuld_graph::serve::self_signed(dir.path()).unwrap();
    assert_eq!(mode(&key), 0o600);
    std::env::remove_var(skuld_graph::auth::KEY_ENV);
    SealingKey::from_env_or_file(dir.path()).unwrap();
    assert_eq!(mode(&dir.path().join(skuld_graph::auth::KEY_FILE)), 0o600);
    // A database file of an older version, created 0644, is tightened on open.
    let old = dir.path().join("old.db");
    std::fs::write(&old, b"").unwrap();
    std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o644)).unwrap();
    App::open(old.to_str().unwrap()).await.unwrap();
    assert_eq!(mode(&old), 0o600);
}

/// Issue 7 item 15: signed by skuld's key but not shaped as skuld issues tokens: 401s.
#[tokio::test]
async fn forged_tokens_are_refused() {
    for w in World::all().await {
        let w = &w;
        let admin = w.app.user(&w.tenant, "admin@contoso.test").await.unwrap();
        let base = || Claims::for_user(&w.tenant, &admin, &[], "x", "Directory.AccessAsUser.All");
        let call = |c: Claims| {
            let t = w.state.keys.sign(&c);
            async move { w.call("GET", "/v1.0/users", Some(&t), None).await }
        };
        call(base()).await.expect(200);
        let mut c = base();
        c.iss = "https://sts.windows.net/00000000-0000-0000-0000-000000000000/".into();
        call(c).await.expect_error(
            401,
            "InvalidAuthenticationToken",
            "Access token validation failure. Invalid issuer.",
        );
        let mut c = base();
        c.nbf += 3600;
        c.exp += 3600;
        call(c).await.expect_error(
            401,
            "InvalidAuthenticationToken",
            "Lifetime validation failed, the token is not yet valid.",
        );
        let mut c = base();
        c.exp = c.iat + 30 * 24 * 3600;
        call(c).await.expect_error(
            401,
            "InvalidAuthenticationToken",
            "Lifetime validation failed, the token lifetime is longer than allowed.",
        );
    }
}
