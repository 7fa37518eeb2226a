//! `skuld serve`: the HTTP and HTTPS listeners, the background worker (group license jobs,
//! subscription lifecycle, purge of expired deleted users), graceful shutdown.

use crate::auth::Keys;
use crate::state::{GraphState, Scheme};
use crate::throttle::{Limits, Throttle};
use anyhow::Context;
use axum::Extension;
use skuld_app::App;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// TLS for the HTTPS listener.
#[derive(Debug, Clone)]
pub enum Tls {
    /// PEM files.
    Files { cert: PathBuf, key: PathBuf },
    /// A certificate for localhost generated once and kept in the data directory.
    SelfSigned,
}

#[derive(Clone)]
pub struct ServeConfig {
    pub listen: SocketAddr,
    pub tls_listen: Option<SocketAddr>,
    pub tls: Option<Tls>,
    /// Where generated files (the self-signed certificate) go.
    pub data_dir: PathBuf,
    pub public_url: Option<String>,
    pub limits: Limits,
    /// Mounts more routes around the Graph router (the admin center): called once per
    /// listener with the Graph router, whether the listener is HTTPS, and the worker's wake-up.
    pub mount: Option<Mount>,
}

impl std::fmt::Debug for ServeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServeConfig")
            .field("listen", &self.listen)
            .field("tls_listen", &self.tls_listen)
            .field("tls", &self.tls)
            .field("data_dir", &self.data_dir)
            .field("public_url", &self.public_url)
            .field("limits", &self.limits)
            .field("mount", &self.mount.is_some())
            .finish()
    }
}

/// See [`ServeConfig::mount`].
pub type Mount =
    Arc<dyn Fn(axum::Router, bool, Arc<tokio::sync::Notify>) -> axum::Router + Send + Sync>;

/// Writes (once) a self-signed certificate for localhost and 127.0.0.1; returns the PEM paths.
pub fn self_signed(dir: &std::path::Path) -> anyhow::Result<(PathBuf, PathBuf)> {
    let cert = dir.join("skuld-tls-cert.pem");
    let key = dir.join("skuld-tls-key.pem");
    if cert.exists() && key.exists() {
        return Ok((cert, key));
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let c = rcgen::generate_simple_self_signed(vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ])?;
    write_private(&key, c.key_pair.serialize_pem().as_bytes())
        .with_context(|| format!("writing {}", key.display()))?;
    std::fs::write(&cert, c.cert.pem()).with_context(|| format!("writing {}", cert.display()))?;
    Ok((cert, key))
}

/// Writes a file only its owner can read (mode 0600 from the start, not chmod-ed afterwards):
/// private keys.
pub fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        o.mode(0o600);
        let mut f = o.open(path)?;
        // An existing file keeps its mode on open: tighten it too.
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        f.write_all(bytes)?;
        f.sync_all()
    }
    #[cfg(not(unix))]
    {
        let mut f = o.open(path)?;
        f.write_all(bytes)?;
        f.sync_all()
    }
}

/// The background worker: runs queued group license jobs as soon as they are queued (and
/// those a previous process left behind), and every ten minutes moves subscriptions along
/// their lifecycle, purges users deleted more than 30 days ago, records the day's product
/// usage snapshot and removes ended admin center sessions.
pub async fn worker(
    app: App,
    wake: Arc<tokio::sync::Notify>,
    stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut stop = stop;
    let mut last_tick = std::time::Instant::now() - Duration::from_secs(3600);
    loop {
        match app.run_open_jobs().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(jobs = n, "group license jobs done"),
            Err(e) => tracing::error!(error = %e, "group license job failed"),
        }
        if last_tick.elapsed() >= Duration::from_secs(600) {
            last_tick = std::time::Instant::now();
            if let Ok(tenants) = app.tenants().await {
                for t in tenants {
                    let now = skuld_app::now();
                    if let Err(e) = app.lifecycle_tick(&t, now).await {
                        tracing::error!(tenant = %t.id, error = %e, "lifecycle tick failed");
                    }
                    if let Err(e) = app.purge_expired(&t, now).await {
                        tracing::error!(tenant = %t.id, error = %e, "purge failed");
                    }
                    if let Err(e) = app.record_snapshots(&t, now).await {
                        tracing::error!(tenant = %t.id, error = %e, "usage snapshot failed");
                    }
                }
            }
            if let Err(e) = app.purge_sessions(skuld_app::now()).await {
                tracing::error!(error = %e, "session purge failed");
            }
        }
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(Duration::from_secs(5)) => {}
            _ = stop.changed() => return,
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

/// Binds the listeners; `on_ready` is called with the bound addresses (for the banner), then
/// serves until SIGINT/SIGTERM.
pub async fn serve(
    app: App,
    cfg: ServeConfig,
    on_ready: impl FnOnce(SocketAddr, Option<(SocketAddr, Option<PathBuf>)>),
) -> anyhow::Result<()> {
    let sealing = crate::auth::SealingKey::from_env_or_file(&cfg.data_dir)?;
    let keys = Keys::load_or_create(&app, &sealing).await?;
    let mut state = GraphState::new(app.clone(), keys);
    state.public_url = cfg.public_url.clone();
    state.throttle = Arc::new(Throttle::new(cfg.limits));
    let router = crate::router(state.clone());

    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .with_context(|| format!("binding {}", cfg.listen))?;
    let http_addr = listener.local_addr()?;

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let handle = axum_server::Handle::new();
    let mut tls_task = None;
    let mut tls_info = None;
    if let Some(addr) = cfg.tls_listen {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let (cert, key, generated) = match &cfg.tls {
            Some(Tls::Files { cert, key }) => (cert.clone(), key.clone(), None),
            Some(Tls::SelfSigned) | None => {
                let (c, k) = self_signed(&cfg.data_dir)?;
                (c.clone(), k, Some(c))
            }
        };
        let rustls_cfg = axum_server::tls_rustls::RustlsConfig::from_pem_file(&cert, &key)
            .await
            .with_context(|| format!("loading TLS certificate {}", cert.display()))?;
        let std_listener =
            std::net::TcpListener::bind(addr).with_context(|| format!("binding {addr}"))?;
        std_listener.set_nonblocking(true)?;
        let tls_addr = std_listener.local_addr()?;
        let server = axum_server::from_tcp_rustls(std_listener, rustls_cfg).handle(handle.clone());
        let tls_router = match &cfg.mount {
            Some(m) => m(router.clone(), true, state.jobs.clone()),
            None => router.clone(),
        };
        let svc = tls_router
            .layer(Extension(Scheme("https")))
            .into_make_service_with_connect_info::<SocketAddr>();
        tls_task = Some(tokio::spawn(async move { server.serve(svc).await }));
        tls_info = Some((tls_addr, generated));
    }
    on_ready(http_addr, tls_info);

    let worker_task = tokio::spawn(worker(app.clone(), state.jobs.clone(), stop_rx));
    let router = match &cfg.mount {
        Some(m) => m(router, false, state.jobs.clone()),
        None => router,
    };
    let http = axum::serve(
        listener,
        router
            .layer(Extension(Scheme("http")))
            .into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown_signal().await;
    });
    let res = http.await;
    tracing::info!("shutting down");
    handle.graceful_shutdown(Some(Duration::from_secs(10)));
    if let Some(t) = tls_task {
        let _ = t.await;
    }
    let _ = stop_tx.send(true);
    let _ = worker_task.await;
    app.close().await;
    res.context("serving HTTP")
}
