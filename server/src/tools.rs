//! Hashing and random bytes as a service: `sys/tools/hash|random` and the same endpoints
//! of the transit engine (`transit/hash`, `transit/random`), which answer alike.
//!
//! The path may name the algorithm (`hash/sha2-512`) or the source and size
//! (`random/platform/16`, `random/16`); a field in the body says the same when the path
//! does not. Everything is parsed into closed types here, at the edge.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Map, Value};
use sha2::Digest as _;
use zeroize::Zeroizing;

use crate::core::fields::{opt_string, opt_u64};

/// Largest `bytes` of a random request (Vault's limit: 128 KiB).
const MAX_RANDOM_BYTES: u64 = 128 * 1024;

/// Why a tool request was refused; every variant is a 400 with this text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ToolError(String);

impl From<crate::core::fields::FieldError> for ToolError {
    fn from(e: crate::core::fields::FieldError) -> ToolError {
        ToolError(e.0)
    }
}

/// Output encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Hex,
    Base64,
}

impl Format {
    fn parse(raw: Option<String>, default: Format) -> Result<Format, ToolError> {
        match raw.as_deref() {
            None | Some("") => Ok(default),
            Some("hex") => Ok(Format::Hex),
            Some("base64") => Ok(Format::Base64),
            Some(other) => Err(ToolError(format!(
                "unsupported encoding format \"{other}\"; must be \"hex\" or \"base64\""
            ))),
        }
    }

    fn encode(self, bytes: &[u8]) -> String {
        match self {
            Format::Hex => hex::encode(bytes),
            Format::Base64 => STANDARD.encode(bytes),
        }
    }
}

/// A hash algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Algorithm {
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

impl Algorithm {
    fn parse(raw: &str) -> Result<Algorithm, ToolError> {
        match raw {
            "sha2-224" => Ok(Algorithm::Sha224),
            "" | "sha2-256" => Ok(Algorithm::Sha256),
            "sha2-384" => Ok(Algorithm::Sha384),
            "sha2-512" => Ok(Algorithm::Sha512),
            other => Err(ToolError(format!("unsupported algorithm \"{other}\""))),
        }
    }

    fn digest(self, input: &[u8]) -> Vec<u8> {
        match self {
            Algorithm::Sha224 => sha2::Sha224::digest(input).to_vec(),
            Algorithm::Sha256 => sha2::Sha256::digest(input).to_vec(),
            Algorithm::Sha384 => sha2::Sha384::digest(input).to_vec(),
            Algorithm::Sha512 => sha2::Sha512::digest(input).to_vec(),
        }
    }
}

/// `hash[/:algorithm]`: `{"sum": …}` of the base64 `input` (hex by default).
pub fn hash(path_algorithm: Option<&str>, data: &Map<String, Value>) -> Result<Value, ToolError> {
    let algorithm = match path_algorithm {
        Some(a) => a.to_string(),
        None => opt_string(data, "algorithm")?.unwrap_or_default(),
    };
    let algorithm = Algorithm::parse(&algorithm)?;
    let format = Format::parse(opt_string(data, "format")?, Format::Hex)?;
    let input = opt_string(data, "input")?.unwrap_or_default();
    let input = Zeroizing::new(
        STANDARD
            .decode(input.as_bytes())
            .map_err(|e| ToolError(format!("unable to decode input as base64: {e}")))?,
    );
    Ok(json!({ "sum": format.encode(&algorithm.digest(&input)) }))
}

/// `random[/:source][/:bytes]`: `{"random_bytes": …}` (base64 by default). The source
/// is `platform`, `seal` or `all`; with a Shamir seal all three are the OS generator.
pub fn random(path: &[&str], data: &Map<String, Value>) -> Result<Value, ToolError> {
    let (source, bytes) = match path {
        [] => (None, None),
        [one] if one.parse::<u64>().is_ok() => (None, Some((*one).to_string())),
        [one] => (Some((*one).to_string()), None),
        [source, bytes] => (Some((*source).to_string()), Some((*bytes).to_string())),
        _ => return Err(ToolError("invalid path".into())),
    };
    let source = match source {
        Some(s) => Some(s),
        None => opt_string(data, "source")?,
    };
    match source.as_deref() {
        None | Some("" | "platform" | "seal" | "all") => {}
        Some(other) => {
            return Err(ToolError(format!(
            "unsupported entropy source \"{other}\"; must be \"platform\" or \"seal\", or \"all\""
        )))
        }
    }
    let bytes = match bytes {
        Some(b) => b
            .parse::<u64>()
            .map_err(|_| ToolError(format!("unable to parse bytes as an integer: {b:?}")))?,
        None => opt_u64(data, "bytes")?.unwrap_or(32),
    };
    if bytes < 1 {
        return Err(ToolError("\"bytes\" cannot be less than 1".into()));
    }
    if bytes > MAX_RANDOM_BYTES {
        return Err(ToolError(format!(
            "\"bytes\" cannot be greater than {MAX_RANDOM_BYTES}"
        )));
    }
    let format = Format::parse(opt_string(data, "format")?, Format::Base64)?;
    let len = usize::try_from(bytes).map_err(|_| ToolError("invalid bytes".into()))?;
    let mut buf = Zeroizing::new(vec![0u8; len]);
    getrandom::fill(&mut buf).map_err(|_| ToolError("random source unavailable".into()))?;
    Ok(json!({ "random_bytes": format.encode(&buf) }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn data(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn hashes_like_the_reference() {
        // sha2-256("hello"), hex (wire reference §2.17).
        let out = hash(None, &data(json!({"input": "aGVsbG8="}))).unwrap();
        assert_eq!(
            out["sum"],
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
        let b64 = hash(
            Some("sha2-512"),
            &data(json!({"input": "aGVsbG8=", "format": "base64"})),
        )
        .unwrap();
        assert_eq!(
            STANDARD.decode(b64["sum"].as_str().unwrap()).unwrap().len(),
            64
        );
        assert!(hash(Some("md5"), &data(json!({"input": ""}))).is_err());
        assert!(hash(None, &data(json!({"input": "%%%"}))).is_err());
        assert!(hash(None, &data(json!({"input": "", "format": "raw"}))).is_err());
    }

    #[test]
    fn random_sizes_sources_and_formats() {
        let out = random(&[], &data(json!({}))).unwrap();
        assert_eq!(
            STANDARD
                .decode(out["random_bytes"].as_str().unwrap())
                .unwrap()
                .len(),
            32
        );
        let out = random(&["16"], &data(json!({"format": "hex"}))).unwrap();
        assert_eq!(out["random_bytes"].as_str().unwrap().len(), 32);
        let out = random(&["platform", "8"], &data(json!({"format": "hex"}))).unwrap();
        assert_eq!(out["random_bytes"].as_str().unwrap().len(), 16);
        assert!(random(&["nowhere"], &data(json!({}))).is_err());
        assert!(random(&[], &data(json!({"bytes": 0}))).is_err());
        assert!(random(&[], &data(json!({"bytes": MAX_RANDOM_BYTES + 1}))).is_err());
    }
}
