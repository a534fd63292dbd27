//! The data arguments of `kv put`, `kv patch` and `write`: how a secret's fields are
//! given without having to put the values on the command line.
//!
//! - `key=value`: a string field (in shell history and the process list: fine for
//!   non-secrets only);
//! - `key=@FILE`: the field's value is the contents of FILE, verbatim;
//! - `key=-`: the value is read from a hidden prompt when stdin is a terminal (through
//!   [`crate::secret_input`]), else it is all of stdin less one trailing line break (so
//!   multi-line values such as PEM keys work); at most one field may do this;
//! - `-` alone: a JSON object read from stdin holds all the fields (values keep their
//!   JSON types);
//! - `@FILE` alone: the same, from a JSON file.
//!
//! Errors name arguments by position or by field name, never by value.

use std::io::{IsTerminal, Read};
use std::path::Path;

use anyhow::{bail, Context as _};
use serde_json::{Map, Value};
use zeroize::Zeroizing;

use super::UsageError;
use crate::secret_input;

/// Largest JSON document or file read for data (the server's request body limit).
pub const MAX_DATA_LEN: usize = 32 * 1024 * 1024;

/// Parses `args` into the fields to write. An empty `args` gives an empty map (the
/// caller decides whether that is allowed).
pub fn parse(args: &[String]) -> anyhow::Result<Map<String, Value>> {
    parse_with(args, &mut Stdin)
}

/// Where `-` and `key=-` read from.
pub trait DataSource {
    /// The whole of stdin (for `-`).
    fn all(&mut self) -> anyhow::Result<Zeroizing<String>>;
    /// One secret value (for `key=-`), prompted with `prompt` on a terminal.
    fn one(&mut self, prompt: &str) -> anyhow::Result<Zeroizing<String>>;
}

struct Stdin;

impl DataSource for Stdin {
    fn all(&mut self) -> anyhow::Result<Zeroizing<String>> {
        read_limited(std::io::stdin().lock(), "stdin")
    }

    fn one(&mut self, prompt: &str) -> anyhow::Result<Zeroizing<String>> {
        if std::io::stdin().is_terminal() {
            return secret_input::read_secret(prompt);
        }
        let all = read_limited(std::io::stdin().lock(), "stdin")?;
        Ok(strip_newline(all))
    }
}

/// `text` without one trailing line break (`\n` or `\r\n`), so `echo value |` and
/// files ending in a newline give the value itself.
pub fn strip_newline(text: Zeroizing<String>) -> Zeroizing<String> {
    let end = text
        .strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .map(str::len);
    match end {
        Some(len) => Zeroizing::new(text[..len].to_string()),
        None => text,
    }
}

/// Reads all of `reader` (at most [`MAX_DATA_LEN`] bytes, UTF-8) into a wiped buffer.
pub fn read_limited<R: Read>(reader: R, what: &str) -> anyhow::Result<Zeroizing<String>> {
    let mut bytes = Zeroizing::new(Vec::with_capacity(64 * 1024));
    reader
        .take(MAX_DATA_LEN as u64 + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("reading {what}"))?;
    if bytes.len() > MAX_DATA_LEN {
        bail!("{what} is larger than {MAX_DATA_LEN} bytes");
    }
    match std::str::from_utf8(&bytes) {
        Ok(text) => Ok(Zeroizing::new(text.to_string())),
        Err(_) => bail!("{what} is not valid UTF-8"),
    }
}

/// Reads a whole file into a wiped buffer (at most [`MAX_DATA_LEN`] bytes, UTF-8).
pub fn read_file(path: &Path) -> anyhow::Result<Zeroizing<String>> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    read_limited(file, &path.display().to_string())
}

/// A JSON object from `text`; `what` names the source in errors (which never quote it).
pub fn json_object(text: &str, what: &str) -> anyhow::Result<Map<String, Value>> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => bail!("{what} must hold a JSON object of fields"),
        Err(e) => bail!(
            "{what} is not valid JSON (line {}, column {})",
            e.line(),
            e.column()
        ),
    }
}

