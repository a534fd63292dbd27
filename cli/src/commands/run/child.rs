//! The child process of `strongroom run`: started with the secrets added to the
//! inherited environment (the only place they go: never argv, never a file), its stdio
//! inherited, signalled by pid, and stopped with SIGTERM, a grace period, then SIGKILL.
//!
//! A dedicated thread waits for the child (`waitpid`) and hands its exit status to the
//! async side, so waiting is cancel-safe and can sit in a `select!` next to signals,
//! timers and keeper events. Signals are only sent while the child has not been reaped.

use std::ffi::OsString;
use std::io;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, ExitStatus};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use tokio::sync::oneshot;
use zeroize::Zeroizing;

/// A running (or finished) child.
#[derive(Debug)]
pub struct Child {
    pid: u32,
    reaped: Arc<AtomicBool>,
    exited: oneshot::Receiver<io::Result<ExitStatus>>,
    status: Option<ExitStatus>,
}

impl Child {
    /// Starts `command` (program and arguments) with this process's environment, less
    /// the variables named in `remove`, plus `env`.
    pub fn spawn(
        command: &[OsString],
        env: &[(String, Zeroizing<String>)],
        remove: &[&str],
    ) -> io::Result<Child> {
        let (program, args) = command
            .split_first()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no command to run"))?;
        let mut cmd = Command::new(program);
        cmd.args(args);
        for name in remove {
            cmd.env_remove(name);
        }
        for (name, value) in env {
            cmd.env(name, value.as_str());
        }
        let mut child = cmd.spawn()?;
        let pid = child.id();
        let reaped = Arc::new(AtomicBool::new(false));
        let (tx, rx) = oneshot::channel();
        let flag = Arc::clone(&reaped);
        std::thread::Builder::new()
            .name("strongroom-run-wait".into())
            .spawn(move || {
                let status = child.wait();
                flag.store(true, Ordering::SeqCst);
                let _ = tx.send(status);
            })?;
        Ok(Child {
            pid,
            reaped,
            exited: rx,
            status: None,
        })
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Sends `signal` unless the child is gone already.
    pub fn signal(&self, signal: Signal) -> io::Result<()> {
        if self.status.is_some() || self.reaped.load(Ordering::SeqCst) {
            return Ok(());
        }
        let pid = i32::try_from(self.pid)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "pid out of range"))?;
        match kill(Pid::from_raw(pid), signal) {
            Ok(()) | Err(nix::errno::Errno::ESRCH) => Ok(()),
            Err(e) => Err(io::Error::from(e)),
        }
    }

    /// Waits for the child to exit (cancel-safe).
    pub async fn wait(&mut self) -> ExitStatus {
        if let Some(status) = self.status {
            return status;
        }
        let status = match (&mut self.exited).await {
            Ok(Ok(status)) => status,
            Ok(Err(e)) => {
                eprintln!("strongroom run: waiting for the child failed: {e}");
                ExitStatus::from_raw(1 << 8)
            }
            Err(_) => ExitStatus::from_raw(1 << 8),
        };
        self.status = Some(status);
        status
    }

    /// The exit status if the child has exited already (does not wait).
    pub fn try_status(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = match self.exited.try_recv() {
                Ok(Ok(status)) => Some(status),
                Ok(Err(_)) => Some(ExitStatus::from_raw(1 << 8)),
                Err(oneshot::error::TryRecvError::Empty) => None,
                Err(oneshot::error::TryRecvError::Closed) => Some(ExitStatus::from_raw(1 << 8)),
            };
        }
        self.status
    }

    /// Stops the child: SIGTERM, up to `grace` to exit, then SIGKILL.
    pub async fn stop(&mut self, grace: Duration) -> ExitStatus {
        if let Err(e) = self.signal(Signal::SIGTERM) {
            eprintln!("strongroom run: sending SIGTERM to the child failed: {e}");
        }
        match tokio::time::timeout(grace, self.wait()).await {
            Ok(status) => status,
            Err(_) => {
                eprintln!(
                    "strongroom run: the child did not exit within {}s of SIGTERM; sending SIGKILL",
                    grace.as_secs_f64()
                );
                if let Err(e) = self.signal(Signal::SIGKILL) {
                    eprintln!("strongroom run: sending SIGKILL to the child failed: {e}");
                }
                self.wait().await
            }
        }
    }
}

/// The exit code for a child's status: its own code, or 128 + the signal that killed it.
pub fn exit_code(status: ExitStatus) -> u8 {
    match (status.code(), status.signal()) {
        (Some(code), _) => u8::try_from(code & 0xff).unwrap_or(1),
        (None, Some(signal)) => u8::try_from(128 + (signal & 0x7f)).unwrap_or(255),
        (None, None) => 1,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Vec<OsString> {
        ["sh", "-c", script].map(OsString::from).to_vec()
    }

    #[tokio::test]
    async fn removed_variables_are_not_inherited() {
        // HOME is set for the test process; the child must not see it.
        let mut child = Child::spawn(&sh(r#"[ -z "$HOME" ] && exit 9"#), &[], &["HOME"]).unwrap();
        assert_eq!(exit_code(child.wait().await), 9);
    }

    #[tokio::test]
    async fn env_is_added_and_exit_codes_pass_through() {
        let env = [("SR_TEST_VALUE".to_string(), Zeroizing::new("v1".into()))];
        let mut child =
            Child::spawn(&sh(r#"[ "$SR_TEST_VALUE" = v1 ] && exit 7"#), &env, &[]).unwrap();
        assert_eq!(exit_code(child.wait().await), 7);
        assert_eq!(child.try_status().map(exit_code), Some(7));
        // Waiting again returns the same status; signalling a reaped child is a no-op.
        assert_eq!(exit_code(child.wait().await), 7);
        child.signal(Signal::SIGTERM).unwrap();
    }

    #[tokio::test]
    async fn stop_terminates_then_kills() {
        let mut child = Child::spawn(&sh("sleep 30"), &[], &[]).unwrap();
        assert_eq!(child.try_status(), None);
        let status = child.stop(Duration::from_secs(5)).await;
        assert_eq!(exit_code(status), 128 + 15);
        // A child ignoring SIGTERM is killed after the grace period.
        let mut child =
            Child::spawn(&sh("trap '' TERM; while :; do sleep 0.1; done"), &[], &[]).unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        let status = child.stop(Duration::from_millis(300)).await;
        assert_eq!(exit_code(status), 128 + 9);
    }

    #[test]
    fn missing_program_is_an_error() {
        assert!(Child::spawn(&[OsString::from("/nonexistent/prog")], &[], &[]).is_err());
        assert!(Child::spawn(&[], &[], &[]).is_err());
    }
}
