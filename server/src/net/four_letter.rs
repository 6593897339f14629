//! Four-letter words on the client port: a known four-byte command in place of the
//! first frame length gets a plain-text answer in ZooKeeper's format, then the
//! connection is closed. What is reported comes from [`crate::admin::report`].

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;

use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedWriteHalf;

use crate::admin::report::{self, VERSION};
use crate::shared::Shared;
use crate::stats::java_double;

const COMMANDS: &[&str] = &[
    "conf", "cons", "crst", "dirs", "dump", "envi", "gtmk", "ruok", "stmk", "srst", "srvr", "stat",
    "wchc", "wchp", "wchs", "mntr", "isro", "hash",
];

/// The command whose four bytes open the connection, if any.
pub fn command(first: &[u8]) -> Option<&'static str> {
    COMMANDS.iter().copied().find(|c| c.as_bytes() == first)
}

pub async fn answer(shared: &Shared, command: &str, peer: SocketAddr, mut socket: OwnedWriteHalf) {
    // ZooKeeper counts the command as a packet received.
    shared.packets_received.fetch_add(1, Ordering::Relaxed);
    let text = if shared.config.four_letter_allowed(command) {
        render(shared, command, peer)
    } else {
        format!("{command} is not executed because it is not in the whitelist.\n")
    };
    let _ = socket.write_all(text.as_bytes()).await;
    shared.count_four_letter_answer();
    let _ = socket.shutdown().await;
}

/// The text of an allowed command; `peer` is the asking connection, which ZooKeeper
/// lists among the clients.
pub fn render(shared: &Shared, command: &str, peer: SocketAddr) -> String {
    let mut out = String::new();
    match command {
        "ruok" => out.push_str("imok"),
        "isro" => out.push_str("rw"),
        "srvr" => {
            let _ = writeln!(out, "Zookeeper version: {VERSION}");
            server_stats(shared, &mut out);
        }
        "stat" => {
            let _ = writeln!(out, "Zookeeper version: {VERSION}");
            out.push_str("Clients:\n");
            for conn in shared.conns.all() {
                let _ = writeln!(
                    out,
                    " /{}[1](queued={},recved={},sent={})",
                    conn.peer,
                    conn.in_flight(),
                    conn.received.load(Ordering::Relaxed),
                    conn.sent.load(Ordering::Relaxed)
                );
            }
            let _ = writeln!(out, " /{peer}[0](queued=0,recved=1,sent=0)");
            out.push('\n');
            server_stats(shared, &mut out);
        }
        "cons" => {
            for conn in shared.conns.all() {
                let s = &conn.stats;
                let _ = write!(
                    out,
                    " /{}[1](queued={},recved={},sent={}",
                    conn.peer,
                    conn.in_flight(),
                    conn.received.load(Ordering::Relaxed),
                    conn.sent.load(Ordering::Relaxed)
                );
                let session = conn.session_id();
                if session != 0 {
                    let timeout = shared.sessions.get(session).map_or(0, |s| s.timeout_ms());
                    let _ = write!(
                        out,
                        ",sid=0x{session:x},lop={},est={},to={timeout}",
                        s.last_op(),
                        s.established_ms
                    );
                    if s.last_cxid() >= 0 {
                        let _ = write!(out, ",lcxid=0x{:x}", s.last_cxid());
                    }
                    let (min, avg, max) = s.latency.min_avg_max_ms();
                    let _ = write!(
                        out,
                        ",lzxid=0x{:x},lresp={},llat={},minlat={min},avglat={},maxlat={max}",
                        s.last_zxid(),
                        s.last_response_ms(),
                        s.last_latency_ms(),
                        avg as u64
                    );
                }
                out.push_str(")\n");
            }
            let _ = writeln!(out, " /{peer}[0](queued=0,recved=1,sent=0)");
            out.push('\n');
        }
        "crst" => {
            shared.reset_connection_stats();
            out.push_str("Connection stats reset.\n");
        }
        "srst" => {
            shared.reset_server_stats();
            out.push_str("Server stats reset.\n");
        }
        "mntr" => {
            for (key, value) in report::monitor(shared, true) {
                let _ = writeln!(out, "zk_{key}\t{value}");
            }
        }
        "conf" => {
            let c = &shared.config;
            let data = report::data_dir(shared);
            let log = report::log_dir(shared);
            let show = |d: &Option<std::path::PathBuf>| {
                d.as_ref()
                    .map(|d| d.display().to_string())
                    .unwrap_or_default()
            };
            let _ = writeln!(out, "clientPort={}", c.client_port);
            let _ = writeln!(out, "secureClientPort=-1");
            let _ = writeln!(out, "dataDir={}", show(&data));
            let _ = writeln!(out, "dataDirSize={}", report::dir_size(data.as_deref()));
            let _ = writeln!(out, "dataLogDir={}", show(&log));
            let _ = writeln!(out, "dataLogSize={}", report::dir_size(log.as_deref()));
            let _ = writeln!(out, "tickTime={}", c.tick_time_ms);
            let _ = writeln!(out, "maxClientCnxns={}", c.max_client_cnxns);
            let _ = writeln!(out, "minSessionTimeout={}", c.min_session_timeout_ms());
            let _ = writeln!(out, "maxSessionTimeout={}", c.max_session_timeout_ms());
            let _ = writeln!(out, "clientPortListenBacklog=-1");
            let _ = writeln!(out, "serverId=0");
        }
        "envi" => {
            out.push_str("Environment:\n");
            for (key, value) in report::environment() {
                let _ = writeln!(out, "{key}={value}");
            }
        }
        "dirs" => {
            let data = report::data_dir(shared);
            let log = report::log_dir(shared);
            let _ = writeln!(out, "datadir_size: {}", report::dir_size(data.as_deref()));
            let _ = writeln!(out, "logdir_size: {}", report::dir_size(log.as_deref()));
        }
        "wchs" => {
            let (conns, paths, total) = report::watch_summary(shared);
            let _ = writeln!(
                out,
                "{conns} connections watching {paths} paths\nTotal watches:{total}"
            );
        }
        "wchc" => {
            for (session, paths) in report::watches_by_session(shared) {
                let _ = writeln!(out, "0x{session:x}");
                for path in paths {
                    let _ = writeln!(out, "\t{path}");
                }
            }
            out.push('\n');
        }
        "wchp" => {
            for (path, sessions) in report::watches_by_path(shared) {
                let _ = writeln!(out, "{path}");
                for session in sessions {
                    let _ = writeln!(out, "\t0x{session:x}");
                }
            }
            out.push('\n');
        }
        "dump" => dump(shared, &mut out),
        "gtmk" => out.push_str("0\n"),
        _ => {
            let _ = writeln!(out, "{command} is not supported by this server.");
        }
    }
    out
}

