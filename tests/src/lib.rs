//! Helpers shared by the end-to-end tests: start the real `ferrokeeper` binary on a
//! free loopback port and stop it when the test ends; talk to it with the Rust
//! `zookeeper-client` ([`zkc`]), with hand-made frames ([`wire`]), or through a proxy
//! that can cut connections ([`proxy`]).
//!
//! Setting `FERROKEEPER_TEST_REAL_ZK=1` runs the same tests against Apache ZooKeeper
//! (`ZK_JAR`, default `/usr/share/java/zookeeper.jar`) instead, to check that what a
//! test expects is what ZooKeeper does. The server flags are translated to zoo.cfg keys
//! and system properties.

pub mod proxy;
pub mod wire;
pub mod zkc;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The `ferrokeeper` binary cargo built beside this test executable.
pub fn binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/<test> -> target/<profile>/ferrokeeper
    let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    let binary = dir.join(format!("ferrokeeper{}", std::env::consts::EXE_SUFFIX));
    assert!(
        binary.exists(),
        "{} not built: run the workspace tests with `cargo test --workspace`",
        binary.display()
    );
    binary
}

/// Whether the tests run against Apache ZooKeeper instead of ferrokeeper.
pub fn real_zookeeper() -> bool {
    std::env::var_os("FERROKEEPER_TEST_REAL_ZK").is_some_and(|v| !v.is_empty() && v != "0")
}

/// A running server process, killed on drop.
pub struct ServerProcess {
    child: Child,
    pub addr: SocketAddr,
    /// Scratch directory of a real ZooKeeper (its zoo.cfg and dataDir).
    scratch: Option<PathBuf>,
}

impl ServerProcess {
    /// Starts the server with `--port 0 --bind 127.0.0.1` plus `args`, on a fresh data
    /// directory removed when the server is dropped.
    pub fn start(args: &[&str]) -> ServerProcess {
        if real_zookeeper() {
            return Self::start_real_zookeeper(args);
        }
        let dir = scratch_dir("data");
        let mut server = Self::start_in(&dir, args);
        server.scratch = Some(dir);
        server
    }

    /// Starts the server on `data_dir`, which outlives it (for restart tests).
    pub fn start_in(data_dir: &std::path::Path, args: &[&str]) -> ServerProcess {
        let mut child = Command::new(binary())
            .args(["--port", "0", "--bind", "127.0.0.1", "--data-dir"])
            .arg(data_dir)
            .args(args)
            .env(
                "RUST_LOG",
                std::env::var("FERROKEEPER_TEST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start ferrokeeper");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read bound address");
        let addr = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("ferrokeeper printed {line:?} instead of its address"));
        ServerProcess {
            child,
            addr,
            scratch: None,
        }
    }

    /// Apache ZooKeeper with ferrokeeper's flags translated.
    fn start_real_zookeeper(args: &[&str]) -> ServerProcess {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let scratch =
            std::env::temp_dir().join(format!("ferrokeeper-realzk-{}-{port}", std::process::id()));
        std::fs::create_dir_all(scratch.join("data")).expect("scratch dir");
        let mut cfg = format!(
            "dataDir={}\nclientPort={port}\nclientPortAddress=127.0.0.1\nadmin.enableServer=false\n\
             maxClientCnxns=0\n4lw.commands.whitelist=*\n",
            scratch.join("data").display()
        );
        let mut props = vec!["-Dzookeeper.admin.enableServer=false".to_owned()];
        let mut tick = "2000".to_owned();
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match *arg {
                "--tick-time" => tick = args.next().expect("--tick-time value").to_string(),
                "--extended-types" => props.push("-Dzookeeper.extendedTypesEnabled=true".into()),
                "--set" => {
                    let setting = args.next().expect("--set value");
                    let (key, value) = setting.split_once('=').expect("KEY=VALUE");
                    match key {
                        "superDigest" => props.push(format!(
                            "-Dzookeeper.DigestAuthenticationProvider.superDigest={value}"
                        )),
                        "jute.maxbuffer"
                        | "znode.container.checkIntervalMs"
                        | "znode.container.maxNeverUsedIntervalMs" => {
                            props.push(format!("-D{key}={value}"))
                        }
                        _ => cfg.push_str(&format!("{key}={value}\n")),
                    }
                }
                other => panic!("no real-ZooKeeper translation for {other}"),
            }
        }
        cfg.push_str(&format!("tickTime={tick}\n"));
        let cfg_path = scratch.join("zoo.cfg");
        std::fs::write(&cfg_path, cfg).expect("write zoo.cfg");
        let jar =
            std::env::var("ZK_JAR").unwrap_or_else(|_| "/usr/share/java/zookeeper.jar".into());
        let log = std::fs::File::create(scratch.join("zookeeper.log")).expect("log file");
        let child = Command::new("java")
            .args(&props)
            .args([
                "-cp",
                &jar,
                "org.apache.zookeeper.server.ZooKeeperServerMain",
            ])
            .arg(&cfg_path)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start java");
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let server = ServerProcess {
            child,
            addr,
            scratch: Some(scratch),
        };
        let ready = eventually(Duration::from_secs(30), || {
            four_letter_word(addr, "srvr").is_some_and(|out| out.contains("Mode:"))
        });
        assert!(ready, "ZooKeeper did not start on {addr}");
        server
    }

    /// `host:port`, as clients take it.
    pub fn connect_string(&self) -> String {
        self.addr.to_string()
    }

    /// Kills the process (SIGKILL) and waits for it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
        if let Some(dir) = self.scratch.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// A new, empty directory under the system temp dir, unique to this process and call.
pub fn scratch_dir(what: &str) -> PathBuf {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!(
        "ferrokeeper-test-{}-{what}-{n}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// Sends a four-letter word and returns the answer (`None` if the connection failed).
pub fn four_letter_word(addr: SocketAddr, word: &str) -> Option<String> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(1)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    stream.write_all(word.as_bytes()).ok()?;
    let mut out = String::new();
    stream.read_to_string(&mut out).ok()?;
    Some(out)
}

/// Waits up to `timeout` for `check` to hold, polling.
pub fn eventually(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    check()
}

/// The zxid a notification carries for a change made at `change_zxid`. ferrokeeper
/// follows ZooKeeper 3.9+ (ZOOKEEPER-4655, and the protocol notes): the zxid of the
/// change. ZooKeeper 3.8 sends -1 on every notification.
pub fn notification_zxid(change_zxid: i64) -> i64 {
    if real_zookeeper() {
        -1
    } else {
        change_zxid
    }
}
