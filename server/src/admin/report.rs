//! What the operations surface reports, gathered once for its three renderings: the
//! four-letter words (text), the AdminServer (JSON) and the metrics endpoint.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use crate::shared::Shared;
use crate::stats::java_double;

/// The version string `srvr`, `stat`, `mntr`, `envi` and the AdminServer show, in
/// ZooKeeper's shape (`<version>-<revision>, built on <date>`). It starts with the
/// ZooKeeper release whose protocol and behaviour the server follows (README
/// "Deliberate differences": 3.9), because tools read only that part: kazoo's
/// `server_version()` takes the leading digits, exporters and dashboards the same.
/// Ferrokeeper's own version and git commit follow (`build.rs`).
pub const VERSION: &str = concat!(
    "3.9.3-ferrokeeper-",
    env!("CARGO_PKG_VERSION"),
    env!("FERROKEEPER_GIT_REVISION"),
    ", built on ",
    env!("FERROKEEPER_BUILD_DATE")
);

/// A `mntr`/`monitor` value: integers print as integers, the rest as Java doubles.
#[derive(Debug, Clone, PartialEq)]
pub enum Metric {
    Int(i64),
    Float(f64),
    Text(String),
}

impl std::fmt::Display for Metric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Metric::Int(n) => write!(f, "{n}"),
            Metric::Float(x) => f.write_str(&java_double(*x)),
            Metric::Text(s) => f.write_str(s),
        }
    }
}

/// The directory holding the snapshots (dataDir), if the server has one.
pub fn data_dir(shared: &Shared) -> Option<PathBuf> {
    shared.config.data_dir.clone()
}

/// The directory holding the log (dataLogDir, else dataDir).
pub fn log_dir(shared: &Shared) -> Option<PathBuf> {
    shared
        .config
        .data_log_dir
        .clone()
        .or_else(|| shared.config.data_dir.clone())
}

/// Bytes in the regular files of `dir` (ZooKeeper's dataDirSize/dataLogSize).
pub fn dir_size(dir: Option<&Path>) -> u64 {
    let Some(Ok(entries)) = dir.map(std::fs::read_dir) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.metadata().ok())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum()
}

/// The newest snapshot in dataDir: (zxid, modification time in seconds).
pub fn last_snapshot(shared: &Shared) -> Option<(i64, u64)> {
    let dir = data_dir(shared)?;
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let zxid = i64::from_str_radix(name.strip_prefix("snapshot.")?, 16).ok()?;
            let modified = entry.metadata().ok()?.modified().ok()?;
            let secs = modified
                .duration_since(std::time::UNIX_EPOCH)
                .ok()?
                .as_secs();
            Some((zxid, secs))
        })
        .max()
}

/// Open client connections; `extra` counts the four-letter-word connection asking, as
/// ZooKeeper counts it.
pub fn connections(shared: &Shared, extra: bool) -> u64 {
    shared.conns.len() as u64 + u64::from(extra)
}

/// The znode count as ZooKeeper reports it: its DataTree holds the root under both ""
/// and "/", so an empty tree counts 5 (/, /zookeeper, /zookeeper/quota,
/// /zookeeper/config and the root again); dashboards and scripts see the same number
/// here.
pub fn znode_count(shared: &Shared) -> u64 {
    shared.tree.read().node_count() as u64 + 1
}

/// `mntr` / `/commands/monitor`, in ZooKeeper's key names and order: the gauges, then
/// every summary's keys.
pub fn monitor(shared: &Shared, extra_conn: bool) -> Vec<(String, Metric)> {
    let mut out: Vec<(String, Metric)> = gauges(shared, extra_conn)
        .into_iter()
        .map(|(key, value)| (key.to_owned(), value))
        .collect();
    for (name, detail, summary) in shared.metrics.named() {
        let (count, sum, min, max, avg) = summary.read();
        out.extend([
            (format!("avg_{name}"), Metric::Float(avg)),
            (format!("min_{name}"), Metric::Int(min as i64)),
            (format!("max_{name}"), Metric::Int(max as i64)),
            (format!("cnt_{name}"), Metric::Int(count as i64)),
            (format!("sum_{name}"), Metric::Int(sum as i64)),
        ]);
        let percentiles = detail.mntr_percentiles();
        let quantiles: Vec<f64> = percentiles.iter().map(|(_, q)| *q).collect();
        for ((key, _), value) in percentiles.iter().zip(summary.quantiles(&quantiles)) {
            // ZooKeeper rounds its percentiles to whole numbers.
            out.push((format!("{key}_{name}"), Metric::Int(value.round() as i64)));
        }
    }
    out
}

