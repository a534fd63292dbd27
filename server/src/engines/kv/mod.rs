//! Key/value engines: version 1 (one value per key) and version 2 (versioned, with
//! metadata). Which one serves a mount is the mount's `options.version`.

pub mod v1;
pub mod v2;
