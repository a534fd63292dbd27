//! Vault's "tokenfields": the token settings every auth method's users and roles carry
//! (`token_ttl`, `token_max_ttl`, `token_policies`, `token_bound_cidrs`,
//! `token_explicit_max_ttl`, `token_no_default_policy`, `token_num_uses`,
//! `token_period`, `token_type`, `token_strictly_bind_ip`).
//!
//! Parsed at the edge into [`TokenFields`]; an update starts from the stored value and
//! changes only the fields present, as Vault does. Durations are read back as integer
//! seconds.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::core::duration::opt_duration;
use crate::core::fields::{opt_bool, opt_string, opt_string_list, opt_u64, FieldError};
use crate::engines::EngineError;

/// The names this module reads (for unknown-field warnings).
pub const FIELDS: &[&str] = &[
    "token_ttl",
    "token_max_ttl",
    "token_policies",
    "policies",
    "token_bound_cidrs",
    "bound_cidrs",
    "token_explicit_max_ttl",
    "token_no_default_policy",
    "token_num_uses",
    "token_period",
    "period",
    "token_type",
    "token_strictly_bind_ip",
    "ttl",
    "max_ttl",
];

/// One CIDR block (`10.0.0.0/8`, `::1/128`; a bare address is a /32 or /128).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cidr {
    /// Network address (host bits cleared).
    pub addr: IpAddr,
    /// Prefix length.
    pub prefix: u8,
}

impl Cidr {
    /// Parses `a.b.c.d/n`, `x::y/n` or a bare address.
    pub fn parse(raw: &str) -> Result<Cidr, EngineError> {
        let bad = || EngineError::Invalid(format!("invalid CIDR block {raw:?}"));
        let raw = raw.trim();
        let (addr, prefix) = match raw.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (raw, None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(bad)?,
            None => max,
        };
        Ok(Cidr {
            addr: mask(addr, prefix),
            prefix,
        })
    }

    /// Whether `ip` is inside the block.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match (self.addr, ip) {
            (IpAddr::V4(_), IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => return false,
            },
            _ => ip,
        };
        ip.is_ipv4() == self.addr.is_ipv4() && mask(ip, self.prefix) == self.addr
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

fn mask(addr: IpAddr, prefix: u8) -> IpAddr {
    match addr {
        IpAddr::V4(v4) => {
            let bits = u32::from(v4);
            let m = if prefix == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(prefix))
            };
            IpAddr::V4((bits & m).into())
        }
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            let m = if prefix == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(prefix))
            };
            IpAddr::V6((bits & m).into())
        }
    }
}

/// Parses a list of CIDR blocks (array or comma-separated string). `None` when absent.
pub fn opt_cidrs(data: &Map<String, Value>, name: &str) -> Result<Option<Vec<Cidr>>, EngineError> {
    let Some(list) = opt_string_list(data, name).map_err(|e| EngineError::Invalid(e.0))? else {
        return Ok(None);
    };
    list.iter()
        .map(|c| Cidr::parse(c))
        .collect::<Result<_, _>>()
        .map(Some)
}

/// Whether `addr` is allowed by `cidrs` (an empty list allows everyone; an unknown
/// address is allowed only by an empty list).
pub fn cidrs_allow(cidrs: &[Cidr], addr: Option<IpAddr>) -> bool {
    cidrs.is_empty() || addr.is_some_and(|ip| cidrs.iter().any(|c| c.contains(ip)))
}

/// Token settings of a user or role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct TokenFields {
    /// `token_ttl`, seconds (0 = the mount's default).
    pub ttl: u64,
    /// `token_max_ttl`, seconds (0 = the mount's max).
    pub max_ttl: u64,
    /// `token_policies` (lower-cased, sorted, deduplicated).
    pub policies: Vec<String>,
    /// `token_bound_cidrs`.
    pub bound_cidrs: Vec<Cidr>,
    /// `token_explicit_max_ttl`, seconds.
    pub explicit_max_ttl: u64,
    /// `token_no_default_policy`.
    pub no_default_policy: bool,
    /// `token_num_uses` (0 = unlimited).
    pub num_uses: u64,
    /// `token_period`, seconds.
    pub period: u64,
    /// `token_strictly_bind_ip` (stored and reported).
    pub strictly_bind_ip: bool,
}

fn field_err(e: impl std::fmt::Display) -> EngineError {
    EngineError::Invalid(e.to_string())
}

/// The first of `names` present, as a duration (seconds); `None` when none is.
pub(crate) fn duration(
    data: &Map<String, Value>,
    names: &[&str],
) -> Result<Option<u64>, EngineError> {
    for name in names {
        if let Some(v) = opt_duration(data, name)
            .map_err(|e| EngineError::Invalid(format!("invalid value for {name:?}: {e}")))?
        {
            return Ok(Some(v));
        }
    }
    Ok(None)
}

/// A list of policy names (array or comma string): lower-cased, sorted, deduplicated.
pub(crate) fn opt_policy_list(
    data: &Map<String, Value>,
    name: &str,
) -> Result<Option<Vec<String>>, FieldError> {
    Ok(opt_string_list(data, name)?.map(|list| {
        let mut list: Vec<String> = list.into_iter().map(|p| p.to_lowercase()).collect();
        list.sort();
        list.dedup();
        list
    }))
}