/// [`parse`] reading `-` and `key=-` from `source`.
pub fn parse_with(
    args: &[String],
    source: &mut dyn DataSource,
) -> anyhow::Result<Map<String, Value>> {
    if let [only] = args {
        if only == "-" {
            let text = source.all()?;
            return json_object(&text, "the JSON read from stdin");
        }
        if let Some(file) = only.strip_prefix('@') {
            let text = read_file(Path::new(file))?;
            return json_object(&text, &format!("the file {file}"));
        }
    }
    let mut fields = Map::new();
    let mut stdin_used = false;
    for (i, arg) in args.iter().enumerate() {
        let position = i + 1;
        if arg == "-" || arg.starts_with('@') {
            return Err(UsageError(format!(
                "data argument {position}: `-` and `@FILE` (a whole JSON object) must be the \
                 only data argument"
            ))
            .into());
        }
        let Some((key, value)) = arg.split_once('=') else {
            return Err(UsageError(format!(
                "data argument {position} is not of the form key=value (its value is not shown)"
            ))
            .into());
        };
        if key.is_empty() {
            return Err(UsageError(format!("data argument {position} has an empty key")).into());
        }
        if fields.contains_key(key) {
            return Err(UsageError(format!("the field {key:?} is given twice")).into());
        }
        let value = if value == "-" {
            if stdin_used {
                return Err(UsageError(
                    "only one field can be read from stdin (key=-)".to_string(),
                )
                .into());
            }
            stdin_used = true;
            let secret = source.one(&format!("Value for {key}: "))?;
            secret.as_str().to_string()
        } else if let Some(file) = value.strip_prefix('@') {
            read_file(Path::new(file))
                .with_context(|| format!("reading the value of {key:?}"))?
                .as_str()
                .to_string()
        } else {
            value.to_string()
        };
        fields.insert(key.to_string(), Value::String(value));
    }
    Ok(fields)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    struct Fake {
        all: &'static str,
        one: &'static str,
    }

    impl DataSource for Fake {
        fn all(&mut self) -> anyhow::Result<Zeroizing<String>> {
            Ok(Zeroizing::new(self.all.to_string()))
        }
        fn one(&mut self, _prompt: &str) -> anyhow::Result<Zeroizing<String>> {
            Ok(Zeroizing::new(self.one.to_string()))
        }
    }

    fn parse_fake(args: &[&str]) -> anyhow::Result<Map<String, Value>> {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        parse_with(
            &args,
            &mut Fake {
                all: r#"{"n": 5, "s": "x"}"#,
                one: "s3cret",
            },
        )
    }

    #[test]
    fn pairs_stdin_value_and_json() {
        let m = parse_fake(&["a=1", "b=", "c=x=y", "pw=-"]).unwrap();
        assert_eq!(
            Value::Object(m),
            json!({"a": "1", "b": "", "c": "x=y", "pw": "s3cret"})
        );
        let m = parse_fake(&["-"]).unwrap();
        assert_eq!(Value::Object(m), json!({"n": 5, "s": "x"}));
        assert!(parse_fake(&[]).unwrap().is_empty());
    }

    #[test]
    fn one_trailing_newline_is_stripped() {
        let strip = |s: &str| {
            strip_newline(Zeroizing::new(s.to_string()))
                .as_str()
                .to_string()
        };
        assert_eq!(strip("v\n"), "v");
        assert_eq!(strip("v\r\n"), "v");
        assert_eq!(strip("a\nb\n\n"), "a\nb\n");
        assert_eq!(strip(" v "), " v ");
    }

    #[test]
    fn file_values() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("v.txt");
        std::fs::write(&file, "line1\nline2\n").unwrap();
        let arg = format!("cert=@{}", file.display());
        let m = parse_fake(&[&arg]).unwrap();
        assert_eq!(m["cert"], "line1\nline2\n");
        let json_file = dir.path().join("d.json");
        std::fs::write(&json_file, r#"{"k": true}"#).unwrap();
        let m = parse_fake(&[&format!("@{}", json_file.display())]).unwrap();
        assert_eq!(m["k"], true);
        assert!(parse_fake(&["x=@/nonexistent/file"]).is_err());
    }

    #[test]
    fn usage_errors_never_show_values() {
        for args in [
            &["secretvalue"][..],
            &["a=1", "-"],
            &["=secretvalue"],
            &["a=1", "a=secretvalue"],
            &["a=-", "b=-"],
        ] {
            let err = parse_fake(args).unwrap_err();
            assert!(
                err.downcast_ref::<UsageError>().is_some(),
                "{args:?}: {err}"
            );
            assert!(!err.to_string().contains("secretvalue"), "{err}");
        }
        let err = Fake {
            all: "[1]",
            one: "",
        };
        let mut err_source = err;
        let e = parse_with(&["-".to_string()], &mut err_source).unwrap_err();
        assert!(e.to_string().contains("JSON object"), "{e}");
        let e = json_object("{\"pw\": \"secretvalue\"", "x").unwrap_err();
        assert!(!e.to_string().contains("secretvalue"), "{e}");
    }
}
