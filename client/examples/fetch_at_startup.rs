//! An app that fetches its secrets at startup and keeps them alive.
//!
//! 1. Builds a client from the environment (`STRONGROOM_ADDR`, `STRONGROOM_TOKEN`,
//!    `STRONGROOM_CACERT`, falling back to the `VAULT_*` names).
//! 2. Optionally logs in with AppRole: role id from `APP_ROLE_ID`, secret id from the
//!    file named by `APP_SECRET_ID_FILE` (preferred: not visible in the process
//!    environment) or from `APP_SECRET_ID`; mount `APP_APPROLE_MOUNT` (default
//!    `approle`).
//! 3. Reads the KV secret `APP_KV_PATH` (default `secret/app`) and gets database
//!    credentials from `APP_DB_MOUNT`/`APP_DB_ROLE` (default `database`/`app`).
//! 4. Keeps the credentials' lease and its token alive with a [`LeaseKeeper`]; when the
//!    lease can no longer be renewed it fetches new credentials (an app would now
//!    reconnect its pool) and revokes the old lease; when its token can no longer be
//!    renewed it logs in again (AppRole) or exits.
//! 5. On Ctrl-C, revokes its leases and exits.
//!
//! Secret values are never printed: only field names, the user name and lease ids.
//!
//! Try it against a dev server (`strongroom-server --dev` prints a root token):
//!
//! ```text
//! export STRONGROOM_ADDR=http://127.0.0.1:8200 STRONGROOM_TOKEN=<root token>
//! strongroom kv put secret/app api_key=example     # any KV v2 secret
//! # a database mount with an `app` role, see docs/cli.md
//! cargo run -p strongroom-client --example fetch_at_startup
//! ```

use std::process::ExitCode;
use std::time::Duration;

use strongroom_client::api::DatabaseCredentials;
use strongroom_client::{Client, KeeperEvent, Kept, LeaseKeeper};

type AnyError = Box<dyn std::error::Error + Send + Sync>;

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_string())
}

/// The AppRole credentials from the environment, if the app is configured for them.
fn approle_from_env() -> Result<Option<(String, String)>, AnyError> {
    let Some(role_id) = std::env::var("APP_ROLE_ID").ok().filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let secret_id = match std::env::var("APP_SECRET_ID_FILE") {
        Ok(path) if !path.is_empty() => std::fs::read_to_string(&path)
            .map_err(|e| format!("reading the secret id file {path}: {e}"))?
            .trim()
            .to_string(),
        _ => std::env::var("APP_SECRET_ID")
            .map_err(|_| "APP_ROLE_ID is set but neither APP_SECRET_ID_FILE nor APP_SECRET_ID")?,
    };
    Ok(Some((role_id, secret_id)))
}

struct App {
    client: Client,
    keeper: LeaseKeeper,
    db_mount: String,
    db_role: String,
    creds: DatabaseCredentials,
}

impl App {
    /// New credentials replace the current ones; the old lease is revoked.
    async fn rotate_credentials(&mut self) -> Result<(), AnyError> {
        let fresh = self
            .client
            .database_creds(&self.db_mount, &self.db_role)
            .await?;
        self.keeper.keep_credentials(&fresh)?;
        println!(
            "new database user {} (lease {}); reconnecting",
            fresh.username, fresh.lease_id
        );
        let old = std::mem::replace(&mut self.creds, fresh);
        self.keeper.revoke_lease(&old.lease_id).await?;
        Ok(())
    }
}

async fn run() -> Result<(), AnyError> {
    let base = Client::builder().from_env()?.build()?;
    let approle = approle_from_env()?;
    let approle_mount = env_or("APP_APPROLE_MOUNT", "approle");

    // Log in with AppRole when configured; otherwise use the token from the environment.
    let (client, login) = match &approle {
        Some((role_id, secret_id)) => {
            let auth = base
                .login_approle(Some(&approle_mount), role_id, Some(secret_id))
                .await?;
            println!("logged in with AppRole (token accessor {})", auth.accessor);
            (base.with_auth(&auth), Some(auth))
        }
        None => (base, None),
    };
    let (keeper, mut events) = LeaseKeeper::new(client.clone());
    match &login {
        Some(auth) => {
            keeper.keep_token(auth)?;
        }
        None => {
            keeper.keep_client_token().await?;
        }
    }

    let kv_path = env_or("APP_KV_PATH", "secret/app");
    let secret = client
        .read_secret(&kv_path)
        .await?
        .ok_or_else(|| format!("no secret at {kv_path}"))?;
    let fields: Vec<&String> = secret.data.iter().flat_map(|d| d.keys()).collect();
    println!("read {kv_path}: fields {fields:?}");

    let db_mount = env_or("APP_DB_MOUNT", "database");
    let db_role = env_or("APP_DB_ROLE", "app");
    let creds = client.database_creds(&db_mount, &db_role).await?;
    println!(
        "database user {} (lease {}, {} s, renewable: {})",
        creds.username, creds.lease_id, creds.lease_duration, creds.renewable
    );
    keeper.keep_credentials(&creds)?;
    let mut app = App {
        client,
        keeper,
        db_mount,
        db_role,
        creds,
    };

    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            event = events.recv() => match event {
                None => break,
                Some(KeeperEvent::Renewed { kept, ttl }) => {
                    println!("renewed {kept} for {} s", ttl.as_secs());
                }
                Some(KeeperEvent::RenewalImpossible { kept: Kept::Lease(id), reason, remaining })
                    if id == app.creds.lease_id =>
                {
                    println!("{id} ends in {} s ({reason})", remaining.as_secs());
                    // Retry a little if the server is briefly unavailable.
                    let mut attempt = 0;
                    while let Err(e) = app.rotate_credentials().await {
                        attempt += 1;
                        if attempt == 5 {
                            return Err(format!("cannot get new database credentials: {e}").into());
                        }
                        tokio::time::sleep(Duration::from_secs(2)).await;
                    }
                }
                Some(KeeperEvent::RenewalImpossible { kept: Kept::Token(accessor), reason, remaining }) => {
                    println!("token {accessor} ends in {} s ({reason})", remaining.as_secs());
                    let Some((role_id, secret_id)) = &approle else {
                        return Err("the token can no longer be renewed; restart with a new one".into());
                    };
                    // Log in again. Leases belong to the token that created them and end
                    // with it, so the database credentials are fetched anew under the new
                    // token; the old keeper is dropped (the old lease ends with the old
                    // token).
                    let auth = app
                        .client
                        .login_approle(Some(&approle_mount), role_id, Some(secret_id))
                        .await?;
                    let client = app.client.with_auth(&auth);
                    let (keeper, new_events) = LeaseKeeper::new(client.clone());
                    keeper.keep_token(&auth)?;
                    let creds = client.database_creds(&app.db_mount, &app.db_role).await?;
                    keeper.keep_credentials(&creds)?;
                    println!(
                        "logged in again (token accessor {}); new database user {}; reconnecting",
                        auth.accessor, creds.username
                    );
                    app.client = client;
                    app.keeper = keeper;
                    app.creds = creds;
                    events = new_events;
                }
                Some(other) => println!("{other:?}"),
            },
        }
    }
    println!("shutting down: revoking leases");
    for (id, e) in app.keeper.revoke_all_leases().await {
        eprintln!("could not revoke {id}: {e}");
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
