//! Connection URL templates → driver configurations.
//!
//! The template is parsed for its structure *before* the admin credentials are filled
//! in, and the credentials are then set on the parsed configuration, so no value — a
//! password with `@`, `:`, `/`, `'` or a space — can change where or how we connect.
//! That is what URL-escaping achieves, without the escaping.
//!
//! * PostgreSQL, URI (`postgresql://{{username}}:{{password}}@host:5432/db?sslmode=disable`)
//!   or key/value (`host=... user={{username}} password={{password}} dbname=...`): the
//!   placeholders become inert sentinels, `tokio_postgres` parses the text, and the
//!   sentinels in the user and password are swapped for the real values. With
//!   `disable_escaping` the values are pasted into the text as they are (Vault's
//!   behaviour: the operator has escaped them).
//! * MySQL, Go DSN (`{{username}}:{{password}}@tcp(host:3306)/db?param=value`, parsed as
//!   go-sql-driver does: user and password are literal, the database and parameter values
//!   are URL-decoded) or URL (`mysql://{{username}}:{{password}}@host:3306/db`, where every
//!   part is URL-decoded; the values are escaped before decoding unless
//!   `disable_escaping`).
//!
//! Placeholders are accepted only in the user and password. TLS is not implemented:
//! PostgreSQL `sslmode=require|verify-ca|verify-full` and MySQL `tls=true|skip-verify|<name>`
//! are refused; `sslmode=disable|prefer` and `tls=false|preferred` connect in plain text
//! (what `prefer`/`preferred` allow).

use std::time::Duration;

use percent_encoding::{percent_decode_str, utf8_percent_encode, NON_ALPHANUMERIC};
use zeroize::Zeroizing;

use super::scrub::Scrubber;
use super::template::fill;
use super::{ConnectionSettings, DriverError, CONNECT_TIMEOUT};
use crate::core::duration::parse_seconds;

/// Stands for `{{username}}` while the PostgreSQL template is parsed.
const USER_SENTINEL: &str = "StrongroomUsernamePlaceholder9d2c";
/// Stands for `{{password}}` while the PostgreSQL template is parsed.
const PASS_SENTINEL: &str = "StrongroomPasswordPlaceholder9d2c";

fn invalid(message: impl Into<String>) -> DriverError {
    DriverError::InvalidUrl(message.into())
}

fn no_tls(what: &str) -> DriverError {
    invalid(format!(
        "{what} requires TLS, which Strongroom's database drivers do not support yet; \
         use a private network or a local proxy and sslmode=disable (PostgreSQL) / \
         tls=false (MySQL)"
    ))
}

// ---------------------------------------------------------------------------------------
// PostgreSQL
// ---------------------------------------------------------------------------------------

/// The `tokio_postgres` configuration for `settings`, credentials set, connect timeout
/// bounded by [`CONNECT_TIMEOUT`].
pub(super) fn postgres_config(
    settings: &ConnectionSettings,
    scrubber: &Scrubber,
) -> Result<tokio_postgres::Config, DriverError> {
    let template = settings.connection_url.trim();
    if template.is_empty() {
        return Err(invalid("connection_url is empty"));
    }
    check_sslmode(template)?;
    let username = settings.username.as_str();
    let password = settings.password.as_str();
    let parse = |text: &str| {
        text.parse::<tokio_postgres::Config>()
            .map_err(|e| invalid(scrubber.scrub(&error_chain(&e))))
    };
    let mut config = if settings.disable_escaping {
        let text = fill(template, |key| match key {
            "username" => Some(username),
            "password" => Some(password),
            _ => None,
        });
        parse(&text)?
    } else {
        if template.contains(USER_SENTINEL) || template.contains(PASS_SENTINEL) {
            return Err(invalid("connection_url contains a reserved word"));
        }
        let text = fill(template, |key| match key {
            "username" => Some(USER_SENTINEL),
            "password" => Some(PASS_SENTINEL),
            _ => None,
        });
        let mut config = parse(&text)?;
        restore_credentials(&mut config, username, password)?;
        config
    };
    if config.get_user().is_none() && !username.is_empty() {
        config.user(username);
    }
    if config.get_password().is_none() && !password.is_empty() {
        config.password(password);
    }
    if config.get_ssl_mode() == tokio_postgres::config::SslMode::Require {
        return Err(no_tls("sslmode=require"));
    }
    let timeout = config
        .get_connect_timeout()
        .map_or(CONNECT_TIMEOUT, |t| (*t).min(CONNECT_TIMEOUT));
    config.connect_timeout(timeout);
    if config.get_application_name().is_none() {
        config.application_name("strongroom");
    }
    Ok(config)
}

