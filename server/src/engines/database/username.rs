//! `username_template` of a connection: the common subset of Vault's Go-template
//! username templates.
//!
//! Supported: literal text; `{{.DisplayName}}`, `{{.RoleName}}`; string and integer
//! literals; parentheses; pipelines (`{{.RoleName | truncate 8}}`, the piped value is the
//! last argument); the functions `random N`, `truncate N s`, `truncate_sha256 N s`,
//! `uppercase s`, `lowercase s`, `replace old new s`, `sha256 s`, `base64 s`, `unix_time`,
//! `unix_time_millis`, `uuid` and `printf` (verbs `%s`, `%d`, `%v`, `%%`); `{{-` / `-}}`
//! whitespace trimming. Anything else (`timestamp`, `if`, variables, other fields) is a
//! parse error, so a template is refused when the connection is written, never half
//! rendered when credentials are issued.
//!
//! Without a template the driver's default applies ([`generate_username`](super::driver::generate_username)).
//! A rendered name is still checked by the driver's `validate_username` before any SQL
//! sees it, so a template can never produce a quote.

use base64::Engine as _;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

/// A parse or render failure; the message is for the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub(super) struct TemplateError(String);

fn err<T>(message: impl Into<String>) -> Result<T, TemplateError> {
    Err(TemplateError(message.into()))
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct UsernameTemplate {
    nodes: Vec<Node>,
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Text(String),
    Action(Expr),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    DisplayName,
    RoleName,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Func {
    Random,
    Truncate,
    TruncateSha256,
    Uppercase,
    Lowercase,
    Replace,
    Sha256,
    Base64,
    UnixTime,
    UnixTimeMillis,
    Uuid,
    Printf,
}

impl Func {
    fn parse(name: &str) -> Result<Func, TemplateError> {
        Ok(match name {
            "random" => Func::Random,
            "truncate" => Func::Truncate,
            "truncate_sha256" => Func::TruncateSha256,
            "uppercase" => Func::Uppercase,
            "lowercase" => Func::Lowercase,
            "replace" => Func::Replace,
            "sha256" => Func::Sha256,
            "base64" => Func::Base64,
            "unix_time" => Func::UnixTime,
            "unix_time_millis" => Func::UnixTimeMillis,
            "uuid" => Func::Uuid,
            "printf" => Func::Printf,
            other => return err(format!("function {other:?} not defined")),
        })
    }

    /// Accepted argument counts (min, max).
    fn arity(self) -> (usize, usize) {
        match self {
            Func::UnixTime | Func::UnixTimeMillis | Func::Uuid => (0, 0),
            Func::Random | Func::Uppercase | Func::Lowercase | Func::Sha256 | Func::Base64 => {
                (1, 1)
            }
            Func::Truncate | Func::TruncateSha256 => (2, 2),
            Func::Replace => (3, 3),
            Func::Printf => (1, usize::MAX),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Expr {
    Field(Field),
    Str(String),
    Int(i64),
    Call(Func, Vec<Expr>),
}

/// What a template is rendered with.
#[derive(Debug, Clone, Copy)]
pub(super) struct Names<'a> {
    /// `.DisplayName`: the caller's token display name.
    pub display_name: &'a str,
    /// `.RoleName`: the role the credential is for.
    pub role_name: &'a str,
}

impl UsernameTemplate {
    /// Parses and test-renders a template (so arity and type errors surface now).
    pub(super) fn parse(text: &str) -> Result<UsernameTemplate, TemplateError> {
        let mut nodes = Vec::new();
        let mut rest = text;
        let mut trim_next = false;
        while let Some(open) = rest.find("{{") {
            let mut literal = &rest[..open];
            if trim_next {
                literal = literal.trim_start();
            }
            let after = &rest[open + 2..];
            let close = after
                .find("}}")
                .ok_or_else(|| TemplateError("unclosed action".into()))?;
            let mut action = &after[..close];
            if let Some(a) = action.strip_prefix("- ") {
                literal = literal.trim_end();
                action = a;
            }
            trim_next = false;
            if let Some(a) = action.strip_suffix(" -") {
                trim_next = true;
                action = a;
            }
            if !literal.is_empty() {
                nodes.push(Node::Text(literal.to_string()));
            }
            nodes.push(Node::Action(parse_action(action)?));
            rest = &after[close + 2..];
        }
        let tail = if trim_next { rest.trim_start() } else { rest };
        if tail.contains("}}") {
            return err("unexpected \"}}\" outside an action");
        }
        if !tail.is_empty() {
            nodes.push(Node::Text(tail.to_string()));
        }
        let template = UsernameTemplate { nodes };
        template.render(
            Names {
                display_name: "token",
                role_name: "role",
            },
            OffsetDateTime::UNIX_EPOCH,
        )?;
        Ok(template)
    }

    /// Renders the template.
    pub(super) fn render(
        &self,
        names: Names<'_>,
        now: OffsetDateTime,
    ) -> Result<String, TemplateError> {
        let mut out = String::new();
        for node in &self.nodes {
            match node {
                Node::Text(t) => out.push_str(t),
                Node::Action(e) => out.push_str(&eval(e, names, now)?.to_text()),
            }
        }
        Ok(out)
    }
}

// --- Parsing ---

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Field(String),
    Ident(String),
    Str(String),
    Int(i64),
    Open,
    Close,
    Pipe,
}

fn tokenize(action: &str) -> Result<Vec<Token>, TemplateError> {
    let mut tokens = Vec::new();
    let mut chars = action.char_indices().peekable();
    while let Some(&(at, c)) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' => {
                chars.next();
                tokens.push(Token::Open);
            }
            ')' => {
                chars.next();
                tokens.push(Token::Close);
            }
            '|' => {
                chars.next();
                tokens.push(Token::Pipe);
            }
            '"' => {
                chars.next();
                let mut s = String::new();
                loop {
                    match chars.next() {
                        None => return err("unterminated quoted string"),
                        Some((_, '"')) => break,
                        Some((_, '\\')) => match chars.next() {
                            Some((_, 'n')) => s.push('\n'),
                            Some((_, 't')) => s.push('\t'),
                            Some((_, c @ ('\\' | '"'))) => s.push(c),
                            _ => return err("invalid escape in quoted string"),
                        },
                        Some((_, c)) => s.push(c),
                    }
                }
                tokens.push(Token::Str(s));
            }
            '`' => {
                chars.next();
                let mut s = String::new();
                loop {
                    match chars.next() {
                        None => return err("unterminated raw string"),
                        Some((_, '`')) => break,
                        Some((_, c)) => s.push(c),
                    }
                }
                tokens.push(Token::Str(s));
            }
            _ => {
                let word_end = action[at..]
                    .find(|c: char| c.is_whitespace() || matches!(c, '(' | ')' | '|' | '"' | '`'))
                    .map_or(action.len(), |n| at + n);
                let word = &action[at..word_end];
                while chars.peek().is_some_and(|&(i, _)| i < word_end) {
                    chars.next();
                }
                tokens.push(word_token(word)?);
            }
        }
    }
    Ok(tokens)
}

