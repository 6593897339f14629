//! The operations surface besides four-letter words: maxClientCnxns with real
//! loopback connections, the AdminServer (`/commands/...`, JSON in ZooKeeper's shape)
//! and the Prometheus endpoint. These are Ferrokeeper-only (the real-ZooKeeper mode
//! runs without the AdminServer's jars), so they run the ferrokeeper binary in either
//! mode.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use ferrokeeper_protocol::CreateMode;
use ferrokeeper_tests::free_port;
use ferrokeeper_tests::http;
use ferrokeeper_tests::wire::{req, Wire};
use ferrokeeper_tests::{eventually, four_letter_word, ServerProcess};
use serde_json::Value;

/// A plain HTTP GET: (status, body as text).
fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    let response = http::get(addr, path, &[]);
    (response.status, response.text())
}

fn json(addr: SocketAddr, command: &str) -> Value {
    let response = http::get(addr, &format!("/commands/{command}"), &[]);
    assert_eq!(response.status, 200, "{command}: {}", response.text());
    response.json()
}

/// The connection has been closed by the server without an answer.
fn closed_by_server(mut stream: TcpStream) -> bool {
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut byte = [0u8; 1];
    matches!(stream.read(&mut byte), Ok(0) | Err(_))
}

#[test]
fn max_client_cnxns_closes_the_connection_over_the_limit() {
    let log = std::env::temp_dir().join(format!("fk-maxcnxns-{}.log", std::process::id()));
    let _ = std::fs::remove_file(&log);
    let server = ferrokeeper_tests::Launch::in_memory()
        .args(&[
            "--set",
            "maxClientCnxns=3",
            "--set",
            "4lw.commands.whitelist=*",
        ])
        .stderr_to(&log)
        .start();
    let mut clients: Vec<Wire> = (0..3).map(|_| Wire::connect(server.addr)).collect();
    // The fourth is accepted and closed at once, before any handshake.
    let extra = TcpStream::connect(server.addr).unwrap();
    assert!(closed_by_server(extra));
    // A four-letter word counts too, as in ZooKeeper.
    let refused = four_letter_word(server.addr, "ruok");
    assert!(matches!(refused.as_deref(), None | Some("")), "{refused:?}");
    // The admitted ones keep working.
    for (i, client) in clients.iter_mut().enumerate() {
        assert_eq!(client.ping().err(), 0, "client {i}");
    }
    drop(clients.pop());
    assert!(eventually(Duration::from_secs(5), || {
        four_letter_word(server.addr, "ruok").as_deref() == Some("imok")
    }));
    // Retried: the previous four-letter connection may not have been released yet.
    let mut mntr = String::new();
    assert!(eventually(Duration::from_secs(5), || {
        mntr = four_letter_word(server.addr, "mntr").unwrap_or_default();
        !mntr.is_empty()
    }));
    // The extra connection and the refused ruok (and any ruok tried before the server
    // saw the client go).
    let rejected: u64 = mntr
        .lines()
        .find_map(|l| l.strip_prefix("zk_connection_rejected\t"))
        .unwrap_or_else(|| panic!("{mntr}"))
        .parse()
        .unwrap();
    assert!(rejected >= 2, "{mntr}");
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("Too many connections from one address; connection refused peer=127.0.0.1:")
            && text.contains("max_client_cnxns=3"),
        "{text}"
    );
    let _ = std::fs::remove_file(&log);
}

#[test]
fn max_client_cnxns_zero_is_unlimited() {
    let server = ServerProcess::start_ferrokeeper(&["--set", "maxClientCnxns=0"]);
    let mut clients: Vec<Wire> = (0..70).map(|_| Wire::connect(server.addr)).collect();
    for client in &mut clients {
        assert_eq!(client.ping().err(), 0);
    }
}

