//! Assembly: storage → barrier → core → HTTP router → listener, and orderly shutdown.
//!
//! The accept loop is tokio + hyper-util (HTTP/1.1 and HTTP/2), optionally behind
//! tokio-rustls, so later handlers can see the TLS session (client certificates). On
//! shutdown it stops accepting, lets in-flight requests finish (bounded), then seals the
//! core so every key leaves memory. Acknowledged writes are already durable (the storage
//! layer acknowledges only after commit), so nothing needs flushing.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tower::ServiceExt;

use crate::api::{self, ApiLimits, ApiState};
use crate::barrier::Barrier;
use crate::config::{Config, StorageConfig, TlsMode};
use crate::core::request::CertChain;
use crate::core::{Core, CoreError, CoreOptions, InitOutput, UnsealInput};
use crate::mount::{MountConfig, MountEntry, MountPath, MountType};
use crate::storage::{
    CachedBackend, InmemBackend, SharedBackend, SqliteBackend, SqliteOptions, StorageError,
};
use crate::tls::{self, TlsError};

/// How long in-flight requests may run after shutdown begins.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);
/// Time allowed for a TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Time allowed for a client to send its request headers.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// Storage could not be opened.
    #[error("opening storage: {0}")]
    Storage(#[from] StorageError),
    /// The core could not be opened.
    #[error("opening the vault: {0}")]
    Core(#[from] CoreError),
    /// TLS could not be set up.
    #[error("TLS: {0}")]
    Tls(#[from] TlsError),
    /// The listener could not bind.
    #[error("binding {address}: {source}")]
    Bind {
        /// Address.
        address: SocketAddr,
        /// Cause.
        source: std::io::Error,
    },
}

/// The TCP peer of a request's connection (a request extension set by the accept loop).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub SocketAddr);

/// The certificate chain (leaf first) a client presented in the TLS handshake of a
/// request's connection, already verified by rustls against the listener's client CA
/// bundle (a request extension set by the accept loop; absent without one).
#[derive(Debug, Clone)]
pub struct ClientCerts(pub CertChain);

/// A server that is accepting connections.
#[derive(Debug)]
pub struct RunningServer {
    addr: SocketAddr,
    tls: bool,
    core: Arc<Core>,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl RunningServer {
    /// The bound address (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http(s)://addr`.
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// The vault.
    pub fn core(&self) -> &Arc<Core> {
        &self.core
    }

    /// Stops accepting, drains in-flight requests, seals.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        if let Err(e) = self.task.await {
            tracing::error!(error = %e, "accept loop ended abnormally");
        }
        if let Err(e) = self.core.seal().await {
            tracing::error!(error = %e, "sealing at shutdown failed");
        }
    }
}

/// Opens the configured storage backend.
pub fn open_storage(config: &StorageConfig) -> Result<SharedBackend, StorageError> {
    match config {
        StorageConfig::Sqlite { path } => {
            let sqlite = Arc::new(SqliteBackend::open(SqliteOptions::new(path.clone()))?);
            // Single node: a read cache in front of the file (see storage::cache).
            Ok(Arc::new(CachedBackend::new(sqlite)))
        }
        StorageConfig::Inmem => Ok(Arc::new(InmemBackend::new())),
    }
}

/// Starts a server: opens storage and the vault (sealed or uninitialised), binds, serves.
pub async fn start(config: &Config) -> Result<RunningServer, ServerError> {
    let backend = open_storage(&config.storage)?;
    start_with_backend(config, backend).await
}

/// Starts a server on an already opened backend.
pub async fn start_with_backend(
    config: &Config,
    backend: SharedBackend,
) -> Result<RunningServer, ServerError> {
    let tls_config = match &config.listener.tls {
        TlsMode::Files {
            cert,
            key,
            client_ca,
        } => Some(tls::server_config(cert, key, client_ca.as_deref())?),
        TlsMode::Disabled => None,
    };
    let barrier = Barrier::new(backend);
    let options = CoreOptions {
        lockout: config.lockout,
        login_rate: config.limits.login,
        audit: config.audit.clone(),
    };
    let core = Arc::new(Core::open_with(barrier, options).await?);
    let limits = ApiLimits {
        max_request_size: config.listener.max_request_size,
        max_json_depth: config.listener.max_json_depth,
        request_timeout: config.listener.request_timeout,
        tls: tls_config.is_some(),
        forwarded_for_trusted: std::sync::Arc::from(config.listener.forwarded_for_trusted.clone()),
    };
    let app = api::router(ApiState {
        core: Arc::clone(&core),
        limits,
        quota: config
            .limits
            .global
            .map(|l| Arc::new(crate::limits::GlobalLimiter::new(l))),
    });
    let address = config.listener.address;
    let listener = TcpListener::bind(address)
        .await
        .map_err(|source| ServerError::Bind { address, source })?;
    let addr = listener
        .local_addr()
        .map_err(|source| ServerError::Bind { address, source })?;
    let (shutdown, shutdown_rx) = watch::channel(false);
    let tls = tls_config.is_some();
    let acceptor = tls_config.map(tokio_rustls::TlsAcceptor::from);
    tokio::spawn(tidy_loop(Arc::clone(&core), shutdown_rx.clone()));
    tokio::spawn(expiration_loop(Arc::clone(&core), shutdown_rx.clone()));
    tokio::spawn(rotation_loop(Arc::clone(&core), shutdown_rx.clone()));
    let task = tokio::spawn(accept_loop(listener, app, acceptor, shutdown_rx));
    tracing::info!(%addr, tls, "listening");
    Ok(RunningServer {
        addr,
        tls,
        core,
        shutdown,
        task,
    })
}

async fn accept_loop(
    listener: TcpListener,
    app: axum::Router,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
    mut shutdown: watch::Receiver<bool>,
) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let service = move |certs: Option<CertChain>| {
            TowerToHyperService::new(app.map_request(
                move |mut req: axum::http::Request<hyper::body::Incoming>| {
                    req.extensions_mut().insert(ClientAddr(peer));
                    if let Some(certs) = &certs {
                        req.extensions_mut().insert(ClientCerts(Arc::clone(certs)));
                    }
                    req
                },
            ))
        };
        let builder = builder.clone();
        let watcher = graceful.watcher();
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            match acceptor {
                Some(acceptor) => {
                    let tls_stream = match tokio::time::timeout(
                        HANDSHAKE_TIMEOUT,
                        acceptor.accept(stream),
                    )
                    .await
                    {
                        Ok(Ok(s)) => s,
                        Ok(Err(e)) => {
                            tracing::debug!(%peer, error = %e, "TLS handshake failed");
                            return;
                        }
                        Err(_) => {
                            tracing::debug!(%peer, "TLS handshake timed out");
                            return;
                        }
                    };
                    let certs = tls_stream
                        .get_ref()
                        .1
                        .peer_certificates()
                        .filter(|chain| !chain.is_empty())
                        .map(|chain| Arc::new(chain.to_vec()));
                    let service = service(certs);
                    let conn =
                        builder.serve_connection_with_upgrades(TokioIo::new(tls_stream), service);
                    if let Err(e) = watcher.watch(conn).await {
                        tracing::debug!(%peer, error = %e, "connection ended with an error");
                    }
                }
                None => {
                    let service = service(None);
                    let conn =
                        builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
                    if let Err(e) = watcher.watch(conn).await {
                        tracing::debug!(%peer, error = %e, "connection ended with an error");
                    }
                }
            }
        });
    }
    drop(listener);
    tokio::select! {
        _ = graceful.shutdown() => tracing::info!("all connections drained"),
        _ = tokio::time::sleep(DRAIN_TIMEOUT) => tracing::warn!("drain timed out; closing remaining connections"),
    }
}

