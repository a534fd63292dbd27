//! Strongroom integration tests: one binary, real servers on port 0, real HTTP.
//!
//! Behaviour numbers refer to `shared/docs/vault-api.md` §13.

#![allow(clippy::unwrap_used)]

mod harness;
mod pg;
mod proxy;

mod audit;
mod auth;
mod auth_methods;
mod bao_cli;
mod binary;
mod cert_auth;
mod cli_auth;
mod cli_kv;
mod cli_run;
mod cli_sys;
mod client_auth;
mod client_database;
mod client_kv;
mod client_lease_keeper;
mod client_sys;
mod client_transit;
mod database;
mod envelope;
mod health;
mod keyring;
mod kv_v1;
mod kv_v2;
mod lifecycle;
mod mounts;
mod policies;
mod seal;
mod tls;
mod tokens;
mod transit;
mod wrapping;
