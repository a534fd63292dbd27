//! Process hardening at start: no core dumps, memory locked where safe.
//!
//! A core dump of an unsealed vault would contain its keys, so dumps are disabled
//! (`RLIMIT_CORE = 0` and `PR_SET_DUMPABLE = 0`, which also blocks same-user ptrace).
//! `mlockall(MCL_CURRENT | MCL_FUTURE)` keeps key material out of swap; it is only
//! attempted when the process may lock unlimited memory (root/CAP_IPC_LOCK or an
//! unlimited `RLIMIT_MEMLOCK`), because with a finite limit a later allocation beyond it
//! would fail and abort the server.

use nix::sys::resource::{getrlimit, setrlimit, Resource, RLIM_INFINITY};

/// What hardening achieved, for the start-up log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hardening {
    /// Core dumps are off.
    pub core_dumps_disabled: bool,
    /// Memory is locked.
    pub memory_locked: bool,
    /// Why something could not be done.
    pub warnings: Vec<String>,
}

/// Applies the hardening. `lock_memory` is false when the config sets `disable_mlock`.
pub fn harden(lock_memory: bool) -> Hardening {
    let mut warnings = Vec::new();
    let mut core_dumps_disabled = true;
    if let Err(e) = setrlimit(Resource::RLIMIT_CORE, 0, 0) {
        core_dumps_disabled = false;
        warnings.push(format!("could not disable core dumps (RLIMIT_CORE): {e}"));
    }
    if let Err(e) = nix::sys::prctl::set_dumpable(false) {
        warnings.push(format!("could not mark the process non-dumpable: {e}"));
    }
    let mut memory_locked = false;
    if lock_memory {
        let unlimited =
            matches!(getrlimit(Resource::RLIMIT_MEMLOCK), Ok((soft, _)) if soft == RLIM_INFINITY);
        let privileged = nix::unistd::geteuid().is_root();
        if unlimited || privileged {
            use nix::sys::mman::{mlockall, MlockAllFlags};
            match mlockall(MlockAllFlags::MCL_CURRENT | MlockAllFlags::MCL_FUTURE) {
                Ok(()) => memory_locked = true,
                Err(e) => warnings.push(format!(
                    "mlockall failed ({e}); secrets may be swapped to disk. Grant CAP_IPC_LOCK or set disable_mlock = true"
                )),
            }
        } else {
            warnings.push(
                "memory not locked: RLIMIT_MEMLOCK is limited and the process lacks CAP_IPC_LOCK; \
                 secrets may be swapped to disk (grant CAP_IPC_LOCK, or set disable_mlock = true to silence this)"
                    .to_string(),
            );
        }
    }
    Hardening {
        core_dumps_disabled,
        memory_locked,
        warnings,
    }
}