/// Refuses `sslmode` values that need TLS, with a clearer message than the parser's.
fn check_sslmode(template: &str) -> Result<(), DriverError> {
    let mut rest = template;
    while let Some(at) = rest.find("sslmode") {
        let after = rest[at + "sslmode".len()..].trim_start();
        if let Some(value) = after.strip_prefix('=') {
            let value = value.trim_start().trim_start_matches(['\'', '"']);
            let end = value
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
                .unwrap_or(value.len());
            let mode = &value[..end];
            if matches!(mode, "require" | "verify-ca" | "verify-full") {
                return Err(no_tls(&format!("sslmode={mode}")));
            }
        }
        rest = &rest[at + "sslmode".len()..];
    }
    Ok(())
}

/// Swaps the sentinels in the parsed user and password for the real values; refuses
/// sentinels anywhere else.
fn restore_credentials(
    config: &mut tokio_postgres::Config,
    username: &str,
    password: &str,
) -> Result<(), DriverError> {
    let swap = |bytes: &[u8]| swap_sentinels(bytes, username.as_bytes(), password.as_bytes());
    if let Some(user) = config.get_user().map(|u| swap(u.as_bytes())) {
        let user = String::from_utf8(user.to_vec())
            .map_err(|_| invalid("the user name is not valid UTF-8"))?;
        config.user(user);
    }
    if let Some(pass) = config.get_password().map(swap) {
        config.password(&*pass);
    }
    let misplaced = |s: &str| s.contains(USER_SENTINEL) || s.contains(PASS_SENTINEL);
    let elsewhere = config.get_dbname().is_some_and(misplaced)
        || config.get_options().is_some_and(misplaced)
        || config.get_application_name().is_some_and(misplaced)
        || config.get_hosts().iter().any(|h| match h {
            tokio_postgres::config::Host::Tcp(h) => misplaced(h),
            #[cfg(unix)]
            tokio_postgres::config::Host::Unix(p) => misplaced(&p.to_string_lossy()),
        });
    if elsewhere {
        return Err(invalid(
            "{{username}} and {{password}} may be used only for the user and the password",
        ));
    }
    Ok(())
}

/// `bytes` with each sentinel replaced, in one pass (a value is never rescanned).
fn swap_sentinels(bytes: &[u8], username: &[u8], password: &[u8]) -> Zeroizing<Vec<u8>> {
    let user = USER_SENTINEL.as_bytes();
    let pass = PASS_SENTINEL.as_bytes();
    let mut out = Zeroizing::new(Vec::with_capacity(bytes.len() + password.len()));
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i..].starts_with(user) {
            out.extend_from_slice(username);
            i += user.len();
        } else if bytes[i..].starts_with(pass) {
            out.extend_from_slice(password);
            i += pass.len();
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

/// An error and its sources, `: `-joined (tokio-postgres puts the detail in the source).
pub(super) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}

// ---------------------------------------------------------------------------------------
// MySQL
// ---------------------------------------------------------------------------------------

/// Where a MySQL server listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum MysqlAddr {
    /// Host name or IP (IPv6 without brackets) and port.
    Tcp { host: String, port: u16 },
    /// A unix socket path.
    Socket(String),
}