#[test]
fn admin_server_answers_zookeepers_commands() {
    let port = free_port();
    let server = ServerProcess::start_ferrokeeper(&[
        "--set",
        "admin.enableServer=true",
        "--set",
        "admin.serverAddress=127.0.0.1",
        "--admin-port",
        &port.to_string(),
        "--set",
        "snapCount=2",
    ]);
    let admin = SocketAddr::from(([127, 0, 0, 1], port));
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
    let sid = w.session_id;

    let ruok = json(admin, "ruok");
    assert_eq!(ruok, serde_json::json!({"command": "ruok", "error": null}));

    let monitor = json(admin, "monitor");
    assert_eq!(monitor["server_state"], "standalone");
    assert_eq!(monitor["znode_count"], 7, "ZooKeeper counts the root twice");
    assert_eq!(monitor["ephemerals_count"], 1);
    assert_eq!(monitor["watch_count"], 1);
    assert_eq!(monitor["num_alive_connections"], 1);
    assert!(monitor["avg_latency"].is_f64());
    assert!(monitor["open_file_descriptor_count"].as_u64().unwrap() > 0);
    assert_eq!(monitor["command"], "monitor");
    // Aliases answer with the primary name.
    assert_eq!(json(admin, "mntr")["command"], "monitor");

    let stats = json(admin, "stat");
    assert_eq!(stats["command"], "stats");
    assert_eq!(stats["server_stats"]["last_processed_zxid"], 3);
    assert_eq!(stats["server_stats"]["server_state"], "standalone");
    assert_eq!(stats["node_count"], 7);
    assert_eq!(stats["connections"].as_array().unwrap().len(), 1);

    let cons = json(admin, "connections");
    let conn = &cons["connections"][0];
    assert_eq!(conn["session_id"], sid);
    assert_eq!(conn["last_operation"], "GETD");
    assert_eq!(conn["last_cxid"], 3);
    assert_eq!(conn["packets_received"], 4, "the ConnectRequest counts");

    let conf = json(admin, "configuration");
    assert_eq!(conf["client_port"], server.port());
    assert_eq!(conf["tick_time"], 2000);
    assert_eq!(conf["max_client_cnxns"], 0);

    let watches = json(admin, "watches");
    assert_eq!(
        watches["session_id_to_watched_paths"][sid.to_string()],
        serde_json::json!(["/a"])
    );
    let by_path = json(admin, "watches_by_path");
    assert_eq!(
        by_path["path_to_session_ids"]["/a"],
        serde_json::json!([sid])
    );
    let summary = json(admin, "watch_summary");
    assert_eq!(summary["num_total_watches"], 1);

    let dump = json(admin, "dump");
    assert_eq!(
        dump["session_id_to_ephemeral_paths"][sid.to_string()],
        serde_json::json!(["/a/e"])
    );
    let expiries = dump["expiry_time_to_session_ids"].as_object().unwrap();
    assert_eq!(expiries.len(), 1);

    assert!(json(admin, "environment")["zookeeper.version"].is_string());
    assert_eq!(json(admin, "is_read_only")["read_only"], false);
    assert!(json(admin, "dirs")["logdir_size"].as_u64().unwrap() > 0);
    let stats = json(admin, "server_stats");
    assert_eq!(stats["command"], "server_stats");
    assert_eq!(stats["server_stats"]["fsync_threshold_exceed_count"], 0);
    assert!(stats.get("connections").is_none(), "{stats}");
    // snapCount=2: the writes above have been snapshotted (in the background).
    assert!(eventually(Duration::from_secs(10), || {
        let snapshot = json(admin, "last_snapshot");
        snapshot["zxid"].as_str().is_some_and(|z| z != "0")
            && snapshot["timestamp"].as_u64().unwrap() > 1_600_000_000
    }));

    let unknown = json(admin, "nonexist");
    assert_eq!(unknown["error"], "Unknown command: nonexist");

    let (status, list) = http_get(admin, "/commands");
    assert_eq!(status, 200);
    for name in [
        "monitor",
        "ruok",
        "stats",
        "connections",
        "configuration",
        "dump",
    ] {
        assert!(
            list.contains(&format!("<a href=\"/commands/{name}\">{name}</a>")),
            "{list}"
        );
    }
}

#[test]
fn admin_server_is_off_when_disabled_and_a_busy_port_is_only_a_warning() {
    let busy = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port();
    let server = ServerProcess::start_ferrokeeper(&[
        "--set",
        "admin.enableServer=true",
        "--set",
        "admin.serverAddress=127.0.0.1",
        "--admin-port",
        &port.to_string(),
    ]);
    // Clients are served all the same.
    let mut w = Wire::connect(server.addr);
    assert_eq!(w.ping().err(), 0);
    drop(busy);

    let port = free_port();
    let _server = ServerProcess::start_ferrokeeper(&["--admin-port", &port.to_string()]);
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
}

/// A server with ZooKeeper's Prometheus provider on a free loopback port.
fn start_with_prometheus() -> (ServerProcess, u16) {
    let port = free_port();
    let server = ServerProcess::start_ferrokeeper(&[
        "--set",
        "metricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider",
        "--set",
        "metricsProvider.httpHost=127.0.0.1",
        "--set",
        &format!("metricsProvider.httpPort={port}"),
    ]);
    (server, port)
}

