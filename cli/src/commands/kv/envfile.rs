//! The `env` format of `kv export` / `kv import`: `NAME='value'` lines, as a shell's
//! `eval`/`source` or a `.env` loader reads them.
//!
//! Export: one variable per field of every secret, named from the secret's path relative
//! to the exported path and the field (`app/db` + `password` → `APP_DB_PASSWORD`):
//! uppercased, every character other than `A-Z`/`0-9` becomes `_`. Names that cannot be
//! variables (starting with a digit, empty) and two fields that map to the same name are
//! refused, naming paths and fields but never values. Strings are written verbatim
//! (single-quoted); other JSON values (numbers, booleans, objects) as compact JSON.
//!
//! Import: every variable becomes a string field of the one secret at the import path.
//! So the format is one-way-ish: an export of several secrets comes back as one secret
//! with `PATH_FIELD` fields, and non-string values come back as their JSON text. Use
//! JSON for round trips. The parser accepts what export writes plus the common `.env`
//! forms: `export NAME=…`, `#` comments, blank lines, unquoted, `'single'` and
//! `"double"` quoted values (with `\` escapes), values spanning lines inside quotes.

use std::collections::BTreeMap;

use anyhow::bail;
use serde_json::{Map, Value};
use zeroize::Zeroizing;

use crate::output::{is_env_name, shell_quote};

/// The variable name of `field` of the secret at relative path `rel`.
pub fn env_name(rel: &str, field: &str) -> String {
    rel.split('/')
        .filter(|s| !s.is_empty())
        .chain(std::iter::once(field))
        .collect::<Vec<_>>()
        .join("_")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

fn describe(rel: &str, field: &str) -> String {
    if rel.is_empty() {
        format!("field {field:?}")
    } else {
        format!("field {field:?} of {rel}")
    }
}

/// The `NAME='value'` lines of every field of `secrets` (relative path → fields),
/// sorted by name.
pub fn export(secrets: &BTreeMap<String, Map<String, Value>>) -> anyhow::Result<Zeroizing<String>> {
    let mut names: BTreeMap<String, (&str, &str, &Value)> = BTreeMap::new();
    for (rel, fields) in secrets {
        for (field, value) in fields {
            let name = env_name(rel, field);
            if !is_env_name(&name) {
                bail!(
                    "the {} would be the environment variable {name:?}, which is not a valid \
                     name; use --format json",
                    describe(rel, field)
                );
            }
            if let Some((other_rel, other_field, _)) = names.get(&name) {
                bail!(
                    "the {} and the {} would both be the environment variable {name}; use \
                     --format json",
                    describe(other_rel, other_field),
                    describe(rel, field)
                );
            }
            names.insert(name, (rel.as_str(), field.as_str(), value));
        }
    }
    let mut out = Zeroizing::new(String::new());
    for (name, (_, _, value)) in names {
        let text = Zeroizing::new(match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        });
        out.push_str(&name);
        out.push('=');
        out.push_str(&shell_quote(&text));
        out.push('\n');
    }
    Ok(out)
}

struct Cursor<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
    line: usize,
}

impl Cursor<'_> {
    fn next(&mut self) -> Option<char> {
        let c = self.chars.next();
        if c == Some('\n') {
            self.line += 1;
        }
        c
    }

    fn peek(&mut self) -> Option<char> {
        self.chars.peek().copied()
    }

    fn skip_blanks(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t' | '\r')) {
            self.next();
        }
    }

    fn skip_line(&mut self) {
        while let Some(c) = self.next() {
            if c == '\n' {
                break;
            }
        }
    }

    fn word(&mut self) -> String {
        let mut w = String::new();
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || c == '_' {
                w.push(c);
                self.next();
            } else {
                break;
            }
        }
        w
    }
}

/// Parses `NAME=value` lines into string fields. Errors give line numbers and names,
/// never values.
pub fn parse(text: &str) -> anyhow::Result<Map<String, Value>> {
    let mut cur = Cursor {
        chars: text.chars().peekable(),
        line: 1,
    };
    let mut fields = Map::new();
    loop {
        while matches!(cur.peek(), Some(' ' | '\t' | '\r' | '\n')) {
            cur.next();
        }
        match cur.peek() {
            None => break,
            Some('#') => {
                cur.skip_line();
                continue;
            }
            _ => {}
        }
        let line = cur.line;
        let mut name = cur.word();
        if name == "export" && matches!(cur.peek(), Some(' ' | '\t')) {
            cur.skip_blanks();
            name = cur.word();
        }
        if !is_env_name(&name) || cur.next() != Some('=') {
            bail!("line {line}: expected NAME=value with a valid variable name");
        }
        let value = Zeroizing::new(value(&mut cur, line)?);
        cur.skip_blanks();
        match cur.peek() {
            None | Some('\n') => {}
            Some('#') => cur.skip_line(),
            Some(_) => bail!(
                "line {line}: unexpected text after the value of {name} (quote values that \
                 contain spaces)"
            ),
        }
        if fields.contains_key(&name) {
            bail!("line {line}: {name} is set twice");
        }
        fields.insert(name, Value::String(value.as_str().to_string()));
    }
    Ok(fields)
}

