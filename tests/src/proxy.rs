//! A TCP proxy in front of the server that a test can cut, so a client loses its
//! connection (and reconnects, re-registering its watches) while its session lives on.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

struct State {
    /// While set, new connections are dropped as soon as they are accepted.
    blocked: AtomicBool,
    /// Bumped to cut every live connection.
    cut: watch::Sender<u64>,
}

/// Forwards connections to a target until dropped.
pub struct Proxy {
    pub addr: SocketAddr,
    state: Arc<State>,
    task: JoinHandle<()>,
}

impl Proxy {
    /// Listens on a free loopback port and forwards every connection to `target`.
    pub async fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(State {
            blocked: AtomicBool::new(false),
            cut: watch::channel(0).0,
        });
        let task = tokio::spawn(accept_loop(listener, target, state.clone()));
        Proxy { addr, state, task }
    }

    /// The connect string of the proxy.
    pub fn connect_string(&self) -> String {
        self.addr.to_string()
    }

    /// Cuts every live connection and refuses new ones until [`Self::unblock`].
    pub fn block(&self) {
        self.state.blocked.store(true, Ordering::SeqCst);
        self.cut();
    }

    /// Accepts connections again.
    pub fn unblock(&self) {
        self.state.blocked.store(false, Ordering::SeqCst);
    }

    /// Cuts every live connection (both directions, at once).
    pub fn cut(&self) {
        self.state.cut.send_modify(|generation| *generation += 1);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.cut();
        self.task.abort();
    }
}

async fn accept_loop(listener: TcpListener, target: SocketAddr, state: Arc<State>) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            continue;
        };
        if state.blocked.load(Ordering::SeqCst) {
            drop(client);
            continue;
        }
        let mut cut = state.cut.subscribe();
        cut.mark_unchanged();
        tokio::spawn(async move {
            let Ok(mut server) = TcpStream::connect(target).await else {
                return;
            };
            let mut client = client;
            let _ = client.set_nodelay(true);
            let _ = server.set_nodelay(true);
            tokio::select! {
                _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                _ = cut.changed() => {}
            }
        });
    }
}