#[test]
fn prometheus_endpoint_serves_zookeepers_metric_names() {
    let (server, port) = start_with_prometheus();
    let mut w = Wire::connect(server.addr);
    assert_eq!(
        w.call(1, &req::create("/m", b"x", CreateMode::Ephemeral))
            .err(),
        0
    );
    let (status, body) = http_get(SocketAddr::from(([127, 0, 0, 1], port)), "/metrics");
    assert_eq!(status, 200);
    // The text exposition format: HELP and TYPE before each family, then samples.
    let mut samples = std::collections::HashMap::new();
    let mut typed = std::collections::HashSet::new();
    for line in body.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert!(["gauge", "counter", "summary"].contains(&kind), "{line}");
            typed.insert(name.to_owned());
        } else if line.starts_with("# HELP ") || line == "# EOF" {
        } else {
            let (name, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("{line}"));
            // A summary's samples: name{quantile="q"}, name_count, name_sum.
            let family = name.split('{').next().unwrap();
            let family = ["_count", "_sum"]
                .iter()
                .find_map(|suffix| family.strip_suffix(suffix).filter(|f| typed.contains(*f)))
                .unwrap_or(family);
            assert!(typed.contains(family), "{name} has no TYPE line");
            let value: f64 = value.parse().unwrap_or_else(|_| panic!("{line}"));
            samples.insert(name.to_owned(), value);
        }
    }
    for name in [
        "znode_count",
        "watch_count",
        "ephemerals_count",
        "num_alive_connections",
        "outstanding_requests",
        "packets_received",
        "packets_sent",
        "avg_latency",
        "min_latency",
        "max_latency",
        "ferrokeeper_log_dir_bytes",
        "auth_failed_count",
        "last_client_response_size",
        "min_client_response_size",
        "max_client_response_size",
        // ZooKeeper's summaries, as its PrometheusMetricsProvider exports them.
        "fsynctime{quantile=\"0.5\"}",
        "fsynctime_count",
        "sync_processor_batch_size_count",
        "snapshottime_sum",
        "updatelatency{quantile=\"0.99\"}",
        "readlatency_count",
        "propagation_latency{quantile=\"0.9\"}",
    ] {
        assert!(samples.contains_key(name), "{name} missing:\n{body}");
    }
    assert_eq!(
        samples["znode_count"], 6.0,
        "ZooKeeper counts the root twice"
    );
    assert_eq!(samples["ephemerals_count"], 1.0);
    assert_eq!(samples["num_alive_connections"], 1.0);
    assert!(samples["ferrokeeper_log_dir_bytes"] > 0.0);
    assert!(samples["sync_processor_batch_size_count"] >= 1.0);
    assert!(samples["updatelatency_count"] >= 1.0);
    // The create2's reply: header, path, stat (the length prefix not counted).
    assert_eq!(
        samples["last_client_response_size"],
        16.0 + 4.0 + 2.0 + 68.0
    );
    // Mean values are not exported twice: ZooKeeper has no avg_fsynctime gauge.
    assert!(!samples.contains_key("avg_fsynctime"), "{body}");

    // Off unless configured, as in ZooKeeper.
    let port = free_port();
    let _plain =
        ServerProcess::start_ferrokeeper(&["--set", &format!("metricsProvider.httpPort={port}")]);
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
}

/// Python's prometheus_client (installed from PyPI when missing, as the real-client
/// tests install kazoo) parses /metrics; its view of a few families is checked.
#[test]
fn prometheus_text_parses_with_python_prometheus_client() {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let have = |python: &str| {
        std::process::Command::new(python)
            .args(["-c", "import prometheus_client.parser"])
            .status()
            .is_ok_and(|s| s.success())
    };
    if !have(&python) {
        let installed = std::process::Command::new(&python)
            .args(["-m", "pip", "install", "-q", "prometheus_client"])
            .status()
            .expect("run pip");
        assert!(installed.success(), "pip install prometheus_client failed");
    }
    let (server, port) = start_with_prometheus();
    let mut w = Wire::connect(server.addr);
    assert_eq!(
        w.call(1, &req::create("/p", b"x", CreateMode::Persistent))
            .err(),
        0
    );
    let (_, body) = http_get(SocketAddr::from(([127, 0, 0, 1], port)), "/metrics");
    let script = r#"
import sys
from prometheus_client.parser import text_string_to_metric_families
values, quantiles = {}, {}
for family in text_string_to_metric_families(sys.stdin.read()):
    for sample in family.samples:
        values[sample.name] = (family.type, sample.value)
        if "quantile" in sample.labels:
            quantiles.setdefault(family.name, []).append(sample.labels["quantile"])
for name in ["znode_count", "num_alive_connections", "ephemerals_count", "packets_received", "sync_processor_batch_size_count", "updatelatency_count", "auth_failed_count"]:
    kind, value = values[name]
    print(f"{name} {kind} {value:g}")
for name in ["fsynctime", "snapshottime", "sync_processor_batch_size", "readlatency", "updatelatency", "propagation_latency"]:
    print(f"{name} quantiles {','.join(quantiles[name])}")
"#;
    let mut child = std::process::Command::new(&python)
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(body.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}\n{body}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("znode_count gauge 6\n"), "{stdout}");
    assert!(
        stdout.contains("num_alive_connections gauge 1\n"),
        "{stdout}"
    );
    assert!(stdout.contains("ephemerals_count gauge 0\n"), "{stdout}");
    assert!(stdout.contains("auth_failed_count gauge 0\n"), "{stdout}");
    // Summaries: the parser sees each as a summary family with its count.
    assert!(
        stdout.contains("sync_processor_batch_size_count summary "),
        "{stdout}"
    );
    assert!(
        stdout.contains("updatelatency_count summary 1\n"),
        "{stdout}"
    );
    // ZooKeeper's detail levels: basic summaries have the median, advanced ones
    // 0.5, 0.9 and 0.99.
    for basic in ["fsynctime", "snapshottime", "sync_processor_batch_size"] {
        assert!(
            stdout.contains(&format!("{basic} quantiles 0.5\n")),
            "{stdout}"
        );
    }
    for advanced in ["readlatency", "updatelatency", "propagation_latency"] {
        assert!(
            stdout.contains(&format!("{advanced} quantiles 0.5,0.9,0.99\n")),
            "{stdout}"
        );
    }
}

