//! Reading secrets (unseal and rekey key shares).
//!
//! A key share is read from a hidden prompt (`rpassword`, on the controlling terminal)
//! when stdin is a terminal, otherwise as one line from stdin (`… | strongroom operator
//! unseal`, `strongroom operator unseal < share.txt`). It is never taken from the command
//! line, where it would end up in shell history and the process list: commands that read
//! a share refuse positional arguments with [`argv_secret_error`].
//!
//! Secrets are held in [`Zeroizing`] buffers that are wiped on drop. The stdin buffer is
//! allocated once at its maximum size so that reading never reallocates (which would
//! leave unwiped copies behind), and nothing read is ever echoed, even in errors.

use std::ffi::OsString;
use std::io::{BufRead, IsTerminal};

use anyhow::{bail, Context};
use zeroize::Zeroizing;

/// Longest secret accepted, in bytes (a share is well under 200 characters).
pub const MAX_SECRET_LEN: usize = 4096;

/// Reads one secret: from a hidden `prompt` when stdin is a terminal, else one line of stdin.
/// Surrounding whitespace is trimmed; an empty secret is an error.
pub fn read_secret(prompt: &str) -> anyhow::Result<Zeroizing<String>> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        let typed = Zeroizing::new(
            rpassword::prompt_password(prompt).context("reading the key from the terminal")?,
        );
        trimmed_nonempty(typed, "no key was entered")
    } else {
        read_line_from(stdin.lock())
    }
}

/// Like [`read_secret`] for a secret other than a key share (a password, a token, a
/// secret id): `what` names it in the error messages.
pub fn read_named_secret(prompt: &str, what: &str) -> anyhow::Result<Zeroizing<String>> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        let typed = Zeroizing::new(
            rpassword::prompt_password(prompt)
                .with_context(|| format!("reading the {what} from the terminal"))?,
        );
        trimmed_nonempty(typed, &format!("no {what} was entered"))
    } else {
        read_named_line_from(stdin.lock(), what)
    }
}

/// Like [`read_line_from`] for a secret other than a key share: `what` names it in the
/// error messages.
pub fn read_named_line_from<R: BufRead>(
    reader: R,
    what: &str,
) -> anyhow::Result<Zeroizing<String>> {
    read_bounded_line(
        reader,
        what,
        &format!("no {what} was given on stdin (pipe it on one line)"),
    )
}

/// Reads the first line of `reader` as a secret (the line break and surrounding
/// whitespace are dropped). Fails without echoing anything when the input is empty,
/// longer than [`MAX_SECRET_LEN`] or not UTF-8.
pub fn read_line_from<R: BufRead>(reader: R) -> anyhow::Result<Zeroizing<String>> {
    read_bounded_line(
        reader,
        "key",
        "no key was given on stdin (pipe one key share, on one line)",
    )
}

/// The first line of `reader`, bounded by [`MAX_SECRET_LEN`], trimmed and non-empty;
/// errors name the secret as `what` and never quote it.
fn read_bounded_line<R: BufRead>(
    reader: R,
    what: &str,
    empty_message: &str,
) -> anyhow::Result<Zeroizing<String>> {
    // One byte more than allowed, to tell "exactly at the limit" from "too long".
    let limit = MAX_SECRET_LEN + 1;
    let mut line = Zeroizing::new(String::with_capacity(limit));
    let mut bounded = reader.take(limit as u64);
    match bounded.read_line(&mut line) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
            bail!("the {what} read from stdin is not valid UTF-8")
        }
        Err(e) => bail!("reading the {what} from stdin: {}", e.kind()),
    }
    let content_len = line.trim_end_matches(['\r', '\n']).len();
    if content_len > MAX_SECRET_LEN {
        bail!("the {what} read from stdin is longer than {MAX_SECRET_LEN} bytes");
    }
    trimmed_nonempty(line, empty_message)
}

