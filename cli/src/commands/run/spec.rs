//! What `strongroom run` injects, parsed at the edge into closed types: `NAME=PATH#FIELD`
//! references (from `--env` and `--env-file`), the `--on-change` policy, and durations.
//!
//! Rules: `NAME` is a valid environment variable name (`[A-Za-z_][A-Za-z0-9_]*`), `PATH`
//! is a logical path without `#` (leading `/` dropped), `FIELD` is everything after the
//! first `#` and must not be empty. A name may be set only once across all sources.
//! Env files hold one reference per line; blank lines and lines starting with `#` are
//! ignored, and an optional leading `export ` is accepted.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::output::is_env_name;

/// A bad reference, env file or flag value (a usage error: exit code 2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError(pub String);

impl std::fmt::Display for SpecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SpecError {}

/// One variable: `name` gets field `field` of the secret at `path`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct EnvRef {
    /// The environment variable.
    pub name: String,
    /// The logical path read (e.g. `secret/app`, `database/creds/app`).
    pub path: String,
    /// The field of the secret's data.
    pub field: String,
}

impl EnvRef {
    /// Parses `NAME=PATH#FIELD`.
    pub fn parse(text: &str) -> Result<EnvRef, SpecError> {
        let bad = |why: &str| SpecError(format!("invalid reference {text:?}: {why}"));
        let (name, target) = text
            .split_once('=')
            .ok_or_else(|| bad("expected NAME=PATH#FIELD"))?;
        let name = name.trim();
        if !is_env_name(name) {
            return Err(bad(
                "the name must be a valid environment variable name ([A-Za-z_][A-Za-z0-9_]*)",
            ));
        }
        let (path, field) = target
            .trim()
            .split_once('#')
            .ok_or_else(|| bad("a #FIELD is required (e.g. secret/app#password)"))?;
        let path = path.trim().trim_start_matches('/').trim_end_matches('/');
        if path.is_empty() {
            return Err(bad("the path is empty"));
        }
        if field.is_empty() {
            return Err(bad("the field after # is empty"));
        }
        Ok(EnvRef {
            name: name.to_string(),
            path: path.to_string(),
            field: field.to_string(),
        })
    }

    /// `PATH#FIELD`.
    pub fn target(&self) -> String {
        format!("{}#{}", self.path, self.field)
    }
}

/// Parses an env file's text (`source` names it in errors, with the line number).
pub fn parse_env_file(source: &str, text: &str) -> Result<Vec<EnvRef>, SpecError> {
    let mut refs = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").map(str::trim).unwrap_or(line);
        let r = EnvRef::parse(line).map_err(|e| SpecError(format!("{source}:{}: {e}", i + 1)))?;
        refs.push(r);
    }
    Ok(refs)
}

/// Every reference, each name once, in the order given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    refs: Vec<EnvRef>,
}

impl Spec {
    /// Checks that no name is set twice and that there is something to inject.
    pub fn new(refs: Vec<EnvRef>) -> Result<Spec, SpecError> {
        if refs.is_empty() {
            return Err(SpecError(
                "nothing to inject: give at least one --env NAME=PATH#FIELD or --env-file".into(),
            ));
        }
        let mut seen = BTreeSet::new();
        for r in &refs {
            if !seen.insert(r.name.as_str()) {
                return Err(SpecError(format!("the variable {} is set twice", r.name)));
            }
        }
        Ok(Spec { refs })
    }

    /// The references.
    pub fn refs(&self) -> &[EnvRef] {
        &self.refs
    }

    /// Each distinct path with the fields read from it: one read per path.
    pub fn paths(&self) -> BTreeMap<&str, BTreeSet<&str>> {
        let mut paths: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for r in &self.refs {
            paths
                .entry(r.path.as_str())
                .or_default()
                .insert(r.field.as_str());
        }
        paths
    }
}

/// Signals `strongroom run` forwards to the child, and may send on change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChildSignal {
    /// SIGHUP.
    Hup,
    /// SIGINT.
    Int,
    /// SIGQUIT.
    Quit,
    /// SIGTERM.
    Term,
    /// SIGUSR1.
    Usr1,
    /// SIGUSR2.
    Usr2,
}

impl ChildSignal {
    /// Every forwarded signal.
    pub const ALL: [ChildSignal; 6] = [
        ChildSignal::Hup,
        ChildSignal::Int,
        ChildSignal::Quit,
        ChildSignal::Term,
        ChildSignal::Usr1,
        ChildSignal::Usr2,
    ];

    /// `SIGHUP`, `HUP` or `hup` (and so on).
    pub fn parse(text: &str) -> Result<ChildSignal, SpecError> {
        let upper = text.trim().to_ascii_uppercase();
        let name = upper.strip_prefix("SIG").unwrap_or(&upper);
        Ok(match name {
            "HUP" => ChildSignal::Hup,
            "INT" => ChildSignal::Int,
            "QUIT" => ChildSignal::Quit,
            "TERM" => ChildSignal::Term,
            "USR1" => ChildSignal::Usr1,
            "USR2" => ChildSignal::Usr2,
            _ => {
                return Err(SpecError(format!(
                "unknown signal {text:?}: use SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1 or SIGUSR2"
            )))
            }
        })
    }

    /// The signal's number on this platform.
    pub fn number(self) -> i32 {
        self.nix() as i32
    }

