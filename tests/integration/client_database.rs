//! The client's database calls against a real server and the real local PostgreSQL:
//! connection and role CRUD, dynamic credentials that log in and are dropped on
//! revocation, static credentials and their rotation, and root rotation.
//!
//! The PostgreSQL helpers are in [`crate::pg`].
//! Skipped (with a message) without `STRONGROOM_TEST_POSTGRES_URL`, except under CI.

use strongroom_client::api::{DatabaseRole, DatabaseStaticRole};
use strongroom_client::ClientError;

use crate::pg::{pg_admin, pg_config, pg_login, pg_role, pg_role_exists, pg_server, unique};

/// Whether `user` logs in with `password` and can run a query.
async fn can_log_in(cfg: &tokio_postgres::Config, user: &str, password: &str) -> bool {
    match pg_login(cfg, user, password).await {
        Ok(client) => client.simple_query("SELECT 1").await.is_ok(),
        Err(_) => false,
    }
}

/// The stored password hash of role `user` (`None` when it has none).
async fn rolpassword(admin: &tokio_postgres::Client, user: &str) -> Option<String> {
    admin
        .query_one(
            "SELECT rolpassword FROM pg_authid WHERE rolname = $1",
            &[&user],
        )
        .await
        .expect("pg_authid")
        .get(0)
}

