//! zoo.cfg's ensemble lines read as ZooKeeper reads them: each configuration is given
//! to ZooKeeper 3.8's own QuorumPeerConfig (`tests/java/QuorumConfig.java`) and to
//! ferrokeeper, and both must decide the same — standalone on the same client port,
//! a quorum member with the same id and membership (which ferrokeeper refuses until
//! replication lands), or the same error message.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use ferrokeeper_tests::clients::{run_bounded, JavaProgram};
use ferrokeeper_tests::{binary, eventually, four_letter_word, free_port, scratch_dir};

/// One configuration: zoo.cfg lines after dataDir, and the myid file's text.
struct Case {
    name: &'static str,
    lines: Vec<String>,
    myid: Option<&'static str>,
}

/// What a server made of a configuration.
#[derive(Debug, PartialEq)]
enum Decision {
    Standalone {
        port: u16,
    },
    Quorum {
        my_id: u64,
        members: usize,
        voters: usize,
    },
    Error(String),
}

fn zookeeper_decides(program: &JavaProgram, cfg: &Path) -> Decision {
    let out = run_bounded(
        program.command(&[cfg.to_str().unwrap()]),
        Duration::from_secs(60),
    );
    let line = out.stdout.lines().last().unwrap_or_default().to_owned();
    let words: Vec<&str> = line.split(' ').collect();
    match words.as_slice() {
        ["standalone", port] => Decision::Standalone {
            port: port.parse().unwrap(),
        },
        ["quorum", id, members, voters, _port] => Decision::Quorum {
            my_id: id.parse().unwrap(),
            members: members.parse().unwrap(),
            voters: voters.parse().unwrap(),
        },
        _ => match line.strip_prefix("error ") {
            Some(message) => Decision::Error(message.to_owned()),
            None => panic!("QuorumConfig printed {line:?}; stderr:\n{}", out.stderr),
        },
    }
}

/// Starts ferrokeeper on the file: an exit is an error (its stderr), a server that
/// answers `srvr` on a port is standalone there.
fn ferrokeeper_decides(cfg: &Path, expected_port: Option<u16>) -> Decision {
    let mut child = Command::new(binary())
        .arg(cfg)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start ferrokeeper");
    let mut exited = None;
    let answered = eventually(Duration::from_secs(10), || {
        if let Ok(Some(status)) = child.try_wait() {
            exited = Some(status);
            return true;
        }
        expected_port.is_some_and(|port| {
            four_letter_word(([127, 0, 0, 1], port).into(), "srvr")
                .is_some_and(|answer| answer.contains("Mode: standalone"))
        })
    });
    assert!(answered, "ferrokeeper neither exited nor served");
    match exited {
        Some(status) => {
            let mut stderr = String::new();
            std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
            assert_eq!(
                status.code(),
                Some(2),
                "a bad configuration exits 2: {stderr}"
            );
            let quorum = regex::Regex::new(
                r"server (\d+) is one of (\d+) ensemble members \((\d+) voting\)",
            )
            .unwrap();
            match quorum.captures(&stderr) {
                Some(c) => Decision::Quorum {
                    my_id: c[1].parse().unwrap(),
                    members: c[2].parse().unwrap(),
                    voters: c[3].parse().unwrap(),
                },
                None => Decision::Error(stderr),
            }
        }
        None => {
            let _ = child.kill();
            let _ = child.wait();
            Decision::Standalone {
                port: expected_port.unwrap(),
            }
        }
    }
}

