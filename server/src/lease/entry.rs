//! What a lease is: the request for one ([`NewLease`]), the stored entry ([`LeaseEntry`]),
//! its revocation bookkeeping ([`RevocationState`]) and its `sys/leases/lookup` shape.
//!
//! `internal` is what the engine needs to revoke or renew the secret later (a database
//! username, ...): it lives only inside the barrier. `Debug` of every type here prints
//! its keys, never its values, and nothing here puts it in an error.
//!
//! The stored form ([`Record`]) is private to the store: it adds the index bookkeeping
//! (which due second and whether the token index holds the lease) that callers never see,
//! and keeps times as unix nanoseconds.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use time::OffsetDateTime;

use super::LeaseError;

/// A lease to create (the store generates its id and times).
#[derive(Clone, PartialEq)]
pub struct NewLease {
    /// The request path, without a trailing `/` (`database/creds/ro`).
    pub path: String,
    /// The mount the secret came from.
    pub mount_uuid: String,
    /// What the revocation talks to (`<mount uuid>/<connection>`): backoff is per target.
    pub target: String,
    /// Engine data for revocation/renewal. Secret: never printed.
    pub internal: Value,
    /// TTL in seconds, already computed with [`super::ttl::calculate`].
    pub ttl: u64,
    /// The effective max TTL at issue, seconds (0 = none): renewals stop at issue + this.
    pub max_ttl: u64,
    /// Whether the lease may be renewed.
    pub renewable: bool,
    /// The owner token's id hash: the lease is revoked with that token.
    pub token: Option<String>,
}

/// Revocation bookkeeping of one lease.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RevocationState {
    /// Failed revocation attempts so far.
    pub attempts: u32,
    /// The last failure (an engine error message; never a secret).
    pub last_error: Option<String>,
    /// Given up: off the due index, on the irrevocable index, reported.
    pub irrevocable: bool,
}

/// A stored lease.
#[derive(Clone, PartialEq)]
pub struct LeaseEntry {
    /// `<path>/<random>`.
    pub id: String,
    /// The request path that created it.
    pub path: String,
    /// The mount it belongs to.
    pub mount_uuid: String,
    /// The revocation target (see [`NewLease::target`]).
    pub target: String,
    /// Engine data. Secret: never printed.
    pub internal: Value,
    /// When it was issued.
    pub issue_time: OffsetDateTime,
    /// When it expires (moved by renewals; set to now by an early revocation).
    pub expire_time: OffsetDateTime,
    /// The last renewal, if any.
    pub last_renewal: Option<OffsetDateTime>,
    /// Whether it may be renewed.
    pub renewable: bool,
    /// The owner token's id hash.
    pub token: Option<String>,
    /// Revocation bookkeeping.
    pub revocation: RevocationState,
    /// The effective max TTL at issue, seconds (0 = none); see [`NewLease::max_ttl`].
    pub max_ttl: u64,
}

impl LeaseEntry {
    /// Seconds left at `now`, as Vault computes it for lookups: `expire - round(now)`,
    /// truncated, never negative.
    pub fn ttl(&self, now: OffsetDateTime) -> u64 {
        let rounded = round_to_second(now);
        u64::try_from((self.expire_time - rounded).whole_seconds().max(0)).unwrap_or(0)
    }

    /// Whether it has expired at `now`.
    pub fn is_expired(&self, now: OffsetDateTime) -> bool {
        now >= self.expire_time
    }

    /// The data of `sys/leases/lookup` (wire reference §2.12); the revocation fields only
    /// when revocation has failed or been given up. `renewable` is whether a renewal
    /// could succeed now, as Vault reports it: false once expired (a revocation is
    /// pending) or irrevocable.
    pub fn to_lookup_wire(&self, now: OffsetDateTime) -> Value {
        let renewable = self.renewable && !self.revocation.irrevocable && !self.is_expired(now);
        let mut data = json!({
            "id": self.id,
            "issue_time": rfc3339(self.issue_time),
            "expire_time": rfc3339(self.expire_time),
            "last_renewal": self.last_renewal.map(rfc3339),
            "path": self.path,
            "renewable": renewable,
            "ttl": self.ttl(now),
        });
        let failing = self.revocation.irrevocable || self.revocation.attempts > 0;
        if let (true, Some(obj)) = (failing, data.as_object_mut()) {
            obj.insert(
                "revocation_failures".into(),
                self.revocation.attempts.into(),
            );
            obj.insert("irrevocable".into(), self.revocation.irrevocable.into());
            obj.insert(
                "revocation_error".into(),
                self.revocation.last_error.clone().into(),
            );
        }
        data
    }
}

/// RFC 3339 in UTC with Go's trimmed nanoseconds (`2026-11-22T14:17:48.627649221Z`).
pub fn rfc3339(t: OffsetDateTime) -> String {
    crate::encoding::rfc3339(t)
}

