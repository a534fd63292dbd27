//! Where a device's lines go: an append-only file, stdout, nowhere, or a socket.
//!
//! Writes are synchronous and short (one `write` per line on a file; no fsync per line,
//! as in Vault) and happen under the device's lock, never across an `.await`. A write
//! error is returned, never swallowed: the broker counts it as a failed device. A file
//! that could not be opened and a socket that is down are retried on the next write;
//! a socket write that fails reconnects once and retries the line.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::time::Duration;

use super::spec::{FileTarget, SocketType, Target};

/// Connect and write timeout of socket devices.
const SOCKET_TIMEOUT: Duration = Duration::from_secs(2);
/// How much of a file's tail is read to find the last chained line on open.
const TAIL_BYTES: u64 = 256 * 1024;

/// An open (or to be reopened) destination.
#[derive(Debug)]
pub(super) enum Sink {
    Stdout,
    Discard,
    File {
        path: PathBuf,
        mode: u32,
        no_follow: bool,
        file: Option<File>,
    },
    Socket {
        address: String,
        socket_type: SocketType,
        conn: Option<Conn>,
    },
}

#[derive(Debug)]
pub(super) enum Conn {
    Tcp(std::net::TcpStream),
    Unix(std::os::unix::net::UnixStream),
}

impl Conn {
    fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        match self {
            Conn::Tcp(s) => s.write_all(bytes),
            Conn::Unix(s) => s.write_all(bytes),
        }
    }
}

impl Sink {
    /// The sink for `target`, and the last link found at the end of an existing file
    /// ("" for a new chain). Opening errors are not fatal here: the next write retries
    /// (and fails, closing the request, if the file still cannot be opened).
    pub(super) fn open(target: &Target) -> (Sink, String) {
        match target {
            Target::File(FileTarget::Stdout) => (Sink::Stdout, String::new()),
            Target::File(FileTarget::Discard) => (Sink::Discard, String::new()),
            Target::File(FileTarget::Path {
                path,
                mode,
                no_follow,
            }) => {
                let mut sink = Sink::File {
                    path: path.clone(),
                    mode: *mode,
                    no_follow: *no_follow,
                    file: None,
                };
                // Read the tail before a torn last line gets its newline.
                let prev = last_link(path).unwrap_or_default();
                if let Err(e) = sink.reopen() {
                    tracing::error!(path = %path.display(), error = %e, "cannot open audit file");
                }
                (sink, prev)
            }
            Target::Socket {
                address,
                socket_type,
            } => (
                Sink::Socket {
                    address: address.clone(),
                    socket_type: *socket_type,
                    conn: None,
                },
                String::new(),
            ),
        }
    }

    /// Reopens a file (log rotation); drops a socket connection. No-op otherwise.
    pub(super) fn reopen(&mut self) -> std::io::Result<()> {
        match self {
            Sink::File {
                path,
                mode,
                no_follow,
                file,
            } => {
                *file = None;
                let mut opts = OpenOptions::new();
                opts.append(true).create(true).mode(*mode);
                if *no_follow {
                    opts.custom_flags(nix::libc::O_NOFOLLOW);
                }
                let mut f = opts.open(&*path)?;
                let meta = f.metadata()?;
                if meta.is_file() && meta.len() > 0 {
                    // A torn last line (crash mid-write) must not swallow the next entry.
                    let mut last = [0u8; 1];
                    let mut reader = File::open(&*path)?;
                    reader.seek(SeekFrom::End(-1))?;
                    reader.read_exact(&mut last)?;
                    if last[0] != b'\n' {
                        f.write_all(b"\n")?;
                    }
                }
                *file = Some(f);
                Ok(())
            }
            Sink::Socket { conn, .. } => {
                *conn = None;
                Ok(())
            }
            Sink::Stdout | Sink::Discard => Ok(()),
        }
    }

    /// Writes one whole line.
    pub(super) fn write_line(&mut self, line: &[u8]) -> std::io::Result<()> {
        match self {
            Sink::Discard => Ok(()),
            Sink::Stdout => {
                let mut out = std::io::stdout().lock();
                out.write_all(line)?;
                out.flush()
            }
            Sink::File { file: None, .. } => {
                self.reopen()?;
                self.write_line(line)
            }
            Sink::File { file: Some(f), .. } => f.write_all(line),
            Sink::Socket {
                address,
                socket_type,
                conn,
            } => {
                if let Some(c) = conn {
                    if c.write_all(line).is_ok() {
                        return Ok(());
                    }
                    *conn = None;
                }
                let mut fresh = connect(address, *socket_type)?;
                fresh.write_all(line)?;
                *conn = Some(fresh);
                Ok(())
            }
        }
    }
}

fn connect(address: &str, socket_type: SocketType) -> std::io::Result<Conn> {
    match socket_type {
        SocketType::Tcp => {
            use std::net::ToSocketAddrs;
            let mut last = std::io::Error::new(std::io::ErrorKind::NotFound, "no address");
            for addr in address.to_socket_addrs()? {
                match std::net::TcpStream::connect_timeout(&addr, SOCKET_TIMEOUT) {
                    Ok(s) => {
                        s.set_write_timeout(Some(SOCKET_TIMEOUT))?;
                        s.set_nodelay(true)?;
                        return Ok(Conn::Tcp(s));
                    }
                    Err(e) => last = e,
                }
            }
            Err(last)
        }
        SocketType::Unix => {
            let s = std::os::unix::net::UnixStream::connect(address)?;
            s.set_write_timeout(Some(SOCKET_TIMEOUT))?;
            Ok(Conn::Unix(s))
        }
    }
}

/// The link of the last complete chained line of a file, if any.
fn last_link(path: &std::path::Path) -> Option<String> {
    let mut f = File::open(path).ok()?;
    let meta = f.metadata().ok()?;
    if !meta.is_file() {
        return None;
    }
    let len = meta.len();
    f.seek(SeekFrom::Start(len.saturating_sub(TAIL_BYTES)))
        .ok()?;
    let mut tail = Vec::new();
    f.read_to_end(&mut tail).ok()?;
    let text = String::from_utf8_lossy(&tail);
    // Only newline-terminated lines are complete.
    let complete = &text[..text.rfind('\n')?];
    let last = complete.rsplit('\n').find(|l| !l.trim().is_empty())?;
    strongroom_client::audit_chain::split_line(last).map(|c| c.link)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn file_sink_appends_and_finds_the_tail() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.log");
        let target = Target::File(FileTarget::Path {
            path: path.clone(),
            mode: 0o600,
            no_follow: true,
        });
        let (mut sink, prev) = Sink::open(&target);
        assert_eq!(prev, "");
        let key = [7u8; 32];
        let (line, link) =
            strongroom_client::audit_chain::chain_line(&key, "", "{\"a\":1}").unwrap();
        sink.write_line(line.as_bytes()).unwrap();
        // A torn line after it.
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"{\"tor")
            .unwrap();
        let (mut again, prev) = Sink::open(&target);
        assert_eq!(prev, link);
        again.write_line(b"{}\n").unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.ends_with("{\"tor\n{}\n"), "{text:?}");
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    #[test]
    fn dev_full_fails_and_closed_port_fails() {
        let target = Target::File(FileTarget::Path {
            path: "/dev/full".into(),
            mode: 0o600,
            no_follow: false,
        });
        let (mut sink, _) = Sink::open(&target);
        assert!(sink.write_line(b"{}\n").is_err());
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let (mut sock, _) = Sink::open(&Target::Socket {
            address: port.to_string(),
            socket_type: SocketType::Tcp,
        });
        assert!(sock.write_line(b"{}\n").is_err());
    }
}
