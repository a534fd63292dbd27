//! `strongroom kv …`: the KV secrets engine, v1 and v2, with `bao kv`'s commands and
//! flags, plus recursive `export` and `import`.
//!
//! Every command first asks the server which mount serves the path
//! (`sys/internal/ui/mounts/…`, like `bao`): that gives the mount's path and KV version,
//! so `kv get secret/app` reads `secret/data/app` on a v2 mount and `secret/app` on a v1
//! mount. `-mount=secret app` names the mount explicitly. Commands that only exist on
//! KV v2 (patch, undelete, destroy, metadata) fail with a clear message on v1.
//!
//! Files: [`mod@read`] (get, list, metadata get), [`mod@write`] (put, patch, delete, undelete,
//! destroy, metadata put/delete), [`tree`] (walking a mount), [`export`], [`import`],
//! [`envfile`] (the `env` format), [`progress`], [`render`] (shared table pieces).

pub mod envfile;
pub mod export;
pub mod import;
pub mod progress;
pub mod read;
pub mod render;
pub mod tree;
pub mod write;

use std::path::PathBuf;

use anyhow::{anyhow, Context as _};
use clap::{Args, Subcommand};
use strongroom_client::Client;

use super::{Context, Outcome, UsageError};

/// `strongroom kv …`
#[derive(Debug, Subcommand)]
pub enum KvCommand {
    /// Read a secret (KV v2: the latest version, or -version=N), with its metadata.
    #[command(disable_version_flag = true)]
    Get(GetArgs),
    /// Write a secret, replacing all its fields (KV v2: as a new version).
    Put(PutArgs),
    /// Merge fields into the latest version of a KV v2 secret (JSON merge patch).
    Patch(PutArgs),
    /// List the secrets and folders under a path.
    List(PathArgs),
    /// Delete a secret (KV v2: soft-delete the latest version, or -versions=…).
    Delete(DeleteArgs),
    /// Restore soft-deleted versions of a KV v2 secret.
    Undelete(VersionsArgs),
    /// Erase versions of a KV v2 secret for good.
    Destroy(VersionsArgs),
    /// The metadata of KV v2 secrets: get, put (settings), delete (every version).
    #[command(subcommand)]
    Metadata(MetadataCommand),
    /// Write every secret under a path to stdout or a file (mode 0600), as JSON (default),
    /// YAML or env lines (--format).
    Export(ExportArgs),
    /// Write secrets from an export (JSON, YAML or env lines) under a path; refuses to
    /// overwrite existing secrets unless --force.
    Import(ImportArgs),
}

/// `kv metadata …`
#[derive(Debug, Subcommand)]
pub enum MetadataCommand {
    /// Show a KV v2 secret's settings and version history.
    Get(PathArgs),
    /// Change a KV v2 secret's settings (creates the metadata if needed).
    Put(MetadataPutArgs),
    /// Delete a KV v2 secret with all its versions and metadata.
    Delete(PathArgs),
}

/// `-mount` and a path.
#[derive(Debug, Args)]
pub struct PathArgs {
    /// The mount; PATH is then relative to it (default: found from PATH).
    #[arg(long, value_name = "MOUNT")]
    pub mount: Option<String>,
    /// The secret's path (`secret/app/db`, or `app/db` with -mount).
    pub path: String,
}

/// `kv get` flags.
#[derive(Debug, Args)]
pub struct GetArgs {
    /// The mount; PATH is then relative to it (default: found from PATH).
    #[arg(long, value_name = "MOUNT")]
    pub mount: Option<String>,
    /// KV v2: the version to read (default: the latest).
    #[arg(long)]
    pub version: Option<u64>,
    /// Print only this field's value, raw (no newline when stdout is not a terminal).
    #[arg(long, value_name = "NAME")]
    pub field: Option<String>,
    /// The secret's path.
    pub path: String,
}