impl TokenFields {
    /// `self` with the fields present in `data` replaced (legacy aliases `policies`,
    /// `period`, `bound_cidrs`, `ttl`, `max_ttl` accepted when the `token_` name is absent).
    pub fn updated(&self, data: &Map<String, Value>) -> Result<TokenFields, EngineError> {
        let mut next = self.clone();
        if let Some(v) = duration(data, &["token_ttl", "ttl"])? {
            next.ttl = v;
        }
        if let Some(v) = duration(data, &["token_max_ttl", "max_ttl"])? {
            next.max_ttl = v;
        }
        if let Some(v) = duration(data, &["token_explicit_max_ttl"])? {
            next.explicit_max_ttl = v;
        }
        if let Some(v) = duration(data, &["token_period", "period"])? {
            next.period = v;
        }
        let policies = match opt_policy_list(data, "token_policies").map_err(field_err)? {
            Some(p) => Some(p),
            None => opt_policy_list(data, "policies").map_err(field_err)?,
        };
        if let Some(p) = policies {
            next.policies = p;
        }
        let cidrs = match opt_cidrs(data, "token_bound_cidrs")? {
            Some(c) => Some(c),
            None => opt_cidrs(data, "bound_cidrs")?,
        };
        if let Some(c) = cidrs {
            next.bound_cidrs = c;
        }
        if let Some(v) = opt_bool(data, "token_no_default_policy").map_err(field_err)? {
            next.no_default_policy = v;
        }
        if let Some(v) = opt_bool(data, "token_strictly_bind_ip").map_err(field_err)? {
            next.strictly_bind_ip = v;
        }
        if let Some(v) = opt_u64(data, "token_num_uses").map_err(field_err)? {
            next.num_uses = v;
        }
        match opt_string(data, "token_type")
            .map_err(field_err)?
            .as_deref()
        {
            None | Some("" | "default" | "service" | "default-service") => {}
            Some("batch" | "default-batch") => {
                return Err(EngineError::Invalid(
                    "batch tokens are not supported by this server".to_string(),
                ))
            }
            Some(other) => {
                return Err(EngineError::Invalid(format!(
                    "invalid 'token_type' value {other:?}"
                )))
            }
        }
        if next.max_ttl > 0 && next.ttl > next.max_ttl {
            return Err(EngineError::Invalid(
                "\"token_ttl\" cannot be greater than \"token_max_ttl\"".to_string(),
            ));
        }
        Ok(next)
    }

    /// The read shape (wire reference §5.1), merged into `out`.
    pub fn write_wire(&self, out: &mut Map<String, Value>) {
        let cidrs: Vec<String> = self.bound_cidrs.iter().map(Cidr::to_string).collect();
        out.insert("token_bound_cidrs".into(), json!(cidrs));
        out.insert(
            "token_explicit_max_ttl".into(),
            json!(self.explicit_max_ttl),
        );
        out.insert("token_max_ttl".into(), json!(self.max_ttl));
        out.insert(
            "token_no_default_policy".into(),
            json!(self.no_default_policy),
        );
        out.insert("token_num_uses".into(), json!(self.num_uses));
        out.insert("token_period".into(), json!(self.period));
        out.insert("token_policies".into(), json!(self.policies));
        out.insert(
            "token_strictly_bind_ip".into(),
            json!(self.strictly_bind_ip),
        );
        out.insert("token_ttl".into(), json!(self.ttl));
        out.insert("token_type".into(), json!("default"));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn cidrs() {
        let c = Cidr::parse("10.1.2.3/8").unwrap();
        assert_eq!(c.to_string(), "10.0.0.0/8");
        assert!(c.contains("10.200.0.1".parse().unwrap()));
        assert!(!c.contains("11.0.0.1".parse().unwrap()));
        assert!(c.contains("::ffff:10.0.0.9".parse().unwrap()));
        let one = Cidr::parse("127.0.0.1").unwrap();
        assert_eq!(one.prefix, 32);
        assert!(one.contains("127.0.0.1".parse().unwrap()));
        assert!(Cidr::parse("10.0.0.0/33").is_err());
        assert!(Cidr::parse("nope").is_err());
        let v6 = Cidr::parse("fd00::/8").unwrap();
        assert!(v6.contains("fd12::1".parse().unwrap()));
        assert!(!v6.contains("10.0.0.1".parse().unwrap()));
        assert!(cidrs_allow(&[], None));
        assert!(!cidrs_allow(&[c], None));
    }

    #[test]
    fn updates_only_what_is_given() {
        let data: Map<String, Value> = serde_json::from_value(json!({
            "token_ttl": "1h", "token_max_ttl": 7200, "token_policies": "b,A, a"
        }))
        .unwrap();
        let f = TokenFields::default().updated(&data).unwrap();
        assert_eq!((f.ttl, f.max_ttl), (3600, 7200));
        assert_eq!(f.policies, vec!["a", "b"]);
        let g = f
            .updated(&serde_json::from_value(json!({"token_num_uses": 3})).unwrap())
            .unwrap();
        assert_eq!((g.ttl, g.num_uses, g.policies.len()), (3600, 3, 2));
        let legacy = TokenFields::default()
            .updated(&serde_json::from_value(json!({"policies": ["x"], "period": "1m"})).unwrap())
            .unwrap();
        assert_eq!(
            (legacy.policies, legacy.period),
            (vec!["x".to_string()], 60)
        );
        assert!(TokenFields::default()
            .updated(&serde_json::from_value(json!({"token_ttl": 10, "token_max_ttl": 5})).unwrap())
            .is_err());
        let mut wire = Map::new();
        g.write_wire(&mut wire);
        assert_eq!(wire["token_ttl"], 3600);
        assert_eq!(wire["token_type"], "default");
    }
}
