//! The MySQL/MariaDB driver: a `mysql_async` pool (all four MySQL plugins).
//!
//! * Pool: `max_open_connections` connections, `max_idle_connections` kept idle,
//!   connections older than `max_connection_lifetime` closed; created on demand (no I/O
//!   at open). Getting a connection (wait + connect + authenticate) is bounded by the
//!   DSN's `timeout` or [`CONNECT_TIMEOUT`]; an operation's statements by
//!   [`STATEMENT_TIMEOUT`] (client side; a connection that timed out is closed, not
//!   reused). `prefer_socket` is off: we connect exactly where the DSN says.
//! * Statements use the text protocol (`CREATE USER` cannot be prepared) inside one
//!   transaction. MySQL commits DDL implicitly, so a failure after a `CREATE USER` cannot
//!   undo it: that is what the role's rollback/revocation statements are for.
//! * Accounts are written `'name'@'%'` with `'` doubled; names holding a backslash or a
//!   control character are refused (their escaping depends on the server's SQL mode).
//!   Values go as bind parameters.

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, OptsBuilder, Pool, PoolConstraints, PoolOpts, TxOpts};
use tokio::time::error::Elapsed;
use zeroize::Zeroizing;

use super::dsn::{error_chain, mysql_target, MysqlAddr};
use super::scrub::Scrubber;
use super::{bounded, ConnectionSettings, DriverError, STATEMENT_TIMEOUT};

/// MySQL's "Unknown thread id" (the session ended before we killed it).
const ER_NO_SUCH_THREAD: u16 = 1094;

/// A MySQL connection pool.
pub(super) struct MyPool {
    pool: Pool,
    connect_timeout: std::time::Duration,
}

impl MyPool {
    /// Builds the pool (no I/O).
    pub(super) fn open(
        settings: &ConnectionSettings,
        scrubber: &Scrubber,
    ) -> Result<MyPool, DriverError> {
        let target = mysql_target(settings, scrubber)?;
        let constraints = PoolConstraints::new(settings.idle_size(), settings.pool_size())
            .ok_or_else(|| DriverError::InvalidUrl("invalid pool size".to_string()))?;
        let pool_opts = PoolOpts::default()
            .with_constraints(constraints)
            .with_abs_conn_ttl(settings.lifetime());
        let password = (!target.password.is_empty()).then(|| target.password.to_string());
        let opts = OptsBuilder::default()
            .user(Some(target.user))
            .pass(password)
            .db_name(target.db)
            .prefer_socket(false)
            .pool_opts(pool_opts);
        let opts = match target.addr {
            MysqlAddr::Tcp { host, port } => opts.ip_or_hostname(host).tcp_port(port),
            MysqlAddr::Socket(path) => opts.socket(Some(path)),
        };
        Ok(MyPool {
            pool: Pool::new(opts),
            connect_timeout: target.connect_timeout,
        })
    }

    /// A connection from the pool.
    async fn conn(&self, scrubber: &Scrubber) -> Result<Conn, DriverError> {
        bounded(self.connect_timeout, DriverError::Connect, async {
            self.pool
                .get_conn()
                .await
                .map_err(|e| DriverError::Connect(scrubber.scrub(&my_error(&e))))
        })
        .await
    }

    /// Connects and pings.
    pub(super) async fn verify(&self, scrubber: &Scrubber) -> Result<(), DriverError> {
        let mut conn = self.conn(scrubber).await?;
        let outcome = tokio::time::timeout(STATEMENT_TIMEOUT, async {
            conn.ping()
                .await
                .map_err(|e| DriverError::Connect(scrubber.scrub(&my_error(&e))))
        })
        .await;
        settle(conn, outcome).await
    }

    /// Runs `statements` in one transaction.
    pub(super) async fn execute(
        &self,
        statements: &[Zeroizing<String>],
        scrubber: &Scrubber,
    ) -> Result<(), DriverError> {
        let mut conn = self.conn(scrubber).await?;
        let outcome = tokio::time::timeout(STATEMENT_TIMEOUT, async {
            let fail = |e: mysql_async::Error| statement_error(&e, scrubber);
            let mut tx = conn
                .start_transaction(TxOpts::default())
                .await
                .map_err(fail)?;
            for statement in statements {
                if let Err(e) = tx.query_drop(statement.as_str()).await {
                    let error = fail(e);
                    if let Err(e) = tx.rollback().await {
                        tracing::debug!(error = %scrubber.scrub(&my_error(&e)), "rollback failed");
                    }
                    return Err(error);
                }
            }
            tx.commit().await.map_err(fail)
        })
        .await;
        settle(conn, outcome).await
    }

