//! The one conformance suite every [`Backend`] must pass.
//!
//! This module is compiled in every build (not `cfg(test)`) so that the unit tests of
//! each backend *and* integration tests in other crates run exactly the same checks.
//! It is test code: a failed check panics through `assert!`/`assert_eq!` with a
//! message naming the backend and the check, which is how a test reports failure.
//! That is also why it allows `clippy::unwrap_used` below; nothing outside tests
//! should call it.
//!
//! Use:
//! ```no_run
//! # use strongroom_server::storage::{conformance, InmemBackend, SharedBackend};
//! # async fn demo() {
//! let backend = InmemBackend::new();
//! conformance::run_all(&backend).await; // every check, on `&dyn Backend`
//! let shared: SharedBackend = std::sync::Arc::new(InmemBackend::new());
//! conformance::parallel_tasks(shared).await; // 64 spawned tokio tasks
//! # }
//! ```
//! [`run_all`] expects an **empty** backend and leaves it empty again (each check
//! deletes what it wrote). The individual checks are public too, with the same
//! contract, so a backend with a known quirk can run the rest while it is fixed.
//!
//! Run it on a multi-threaded runtime (`#[tokio::test(flavor = "multi_thread")]`):
//! backends are free to use `spawn_blocking`.

#![allow(clippy::unwrap_used)]

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

use super::{Backend, SharedBackend, StorageError, WriteOp, MAX_KEY_LEN};

/// Runs every check below, in order, on an empty backend.
pub async fn run_all(backend: &dyn Backend) {
    assert_empty(backend, "before the suite").await;
    get_absent(backend).await;
    round_trip(backend).await;
    overwrite(backend).await;
    delete(backend).await;
    list_semantics(backend).await;
    scan_semantics(backend).await;
    scan_paging(backend).await;
    unicode_keys(backend).await;
    batch_semantics(backend).await;
    invalid_keys(backend).await;
    concurrent_puts(backend).await;
    assert_empty(backend, "after the suite").await;
}

/// Unwraps a storage result, panicking with the backend's name and some context.
fn must<T>(backend: &dyn Backend, what: &str, r: Result<T, StorageError>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("[{}] {what}: unexpected error: {e}", backend.kind_name()),
    }
}

async fn assert_empty(backend: &dyn Backend, when: &str) {
    let top = must(backend, "list(\"\")", backend.list("").await);
    assert!(
        top.is_empty(),
        "[{}] backend must be empty {when}, has {top:?}",
        backend.kind_name()
    );
}

/// Deletes every key under `prefix` (which is empty or ends in `/`), walking it with `list`.
async fn delete_tree(backend: &dyn Backend, prefix: &str) {
    let mut folders = vec![prefix.to_owned()];
    let mut doomed = Vec::new();
    while let Some(folder) = folders.pop() {
        for child in must(backend, "list for cleanup", backend.list(&folder).await) {
            let full = format!("{folder}{child}");
            if child.ends_with('/') {
                folders.push(full);
            } else {
                doomed.push(WriteOp::Delete { key: full });
            }
        }
    }
    must(backend, "cleanup batch", backend.write_batch(doomed).await);
    let left = must(backend, "list after cleanup", backend.list(prefix).await);
    assert!(
        left.is_empty(),
        "[{}] cleanup of {prefix:?} left {left:?}",
        backend.kind_name()
    );
}

