//! Typed calls of the database secrets engine: dynamic and static credentials, static
//! and root rotation, and the connection/role CRUD needed to set a database up.
//!
//! Every call takes the engine's `mount` path (e.g. `"database"`); names are validated by
//! the server (an invalid one answers 400, which is returned as [`ClientError::Api`]).

use reqwest::Method;
use serde_json::Value;

use super::{data_of, keys_of, list_method};
use crate::api::{
    DatabaseConfigRequest, DatabaseCredentialData, DatabaseCredentials, DatabaseRole,
    DatabaseStaticRole, DatabaseStaticRoleInfo, Envelope, StaticCredentials,
};
use crate::{Client, ClientError};

fn at(mount: &str, rest: &str) -> String {
    format!("{}/{rest}", mount.trim_matches('/'))
}

impl Client {
    /// `GET <mount>/creds/<role>`: new dynamic credentials and their lease. Keep the
    /// lease alive with a [`LeaseKeeper`](crate::LeaseKeeper), or revoke it with
    /// [`Client::revoke_lease`] when done (that drops the database account).
    pub async fn database_creds(
        &self,
        mount: &str,
        role: &str,
    ) -> Result<DatabaseCredentials, ClientError> {
        let env: Envelope<DatabaseCredentialData> = self
            .call_some::<(), _>(Method::GET, &at(mount, &format!("creds/{role}")), None)
            .await?;
        let data = env
            .data
            .ok_or_else(|| ClientError::Decode("credentials without data".into()))?;
        Ok(DatabaseCredentials {
            username: data.username,
            password: data.password,
            lease_id: env.lease_id,
            lease_duration: env.lease_duration,
            renewable: env.renewable,
        })
    }

    /// `GET <mount>/static-creds/<role>`: the current password of a static role (no
    /// lease; `ttl` says when the server rotates it next).
    pub async fn database_static_creds(
        &self,
        mount: &str,
        role: &str,
    ) -> Result<StaticCredentials, ClientError> {
        let env: Envelope<StaticCredentials> = self
            .call_some::<(), _>(
                Method::GET,
                &at(mount, &format!("static-creds/{role}")),
                None,
            )
            .await?;
        data_of(env, "static credentials")
    }

    /// `POST <mount>/rotate-role/<role>`: rotates a static role's password now.
    pub async fn database_rotate_static_role(
        &self,
        mount: &str,
        role: &str,
    ) -> Result<(), ClientError> {
        self.call_unit::<()>(
            Method::POST,
            &at(mount, &format!("rotate-role/{role}")),
            None,
        )
        .await
    }

    /// `POST <mount>/rotate-root/<connection>`: changes the admin password of a
    /// connection to one only the server knows.
    pub async fn database_rotate_root(
        &self,
        mount: &str,
        connection: &str,
    ) -> Result<(), ClientError> {
        self.call_unit::<()>(
            Method::POST,
            &at(mount, &format!("rotate-root/{connection}")),
            None,
        )
        .await
    }

    /// `POST <mount>/config/<name>`: creates or replaces a connection (the server
    /// connects once to verify it unless `verify_connection` is `Some(false)`).
    pub async fn database_write_config(
        &self,
        mount: &str,
        name: &str,
        config: &DatabaseConfigRequest,
    ) -> Result<(), ClientError> {
        self.call_unit(
            Method::POST,
            &at(mount, &format!("config/{name}")),
            Some(config),
        )
        .await
    }

    /// `GET <mount>/config/<name>`: the connection's settings (never its password), as
    /// the server's JSON `data`; `None` when there is no such connection.
    pub async fn database_read_config(
        &self,
        mount: &str,
        name: &str,
    ) -> Result<Option<Value>, ClientError> {
        let path = at(mount, &format!("config/{name}"));
        match self
            .call::<(), Envelope<Value>>(Method::GET, &path, None)
            .await
        {
            Ok(env) => Ok(env.and_then(|e| e.data)),
            Err(ClientError::Api { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `DELETE <mount>/config/<name>`: removes a connection.
    pub async fn database_delete_config(&self, mount: &str, name: &str) -> Result<(), ClientError> {
        self.call_unit::<()>(Method::DELETE, &at(mount, &format!("config/{name}")), None)
            .await
    }

    /// `POST <mount>/roles/<name>`: creates or updates a dynamic role (empty statement
    /// lists are left out, so an update keeps the role's existing ones).
    pub async fn database_write_role(
        &self,
        mount: &str,
        name: &str,
        role: &DatabaseRole,
    ) -> Result<(), ClientError> {
        self.call_unit(
            Method::POST,
            &at(mount, &format!("roles/{name}")),
            Some(role),
        )
        .await
    }

    /// `GET <mount>/roles/<name>`: a dynamic role, `None` when there is none.
    pub async fn database_read_role(
        &self,
        mount: &str,
        name: &str,
    ) -> Result<Option<DatabaseRole>, ClientError> {
        let path = at(mount, &format!("roles/{name}"));
        match self
            .call::<(), Envelope<DatabaseRole>>(Method::GET, &path, None)
            .await
        {
            Ok(env) => Ok(env.and_then(|e| e.data)),
            Err(ClientError::Api { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `LIST <mount>/roles`: the dynamic roles' names (empty when there are none).
    pub async fn database_list_roles(&self, mount: &str) -> Result<Vec<String>, ClientError> {
        list_keys(self, &at(mount, "roles/")).await
    }

    /// `DELETE <mount>/roles/<name>`: removes a dynamic role (leases already issued
    /// keep working until they end).
    pub async fn database_delete_role(&self, mount: &str, name: &str) -> Result<(), ClientError> {
        self.call_unit::<()>(Method::DELETE, &at(mount, &format!("roles/{name}")), None)
            .await
    }

    /// `POST <mount>/static-roles/<name>`: creates or updates a static role. Creating
    /// one rotates the user's password at once.
    pub async fn database_write_static_role(
        &self,
        mount: &str,
        name: &str,
        role: &DatabaseStaticRole,
    ) -> Result<(), ClientError> {
        self.call_unit(
            Method::POST,
            &at(mount, &format!("static-roles/{name}")),
            Some(role),
        )
        .await
    }

    /// `GET <mount>/static-roles/<name>`: a static role (no password), `None` when there
    /// is none.
    pub async fn database_read_static_role(
        &self,
        mount: &str,
        name: &str,
    ) -> Result<Option<DatabaseStaticRoleInfo>, ClientError> {
        let path = at(mount, &format!("static-roles/{name}"));
        match self
            .call::<(), Envelope<DatabaseStaticRoleInfo>>(Method::GET, &path, None)
            .await
        {
            Ok(env) => Ok(env.and_then(|e| e.data)),
            Err(ClientError::Api { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `LIST <mount>/static-roles`: the static roles' names.
    pub async fn database_list_static_roles(
        &self,
        mount: &str,
    ) -> Result<Vec<String>, ClientError> {
        list_keys(self, &at(mount, "static-roles/")).await
    }

    /// `DELETE <mount>/static-roles/<name>`: removes a static role (the database user
    /// is left alone).
    pub async fn database_delete_static_role(
        &self,
        mount: &str,
        name: &str,
    ) -> Result<(), ClientError> {
        self.call_unit::<()>(
            Method::DELETE,
            &at(mount, &format!("static-roles/{name}")),
            None,
        )
        .await
    }
}

/// `LIST <path>` → its `keys`; a 404 (nothing there) is an empty list.
async fn list_keys(client: &Client, path: &str) -> Result<Vec<String>, ClientError> {
    keys_of(client.call::<(), _>(list_method()?, path, None).await)
}
