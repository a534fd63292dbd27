//! The PostgreSQL driver: a `deadpool-postgres` pool of `tokio-postgres` connections.
//!
//! * Pool: `max_open_connections` connections, created on demand (no I/O at open), each
//!   connect bounded by [`CONNECT_TIMEOUT`], a wait for a free slot by
//!   [`POOL_WAIT_TIMEOUT`]; a connection older than `max_connection_lifetime` is dropped
//!   instead of reused. `max_idle_connections` has no equivalent here: idle connections
//!   stay until they age out or the pool is closed.
//! * Statements run with the simple query protocol (DDL cannot be prepared), inside a
//!   transaction whose `statement_timeout` is [`STATEMENT_TIMEOUT`]; the whole operation
//!   is also bounded client side, and a connection that timed out is discarded, not
//!   returned to the pool.
//! * A transaction that changes privileges or ownership (its statements mention `GRANT`,
//!   `REVOKE`, `OWNED` or `PRIVILEGES`; and every default revocation) first takes a
//!   transaction-scoped advisory lock ([`DDL_LOCK_KEY`]): PostgreSQL does not lock
//!   catalog rows for GRANT/REVOKE, so two concurrent `GRANT ... ON ALL TABLES IN SCHEMA`
//!   (two credentials issued at once) fail with "tuple concurrently updated". Those run
//!   one at a time per database (they are short); the others (a bare `CREATE ROLE`, an
//!   `ALTER ROLE ... VALID UNTIL`) run side by side on the pool.
//! * `drop_user` revokes exactly the privileges the role holds (found through
//!   `pg_shdepend`), not `ON ALL TABLES IN SCHEMA ...`, which would rewrite the ACL of
//!   every table in every schema on each revocation; `DROP OWNED` then sweeps whatever
//!   is left.
//! * Identifiers are always double-quoted with inner quotes doubled ([`quote_ident`]) or
//!   rendered by PostgreSQL itself (`regclass`, `regprocedure`); values go as bind
//!   parameters.

use deadpool_postgres::{
    ClientWrapper, Hook, HookError, Manager, ManagerConfig, Object, Pool, PoolError,
    RecyclingMethod, Runtime, TimeoutType,
};
use tokio::time::error::Elapsed;
use tokio_postgres::NoTls;
use zeroize::Zeroizing;

use super::dsn::{error_chain, postgres_config};
use super::scrub::Scrubber;
use super::{
    ConnectionSettings, DriverError, CONNECT_TIMEOUT, POOL_WAIT_TIMEOUT, STATEMENT_TIMEOUT,
};

/// The advisory lock serialising Strongroom's transactions on one database.
const DDL_LOCK_KEY: i64 = 0x5372_6f6f_6d44_444c;

/// The objects of the current database on which a role holds privileges: (kind for
/// `REVOKE ALL ON <kind>`, the object's name as PostgreSQL quotes it).
const GRANTED_OBJECTS: &str = "\
WITH role AS (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = $1), \
acl AS ( \
  SELECT DISTINCT d.classid, d.objid FROM pg_catalog.pg_shdepend d, role \
  WHERE d.refclassid = 'pg_catalog.pg_authid'::pg_catalog.regclass \
    AND d.refobjid = role.oid AND d.deptype = 'a' \
    AND d.dbid = (SELECT oid FROM pg_catalog.pg_database \
                  WHERE datname = pg_catalog.current_database())) \
SELECT CASE c.relkind WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END, \
       c.oid::pg_catalog.regclass::text \
  FROM acl JOIN pg_catalog.pg_class c \
    ON acl.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND c.oid = acl.objid \
UNION ALL \
SELECT 'SCHEMA', pg_catalog.quote_ident(n.nspname) \
  FROM acl JOIN pg_catalog.pg_namespace n \
    ON acl.classid = 'pg_catalog.pg_namespace'::pg_catalog.regclass AND n.oid = acl.objid \
UNION ALL \
SELECT 'ROUTINE', p.oid::pg_catalog.regprocedure::text \
  FROM acl JOIN pg_catalog.pg_proc p \
    ON acl.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND p.oid = acl.objid";

