//! The version the server reports, as tools read it: `srvr` and `stat` (first line),
//! `mntr` (`zk_version`), `envi` (`zookeeper.version`) and the AdminServer
//! (`server_stats`' and `monitor`'s `version`, `environment`'s `zookeeper.version`)
//! carry one string in ZooKeeper's shape that starts with the ZooKeeper version the
//! server speaks, then Ferrokeeper's own version and commit. kazoo's parse of it
//! (`server_version()`) is checked by `tests/clients/kazoo_smoke.py` (its
//! `server_version` step, run by `real_clients.rs`).

use std::process::Command;

use ferrokeeper_tests::{four_letter_word, free_port, http, Launch};
use regex::Regex;

fn flw(addr: std::net::SocketAddr, word: &str) -> String {
    four_letter_word(addr, word).unwrap_or_else(|| panic!("{word}: no answer"))
}

/// The value after `prefix` on the line of `text` that starts with it.
fn line_value<'a>(text: &'a str, prefix: &str) -> &'a str {
    text.lines()
        .find_map(|line| line.strip_prefix(prefix))
        .unwrap_or_else(|| panic!("no line starting {prefix:?} in:\n{text}"))
}

/// The commit the sources are checked out at, if they are in a git checkout.
fn git_head() -> Option<String> {
    let output = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

#[test]
fn every_output_reports_the_same_zookeeper_shaped_version() {
    let admin_port = free_port();
    let server = Launch::in_memory()
        .args(&[
            "--set",
            "4lw.commands.whitelist=*",
            "--set",
            "admin.enableServer=true",
            "--set",
            "admin.serverAddress=127.0.0.1",
            "--admin-port",
            &admin_port.to_string(),
        ])
        .start();
    let admin = std::net::SocketAddr::from(([127, 0, 0, 1], admin_port));
    let command = |name: &str| {
        let response = http::get(admin, &format!("/commands/{name}"), &[]);
        assert_eq!(response.status, 200, "{name}: {}", response.text());
        response.json()
    };
    let srvr = flw(server.addr, "srvr");
    let version = line_value(&srvr, "Zookeeper version: ").to_owned();
    let reported = [
        (
            "stat",
            line_value(&flw(server.addr, "stat"), "Zookeeper version: ").to_owned(),
        ),
        (
            "mntr",
            line_value(&flw(server.addr, "mntr"), "zk_version\t").to_owned(),
        ),
        (
            "envi",
            line_value(&flw(server.addr, "envi"), "zookeeper.version=").to_owned(),
        ),
        (
            "/commands/server_stats",
            command("server_stats")["version"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        ),
        (
            "/commands/monitor",
            command("monitor")["version"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        ),
        (
            "/commands/environment",
            command("environment")["zookeeper.version"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        ),
    ];
    for (output, value) in &reported {
        assert_eq!(value, &version, "{output} and srvr differ");
    }

    // ZooKeeper's `3.8.0-<revision>, built on 2022-02-25 08:49 UTC`, its revision
    // being `ferrokeeper-<version>[-<commit>]`.
    let shape = Regex::new(
        r"^(\d+)\.(\d+)\.(\d+)-ferrokeeper-([0-9.]+)(?:-([0-9a-f]{40}))?, built on (\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d) UTC$",
    )
    .unwrap();
    let caps = shape
        .captures(&version)
        .unwrap_or_else(|| panic!("version {version:?} is not in ZooKeeper's shape"));
    let number = |i: usize| caps[i].parse::<u32>().unwrap();
    assert!(
        (number(1), number(2)) >= (3, 5),
        "{version}: tools treat a server older than 3.5 as lacking its features"
    );
    assert_eq!(&caps[4], env!("CARGO_PKG_VERSION"), "{version}");
    // Built from this checkout (the build script reruns when HEAD moves).
    assert_eq!(
        caps.get(5).map(|m| m.as_str().to_owned()),
        git_head(),
        "{version}: the commit"
    );
    // A real date: after this code was written, not in the future.
    let built = format!(
        "{}-{}-{} {}:{}",
        &caps[6], &caps[7], &caps[8], &caps[9], &caps[10]
    );
    let now = Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M"])
        .output()
        .expect("date");
    let now = String::from_utf8_lossy(&now.stdout).trim().to_owned();
    assert!(
        ("2026-01-01".to_owned()..=now.clone()).contains(&built),
        "{version}: built {built}, now {now}"
    );
}
