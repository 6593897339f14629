//! Kafka's ZooKeeper workload (brokers in ZooKeeper mode, 2.8–3.9, plus the old
//! consumer-group flow), replayed with the real Java client (Debian's
//! `libzookeeper-java` 3.8) by `tests/java/KafkaReplay.java`, which is compiled here
//! with `javac` and run against the ferrokeeper binary under a chroot. The program
//! asserts every step (one PASS/FAIL line each) and passes against Apache ZooKeeper 3.8
//! too (`FERROKEEPER_TEST_REAL_ZK=1`).

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ferrokeeper_tests::{scratch_dir, ServerProcess};

const ZK_JAR: &str = "/usr/share/java/zookeeper.jar";

fn ensure_java_client() {
    if std::path::Path::new(ZK_JAR).exists() {
        return;
    }
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("clients/install.sh");
    let status = Command::new(script).status().expect("run install.sh");
    assert!(status.success(), "tests/clients/install.sh failed");
}

#[test]
fn kafka_brokers_and_consumers_with_the_java_client() {
    ensure_java_client();
    let classes = scratch_dir("kafka-replay-classes");
    let source = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("java/KafkaReplay.java");
    let javac = Command::new("javac")
        .args(["-nowarn", "-cp", ZK_JAR, "-d"])
        .arg(&classes)
        .arg(&source)
        .output()
        .expect("run javac");
    assert!(
        javac.status.success(),
        "javac failed:\n{}",
        String::from_utf8_lossy(&javac.stderr)
    );

    let server = ServerProcess::start(&[]);
    let mut child = Command::new("java")
        .args(["-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-cp"])
        .arg(format!("{}:{ZK_JAR}", classes.display()))
        .arg("KafkaReplay")
        .arg(server.connect_string())
        .arg("/kafka")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run java");
    // Read both pipes on threads so a chatty process cannot block on them.
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + Duration::from_secs(180);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for java") {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stdout = out.join().unwrap();
    let stderr = err.join().unwrap();
    let _ = std::fs::remove_dir_all(&classes);
    let failed: Vec<&str> = stdout.lines().filter(|l| l.starts_with("FAIL")).collect();
    assert!(
        status.is_some_and(|s| s.success()) && failed.is_empty(),
        "the Kafka replay failed ({status:?}): {failed:#?}\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    let passed = stdout.lines().filter(|l| l.starts_with("PASS")).count();
    assert!(passed >= 100, "only {passed} checks ran:\n{stdout}");
    eprintln!("{}", stdout.lines().last().unwrap_or_default());
}
