//! Walking and reading/writing a KV mount without caring about its version, for
//! `kv export` and `kv import`.
//!
//! [`walk`] lists a folder recursively (LIST, breadth first) and returns the candidate
//! secret paths, relative to the mount, sorted. A folder that cannot be listed fails the
//! walk: a partial export that looks complete would be worse than none.

use std::collections::VecDeque;

use indicatif::ProgressBar;
use serde_json::{Map, Value};
use strongroom_client::Client;

use super::{KvTarget, KvVersion};

/// The candidate secrets under `target`: its own path (when it can name a secret) and
/// every key found by listing `target.path/` recursively; paths relative to the mount.
pub async fn walk(
    client: &Client,
    target: &KvTarget,
    progress: &ProgressBar,
) -> anyhow::Result<Vec<String>> {
    let mut found = Vec::new();
    let root = target.path.as_str();
    if !root.is_empty() && !root.ends_with('/') {
        found.push(root.to_string());
    }
    let first = folder_of(root);
    let mut queue = VecDeque::from([first]);
    while let Some(folder) = queue.pop_front() {
        progress.set_message(format!("Listing {}{folder}", target.mount));
        let keys = match target.version {
            KvVersion::V1 => client.kv1_list(&target.mount, &folder).await?,
            KvVersion::V2 => client.kv2_list(&target.mount, &folder).await?,
        };
        for key in keys {
            let path = format!("{folder}{key}");
            if key.ends_with('/') {
                queue.push_back(path);
            } else {
                found.push(path);
            }
        }
    }
    found.sort();
    found.dedup();
    Ok(found)
}

/// `root` as a folder prefix: `""` stays `""`, `app` and `app/` become `app/`.
pub fn folder_of(root: &str) -> String {
    let trimmed = root.trim_end_matches('/');
    if trimmed.is_empty() {
        String::new()
    } else {
        format!("{trimmed}/")
    }
}

/// The path of `path` relative to `root` as export keys use it: `""` for `root`
/// itself, else the part below `root/`.
pub fn relative(root: &str, path: &str) -> String {
    if path == root.trim_end_matches('/') {
        return String::new();
    }
    let folder = folder_of(root);
    path.strip_prefix(folder.as_str())
        .unwrap_or(path)
        .to_string()
}

/// Where an export key `rel` lands under `root` (the inverse of [`relative`]).
pub fn destination(root: &str, rel: &str) -> String {
    if rel.is_empty() {
        root.trim_end_matches('/').to_string()
    } else {
        format!("{}{rel}", folder_of(root))
    }
}

/// The fields of the secret at `path` (the latest version on KV v2); `None` when there
/// is none, or its latest version is deleted or destroyed.
pub async fn read_fields(
    client: &Client,
    target: &KvTarget,
    path: &str,
) -> anyhow::Result<Option<Map<String, Value>>> {
    Ok(match target.version {
        KvVersion::V1 => client
            .kv1_read(&target.mount, path)
            .await?
            .and_then(|s| s.data),
        KvVersion::V2 => client
            .kv2_read(&target.mount, path, None)
            .await?
            .and_then(|e| e.data)
            .and_then(|s| s.data),
    })
}

/// The state of the secret at `path`: `None` when there is none, else its current
/// version (always 0 on KV v1). A KV v2 key with metadata but no version yet counts as
/// absent: writing it loses nothing.
pub async fn current_version(
    client: &Client,
    target: &KvTarget,
    path: &str,
) -> anyhow::Result<Option<u64>> {
    Ok(match target.version {
        KvVersion::V1 => client.kv1_read(&target.mount, path).await?.map(|_| 0),
        KvVersion::V2 => client
            .kv2_read_metadata(&target.mount, path)
            .await?
            .map(|m| m.current_version)
            .filter(|v| *v > 0),
    })
}

/// Writes `data` at `path`. On KV v2 the write carries `cas` = the version seen by
/// [`current_version`] (0 when there was none), so a secret created or changed since
/// that check is not overwritten — and keys that require check-and-set can be written.
pub async fn write_fields(
    client: &Client,
    target: &KvTarget,
    path: &str,
    data: &Map<String, Value>,
    seen: Option<u64>,
) -> anyhow::Result<()> {
    match target.version {
        KvVersion::V1 => client.kv1_write(&target.mount, path, data).await?,
        KvVersion::V2 => {
            client
                .kv2_write(&target.mount, path, data, Some(seen.unwrap_or(0)))
                .await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_and_destination_are_inverse() {
        for (root, path, rel) in [
            ("", "a/b", "a/b"),
            ("app", "app", ""),
            ("app", "app/db", "db"),
            ("app/", "app/x/y", "x/y"),
        ] {
            assert_eq!(relative(root, path), rel, "{root} {path}");
            if !(root.is_empty() && rel.is_empty()) {
                assert_eq!(destination(root, rel), path.trim_end_matches('/'));
            }
        }
        assert_eq!(destination("other/app", "db"), "other/app/db");
        assert_eq!(folder_of("a//"), "a/");
    }
}