/// A PostgreSQL connection pool.
pub(super) struct PgPool {
    pool: Pool,
}

impl PgPool {
    /// Builds the pool (no I/O).
    pub(super) fn open(
        settings: &ConnectionSettings,
        scrubber: &Scrubber,
    ) -> Result<PgPool, DriverError> {
        let config = postgres_config(settings, scrubber)?;
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let mut builder = Pool::builder(manager)
            .max_size(settings.pool_size())
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(POOL_WAIT_TIMEOUT))
            .create_timeout(Some(CONNECT_TIMEOUT))
            .recycle_timeout(Some(CONNECT_TIMEOUT));
        if let Some(lifetime) = settings.lifetime() {
            builder = builder.pre_recycle(Hook::sync_fn(move |_, metrics| {
                if metrics.age() >= lifetime {
                    Err(HookError::message(
                        "connection reached max_connection_lifetime",
                    ))
                } else {
                    Ok(())
                }
            }));
        }
        let pool = builder
            .build()
            .map_err(|e| DriverError::InvalidUrl(format!("cannot build the pool: {e}")))?;
        Ok(PgPool { pool })
    }

    /// A connection from the pool.
    async fn client(&self, scrubber: &Scrubber) -> Result<Object, DriverError> {
        self.pool
            .get()
            .await
            .map_err(|e| DriverError::Connect(scrubber.scrub(&pool_error(&e))))
    }

    /// Connects and runs `SELECT 1`.
    pub(super) async fn verify(&self, scrubber: &Scrubber) -> Result<(), DriverError> {
        let client = self.client(scrubber).await?;
        let outcome = tokio::time::timeout(STATEMENT_TIMEOUT, async {
            client
                .simple_query("SELECT 1")
                .await
                .map(drop)
                .map_err(|e| DriverError::Connect(scrubber.scrub(&pg_error(&e))))
        })
        .await;
        settle(client, outcome)
    }

    /// Runs `statements` in one transaction.
    pub(super) async fn execute(
        &self,
        statements: &[Zeroizing<String>],
        scrubber: &Scrubber,
    ) -> Result<(), DriverError> {
        let mut client = self.client(scrubber).await?;
        let outcome = tokio::time::timeout(
            STATEMENT_TIMEOUT,
            run_in_transaction(&mut client, statements, scrubber),
        )
        .await;
        settle(client, outcome)
    }

    /// Disables, disconnects, strips and drops the role. Absent role: `Ok`.
    pub(super) async fn drop_user(
        &self,
        username: &str,
        scrubber: &Scrubber,
    ) -> Result<(), DriverError> {
        check_role_name(username)?;
        let mut client = self.client(scrubber).await?;
        let outcome = tokio::time::timeout(
            STATEMENT_TIMEOUT,
            run_drop_user(&mut client, username, scrubber),
        )
        .await;
        settle(client, outcome)
    }

    /// Terminates every session of the role.
    pub(super) async fn terminate_sessions(
        &self,
        username: &str,
        scrubber: &Scrubber,
    ) -> Result<(), DriverError> {
        check_role_name(username)?;
        let client = self.client(scrubber).await?;
        let outcome = tokio::time::timeout(STATEMENT_TIMEOUT, async {
            terminate(&client, username)
                .await
                .map_err(|e| statement_error(&e, scrubber))
        })
        .await;
        settle(client, outcome)
    }

    /// Closes the pool.
    pub(super) fn close(&self) {
        self.pool.close();
    }
}

/// The result of a bounded operation on `client`. On a timeout the connection is taken
/// out of the pool and closed (it may be mid-statement); closing the socket makes the
/// server abort the transaction.
fn settle<T>(
    client: Object,
    outcome: Result<Result<T, DriverError>, Elapsed>,
) -> Result<T, DriverError> {
    match outcome {
        Ok(result) => result,
        Err(_) => {
            drop(Object::take(client));
            Err(DriverError::Statement(format!(
                "timed out after {}s",
                STATEMENT_TIMEOUT.as_secs()
            )))
        }
    }
}