fn word_token(word: &str) -> Result<Token, TemplateError> {
    if let Some(field) = word.strip_prefix('.') {
        return Ok(Token::Field(field.to_string()));
    }
    if word.starts_with(|c: char| c.is_ascii_digit() || c == '-') {
        return word
            .parse::<i64>()
            .map(Token::Int)
            .or_else(|_| err(format!("bad number syntax: {word:?}")));
    }
    if word.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Ok(Token::Ident(word.to_string()));
    }
    err(format!("unexpected {word:?} in action"))
}

fn parse_action(action: &str) -> Result<Expr, TemplateError> {
    let tokens = tokenize(action)?;
    if tokens.is_empty() {
        return err("missing value for command");
    }
    let mut pos = 0;
    let expr = parse_pipeline(&tokens, &mut pos)?;
    if pos != tokens.len() {
        return err("unexpected \")\" in action");
    }
    Ok(expr)
}

/// `command ('|' command)*`, stopping at `)` or the end.
fn parse_pipeline(tokens: &[Token], pos: &mut usize) -> Result<Expr, TemplateError> {
    let mut value = parse_command(tokens, pos, None)?;
    while tokens.get(*pos) == Some(&Token::Pipe) {
        *pos += 1;
        value = parse_command(tokens, pos, Some(value))?;
    }
    Ok(value)
}

/// One command: a function with arguments (plus the piped value), or a single operand.
fn parse_command(
    tokens: &[Token],
    pos: &mut usize,
    piped: Option<Expr>,
) -> Result<Expr, TemplateError> {
    let mut terms = Vec::new();
    let mut head = None;
    if let Some(Token::Ident(name)) = tokens.get(*pos) {
        head = Some(Func::parse(name)?);
        *pos += 1;
    }
    while let Some(token) = tokens.get(*pos) {
        if matches!(token, Token::Pipe | Token::Close) {
            break;
        }
        terms.push(parse_term(tokens, pos)?);
    }
    match head {
        Some(func) => {
            terms.extend(piped);
            call(func, terms)
        }
        None => {
            if piped.is_some() {
                return err("non-function in a pipeline stage");
            }
            let mut terms = terms.into_iter();
            match (terms.next(), terms.next()) {
                (Some(only), None) => Ok(only),
                (None, _) => err("missing value for command"),
                (Some(_), Some(_)) => err("can't give argument to non-function"),
            }
        }
    }
}

