//! Four-letter words on the client port, in ZooKeeper's formats (checked with the
//! regexes go-zookeeper's flw.go parses them with), ZooKeeper's whitelist rule, and the
//! counters behind them. Compared by hand against Debian's ZooKeeper 3.8 for the same
//! state; `FERROKEEPER_TEST_REAL_ZK=1` runs these against it.

use std::collections::HashMap;
use std::net::SocketAddr;

use ferrokeeper_protocol::CreateMode;
use ferrokeeper_tests::wire::{req, Wire};
use ferrokeeper_tests::{four_letter_word, real_zookeeper, ServerProcess};
use regex::Regex;

const ALL: &[&str] = &["--set", "4lw.commands.whitelist=*"];

fn flw(addr: SocketAddr, word: &str) -> String {
    four_letter_word(addr, word).unwrap_or_else(|| panic!("{word}: no answer"))
}

/// A session that made /a (with an ephemeral child) and watches /a (data and
/// children) and a missing /nonexist: the state the 3.8 outputs were taken in.
fn client_with_watches(server: &ServerProcess) -> Wire {
    let mut w = Wire::connect(server.addr);
    assert_eq!(
        w.call(1, &req::create("/a", b"x", CreateMode::Persistent))
            .err(),
        0
    );
    assert_eq!(
        w.call(2, &req::create("/a/e", b"y", CreateMode::Ephemeral))
            .err(),
        0
    );
    assert_eq!(w.call(3, &req::get_data("/a", true)).err(), 0);
    assert_eq!(w.call(4, &req::get_children("/a", true)).err(), 0);
    assert_eq!(w.call(5, &req::exists("/nonexist", true)).err(), -101);
    w
}

/// go-zookeeper's FLWSrvr pattern (with the ISO build date newer servers print).
fn srvr_regex() -> Regex {
    let version = if real_zookeeper() {
        r"[^,]+"
    } else {
        r"[A-Za-z0-9.\-]+"
    };
    Regex::new(&format!(
        r"^Zookeeper version: ({version}), built on (\d\d/\d\d/\d\d\d\d \d\d:\d\d|\d\d\d\d-\d\d-\d\d \d\d:\d\d) [A-Za-z0-9:+\-]+\n(?:Clients:\n(?: /.*\n)*\n)?Latency min/avg/max: (\d+)/([0-9.]+)/(\d+)\nReceived: (\d+)\nSent: (\d+)\nConnections: (\d+)\nOutstanding: (\d+)\nZxid: 0x([0-9a-f]+)\nMode: (\w+)\nNode count: (\d+)\n$"
    ))
    .unwrap()
}

#[test]
fn srvr_and_stat_parse_like_go_zookeeper() {
    let server = ServerProcess::start(ALL);
    let _client = client_with_watches(&server);
    let re = srvr_regex();
    let srvr = flw(server.addr, "srvr");
    let caps = re
        .captures(&srvr)
        .unwrap_or_else(|| panic!("srvr:\n{srvr}"));
    assert_eq!(&caps[11], "standalone");
    // The client and the asking connection, as ZooKeeper counts.
    assert_eq!(&caps[8], "2", "{srvr}");
    assert_eq!(&caps[10], "3", "zxid after two creates: {srvr}");
    assert!(caps[6].parse::<u64>().unwrap() >= 5, "{srvr}");
    let stat = flw(server.addr, "stat");
    assert!(re.is_match(&stat), "stat:\n{stat}");
    let clients =
        Regex::new(r"(?m)^ /127\.0\.0\.1:\d+\[(\d)\]\(queued=\d+,recved=(\d+),sent=(\d+)\)$")
            .unwrap();
    let lines: Vec<_> = clients.captures_iter(&stat).collect();
    assert_eq!(lines.len(), 2, "{stat}");
    assert!(
        // Five requests and the ConnectRequest, as ZooKeeper counts.
        lines
            .iter()
            .any(|c| &c[1] == "1" && &c[2] == "6" && &c[3] == "6"),
        "the client's line: {stat}"
    );
    assert!(
        lines
            .iter()
            .any(|c| &c[1] == "0" && &c[2] == "1" && &c[3] == "0"),
        "the asking connection's line: {stat}"
    );
}

