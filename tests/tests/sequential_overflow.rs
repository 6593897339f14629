//! Sequential names once a parent's child counter passes `i32::MAX`, end to end: a
//! ZooKeeper 3.8 data directory whose `/p` has made 2³¹−2 children (written by
//! ZooKeeper's own classes, `tests/java/ZooKeeperSnapshot.java`) is served by
//! ZooKeeper and, taken over, by ferrokeeper. Both name the children with Java's
//! `%010d` of the signed counter; ferrokeeper goes on through the wrap
//! (`s--2147483648`, and on after a restart), while ZooKeeper's tree never stores the wrapped counter, so its
//! next create asks for `s-2147483647` again (README, "Deliberate differences").

use std::path::Path;
use std::time::Duration;

use ferrokeeper_protocol::records::CreateResponse;
use ferrokeeper_protocol::request::Request;
use ferrokeeper_protocol::{CreateMode, ErrorCode, OpCode};
use ferrokeeper_tests::clients::{run_bounded, JavaProgram};
use ferrokeeper_tests::wire::{req, Wire};
use ferrokeeper_tests::{free_port, scratch_dir, Launch, ServerProcess};

/// A ZooKeeper data directory whose `/p` has the child counter `cversion`.
fn zookeeper_data_dir(program: &JavaProgram, what: &str, cversion: i32) -> std::path::PathBuf {
    let dir = scratch_dir(what);
    let run = run_bounded(
        program.command(&[dir.to_str().unwrap(), "/p", &cversion.to_string()]),
        Duration::from_secs(60),
    );
    assert!(
        run.success(),
        "ZooKeeperSnapshot failed ({:?}):\n{}\n{}",
        run.status,
        run.stdout,
        run.stderr
    );
    dir
}

/// `count` sequential creates of `/p/s-`, one after the other: each name, or the error.
fn sequential_creates(addr: std::net::SocketAddr, count: i32) -> Vec<Result<String, i32>> {
    let mut wire = Wire::connect(addr);
    (1..=count)
        .map(|xid| {
            let create = Request::Create(req::create_raw(
                OpCode::Create,
                "/p/s-",
                Some(b""),
                req::open_acl(),
                CreateMode::PersistentSequential.code(),
                -1,
            ));
            let reply = wire.call(xid, &create);
            match reply.err() {
                0 => Ok(reply.decode::<CreateResponse>().path),
                err => Err(err),
            }
        })
        .collect()
}

fn remove(dirs: &[&Path]) {
    for dir in dirs {
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[test]
fn sequential_names_past_i32_max() {
    let program = JavaProgram::compile("ZooKeeperSnapshot");
    let start = i32::MAX - 1;
    let fk_dir = zookeeper_data_dir(&program, "seq-overflow-fk", start);
    let zk_dir = zookeeper_data_dir(&program, "seq-overflow-zk", start);

    let mut ferrokeeper = Launch::new(&fk_dir).start();
    let names = |names: &[&str]| -> Vec<Result<String, i32>> {
        names.iter().map(|n| Ok(format!("/p/s-{n}"))).collect()
    };
    assert_eq!(
        sequential_creates(ferrokeeper.addr, 5),
        names(&[
            "2147483646",
            "2147483647",
            "-2147483648",
            "-2147483647",
            "-2147483646"
        ])
    );
    // The wrapped counter is durable: after a crash the next name follows on.
    ferrokeeper.kill();
    let ferrokeeper = Launch::new(&fk_dir).start();
    assert_eq!(
        sequential_creates(ferrokeeper.addr, 1),
        names(&["-2147483645"])
    );
    drop(ferrokeeper);

    let zookeeper = ServerProcess::start_zookeeper_on(&zk_dir, free_port(), &[]);
    let mut expected = names(&["2147483646", "2147483647"]);
    let exists = ErrorCode::NodeExists.code();
    expected.extend([Err(exists), Err(exists)]);
    assert_eq!(sequential_creates(zookeeper.addr, 4), expected);
    drop(zookeeper);
    remove(&[&fk_dir, &zk_dir]);
}