fn call(func: Func, args: Vec<Expr>) -> Result<Expr, TemplateError> {
    let (min, max) = func.arity();
    if args.len() < min || args.len() > max {
        return err(format!(
            "wrong number of args for {func:?}: got {}",
            args.len()
        ));
    }
    Ok(Expr::Call(func, args))
}

fn parse_term(tokens: &[Token], pos: &mut usize) -> Result<Expr, TemplateError> {
    let token = tokens
        .get(*pos)
        .ok_or_else(|| TemplateError("missing value".into()))?;
    *pos += 1;
    Ok(match token {
        Token::Field(name) => Expr::Field(match name.as_str() {
            "DisplayName" => Field::DisplayName,
            "RoleName" => Field::RoleName,
            other => {
                return err(format!(
                    "unknown field .{other} (use .DisplayName or .RoleName)"
                ))
            }
        }),
        Token::Str(s) => Expr::Str(s.clone()),
        Token::Int(n) => Expr::Int(*n),
        Token::Ident(name) => call(Func::parse(name)?, Vec::new())?,
        Token::Open => {
            let inner = parse_pipeline(tokens, pos)?;
            if tokens.get(*pos) != Some(&Token::Close) {
                return err("unclosed left paren");
            }
            *pos += 1;
            inner
        }
        Token::Close | Token::Pipe => return err("unexpected token in operand"),
    })
}

// --- Rendering ---

#[derive(Debug, Clone, PartialEq)]
enum Val {
    Str(String),
    Int(i64),
}

impl Val {
    fn to_text(&self) -> String {
        match self {
            Val::Str(s) => s.clone(),
            Val::Int(n) => n.to_string(),
        }
    }

    fn int(&self, func: Func) -> Result<i64, TemplateError> {
        match self {
            Val::Int(n) => Ok(*n),
            Val::Str(_) => err(format!("{func:?}: expected an integer argument")),
        }
    }

    fn length(&self, func: Func) -> Result<usize, TemplateError> {
        usize::try_from(self.int(func)?)
            .or_else(|_| err(format!("{func:?}: length must not be negative")))
    }

    fn string(&self, func: Func) -> Result<&str, TemplateError> {
        match self {
            Val::Str(s) => Ok(s),
            Val::Int(_) => err(format!("{func:?}: expected a string argument")),
        }
    }
}

fn eval(expr: &Expr, names: Names<'_>, now: OffsetDateTime) -> Result<Val, TemplateError> {
    Ok(match expr {
        Expr::Field(Field::DisplayName) => Val::Str(names.display_name.to_string()),
        Expr::Field(Field::RoleName) => Val::Str(names.role_name.to_string()),
        Expr::Str(s) => Val::Str(s.clone()),
        Expr::Int(n) => Val::Int(*n),
        Expr::Call(func, args) => {
            let args = args
                .iter()
                .map(|a| eval(a, names, now))
                .collect::<Result<Vec<_>, _>>()?;
            apply(*func, &args, now)?
        }
    })
}

fn apply(func: Func, args: &[Val], now: OffsetDateTime) -> Result<Val, TemplateError> {
    let arg = |i: usize| {
        args.get(i)
            .ok_or_else(|| TemplateError(format!("{func:?}: missing argument")))
    };
    Ok(match func {
        Func::Random => {
            let n = arg(0)?.length(func)?;
            if n > 1024 {
                return err("random: length must be at most 1024");
            }
            Val::Str(random_alnum(n)?)
        }
        Func::Truncate => Val::Str(truncate(arg(1)?.string(func)?, arg(0)?.length(func)?)),
        Func::TruncateSha256 => {
            let n = arg(0)?.length(func)?;
            let s = arg(1)?.string(func)?;
            if s.len() <= n {
                Val::Str(s.to_string())
            } else if n <= 8 {
                Val::Str(truncate(&sha256_hex(s), n))
            } else {
                Val::Str(format!(
                    "{}{}",
                    truncate(s, n - 8),
                    truncate(&sha256_hex(s), 8)
                ))
            }
        }
        Func::Uppercase => Val::Str(arg(0)?.string(func)?.to_uppercase()),
        Func::Lowercase => Val::Str(arg(0)?.string(func)?.to_lowercase()),
        Func::Replace => Val::Str(
            arg(2)?
                .string(func)?
                .replace(arg(0)?.string(func)?, arg(1)?.string(func)?),
        ),
        Func::Sha256 => Val::Str(sha256_hex(arg(0)?.string(func)?)),
        Func::Base64 => {
            Val::Str(base64::engine::general_purpose::STANDARD.encode(arg(0)?.string(func)?))
        }
        Func::UnixTime => Val::Int(now.unix_timestamp()),
        Func::UnixTimeMillis => {
            Val::Int(i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX))
        }
        Func::Uuid => Val::Str(uuid::Uuid::new_v4().to_string()),
        Func::Printf => Val::Str(printf(arg(0)?.string(func)?, &args[1..])?),
    })
}

