//! The real client stacks the end-to-end tests drive — Java (`libzookeeper-java`), C
//! (`zookeeper-bin`'s `cli_mt`) and Python (`kazoo`) — installed on demand by
//! `tests/clients/install.sh`; Java programs from `tests/java/` compiled with `javac`;
//! client processes run with a bound, or driven line by line ([`LineProcess`]).

use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::scratch_dir;

/// The Java client (Debian's `libzookeeper-java`).
pub const ZK_JAR: &str = "/usr/share/java/zookeeper.jar";

/// The C client's shell (Debian's `zookeeper-bin`; not on `PATH`).
pub const CLI_MT: &str = "/usr/lib/zookeeper/bin/cli_mt";

/// `tests/clients/`: the client scripts and their installer.
pub fn clients_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("clients")
}

/// Installs the clients once per test binary (apt-get / pip, only what is missing).
pub fn install_clients() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let status = Command::new(clients_dir().join("install.sh"))
            .status()
            .expect("run tests/clients/install.sh");
        assert!(status.success(), "tests/clients/install.sh failed");
    });
}

/// Classes compiled from one `tests/java/` source, removed when dropped.
pub struct JavaProgram {
    classes: PathBuf,
    class: String,
}

impl JavaProgram {
    /// Compiles `tests/java/<class>.java` (and what it uses there) against the Java
    /// client (installed first).
    pub fn compile(class: &str) -> JavaProgram {
        install_clients();
        let classes = scratch_dir(&format!("{class}-classes"));
        let source = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("java/{class}.java"));
        // `-sourcepath`: the classes it uses from `tests/java/` (e.g. `Checks`) too.
        let javac = Command::new("javac")
            .args(["-nowarn", "-cp", ZK_JAR, "-sourcepath"])
            .arg(source.parent().expect("tests/java"))
            .arg("-d")
            .arg(&classes)
            .arg(&source)
            .output()
            .expect("run javac");
        assert!(
            javac.status.success(),
            "javac {} failed:\n{}",
            source.display(),
            String::from_utf8_lossy(&javac.stderr)
        );
        JavaProgram {
            classes,
            class: class.to_owned(),
        }
    }

    /// `java … <class> args…`, started quickly (client programs are short-lived).
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new("java");
        command
            .args(["-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-cp"])
            .arg(format!("{}:{ZK_JAR}", self.classes.display()))
            .arg(&self.class)
            .args(args);
        command
    }
}

impl Drop for JavaProgram {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.classes);
    }
}

/// How a bounded run ended.
pub struct Finished {
    /// `None` if it was killed at the deadline.
    pub status: Option<ExitStatus>,
    pub stdout: String,
    pub stderr: String,
}

impl Finished {
    pub fn success(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }

    /// For a program that prints one `PASS …`/`FAIL …` line per check (the Java
    /// programs in `tests/java/`): asserts it exited 0 with no failed check, naming
    /// `what`; returns how many passed.
    pub fn assert_checks_passed(&self, what: &str) -> usize {
        let (stdout, stderr) = (&self.stdout, &self.stderr);
        let failed: Vec<&str> = stdout.lines().filter(|l| l.starts_with("FAIL")).collect();
        assert!(
            self.success() && failed.is_empty(),
            "{what} failed ({:?}): {failed:#?}\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
            self.status
        );
        eprintln!("{what}: {}", stdout.lines().last().unwrap_or_default());
        stdout.lines().filter(|l| l.starts_with("PASS")).count()
    }
}

/// Runs `command` to its end, killing it after `limit`; both pipes are read on threads
/// so a chatty process cannot block on them.
pub fn run_bounded(mut command: Command, limit: Duration) -> Finished {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("run {command:?}: {e}"));
    let out = read_all(child.stdout.take().unwrap());
    let err = read_all(child.stderr.take().unwrap());
    let status = crate::wait_for_exit(&mut child, limit);
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    Finished {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

fn read_all(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = pipe.read_to_string(&mut text);
        text
    })
}

/// A client process driven line by line: lines are written to its stdin, and its
/// stdout and stderr lines are read as they come (killed on drop).
pub struct LineProcess {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
    /// Every line read so far, for failure messages.
    transcript: Vec<String>,
}

impl LineProcess {
    pub fn spawn(mut command: Command) -> LineProcess {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("run {command:?}: {e}"));
        let (tx, lines) = channel();
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        for pipe in [Box::new(stdout) as Box<dyn Read + Send>, Box::new(stderr)] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines() {
                    let Ok(line) = line else { break };
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        let stdin = child.stdin.take().unwrap();
        LineProcess {
            child,
            stdin,
            lines,
            transcript: Vec::new(),
        }
    }

    pub fn send(&mut self, line: &str) {
        writeln!(self.stdin, "{line}")
            .and_then(|()| self.stdin.flush())
            .unwrap_or_else(|e| panic!("write {line:?}: {e}\n{}", self.transcript()));
    }

    /// Waits up to `limit` for a line that `matches` accepts and returns what it made
    /// of it; panics naming `what` (with the transcript) if none comes.
    pub fn expect<T>(
        &mut self,
        what: &str,
        limit: Duration,
        mut matches: impl FnMut(&str) -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let found = matches(&line);
                    self.transcript.push(line);
                    if let Some(found) = found {
                        return found;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    panic!("{what}: not seen within {limit:?}\n{}", self.transcript())
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("{what}: the process ended\n{}", self.transcript())
                }
            }
        }
    }

    fn transcript(&self) -> String {
        format!("--- its output\n{}", self.transcript.join("\n"))
    }
}

impl Drop for LineProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
