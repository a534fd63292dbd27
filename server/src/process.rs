//! Process hardening at start: no core dumps, memory locked where safe.
//!
//! A core dump of an unsealed vault would contain its keys, so dumps are disabled
//! (`RLIMIT_CORE = 0` and `PR_SET_DUMPABLE = 0`, which also blocks same-user ptrace).
//! `mlockall(MCL_CURRENT | MCL_FUTURE)` keeps key material out of swap; it is only
//! attempted when the process may lock unlimited memory (`CAP_IPC_LOCK` in its effective
//! capability set, or an unlimited `RLIMIT_MEMLOCK`), because with a finite limit a later
//! allocation beyond it would fail and abort the server.

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
        let privileged = has_cap_ipc_lock();
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

/// `CAP_IPC_LOCK` (capability 14) in the effective set, read from `/proc/self/status`.
fn has_cap_ipc_lock() -> bool {
    const CAP_IPC_LOCK: u32 = 14;
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| effective_caps(&status))
        .is_some_and(|caps| caps & (1 << CAP_IPC_LOCK) != 0)
}

fn effective_caps(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_effective_capabilities() {
        let status = "Name:\tx\nCapInh:\t0000000000000000\nCapEff:\t0000000000004000\n";
        assert_eq!(effective_caps(status), Some(0x4000));
        assert_eq!(effective_caps("Name: x\n"), None);
    }
}
