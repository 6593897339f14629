//! The real client stacks against the real binary, installed first when missing:
//!
//! - smoke runs of Python kazoo (with its recipes), Java zkCli and the C client
//!   `cli_mt` (scripts in `tests/clients/`, which pass against Apache ZooKeeper 3.8 too:
//!   `tests/clients/run_against_real_zk.sh`); the kazoo run also with the oldest kazoo
//!   that runs on a current Python (2.5.0, from PyPI);
//! - the Java client's matrix (`tests/java/ClientMatrix.java`): the asynchronous API,
//!   every kind of watch, multi with a failing op, digest ACLs and a session resumed by
//!   a second client object (passes against ZooKeeper 3.8 with
//!   `FERROKEEPER_TEST_REAL_ZK=1`);
//! - each of the Java, C and Python clients keeps its session across a server restart
//!   (SIGTERM and SIGKILL) on the same port and data directory, reconnecting by itself:
//!   the same session id, its ephemeral still there, and the data watch it set before
//!   the restart firing on a change made after it (Java and C re-register it with
//!   setWatches; kazoo drops one-shot watches on a disconnect, and its DataWatch recipe
//!   sets it again). These always run the ferrokeeper binary (the harness does not
//!   restart ZooKeeper); the same runs were checked by hand against ZooKeeper 3.8.0.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use ferrokeeper_protocol::records::StatResponse;
use ferrokeeper_protocol::CreateMode;
use ferrokeeper_tests::clients::{
    clients_dir, install_clients, run_bounded, JavaProgram, LineProcess, CLI_MT,
};
use ferrokeeper_tests::wire::{req, Wire};
use ferrokeeper_tests::{scratch_dir, Launch, ServerProcess, Stop};

fn run_suite(suite: &str) {
    install_clients();
    // All four-letter words: kazoo's server_version() reads `envi`.
    let server = ServerProcess::start(&["--extended-types", "--set", "4lw.commands.whitelist=*"]);
    let mut command = Command::new(clients_dir().join("run_all.sh"));
    command.arg(server.connect_string()).arg(suite);
    // Installed above: a missing cli_mt fails the C suite instead of skipping it.
    command.env("REQUIRE_CLI_MT", "1");
    // The scripts bound themselves (run_all.sh, tests/clients/README.md); this is a
    // backstop.
    let run = run_bounded(command, Duration::from_secs(300));
    assert!(
        run.success(),
        "{suite} smoke failed against ferrokeeper ({:?})\n--- stdout\n{}\n--- stderr\n{}",
        run.status,
        run.stdout,
        run.stderr
    );
}

#[test]
fn kazoo_client_and_recipes_work() {
    run_suite("kazoo");
}

/// The oldest kazoo release that runs on a current Python: 2.5.0 (2018, written for
/// ZooKeeper 3.4); older ones use `async` as a name, a syntax error since Python 3.7.
const OLDEST_KAZOO: &str = "2.5.0";

/// `import kazoo` under `PYTHONPATH=dir`: its version and where it came from.
fn kazoo_in(dir: &Path) -> Option<String> {
    let mut command = Command::new("python3");
    command.env("PYTHONPATH", dir).args([
        "-c",
        "import kazoo, kazoo.version; print(kazoo.version.__version__, kazoo.__file__)",
    ]);
    let run = run_bounded(command, Duration::from_secs(30));
    run.success().then(|| run.stdout.trim().to_owned())
}

/// Installs kazoo `version` from PyPI into its own directory under the target dir
/// (once; the current kazoo stays as it is) and returns that directory.
fn install_kazoo(version: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("kazoo-{version}"));
    let installed = |found: Option<String>| {
        found.is_some_and(|f| f.starts_with(&format!("{version} {}", dir.display())))
    };
    if !installed(kazoo_in(&dir)) {
        let mut pip = Command::new("python3");
        pip.args(["-m", "pip", "install", "-q", "--upgrade", "--target"])
            .arg(&dir)
            .arg(format!("kazoo=={version}"));
        let run = run_bounded(pip, Duration::from_secs(300));
        assert!(
            run.success(),
            "pip install kazoo=={version}: {}",
            run.stderr
        );
    }
    let found = kazoo_in(&dir);
    assert!(
        installed(found.clone()),
        "kazoo {version} not importable from {}: {found:?}",
        dir.display()
    );
    dir
}