    /// Kills the user's sessions, revokes everything and drops `'name'@'%'`. Absent
    /// user: `Ok`.
    pub(super) async fn drop_user(
        &self,
        username: &str,
        scrubber: &Scrubber,
    ) -> Result<(), DriverError> {
        let account = account(username)?;
        let mut conn = self.conn(scrubber).await?;
        let outcome = tokio::time::timeout(STATEMENT_TIMEOUT, async {
            if let Err(e) = kill_sessions(&mut conn, username).await {
                tracing::warn!(error = %scrubber.scrub(&my_error(&e)), "could not kill the user's sessions before dropping it");
            }
            // Fails for an absent user (and is redundant with DROP USER, which removes
            // every privilege row): only DROP USER decides the outcome.
            if let Err(e) = conn
                .query_drop(format!(
                    "REVOKE ALL PRIVILEGES, GRANT OPTION FROM {account}"
                ))
                .await
            {
                tracing::debug!(error = %scrubber.scrub(&my_error(&e)), "revoke before DROP USER failed");
            }
            conn.query_drop(format!("DROP USER IF EXISTS {account}"))
                .await
                .map_err(|e| statement_error(&e, scrubber))?;
            // A session that logged in between the kill and the drop.
            kill_sessions(&mut conn, username)
                .await
                .map_err(|e| statement_error(&e, scrubber))
        })
        .await;
        settle(conn, outcome).await
    }

    /// Kills every session of the user.
    pub(super) async fn terminate_sessions(
        &self,
        username: &str,
        scrubber: &Scrubber,
    ) -> Result<(), DriverError> {
        account(username)?;
        let mut conn = self.conn(scrubber).await?;
        let outcome = tokio::time::timeout(STATEMENT_TIMEOUT, async {
            kill_sessions(&mut conn, username)
                .await
                .map_err(|e| statement_error(&e, scrubber))
        })
        .await;
        settle(conn, outcome).await
    }

    /// Disconnects the pool's connections in the background.
    pub(super) fn close(&self) {
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let pool = self.pool.clone();
            runtime.spawn(async move {
                if let Err(e) = pool.disconnect().await {
                    tracing::debug!(error = %my_error(&e), "closing a MySQL pool failed");
                }
            });
        }
    }
}

/// The result of a bounded operation on `conn`. On a timeout the connection is closed
/// rather than returned to the pool (it may be mid-statement).
async fn settle<T>(
    conn: Conn,
    outcome: Result<Result<T, DriverError>, Elapsed>,
) -> Result<T, DriverError> {
    match outcome {
        Ok(result) => result,
        Err(_) => {
            // `disconnect` marks the connection dead before any I/O, so even if the
            // QUIT cannot be sent the pool will not hand it out again.
            let _ =
                tokio::time::timeout(std::time::Duration::from_secs(1), conn.disconnect()).await;
            Err(DriverError::Statement(format!(
                "timed out after {}s",
                STATEMENT_TIMEOUT.as_secs()
            )))
        }
    }
}

/// Kills every connection of `username` but ours.
async fn kill_sessions(conn: &mut Conn, username: &str) -> Result<(), mysql_async::Error> {
    let own = u64::from(conn.id());
    let ids: Vec<u64> = conn
        .exec(
            "SELECT ID FROM information_schema.PROCESSLIST WHERE USER = ?",
            (username,),
        )
        .await?;
    for id in ids.into_iter().filter(|id| *id != own) {
        match conn.query_drop(format!("KILL CONNECTION {id}")).await {
            Ok(()) => {}
            Err(mysql_async::Error::Server(e)) if e.code == ER_NO_SUCH_THREAD => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// `'name'@'%'`, the account of a dynamic user.
fn account(username: &str) -> Result<String, DriverError> {
    if username.is_empty() || username.chars().any(|c| c == '\\' || c.is_control()) {
        return Err(DriverError::Invalid(
            "the user name is empty or contains a backslash or a control character".to_string(),
        ));
    }
    Ok(format!("'{}'@'%'", username.replace('\'', "''")))
}

fn statement_error(e: &mysql_async::Error, scrubber: &Scrubber) -> DriverError {
    DriverError::Statement(scrubber.scrub(&my_error(e)))
}

/// Go's form for server errors (`Error 1045 (28000): Access denied ...`), else the chain.
fn my_error(e: &mysql_async::Error) -> String {
    match e {
        mysql_async::Error::Server(e) => {
            format!("Error {} ({}): {}", e.code, e.state, e.message)
        }
        other => error_chain(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_are_quoted() {
        assert_eq!(account("v-tok").ok().as_deref(), Some("'v-tok'@'%'"));
        assert_eq!(
            account("a'; DROP USER root; --").ok().as_deref(),
            Some("'a''; DROP USER root; --'@'%'")
        );
        assert!(account("a\\b").is_err());
        assert!(account("a\nb").is_err());
        assert!(account("").is_err());
    }

    #[test]
    fn server_errors_read_like_go() {
        let e = mysql_async::Error::Server(mysql_async::ServerError {
            code: 1045,
            message: "Access denied for user 'x'@'localhost' (using password: YES)".into(),
            state: "28000".into(),
        });
        assert_eq!(
            my_error(&e),
            "Error 1045 (28000): Access denied for user 'x'@'localhost' (using password: YES)"
        );
    }
}