fn round_to_second(t: OffsetDateTime) -> OffsetDateTime {
    let floor = t.replace_nanosecond(0).unwrap_or(t);
    if t.nanosecond() >= 500_000_000 {
        floor + time::Duration::SECOND
    } else {
        floor
    }
}

/// Prints the shape of an engine's `internal` value, never its contents.
struct Redacted<'a>(&'a Value);

impl fmt::Debug for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Value::Object(map) => {
                f.write_str("{")?;
                for (i, key) in map.keys().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{key:?}: <redacted>")?;
                }
                f.write_str("}")
            }
            Value::Null => f.write_str("null"),
            Value::Array(items) => write!(f, "[{} redacted items]", items.len()),
            _ => f.write_str("<redacted>"),
        }
    }
}

impl fmt::Debug for NewLease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewLease")
            .field("path", &self.path)
            .field("mount_uuid", &self.mount_uuid)
            .field("target", &self.target)
            .field("internal", &Redacted(&self.internal))
            .field("ttl", &self.ttl)
            .field("max_ttl", &self.max_ttl)
            .field("renewable", &self.renewable)
            .field("token", &self.token)
            .finish()
    }
}

impl fmt::Debug for LeaseEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LeaseEntry")
            .field("id", &self.id)
            .field("path", &self.path)
            .field("mount_uuid", &self.mount_uuid)
            .field("target", &self.target)
            .field("internal", &Redacted(&self.internal))
            .field("issue_time", &self.issue_time)
            .field("expire_time", &self.expire_time)
            .field("last_renewal", &self.last_renewal)
            .field("renewable", &self.renewable)
            .field("token", &self.token)
            .field("revocation", &self.revocation)
            .field("max_ttl", &self.max_ttl)
            .finish()
    }
}

/// The stored form of a lease (JSON inside the barrier) with the store's index state.
#[derive(Serialize, Deserialize)]
pub(crate) struct Record {
    id: String,
    path: String,
    mount_uuid: String,
    target: String,
    #[serde(default)]
    internal: Value,
    issue_time_unix_nanos: i128,
    expire_time_unix_nanos: i128,
    #[serde(default)]
    last_renewal_unix_nanos: Option<i128>,
    renewable: bool,
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    max_ttl: u64,
    #[serde(default)]
    attempts: u32,
    #[serde(default)]
    last_error: Option<String>,
    #[serde(default)]
    irrevocable: bool,
    /// The due second this lease is filed under (`None`: not on the due index).
    #[serde(default)]
    due: Option<i64>,
    /// Whether `sys/expire/token/<token>/<id>` exists.
    #[serde(default)]
    token_indexed: bool,
}

/// A lease with its index state, as the store reads and writes it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Slot {
    pub(crate) entry: LeaseEntry,
    /// The due second it is filed under; `None` when irrevocable.
    pub(crate) due: Option<i64>,
    /// Whether the owner token's index holds it.
    pub(crate) token_indexed: bool,
}

fn from_nanos(nanos: i128) -> Result<OffsetDateTime, LeaseError> {
    OffsetDateTime::from_unix_timestamp_nanos(nanos).map_err(|_| LeaseError::Corrupt)
}

impl Slot {
    /// The JSON body to store.
    pub(crate) fn encode(&self) -> Result<Vec<u8>, LeaseError> {
        let e = &self.entry;
        let record = Record {
            id: e.id.clone(),
            path: e.path.clone(),
            mount_uuid: e.mount_uuid.clone(),
            target: e.target.clone(),
            internal: e.internal.clone(),
            issue_time_unix_nanos: e.issue_time.unix_timestamp_nanos(),
            expire_time_unix_nanos: e.expire_time.unix_timestamp_nanos(),
            last_renewal_unix_nanos: e.last_renewal.map(OffsetDateTime::unix_timestamp_nanos),
            renewable: e.renewable,
            token: e.token.clone(),
            max_ttl: e.max_ttl,
            attempts: e.revocation.attempts,
            last_error: e.revocation.last_error.clone(),
            irrevocable: e.revocation.irrevocable,
            due: self.due,
            token_indexed: self.token_indexed,
        };
        serde_json::to_vec(&record).map_err(|_| LeaseError::Corrupt)
    }