#[test]
fn the_oldest_kazoo_that_runs_passes_the_same_smoke_run() {
    install_clients();
    let kazoo = install_kazoo(OLDEST_KAZOO);
    // All four-letter words, as for the current kazoo: server_version() reads `envi`.
    let server = ServerProcess::start(&["--extended-types", "--set", "4lw.commands.whitelist=*"]);
    let mut command = Command::new("python3");
    command
        .env("PYTHONPATH", &kazoo)
        .arg(clients_dir().join("kazoo_smoke.py"))
        .args(["--hosts", &server.connect_string()]);
    let run = run_bounded(command, Duration::from_secs(200));
    assert!(
        run.success() && run.stdout.contains("kazoo_smoke: PASS"),
        "kazoo {OLDEST_KAZOO} smoke failed ({:?})\n--- stdout\n{}\n--- stderr\n{}",
        run.status,
        run.stdout,
        run.stderr
    );
}

#[test]
fn java_zkcli_works() {
    run_suite("zkcli");
}

#[test]
fn c_client_works() {
    run_suite("c");
}

#[test]
fn java_client_async_api_watches_multi_acls_and_session_resumption() {
    let program = JavaProgram::compile("ClientMatrix");
    let server = ServerProcess::start(&[]);
    let run = run_bounded(
        program.command(&["matrix", &server.connect_string(), "/matrix"]),
        Duration::from_secs(120),
    );
    let passed = run.assert_checks_passed("the Java client matrix");
    assert!(passed >= 70, "only {passed} checks ran:\n{}", run.stdout);
}

// ---------------------------------------------------------------------------------
// A session across a server restart
// ---------------------------------------------------------------------------------

/// Where the restart tests work: `ROOT/eph` is the client's ephemeral, `ROOT/watched`
/// the node it watches.
const ROOT: &str = "/restart";

/// How long a client may take to do what it is asked (a JVM starting, a reconnect).
const CLIENT_WAIT: Duration = Duration::from_secs(30);

/// A client stack holding one session (30 s timeout) through the restart.
enum Client {
    /// `ClientMatrix restart`: the line protocol below.
    Java(JavaProgram),
    /// `tests/clients/kazoo_restart.py`: the same line protocol, but kazoo forgets
    /// one-shot watches when its connection drops, so it watches with a DataWatch and
    /// prints the data it sees.
    Kazoo,
    /// `cli_mt`, driven by its own commands.
    C,
}

/// A session id as the clients print it (hex, no `0x`).
fn hex_id(text: &str) -> Option<i64> {
    u64::from_str_radix(text.trim(), 16)
        .ok()
        .map(|id| id as i64)
}

fn watched() -> String {
    format!("{ROOT}/watched")
}

fn eph() -> String {
    format!("{ROOT}/eph")
}

impl Client {
    fn java() -> Client {
        Client::Java(JavaProgram::compile("ClientMatrix"))
    }

    /// Starts the client: it connects, creates [`eph`], sets a data watch on
    /// [`watched`]. Returns the process and its session id.
    fn start(&self, connect: &str) -> (LineProcess, i64) {
        let mut process = match self {
            Client::Java(program) => {
                LineProcess::spawn(program.command(&["restart", connect, ROOT]))
            }
            Client::Kazoo => {
                let mut command = Command::new("python3");
                command
                    .arg(clients_dir().join("kazoo_restart.py"))
                    .args([connect, ROOT]);
                LineProcess::spawn(command)
            }
            Client::C => {
                // stdbuf: `myid` answers on stdout, the rest goes to stderr.
                let mut command = Command::new("stdbuf");
                command.args(["-oL", CLI_MT, "-h", connect]);
                LineProcess::spawn(command)
            }
        };
        let id = match self {
            Client::Java(_) | Client::Kazoo => {
                process.expect("READY <session id>", CLIENT_WAIT, |line| {
                    hex_id(line.strip_prefix("READY ")?)
                })
            }
            Client::C => {
                let id = process.expect("cli_mt's session id", CLIENT_WAIT, |line| {
                    hex_id(line.strip_prefix("Got a new session id: 0x")?)
                });
                process.send(&format!("create +e {}", eph()));
                let created = format!("[{}]: rc = 0", eph());
                process.expect("create +e", CLIENT_WAIT, |line| {
                    (line == created).then_some(())
                });
                process.send(&format!("get {}", watched()));
                let got = format!("{}: rc = 0", watched());
                process.expect("get (a data watch)", CLIENT_WAIT, |line| {
                    line.starts_with(&got).then_some(())
                });
                id
            }
        };
        (process, id)
    }