#[test]
fn cons_lists_sessions_like_zookeeper() {
    let server = ServerProcess::start(ALL);
    let client = client_with_watches(&server);
    let cons = flw(server.addr, "cons");
    assert!(cons.ends_with(")\n\n"), "{cons:?}");
    // go-zookeeper's FLWCons patterns.
    let line = Regex::new(r"^\s+/(\d+\.\d+\.\d+\.\d+):(\d+)\[(\d+)\]\((.*)\)$").unwrap();
    let fields = Regex::new(r"^queued=(\d+),recved=(\d+),sent=(\d+),sid=(0x[A-Za-z0-9]+),lop=(\w+),est=(\d+),to=(\d+),lcxid=(0x[A-Za-z0-9]+),lzxid=(0x[A-Za-z0-9]+),lresp=(\d+),llat=(\d+),minlat=(\d+),avglat=(\d+),maxlat=(\d+)$").unwrap();
    let mut sessions = Vec::new();
    for text in cons.lines().filter(|l| !l.is_empty()) {
        let caps = line
            .captures(text)
            .unwrap_or_else(|| panic!("{text:?}\n{cons}"));
        if let Some(f) = fields.captures(&caps[4]) {
            sessions.push((
                f[4].to_owned(),
                f[5].to_owned(),
                f[8].to_owned(),
                f[9].to_owned(),
                f[2].to_owned(),
            ));
        } else {
            assert_eq!(&caps[4], "queued=0,recved=1,sent=0", "{cons}");
        }
    }
    assert_eq!(
        sessions,
        vec![(
            format!("0x{:x}", client.session_id),
            "EXIS".to_owned(),
            "0x5".to_owned(),
            "0x3".to_owned(),
            "6".to_owned()
        )],
        "{cons}"
    );
}

#[test]
fn mntr_is_tab_separated_with_zookeepers_keys() {
    let server = ServerProcess::start(ALL);
    let _client = client_with_watches(&server);
    let mntr = flw(server.addr, "mntr");
    let mut values = HashMap::new();
    for line in mntr.lines() {
        let (key, value) = line
            .split_once('\t')
            .unwrap_or_else(|| panic!("no tab in {line:?}"));
        assert!(key.starts_with("zk_"), "{line}");
        values.insert(key.to_owned(), value.to_owned());
    }
    assert!(mntr.starts_with("zk_version\t"), "{mntr}");
    assert_eq!(values["zk_server_state"], "standalone");
    let int = |key: &str| -> i64 {
        values
            .get(key)
            .unwrap_or_else(|| panic!("{key} missing:\n{mntr}"))
            .parse()
            .unwrap_or_else(|_| panic!("{key} is not an integer:\n{mntr}"))
    };
    for key in [
        "zk_max_latency",
        "zk_min_latency",
        "zk_packets_received",
        "zk_packets_sent",
        "zk_outstanding_requests",
        "zk_approximate_data_size",
        "zk_uptime",
        "zk_global_sessions",
        "zk_max_fsynctime",
        "zk_cnt_fsynctime",
        "zk_max_sync_processor_batch_size",
    ] {
        int(key);
    }
    if !real_zookeeper() {
        // Two creates and the session went through the group commit.
        assert!(int("zk_cnt_sync_processor_batch_size") >= 1, "{mntr}");
        assert!(int("zk_sum_sync_processor_batch_size") >= 3, "{mntr}");
    }
    let avg: f64 = values["zk_avg_latency"].parse().unwrap();
    assert!(values["zk_avg_latency"].contains('.'), "a Java double");
    assert!(avg >= 0.0);
    // ZooKeeper counts the root twice (under "" and "/"): /, /zookeeper, its two
    // children, /a, /a/e, plus one.
    assert_eq!(int("zk_znode_count"), 7);
    assert_eq!(int("zk_ephemerals_count"), 1);
    assert_eq!(int("zk_watch_count"), 3, "data /a, /nonexist; child /a");
    assert_eq!(int("zk_num_alive_connections"), 2);
    let open = int("zk_open_file_descriptor_count");
    let max = int("zk_max_file_descriptor_count");
    assert!(open > 3 && max >= open, "{open} {max}");
    if !real_zookeeper() {
        let from_proc = std::fs::read_dir(format!("/proc/{}/fd", server.pid()))
            .unwrap()
            .count() as i64;
        assert!((open - from_proc).abs() <= 3, "{open} vs /proc {from_proc}");
    }
}