/// The single values of `mntr` (the Prometheus endpoint's gauges), in ZooKeeper's order.
pub fn gauges(shared: &Shared, extra_conn: bool) -> Vec<(&'static str, Metric)> {
    use Metric::{Float, Int, Text};
    let (min, avg, max) = shared.latency.min_avg_max_ms();
    let znodes = znode_count(shared) as i64;
    let (ephemerals, data_size) = {
        let tree = shared.tree.read();
        (tree.ephemeral_count() as i64, tree.data_size() as i64)
    };
    let watches = shared.watches.lock().watch_count() as i64;
    let (last_response, min_response, max_response) = shared.conns.response_sizes.read();
    let mut out = vec![
        ("version", Text(VERSION.to_owned())),
        ("server_state", Text("standalone".into())),
        ("ephemerals_count", Int(ephemerals)),
        (
            "num_alive_connections",
            Int(connections(shared, extra_conn) as i64),
        ),
        ("avg_latency", Float(avg)),
        (
            "outstanding_requests",
            Int(shared.outstanding_requests() as i64),
        ),
        ("znode_count", Int(znodes)),
        ("global_sessions", Int(shared.sessions.len() as i64)),
        ("last_client_response_size", Int(last_response)),
        ("packets_sent", Int(shared.packets_sent() as i64)),
        (
            "packets_received",
            Int(shared.packets_received.load(Ordering::Relaxed) as i64),
        ),
        ("max_client_response_size", Int(max_response)),
        ("connection_drop_probability", Float(0.0)),
        ("watch_count", Int(watches)),
        (
            "auth_failed_count",
            Int(shared.auth_failed.load(Ordering::Relaxed) as i64),
        ),
        ("min_latency", Int(min as i64)),
        ("approximate_data_size", Int(data_size)),
    ];
    if let Some((open, max_fds)) = crate::stats::file_descriptors() {
        out.push(("max_file_descriptor_count", Int(max_fds as i64)));
        out.push(("open_file_descriptor_count", Int(open as i64)));
    }
    out.extend([
        ("local_sessions", Int(0)),
        (
            "uptime",
            Int(crate::time::now_ms().saturating_sub(shared.started_ms) as i64),
        ),
        ("max_latency", Int(max as i64)),
        ("outstanding_tls_handshake", Int(0)),
        ("min_client_response_size", Int(min_response)),
        (
            "connection_rejected",
            Int(shared.connections_rejected.load(Ordering::Relaxed) as i64),
        ),
    ]);
    out
}

/// Session ids by expiry time, rounded up to tickTime as ZooKeeper's ExpiryQueue does.
pub fn sessions_by_expiry(shared: &Shared) -> BTreeMap<u64, Vec<i64>> {
    let tick = shared.config.tick_time_ms.max(1) as u64;
    let mut out: BTreeMap<u64, Vec<i64>> = BTreeMap::new();
    for session in shared.sessions.all() {
        let at = session.deadline_ms().div_ceil(tick) * tick;
        out.entry(at).or_default().push(session.id);
    }
    for ids in out.values_mut() {
        ids.sort_unstable();
    }
    out
}

/// Ephemeral paths by owning session.
pub fn ephemerals(shared: &Shared) -> BTreeMap<i64, Vec<String>> {
    let tree = shared.tree.read();
    tree.all_ephemerals()
        .map(|(session, paths)| (session, paths.iter().cloned().collect()))
        .collect()
}

