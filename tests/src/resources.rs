//! What a running server holds, read from `/proc/<pid>/…` and `mntr`: for tests that
//! check memory, descriptors, threads, znodes and watches stay bounded or come back.

use crate::{four_letter_word, ServerProcess};

/// A `kB` field of `/proc/<pid>/status` (`VmRSS:`, `Threads:` is a plain count).
fn proc_status_field(pid: u32, key: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|line| line.strip_prefix(key))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {key} in /proc/{pid}/status"))
}

/// Resident memory of the server, in KiB.
pub fn rss_kib(server: &ServerProcess) -> u64 {
    proc_status_field(server.pid(), "VmRSS:")
}

/// Resident memory of the server, in MiB.
pub fn rss_mib(server: &ServerProcess) -> u64 {
    rss_kib(server) / 1024
}

/// Threads of the server process.
pub fn threads(server: &ServerProcess) -> u64 {
    proc_status_field(server.pid(), "Threads:")
}

/// Open file descriptors of the server process.
pub fn open_fds(server: &ServerProcess) -> usize {
    std::fs::read_dir(format!("/proc/{}/fd", server.pid()))
        .expect("proc fd")
        .count()
}

/// A `mntr` counter (the server needs `4lw.commands.whitelist` to include `mntr`).
pub fn mntr(server: &ServerProcess, key: &str) -> i64 {
    let out = four_letter_word(server.addr, "mntr").expect("mntr");
    out.lines()
        .find_map(|line| line.strip_prefix(key)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {key} in mntr:\n{out}"))
}
