//! Helpers shared by the end-to-end tests: start the real `ferrokeeper` binary on a
//! free loopback port and stop it when the test ends; talk to it with the Rust
//! `zookeeper-client` ([`zkc`]), with hand-made frames ([`wire`]), through a proxy
//! that can cut connections ([`proxy`]), or with the Java, C and Python clients
//! ([`clients`]); write and read back a whole tree ([`state`]).
//!
//! Setting `FERROKEEPER_TEST_REAL_ZK=1` runs the same tests against Apache ZooKeeper
//! (`ZK_JAR`, default `/usr/share/java/zookeeper.jar`) instead, to check that what a
//! test expects is what ZooKeeper does. The server flags are translated to zoo.cfg keys
//! and system properties.

pub mod clients;
pub mod freeze;
pub mod http;
pub mod proxy;
pub mod resources;
pub mod state;
pub mod wire;
pub mod zkc;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
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
    /// Where its stderr goes, when [`Launch::stderr_to`] captured it.
    stderr: Option<PathBuf>,
}

impl ServerProcess {
    /// Starts the server with `--port 0 --bind 127.0.0.1` plus `args`, on a fresh data
    /// directory removed when the server is dropped.
    pub fn start(args: &[&str]) -> ServerProcess {
        if real_zookeeper() {
            return Self::start_zookeeper(args);
        }
        Self::start_ferrokeeper(args)
    }

    /// Like [`Self::start`], but always the ferrokeeper binary, also with
    /// `FERROKEEPER_TEST_REAL_ZK`: for tests of what only ferrokeeper has (its memory,
    /// log lines, exit status, AdminServer), which check ferrokeeper in either mode.
    pub fn start_ferrokeeper(args: &[&str]) -> ServerProcess {
        let dir = scratch_dir("data");
        let mut server = Self::start_in(&dir, args);
        server.scratch = Some(dir);
        server
    }

    /// Starts the server on `data_dir`, which outlives it (for restart tests).
    pub fn start_in(data_dir: &Path, args: &[&str]) -> ServerProcess {
        Launch::new(data_dir).args(args).start()
    }

    /// Apache ZooKeeper (the reference) on a free port and a scratch data directory,
    /// with ferrokeeper's flags translated.
    pub fn start_zookeeper(args: &[&str]) -> ServerProcess {
        let port = free_port();
        let scratch =
            std::env::temp_dir().join(format!("ferrokeeper-realzk-{}-{port}", std::process::id()));
        Self::launch_zookeeper(&scratch.join("data"), port, scratch, args)
    }

    /// Apache ZooKeeper on `data_dir` (which outlives it) and `port`, with
    /// ferrokeeper's flags translated: the reference server, to hand its data
    /// directory over to ferrokeeper.
    pub fn start_zookeeper_on(data_dir: &Path, port: u16, args: &[&str]) -> ServerProcess {
        let scratch = scratch_dir("zookeeper");
        Self::launch_zookeeper(data_dir, port, scratch, args)
    }