fn cases() -> Vec<Case> {
    let client = free_port();
    let [q1, e1, q2, e2, q3, e3] = [(); 6].map(|()| free_port());
    let line = |id: u32, q: u16, e: u16, rest: &str| format!("server.{id}=127.0.0.1:{q}:{e}{rest}");
    let three = |role3: &str| {
        vec![
            line(1, q1, e1, ""),
            line(2, q2, e2, ""),
            line(3, q3, e3, role3),
        ]
    };
    let limits = || vec!["initLimit=5".to_owned(), "syncLimit=2".to_owned()];
    let with = |mut a: Vec<String>, b: Vec<String>| {
        a.extend(b);
        a
    };
    vec![
        Case {
            name: "no server lines",
            lines: vec![format!("clientPort={client}")],
            myid: None,
        },
        Case {
            name: "the official image's default: one server line with its client port",
            lines: vec![line(1, q1, e1, &format!(";{client}"))],
            myid: Some("1"),
        },
        Case {
            name: "one server line and clientPort",
            lines: vec![format!("clientPort={client}"), line(1, q1, e1, "")],
            myid: None,
        },
        Case {
            name: "three participants",
            lines: with(three(""), limits()),
            myid: Some("2"),
        },
        Case {
            name: "two participants and an observer, this one the observer",
            lines: with(three(":observer"), limits()),
            myid: Some("3"),
        },
        Case {
            name: "roles are case-insensitive; myid's first line only",
            lines: with(three(":OBSERVER"), limits()),
            myid: Some("1\nignored"),
        },
        Case {
            name: "standaloneEnabled=false keeps one participant in quorum mode",
            lines: with(
                vec![line(1, q1, e1, ""), "standaloneEnabled=false".into()],
                limits(),
            ),
            myid: Some("1"),
        },
        Case {
            name: "IPv6 quorum addresses",
            lines: with(
                vec![
                    format!("server.1=[::1]:{q1}:{e1}"),
                    format!("server.2=[::1]:{q2}:{e2}"),
                    format!("server.3=[::1]:{q3}:{e3};[::1]:{client}"),
                ],
                limits(),
            ),
            myid: Some("3"),
        },
        Case {
            name: "no myid",
            lines: with(three(""), limits()),
            myid: None,
        },
        Case {
            name: "myid not a number",
            lines: with(three(""), limits()),
            myid: Some("two"),
        },
        Case {
            name: "no initLimit",
            lines: with(three(""), vec!["syncLimit=2".into()]),
            myid: Some("1"),
        },
        Case {
            name: "no syncLimit",
            lines: with(three(""), vec!["initLimit=5".into()]),
            myid: Some("1"),
        },
        Case {
            name: "quorum port equals election port",
            lines: with(
                vec![
                    line(1, q1, q1, ""),
                    line(2, q2, e2, ""),
                    line(3, q3, e3, ""),
                ],
                limits(),
            ),
            myid: Some("1"),
        },
        Case {
            name: "an unknown role",
            lines: with(three(":witness"), limits()),
            myid: Some("1"),
        },
        Case {
            name: "observers without participants",
            lines: vec![line(1, q1, e1, ":observer")],
            myid: Some("1"),
        },
        Case {
            name: "an observer beside a single participant",
            lines: vec![line(1, q1, e1, ""), line(2, q2, e2, ":observer")],
            myid: Some("1"),
        },
        Case {
            name: "standaloneEnabled=false with only an observer",
            lines: vec![
                line(1, q1, e1, ":observer"),
                "standaloneEnabled=false".into(),
            ],
            myid: Some("1"),
        },
        Case {
            name: "clientPort disagrees with this server's line",
            lines: with(
                vec![
                    format!("clientPort={}", free_port()),
                    line(1, q1, e1, &format!(";{client}")),
                    line(2, q2, e2, ""),
                    line(3, q3, e3, ""),
                ],
                limits(),
            ),
            myid: Some("1"),
        },
        Case {
            name: "a server line with one port",
            lines: vec![format!("server.1=127.0.0.1:{q1}")],
            myid: Some("1"),
        },
        Case {
            name: "a server line with three parts",
            lines: vec![line(1, q1, e1, &format!(";{client};{client}"))],
            myid: Some("1"),
        },
        Case {
            name: "several addresses without multiAddress.enabled",
            lines: vec![format!("server.1=127.0.0.1:{q1}:{e1}|127.0.0.2:{q2}:{e2}")],
            myid: Some("1"),
        },
    ]
}

#[test]
fn ensemble_lines_are_decided_as_zookeeper_decides_them() {
    let program = JavaProgram::compile("QuorumConfig");
    // Java prints a socket address as `host/ip:port`; ferrokeeper as `ip:port`.
    let java_addresses = regex::Regex::new(r"\S*/(\d+\.\d+\.\d+\.\d+:\d+)").unwrap();
    let mut differences = Vec::new();
    for case in cases() {
        let dir = scratch_dir("ensemble-config");
        let data = dir.join("data");
        std::fs::create_dir_all(&data).unwrap();
        if let Some(myid) = case.myid {
            std::fs::write(data.join("myid"), myid).unwrap();
        }
        let cfg = dir.join("zoo.cfg");
        let mut text = format!(
            "tickTime=2000\ndataDir={}\nadmin.enableServer=false\n",
            data.display()
        );
        for line in &case.lines {
            text.push_str(line);
            text.push('\n');
        }
        std::fs::write(&cfg, text).unwrap();

        let zookeeper = zookeeper_decides(&program, &cfg);
        let port = match &zookeeper {
            Decision::Standalone { port } => Some(*port),
            _ => None,
        };
        let ferrokeeper = ferrokeeper_decides(&cfg, port);
        let same = match (&zookeeper, &ferrokeeper) {
            (Decision::Error(theirs), Decision::Error(ours)) => {
                ours.contains(java_addresses.replace_all(theirs, "$1").as_ref())
            }
            _ => zookeeper == ferrokeeper,
        };
        if !same {
            differences.push(format!(
                "{}:\n  ZooKeeper:   {zookeeper:?}\n  ferrokeeper: {ferrokeeper:?}",
                case.name
            ));
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}