    /// Parses a stored body; it must be the entry of `expected_id`.
    pub(crate) fn decode(body: &[u8], expected_id: &str) -> Result<Slot, LeaseError> {
        let r: Record = serde_json::from_slice(body).map_err(|_| LeaseError::Corrupt)?;
        if r.id != expected_id {
            return Err(LeaseError::Corrupt);
        }
        Ok(Slot {
            entry: LeaseEntry {
                id: r.id,
                path: r.path,
                mount_uuid: r.mount_uuid,
                target: r.target,
                internal: r.internal,
                issue_time: from_nanos(r.issue_time_unix_nanos)?,
                expire_time: from_nanos(r.expire_time_unix_nanos)?,
                last_renewal: r.last_renewal_unix_nanos.map(from_nanos).transpose()?,
                renewable: r.renewable,
                token: r.token,
                revocation: RevocationState {
                    attempts: r.attempts,
                    last_error: r.last_error,
                    irrevocable: r.irrevocable,
                },
                max_ttl: r.max_ttl,
            },
            due: r.due,
            token_indexed: r.token_indexed,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn sample() -> LeaseEntry {
        LeaseEntry {
            id: "database/creds/ro/EEIdmxfDnwauXliOcAAVbi2w".into(),
            path: "database/creds/ro".into(),
            mount_uuid: "u-1".into(),
            target: "u-1/pg".into(),
            internal: json!({"username": "v-token-ro-s3cr3tUser", "db_name": "pg"}),
            issue_time: datetime!(2026-11-22 13:17:48.62764879 UTC),
            expire_time: datetime!(2026-11-22 14:17:48.627649221 UTC),
            last_renewal: None,
            renewable: true,
            token: Some("abc".into()),
            revocation: RevocationState::default(),
            max_ttl: 86_400,
        }
    }

    #[test]
    fn lookup_wire_matches_vault() {
        let e = sample();
        let now = datetime!(2026-11-22 13:17:55.4 UTC);
        assert_eq!(
            e.to_lookup_wire(now),
            json!({
                "id": "database/creds/ro/EEIdmxfDnwauXliOcAAVbi2w",
                "issue_time": "2026-11-22T13:17:48.62764879Z",
                "expire_time": "2026-11-22T14:17:48.627649221Z",
                "last_renewal": null,
                "path": "database/creds/ro",
                "renewable": true,
                "ttl": 3593,
            })
        );
        assert_eq!(e.ttl(e.expire_time + time::Duration::HOUR), 0);
        assert!(!e.is_expired(now));
        assert!(e.is_expired(e.expire_time));
        // Expired (revocation pending) or irrevocable: no longer renewable, as in Vault.
        assert_eq!(e.to_lookup_wire(e.expire_time)["renewable"], false);
        let mut gone = sample();
        gone.revocation.irrevocable = true;
        assert_eq!(gone.to_lookup_wire(now)["renewable"], false);
    }

    #[test]
    fn lookup_wire_reports_revocation_trouble() {
        let mut e = sample();
        e.last_renewal = Some(datetime!(2026-11-22 13:20:00 UTC));
        e.revocation = RevocationState {
            attempts: 3,
            last_error: Some("connection refused".into()),
            irrevocable: false,
        };
        let now = datetime!(2026-11-22 13:17:48 UTC);
        let wire = e.to_lookup_wire(now);
        assert_eq!(wire["last_renewal"], "2026-11-22T13:20:00Z");
        assert_eq!(wire["revocation_failures"], 3);
        assert_eq!(wire["irrevocable"], false);
        assert_eq!(wire["revocation_error"], "connection refused");
        e.revocation.irrevocable = true;
        assert_eq!(e.to_lookup_wire(now)["irrevocable"], true);
        // Times in another offset are rendered in UTC.
        let offset = time::UtcOffset::from_hms(2, 0, 0).unwrap();
        assert_eq!(
            rfc3339(datetime!(2026-11-22 15:00 UTC).to_offset(offset)),
            "2026-11-22T15:00:00Z"
        );
    }

    #[test]
    fn debug_never_prints_internal_values() {
        let e = sample();
        let shown = format!("{e:?}");
        assert!(shown.contains("username"), "{shown}");
        assert!(!shown.contains("s3cr3tUser"), "{shown}");
        let new = NewLease {
            path: "p".into(),
            mount_uuid: "u".into(),
            target: "t".into(),
            internal: json!({"password": "hunter2"}),
            ttl: 1,
            max_ttl: 0,
            renewable: false,
            token: None,
        };
        let shown = format!("{new:?}");
        assert!(
            shown.contains("password") && !shown.contains("hunter2"),
            "{shown}"
        );
        for v in [json!("hunter2"), json!(["hunter2"]), json!(42)] {
            let shown = format!("{:?}", Redacted(&v));
            assert!(
                !shown.contains("hunter2") && !shown.contains("42"),
                "{shown}"
            );
        }
    }

    #[test]
    fn record_round_trip_and_corruption() {
        let slot = Slot {
            entry: sample(),
            due: Some(1_800_000_000),
            token_indexed: true,
        };
        let body = slot.encode().unwrap();
        assert_eq!(Slot::decode(&body, &slot.entry.id).unwrap(), slot);
        assert!(matches!(
            Slot::decode(&body, "database/creds/ro/other"),
            Err(LeaseError::Corrupt)
        ));
        assert!(matches!(
            Slot::decode(b"{not json", "x"),
            Err(LeaseError::Corrupt)
        ));
        let mut v: Value = serde_json::from_slice(&body).unwrap();
        v["issue_time_unix_nanos"] = json!(i128::MAX.to_string());
        assert!(Slot::decode(&serde_json::to_vec(&v).unwrap(), &slot.entry.id).is_err());
    }
}