/// Polls every future concurrently inside the current task until all are done.
///
/// The conformance checks take `&dyn Backend`, which cannot move into a spawned task;
/// this still puts every request in flight at once (what matters for group commit).
/// [`parallel_tasks`] covers real multi-threaded callers.
async fn join_all<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut pending: Vec<Option<Pin<Box<F>>>> =
        futures.into_iter().map(|f| Some(Box::pin(f))).collect();
    let mut outputs: Vec<Option<F::Output>> = pending.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut all_done = true;
        for (slot, out) in pending.iter_mut().zip(outputs.iter_mut()) {
            if let Some(fut) = slot {
                match fut.as_mut().poll(cx) {
                    Poll::Ready(v) => {
                        *out = Some(v);
                        *slot = None;
                    }
                    Poll::Pending => all_done = false,
                }
            }
        }
        if all_done {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

/// Deterministic pseudo-random bytes (xorshift), so big values are not all one byte.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Reading a key that was never written gives `None`, not an error.
pub async fn get_absent(backend: &dyn Backend) {
    let name = backend.kind_name();
    for key in ["absent", "absent/nested/key", "folder/"] {
        let got = must(backend, "get absent", backend.get(key).await);
        assert_eq!(got, None, "[{name}] get({key:?}) of a never-written key");
    }
}

/// Values come back byte for byte: empty, every byte value, 1 MiB.
pub async fn round_trip(backend: &dyn Backend) {
    let name = backend.kind_name();
    let all_bytes: Vec<u8> = (0..=255u8).chain((0..=255u8).rev()).collect();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("rt/small", b"hello".to_vec()),
        ("rt/empty", Vec::new()),
        ("rt/all-bytes", all_bytes),
        ("rt/nul-bytes", vec![0u8; 100]),
        ("rt/one-mib", noise(1 << 20, 0x5eed)),
        ("rt/deep/ly/nested/key", b"deep".to_vec()),
    ];
    for (key, value) in &cases {
        must(backend, "put", backend.put(key, value.clone()).await);
    }
    for (key, value) in &cases {
        let got = must(backend, "get", backend.get(key).await);
        let got = got.unwrap_or_else(|| panic!("[{name}] {key:?} missing after put"));
        assert_eq!(got.len(), value.len(), "[{name}] length of {key:?}");
        assert!(got == *value, "[{name}] {key:?} came back different");
    }
    // An empty value is a value: present, and listed.
    assert_eq!(
        must(backend, "get empty", backend.get("rt/empty").await),
        Some(Vec::new()),
        "[{name}] an empty value must read back as Some(empty), not None"
    );
    let listed = must(backend, "list rt/", backend.list("rt/").await);
    assert_eq!(
        listed,
        [
            "all-bytes",
            "deep/",
            "empty",
            "nul-bytes",
            "one-mib",
            "small"
        ],
        "[{name}] list(\"rt/\")"
    );
    delete_tree(backend, "rt/").await;
}

/// A second put replaces the first; the key is still listed once.
pub async fn overwrite(backend: &dyn Backend) {
    let name = backend.kind_name();
    must(
        backend,
        "put v1",
        backend.put("ow/key", b"v1".to_vec()).await,
    );
    must(
        backend,
        "put v2",
        backend.put("ow/key", b"version-two".to_vec()).await,
    );
    assert_eq!(
        must(backend, "get", backend.get("ow/key").await),
        Some(b"version-two".to_vec()),
        "[{name}] overwrite with a longer value"
    );
    must(
        backend,
        "put v3",
        backend.put("ow/key", b"3".to_vec()).await,
    );
    assert_eq!(
        must(backend, "get", backend.get("ow/key").await),
        Some(b"3".to_vec()),
        "[{name}] overwrite with a shorter value"
    );
    assert_eq!(
        must(backend, "list", backend.list("ow/").await),
        ["key"],
        "[{name}] an overwritten key is listed once"
    );
    delete_tree(backend, "ow/").await;
}

