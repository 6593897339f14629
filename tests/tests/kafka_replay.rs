//! Kafka's ZooKeeper workload (brokers in ZooKeeper mode, 2.8–3.9, plus the old
//! consumer-group flow), replayed with the real Java client (Debian's
//! `libzookeeper-java` 3.8) by `tests/java/KafkaReplay.java`, which is compiled here
//! with `javac` and run against the ferrokeeper binary under a chroot. The program
//! asserts every step (one PASS/FAIL line each) and passes against Apache ZooKeeper 3.8
//! too (`FERROKEEPER_TEST_REAL_ZK=1`).

use std::time::Duration;

use ferrokeeper_tests::clients::{run_bounded, JavaProgram};
use ferrokeeper_tests::ServerProcess;

#[test]
fn kafka_brokers_and_consumers_with_the_java_client() {
    let program = JavaProgram::compile("KafkaReplay");
    let server = ServerProcess::start(&[]);
    let run = run_bounded(
        program.command(&[&server.connect_string(), "/kafka"]),
        Duration::from_secs(180),
    );
    let passed = run.assert_checks_passed("the Kafka replay");
    assert!(passed >= 100, "only {passed} checks ran:\n{}", run.stdout);
}