/// `kv put` / `kv patch` flags and data.
#[derive(Debug, Args)]
pub struct PutArgs {
    /// The mount; PATH is then relative to it (default: found from PATH).
    #[arg(long, value_name = "MOUNT")]
    pub mount: Option<String>,
    /// KV v2 check-and-set: write only if the current version is N (0: only if the
    /// secret does not exist yet).
    #[arg(long, value_name = "N")]
    pub cas: Option<u64>,
    /// The secret's path.
    pub path: String,
    /// Fields: `key=value`, `key=@FILE`, `key=-` (hidden prompt or stdin), or a single
    /// `-` (a JSON object on stdin) or `@FILE.json`.
    #[arg(value_name = "DATA")]
    pub data: Vec<String>,
}

/// `kv delete` flags.
#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// The mount; PATH is then relative to it (default: found from PATH).
    #[arg(long, value_name = "MOUNT")]
    pub mount: Option<String>,
    /// KV v2: soft-delete these versions (comma-separated) instead of the latest.
    #[arg(long, value_delimiter = ',', value_name = "N,…")]
    pub versions: Vec<u64>,
    /// The secret's path.
    pub path: String,
}

/// `kv undelete` / `kv destroy` flags.
#[derive(Debug, Args)]
pub struct VersionsArgs {
    /// The mount; PATH is then relative to it (default: found from PATH).
    #[arg(long, value_name = "MOUNT")]
    pub mount: Option<String>,
    /// The versions (comma-separated).
    #[arg(long, value_delimiter = ',', required = true, value_name = "N,…")]
    pub versions: Vec<u64>,
    /// The secret's path.
    pub path: String,
}

/// `kv metadata put` flags.
#[derive(Debug, Args)]
pub struct MetadataPutArgs {
    /// The mount; PATH is then relative to it (default: found from PATH).
    #[arg(long, value_name = "MOUNT")]
    pub mount: Option<String>,
    /// Versions to keep (0: the mount's setting).
    #[arg(long, value_name = "N")]
    pub max_versions: Option<u64>,
    /// Require check-and-set on every write of this secret (`-cas-required`,
    /// `-cas-required=false`).
    #[arg(
        long,
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        value_name = "BOOL"
    )]
    pub cas_required: Option<bool>,
    /// Soft-delete new versions after this long (`30d`, `720h`, `0s` = never).
    #[arg(long, value_name = "DURATION")]
    pub delete_version_after: Option<String>,
    /// A custom metadata entry `key=value` (repeatable; replaces all entries).
    #[arg(long, value_name = "KEY=VALUE")]
    pub custom_metadata: Vec<String>,
    /// The secret's path.
    pub path: String,
}

/// `kv export` flags.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The mount; PATH is then relative to it (default: found from PATH).
    #[arg(long, value_name = "MOUNT")]
    pub mount: Option<String>,
    /// Write to FILE (created or truncated with mode 0600) instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// A secret, a folder or a whole mount (`secret/`).
    pub path: String,
}

/// `kv import` flags.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The mount; PATH is then relative to it (default: found from PATH).
    #[arg(long, value_name = "MOUNT")]
    pub mount: Option<String>,
    /// Show what would be written (paths and field names, never values); write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Overwrite secrets that already exist.
    #[arg(long)]
    pub force: bool,
    /// Where to write: the export's relative paths are put under it.
    pub path: String,
    /// The export to read (`-` or absent: stdin).
    #[arg(value_name = "FILE")]
    pub file: Option<String>,
}

