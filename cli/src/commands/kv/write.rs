//! `kv put`, `kv patch`, `kv delete`, `kv undelete`, `kv destroy`, `kv metadata put`
//! and `kv metadata delete`.
//!
//! Data comes from [`crate::commands::data_args`] (so values can come from stdin or
//! files instead of argv). On KV v2, `put` and `patch` print the new version's metadata
//! (`--format json|yaml|env`: that metadata object); on v1, `put` prints a success line.

use std::collections::BTreeMap;

use anyhow::anyhow;
use strongroom_client::api::KvMetadataUpdate;
use strongroom_client::ClientError;

use super::read::v2_table;
use super::{
    Context, DeleteArgs, KvTarget, KvVersion, MetadataPutArgs, Outcome, PathArgs, PutArgs,
    UsageError, VersionsArgs,
};
use crate::commands::data_args;
use crate::output::{self, Format};

fn no_data() -> anyhow::Error {
    UsageError(
        "no data given: pass key=value arguments, key=- (value from stdin), key=@FILE, or a \
         single - (a JSON object on stdin)"
            .to_string(),
    )
    .into()
}

fn print_version(
    ctx: &Context,
    target: &KvTarget,
    meta: &strongroom_client::api::KvVersionMetadata,
) -> anyhow::Result<()> {
    let text = match ctx.format {
        Format::Table => v2_table(&target.api_path("data"), meta, None)?,
        other => output::machine(other, meta)?,
    };
    output::print(&text)
}

/// `kv put`
pub async fn put(ctx: &Context, args: PutArgs) -> anyhow::Result<Outcome> {
    let data = data_args::parse(&args.data)?;
    if data.is_empty() {
        return Err(no_data());
    }
    let target = KvTarget::resolve(&ctx.client, args.mount.as_deref(), &args.path).await?;
    target.require_secret()?;
    match target.version {
        KvVersion::V1 => {
            if args.cas.is_some() {
                target.require_v2("-cas")?;
            }
            ctx.client
                .kv1_write(&target.mount, &target.path, &data)
                .await?;
            output::print(&format!(
                "Success! Data written to: {}",
                target.api_path("")
            ))?;
        }
        KvVersion::V2 => {
            let meta = ctx
                .client
                .kv2_write(&target.mount, &target.path, &data, args.cas)
                .await?;
            print_version(ctx, &target, &meta)?;
        }
    }
    Ok(Outcome::Success)
}

/// `kv patch`
pub async fn patch(ctx: &Context, args: PutArgs) -> anyhow::Result<Outcome> {
    let data = data_args::parse(&args.data)?;
    if data.is_empty() {
        return Err(no_data());
    }
    let target = KvTarget::resolve(&ctx.client, args.mount.as_deref(), &args.path).await?;
    target.require_secret()?;
    target.require_v2("kv patch")?;
    let meta = match ctx
        .client
        .kv2_patch(&target.mount, &target.path, &data, args.cas)
        .await
    {
        Err(ClientError::Api { status: 404, .. }) => {
            return Err(anyhow!(
                "no secret to patch at {} (patch needs an existing, undeleted secret; use kv put)",
                target.api_path("data")
            ))
        }
        other => other?,
    };
    print_version(ctx, &target, &meta)?;
    Ok(Outcome::Success)
}

/// `kv delete`
pub async fn delete(ctx: &Context, args: DeleteArgs) -> anyhow::Result<Outcome> {
    let target = KvTarget::resolve(&ctx.client, args.mount.as_deref(), &args.path).await?;
    target.require_secret()?;
    let shown = match target.version {
        KvVersion::V1 => {
            if !args.versions.is_empty() {
                target.require_v2("-versions")?;
            }
            ctx.client.kv1_delete(&target.mount, &target.path).await?;
            target.api_path("")
        }
        KvVersion::V2 if args.versions.is_empty() => {
            ctx.client.kv2_delete(&target.mount, &target.path).await?;
            target.api_path("data")
        }
        KvVersion::V2 => {
            ctx.client
                .kv2_delete_versions(&target.mount, &target.path, &args.versions)
                .await?;
            target.api_path("delete")
        }
    };
    output::print(&format!(
        "Success! Data deleted (if it existed) at: {shown}"
    ))?;
    Ok(Outcome::Success)
}