/// Data watches (getData, exists, addWatch) by session id, as ZooKeeper's `wchc` and
/// `/commands/watches` report them: the data table only, like ZooKeeper's.
pub fn watches_by_session(shared: &Shared) -> BTreeMap<i64, BTreeSet<String>> {
    let watches = shared.watches.lock();
    let mut out: BTreeMap<i64, BTreeSet<String>> = BTreeMap::new();
    for (watcher, paths) in watches.data.by_watcher() {
        let session = shared.conns.get(watcher).map_or(0, |c| c.session_id());
        out.entry(session)
            .or_default()
            .extend(paths.iter().map(|p| p.to_string()));
    }
    out
}

/// Session ids watching each path (`wchp`, `/commands/watches_by_path`).
pub fn watches_by_path(shared: &Shared) -> BTreeMap<String, BTreeSet<i64>> {
    let watches = shared.watches.lock();
    watches
        .data
        .by_path()
        .map(|(path, watchers)| {
            let sessions = watchers
                .keys()
                .map(|w| shared.conns.get(*w).map_or(0, |c| c.session_id()))
                .collect();
            (path.to_owned(), sessions)
        })
        .collect()
}

/// (connections watching, paths watched, watches) for `wchs`.
pub fn watch_summary(shared: &Shared) -> (usize, usize, usize) {
    let watches = shared.watches.lock();
    (
        watches.data.by_watcher().count(),
        watches.data.by_path().count(),
        watches.data.watch_count(),
    )
}

/// `envi` / `/commands/environment`: ZooKeeper's keys where they mean something here.
pub fn environment() -> Vec<(&'static str, String)> {
    let read = |path: &str| {
        std::fs::read_to_string(path)
            .map(|s| s.trim().to_owned())
            .unwrap_or_else(|_| "<NA>".into())
    };
    let var = |name: &str| std::env::var(name).unwrap_or_else(|_| "<NA>".into());
    vec![
        ("zookeeper.version", VERSION.to_owned()),
        ("host.name", read("/proc/sys/kernel/hostname")),
        ("os.name", capitalized(std::env::consts::OS)),
        ("os.arch", arch()),
        ("os.version", read("/proc/sys/kernel/osrelease")),
        ("user.name", user_name().unwrap_or_else(|| var("USER"))),
        ("user.home", var("HOME")),
        (
            "user.dir",
            std::env::current_dir()
                .map(|d| d.display().to_string())
                .unwrap_or_else(|_| "<NA>".into()),
        ),
        ("process.id", std::process::id().to_string()),
    ]
}

/// The name of this process's user, from /proc and /etc/passwd.
fn user_name() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let uid = status
        .lines()
        .find(|l| l.starts_with("Uid:"))?
        .split_whitespace()
        .nth(1)?
        .to_owned();
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.get(2) == Some(&uid.as_str())).then(|| fields[0].to_owned())
    })
}

fn capitalized(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// Java's os.arch names.
fn arch() -> String {
    match std::env::consts::ARCH {
        "x86_64" => "amd64".into(),
        other => other.into(),
    }
}

/// A time as Java's `Date.toString()` prints it, in UTC: `Thu Nov 26 22:02:34 UTC 2026`.
pub fn java_date(ms: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = ms / 1000;
    let days = (secs / 86_400) as i64;
    let (year, month, day) = crate::time::civil_from_days(days);
    let rem = secs % 86_400;
    format!(
        "{} {} {:02} {:02}:{:02}:{:02} UTC {}",
        DAYS[(days % 7) as usize],
        MONTHS[(month - 1) as usize],
        day,
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        year
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_like_java() {
        assert_eq!(java_date(0), "Thu Jan 01 00:00:00 UTC 1970");
        assert_eq!(java_date(1_795_730_554_000), "Thu Nov 26 22:02:34 UTC 2026");
    }

    #[test]
    fn metrics_print_integers_as_integers() {
        assert_eq!(Metric::Int(5).to_string(), "5");
        assert_eq!(Metric::Float(0.0).to_string(), "0.0");
        assert_eq!(Metric::Float(4.857_14).to_string(), "4.8571");
    }
}
