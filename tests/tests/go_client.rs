//! The Go client, `github.com/samuel/go-zookeeper/zk` (Debian's
//! `golang-github-samuel-go-zookeeper-dev`, Go 1.19), against the real binary:
//! `tests/go/smoke/main.go`, installed by `tests/clients/install.sh` and built offline
//! in GOPATH mode into a scratch directory (about 2 s).
//!
//! - the matrix: connect (negotiated timeouts), create in every mode, versions, every
//!   kind of watch, multi with a failing op, digest ACLs, NotEmpty, sync, ephemerals
//!   gone with their session;
//! - one session across a restart (SIGTERM and SIGKILL) on the same port and data
//!   directory: the client reconnects by itself to the same session, its ephemeral is
//!   kept, and its data, exists and child watches (re-registered with setWatches) fire
//!   on changes made after the restart.
//!
//! All of it passes against ZooKeeper 3.8.0 with `FERROKEEPER_TEST_REAL_ZK=1`, restarts
//! included (ZooKeeper restarted on the same port and data directory).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use ferrokeeper_protocol::codes::ErrorCode;
use ferrokeeper_protocol::records::StatResponse;
use ferrokeeper_protocol::CreateMode;
use ferrokeeper_tests::clients::{install_clients, run_bounded, LineProcess};
use ferrokeeper_tests::wire::{req, Wire};
use ferrokeeper_tests::{
    eventually, free_port, real_zookeeper, scratch_dir, Launch, ServerProcess, Stop,
};

/// `tests/go/smoke` built into a scratch directory, removed when dropped.
struct GoProgram {
    dir: PathBuf,
}

impl GoProgram {
    fn build() -> GoProgram {
        install_clients();
        let dir = scratch_dir("go-smoke");
        let source = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("go/smoke");
        let mut go = Command::new("go");
        go.args(["build", "-o"])
            .arg(dir.join("smoke"))
            .arg(".")
            .current_dir(&source)
            // Offline: the client's sources from the Debian package, no modules.
            .env("GO111MODULE", "off")
            .env("GOFLAGS", "")
            .env(
                "GOPATH",
                format!("/usr/share/gocode:{}", dir.join("gopath").display()),
            )
            .env("GOCACHE", dir.join("cache"));
        let started = Instant::now();
        let build = run_bounded(go, Duration::from_secs(120));
        assert!(
            build.success(),
            "go build {} failed ({:?}):\n{}{}",
            source.display(),
            build.status,
            build.stdout,
            build.stderr
        );
        eprintln!("go build: {:?}", started.elapsed());
        GoProgram { dir }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(self.dir.join("smoke"));
        command.args(args);
        command
    }
}

impl Drop for GoProgram {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn go_client_matrix() {
    let program = GoProgram::build();
    let server = ServerProcess::start(&["--tick-time", "2000"]);
    // exists without READ: NoAuth as ZooKeeper 3.9 (a deliberate difference, README).
    let exists_needs_read = format!("-exists-needs-read={}", !real_zookeeper());
    let run = run_bounded(
        program.command(&[
            "-mode=matrix",
            &format!("-server={}", server.connect_string()),
            "-root=/go_smoke",
            "-tick-ms=2000",
            &exists_needs_read,
            "-limit=60s",
        ]),
        Duration::from_secs(90),
    );
    let passed = run.assert_checks_passed("the Go client matrix");
    assert!(
        passed >= 79 && run.stdout.contains("DONE the Go client matrix"),
        "only {passed} checks ran:\n{}",
        run.stdout
    );
}

// ---------------------------------------------------------------------------------
// A session across a server restart
// ---------------------------------------------------------------------------------

/// `ROOT/eph` is the client's ephemeral, `ROOT/watched` the node it watches,
/// `ROOT/created` the node it waits for.
const ROOT: &str = "/restart";

/// How long the client may take to do what it is asked (a reconnect included).
const CLIENT_WAIT: Duration = Duration::from_secs(30);

/// The server on `data_dir` and `port`: ferrokeeper, or ZooKeeper 3.8 with
/// `FERROKEEPER_TEST_REAL_ZK=1`.
fn start_on(data_dir: &Path, port: u16) -> ServerProcess {
    if real_zookeeper() {
        ServerProcess::start_zookeeper_on(data_dir, port, &[])
    } else {
        Launch::new(data_dir).port(port).start()
    }
}

/// The owner of the ephemeral `path` as another session sees it, `None` if it is gone.
fn ephemeral_owner(addr: SocketAddr, path: &str) -> Option<i64> {
    let reply = Wire::connect(addr).call(1, &req::exists(path, false));
    if reply.err() == ErrorCode::NoNode.code() {
        return None;
    }
    assert_eq!(reply.err(), 0, "exists {path}");
    Some(reply.decode::<StatResponse>().stat.ephemeral_owner)
}

/// A line `<prefix> <session id in hex>` from the client.
fn session_line(process: &mut LineProcess, prefix: &str) -> i64 {
    process.expect(&format!("{prefix} <session id>"), CLIENT_WAIT, |line| {
        let hex = line.strip_prefix(prefix)?.strip_prefix(' ')?;
        u64::from_str_radix(hex, 16).ok().map(|id| id as i64)
    })
}

fn survives_restart(stop: Stop) {
    let program = GoProgram::build();
    let dir = scratch_dir("go-restart");
    let port = free_port();
    let mut server = start_on(&dir, port);
    let mut setup = Wire::connect(server.addr);
    for (xid, path) in [(1, ROOT.to_owned()), (2, format!("{ROOT}/watched"))] {
        let reply = setup.call(xid, &req::create(&path, b"before", CreateMode::Persistent));
        assert_eq!(reply.err(), 0, "create {path}");
    }
    drop(setup);

    let mut process = LineProcess::spawn(program.command(&[
        "-mode=restart",
        &format!("-server={}", server.connect_string()),
        &format!("-root={ROOT}"),
        "-limit=120s",
    ]));
    let id = session_line(&mut process, "READY");
    let eph = format!("{ROOT}/eph");
    assert_eq!(ephemeral_owner(server.addr, &eph), Some(id));
    server.stop(stop);
    let server = start_on(&dir, port);
    process.send("RESTARTED");

    assert_eq!(
        session_line(&mut process, "RECONNECTED"),
        id,
        "the client is back on the same session"
    );
    assert_eq!(
        ephemeral_owner(server.addr, &eph),
        Some(id),
        "the ephemeral is kept"
    );
    let mut other = Wire::connect(server.addr);
    let reply = other.call(1, &req::set_data(&format!("{ROOT}/watched"), b"after", -1));
    assert_eq!(reply.err(), 0, "setData after the restart");
    let reply = other.call(
        2,
        &req::create(&format!("{ROOT}/created"), b"", CreateMode::Persistent),
    );
    assert_eq!(reply.err(), 0, "create after the restart");
    process.expect("DONE (every watch fired)", CLIENT_WAIT, |line| {
        (line == "DONE").then_some(())
    });
    // The client closed its session: its ephemeral goes.
    let gone = eventually(Duration::from_secs(10), || {
        ephemeral_owner(server.addr, &eph).is_none()
    });
    assert!(gone, "the ephemeral outlived the closed session");
    drop(process);
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn go_client_keeps_its_session_across_a_sigterm_restart() {
    survives_restart(Stop::Term);
}

#[test]
fn go_client_keeps_its_session_across_a_sigkill_restart() {
    survives_restart(Stop::Kill);
}
