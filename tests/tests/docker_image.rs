//! The container image: built FROM scratch around the static binary, then exercised
//! with real clients by `docker/test.sh` (ports published on 127.0.0.1 only).

use std::path::PathBuf;
use std::process::Command;

#[test]
fn docker_image_builds_serves_clients_and_stops_cleanly() {
    // kazoo too, so that check runs rather than being skipped.
    ferrokeeper_tests::clients::install_clients();
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = Command::new(repo.join("docker/test.sh"))
        .current_dir(&repo)
        .env("REQUIRE_KAZOO", "1")
        .output()
        .expect("run docker/test.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "docker/test.sh failed\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
}