/// The start of every transaction: `statement_timeout` for it, then, when it changes
/// privileges, the advisory lock.
fn transaction_prologue(serialize: bool) -> String {
    let timeout = format!(
        "SET LOCAL statement_timeout = {}",
        STATEMENT_TIMEOUT.as_millis()
    );
    if serialize {
        format!("{timeout}; SELECT pg_catalog.pg_advisory_xact_lock({DDL_LOCK_KEY})")
    } else {
        timeout
    }
}

/// Whether statements may rewrite privilege or ownership catalog rows that a concurrent
/// transaction could rewrite too (and so must take the advisory lock).
fn changes_privileges(statements: &[Zeroizing<String>]) -> bool {
    statements.iter().any(|s| {
        let upper = s.to_ascii_uppercase();
        ["GRANT", "REVOKE", "OWNED", "PRIVILEGES"]
            .iter()
            .any(|word| upper.contains(word))
    })
}

async fn run_in_transaction(
    client: &mut ClientWrapper,
    statements: &[Zeroizing<String>],
    scrubber: &Scrubber,
) -> Result<(), DriverError> {
    let tx = client
        .transaction()
        .await
        .map_err(|e| statement_error(&e, scrubber))?;
    tx.batch_execute(&transaction_prologue(changes_privileges(statements)))
        .await
        .map_err(|e| statement_error(&e, scrubber))?;
    for statement in statements {
        if let Err(e) = tx.batch_execute(statement).await {
            let error = statement_error(&e, scrubber);
            if let Err(e) = tx.rollback().await {
                tracing::debug!(error = %scrubber.scrub(&pg_error(&e)), "rollback failed");
            }
            return Err(error);
        }
    }
    tx.commit().await.map_err(|e| statement_error(&e, scrubber))
}

async fn run_drop_user(
    client: &mut ClientWrapper,
    username: &str,
    scrubber: &Scrubber,
) -> Result<(), DriverError> {
    let fail = |e: tokio_postgres::Error| statement_error(&e, scrubber);
    let exists = client
        .query_opt(
            "SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1",
            &[&username],
        )
        .await
        .map_err(fail)?
        .is_some();
    if !exists {
        return Ok(());
    }
    let role = quote_ident(username);
    // No new sessions, then end the live ones (Vault leaves them running). Both are best
    // effort: an admin without the right to do them can still drop the role.
    if let Err(e) = client
        .batch_execute(&format!("ALTER ROLE {role} NOLOGIN"))
        .await
    {
        tracing::warn!(error = %scrubber.scrub(&pg_error(&e)), "could not disable the role's logins before dropping it");
    }
    if let Err(e) = terminate(client, username).await {
        tracing::warn!(error = %scrubber.scrub(&pg_error(&e)), "could not terminate the role's sessions before dropping it");
    }
    let database: String = client
        .query_one("SELECT pg_catalog.current_database()", &[])
        .await
        .and_then(|row| row.try_get(0))
        .map_err(fail)?;

    let mut tx = client.transaction().await.map_err(fail)?;
    tx.batch_execute(&transaction_prologue(true))
        .await
        .map_err(fail)?;
    let mut revokes = Vec::new();
    for row in tx
        .query(GRANTED_OBJECTS, &[&username])
        .await
        .map_err(fail)?
    {
        let kind: String = row.try_get(0).map_err(fail)?;
        let object: String = row.try_get(1).map_err(fail)?;
        revokes.push(format!(
            "REVOKE ALL PRIVILEGES ON {kind} {object} FROM {role}"
        ));
    }
    revokes.push(format!(
        "REVOKE CONNECT ON DATABASE {} FROM {role}",
        quote_ident(&database)
    ));
    // Each revoke in its own savepoint: one that fails (an object the admin may not
    // touch) does not stop the others; DROP OWNED below revokes what is left.
    for revoke in &revokes {
        let savepoint = tx.savepoint("strongroom_revoke").await.map_err(fail)?;
        match savepoint.batch_execute(revoke).await {
            Ok(()) => savepoint.commit().await.map_err(fail)?,
            Err(e) => {
                tracing::debug!(error = %scrubber.scrub(&pg_error(&e)), "revoke failed; continuing");
                savepoint.rollback().await.map_err(fail)?;
            }
        }
    }
    for statement in [
        format!("REASSIGN OWNED BY {role} TO CURRENT_USER"),
        format!("DROP OWNED BY {role}"),
        format!("DROP ROLE IF EXISTS {role}"),
    ] {
        if let Err(e) = tx.batch_execute(&statement).await {
            let error = statement_error(&e, scrubber);
            if let Err(e) = tx.rollback().await {
                tracing::debug!(error = %scrubber.scrub(&pg_error(&e)), "rollback failed");
            }
            return Err(error);
        }
    }
    tx.commit().await.map_err(fail)
}