/// Runs a `kv` subcommand.
pub async fn run(ctx: &Context, cmd: KvCommand) -> anyhow::Result<Outcome> {
    match cmd {
        KvCommand::Get(args) => read::get(ctx, args).await,
        KvCommand::List(args) => read::list(ctx, args).await,
        KvCommand::Put(args) => write::put(ctx, args).await,
        KvCommand::Patch(args) => write::patch(ctx, args).await,
        KvCommand::Delete(args) => write::delete(ctx, args).await,
        KvCommand::Undelete(args) => write::undelete(ctx, args).await,
        KvCommand::Destroy(args) => write::destroy(ctx, args).await,
        KvCommand::Metadata(MetadataCommand::Get(args)) => read::metadata_get(ctx, args).await,
        KvCommand::Metadata(MetadataCommand::Put(args)) => write::metadata_put(ctx, args).await,
        KvCommand::Metadata(MetadataCommand::Delete(args)) => {
            write::metadata_delete(ctx, args).await
        }
        KvCommand::Export(args) => export::run(ctx, args).await,
        KvCommand::Import(args) => import::run(ctx, args).await,
    }
}

/// The KV version of a mount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KvVersion {
    /// Unversioned: `<mount>/<path>`.
    V1,
    /// Versioned: `<mount>/data/<path>`, `<mount>/metadata/<path>`, ...
    V2,
}

/// A path resolved against the server's mount table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KvTarget {
    /// The mount's path with its trailing slash (`secret/`).
    pub mount: String,
    /// The path inside the mount, without a leading slash (`""` = the mount's root).
    pub path: String,
    /// The mount's KV version.
    pub version: KvVersion,
}

impl KvTarget {
    /// Asks the server which KV mount serves `path` (or `mount`, when given; `path` is
    /// then relative to it).
    pub async fn resolve(
        client: &Client,
        mount: Option<&str>,
        path: &str,
    ) -> anyhow::Result<KvTarget> {
        let path = path.trim_start_matches('/');
        let preflight = match mount {
            Some(m) => m.trim_matches('/'),
            None => path,
        };
        if preflight.is_empty() {
            return Err(UsageError("a path (or -mount) is required".to_string()).into());
        }
        let info = client
            .mount_info(preflight)
            .await
            .with_context(|| format!("looking up the mount of {preflight}"))?;
        let version = match info.kv_version() {
            Some(2) => KvVersion::V2,
            Some(_) => KvVersion::V1,
            None => {
                return Err(anyhow!(
                    "{} is a {} mount, not a KV mount",
                    info.path.as_deref().unwrap_or(preflight),
                    info.mount_type
                ))
            }
        };
        let mount_path = info
            .path
            .clone()
            .unwrap_or_else(|| format!("{}/", preflight.split('/').next().unwrap_or(preflight)));
        let rel = match mount {
            Some(_) => path,
            None => path
                .strip_prefix(mount_path.as_str())
                .or_else(|| path.strip_prefix(mount_path.trim_end_matches('/')))
                .unwrap_or(path),
        };
        Ok(KvTarget {
            mount: mount_path,
            path: rel.trim_start_matches('/').to_string(),
            version,
        })
    }

    /// The API path of `endpoint` (`data`, `metadata`, ...) for this secret: on KV v2
    /// `secret/data/app`, on KV v1 the secret's own path (`kv/app`).
    pub fn api_path(&self, endpoint: &str) -> String {
        match self.version {
            KvVersion::V2 => format!("{}{endpoint}/{}", self.mount, self.path),
            KvVersion::V1 => format!("{}{}", self.mount, self.path),
        }
    }

    /// The user-facing path (`secret/app`).
    pub fn logical(&self) -> String {
        format!("{}{}", self.mount, self.path)
    }

    /// Fails unless the mount is KV v2 (`what` = the command, for the message).
    pub fn require_v2(&self, what: &str) -> anyhow::Result<()> {
        match self.version {
            KvVersion::V2 => Ok(()),
            KvVersion::V1 => Err(anyhow!(
                "{what} is only supported on KV version 2 mounts; {} is KV version 1",
                self.mount
            )),
        }
    }

    /// Fails when the path names no secret (empty, or a folder ending in `/`).
    pub fn require_secret(&self) -> anyhow::Result<()> {
        if self.path.is_empty() || self.path.ends_with('/') {
            return Err(UsageError(format!(
                "{} is a folder; give the path of a secret",
                self.logical()
            ))
            .into());
        }
        Ok(())
    }
}