fn api_status(err: &ClientError) -> u16 {
    err.status()
        .unwrap_or_else(|| panic!("not an API error: {err}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_database_connection_and_role_crud_and_dynamic_creds() {
    let Some((s, root, cfg)) = pg_server().await else {
        return;
    };
    let client = s.client_with(&root);
    let admin = pg_admin(&cfg).await;

    // The connection reads back without its password.
    let config = client
        .database_read_config("database", "pg")
        .await
        .unwrap()
        .expect("config exists");
    assert_eq!(config["plugin_name"], "postgresql-database-plugin");
    assert!(
        !config.to_string().contains("unused-with-trust"),
        "{config}"
    );
    assert!(client
        .database_read_config("database", "nope")
        .await
        .unwrap()
        .is_none());

    // Role CRUD.
    assert!(client
        .database_list_roles("database")
        .await
        .unwrap()
        .is_empty());
    let role = pg_role(3600, 7200);
    client
        .database_write_role("database", "app", &role)
        .await
        .unwrap();
    let read = client
        .database_read_role("database", "app")
        .await
        .unwrap()
        .expect("role exists");
    assert_eq!(read, role);
    assert_eq!(
        client.database_list_roles("database").await.unwrap(),
        vec!["app".to_string()]
    );
    // Bad input comes back as the server's 400 with its message.
    let err = client
        .database_write_role("database", "bad", &DatabaseRole::default())
        .await
        .unwrap_err();
    assert_eq!(api_status(&err), 400);
    assert!(
        err.to_string().contains("database name is required"),
        "{err}"
    );

    // Dynamic credentials: a real account, a renewable lease, a redacted password.
    let creds = client.database_creds("database", "app").await.unwrap();
    assert!(
        creds.lease_id.starts_with("database/creds/app/"),
        "{}",
        creds.lease_id
    );
    assert_eq!(creds.lease_duration, 3600);
    assert!(creds.renewable);
    assert_eq!(creds.password.expose().len(), 20);
    assert!(!format!("{creds:?}").contains(creds.password.expose()));
    assert!(pg_role_exists(&admin, &creds.username).await);
    assert!(can_log_in(&cfg, &creds.username, creds.password.expose()).await);
    let renewed = client.renew_lease(&creds.lease_id, Some(60)).await.unwrap();
    assert_eq!(renewed.lease_duration, 60);
    client.revoke_lease(&creds.lease_id).await.unwrap();
    assert!(!pg_role_exists(&admin, &creds.username).await);

    // Unknown role: the server's words.
    let err = client.database_creds("database", "nope").await.unwrap_err();
    assert_eq!(api_status(&err), 400);
    assert!(err.to_string().contains("unknown role"), "{err}");

    client
        .database_delete_role("database", "app")
        .await
        .unwrap();
    assert!(client
        .database_read_role("database", "app")
        .await
        .unwrap()
        .is_none());
    assert!(client
        .database_list_roles("database")
        .await
        .unwrap()
        .is_empty());
    client
        .database_delete_config("database", "pg")
        .await
        .unwrap();
    assert!(client
        .database_read_config("database", "pg")
        .await
        .unwrap()
        .is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_database_static_creds_and_rotation() {
    let Some((s, root, cfg)) = pg_server().await else {
        return;
    };
    let client = s.client_with(&root);
    let admin = pg_admin(&cfg).await;
    let user = unique("st");
    admin
        .batch_execute(&format!(
            "CREATE ROLE \"{user}\" WITH LOGIN PASSWORD 'initial'"
        ))
        .await
        .unwrap();

    let role = DatabaseStaticRole {
        db_name: "pg".into(),
        username: user.clone(),
        rotation_period: Some(3600),
        ..Default::default()
    };
    client
        .database_write_static_role("database", "st", &role)
        .await
        .unwrap();
    assert_eq!(
        client.database_list_static_roles("database").await.unwrap(),
        vec!["st".to_string()]
    );
    let info = client
        .database_read_static_role("database", "st")
        .await
        .unwrap()
        .expect("static role");
    assert_eq!(info.username, user);
    assert_eq!(info.rotation_period, Some(3600));
    assert!(info.last_vault_rotation.ends_with('Z'), "{info:?}");

    let first = client
        .database_static_creds("database", "st")
        .await
        .unwrap();
    assert_eq!(first.username, user);
    assert_eq!(first.password.expose().len(), 20);
    assert_ne!(first.password.expose(), "initial");
    assert_eq!(first.rotation_period, Some(3600));
    assert!(first.ttl > 3500 && first.ttl <= 3600, "{}", first.ttl);
    assert!(!format!("{first:?}").contains(first.password.expose()));
    assert!(can_log_in(&cfg, &user, first.password.expose()).await);

    // Rotate now: a new password that works.
    client
        .database_rotate_static_role("database", "st")
        .await
        .unwrap();
    let second = client
        .database_static_creds("database", "st")
        .await
        .unwrap();
    assert_ne!(second.password.expose(), first.password.expose());
    assert!(can_log_in(&cfg, &user, second.password.expose()).await);
    let err = client
        .database_rotate_static_role("database", "nope")
        .await
        .unwrap_err();
    assert!(matches!(api_status(&err), 400 | 404), "{err}");

    client
        .database_delete_static_role("database", "st")
        .await
        .unwrap();
    assert!(client
        .database_read_static_role("database", "st")
        .await
        .unwrap()
        .is_none());
    // The database user is left alone.
    assert!(pg_role_exists(&admin, &user).await);
    admin
        .batch_execute(&format!("DROP ROLE \"{user}\""))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_database_rotate_root_changes_the_admin_password() {
    let Some((s, root, cfg)) = pg_server().await else {
        return;
    };
    let client = s.client_with(&root);
    let admin = pg_admin(&cfg).await;
    // A dedicated admin, so the shared superuser's password is never touched.
    let user = unique("adm");
    admin
        .batch_execute(&format!(
            "CREATE ROLE \"{user}\" WITH LOGIN CREATEROLE PASSWORD 'before-rotation'"
        ))
        .await
        .unwrap();
    let before = rolpassword(&admin, &user).await;
    client
        .database_write_config("database", "rot", &pg_config(&cfg, &user))
        .await
        .unwrap();
    client
        .database_rotate_root("database", "rot")
        .await
        .unwrap();
    let after = rolpassword(&admin, &user).await;
    assert!(before.is_some() && after.is_some());
    assert_ne!(before, after, "rotate-root changed the admin password");
    // The connection still works with the password only the server knows.
    client
        .database_write_role(
            "database",
            "via-rot",
            &DatabaseRole {
                db_name: "rot".into(),
                // A CREATEROLE admin may drop the roles it created, not reassign objects.
                revocation_statements: vec!["DROP ROLE IF EXISTS \"{{name}}\";".into()],
                ..pg_role(60, 120)
            },
        )
        .await
        .unwrap();
    let creds = client.database_creds("database", "via-rot").await.unwrap();
    assert!(pg_role_exists(&admin, &creds.username).await);
    client.revoke_lease(&creds.lease_id).await.unwrap();
    assert!(!pg_role_exists(&admin, &creds.username).await);
    client
        .database_delete_config("database", "rot")
        .await
        .unwrap();
    admin
        .batch_execute(&format!("DROP ROLE \"{user}\""))
        .await
        .unwrap();
}