fn trimmed_nonempty(
    secret: Zeroizing<String>,
    empty_message: &str,
) -> anyhow::Result<Zeroizing<String>> {
    let trimmed = secret.trim();
    if trimmed.is_empty() {
        bail!("{empty_message}");
    }
    if trimmed.len() == secret.len() {
        return Ok(secret);
    }
    // `secret` is wiped when it goes out of scope here.
    Ok(Zeroizing::new(trimmed.to_string()))
}

/// The usage error for a command that was given positional arguments where it reads a
/// key share (`what`, e.g. "unseal key") from the prompt or stdin. The arguments are
/// never echoed: at most the name of something that looks like a flag is shown.
pub fn argv_secret_error(command: &str, what: &str, args: &[OsString]) -> String {
    let first = args.first().and_then(|a| a.to_str()).unwrap_or("");
    let mut msg = if first.starts_with('-') {
        let flag = first.split('=').next().unwrap_or(first);
        format!("unexpected argument '{flag}' for `{command}` (values are not shown, in case one is a key).\n")
    } else {
        String::new()
    };
    msg.push_str(&format!(
        "`{command}` never takes the {what} as a command-line argument: there it\n\
         would be recorded in your shell history and visible to other users in the process\n\
         list. Type it at the hidden prompt instead (run the command in a terminal without\n\
         the key), or pipe it on stdin, for example:\n\
         \n    {command} < key-share.txt"
    ));
    msg
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn read(input: &[u8]) -> anyhow::Result<String> {
        read_line_from(input).map(|s| s.as_str().to_string())
    }

    #[test]
    fn reads_first_line_and_trims() {
        assert_eq!(read(b"abcdef\n").unwrap(), "abcdef");
        assert_eq!(read(b"  abcdef \r\nsecond line\n").unwrap(), "abcdef");
        assert_eq!(read(b"no-newline").unwrap(), "no-newline");
    }

    #[test]
    fn empty_input_is_an_error() {
        for input in [&b""[..], b"\n", b"   \n", b"\r\n"] {
            let err = read(input).unwrap_err().to_string();
            assert!(err.contains("no key was given"), "{err}");
        }
    }

    #[test]
    fn limit_is_enforced_without_echo() {
        let exact = "k".repeat(MAX_SECRET_LEN);
        assert_eq!(read(format!("{exact}\n").as_bytes()).unwrap(), exact);
        let long = "s".repeat(MAX_SECRET_LEN + 1);
        let err = read(long.as_bytes()).unwrap_err().to_string();
        assert!(err.contains("longer than"), "{err}");
        assert!(!err.contains("sss"));
    }

    #[test]
    fn invalid_utf8_is_an_error_without_echo() {
        let err = read(b"ab\xffcd\n").unwrap_err().to_string();
        assert!(err.contains("not valid UTF-8"), "{err}");
        assert!(!err.contains("ab"));
    }

    #[test]
    fn named_secrets_say_what_they_are() {
        let read = |input: &[u8]| read_named_line_from(input, "password").map(|s| s.to_string());
        assert_eq!(read(b"  pw d \n").unwrap(), "pw d");
        let err = read(b"\n").unwrap_err().to_string();
        assert_eq!(err, "no password was given on stdin (pipe it on one line)");
        let err = read(b"p\xffw\n").unwrap_err().to_string();
        assert_eq!(err, "the password read from stdin is not valid UTF-8");
    }

    #[test]
    fn argv_error_never_echoes_values() {
        let msg = argv_secret_error(
            "strongroom operator unseal",
            "unseal key",
            &["deadbeefcafe".into()],
        );
        assert!(!msg.contains("deadbeefcafe"));
        assert!(msg.contains("strongroom operator unseal < key-share.txt"));
        let msg = argv_secret_error(
            "strongroom operator unseal",
            "unseal key",
            &["--key=deadbeef".into()],
        );
        assert!(msg.contains("'--key'"), "{msg}");
        assert!(!msg.contains("deadbeef"));
    }
}