    /// As a `nix` signal.
    pub fn nix(self) -> nix::sys::signal::Signal {
        use nix::sys::signal::Signal;
        match self {
            ChildSignal::Hup => Signal::SIGHUP,
            ChildSignal::Int => Signal::SIGINT,
            ChildSignal::Quit => Signal::SIGQUIT,
            ChildSignal::Term => Signal::SIGTERM,
            ChildSignal::Usr1 => Signal::SIGUSR1,
            ChildSignal::Usr2 => Signal::SIGUSR2,
        }
    }
}

impl std::fmt::Display for ChildSignal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.nix().as_str())
    }
}

/// What to do when a secret changes or a lease can no longer be renewed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnChange {
    /// Stop the child (SIGTERM, grace period, SIGKILL) and start it with fresh values.
    Restart,
    /// Send the child this signal; its environment stays as it is.
    Signal(ChildSignal),
    /// Stop the child and exit with status 1.
    Exit,
}

impl OnChange {
    /// `restart`, `exit` or `signal:SIGNAME`.
    pub fn parse(text: &str) -> Result<OnChange, SpecError> {
        match text.trim() {
            "restart" => Ok(OnChange::Restart),
            "exit" => Ok(OnChange::Exit),
            other => match other.strip_prefix("signal:") {
                Some(sig) => ChildSignal::parse(sig).map(OnChange::Signal),
                None => Err(SpecError(format!(
                    "invalid --on-change {other:?}: use restart, exit or signal:SIGNAME"
                ))),
            },
        }
    }
}

/// A duration: `500ms`, `5s`, `2m`, `1h`, `1m30s`, or a number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, SpecError> {
    let bad = || {
        SpecError(format!(
            "invalid duration {text:?}: use e.g. 500ms, 5s, 2m, 1h or a number of seconds"
        ))
    };
    let text = text.trim();
    if let Ok(seconds) = text.parse::<u64>() {
        return Ok(Duration::from_secs(seconds));
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        if digits == 0 {
            return Err(bad());
        }
        let number: u64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = match &rest[..unit_len] {
            "ms" => Duration::from_millis(number),
            "s" => Duration::from_secs(number),
            "m" => Duration::from_secs(number.saturating_mul(60)),
            "h" => Duration::from_secs(number.saturating_mul(3600)),
            _ => return Err(bad()),
        };
        total = total.saturating_add(unit);
        rest = &rest[unit_len..];
    }
    Ok(total)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn references_parse() {
        let r = EnvRef::parse("DB_USER=database/creds/app#username").unwrap();
        assert_eq!(
            (r.name.as_str(), r.path.as_str(), r.field.as_str()),
            ("DB_USER", "database/creds/app", "username")
        );
        let r = EnvRef::parse("_K1=/secret/app/#a#b").unwrap();
        assert_eq!((r.path.as_str(), r.field.as_str()), ("secret/app", "a#b"));
        assert_eq!(r.target(), "secret/app#a#b");
        for bad in [
            "NOEQUALS",
            "1X=secret/a#b",
            "A-B=secret/a#b",
            "=secret/a#b",
            "X=secret/app",
            "X=secret/app#",
            "X=#field",
        ] {
            assert!(EnvRef::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn env_files_skip_comments_and_report_lines() {
        let text = "# comment\n\nA=secret/a#x\nexport B = secret/b#y\n";
        let refs = parse_env_file("f.env", text).unwrap();
        assert_eq!(refs.len(), 2);
        assert_eq!(refs[1].name, "B");
        let err = parse_env_file("f.env", "A=secret/a#x\nB=nofield\n").unwrap_err();
        assert!(err.0.starts_with("f.env:2: "), "{err}");
    }

    #[test]
    fn spec_refuses_duplicates_and_groups_paths() {
        let r = |s| EnvRef::parse(s).unwrap();
        let err = Spec::new(vec![r("A=secret/a#x"), r("A=secret/b#y")]).unwrap_err();
        assert!(err.0.contains("set twice"));
        assert!(Spec::new(vec![]).is_err());
        let spec = Spec::new(vec![
            r("U=database/creds/app#username"),
            r("P=database/creds/app#password"),
            r("K=secret/app#api_key"),
        ])
        .unwrap();
        let paths = spec.paths();
        assert_eq!(paths.len(), 2);
        assert_eq!(paths["database/creds/app"].len(), 2);
    }

    #[test]
    fn on_change_and_signals() {
        assert_eq!(OnChange::parse("restart").unwrap(), OnChange::Restart);
        assert_eq!(OnChange::parse("exit").unwrap(), OnChange::Exit);
        assert_eq!(
            OnChange::parse("signal:SIGHUP").unwrap(),
            OnChange::Signal(ChildSignal::Hup)
        );
        assert_eq!(
            OnChange::parse("signal:usr1").unwrap(),
            OnChange::Signal(ChildSignal::Usr1)
        );
        assert!(OnChange::parse("signal:KILL").is_err());
        assert!(OnChange::parse("reload").is_err());
        assert_eq!(ChildSignal::Term.number(), 15);
        assert_eq!(ChildSignal::Hup.to_string(), "SIGHUP");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("2h").unwrap(), Duration::from_secs(7200));
        for bad in ["", "s", "5x", "-1s", "1.5s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
