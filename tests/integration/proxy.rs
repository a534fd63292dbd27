//! A TCP forwarder for tests that need a peer to become unreachable: it copies bytes
//! both ways between each accepted connection and a target, and can be "taken down"
//! (open connections are cut, new ones closed at once) and brought back.
//!
//! Used in front of PostgreSQL (a database down during revocation) and in front of a
//! Strongroom server (a client seeing connection errors). The forwarding task lives as
//! long as the runtime; it stops accepting when its listener fails.

use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// A forwarder on 127.0.0.1 that can be taken down and up.
pub struct TcpProxy {
    addr: SocketAddr,
    down: watch::Sender<bool>,
}

impl TcpProxy {
    /// Listens on 127.0.0.1:0 and forwards every connection to `host:port`.
    pub async fn start(host: String, port: u16) -> TcpProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy address");
        let (down, down_rx) = watch::channel(false);
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if *down_rx.borrow() {
                    drop(inbound);
                    continue;
                }
                let host = host.clone();
                let mut down_rx = down_rx.clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect((host.as_str(), port)).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = down_rx.wait_for(|d| *d) => {}
                    }
                });
            }
        });
        TcpProxy { addr, down }
    }

    /// The port it listens on (on 127.0.0.1).
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Takes the proxy down (`true`: cut open connections, refuse new ones) or up.
    pub fn set_down(&self, down: bool) {
        self.down.send_replace(down);
    }
}