/// Delete removes a key; deleting an absent key succeeds.
pub async fn delete(backend: &dyn Backend) {
    let name = backend.kind_name();
    must(backend, "put", backend.put("del/a", b"a".to_vec()).await);
    must(backend, "put", backend.put("del/b", b"b".to_vec()).await);
    must(backend, "delete", backend.delete("del/a").await);
    assert_eq!(
        must(backend, "get", backend.get("del/a").await),
        None,
        "[{name}] get after delete"
    );
    assert_eq!(
        must(backend, "get", backend.get("del/b").await),
        Some(b"b".to_vec()),
        "[{name}] delete must not touch a sibling"
    );
    assert_eq!(
        must(backend, "list", backend.list("del/").await),
        ["b"],
        "[{name}] list after delete"
    );
    // Absent keys, twice and never-written, are fine.
    must(backend, "delete again", backend.delete("del/a").await);
    must(backend, "delete never", backend.delete("del/never").await);
    must(backend, "delete b", backend.delete("del/b").await);
    assert_eq!(
        must(backend, "list", backend.list("del/").await),
        Vec::<String>::new(),
        "[{name}] a folder whose keys are all deleted disappears"
    );
    assert_empty(backend, "after the delete check").await;
}

/// Vault's physical list: immediate children, folders once with `/`, sorted, exact prefix.
pub async fn list_semantics(backend: &dyn Backend) {
    let name = backend.kind_name();
    let keys = [
        "ls/a",
        "ls/a/x",
        "ls/a/y/z",
        "ls/ab/x",
        "ls/a.",
        "ls/a0",
        "ls/b",
        "ls/c/d",
        "ls/c/e",
        "ls/c/f/g",
        "ls/c/f/h",
        "ls/c/f/i/j",
        "lt",
        "top",
    ];
    // Written in reverse so that sorting is the backend's job.
    for key in keys.iter().rev() {
        must(
            backend,
            "put",
            backend.put(key, key.as_bytes().to_vec()).await,
        );
    }
    let cases: [(&str, &[&str]); 8] = [
        ("", &["ls/", "lt", "top"]),
        ("ls/", &["a", "a.", "a/", "a0", "ab/", "b", "c/"]),
        ("ls/a/", &["x", "y/"]),
        ("ls/a/y/", &["z"]),
        ("ls/ab/", &["x"]),
        ("ls/c/", &["d", "e", "f/"]),
        ("ls/c/f/", &["g", "h", "i/"]),
        ("ls/nothing/", &[]),
    ];
    for (prefix, want) in cases {
        let got = must(backend, "list", backend.list(prefix).await);
        assert_eq!(got, want, "[{name}] list({prefix:?})");
        let mut sorted = got.clone();
        sorted.sort();
        assert_eq!(got, sorted, "[{name}] list({prefix:?}) must be sorted");
    }
    // Listing a prefix that is itself a key (without the slash) lists nothing under it.
    assert_eq!(
        must(backend, "list", backend.list("ls/b/").await),
        Vec::<String>::new(),
        "[{name}] list of a key's name as a folder"
    );
    for key in keys {
        must(backend, "delete", backend.delete(key).await);
    }
    assert_empty(backend, "after the list check").await;
}