/// Kafka's quickstart config/zookeeper.properties, as shipped.
#[test]
fn kafka_quickstart_zookeeper_properties_start_the_server() {
    let dir = std::env::temp_dir().join(format!("fk-kafka-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("zookeeper.properties");
    std::fs::write(
        &cfg,
        format!(
            "# Licensed to the Apache Software Foundation (ASF) under one or more\n\
             # the directory where the snapshot is stored.\n\
             dataDir={}\n\
             # the port at which the clients will connect\n\
             clientPort=2181\n\
             # disable the per-ip limit on the number of connections since this is a non-production config\n\
             maxClientCnxns=0\n\
             # Disable the adminserver by default to avoid port conflicts.\n\
             # Set the port to something non-conflicting if choosing to enable this\n\
             admin.enableServer=false\n\
             # admin.serverPort=8080\n",
            dir.join("data").display()
        ),
    )
    .unwrap();
    // The flags the harness adds (--port 0, --bind) override clientPort.
    let server = ferrokeeper_tests::Launch::new(&dir.join("data"))
        .args(&[
            cfg.to_str().unwrap(),
            "--set",
            "4lw.commands.whitelist=conf",
        ])
        .start();
    let conf = four_letter_word(server.addr, "conf").unwrap();
    assert!(conf.contains("maxClientCnxns=0\n"), "{conf}");
    assert!(
        conf.contains(&format!("dataDir={}\n", dir.join("data").display())),
        "{conf}"
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn log_format_json_writes_one_object_per_line() {
    let log = std::env::temp_dir().join(format!("fk-json-log-{}.log", std::process::id()));
    let _ = std::fs::remove_file(&log);
    let server = ferrokeeper_tests::Launch::in_memory()
        .args(&["--log-format", "json"])
        .log("info")
        .stderr_to(&log)
        .start();
    let mut w = Wire::connect(server.addr);
    assert_eq!(w.ping().err(), 0);
    drop(w);
    drop(server);
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}")))
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l["fields"]["message"] == "serving ZooKeeper clients"),
        "{text}"
    );
    assert!(lines.iter().all(|l| l["level"].is_string()), "{text}");
    let _ = std::fs::remove_file(&log);
}

/// `--port 0` is a test fixture's start: its AdminServer takes a free port too, so a
/// second fixture on the machine neither fails to bind 8080 nor shares the first's.
#[test]
fn servers_on_free_client_ports_take_free_admin_ports() {
    let dir = ferrokeeper_tests::scratch_dir("free-admin-ports");
    let admin_of = |n: usize| {
        let log = dir.join(format!("server-{n}.log"));
        let server = ferrokeeper_tests::Launch::in_memory()
            .args(&[
                "--set",
                "admin.enableServer=true",
                "--set",
                "admin.serverAddress=127.0.0.1",
            ])
            .log("info")
            .stderr_to(&log)
            .start();
        let text = ferrokeeper_tests::read_log(&log);
        let admin = regex::Regex::new(r#"admin="?(127\.0\.0\.1:\d+)"#)
            .unwrap()
            .captures(&text)
            .unwrap_or_else(|| panic!("no AdminServer address logged:\n{text}"))[1]
            .parse::<SocketAddr>()
            .unwrap();
        (server, admin)
    };
    let (_first, first) = admin_of(1);
    let (_second, second) = admin_of(2);
    assert_ne!(first, second);
    for admin in [first, second] {
        assert_ne!(admin.port(), 8080);
        assert_eq!(json(admin, "ruok")["error"], Value::Null);
    }
    let _ = std::fs::remove_dir_all(&dir);
}