/// One `mntr` value.
fn mntr_value(addr: SocketAddr, key: &str) -> i64 {
    let mntr = flw(addr, "mntr");
    mntr.lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix('\t')?.parse().ok())
        .unwrap_or_else(|| panic!("no integer {key} in:\n{mntr}"))
}

#[test]
fn mntr_reports_response_sizes_and_failed_auths() {
    let server = ServerProcess::start(ALL);
    let sizes = |addr| {
        [
            "zk_last_client_response_size",
            "zk_min_client_response_size",
            "zk_max_client_response_size",
        ]
        .map(|key| mntr_value(addr, key))
    };
    assert_eq!(sizes(server.addr), [-1, -1, -1], "before any reply");
    let mut w = Wire::connect(server.addr);
    // Reply sizes without the length prefix: header 16 + stat 68; + empty data 4.
    assert_eq!(w.call(1, &req::exists("/zookeeper", false)).err(), 0);
    assert_eq!(
        w.call(2, &req::get_data("/zookeeper/config", false)).err(),
        0
    );
    assert_eq!(sizes(server.addr), [88, 84, 88]);
    // An unknown auth scheme: AuthFailed (a bare header) and the connection closes.
    w.send(-4, &req::auth("no-such-scheme", b"x"));
    assert_eq!(w.recv().err(), -115);
    assert_eq!(sizes(server.addr), [16, 16, 88]);
    // ZooKeeper counts only failed TLS handshakes here (Ferrokeeper has no TLS); this
    // counts auth packets answered AuthFailed.
    let failed = if real_zookeeper() { 0 } else { 1 };
    assert_eq!(mntr_value(server.addr, "zk_auth_failed_count"), failed);
    flw(server.addr, "srst");
    assert_eq!(sizes(server.addr), [-1, -1, -1], "srst resets them");
}

#[test]
fn watch_words_list_data_watches_by_session_and_path() {
    let server = ServerProcess::start(ALL);
    let client = client_with_watches(&server);
    let sid = format!("0x{:x}", client.session_id);
    assert_eq!(
        flw(server.addr, "wchs"),
        "1 connections watching 2 paths\nTotal watches:2\n"
    );
    assert_eq!(
        flw(server.addr, "wchc"),
        format!("{sid}\n\t/a\n\t/nonexist\n\n")
    );
    assert_eq!(
        flw(server.addr, "wchp"),
        format!("/a\n\t{sid}\n/nonexist\n\t{sid}\n\n")
    );
}

