//! A password the engine keeps inside the barrier: a connection's admin password or a
//! static role's current password.
//!
//! Zeroized on drop, `Debug` prints `[redacted]`, no `Clone` and no `Display`: the only
//! ways out are [`StoredSecret::expose`] (to hand it to a driver or to the one response
//! that shows it) and serialisation into the barrier-encrypted entry that holds it.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::Zeroizing;

/// A stored password.
#[derive(Default)]
pub(super) struct StoredSecret(Zeroizing<String>);

impl StoredSecret {
    /// Wraps a password.
    pub(super) fn new(value: Zeroizing<String>) -> StoredSecret {
        StoredSecret(value)
    }

    /// The password in clear.
    pub(super) fn expose(&self) -> &str {
        &self.0
    }

    /// A zeroizing copy (for a driver's [`ConnectionSettings`](super::driver::ConnectionSettings)).
    pub(super) fn to_zeroizing(&self) -> Zeroizing<String> {
        Zeroizing::new(self.0.as_str().to_owned())
    }
}

impl fmt::Debug for StoredSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl Serialize for StoredSecret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for StoredSecret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<StoredSecret, D::Error> {
        String::deserialize(deserializer).map(|s| StoredSecret(Zeroizing::new(s)))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn redacted_and_round_trips() {
        let s = StoredSecret::new(Zeroizing::new("hunter2".to_string()));
        assert_eq!(format!("{s:?}"), "[redacted]");
        let json = serde_json::to_string(&s).unwrap();
        let back: StoredSecret = serde_json::from_str(&json).unwrap();
        assert_eq!(back.expose(), "hunter2");
    }
}