/// A parsed MySQL connection target. `Debug` hides the password.
pub(super) struct MysqlTarget {
    pub(super) addr: MysqlAddr,
    pub(super) user: String,
    pub(super) password: Zeroizing<String>,
    pub(super) db: Option<String>,
    pub(super) connect_timeout: Duration,
}

impl std::fmt::Debug for MysqlTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MysqlTarget")
            .field("addr", &self.addr)
            .field("user", &self.user)
            .field("db", &self.db)
            .finish_non_exhaustive()
    }
}

/// The pieces of a MySQL template, credentials still as templates.
struct MysqlParts<'a> {
    user: &'a str,
    password: Option<&'a str>,
    addr: MysqlAddr,
    db: Option<String>,
    params: Vec<(String, String)>,
}

/// The MySQL target for `settings`: a Go DSN or a `mysql://` URL.
pub(super) fn mysql_target(
    settings: &ConnectionSettings,
    scrubber: &Scrubber,
) -> Result<MysqlTarget, DriverError> {
    let template = settings.connection_url.trim();
    if template.is_empty() {
        return Err(invalid("connection_url is empty"));
    }
    let is_url = template.starts_with("mysql://") || template.starts_with("mariadb://");
    let parts = if is_url {
        parse_mysql_url(template)?
    } else {
        parse_go_dsn(template)?
    };
    let username = settings.username.as_str();
    let password = settings.password.as_str();
    let fill_field = |field: &str| -> Result<Zeroizing<String>, DriverError> {
        if !is_url {
            // go-sql-driver takes the user and password literally.
            return Ok(fill(field, |key| match key {
                "username" => Some(username),
                "password" => Some(password),
                _ => None,
            }));
        }
        let filled = if settings.disable_escaping {
            fill(field, |key| match key {
                "username" => Some(username),
                "password" => Some(password),
                _ => None,
            })
        } else {
            let user = Zeroizing::new(utf8_percent_encode(username, NON_ALPHANUMERIC).to_string());
            let pass = Zeroizing::new(utf8_percent_encode(password, NON_ALPHANUMERIC).to_string());
            fill(field, |key| match key {
                "username" => Some(user.as_str()),
                "password" => Some(pass.as_str()),
                _ => None,
            })
        };
        let decoded = percent_decode_str(&filled)
            .decode_utf8()
            .map_err(|_| invalid("the user or password is not valid UTF-8 once decoded"))?;
        Ok(Zeroizing::new(decoded.into_owned()))
    };
    let mut user = fill_field(parts.user)?.to_string();
    let mut pass = match parts.password {
        Some(p) => fill_field(p)?,
        None => Zeroizing::new(String::new()),
    };
    if user.is_empty() && parts.password.is_none() {
        user = username.to_string();
        pass = Zeroizing::new(password.to_string());
    }
    let mut connect_timeout = CONNECT_TIMEOUT;
    for (key, value) in &parts.params {
        apply_param(key, value, &mut connect_timeout).map_err(|e| match e {
            DriverError::InvalidUrl(m) => invalid(scrubber.scrub(&m)),
            other => other,
        })?;
    }
    Ok(MysqlTarget {
        addr: parts.addr,
        user,
        password: pass,
        db: parts.db,
        connect_timeout,
    })
}

