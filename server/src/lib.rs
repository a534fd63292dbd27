//! Strongroom server library: a secrets vault speaking the Vault/OpenBao HTTP API.
//!
//! Layers, top to bottom (DESIGN.md §1–2): [`api`] → [`core`] → {[`router`], [`policy`],
//! [`auth`], [`system`]} → [`barrier`] → [`storage`], with [`seal`] beside the barrier.
//! [`server`] assembles them; `main.rs` is a thin binary over it.

pub mod api;
pub mod audit;
pub mod auth;
pub mod barrier;
pub mod config;
pub mod core;
pub mod credential;
pub mod encoding;
pub mod engines;
pub mod error;
pub mod lease;
pub mod limits;
pub mod mount;
pub mod password;
pub mod policy;
pub mod process;
pub mod router;
pub mod seal;
pub mod server;
pub mod storage;
pub mod system;
pub mod tls;
pub mod tools;