/// `scan`: full keys (recursive), byte order, exact string prefix, strictly after the
/// cursor, at most `limit`.
pub async fn scan_semantics(backend: &dyn Backend) {
    let name = backend.kind_name();
    let keys = [
        "sc",
        "sc/a",
        "sc/a/b",
        "sc/a/c/d",
        "sc/a.",
        "sc/ab",
        "sc/b",
        "sc/é/x",
        "sc/\u{10FFFF}",
        "sc0",
        "sd/x",
        "sb/x",
    ];
    for key in keys.iter().rev() {
        must(backend, "put", backend.put(key, b"v".to_vec()).await);
    }
    let scan = |prefix: &'static str, after: &'static str, limit: usize| async move {
        must(backend, "scan", backend.scan(prefix, after, limit).await)
    };
    let under_sc: &[&str] = &[
        "sc/a",
        "sc/a.",
        "sc/a/b",
        "sc/a/c/d",
        "sc/ab",
        "sc/b",
        "sc/é/x",
        "sc/\u{10FFFF}",
    ];
    let cases: [(&str, &str, usize, &[&str]); 14] = [
        // Prefix isolation: neither "sc" nor "sc0" nor the neighbours "sb/", "sd/".
        ("sc/", "", 100, under_sc),
        // A raw string prefix, not a folder: "sc/a" matches "sc/a", "sc/a." and "sc/ab".
        (
            "sc/a",
            "",
            100,
            &["sc/a", "sc/a.", "sc/a/b", "sc/a/c/d", "sc/ab"],
        ),
        ("sc/a/", "", 100, &["sc/a/b", "sc/a/c/d"]),
        // The limit.
        ("sc/", "", 3, &["sc/a", "sc/a.", "sc/a/b"]),
        ("sc/", "", 0, &[]),
        // Strictly after the cursor, which need not be a key.
        ("sc/", "sc/a/b", 2, &["sc/a/c/d", "sc/ab"]),
        (
            "sc/",
            "sc/a/bz",
            100,
            &["sc/a/c/d", "sc/ab", "sc/b", "sc/é/x", "sc/\u{10FFFF}"],
        ),
        // A cursor before the prefix starts at the prefix; one after it finds nothing.
        ("sc/", "a", 100, under_sc),
        ("sc/", "sc", 2, &["sc/a", "sc/a."]),
        ("sc/", "sc/\u{10FFFF}", 100, &[]),
        ("sc/", "zzz", 100, &[]),
        // Nothing there.
        ("sc/nothing/", "", 100, &[]),
        ("sa", "", 100, &[]),
        // The empty prefix is everything.
        ("", "sc/b", 4, &["sc/é/x", "sc/\u{10FFFF}", "sc0", "sd/x"]),
    ];
    for (prefix, after, limit, want) in cases {
        let got = scan(prefix, after, limit).await;
        assert_eq!(got, want, "[{name}] scan({prefix:?}, {after:?}, {limit})");
    }
    let everything = scan("", "", 1000).await;
    let mut sorted: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
    sorted.sort();
    assert_eq!(
        everything, sorted,
        "[{name}] scan of everything, in byte order"
    );
    // The key equal to the prefix is included.
    assert_eq!(scan("sc", "", 1).await, ["sc"], "[{name}] scan(\"sc\")");

    // Refused like list: NUL and over-long arguments.
    for (prefix, after) in [("nul\0", ""), ("sc/", "nul\0")] {
        let r = backend.scan(prefix, after, 10).await;
        assert!(
            matches!(r, Err(StorageError::InvalidKey(_))),
            "[{name}] scan({prefix:?}, {after:?}) must be InvalidKey, got {r:?}"
        );
    }
    let long = "k".repeat(MAX_KEY_LEN + 1);
    let r = backend.scan(&long, "", 10).await;
    assert!(
        matches!(r, Err(StorageError::InvalidKey(_))),
        "[{name}] scan with a too-long prefix"
    );
    for key in keys {
        must(backend, "delete", backend.delete(key).await);
    }
    assert_eq!(
        scan("", "", 10).await,
        Vec::<String>::new(),
        "[{name}] empty"
    );
    assert_empty(backend, "after the scan check").await;
}

