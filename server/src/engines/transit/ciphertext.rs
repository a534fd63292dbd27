//! The `vault:v<N>:<base64>` strings of ciphertexts, HMACs and signatures, and Go's
//! base64 error texts for request fields.
//!
//! Parsing happens at the edge: a [`Versioned`] holds the version and the decoded bytes;
//! nothing past this module looks at the string again. Lengths are checked by the users
//! of the bytes before slicing. Errors never echo the input.

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use zeroize::Zeroizing;

use super::error::TransitError;

/// Go's `base64.StdEncoding`: padded, but lenient about non-zero trailing bits.
const GO_STD: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical),
);

/// What a prefixed value is: the error texts differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An encryption result.
    Ciphertext,
    /// A signature or an HMAC.
    Signature,
}

/// A parsed `vault:vN:` value.
#[derive(Debug)]
pub struct Versioned {
    /// The key version it was made with.
    pub version: u32,
    /// The decoded payload (nonce‖ct‖tag, a MAC or a signature).
    pub bytes: Vec<u8>,
}

/// Splits `vault:vN:payload` into the version and the payload text.
pub fn split(value: &str, kind: Kind) -> Result<(u32, &str), TransitError> {
    let (no_prefix, fields, bad_version) = match kind {
        Kind::Ciphertext => (
            TransitError::NoPrefix,
            TransitError::WrongFields,
            TransitError::BadVersion,
        ),
        Kind::Signature => (
            TransitError::SignatureNoPrefix,
            TransitError::SignatureFields,
            TransitError::SignatureVersion,
        ),
    };
    let Some(rest) = value.strip_prefix("vault:") else {
        return Err(no_prefix);
    };
    let Some((tag, payload)) = rest.split_once(':') else {
        return Err(fields);
    };
    let version = tag
        .strip_prefix('v')
        .and_then(|n| n.parse::<u32>().ok())
        .ok_or(bad_version)?;
    Ok((version, payload))
}

/// Parses a ciphertext (`vault:vN:` + std base64).
pub fn parse(value: &str) -> Result<Versioned, TransitError> {
    let (version, payload) = split(value, Kind::Ciphertext)?;
    let bytes = GO_STD
        .decode(payload)
        .map_err(|_| TransitError::CiphertextBase64)?;
    Ok(Versioned { version, bytes })
}

/// Formats `vault:vN:` + std base64 (padded) of `bytes`.
pub fn format(version: u32, bytes: &[u8]) -> String {
    let mut out = String::with_capacity(12 + bytes.len().div_ceil(3) * 4);
    out.push_str("vault:v");
    out.push_str(&version.to_string());
    out.push(':');
    STANDARD.encode_string(bytes, &mut out);
    out
}

/// Decodes a base64 request field (plaintext, context, input) as Go's
/// `base64.StdEncoding.DecodeString`, with its error text (`illegal base64 data at
/// input byte N`).
pub fn decode_field(text: &str) -> Result<Zeroizing<Vec<u8>>, TransitError> {
    GO_STD.decode(text).map(Zeroizing::new).map_err(|_| {
        TransitError::invalid(format!(
            "illegal base64 data at input byte {}",
            go_error_offset(text)
        ))
    })
}

/// The byte offset Go's decoder reports for invalid input: the first byte outside the
/// alphabet, a misplaced `=`, or the start of an incomplete final quantum.
fn go_error_offset(text: &str) -> usize {
    let bytes = text.as_bytes();
    let mut in_quantum = 0usize;
    let mut i = 0usize;
    while i < bytes.len() {
        let c = bytes[i];
        if c == b'=' {
            // `=` may only close a quantum after two or three symbols.
            if in_quantum < 2 {
                return i;
            }
            if in_quantum == 2 {
                // "xx==": the next byte must be `=` too.
                if bytes.get(i + 1) != Some(&b'=') {
                    return i + 1;
                }
                i += 1;
            }
            // Anything after the padding is an error at its offset.
            return if i + 1 < bytes.len() {
                i + 1
            } else {
                bytes.len().saturating_sub(1)
            };
        }
        if !(c.is_ascii_alphanumeric() || c == b'+' || c == b'/') {
            return i;
        }
        in_quantum = (in_quantum + 1) % 4;
        i += 1;
    }
    bytes.len() - in_quantum
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_prefix_errors() {
        let s = format(3, b"hello world");
        assert!(s.starts_with("vault:v3:"));
        let v = parse(&s).unwrap();
        assert_eq!(v.version, 3);
        assert_eq!(v.bytes, b"hello world");
        assert!(matches!(parse("v1:abc"), Err(TransitError::NoPrefix)));
        assert!(matches!(parse("vault:v1"), Err(TransitError::WrongFields)));
        assert!(matches!(
            parse("vault:x1:AAAA"),
            Err(TransitError::BadVersion)
        ));
        assert!(matches!(
            parse("vault:v1:!!"),
            Err(TransitError::CiphertextBase64)
        ));
        assert!(matches!(
            split("nope", Kind::Signature),
            Err(TransitError::SignatureNoPrefix)
        ));
    }

    #[test]
    fn go_base64_offsets() {
        let e = |s: &str| decode_field(s).unwrap_err().to_string();
        assert_eq!(e("!!!!"), "illegal base64 data at input byte 0");
        assert_eq!(e("aGV!bG8="), "illegal base64 data at input byte 3");
        assert_eq!(e("aGVsbG8"), "illegal base64 data at input byte 4");
        assert_eq!(decode_field("aGVsbG8=").unwrap().as_slice(), b"hello");
        assert_eq!(decode_field("").unwrap().len(), 0);
    }
}