    /// ZooKeeper with its zoo.cfg and log in `scratch`, removed when it is dropped.
    fn launch_zookeeper(
        data_dir: &Path,
        port: u16,
        scratch: PathBuf,
        args: &[&str],
    ) -> ServerProcess {
        clients::install_clients();
        std::fs::create_dir_all(data_dir).expect("data dir");
        std::fs::create_dir_all(&scratch).expect("scratch dir");
        let mut cfg = format!(
            "dataDir={}\nclientPort={port}\nclientPortAddress=127.0.0.1\nadmin.enableServer=false\n\
             maxClientCnxns=0\n4lw.commands.whitelist=*\n",
            data_dir.display()
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
            stderr: None,
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

    /// Asks the process to stop (SIGTERM) and waits up to 10 s for it to exit (then
    /// kills it). Returns how it exited, `None` if it had to be killed.
    pub fn terminate(&mut self) -> Option<ExitStatus> {
        if let Ok(Some(status)) = self.child.try_wait() {
            return Some(status);
        }
        // SAFETY: kill(2) on the pid of a child this process has not yet reaped.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let status = wait_for_exit(&mut self.child, Duration::from_secs(10));
        if status.is_none() {
            self.kill();
        }
        status
    }

    /// Stops the process as `how` says and waits for it. A SIGTERM must end it
    /// cleanly: exit status 0 (ZooKeeper's JVM answers 143, which counts too).
    pub fn stop(&mut self, how: Stop) {
        match how {
            Stop::Kill => self.kill(),
            Stop::Term => {
                let status = self.terminate().expect("the server stops on SIGTERM");
                assert!(
                    status.success() || (real_zookeeper() && status.code() == Some(143)),
                    "SIGTERM exit status: {status:?}"
                );
            }
        }
    }

    /// The port it listens on (to restart a server where its clients expect it).
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Everything the process wrote to stderr so far, if [`Launch::stderr_to`]
    /// captured it (empty otherwise).
    pub fn stderr_text(&self) -> String {
        self.stderr.as_deref().map(read_log).unwrap_or_default()
    }

    /// The server's process id (to read `/proc/<pid>/…`).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits up to `timeout` for the process to exit by itself: how it exited, `None`
    /// if it is still running.
    pub fn exited_within(&mut self, timeout: Duration) -> Option<ExitStatus> {
        wait_for_exit(&mut self.child, timeout)
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

/// How a test stops a server: a crash, or an operator's stop.
#[derive(Debug, Clone, Copy)]
pub enum Stop {
    /// SIGKILL.
    Kill,
    /// SIGTERM.
    Term,
}

/// How to start the `ferrokeeper` binary, for tests that need more than
/// [`ServerProcess::start`]: a chosen port (a restart where the clients expect it), a
/// working directory, stderr captured to a file, a log filter, or a start that is
/// expected to fail ([`Launch::try_start`]).
#[derive(Debug, Clone, Default)]
pub struct Launch {
    /// `--data-dir`; `None` passes none (then pass `--in-memory` in `args`).
    pub data_dir: Option<PathBuf>,
    /// More flags, after `--port P --bind 127.0.0.1 [--data-dir D]`.
    pub args: Vec<String>,
    /// The port to listen on; 0 (the default) picks a free one.
    pub port: u16,
    /// The process's working directory (default: the test's).
    pub cwd: Option<PathBuf>,
    /// Append stderr to this file instead of inheriting the test's stderr.
    pub stderr: Option<PathBuf>,
    /// `RUST_LOG` for the server (default: `FERROKEEPER_TEST_LOG`, else `warn`).
    pub log: Option<String>,
}

/// A server that did not come up: how it exited and what it said.
#[derive(Debug)]
pub struct StartFailure {
    /// `None` if it neither printed its address nor exited in time (it was killed).
    pub status: Option<ExitStatus>,
    /// Its stderr, if [`Launch::stderr_to`] captured it.
    pub stderr: String,
}

/// How long a server may take to print its address (recovery included).
const START_TIMEOUT: Duration = Duration::from_secs(60);

impl Launch {
    /// A server on `data_dir`, which outlives it.
    pub fn new(data_dir: &Path) -> Launch {
        Launch {
            data_dir: Some(data_dir.to_owned()),
            ..Launch::default()
        }
    }

    /// A server with `--in-memory` and no data directory.
    pub fn in_memory() -> Launch {
        Launch {
            args: vec!["--in-memory".into()],
            ..Launch::default()
        }
    }

    pub fn args(mut self, args: &[&str]) -> Launch {
        self.args.extend(args.iter().map(|a| a.to_string()));
        self
    }

    pub fn port(mut self, port: u16) -> Launch {
        self.port = port;
        self
    }

    pub fn cwd(mut self, dir: &Path) -> Launch {
        self.cwd = Some(dir.to_owned());
        self
    }

    /// Appends the server's stderr to `file` (read it with
    /// [`ServerProcess::stderr_text`] or [`read_log`]); colours are turned off.
    pub fn stderr_to(mut self, file: &Path) -> Launch {
        self.stderr = Some(file.to_owned());
        self
    }

    pub fn log(mut self, filter: &str) -> Launch {
        self.log = Some(filter.to_owned());
        self
    }

    /// Starts the server and waits for its address; panics if it does not come up.
    pub fn start(&self) -> ServerProcess {
        self.try_start().unwrap_or_else(|failure| {
            panic!(
                "ferrokeeper did not start ({:?}); stderr:\n{}",
                failure.status, failure.stderr
            )
        })
    }

    /// Starts the server; `Err` if it exits (or stays silent) instead of printing the
    /// address it serves on.
    pub fn try_start(&self) -> Result<ServerProcess, StartFailure> {
        let mut command = Command::new(binary());
        command
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped());
        if let Some(dir) = &self.data_dir {
            command.arg("--data-dir").arg(dir);
        }
        // No AdminServer on 8080 for every test server, and no per-IP connection limit
        // (all test clients are 127.0.0.1), as the real-ZooKeeper mode configures;
        // a test's own `--set`s come after and win.
        command.args([
            "--set",
            "admin.enableServer=false",
            "--set",
            "maxClientCnxns=0",
        ]);
        command.args(&self.args).env(
            "RUST_LOG",
            self.log.clone().unwrap_or_else(|| {
                std::env::var("FERROKEEPER_TEST_LOG").unwrap_or_else(|_| "warn".into())
            }),
        );
        if let Some(dir) = &self.cwd {
            command.current_dir(dir);
        }
        match &self.stderr {
            Some(path) => {
                let file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .expect("stderr file");
                command.stderr(file).env("NO_COLOR", "1");
            }
            None => {
                command.stderr(Stdio::inherit());
            }
        }
        let mut child = command.spawn().expect("start ferrokeeper");
        let addr = if self.port == 0 {
            // It prints the address it picked.
            let stdout = child.stdout.take().expect("stdout");
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                let mut line = String::new();
                let _ = BufReader::new(stdout).read_line(&mut line);
                let _ = tx.send(line);
            });
            let line = rx.recv_timeout(START_TIMEOUT).unwrap_or_default();
            line.trim().parse().ok()
        } else {
            // It prints nothing: wait until it answers `srvr` (always whitelisted). The
            // port takes connections before recovery is done, `srvr` only after — and
            // the answer must be ferrokeeper's, not another server's on that port.
            let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
            let up = eventually(START_TIMEOUT, || {
                matches!(child.try_wait(), Ok(Some(_)))
                    || four_letter_word(addr, "srvr")
                        .is_some_and(|out| out.contains("Mode:") && out.contains("-ferrokeeper"))
            });
            (up && matches!(child.try_wait(), Ok(None))).then_some(addr)
        };
        let stderr = || self.stderr.as_deref().map(read_log).unwrap_or_default();
        match addr {
            Some(addr) => Ok(ServerProcess {
                child,
                addr,
                scratch: None,
                stderr: self.stderr.clone(),
            }),
            None => {
                let status = wait_for_exit(&mut child, Duration::from_secs(10));
                if status.is_none() {
                    let _ = child.kill();
                    let _ = child.wait();
                }
                Err(StartFailure {
                    status,
                    stderr: stderr(),
                })
            }
        }
    }
}

/// Waits up to `timeout` for `child` to exit.
fn wait_for_exit(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            _ => return None,
        }
    }
}

/// A captured log file's text, without terminal colour codes.
pub fn read_log(path: &Path) -> String {
    let text = String::from_utf8_lossy(&std::fs::read(path).unwrap_or_default()).into_owned();
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ parameters final-byte
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A loopback port nothing listens on (for a server that must come back on it).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
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
