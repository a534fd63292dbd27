//! Authentication: the token store, and (later) login methods.
//!
//! Sits under `core` in the flow: the core resolves the request's [`ClientToken`] through
//! the [`TokenStore`] before routing and authorisation.

pub mod client_token;
pub mod token;
pub mod token_endpoints;
pub mod token_roles;

pub use client_token::ClientToken;
pub use token::{NewToken, Renewal, StoredToken, TokenEntry, TokenError, TokenStore, Use};
