//! The log lines an operator looks for — a log roll, a snapshot taken, a session
//! expired, a connection refused by maxClientCnxns — appear with their values as
//! structured fields, named the same in the text (`--log-format human`) and JSON
//! (`--log-format json`) formats.

use std::collections::BTreeMap;
use std::net::TcpStream;
use std::time::Duration;

use ferrokeeper_protocol::CreateMode;
use ferrokeeper_tests::wire::{new_session_request, req, Wire};
use ferrokeeper_tests::{eventually, read_log, scratch_dir, Launch};
use regex::Regex;
use serde_json::Value;

/// One log line: its message and its fields, as text.
type Line = (String, BTreeMap<String, String>);

/// Lines of the text format: `<time> <LEVEL> <target>: <message> key=value ...`.
fn parse_text(log: &str) -> Vec<Line> {
    let head = Regex::new(r"^\S+\s+[A-Z]+\s+\S+: (.*)$").unwrap();
    // A value is one token, or a quoted string (tracing quotes strings with spaces).
    let field = Regex::new(r#"\s([a-z_]+)=("(?:[^"\\]|\\.)*"|\S+)"#).unwrap();
    log.lines()
        .filter_map(|line| head.captures(line))
        .map(|caps| {
            let rest = caps[1].to_owned();
            let first = field.find(&rest).map_or(rest.len(), |m| m.start());
            let fields = field
                .captures_iter(&rest[first..])
                .map(|c| (c[1].to_owned(), c[2].trim_matches('"').to_owned()))
                .collect();
            (rest[..first].trim().to_owned(), fields)
        })
        .collect()
}

/// Lines of the JSON format: one object a line, the message and fields in `fields`.
fn parse_json(log: &str) -> Vec<Line> {
    log.lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter_map(|v| {
            let fields = v["fields"].as_object()?.clone();
            let message = fields.get("message")?.as_str()?.to_owned();
            let fields = fields
                .into_iter()
                .filter(|(k, _)| k != "message")
                .map(|(k, v)| {
                    let text = match v {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    (k, text)
                })
                .collect();
            Some((message, fields))
        })
        .collect()
}

/// Runs the scenario on a server logging in `format`; returns its log.
fn scenario(format: &str) -> (String, String) {
    let dir = scratch_dir(&format!("log-lines-{format}"));
    let log = dir.join("server.log");
    let server = Launch::new(&dir.join("data"))
        .args(&[
            "--log-format",
            format,
            "--tick-time",
            "500",
            "--set",
            "snapCount=4",
            "--set",
            "maxClientCnxns=3",
        ])
        .log("info")
        .stderr_to(&log)
        .start();
    // A session with the shortest timeout (2 ticks), whose writes trigger a snapshot.
    let (mut client, _) = Wire::connect_with(server.addr, &new_session_request(1_000));
    let client_addr = client.stream().local_addr().unwrap().to_string();
    for i in 0..8 {
        let create = req::create(&format!("/n{i}"), b"x", CreateMode::Persistent);
        assert_eq!(client.call(i + 1, &create).err(), 0);
    }
    // Over maxClientCnxns: two more connections are admitted, the next refused.
    let others: Vec<TcpStream> = (0..3)
        .map(|_| TcpStream::connect(server.addr).unwrap())
        .collect();
    let found = |needle: &str| read_log(&log).contains(needle);
    assert!(
        eventually(Duration::from_secs(10), || found("snapshot taken")
            && found("Too many connections")),
        "{}",
        read_log(&log)
    );
    drop(others);
    // The client goes silent: its session expires after its timeout.
    drop(client);
    assert!(
        eventually(Duration::from_secs(10), || found("session expired")),
        "{}",
        read_log(&log)
    );
    drop(server);
    let text = read_log(&log);
    let _ = std::fs::remove_dir_all(&dir);
    (text, client_addr)
}

/// The first line with `message`, naming the format on failure.
fn line<'a>(
    lines: &'a [Line],
    message: &str,
    format: &str,
    log: &str,
) -> &'a BTreeMap<String, String> {
    lines
        .iter()
        .find(|(m, _)| m == message)
        .map(|(_, fields)| fields)
        .unwrap_or_else(|| panic!("{format}: no {message:?} line in:\n{log}"))
}

#[test]
fn operator_log_lines_carry_the_same_fields_in_text_and_json() {
    let zxid = Regex::new(r"^0x[0-9a-f]+$").unwrap();
    let number = |v: &str| v.parse::<u64>().unwrap_or_else(|_| panic!("{v:?}"));
    let mut names: Vec<BTreeMap<&str, Vec<String>>> = Vec::new();
    for (format, parse) in [
        ("human", parse_text as fn(&str) -> Vec<Line>),
        ("json", parse_json),
    ] {
        let (log, client_addr) = scenario(format);
        let lines = parse(&log);
        let rolled = line(&lines, "transaction log rolled", format, &log);
        assert!(zxid.is_match(&rolled["zxid"]), "{format}: {rolled:?}");
        assert!(rolled["dir"].ends_with("data"), "{format}: {rolled:?}");
        let snapshot = line(&lines, "snapshot taken", format, &log);
        assert!(zxid.is_match(&snapshot["zxid"]), "{format}: {snapshot:?}");
        // At least the root, /zookeeper and its two children.
        assert!(number(&snapshot["znodes"]) >= 4, "{format}: {snapshot:?}");
        assert!(number(&snapshot["bytes"]) > 0, "{format}: {snapshot:?}");
        number(&snapshot["ms"]);
        let expired = line(&lines, "session expired", format, &log);
        assert_eq!(expired["peer"], client_addr, "{format}: {expired:?}");
        assert_eq!(expired["timeout_ms"], "1000", "{format}: {expired:?}");
        let refused = line(
            &lines,
            "Too many connections from one address; connection refused",
            format,
            &log,
        );
        assert!(
            refused["peer"].starts_with("127.0.0.1:"),
            "{format}: {refused:?}"
        );
        assert_eq!(refused["max_client_cnxns"], "3", "{format}: {refused:?}");
        names.push(BTreeMap::from([
            ("rolled", rolled.keys().cloned().collect()),
            ("snapshot", snapshot.keys().cloned().collect()),
            ("expired", expired.keys().cloned().collect()),
            ("refused", refused.keys().cloned().collect()),
        ]));
    }
    assert_eq!(
        names[0], names[1],
        "field names differ between text and JSON"
    );
}
