//! The container image: built FROM scratch around the static binary, then exercised
//! with real clients by `docker/test.sh` (ports published on 127.0.0.1 only): the Java
//! CLI and kazoo against it, a mounted zoo.cfg, and compose files written for the
//! official `zookeeper:3.8` image, whose `ZOO_*` variables must turn into the same
//! zoo.cfg and myid (for an ensemble's `ZOO_MY_ID`/`ZOO_SERVERS` only the generated
//! files are checked: ensembles are refused at start).

use std::path::PathBuf;
use std::process::Command;

use ferrokeeper_tests::clients::install_clients;

#[test]
fn docker_image_builds_serves_clients_and_stops_cleanly() {
    // The Java CLI and kazoo that docker/test.sh drives.
    install_clients();
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = Command::new(repo.join("docker/test.sh"))
        .current_dir(&repo)
        .output()
        .expect("run docker/test.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "docker/test.sh failed\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
}
