//! Wire types of the Vault/OpenBao-compatible HTTP API (`/v1/...`).
//!
//! One file per resource. Field names and optionality follow the wire reference
//! (`shared/docs/vault-api.md`): fields that strict clients (vaultrs) deserialise as
//! required are never optional here.

mod audit;
mod database;
mod envelope;
mod health;
mod init;
mod key_status;
mod kv;
mod lease;
mod mount;
mod policy;
mod rekey;
mod seal_status;
mod sys_mounts;
mod token;
mod transit;

pub use audit::{AuditDevice, EnableAuditRequest};
pub use database::{
    DatabaseConfigRequest, DatabaseCredentialData, DatabaseCredentials, DatabasePassword,
    DatabaseRole, DatabaseStaticRole, DatabaseStaticRoleInfo, StaticCredentials,
};
pub use envelope::{Envelope, ErrorBody, WrapInfo};
pub use health::{HealthResponse, LeaderResponse};
pub use init::{InitRequest, InitResponse, InitStatus};
pub use key_status::KeyStatus;
pub use kv::{
    KeyList, KvConfig, KvMetadata, KvMetadataUpdate, KvV2Secret, KvVersionMetadata, KvVersionState,
};
pub use lease::LeaseInfo;
pub use mount::{MountConfig, MountEntry};
pub use policy::{Policy, WritePolicyRequest};
pub use rekey::{
    RekeyInitRequest, RekeyStatus, RekeyUpdateRequest, RekeyUpdateResponse, RekeyVerifyStatus,
    RekeyVerifyUpdateResponse,
};
pub use seal_status::{SealStatus, UnsealRequest};
pub use sys_mounts::{MountConfigInput, MountOptions, MountTune, TuneMountRequest};
pub use token::{AuthInfo, TokenLookup};
pub use token::{PathCapabilities, TokenCreateRequest};
pub use transit::{
    CreateKeyOptions, DataKeyKind, SignOptions, TransitKey, TransitKeyConfig, TransitKeyType,
};
