//! Automatic key rotation: keys with an `auto_rotate_period` get a new version once their
//! latest version is that old.
//!
//! Where it sits: the server's rotation loop calls the core about once a minute, which
//! calls [`rotate_due_keys`] for each transit mount. Reading the keys goes through the
//! cache (no decoding for cached keys); a due key is rotated under its item lock, with
//! the check repeated on the stored key, so a rotation by hand (or by a second pass) in
//! the meantime is never followed by a second one.

use time::OffsetDateTime;

use super::cache::KeyCache;
use super::error::TransitError;
use super::key::Key;
use crate::barrier::StorageView;

/// Whether `key` is due for rotation at `now`.
fn is_due(key: &Key, now: OffsetDateTime) -> bool {
    if key.auto_rotate_period == 0 {
        return false;
    }
    let Some(latest) = key.versions.get(&key.latest_version) else {
        return false;
    };
    let period = time::Duration::seconds(i64::try_from(key.auto_rotate_period).unwrap_or(i64::MAX));
    latest.created().saturating_add(period) <= now
}

/// Rotates every key of the mount whose latest version is older than its
/// `auto_rotate_period`. Returns how many were rotated; one key that fails is logged and
/// does not stop the others.
pub async fn rotate_due_keys(
    cache: &KeyCache,
    view: &StorageView,
    now: OffsetDateTime,
) -> Result<usize, TransitError> {
    let mut rotated = 0;
    for name in view.list("policy/").await? {
        if name.ends_with('/') {
            continue;
        }
        match rotate_if_due(cache, view, &name, now).await {
            Ok(true) => rotated += 1,
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(mount = %view.prefix(), key = %name, error = %e, "transit key auto-rotation failed");
            }
        }
    }
    Ok(rotated)
}

async fn rotate_if_due(
    cache: &KeyCache,
    view: &StorageView,
    name: &str,
    now: OffsetDateTime,
) -> Result<bool, TransitError> {
    match cache.load(view, name).await? {
        Some(key) if is_due(&key, now) => {}
        _ => return Ok(false),
    }
    let locked = cache.lock(view, name).await;
    let Some(mut key) = locked.read_for_update().await? else {
        return Ok(false);
    };
    if !is_due(&key, now) {
        return Ok(false);
    }
    key.rotate()?;
    let key = locked.store(key).await?;
    tracing::info!(mount = %view.prefix(), key = %name, version = key.latest_version, "transit key rotated automatically");
    Ok(true)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::core::request::Operation;
    use crate::engines::transit::tests::call;
    use crate::engines::MountContext;

    #[tokio::test]
    async fn keys_rotate_once_their_period_has_passed() {
        let ctx = MountContext::for_test("logical/t/", "transit/", "transit_1").await;
        let cache = KeyCache::new();
        call(
            &ctx,
            &cache,
            Operation::Update,
            "keys/auto",
            json!({"auto_rotate_period": "1h"}),
        )
        .await
        .unwrap();
        call(&ctx, &cache, Operation::Update, "keys/manual", json!({}))
            .await
            .unwrap();

        let now = OffsetDateTime::now_utc();
        assert_eq!(rotate_due_keys(&cache, &ctx.view, now).await.unwrap(), 0);
        let later = now + time::Duration::minutes(61);
        assert_eq!(rotate_due_keys(&cache, &ctx.view, later).await.unwrap(), 1);
        // The new version is fresh: a pass now does not rotate it again.
        let now = OffsetDateTime::now_utc();
        assert_eq!(rotate_due_keys(&cache, &ctx.view, now).await.unwrap(), 0);

        let auto = call(&ctx, &cache, Operation::Read, "keys/auto", json!({}))
            .await
            .unwrap();
        assert_eq!(auto.data.unwrap()["latest_version"], 2);
        let manual = call(&ctx, &cache, Operation::Read, "keys/manual", json!({}))
            .await
            .unwrap();
        assert_eq!(manual.data.unwrap()["latest_version"], 1);
    }
}