/// One DSN/URL parameter: TLS settings are refused when they demand TLS, `timeout` bounds
/// the connect, a few of go-sql-driver's client-side switches are accepted and have no
/// effect here, anything else is refused (go-sql-driver would send it as a session
/// variable).
fn apply_param(key: &str, value: &str, connect_timeout: &mut Duration) -> Result<(), DriverError> {
    match key {
        "tls" | "ssl-mode" | "sslmode" => match value.to_ascii_lowercase().as_str() {
            "false" | "preferred" | "disabled" | "disable" | "prefer" => Ok(()),
            _ => Err(no_tls(&format!("{key}={value}"))),
        },
        "require_ssl" => match value {
            "false" => Ok(()),
            _ => Err(no_tls("require_ssl")),
        },
        "timeout" => {
            let secs =
                parse_seconds(value).map_err(|_| invalid(format!("invalid timeout {value:?}")))?;
            *connect_timeout = Duration::from_secs(secs.max(1)).min(CONNECT_TIMEOUT);
            Ok(())
        }
        "charset"
        | "collation"
        | "parseTime"
        | "loc"
        | "allowNativePasswords"
        | "allowCleartextPasswords"
        | "allowOldPasswords"
        | "allowAllFiles"
        | "multiStatements"
        | "interpolateParams"
        | "clientFoundRows"
        | "columnsWithAlias"
        | "readTimeout"
        | "writeTimeout"
        | "maxAllowedPacket"
        | "rejectReadOnly"
        | "checkConnLiveness"
        | "strict"
        | "compress"
        | "prefer_socket" => Ok(()),
        _ => Err(invalid(format!("unsupported parameter {key:?}"))),
    }
}

/// go-sql-driver's DSN: `[user[:password]@][net[(addr)]]/dbname[?param1=value1&...]`.
/// The last `/` ends the address (a password may hold a `/`), the last `@` before it ends
/// the credentials, and the first `:` splits them.
fn parse_go_dsn(dsn: &str) -> Result<MysqlParts<'_>, DriverError> {
    let slash = dsn
        .rfind('/')
        .ok_or_else(|| invalid("invalid DSN: missing the slash before the database name"))?;
    let (head, tail) = (&dsn[..slash], &dsn[slash + 1..]);
    let (creds, address) = match head.rfind('@') {
        Some(at) => (Some(&head[..at]), &head[at + 1..]),
        None => (None, head),
    };
    let (user, password) = match creds {
        Some(c) => match c.find(':') {
            Some(colon) => (&c[..colon], Some(&c[colon + 1..])),
            None => (c, None),
        },
        None => ("", None),
    };
    let (net, addr) = match address.find('(') {
        Some(open) => {
            let Some(inner) = address[open + 1..].strip_suffix(')') else {
                return Err(invalid(
                    "invalid DSN: network address not terminated (missing closing brace)",
                ));
            };
            (&address[..open], inner)
        }
        None => (address, ""),
    };
    let addr = match net {
        "" | "tcp" | "tcp4" | "tcp6" => {
            if addr.is_empty() {
                MysqlAddr::Tcp {
                    host: "127.0.0.1".to_string(),
                    port: 3306,
                }
            } else {
                host_port(addr)?
            }
        }
        "unix" => {
            if addr.is_empty() {
                return Err(invalid("invalid DSN: unix needs a socket path"));
            }
            MysqlAddr::Socket(addr.to_string())
        }
        other => return Err(invalid(format!("invalid DSN: unknown network {other:?}"))),
    };
    let (db, query) = match tail.find('?') {
        Some(q) => (&tail[..q], Some(&tail[q + 1..])),
        None => (tail, None),
    };
    let db = decode(db, "database name")?;
    let params = query.map(parse_query).transpose()?.unwrap_or_default();
    let parts = MysqlParts {
        user,
        password,
        addr,
        db: (!db.is_empty()).then_some(db),
        params,
    };
    only_credentials_templated(&parts)?;
    Ok(parts)
}