#[test]
fn dump_conf_envi_dirs_isro_ruok() {
    let server = ServerProcess::start(ALL);
    let client = client_with_watches(&server);
    let sid = format!("0x{:x}", client.session_id);
    let dump = flw(server.addr, "dump");
    let re = Regex::new(&format!(
        r"^SessionTracker dump:\nSession Sets \(\d+\)/\(1\):\n1 expire at \w{{3}} \w{{3}} \d\d \d\d:\d\d:\d\d \w+ \d{{4}}:\n\t{sid}\nephemeral nodes dump:\nSessions with Ephemerals \(1\):\n{sid}:\n\t/a/e\nConnections dump:\n"
    ))
    .unwrap();
    assert!(re.is_match(&dump), "{dump}");
    assert!(dump.contains(&format!("sessionId: {sid}")), "{dump}");

    let conf = flw(server.addr, "conf");
    let keys: Vec<&str> = conf
        .lines()
        .map(|l| l.split_once('=').expect("key=value").0)
        .collect();
    assert_eq!(
        keys,
        [
            "clientPort",
            "secureClientPort",
            "dataDir",
            "dataDirSize",
            "dataLogDir",
            "dataLogSize",
            "tickTime",
            "maxClientCnxns",
            "minSessionTimeout",
            "maxSessionTimeout",
            "clientPortListenBacklog",
            "serverId"
        ]
    );
    assert!(conf.contains(&format!("clientPort={}\n", server.port())));
    assert!(
        conf.contains(
            "tickTime=2000\nmaxClientCnxns=0\nminSessionTimeout=4000\nmaxSessionTimeout=40000\n"
        ),
        "{conf}"
    );

    let envi = flw(server.addr, "envi");
    assert!(
        envi.starts_with("Environment:\nzookeeper.version="),
        "{envi}"
    );
    for key in [
        "host.name",
        "os.name",
        "os.arch",
        "os.version",
        "user.name",
        "user.dir",
    ] {
        assert!(envi.contains(&format!("\n{key}=")), "{key}: {envi}");
    }

    let dirs = flw(server.addr, "dirs");
    let re = Regex::new(r"^datadir_size: (\d+)\nlogdir_size: (\d+)\n$").unwrap();
    let caps = re.captures(&dirs).unwrap_or_else(|| panic!("{dirs}"));
    assert!(
        caps[2].parse::<u64>().unwrap() > 0,
        "the log exists: {dirs}"
    );

    assert_eq!(flw(server.addr, "isro"), "rw");
    assert_eq!(flw(server.addr, "ruok"), "imok");
}

#[test]
fn srst_and_crst_reset_the_counters() {
    let server = ServerProcess::start(ALL);
    let _client = client_with_watches(&server);
    assert_eq!(flw(server.addr, "srst"), "Server stats reset.\n");
    let srvr = flw(server.addr, "srvr");
    assert!(
        srvr.contains("Latency min/avg/max: 0/0.0/0\nReceived: 1\nSent: 1\n"),
        "since the reset: the srvr received, the srst's answer sent: {srvr}"
    );
    assert_eq!(flw(server.addr, "crst"), "Connection stats reset.\n");
    let stat = flw(server.addr, "stat");
    assert!(
        stat.contains("[1](queued=0,recved=0,sent=0)"),
        "the client's counters start again: {stat}"
    );
    let cons = flw(server.addr, "cons");
    assert!(cons.contains(",lop=NA,"), "{cons}");
}

#[test]
fn whitelist_follows_zookeepers_rule() {
    // Default: srvr only (the real-ZooKeeper mode always whitelists everything).
    if !real_zookeeper() {
        let server = ServerProcess::start(&[]);
        assert!(flw(server.addr, "srvr").contains("Mode: standalone"));
        for word in [
            "ruok", "mntr", "stat", "cons", "envi", "wchc", "dump", "crst",
        ] {
            assert_eq!(
                flw(server.addr, word),
                format!("{word} is not executed because it is not in the whitelist.\n")
            );
        }
    }
    // srvr is always added to an explicit list.
    let server = ServerProcess::start(&["--set", "4lw.commands.whitelist=ruok, mntr"]);
    assert_eq!(flw(server.addr, "ruok"), "imok");
    assert!(flw(server.addr, "mntr").starts_with("zk_version\t"));
    assert!(flw(server.addr, "srvr").contains("Mode: standalone"));
    assert_eq!(
        flw(server.addr, "conf"),
        "conf is not executed because it is not in the whitelist.\n"
    );
}
