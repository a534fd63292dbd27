//! Per-mount storage views: a prefix of the barrier that a mount cannot step out of.
//!
//! Where it sits: `mount → barrier`. Each engine gets a [`StorageView`] in its
//! `MountContext` and addresses its own storage with keys relative to the view's prefix
//! (e.g. `logical/<uuid>/`); the view prepends the prefix and calls the [`Barrier`], which
//! encrypts with the full physical key as AAD.
//!
//! Invariants:
//! - Every relative key is checked before it is joined: non-empty, no leading `/`, no empty
//!   segment (`a//b`, trailing `/`), no `.` or `..` segment, no control character (NUL
//!   included). Joining a checked key to a checked prefix therefore always yields a key
//!   strictly under the prefix: a view cannot address anything outside it.
//! - A view's prefix is non-empty, made of checked segments and ends in `/`; it never lies
//!   inside the barrier's reserved records (`core/seal/`, `core/keyring`).
//! - `list` returns names relative to the listed folder, as the backend does; `scan`
//!   returns full keys relative to the view (so one can be fed back as the cursor).
//! - The same segment rules apply to every key the [`Barrier`] itself accepts.

use std::fmt;
use std::sync::Arc;

use zeroize::Zeroizing;

use super::{is_reserved, Barrier, BarrierError, BarrierOp, PlainOp};
use crate::storage::MAX_KEY_LEN;

/// Checks a key (relative or physical) segment by segment; see the module invariants.
pub(crate) fn validate_key(key: &str) -> Result<(), BarrierError> {
    if key.is_empty() {
        return Err(BarrierError::InvalidKey("empty key".into()));
    }
    if key.len() > MAX_KEY_LEN {
        return Err(BarrierError::InvalidKey(format!(
            "key longer than {MAX_KEY_LEN} bytes"
        )));
    }
    if key.starts_with('/') {
        return Err(BarrierError::InvalidKey("key starts with '/'".into()));
    }
    // One pass over the bytes (this runs several times per request): control
    // characters as in `encoding::has_control_char`, and the segment rules.
    let bytes = key.as_bytes();
    let mut segment_start = 0;
    let mut prev = 0u8;
    for (i, &b) in bytes.iter().enumerate() {
        if crate::encoding::is_control_byte(prev, b) {
            return Err(BarrierError::InvalidKey(
                "key contains a control character".into(),
            ));
        }
        if b == b'/' {
            check_segment(&bytes[segment_start..i])?;
            segment_start = i + 1;
        }
        prev = b;
    }
    check_segment(&bytes[segment_start..])
}

fn check_segment(segment: &[u8]) -> Result<(), BarrierError> {
    match segment {
        b"" => Err(BarrierError::InvalidKey("key has an empty segment".into())),
        b"." | b".." => Err(BarrierError::InvalidKey(
            "key has a '.' or '..' segment".into(),
        )),
        _ => Ok(()),
    }
}

/// Checks a folder for `list`: empty (the top) or checked segments followed by `/`.
pub(crate) fn validate_folder(folder: &str) -> Result<(), BarrierError> {
    if folder.is_empty() {
        return Ok(());
    }
    match folder.strip_suffix('/') {
        Some(inner) => validate_key(inner),
        None => Err(BarrierError::InvalidKey(
            "a list prefix must be empty or end with '/'".into(),
        )),
    }
}

/// Checks a scan cursor: empty (from the start) or a string the store accepts as a key
/// bound (no NUL, not too long). It need not be an existing key.
pub(crate) fn validate_after(after: &str) -> Result<(), BarrierError> {
    if after.len() > MAX_KEY_LEN {
        return Err(BarrierError::InvalidKey(format!(
            "scan cursor longer than {MAX_KEY_LEN} bytes"
        )));
    }
    if after.contains('\0') {
        return Err(BarrierError::InvalidKey(
            "scan cursor contains a NUL byte".into(),
        ));
    }
    Ok(())
}

/// Turns `prefix` (with or without its trailing `/`) into a checked, non-empty folder.
fn normalize_prefix(prefix: &str) -> Result<String, BarrierError> {
    let inner = prefix.strip_suffix('/').unwrap_or(prefix);
    if inner.is_empty() {
        return Err(BarrierError::InvalidKey("empty view prefix".into()));
    }
    validate_key(inner)?;
    let folder = format!("{inner}/");
    if is_reserved(inner) || is_reserved(&folder) {
        return Err(BarrierError::Reserved(folder));
    }
    Ok(folder)
}

/// The part of the barrier under one prefix, addressed with relative keys.
#[derive(Clone)]
pub struct StorageView {
    barrier: Arc<Barrier>,
    prefix: String,
}