/// One shell word: unquoted, `'…'` and `"…"` parts, concatenated.
fn value(cur: &mut Cursor<'_>, line: usize) -> anyhow::Result<String> {
    let mut out = String::new();
    while let Some(c) = cur.peek() {
        match c {
            ' ' | '\t' | '\r' | '\n' => break,
            '\'' => {
                cur.next();
                loop {
                    match cur.next() {
                        Some('\'') => break,
                        Some(c) => out.push(c),
                        None => bail!("line {line}: unterminated single quote"),
                    }
                }
            }
            '"' => {
                cur.next();
                loop {
                    match cur.next() {
                        Some('"') => break,
                        Some('\\') => match cur.next() {
                            Some('\n') => {}
                            Some(e @ ('$' | '`' | '"' | '\\')) => out.push(e),
                            Some(other) => {
                                out.push('\\');
                                out.push(other);
                            }
                            None => bail!("line {line}: unterminated double quote"),
                        },
                        Some(c) => out.push(c),
                        None => bail!("line {line}: unterminated double quote"),
                    }
                }
            }
            '\\' => {
                cur.next();
                match cur.next() {
                    Some('\n') | None => {}
                    Some(e) => out.push(e),
                }
            }
            other => {
                cur.next();
                out.push(other);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tree(v: Value) -> BTreeMap<String, Map<String, Value>> {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn names() {
        assert_eq!(env_name("app/db", "password"), "APP_DB_PASSWORD");
        assert_eq!(env_name("", "api-key"), "API_KEY");
        assert_eq!(env_name("my.app", "x"), "MY_APP_X");
        assert_eq!(env_name("", "1x"), "1X");
    }

    #[test]
    fn export_round_trips_through_parse() {
        let secrets = tree(json!({
            "": {"token": "it's a \"secret\"\nline2 $HOME `x` \\"},
            "app/db": {"user": "u", "port": 5432, "tls": {"on": true}}
        }));
        let text = export(&secrets).unwrap();
        let parsed = parse(&text).unwrap();
        assert_eq!(
            Value::Object(parsed),
            json!({
                "TOKEN": "it's a \"secret\"\nline2 $HOME `x` \\",
                "APP_DB_USER": "u",
                "APP_DB_PORT": "5432",
                "APP_DB_TLS": "{\"on\":true}"
            })
        );
    }

    #[test]
    fn export_refuses_collisions_and_bad_names_without_values() {
        let e = export(&tree(
            json!({"a": {"b_c": "SECRET1"}, "a/b": {"c": "SECRET2"}}),
        ))
        .unwrap_err()
        .to_string();
        assert!(e.contains("A_B_C"), "{e}");
        assert!(!e.contains("SECRET"), "{e}");
        let e = export(&tree(json!({"": {"9lives": "SECRET"}})))
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a valid name"), "{e}");
        assert!(!e.contains("SECRET"), "{e}");
    }

    #[test]
    fn parse_common_dotenv_forms() {
        let text = "# comment\n\nexport A=plain\nB=\"dq \\\"x\\\" \\$y\"\nC='sq'  # trailing\nD=\nE=a'b c'd\n";
        let m = parse(text).unwrap();
        assert_eq!(
            Value::Object(m),
            json!({"A": "plain", "B": "dq \"x\" $y", "C": "sq", "D": "", "E": "ab cd"})
        );
    }

    #[test]
    fn parse_errors_name_lines_not_values() {
        for (text, want) in [
            ("A=1\nnot a line SECRET\n", "line 2"),
            ("A='SECRET\n", "unterminated single quote"),
            ("A=SECRET more\n", "unexpected text"),
            ("A=1\nA=SECRET\n", "A is set twice"),
            ("1A=SECRET\n", "line 1"),
        ] {
            let e = parse(text).unwrap_err().to_string();
            assert!(e.contains(want), "{text:?}: {e}");
            assert!(!e.contains("SECRET"), "{e}");
        }
    }
}
