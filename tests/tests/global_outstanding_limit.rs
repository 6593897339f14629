//! globalOutstandingLimit is server-wide, as ZooKeeper's (`ZooKeeperServer.shouldThrottle`):
//! once the server has that many requests in its pipeline, a connection with requests
//! of its own there is no longer read until they are answered, while a connection with
//! none is still read. To see requests pile up, the log writer is frozen (a disk whose
//! fsync hangs) and the server's count read from `mntr`, each connection's from `cons`.
//! Ferrokeeper only: it freezes ferrokeeper's log thread. Checked by hand against
//! ZooKeeper 3.8.0 with its `SyncThread:0` frozen the same way: the other connections
//! got one request in each, as here, the flooding one 12 (ZooKeeper throttles once its
//! count exceeds the limit), and the idle client's read waited behind the frozen sync.

use std::net::TcpStream;
use std::time::{Duration, Instant};

use ferrokeeper_protocol::CreateMode;
use ferrokeeper_tests::freeze::{FrozenThread, LOG_WRITER};
use ferrokeeper_tests::resources::mntr;
use ferrokeeper_tests::wire::{req, Wire};
use ferrokeeper_tests::{four_letter_word, Launch, ServerProcess};

const LIMIT: i64 = 10;

/// Pipelines `count` creates of `/<prefix>-<i>` (xids 1..=count) without reading.
fn send_creates(client: &mut Wire, prefix: &str, count: i32) {
    for xid in 1..=count {
        client.send(
            xid,
            &req::create(&format!("/{prefix}-{xid}"), b"", CreateMode::Persistent),
        );
    }
}

/// Reads the `count` replies of [`send_creates`]: all succeeded, in order.
fn expect_created(client: &mut Wire, prefix: &str, count: i32) {
    for (i, reply) in client.recv_n(count as usize).iter().enumerate() {
        let xid = i as i32 + 1;
        assert_eq!((reply.xid(), reply.err()), (xid, 0), "/{prefix}-{xid}");
    }
}

/// The server's requests in its pipeline once the count has stopped moving (the same
/// over half a second), so a count still climbing towards no limit is not mistaken for
/// one held at the limit.
fn settled_outstanding(server: &ServerProcess) -> i64 {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut last = mntr(server, "zk_outstanding_requests");
    loop {
        std::thread::sleep(Duration::from_millis(500));
        let now = mntr(server, "zk_outstanding_requests");
        if now == last || Instant::now() > deadline {
            return now;
        }
        last = now;
    }
}

/// `queued` (requests in the pipeline) of `client`'s line in `cons`.
fn queued(server: &ServerProcess, client: &TcpStream) -> i64 {
    let cons = four_letter_word(server.addr, "cons").expect("cons");
    let me = format!("/{}[", client.local_addr().unwrap());
    cons.lines()
        .find_map(|line| line.trim().strip_prefix(&me))
        .and_then(|rest| {
            rest.split("queued=")
                .nth(1)?
                .split(',')
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no {me} line in cons:\n{cons}"))
}

#[test]
fn the_outstanding_limit_is_server_wide_and_a_connection_with_none_is_still_read() {
    let server = ServerProcess::start_ferrokeeper(&[
        "--set",
        &format!("globalOutstandingLimit={LIMIT}"),
        "--set",
        "4lw.commands.whitelist=*",
    ]);
    // Sessions first: creating one goes through the log too.
    let mut flooder = Wire::connect(server.addr);
    let mut second = Wire::connect(server.addr);
    let mut third = Wire::connect(server.addr);
    let mut reader = Wire::connect(server.addr);
    let created = reader.call(1, &req::create("/read", b"v", CreateMode::Persistent));
    assert_eq!(created.err(), 0);

    let frozen = FrozenThread::freeze(server.pid(), LOG_WRITER);
    // One client pipelines 200 writes: the server takes the limit's worth, then stops
    // reading it.
    send_creates(&mut flooder, "f", 200);
    assert_eq!(settled_outstanding(&server), LIMIT);
    assert_eq!(queued(&server, flooder.stream()), LIMIT);
    // The limit is the server's, not each connection's: another client pipelining is
    // read for one request (it had none in the pipeline), then no further.
    send_creates(&mut second, "s", 50);
    assert_eq!(settled_outstanding(&server), LIMIT + 1);
    assert_eq!(queued(&server, second.stream()), 1);
    assert_eq!(queued(&server, flooder.stream()), LIMIT);
    send_creates(&mut third, "t", 1);
    assert_eq!(settled_outstanding(&server), LIMIT + 2);
    // A read of a connection with nothing in the pipeline is answered meanwhile.
    let read = reader.call(2, &req::get_data("/read", false));
    assert_eq!(read.err(), 0);

    // The disk comes back: everything is answered, in order, and the count drains.
    drop(frozen);
    expect_created(&mut flooder, "f", 200);
    expect_created(&mut second, "s", 50);
    expect_created(&mut third, "t", 1);
    assert_eq!(settled_outstanding(&server), 0);
}

#[test]
fn a_zero_outstanding_limit_is_refused_at_start_up() {
    let refused = Launch::in_memory()
        .args(&["--set", "globalOutstandingLimit=0"])
        .try_start();
    assert!(refused.is_err(), "globalOutstandingLimit=0 must be refused");
}