/// `kv undelete`
pub async fn undelete(ctx: &Context, args: VersionsArgs) -> anyhow::Result<Outcome> {
    let target = KvTarget::resolve(&ctx.client, args.mount.as_deref(), &args.path).await?;
    target.require_secret()?;
    target.require_v2("kv undelete")?;
    ctx.client
        .kv2_undelete(&target.mount, &target.path, &args.versions)
        .await?;
    output::print(&format!(
        "Success! Data written to: {}",
        target.api_path("undelete")
    ))?;
    Ok(Outcome::Success)
}

/// `kv destroy`
pub async fn destroy(ctx: &Context, args: VersionsArgs) -> anyhow::Result<Outcome> {
    let target = KvTarget::resolve(&ctx.client, args.mount.as_deref(), &args.path).await?;
    target.require_secret()?;
    target.require_v2("kv destroy")?;
    ctx.client
        .kv2_destroy(&target.mount, &target.path, &args.versions)
        .await?;
    output::print(&format!(
        "Success! Data written to: {}",
        target.api_path("destroy")
    ))?;
    Ok(Outcome::Success)
}

/// Parses `-custom-metadata key=value` entries (errors name the entry, not its value).
pub fn custom_metadata(entries: &[String]) -> anyhow::Result<Option<BTreeMap<String, String>>> {
    if entries.is_empty() {
        return Ok(None);
    }
    let mut map = BTreeMap::new();
    for (i, entry) in entries.iter().enumerate() {
        match entry.split_once('=') {
            Some((k, v)) if !k.is_empty() => {
                map.insert(k.to_string(), v.to_string());
            }
            _ => {
                return Err(UsageError(format!(
                    "-custom-metadata entry {} is not of the form key=value",
                    i + 1
                ))
                .into())
            }
        }
    }
    Ok(Some(map))
}

/// `kv metadata put`
pub async fn metadata_put(ctx: &Context, args: MetadataPutArgs) -> anyhow::Result<Outcome> {
    let update = KvMetadataUpdate {
        max_versions: args.max_versions,
        cas_required: args.cas_required,
        delete_version_after: args.delete_version_after.clone(),
        custom_metadata: custom_metadata(&args.custom_metadata)?,
    };
    let target = KvTarget::resolve(&ctx.client, args.mount.as_deref(), &args.path).await?;
    target.require_v2("kv metadata put")?;
    target.require_secret()?;
    ctx.client
        .kv2_write_metadata(&target.mount, &target.path, &update)
        .await?;
    output::print(&format!(
        "Success! Data written to: {}",
        target.api_path("metadata")
    ))?;
    Ok(Outcome::Success)
}

/// `kv metadata delete`
pub async fn metadata_delete(ctx: &Context, args: PathArgs) -> anyhow::Result<Outcome> {
    let target = KvTarget::resolve(&ctx.client, args.mount.as_deref(), &args.path).await?;
    target.require_v2("kv metadata delete")?;
    target.require_secret()?;
    ctx.client
        .kv2_delete_metadata(&target.mount, &target.path)
        .await?;
    output::print(&format!(
        "Success! Data deleted (if it existed) at: {}",
        target.api_path("metadata")
    ))?;
    Ok(Outcome::Success)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn custom_metadata_entries() {
        assert_eq!(custom_metadata(&[]).unwrap(), None);
        let m = custom_metadata(&["owner=jdoe".into(), "x=a=b".into()])
            .unwrap()
            .unwrap();
        assert_eq!(m["owner"], "jdoe");
        assert_eq!(m["x"], "a=b");
        let err = custom_metadata(&["novalue".into()]).unwrap_err();
        assert!(err.downcast_ref::<UsageError>().is_some());
        assert!(!err.to_string().contains("novalue"));
    }
}