/// Paging through a whole prefix with `scan`, feeding back the last key, visits every key
/// under it exactly once and in order, whatever the page size.
pub async fn scan_paging(backend: &dyn Backend) {
    let name = backend.kind_name();
    let mut keys: Vec<String> = (0..300)
        .map(|i| format!("pg/{:02}/{i:03}", i % 17))
        .collect();
    keys.push("pg/x/deep/ly/nested".to_owned());
    let ops = keys
        .iter()
        .map(|k| WriteOp::Put {
            key: k.clone(),
            value: Vec::new(),
        })
        .collect();
    must(backend, "seed", backend.write_batch(ops).await);
    // Neighbours that must never show up.
    must(backend, "put", backend.put("pf", Vec::new()).await);
    must(backend, "put", backend.put("ph/1", Vec::new()).await);
    keys.sort();
    for page in [1, 7, 64, 301, 1000] {
        let mut seen: Vec<String> = Vec::new();
        let mut cursor = String::new();
        let mut calls = 0;
        loop {
            let got = must(
                backend,
                "scan page",
                backend.scan("pg/", &cursor, page).await,
            );
            calls += 1;
            assert!(
                got.len() <= page,
                "[{name}] page of {page} returned {}",
                got.len()
            );
            let Some(last) = got.last() else { break };
            cursor = last.clone();
            let short = got.len() < page;
            seen.extend(got);
            if short {
                break;
            }
        }
        assert_eq!(seen, keys, "[{name}] paging by {page}");
        assert!(
            calls <= keys.len() / page + 2,
            "[{name}] {calls} calls for pages of {page}"
        );
    }
    // Paging a sub-folder.
    let sub = must(backend, "scan", backend.scan("pg/03/", "", 1000).await);
    let want: Vec<&String> = keys.iter().filter(|k| k.starts_with("pg/03/")).collect();
    assert_eq!(
        sub.iter().collect::<Vec<_>>(),
        want,
        "[{name}] scan of a sub-folder"
    );
    must(backend, "delete", backend.delete("pf").await);
    must(backend, "delete", backend.delete("ph/1").await);
    delete_tree(backend, "pg/").await;
}

/// Keys are UTF-8 strings; ordering is by bytes (= code points), everywhere.
pub async fn unicode_keys(backend: &dyn Backend) {
    let name = backend.kind_name();
    let keys = [
        "uni/e",
        "uni/é",
        "uni/ключ",
        "uni/値/x",
        "uni/🔑",
        "uni/\u{10FFFF}/last",
        "uni/\u{10FFFF}\u{10FFFF}",
        "uni/tab\there",
        "uni/space here",
    ];
    for (i, key) in keys.iter().enumerate() {
        must(backend, "put", backend.put(key, vec![i as u8; i + 1]).await);
    }
    for (i, key) in keys.iter().enumerate() {
        assert_eq!(
            must(backend, "get", backend.get(key).await),
            Some(vec![i as u8; i + 1]),
            "[{name}] get({key:?})"
        );
    }
    let got = must(backend, "list", backend.list("uni/").await);
    assert_eq!(
        got,
        [
            "e",
            "space here",
            "tab\there",
            "é",
            "ключ",
            "値/",
            "🔑",
            "\u{10FFFF}/",
            "\u{10FFFF}\u{10FFFF}",
        ],
        "[{name}] list(\"uni/\") must be in byte order"
    );
    assert_eq!(
        must(backend, "list", backend.list("uni/値/").await),
        ["x"],
        "[{name}] list under a CJK folder"
    );
    assert_eq!(
        must(backend, "list", backend.list("uni/\u{10FFFF}/").await),
        ["last"],
        "[{name}] list under the highest code point"
    );
    delete_tree(backend, "uni/").await;
}

