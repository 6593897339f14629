//! Helpers shared by the end-to-end tests: start the real `ferrokeeper` binary on a
//! free loopback port and stop it when the test ends.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

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

/// A running `ferrokeeper` process, killed on drop.
pub struct ServerProcess {
    child: Child,
    pub addr: SocketAddr,
}

impl ServerProcess {
    /// Starts the server with `--port 0 --bind 127.0.0.1` plus `args`.
    pub fn start(args: &[&str]) -> ServerProcess {
        let mut child = Command::new(binary())
            .args(["--port", "0", "--bind", "127.0.0.1"])
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
        ServerProcess { child, addr }
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
    }
}

/// Waits up to `timeout` for `check` to hold, polling.
pub fn eventually(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + timeout;
    while std::time::Instant::now() < deadline {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    check()
}
