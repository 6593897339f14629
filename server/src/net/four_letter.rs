//! Four-letter words on the client port: a known four-byte command in place of the
//! first frame length gets a plain-text answer, then the connection is closed.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedWriteHalf;

use crate::shared::Shared;

const COMMANDS: &[&str] = &[
    "conf", "cons", "crst", "dirs", "dump", "envi", "gtmk", "ruok", "stmk", "srst", "srvr", "stat",
    "wchc", "wchp", "wchs", "mntr", "isro", "hash",
];

pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "-ferrokeeper");

/// The command whose four bytes open the connection, if any.
pub fn command(first: &[u8]) -> Option<&'static str> {
    COMMANDS.iter().copied().find(|c| c.as_bytes() == first)
}

pub async fn answer(shared: &Shared, command: &str, mut socket: OwnedWriteHalf) {
    let text = if shared.config.four_letter_allowed(command) {
        render(shared, command)
    } else {
        format!("{command} is not executed because it is not in the whitelist.\n")
    };
    let _ = socket.write_all(text.as_bytes()).await;
    let _ = socket.shutdown().await;
}

fn render(shared: &Shared, command: &str) -> String {
    let mut out = String::new();
    match command {
        "ruok" => out.push_str("imok"),
        "isro" => out.push_str("rw"),
        "srvr" => server_stats(shared, &mut out),
        "stat" => {
            let _ = writeln!(
                out,
                "Zookeeper version: {VERSION}, built on 1970-01-01 00:00 UTC"
            );
            out.push_str("Clients:\n");
            for conn in shared.conns.all() {
                let _ = writeln!(
                    out,
                    " /{}[1](queued=0,recved={},sent={})",
                    conn.peer,
                    conn.received.load(Ordering::Relaxed),
                    conn.sent.load(Ordering::Relaxed)
                );
            }
            out.push('\n');
            let mut body = String::new();
            server_stats(shared, &mut body);
            out.push_str(body.split_once('\n').map_or("", |(_, rest)| rest));
        }
        "mntr" => {
            let tree = shared.tree.read();
            let watches = shared.watches.lock().watch_count();
            let lines: [(&str, String); 15] = [
                ("zk_version", VERSION.to_owned()),
                (
                    "zk_avg_latency",
                    format!("{:.4}", shared.latency.min_avg_max_ms().1),
                ),
                (
                    "zk_max_latency",
                    shared.latency.min_avg_max_ms().2.to_string(),
                ),
                (
                    "zk_min_latency",
                    shared.latency.min_avg_max_ms().0.to_string(),
                ),
                ("zk_server_state", "standalone".into()),
                (
                    "zk_packets_received",
                    shared.packets_received.load(Ordering::Relaxed).to_string(),
                ),
                ("zk_packets_sent", sent(shared).to_string()),
                ("zk_num_alive_connections", shared.conns.len().to_string()),
                ("zk_outstanding_requests", "0".into()),
                ("zk_znode_count", tree.node_count().to_string()),
                ("zk_watch_count", watches.to_string()),
                ("zk_ephemerals_count", tree.ephemeral_count().to_string()),
                ("zk_approximate_data_size", tree.data_size().to_string()),
                ("zk_global_sessions", shared.sessions.len().to_string()),
                (
                    "zk_uptime",
                    (crate::time::now_ms() - shared.started_ms).to_string(),
                ),
            ];
            for (key, value) in lines {
                let _ = writeln!(out, "{key}\t{value}");
            }
        }
        "conf" => {
            let c = &shared.config;
            let _ = writeln!(out, "clientPort={}", c.client_port);
            if let Some(dir) = &c.data_dir {
                let _ = writeln!(out, "dataDir={}", dir.display());
            }
            let _ = writeln!(out, "tickTime={}", c.tick_time_ms);
            let _ = writeln!(out, "minSessionTimeout={}", c.min_session_timeout_ms());
            let _ = writeln!(out, "maxSessionTimeout={}", c.max_session_timeout_ms());
            let _ = writeln!(out, "serverId=0");
        }
        "wchs" => {
            let watches = shared.watches.lock();
            let _ = writeln!(
                out,
                "{} connections watching {} paths\nTotal watches:{}",
                shared.conns.len(),
                watches.data.by_path().count() + watches.child.by_path().count(),
                watches.watch_count()
            );
        }
        "dump" => {
            out.push_str("SessionTracker dump:\n");
            for session in shared.sessions.all() {
                let _ = writeln!(out, "0x{:x}\t{}ms", session.id, session.timeout_ms());
            }
            out.push_str("ephemeral nodes dump:\n");
            let tree = shared.tree.read();
            for (session, paths) in tree.all_ephemerals() {
                let _ = writeln!(out, "0x{session:x}:");
                for path in paths {
                    let _ = writeln!(out, "\t{path}");
                }
            }
        }
        _ => {
            let _ = writeln!(out, "{command} is not supported by this server yet.");
        }
    }
    out
}

fn sent(shared: &Shared) -> u64 {
    shared
        .conns
        .all()
        .iter()
        .map(|c| c.sent.load(Ordering::Relaxed))
        .sum()
}

fn server_stats(shared: &Shared, out: &mut String) {
    let tree = shared.tree.read();
    let _ = writeln!(
        out,
        "Zookeeper version: {VERSION}, built on 1970-01-01 00:00 UTC"
    );
    let (min, avg, max) = shared.latency.min_avg_max_ms();
    let _ = writeln!(out, "Latency min/avg/max: {min}/{avg:.4}/{max}");
    let _ = writeln!(
        out,
        "Received: {}",
        shared.packets_received.load(Ordering::Relaxed)
    );
    let _ = writeln!(out, "Sent: {}", sent(shared));
    let _ = writeln!(out, "Connections: {}", shared.conns.len());
    let _ = writeln!(out, "Outstanding: 0");
    let _ = writeln!(out, "Zxid: 0x{:x}", tree.last_zxid());
    let _ = writeln!(out, "Mode: standalone");
    let _ = writeln!(out, "Node count: {}", tree.node_count());
}
