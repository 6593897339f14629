//! Smoke runs of the real client stacks against the real binary: Python kazoo (with
//! its recipes), Java zkCli and the C client `cli_mt`. The scripts live in
//! `tests/clients/` and pass against Apache ZooKeeper 3.8 too
//! (`tests/clients/run_against_real_zk.sh`). Missing clients are installed first.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use ferrokeeper_tests::ServerProcess;

fn clients_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("clients")
}

/// Installs the clients once per test binary (apt-get / pip, only what is missing).
fn install_clients() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let status = Command::new(clients_dir().join("install.sh"))
            .status()
            .expect("run tests/clients/install.sh");
        assert!(status.success(), "tests/clients/install.sh failed");
    });
}

fn run_suite(suite: &str) {
    install_clients();
    let server = ServerProcess::start(&["--extended-types"]);
    let out = Command::new(clients_dir().join("run_all.sh"))
        .arg(server.connect_string())
        .arg(suite)
        .output()
        .expect("run tests/clients/run_all.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{suite} smoke failed against ferrokeeper\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
}

#[test]
fn kazoo_client_and_recipes_work() {
    run_suite("kazoo");
}

#[test]
fn java_zkcli_works() {
    run_suite("zkcli");
}

#[test]
fn c_client_works() {
    run_suite("c");
}
