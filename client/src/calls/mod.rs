//! Typed calls, one file per resource, each an `impl Client` block over
//! [`Client::call`](crate::Client) and friends.

mod auth;
mod database;
mod kv;
mod lease;
mod sys;
mod token;
mod transit;

pub use kv::Secret;
pub use transit::{DataKey, DecryptItem, EncryptItem};