/// `mysql://[user[:password]@]host[:port][/db][?params]`; every part URL-encoded.
fn parse_mysql_url(url: &str) -> Result<MysqlParts<'_>, DriverError> {
    let rest = url
        .strip_prefix("mysql://")
        .or_else(|| url.strip_prefix("mariadb://"))
        .ok_or_else(|| invalid("expected a mysql:// URL"))?;
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let (creds, hostport) = match authority.rfind('@') {
        Some(at) => (Some(&authority[..at]), &authority[at + 1..]),
        None => (None, authority),
    };
    let (user, password) = match creds {
        Some(c) => match c.find(':') {
            Some(colon) => (&c[..colon], Some(&c[colon + 1..])),
            None => (c, None),
        },
        None => ("", None),
    };
    let addr = if hostport.is_empty() {
        MysqlAddr::Tcp {
            host: "127.0.0.1".to_string(),
            port: 3306,
        }
    } else {
        match host_port(hostport)? {
            MysqlAddr::Tcp { host, port } => MysqlAddr::Tcp {
                host: decode(&host, "host")?,
                port,
            },
            socket @ MysqlAddr::Socket(_) => socket,
        }
    };
    let tail = tail.split('#').next().unwrap_or_default();
    let (path, query) = match tail.find('?') {
        Some(q) => (&tail[..q], Some(&tail[q + 1..])),
        None => (tail, None),
    };
    let db = decode(path.trim_start_matches('/'), "database name")?;
    let mut params = query.map(parse_query).transpose()?.unwrap_or_default();
    let mut addr = addr;
    if let Some(pos) = params.iter().position(|(k, _)| k == "socket") {
        let (_, socket) = params.remove(pos);
        addr = MysqlAddr::Socket(socket);
    }
    let parts = MysqlParts {
        user,
        password,
        addr,
        db: (!db.is_empty()).then_some(db),
        params,
    };
    only_credentials_templated(&parts)?;
    Ok(parts)
}

/// Refuses `{{username}}`/`{{password}}` outside the credentials.
fn only_credentials_templated(parts: &MysqlParts<'_>) -> Result<(), DriverError> {
    let templated = |s: &str| s.contains("{{username}}") || s.contains("{{password}}");
    let addr = match &parts.addr {
        MysqlAddr::Tcp { host, .. } => host,
        MysqlAddr::Socket(path) => path,
    };
    if templated(addr)
        || parts.db.as_deref().is_some_and(templated)
        || parts
            .params
            .iter()
            .any(|(k, v)| templated(k) || templated(v))
    {
        return Err(invalid(
            "{{username}} and {{password}} may be used only for the user and the password",
        ));
    }
    Ok(())
}

/// `host`, `host:port`, `[v6]`, `[v6]:port` (default port 3306).
fn host_port(s: &str) -> Result<MysqlAddr, DriverError> {
    let bad_port = || invalid(format!("invalid port in address {s:?}"));
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let close = rest
            .find(']')
            .ok_or_else(|| invalid(format!("invalid address {s:?}")))?;
        let host = &rest[..close];
        let port = match &rest[close + 1..] {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or_else(bad_port)?),
        };
        (host, port)
    } else {
        match s.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') => (h, Some(p)),
            Some(_) => (s, None),
            None => (s, None),
        }
    };
    if host.is_empty() {
        return Err(invalid(format!("invalid address {s:?}: no host")));
    }
    let port = match port {
        Some(p) => p.parse::<u16>().map_err(|_| bad_port())?,
        None => 3306,
    };
    Ok(MysqlAddr::Tcp {
        host: host.to_string(),
        port,
    })
}

/// `a=1&b=2` → pairs, values URL-decoded (`+` is a space, as in Go's `QueryUnescape`).
fn parse_query(query: &str) -> Result<Vec<(String, String)>, DriverError> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            Ok((
                decode(&k.replace('+', " "), "parameter name")?,
                decode(&v.replace('+', " "), "parameter value")?,
            ))
        })
        .collect()
}