/// The `srvr` body after the version line (also the tail of `stat`).
fn server_stats(shared: &Shared, out: &mut String) {
    let (min, avg, max) = shared.latency.min_avg_max_ms();
    let _ = writeln!(out, "Latency min/avg/max: {min}/{}/{max}", java_double(avg));
    let _ = writeln!(
        out,
        "Received: {}",
        shared.packets_received.load(Ordering::Relaxed)
    );
    let _ = writeln!(out, "Sent: {}", shared.packets_sent());
    let _ = writeln!(out, "Connections: {}", report::connections(shared, true));
    let _ = writeln!(out, "Outstanding: {}", shared.outstanding_requests());
    let _ = writeln!(out, "Zxid: 0x{:x}", shared.last_zxid());
    let _ = writeln!(out, "Mode: standalone");
    let _ = writeln!(out, "Node count: {}", report::znode_count(shared));
}

/// ZooKeeper's `dump`: sessions by expiry bucket, ephemerals by session, connections.
fn dump(shared: &Shared, out: &mut String) {
    let buckets = report::sessions_by_expiry(shared);
    out.push_str("SessionTracker dump:\n");
    let total: usize = buckets.values().map(Vec::len).sum();
    let _ = writeln!(out, "Session Sets ({})/({total}):", buckets.len());
    for (at, ids) in &buckets {
        let _ = writeln!(out, "{} expire at {}:", ids.len(), report::java_date(*at));
        for id in ids {
            let _ = writeln!(out, "\t0x{id:x}");
        }
    }
    out.push_str("ephemeral nodes dump:\n");
    let ephemerals = report::ephemerals(shared);
    let _ = writeln!(out, "Sessions with Ephemerals ({}):", ephemerals.len());
    for (session, paths) in ephemerals {
        let _ = writeln!(out, "0x{session:x}:");
        for path in paths {
            let _ = writeln!(out, "\t{path}");
        }
    }
    out.push_str("Connections dump:\n");
    let conns = shared.conns.all();
    let _ = writeln!(out, "Connections Sets (1)/({}):", conns.len());
    let _ = writeln!(
        out,
        "{} expire at {}:",
        conns.len(),
        report::java_date(crate::time::now_ms())
    );
    for conn in conns {
        let _ = writeln!(
            out,
            "\tip: /{} sessionId: 0x{:x}",
            conn.peer,
            conn.session_id()
        );
    }
}