/// Terminates every backend of `username` except our own.
async fn terminate(
    client: &tokio_postgres::Client,
    username: &str,
) -> Result<(), tokio_postgres::Error> {
    client
        .query(
            "SELECT pg_catalog.pg_terminate_backend(pid) FROM pg_catalog.pg_stat_activity \
             WHERE usename = $1 AND pid <> pg_catalog.pg_backend_pid()",
            &[&username],
        )
        .await
        .map(drop)
}

/// A role name we can quote: non-empty, no NUL (PostgreSQL cannot store one).
fn check_role_name(username: &str) -> Result<(), DriverError> {
    if username.is_empty() || username.contains('\0') {
        return Err(DriverError::Invalid(
            "the role name is empty or contains a NUL character".to_string(),
        ));
    }
    Ok(())
}

/// `s` as a PostgreSQL identifier: double-quoted, inner double quotes doubled.
pub(super) fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

fn statement_error(e: &tokio_postgres::Error, scrubber: &Scrubber) -> DriverError {
    DriverError::Statement(scrubber.scrub(&pg_error(e)))
}

/// The server's message (and detail) with its SQLSTATE, or the client error chain.
fn pg_error(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut message = db.message().to_string();
            if let Some(detail) = db.detail() {
                message.push_str(": ");
                message.push_str(detail);
            }
            format!("{message} (SQLSTATE {})", db.code().code())
        }
        None => error_chain(e),
    }
}

fn pool_error(e: &PoolError) -> String {
    match e {
        PoolError::Timeout(TimeoutType::Wait) => format!(
            "no free connection in the pool within {}s",
            POOL_WAIT_TIMEOUT.as_secs()
        ),
        PoolError::Timeout(_) => format!("timed out after {}s", CONNECT_TIMEOUT.as_secs()),
        PoolError::Backend(e) => pg_error(e),
        PoolError::Closed => "the connection pool is closed".to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote_ident("v-tok-ro"), "\"v-tok-ro\"");
        assert_eq!(
            quote_ident("a\"; DROP TABLE x; --"),
            "\"a\"\"; DROP TABLE x; --\""
        );
        assert!(check_role_name("ok").is_ok());
        assert!(check_role_name("").is_err());
        assert!(check_role_name("a\0b").is_err());
    }

    #[test]
    fn only_privilege_changes_are_serialised() {
        let stmts = |s: &[&str]| -> Vec<Zeroizing<String>> {
            s.iter().map(|x| Zeroizing::new((*x).to_string())).collect()
        };
        assert!(!changes_privileges(&stmts(&[
            "CREATE ROLE \"v-x\" WITH LOGIN PASSWORD 'p' VALID UNTIL '2026-01-01';"
        ])));
        assert!(!changes_privileges(&stmts(&[
            "ALTER ROLE \"v\" VALID UNTIL 'x'"
        ])));
        assert!(changes_privileges(&stmts(&[
            "CREATE ROLE \"v\";",
            "grant select on all tables in schema public to \"v\";"
        ])));
        assert!(changes_privileges(&stmts(&["REASSIGN OWNED BY a TO b"])));
        assert!(changes_privileges(&stmts(&[
            "ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO x"
        ])));
        assert!(!transaction_prologue(false).contains("advisory"));
        assert!(transaction_prologue(true).contains("pg_advisory_xact_lock"));
    }
}