    /// Waits for the client to be connected again; returns the session id it holds.
    fn await_reconnect(&self, process: &mut LineProcess) -> i64 {
        match self {
            Client::Java(_) | Client::Kazoo => {
                process.expect("RECONNECTED <session id>", CLIENT_WAIT, |line| {
                    hex_id(line.strip_prefix("RECONNECTED ")?)
                })
            }
            Client::C => {
                process.expect("cli_mt connected again", CLIENT_WAIT, |line| {
                    (line == "Watcher SESSION_EVENT state = CONNECTED_STATE").then_some(())
                });
                // The session is the same if the ephemeral is still the client's own,
                // and cli_mt did not say `Got a new session id`.
                process.send(&format!("get {}", eph()));
                let owner = process.expect("the ephemeral's owner", CLIENT_WAIT, |line| {
                    assert!(!line.starts_with("Got a new session id"), "{line}");
                    hex_id(line.trim().strip_prefix("ephemeralOwner = ")?)
                });
                process.send("myid");
                let id = process.expect("myid", CLIENT_WAIT, |line| {
                    hex_id(line.strip_prefix("session Id = ")?)
                });
                assert_eq!(owner, id, "cli_mt's ephemeral is owned by its session");
                id
            }
        }
    }

    /// Waits for the client's watch on [`watched`] to report the change.
    fn await_data_changed(&self, process: &mut LineProcess) {
        let expected = match self {
            Client::Java(_) => format!("EVENT NodeDataChanged {}", watched()),
            // kazoo re-arms through its DataWatch recipe (kazoo_restart.py).
            Client::Kazoo => "DATA after".to_owned(),
            Client::C => format!(
                "Watcher CHANGED_EVENT state = CONNECTED_STATE for path {}",
                watched()
            ),
        };
        process.expect(&expected, CLIENT_WAIT, |line| {
            (line == expected).then_some(())
        });
    }
}

/// The stat of `path`, read by a session of its own.
fn stat(addr: std::net::SocketAddr, path: &str) -> ferrokeeper_protocol::records::Stat {
    let reply = Wire::connect(addr).call(1, &req::exists(path, false));
    assert_eq!(reply.err(), 0, "exists {path}");
    reply.decode::<StatResponse>().stat
}

fn survives_restart(client: Client, stop: Stop) {
    install_clients();
    let dir = scratch_dir("client-restart");
    let mut server = Launch::new(&dir).start();
    let port = server.port();
    let mut setup = Wire::connect(server.addr);
    for (xid, path) in [(1, ROOT.to_owned()), (2, watched())] {
        let reply = setup.call(xid, &req::create(&path, b"before", CreateMode::Persistent));
        assert_eq!(reply.err(), 0, "create {path}");
    }

    let (mut process, id) = client.start(&server.connect_string());
    assert_eq!(stat(server.addr, &eph()).ephemeral_owner, id);
    server.stop(stop);
    let server = Launch::new(&dir).port(port).start();

    assert_eq!(
        client.await_reconnect(&mut process),
        id,
        "the client is back on the same session"
    );
    let ephemeral = stat(server.addr, &eph());
    assert_eq!(ephemeral.ephemeral_owner, id, "the ephemeral is kept");
    let reply = Wire::connect(server.addr).call(1, &req::set_data(&watched(), b"after", -1));
    assert_eq!(reply.err(), 0, "setData after the restart");
    client.await_data_changed(&mut process);
    drop(process);
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn java_client_keeps_its_session_across_a_sigterm_restart() {
    survives_restart(Client::java(), Stop::Term);
}

#[test]
fn java_client_keeps_its_session_across_a_sigkill_restart() {
    survives_restart(Client::java(), Stop::Kill);
}

#[test]
fn c_client_keeps_its_session_across_a_sigterm_restart() {
    survives_restart(Client::C, Stop::Term);
}

#[test]
fn c_client_keeps_its_session_across_a_sigkill_restart() {
    survives_restart(Client::C, Stop::Kill);
}

#[test]
fn kazoo_keeps_its_session_across_a_sigterm_restart() {
    survives_restart(Client::Kazoo, Stop::Term);
}

#[test]
fn kazoo_keeps_its_session_across_a_sigkill_restart() {
    survives_restart(Client::Kazoo, Stop::Kill);
}
