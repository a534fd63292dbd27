//! Strongroom client.
//!
//! - [`api`]: the wire types of the Vault-compatible HTTP API. The server serialises its
//!   responses with these same types, so client and server cannot drift apart.
//! - [`audit_chain`]: the audit hash chain, shared by the server (writes) and the CLI
//!   (`strongroom audit verify`).
//! - [`Client`] (feature `http`, on by default): a typed async client over HTTPS, with
//!   retries; typed calls for sys, kv, tokens, logins, leases, database and transit.
//! - [`LeaseKeeper`] (feature `http`): renews leases and tokens in the background and says
//!   when renewal is no longer possible.

pub mod api;
pub mod audit_chain;

#[cfg(feature = "http")]
mod calls;
#[cfg(feature = "http")]
mod client;
#[cfg(feature = "http")]
mod error;
#[cfg(feature = "http")]
pub mod lease_keeper;

#[cfg(feature = "http")]
pub use calls::{DataKey, DecryptItem, EncryptItem, Secret};
#[cfg(feature = "http")]
pub use client::{Client, ClientBuilder, RawResponse, DEFAULT_MAX_RETRIES, MAX_RETRY_AFTER};
#[cfg(feature = "http")]
pub use error::{ClientError, TransportError};
#[cfg(feature = "http")]
pub use lease_keeper::{KeeperError, KeeperEvent, KeeperEvents, Kept, LeaseKeeper, StopReason};
#[cfg(feature = "http")]
pub use reqwest::{Method, StatusCode};