/// `write_batch` applies its operations in order, all or nothing.
pub async fn batch_semantics(backend: &dyn Backend) {
    let name = backend.kind_name();
    let put = |k: &str, v: &str| WriteOp::Put {
        key: k.to_owned(),
        value: v.as_bytes().to_vec(),
    };
    let del = |k: &str| WriteOp::Delete { key: k.to_owned() };
    let get = |k: &'static str| async move { must(backend, "get", backend.get(k).await) };

    must(
        backend,
        "empty batch",
        backend.write_batch(Vec::new()).await,
    );

    must(backend, "seed", backend.put("b/gone", b"x".to_vec()).await);
    must(
        backend,
        "mixed batch",
        backend
            .write_batch(vec![put("b/one", "1"), put("b/two", "2"), del("b/gone")])
            .await,
    );
    assert_eq!(
        get("b/one").await,
        Some(b"1".to_vec()),
        "[{name}] batch put"
    );
    assert_eq!(
        get("b/two").await,
        Some(b"2".to_vec()),
        "[{name}] batch put"
    );
    assert_eq!(get("b/gone").await, None, "[{name}] batch delete");

    must(
        backend,
        "later put wins",
        backend
            .write_batch(vec![put("b/k", "first"), put("b/k", "second")])
            .await,
    );
    assert_eq!(
        get("b/k").await,
        Some(b"second".to_vec()),
        "[{name}] later op wins"
    );

    must(
        backend,
        "put then delete",
        backend
            .write_batch(vec![put("b/pd", "x"), del("b/pd")])
            .await,
    );
    assert_eq!(get("b/pd").await, None, "[{name}] put then delete → absent");

    must(
        backend,
        "delete then put",
        backend
            .write_batch(vec![del("b/k"), put("b/k", "third")])
            .await,
    );
    assert_eq!(
        get("b/k").await,
        Some(b"third".to_vec()),
        "[{name}] delete then put"
    );

    // An invalid key anywhere fails the whole batch and applies nothing.
    for bad in ["", "nul\0key"] {
        let r = backend
            .write_batch(vec![put("b/atomic", "x"), del("b/one"), put(bad, "y")])
            .await;
        assert!(
            matches!(r, Err(StorageError::InvalidKey(_))),
            "[{name}] batch with key {bad:?} must fail with InvalidKey, got {r:?}"
        );
        assert_eq!(
            get("b/atomic").await,
            None,
            "[{name}] failed batch applied a put"
        );
        assert_eq!(
            get("b/one").await,
            Some(b"1".to_vec()),
            "[{name}] failed batch applied a delete"
        );
    }
    let long = "b/".to_owned() + &"l".repeat(MAX_KEY_LEN);
    let r = backend
        .write_batch(vec![put("b/atomic", "x"), del(&long)])
        .await;
    assert!(
        matches!(r, Err(StorageError::InvalidKey(_))),
        "[{name}] batch with a too-long key must fail with InvalidKey, got {r:?}"
    );
    assert_eq!(
        get("b/atomic").await,
        None,
        "[{name}] failed batch applied a put"
    );

    // A larger batch lands completely.
    let many: Vec<WriteOp> = (0..300)
        .map(|i| put(&format!("b/many/{i:03}"), &i.to_string()))
        .collect();
    must(backend, "300-op batch", backend.write_batch(many).await);
    let listed = must(backend, "list", backend.list("b/many/").await);
    assert_eq!(listed.len(), 300, "[{name}] every op of a 300-op batch");
    assert_eq!(listed.first().map(String::as_str), Some("000"));
    assert_eq!(listed.last().map(String::as_str), Some("299"));

    delete_tree(backend, "b/").await;
}

/// Empty keys, NUL bytes and over-long keys are rejected everywhere with `InvalidKey`.
pub async fn invalid_keys(backend: &dyn Backend) {
    let name = backend.kind_name();
    let too_long = "k".repeat(MAX_KEY_LEN + 1);
    let bad_keys = ["", "nul\0inside", "\0", too_long.as_str()];
    let is_invalid = |r: &Result<_, StorageError>| matches!(r, Err(StorageError::InvalidKey(_)));
    for key in bad_keys {
        let shown: String = key.chars().take(20).collect();
        let r = backend.get(key).await;
        assert!(
            is_invalid(&r.map(|_| ())),
            "[{name}] get({shown:?}) must be InvalidKey"
        );
        let r = backend.put(key, b"v".to_vec()).await;
        assert!(is_invalid(&r), "[{name}] put({shown:?}) must be InvalidKey");
        let r = backend.delete(key).await;
        assert!(
            is_invalid(&r),
            "[{name}] delete({shown:?}) must be InvalidKey"
        );
    }
    // The error maps to a client error (400), not a server failure.
    let err = backend.put("", Vec::new()).await.unwrap_err();
    assert_eq!(
        err.kind(),
        crate::error::ErrorKind::Invalid,
        "[{name}] kind()"
    );

    // list: the empty prefix is the root, but NUL and over-long prefixes are refused.
    let r = backend.list("nul\0/").await;
    assert!(is_invalid(&r.map(|_| ())), "[{name}] list with NUL prefix");
    let long_prefix = too_long.clone() + "/";
    let r = backend.list(&long_prefix).await;
    assert!(
        is_invalid(&r.map(|_| ())),
        "[{name}] list with too-long prefix"
    );

    // The limit itself is allowed.
    let max = "m".repeat(MAX_KEY_LEN);
    must(
        backend,
        "put max-length key",
        backend.put(&max, b"ok".to_vec()).await,
    );
    assert_eq!(
        must(backend, "get max-length key", backend.get(&max).await),
        Some(b"ok".to_vec()),
        "[{name}] a key of exactly MAX_KEY_LEN bytes"
    );
    must(backend, "delete max-length key", backend.delete(&max).await);
    assert_empty(
        backend,
        "after the invalid-key check (nothing may have been written)",
    )
    .await;
}

