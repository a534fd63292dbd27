//! Wire types of the Vault/OpenBao-compatible HTTP API (`/v1/...`).
//!
//! One file per resource. Field names and optionality follow the wire reference
//! (`shared/docs/vault-api.md`): fields that strict clients (vaultrs) deserialise as
//! required are never optional here.

mod envelope;
mod health;
mod init;
mod key_status;
mod kv;
mod mount;
mod rekey;
mod seal_status;
mod token;

pub use envelope::{Envelope, ErrorBody, WrapInfo};
pub use health::{HealthResponse, LeaderResponse};
pub use init::{InitRequest, InitResponse, InitStatus};
pub use key_status::KeyStatus;
pub use kv::{
    KeyList, KvConfig, KvMetadata, KvMetadataUpdate, KvV2Secret, KvVersionMetadata, KvVersionState,
};
pub use mount::{MountConfig, MountEntry};
pub use rekey::{
    RekeyInitRequest, RekeyStatus, RekeyUpdateRequest, RekeyUpdateResponse, RekeyVerifyStatus,
    RekeyVerifyUpdateResponse,
};
pub use seal_status::{SealStatus, UnsealRequest};
pub use token::{AuthInfo, TokenLookup};