/// At most `n` bytes of `s`, cut at a character boundary.
fn truncate(s: &str, n: usize) -> String {
    if s.len() <= n {
        return s.to_string();
    }
    let mut end = n;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// `n` characters from `[A-Za-z0-9]`, uniformly.
fn random_alnum(n: usize) -> Result<String, TemplateError> {
    crate::encoding::random_base62(n).or_else(|_| err("random: the OS random source failed"))
}

/// Go's `printf` for the verbs usernames need.
fn printf(format: &str, args: &[Val]) -> Result<String, TemplateError> {
    let mut out = String::new();
    let mut args = args.iter();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('%') => out.push('%'),
            Some(verb @ ('s' | 'd' | 'v')) => {
                let value = args.next().ok_or_else(|| {
                    TemplateError(format!("printf: missing argument for %{verb}"))
                })?;
                match (verb, value) {
                    ('d', Val::Str(_)) => return err("printf: %d needs an integer"),
                    _ => out.push_str(&value.to_text()),
                }
            }
            Some(other) => return err(format!("printf: unsupported verb %{other}")),
            None => return err("printf: format ends with %"),
        }
    }
    if args.next().is_some() {
        return err("printf: too many arguments");
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const NAMES: Names<'static> = Names {
        display_name: "userpass-alice",
        role_name: "readonly",
    };

    fn render(t: &str) -> String {
        let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        UsernameTemplate::parse(t)
            .unwrap()
            .render(NAMES, now)
            .unwrap()
    }

    #[test]
    fn fields_functions_and_pipelines() {
        assert_eq!(render("plain"), "plain");
        assert_eq!(
            render("{{.DisplayName}}_{{.RoleName}}"),
            "userpass-alice_readonly"
        );
        assert_eq!(render("{{.RoleName | truncate 4}}"), "read");
        assert_eq!(render("{{truncate 4 .RoleName}}"), "read");
        assert_eq!(render("{{.RoleName | uppercase | truncate 3}}"), "REA");
        assert_eq!(render("{{unix_time}}"), "1700000000");
        assert_eq!(render("{{unix_time_millis}}"), "1700000000000");
        assert_eq!(
            render("{{replace \"-\" \"_\" .DisplayName}}"),
            "userpass_alice"
        );
        assert_eq!(render("{{ .RoleName -}}  x"), "readonlyx");
        assert_eq!(render("a  {{- .RoleName}}"), "areadonly");
        let r = render("v_{{random 20}}");
        assert_eq!(r.len(), 22);
        assert!(r[2..].bytes().all(|b| b.is_ascii_alphanumeric()));
        // Vault's default PostgreSQL template.
        let r = render(
            "{{ printf \"v-%s-%s-%s-%s\" (.DisplayName | truncate 8) (.RoleName | truncate 8) \
             (random 20) (unix_time) | truncate 63 }}",
        );
        assert!(r.starts_with("v-userpass-readonly-"), "{r}");
        assert!(r.ends_with("-1700000000"), "{r}");
        assert_eq!(r.len(), "v-userpass-readonly-".len() + 20 + 11);
        assert_eq!(render("{{truncate_sha256 4 .RoleName}}").len(), 4);
        assert_eq!(render("{{truncate_sha256 20 .RoleName}}"), "readonly");
        assert_eq!(render("{{lowercase \"AB\"}}"), "ab");
        assert_eq!(render("{{uuid}}").len(), 36);
    }

    #[test]
    fn refused_at_parse_time() {
        for bad in [
            "{{.Nope}}",
            "{{timestamp \"2006\"}}",
            "{{if .RoleName}}x{{end}}",
            "{{random}}",
            "{{truncate \"x\" .RoleName}}",
            "{{.RoleName",
            "x}}",
            "{{}}",
            "{{(.RoleName}}",
            "{{.RoleName .DisplayName}}",
            "{{printf \"%q\" .RoleName}}",
            "{{\"unterminated}}",
            "{{random -1}}",
            "{{$x := 1}}",
        ] {
            assert!(UsernameTemplate::parse(bad).is_err(), "{bad}");
        }
    }
}