/// 64 puts in flight at once; every one is readable afterwards.
pub async fn concurrent_puts(backend: &dyn Backend) {
    let name = backend.kind_name();
    let keys: Vec<String> = (0..64).map(|i| format!("conc/{i:02}")).collect();
    let puts = keys
        .iter()
        .enumerate()
        .map(|(i, k)| backend.put(k, noise(256, i as u64 + 1)))
        .collect();
    for r in join_all(puts).await {
        must(backend, "concurrent put", r);
    }
    let gets = keys.iter().map(|k| backend.get(k)).collect();
    for (i, r) in join_all(gets).await.into_iter().enumerate() {
        let got = must(backend, "get after concurrent put", r);
        assert_eq!(got, Some(noise(256, i as u64 + 1)), "[{name}] conc/{i:02}");
    }
    let listed = must(backend, "list", backend.list("conc/").await);
    assert_eq!(listed.len(), 64, "[{name}] all 64 concurrent puts listed");
    delete_tree(backend, "conc/").await;
}

/// 64 spawned tokio tasks, each writing, reading back and overwriting its own key
/// while the others do the same; afterwards every final value is there.
///
/// Takes a [`SharedBackend`] because spawned tasks need `'static` handles. Like
/// [`run_all`] it expects an empty backend and leaves it empty.
pub async fn parallel_tasks(backend: SharedBackend) {
    let name = backend.kind_name();
    assert_empty(backend.as_ref(), "before parallel_tasks").await;
    let mut handles = Vec::new();
    for i in 0..64u64 {
        let b = backend.clone();
        handles.push(tokio::spawn(async move {
            let key = format!("par/{i:02}");
            b.put(&key, noise(256, i + 1)).await?;
            let first = b.get(&key).await?;
            b.write_batch(vec![WriteOp::Put {
                key: key.clone(),
                value: noise(300, i + 1000),
            }])
            .await?;
            Ok::<_, StorageError>(first)
        }));
    }
    for (i, h) in handles.into_iter().enumerate() {
        let first = must(
            backend.as_ref(),
            "parallel task",
            h.await.expect("task panicked"),
        );
        assert_eq!(
            first,
            Some(noise(256, i as u64 + 1)),
            "[{name}] a task must read its own write"
        );
    }
    for i in 0..64u64 {
        let got = must(
            backend.as_ref(),
            "get",
            backend.get(&format!("par/{i:02}")).await,
        );
        assert_eq!(got, Some(noise(300, i + 1000)), "[{name}] par/{i:02}");
    }
    let listed = must(backend.as_ref(), "list", backend.list("par/").await);
    assert_eq!(listed.len(), 64, "[{name}] all 64 parallel keys listed");
    delete_tree(backend.as_ref(), "par/").await;
}