/// How often expired tokens are reclaimed.
const TIDY_INTERVAL: Duration = Duration::from_secs(10);

/// Reclaims expired tokens every [`TIDY_INTERVAL`] until shutdown.
async fn tidy_loop(core: Arc<Core>, mut shutdown: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(TIDY_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.changed() => return,
        }
        match core.tidy_tokens().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(tokens = n, "expired tokens revoked"),
            Err(e) => tracing::warn!(error = %e, "token tidy failed"),
        }
    }
}

/// Longest wait between two lease-expiration passes (leases have whole-second TTLs).
const EXPIRATION_INTERVAL: Duration = Duration::from_secs(1);

/// Revokes due leases until shutdown: a pass every [`EXPIRATION_INTERVAL`], at once
/// after a full pass (more are due), or early when a revoked token's leases were
/// scheduled.
async fn expiration_loop(core: Arc<Core>, mut shutdown: watch::Receiver<bool>) {
    loop {
        let full = match core.revoke_due_leases().await {
            Ok(full) => full,
            Err(e) => {
                tracing::warn!(error = %e, "lease expiration pass failed");
                false
            }
        };
        if full {
            tokio::task::yield_now().await;
            continue;
        }
        let unsealed = core.unsealed().ok();
        let woken = async {
            match &unsealed {
                Some(u) => u.expiration.woken().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = tokio::time::sleep(EXPIRATION_INTERVAL) => {}
            () = woken => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// How often static database roles are checked for a due rotation.
const ROTATION_INTERVAL: Duration = Duration::from_secs(2);

/// How often transit keys are checked for a due automatic rotation (periods are ≥ 1h).
const TRANSIT_ROTATION_INTERVAL: Duration = Duration::from_secs(60);

/// Rotates static database roles (and, once a minute, transit keys) on their schedules
/// until shutdown.
async fn rotation_loop(core: Arc<Core>, mut shutdown: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(ROTATION_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_transit_pass = tokio::time::Instant::now();
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.changed() => return,
        }
        match core.rotate_static_roles().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(roles = n, "static database roles rotated"),
            Err(e) => tracing::warn!(error = %e, "static role rotation failed"),
        }
        if last_transit_pass.elapsed() >= TRANSIT_ROTATION_INTERVAL {
            last_transit_pass = tokio::time::Instant::now();
            if let Err(e) = core.rotate_transit_keys().await {
                tracing::warn!(error = %e, "transit key rotation failed");
            }
        }
    }
}

/// `--dev`: initialise 1-of-1, unseal, and mount `secret/` as kv version 2 (as Vault's
/// dev mode does). Returns the unseal key and root token.
pub async fn dev_bootstrap(core: &Core) -> Result<InitOutput, CoreError> {
    let out = core.init(1, 1).await?;
    for share in &out.shares {
        core.unseal(UnsealInput::Key(share.to_hex())).await?;
    }
    let secret = MountPath::parse("secret")?;
    let options = BTreeMap::from([("version".to_string(), "2".to_string())]);
    let entry = MountEntry::new(
        &secret,
        MountType::Kv,
        "key/value secret storage".to_string(),
        MountConfig::default(),
        Some(options),
    );
    core.unsealed()?.mounts.enable(entry).await?;
    Ok(out)
}