impl StorageView {
    /// A view of `barrier` under `prefix` (a trailing `/` is added if missing).
    pub(crate) fn new(barrier: Arc<Barrier>, prefix: &str) -> Result<StorageView, BarrierError> {
        Ok(StorageView {
            barrier,
            prefix: normalize_prefix(prefix)?,
        })
    }

    /// The physical prefix, ending in `/`.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// A narrower view under `rel_prefix` (relative to this view).
    pub fn sub_view(&self, rel_prefix: &str) -> Result<StorageView, BarrierError> {
        let inner = rel_prefix.strip_suffix('/').unwrap_or(rel_prefix);
        validate_key(inner)?;
        StorageView::new(
            Arc::clone(&self.barrier),
            &format!("{}{inner}", self.prefix),
        )
    }

    fn full_key(&self, rel: &str) -> Result<String, BarrierError> {
        validate_key(rel)?;
        Ok(format!("{}{rel}", self.prefix))
    }

    /// Reads and decrypts `rel`.
    pub async fn get(&self, rel: &str) -> Result<Option<Zeroizing<Vec<u8>>>, BarrierError> {
        let key = self.full_key(rel)?;
        // A checked relative key under a checked prefix is a checked key.
        self.barrier.get_checked(&key).await
    }

    /// Encrypts and writes `value` at `rel`.
    pub async fn put(&self, rel: &str, value: &[u8]) -> Result<(), BarrierError> {
        let key = self.full_key(rel)?;
        self.barrier.put(&key, value).await
    }

    /// Deletes `rel` (absent is fine).
    pub async fn delete(&self, rel: &str) -> Result<(), BarrierError> {
        let key = self.full_key(rel)?;
        self.barrier.delete(&key).await
    }

    /// Immediate children of the relative folder `rel_folder` (`""` for the view's top, else
    /// ending in `/`), sorted, folders suffixed by `/`, relative to that folder.
    pub async fn list(&self, rel_folder: &str) -> Result<Vec<String>, BarrierError> {
        validate_folder(rel_folder)?;
        self.barrier
            .list(&format!("{}{rel_folder}", self.prefix))
            .await
    }

    /// Keys under the relative folder `rel_prefix` (`""` for the whole view, else ending in
    /// `/`), recursively, strictly after `after_rel` (a key relative to the view; `""` =
    /// from the start), ascending, at most `limit`: [`Barrier::scan`] inside the view.
    /// The keys returned are relative to the view (not to `rel_prefix`).
    pub async fn scan(
        &self,
        rel_prefix: &str,
        after_rel: &str,
        limit: usize,
    ) -> Result<Vec<String>, BarrierError> {
        validate_folder(rel_prefix)?;
        validate_after(after_rel)?;
        let after = if after_rel.is_empty() {
            String::new()
        } else {
            format!("{}{after_rel}", self.prefix)
        };
        let keys = self
            .barrier
            .scan(&format!("{}{rel_prefix}", self.prefix), &after, limit)
            .await?;
        Ok(keys
            .into_iter()
            .filter_map(|k| k.strip_prefix(self.prefix.as_str()).map(str::to_owned))
            .collect())
    }

    /// Applies operations with relative keys atomically (plaintext zeroized as in
    /// [`Barrier::write_batch`]).
    pub async fn write_batch(&self, ops: Vec<BarrierOp>) -> Result<(), BarrierError> {
        let mut ops: Vec<PlainOp> = ops.into_iter().map(PlainOp::from).collect();
        for op in &mut ops {
            op.key = self.full_key(&op.key)?;
        }
        self.barrier.write_plain(ops).await
    }
}

