//! HCL1 leniency for password policies.
//!
//! Vault parses policies with HCL1, which accepts several attributes on one line —
//! `rule "charset" { charset = "0123456789" min-chars = 1 }`, as Vault's own
//! documentation writes them. `hcl-rs` speaks HCL2, where a one-line block holds at most
//! one attribute. When the text does not parse as it is, [`normalize`] rewrites it into
//! HCL2's layout — a newline after every `{`, before every `}`, and before an
//! identifier that follows a completed `name = value` on the same line — outside string
//! literals and comments, and the parser gets a second try. Nothing else changes, so
//! well-formed HCL2 never goes through here.

/// `text` with HCL1's one-line layouts broken into HCL2 lines.
pub(super) fn normalize(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() + 16);
    // The last token was `=`: the next token is a value.
    let mut after_equals = false;
    // A `name = value` completed on this line: the next identifier starts a new one.
    let mut value_done = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match c {
            '"' => {
                if value_done {
                    out.push('\n');
                    value_done = false;
                }
                let end = string_end(&chars, i);
                out.extend(&chars[i..end]);
                i = end;
                if after_equals {
                    after_equals = false;
                    value_done = true;
                }
                continue;
            }
            '#' => {
                i = copy_until_newline(&chars, i, &mut out);
                continue;
            }
            '/' if next == Some('/') => {
                i = copy_until_newline(&chars, i, &mut out);
                continue;
            }
            '/' if next == Some('*') => {
                let end = block_comment_end(&chars, i);
                out.extend(&chars[i..end]);
                i = end;
                continue;
            }
            '\n' => {
                after_equals = false;
                value_done = false;
                out.push(c);
            }
            '=' => {
                after_equals = true;
                value_done = false;
                out.push(c);
            }
            '{' => {
                after_equals = false;
                value_done = false;
                out.push_str("{\n");
            }
            '}' => {
                after_equals = false;
                value_done = false;
                out.push_str("\n}");
            }
            c if is_word(c) => {
                let start = i;
                while i < chars.len() && is_word(chars[i]) {
                    i += 1;
                }
                if value_done {
                    out.push('\n');
                    value_done = false;
                }
                out.extend(&chars[start..i]);
                if after_equals {
                    after_equals = false;
                    value_done = true;
                }
                continue;
            }
            c if c.is_whitespace() => out.push(c),
            _ => {
                after_equals = false;
                value_done = false;
                out.push(c);
            }
        }
        i += 1;
    }
    out
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '.')
}

/// Index just past the string literal starting at `start` (an opening `"`); `\` escapes
/// the next character. An unterminated string runs to the end.
fn string_end(chars: &[char], start: usize) -> usize {
    let mut i = start + 1;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            '"' => return i + 1,
            _ => i += 1,
        }
    }
    chars.len()
}

fn copy_until_newline(chars: &[char], start: usize, out: &mut String) -> usize {
    let end = chars[start..]
        .iter()
        .position(|c| *c == '\n')
        .map_or(chars.len(), |p| start + p);
    out.extend(&chars[start..end]);
    end
}

fn block_comment_end(chars: &[char], start: usize) -> usize {
    let mut i = start + 2;
    while i + 1 < chars.len() {
        if chars[i] == '*' && chars[i + 1] == '/' {
            return i + 2;
        }
        i += 1;
    }
    chars.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_one_line_blocks() {
        assert_eq!(
            normalize(r#"rule "charset" { charset = "0123456789" min-chars = 1 }"#),
            "rule \"charset\" {\n charset = \"0123456789\" \nmin-chars = 1 \n}"
        );
        assert_eq!(normalize("length = 20 rule"), "length = 20 \nrule");
    }

    #[test]
    fn leaves_strings_and_comments_alone() {
        let text = "x = \"a { b } c = \\\" d\" # { y = 1 z = 2 }\n/* { */ w = 1";
        assert_eq!(
            normalize(text),
            "x = \"a { b } c = \\\" d\" # { y = 1 z = 2 }\n/* { */ w = 1"
        );
    }
}