fn decode(s: &str, what: &str) -> Result<String, DriverError> {
    percent_decode_str(s)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| invalid(format!("the {what} is not valid UTF-8 once decoded")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engines::database::driver::Plugin;

    const TRICKY: &str = "p@ss:w/rd?#%&=+ 'x\"\\y";

    fn settings(plugin: Plugin, url: &str, user: &str, pass: &str) -> ConnectionSettings {
        ConnectionSettings {
            plugin,
            connection_url: url.to_string(),
            username: user.to_string(),
            password: Zeroizing::new(pass.to_string()),
            disable_escaping: false,
            max_open_connections: 4,
            max_idle_connections: 0,
            max_connection_lifetime: Duration::ZERO,
        }
    }

    fn pg(url: &str, user: &str, pass: &str) -> Result<tokio_postgres::Config, DriverError> {
        let s = settings(Plugin::Postgres, url, user, pass);
        postgres_config(&s, &Scrubber::for_admin(pass))
    }

    fn my(url: &str, user: &str, pass: &str) -> Result<MysqlTarget, DriverError> {
        let s = settings(Plugin::Mysql, url, user, pass);
        mysql_target(&s, &Scrubber::for_admin(pass))
    }

    #[test]
    fn postgres_uri_with_tricky_credentials() {
        let config = pg(
            "postgresql://{{username}}:{{password}}@127.0.0.1:5432/postgres?sslmode=disable",
            "ad:m@in",
            TRICKY,
        )
        .map_err(|e| e.to_string());
        let config = config.as_ref().ok();
        assert_eq!(config.and_then(|c| c.get_user()), Some("ad:m@in"));
        assert_eq!(
            config.and_then(|c| c.get_password()),
            Some(TRICKY.as_bytes())
        );
        assert_eq!(config.and_then(|c| c.get_dbname()), Some("postgres"));
        assert_eq!(config.map(|c| c.get_ports().to_vec()), Some(vec![5432]));
        assert_eq!(
            config.and_then(|c| c.get_connect_timeout().copied()),
            Some(CONNECT_TIMEOUT)
        );
    }

    #[test]
    fn postgres_key_value_with_tricky_credentials() {
        let config = pg(
            "host=127.0.0.1 port=5432 user={{username}} password={{password}} dbname=app sslmode=prefer",
            "admin",
            TRICKY,
        );
        let config = config.as_ref().ok();
        assert_eq!(config.and_then(|c| c.get_user()), Some("admin"));
        assert_eq!(
            config.and_then(|c| c.get_password()),
            Some(TRICKY.as_bytes())
        );
        assert_eq!(config.and_then(|c| c.get_dbname()), Some("app"));
    }

    #[test]
    fn postgres_values_cannot_inject_options() {
        // Spliced as text, this password would add `dbname=evil` to a key/value string.
        let config = pg(
            "host=h user={{username}} password={{password}} dbname=app",
            "admin",
            "x dbname=evil",
        );
        let config = config.as_ref().ok();
        assert_eq!(config.and_then(|c| c.get_dbname()), Some("app"));
        assert_eq!(
            config.and_then(|c| c.get_password()),
            Some("x dbname=evil".as_bytes())
        );
        // And in a URI a raw '@' cannot move the host.
        let config = pg(
            "postgresql://{{username}}:{{password}}@good:5432/db",
            "u",
            "a@evil:1",
        );
        let hosts = config.map(|c| format!("{:?}", c.get_hosts()));
        assert!(hosts
            .as_deref()
            .is_ok_and(|h| h.contains("good") && !h.contains("evil")));
    }

    #[test]
    fn postgres_disable_escaping_pastes_text() {
        let mut s = settings(
            Plugin::Postgres,
            "postgresql://{{username}}:{{password}}@h/db",
            "u",
            "p%40ss",
        );
        s.disable_escaping = true;
        let config = postgres_config(&s, &Scrubber::for_admin("p%40ss"));
        assert_eq!(
            config
                .ok()
                .and_then(|c| c.get_password().map(<[u8]>::to_vec)),
            Some(b"p@ss".to_vec())
        );
    }

    #[test]
    fn postgres_without_placeholders_uses_given_credentials() {
        let config = pg("postgresql://127.0.0.1/db", "admin", "pw");
        let config = config.as_ref().ok();
        assert_eq!(config.and_then(|c| c.get_user()), Some("admin"));
        assert_eq!(config.and_then(|c| c.get_password()), Some(&b"pw"[..]));
        let literal = pg("postgresql://other:lit@127.0.0.1/db", "admin", "pw");
        assert_eq!(
            literal.as_ref().ok().and_then(|c| c.get_user()),
            Some("other")
        );
    }

    #[test]
    fn postgres_tls_modes_are_refused() {
        for mode in ["require", "verify-ca", "verify-full"] {
            let err = pg(&format!("postgresql://u@h/db?sslmode={mode}"), "u", "p");
            assert!(
                matches!(&err, Err(DriverError::InvalidUrl(m)) if m.contains("TLS")),
                "{mode}: {err:?}"
            );
            let err = pg(&format!("host=h user=u sslmode = '{mode}'"), "u", "p");
            assert!(matches!(err, Err(DriverError::InvalidUrl(_))), "{mode}");
        }
        assert!(pg("postgresql://u@h/db?sslmode=disable", "u", "p").is_ok());
        assert!(pg("postgresql://u@h/db?sslmode=prefer", "u", "p").is_ok());
        assert!(pg("postgresql://u@h/db", "u", "p").is_ok());
    }

    #[test]
    fn postgres_placeholders_only_in_credentials() {
        let err = pg("postgresql://u:p@{{username}}/db", "u", "p");
        assert!(matches!(err, Err(DriverError::InvalidUrl(_))));
        let err = pg("host=h user=u dbname={{password}}", "u", "secretpw");
        assert!(matches!(&err, Err(DriverError::InvalidUrl(m)) if !m.contains("secretpw")));
    }

    #[test]
    fn postgres_parse_errors_are_scrubbed() {
        let mut s = settings(
            Plugin::Postgres,
            "host=h user={{username}} password={{password}}",
            "u",
            "sec ret-word",
        );
        s.disable_escaping = true;
        let err = postgres_config(&s, &Scrubber::for_admin("sec ret-word"))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.starts_with("invalid connection_url"), "{err}");
        assert!(!err.contains("ret-word"), "{err}");
    }

    #[test]
    fn go_dsn_forms() {
        let t = my(
            "{{username}}:{{password}}@tcp(127.0.0.1:3306)/app?charset=utf8mb4&parseTime=true",
            "root",
            TRICKY,
        );
        let t = t.as_ref().ok();
        assert_eq!(t.map(|t| t.user.as_str()), Some("root"));
        assert_eq!(t.map(|t| t.password.as_str()), Some(TRICKY));
        assert_eq!(
            t.map(|t| t.addr.clone()),
            Some(MysqlAddr::Tcp {
                host: "127.0.0.1".into(),
                port: 3306
            })
        );
        assert_eq!(t.and_then(|t| t.db.clone()), Some("app".into()));

        let t = my("{{username}}:{{password}}@tcp(db.example:13306)/", "u", "p");
        assert!(t.as_ref().is_ok_and(|t| t.db.is_none()
            && t.addr
                == MysqlAddr::Tcp {
                    host: "db.example".into(),
                    port: 13306
                }));
        let t = my("u@tcp([::1]:3307)/x", "", "");
        assert!(t.as_ref().is_ok_and(|t| t.user == "u"
            && t.addr
                == MysqlAddr::Tcp {
                    host: "::1".into(),
                    port: 3307
                }));
        let t = my("u:p@unix(/run/mysqld/mysqld.sock)/d", "", "");
        assert!(t.as_ref().is_ok_and(|t| t.password.as_str() == "p"
            && t.addr == MysqlAddr::Socket("/run/mysqld/mysqld.sock".into())));
        let t = my("/", "admin", "pw");
        assert!(t
            .as_ref()
            .is_ok_and(|t| t.user == "admin" && t.password.as_str() == "pw"));
        // A literal password with '@' and '/' in the DSN: last '@' and last '/' rule.
        let t = my("u:a@b/c@tcp(h:1)/db", "", "");
        assert!(t
            .as_ref()
            .is_ok_and(|t| t.password.as_str() == "a@b/c" && t.db.as_deref() == Some("db")));
    }

    #[test]
    fn go_dsn_params() {
        let t = my("u:p@tcp(h)/d?timeout=2s&tls=false", "", "");
        assert!(t
            .as_ref()
            .is_ok_and(|t| t.connect_timeout == Duration::from_secs(2)));
        let t = my("u:p@tcp(h)/d?timeout=90s", "", "");
        assert!(t
            .as_ref()
            .is_ok_and(|t| t.connect_timeout == CONNECT_TIMEOUT));
        for tls in ["true", "skip-verify", "custom"] {
            let err = my(&format!("u:p@tcp(h)/d?tls={tls}"), "", "");
            assert!(
                matches!(&err, Err(DriverError::InvalidUrl(m)) if m.contains("TLS")),
                "{tls}"
            );
        }
        assert!(matches!(
            my("u:p@tcp(h)/d?sql_mode=x", "", ""),
            Err(DriverError::InvalidUrl(_))
        ));
        assert!(matches!(
            my("no-slash", "", ""),
            Err(DriverError::InvalidUrl(_))
        ));
        assert!(matches!(
            my("u@tcp(h/d", "", ""),
            Err(DriverError::InvalidUrl(_))
        ));
        assert!(matches!(
            my("u@bogus(h)/d", "", ""),
            Err(DriverError::InvalidUrl(_))
        ));
        assert!(matches!(
            my("u@tcp(h:99999)/d", "", ""),
            Err(DriverError::InvalidUrl(_))
        ));
        assert!(matches!(
            my("{{username}}@tcp({{password}})/d", "u", "p"),
            Err(DriverError::InvalidUrl(_))
        ));
    }

    #[test]
    fn mysql_url_forms() {
        let t = my(
            "mysql://{{username}}:{{password}}@127.0.0.1:3306/app",
            "ro ot",
            TRICKY,
        );
        let t = t.as_ref().ok();
        assert_eq!(t.map(|t| t.user.as_str()), Some("ro ot"));
        assert_eq!(t.map(|t| t.password.as_str()), Some(TRICKY));
        assert_eq!(t.and_then(|t| t.db.clone()), Some("app".into()));

        let t = my("mysql://root@127.0.0.1:3306/", "", "");
        assert!(t
            .as_ref()
            .is_ok_and(|t| t.user == "root" && t.password.is_empty() && t.db.is_none()));
        let t = my("mysql://u:p%40x@h?socket=%2Ftmp%2Fm.sock", "", "");
        assert!(t
            .as_ref()
            .is_ok_and(|t| t.password.as_str() == "p@x"
                && t.addr == MysqlAddr::Socket("/tmp/m.sock".into())));
        assert!(matches!(
            my("mysql://u@h/d?require_ssl=true", "", ""),
            Err(DriverError::InvalidUrl(_))
        ));
    }

    #[test]
    fn mysql_url_disable_escaping_decodes_value() {
        let mut s = settings(
            Plugin::Mysql,
            "mysql://{{username}}:{{password}}@h/",
            "u",
            "p%40ss",
        );
        s.disable_escaping = true;
        let t = mysql_target(&s, &Scrubber::default());
        assert!(t.is_ok_and(|t| t.password.as_str() == "p@ss"));
    }

    #[test]
    fn target_debug_hides_password() {
        let t = my("u:hunter2@tcp(h)/d", "", "");
        assert!(t.is_ok_and(|t| !format!("{t:?}").contains("hunter2")));
    }

    #[test]
    fn sentinel_swap_is_one_pass() {
        let out = swap_sentinels(
            format!("a{USER_SENTINEL}b{PASS_SENTINEL}c").as_bytes(),
            PASS_SENTINEL.as_bytes(),
            b"pw",
        );
        assert_eq!(&*out, format!("a{PASS_SENTINEL}bpwc").as_bytes());
    }
}
