//! Request paths: percent-decoding, cleaning (Go's `path.Clean`), and the `/v1/` prefix.
//!
//! A path that is not already clean (`//`, `.`, `..` segments) is answered with a 307 to
//! the cleaned path, as Vault's Go mux does; it never reaches the core. Paths that do not
//! decode to UTF-8 or contain control characters are refused with 400.

use super::error::ApiError;

/// What the edge does with a raw request path.
#[derive(Debug, PartialEq, Eq)]
pub enum PathDecision {
    /// Serve this logical path (relative to `/v1/`, clean; trailing `/` preserved).
    Serve(String),
    /// Redirect to this cleaned absolute path.
    Redirect(String),
    /// Not under `/v1/`.
    NotApi,
}

/// Whether `clean(path)` would return `path` unchanged: absolute, no empty, `.` or `..`
/// segments (a single trailing `/` is kept by `clean`). Lets the common case skip the
/// rebuild.
fn is_clean(path: &str) -> bool {
    let Some(rest) = path.strip_prefix('/') else {
        return false;
    };
    let body = rest.strip_suffix('/').unwrap_or(rest);
    if body.is_empty() {
        return rest.is_empty();
    }
    body.split('/').all(|seg| !matches!(seg, "" | "." | ".."))
}

/// Go's `path.Clean` on an absolute path, keeping a trailing slash.
pub fn clean(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    let mut out = format!("/{}", parts.join("/"));
    if path.ends_with('/') && out != "/" {
        out.push('/');
    }
    out
}

/// Decides what to do with a raw (still percent-encoded) request path.
pub fn decide(raw: &str) -> Result<PathDecision, ApiError> {
    let decoded = percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .map_err(|_| ApiError::BadPath("not valid UTF-8"))?;
    if crate::encoding::has_control_char(&decoded) {
        return Err(ApiError::BadPath("control characters are not allowed"));
    }
    if !is_clean(&decoded) {
        let cleaned = clean(&decoded);
        if cleaned != decoded {
            let encoded = percent_encoding::utf8_percent_encode(&cleaned, LOCATION_SET).to_string();
            return Ok(PathDecision::Redirect(encoded));
        }
    }
    match decoded.strip_prefix("/v1/") {
        Some(rest) if !rest.is_empty() => Ok(PathDecision::Serve(rest.to_string())),
        _ => Ok(PathDecision::NotApi),
    }
}

/// Characters escaped in a `Location` header.
const LOCATION_SET: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'%');

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn cleaning_matches_go() {
        assert_eq!(clean("/v1//sys/health"), "/v1/sys/health");
        assert_eq!(clean("/v1/secret/../sys/x"), "/v1/sys/x");
        assert_eq!(clean("/v1/a/./b/"), "/v1/a/b/");
        assert_eq!(clean("/../.."), "/");
    }

    #[test]
    fn is_clean_agrees_with_clean() {
        for p in [
            "/",
            "//",
            "/a",
            "/a/",
            "/a//",
            "/a/b",
            "/a//b",
            "/./a",
            "/a/.",
            "/a/..",
            "/a/../",
            "/..a/b.",
            "/v1/sys/health",
            "/v1/secret/data/x/",
            "a",
            "",
            "/a/./",
            "/.../",
        ] {
            assert_eq!(is_clean(p), p.starts_with('/') && clean(p) == p, "{p:?}");
        }
    }

    #[test]
    fn decisions() {
        assert_eq!(
            decide("/v1/sys/health").unwrap(),
            PathDecision::Serve("sys/health".into())
        );
        assert_eq!(
            decide("/v1//sys/health").unwrap(),
            PathDecision::Redirect("/v1/sys/health".into())
        );
        assert_eq!(
            decide("/v1/secret/%2e%2e/sys/seal").unwrap(),
            PathDecision::Redirect("/v1/sys/seal".into())
        );
        assert_eq!(decide("/v2/x").unwrap(), PathDecision::NotApi);
        assert_eq!(decide("/v1/").unwrap(), PathDecision::NotApi);
        assert!(decide("/v1/a%00b").is_err());
        assert!(decide("/v1/a%ffb").is_err());
        assert_eq!(
            decide("/v1/secret/a%20b").unwrap(),
            PathDecision::Serve("secret/a b".into())
        );
    }
}