impl fmt::Debug for StorageView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StorageView")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::barrier::testing::unsealed_barrier;
    use crate::storage::Backend;

    const BAD_KEYS: &[&str] = &[
        "",
        "/",
        "/abs",
        "..",
        ".",
        "../x",
        "a/../../b",
        "a/./b",
        "a/..",
        "a//b",
        "a/",
        "//",
        "a\0b",
        "a\nb",
        "a\rb",
        "a\tb",
        "\u{1b}[31m",
        "a\u{7f}",
        "a\u{85}b",
    ];

    #[test]
    fn key_rules() {
        for bad in BAD_KEYS {
            assert!(
                matches!(validate_key(bad), Err(BarrierError::InvalidKey(_))),
                "{bad:?}"
            );
        }
        for good in [
            "a",
            "a/b",
            "a.b",
            "..a",
            "a..",
            ".hidden",
            "a b/c-d_e",
            "ключ/値",
            "a\u{a0}b",
            "\u{100}\u{c280}",
        ] {
            validate_key(good).unwrap();
        }
        // The byte-level control check agrees with `char::is_control` everywhere.
        for c in (0u32..0x3000).filter_map(char::from_u32) {
            let key = format!("k{c}x");
            assert_eq!(validate_key(&key).is_err(), c.is_control(), "{c:?}");
        }
        assert!(validate_key(&"a".repeat(MAX_KEY_LEN + 1)).is_err());
        validate_folder("").unwrap();
        validate_folder("a/b/").unwrap();
        for bad in ["a", "/", "a//", "../", "/a/"] {
            assert!(validate_folder(bad).is_err(), "{bad:?}");
        }
    }

    #[tokio::test]
    async fn view_cannot_escape() {
        let (barrier, raw, _) = unsealed_barrier().await;
        let view = barrier.view("logical/mount-a").unwrap();
        assert_eq!(view.prefix(), "logical/mount-a/");
        barrier
            .put("logical/mount-b/secret", b"other mount")
            .await
            .unwrap();
        barrier
            .put("logical/mount-a-evil", b"sibling")
            .await
            .unwrap();

        for bad in BAD_KEYS {
            assert!(
                matches!(view.get(bad).await, Err(BarrierError::InvalidKey(_))),
                "get {bad:?}"
            );
            assert!(
                matches!(view.put(bad, b"x").await, Err(BarrierError::InvalidKey(_))),
                "put {bad:?}"
            );
            assert!(
                matches!(view.delete(bad).await, Err(BarrierError::InvalidKey(_))),
                "delete {bad:?}"
            );
            assert!(
                matches!(
                    view.write_batch(vec![
                        BarrierOp::put("ok", b"x".to_vec()),
                        BarrierOp::delete(*bad)
                    ])
                    .await,
                    Err(BarrierError::InvalidKey(_))
                ),
                "batch {bad:?}"
            );
            // "a/" is a fine folder name for a sub-view; every other bad key is refused.
            if *bad != "a/" {
                assert!(view.sub_view(bad).is_err(), "sub_view {bad:?}");
            }
        }
        // A rejected batch wrote nothing.
        assert!(view.get("ok").await.unwrap().is_none());
        assert!(matches!(
            view.get("../mount-b/secret").await,
            Err(BarrierError::InvalidKey(_))
        ));
        assert!(matches!(
            view.list("../").await,
            Err(BarrierError::InvalidKey(_))
        ));
        assert!(matches!(
            view.list("/").await,
            Err(BarrierError::InvalidKey(_))
        ));

        // Everything a view writes lands under its prefix.
        view.put("a", b"1").await.unwrap();
        view.put("dir/b", b"2").await.unwrap();
        view.write_batch(vec![BarrierOp::put("dir/c", b"3".to_vec())])
            .await
            .unwrap();
        for key in raw.keys() {
            if key.starts_with("logical/") {
                assert!(
                    key.starts_with("logical/mount-a/")
                        || key == "logical/mount-b/secret"
                        || key == "logical/mount-a-evil",
                    "{key}"
                );
            }
        }
        assert_eq!(view.get("dir/b").await.unwrap().unwrap().as_slice(), b"2");
        assert_eq!(
            barrier
                .get("logical/mount-a/dir/b")
                .await
                .unwrap()
                .unwrap()
                .as_slice(),
            b"2"
        );
    }

    #[tokio::test]
    async fn list_returns_relative_names() {
        let (barrier, _, _) = unsealed_barrier().await;
        let view = barrier.view("logical/m/").unwrap();
        view.put("a", b"1").await.unwrap();
        view.put("dir/b", b"2").await.unwrap();
        view.put("dir/sub/c", b"3").await.unwrap();
        barrier.put("logical/other", b"x").await.unwrap();
        assert_eq!(view.list("").await.unwrap(), ["a", "dir/"]);
        assert_eq!(view.list("dir/").await.unwrap(), ["b", "sub/"]);
        assert!(view.list("nothing/").await.unwrap().is_empty());

        let sub = view.sub_view("dir").unwrap();
        assert_eq!(sub.prefix(), "logical/m/dir/");
        assert_eq!(sub.list("").await.unwrap(), ["b", "sub/"]);
        assert_eq!(sub.get("sub/c").await.unwrap().unwrap().as_slice(), b"3");
        sub.delete("b").await.unwrap();
        assert!(view.get("dir/b").await.unwrap().is_none());
    }

    #[tokio::test]
    async fn scan_returns_keys_relative_to_the_view() {
        let (barrier, _, _) = unsealed_barrier().await;
        let view = barrier.view("logical/m/").unwrap();
        for key in ["a", "dir/b", "dir/sub/c", "dir2/d"] {
            view.put(key, b"v").await.unwrap();
        }
        barrier.put("logical/m-evil/x", b"x").await.unwrap();
        barrier.put("logical/l/x", b"x").await.unwrap();
        barrier.put("logical/n", b"x").await.unwrap();
        assert_eq!(
            view.scan("", "", 100).await.unwrap(),
            ["a", "dir/b", "dir/sub/c", "dir2/d"]
        );
        assert_eq!(
            view.scan("dir/", "", 100).await.unwrap(),
            ["dir/b", "dir/sub/c"]
        );
        // Paging with the relative key as the cursor.
        assert_eq!(view.scan("", "a", 2).await.unwrap(), ["dir/b", "dir/sub/c"]);
        assert_eq!(view.scan("", "dir/sub/c", 2).await.unwrap(), ["dir2/d"]);
        assert!(view.scan("", "dir2/d", 2).await.unwrap().is_empty());
        assert!(view.scan("nothing/", "", 2).await.unwrap().is_empty());
        let sub = view.sub_view("dir").unwrap();
        assert_eq!(sub.scan("", "", 10).await.unwrap(), ["b", "sub/c"]);
        for bad in ["../", "/", "dir", "a//", "..", "dir/../"] {
            assert!(
                matches!(
                    view.scan(bad, "", 10).await,
                    Err(BarrierError::InvalidKey(_))
                ),
                "{bad:?}"
            );
        }
        assert!(matches!(
            view.scan("", "a\0", 10).await,
            Err(BarrierError::InvalidKey(_))
        ));
        barrier.seal();
        assert!(matches!(
            view.scan("", "", 10).await,
            Err(BarrierError::Sealed)
        ));
    }

    #[tokio::test]
    async fn view_prefixes_are_checked() {
        let (barrier, _, _) = unsealed_barrier().await;
        for bad in ["", "/", "/x", "a//b", "a/../b", "a\0"] {
            assert!(
                matches!(barrier.view(bad), Err(BarrierError::InvalidKey(_))),
                "{bad:?}"
            );
        }
        for reserved in [
            "core/seal",
            "core/seal/",
            "core/seal/x",
            "core/keyring",
            "core/keyring/x",
        ] {
            assert!(
                matches!(barrier.view(reserved), Err(BarrierError::Reserved(_))),
                "{reserved:?}"
            );
        }
        // A view of core/ exists for the core's own records but cannot reach the seal's.
        let core = barrier.view("core").unwrap();
        assert!(matches!(
            core.get("seal/root-key").await,
            Err(BarrierError::Reserved(_))
        ));
        assert!(matches!(
            core.put("keyring", b"x").await,
            Err(BarrierError::Reserved(_))
        ));
        assert!(matches!(
            core.sub_view("seal"),
            Err(BarrierError::Reserved(_))
        ));
        assert!(!core
            .list("")
            .await
            .unwrap()
            .iter()
            .any(|n| n == "seal/" || n == "keyring"));
    }

    #[tokio::test]
    async fn sealed_view_refuses() {
        let (barrier, raw, _) = unsealed_barrier().await;
        let view = barrier.view("logical/m").unwrap();
        view.put("a", b"1").await.unwrap();
        barrier.seal();
        assert!(matches!(view.get("a").await, Err(BarrierError::Sealed)));
        assert!(matches!(
            view.put("a", b"2").await,
            Err(BarrierError::Sealed)
        ));
        assert!(matches!(view.delete("a").await, Err(BarrierError::Sealed)));
        assert!(matches!(view.list("").await, Err(BarrierError::Sealed)));
        assert!(matches!(
            view.write_batch(vec![BarrierOp::delete("a")]).await,
            Err(BarrierError::Sealed)
        ));
        assert!(raw.get("logical/m/a").await.unwrap().is_some());
    }

    proptest! {
        #[test]
        fn checked_keys_stay_under_the_prefix(rel in "[a-z./\\x00-\\x1f]{0,12}") {
            if validate_key(&rel).is_ok() {
                let full = format!("logical/m/{rel}");
                // Every segment after the prefix is a normal name: no way back up.
                let rest = full.strip_prefix("logical/m/").unwrap_or_default();
                prop_assert!(!rest.is_empty());
                prop_assert!(rest.split('/').all(|s| !s.is_empty() && s != "." && s != ".."));
                prop_assert!(!rest.chars().any(char::is_control));
            }
        }
    }
}
