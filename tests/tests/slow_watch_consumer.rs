//! A client that sets a persistent watch and then never reads, while another client
//! changes the watched node over and over: the notifications pile up for it, the server
//! disconnects it once 64 MiB are queued (`net::outbound::HARD_LIMIT`) with a log line
//! naming it, its memory comes back, and the other clients — one watching the same node,
//! one doing getData round trips — are served throughout.

use std::io::Write;
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferrokeeper_protocol::{AddWatchMode, CreateMode};
use ferrokeeper_tests::resources::{mntr, rss_mib};
use ferrokeeper_tests::wire::{self, req, Wire};
use ferrokeeper_tests::{eventually, scratch_dir, Launch};

/// Length of the watched node's name: each notification carries it, so a few thousand
/// changes queue more than the 64 MiB a connection may hold.
const NAME_LEN: usize = 60_000;
/// setData requests sent (about 90 MiB of notifications for each watcher).
const CHANGES: usize = 1_500;
/// What the server may grow by while the notifications pile up: the 64 MiB queue in a
/// buffer that grows by doubling (so up to 128 MiB), socket buffers, the writer's
/// requests in flight (at most `globalOutstandingLimit`, 100 here, of 60 kB).
const MAX_GROWTH_MIB: u64 = 160;
/// The worst getData round trip the well-behaved client may see meanwhile.
const PROBE_BOUND: Duration = Duration::from_secs(2);

#[test]
fn a_watcher_that_never_reads_is_disconnected_and_others_are_unaffected() {
    // Reads ferrokeeper's memory and log, in either mode.
    let dir = scratch_dir("slow-watch-consumer");
    let log = dir.join("server.log");
    let server = Launch::in_memory()
        .args(&[
            "--set",
            "4lw.commands.whitelist=*",
            "--set",
            "globalOutstandingLimit=100",
        ])
        .stderr_to(&log)
        .log("info")
        .start();
    let node = format!("/{}", "w".repeat(NAME_LEN));
    let mut writer = Wire::connect(server.addr);
    assert_eq!(
        writer
            .call(1, &req::create(&node, b"", CreateMode::Persistent))
            .err(),
        0
    );
    let mut slow = Wire::connect(server.addr);
    assert_eq!(
        slow.call(1, &req::add_watch(&node, AddWatchMode::Persistent))
            .err(),
        0
    );
    // From here the slow client reads nothing (and keeps its socket open).
    let mut observer = Wire::connect(server.addr);
    assert_eq!(
        observer
            .call(1, &req::add_watch(&node, AddWatchMode::Persistent))
            .err(),
        0
    );
    let slow_peer = slow.stream().local_addr().unwrap();
    let before = rss_mib(&server);
    let alive = || mntr(&server, "zk_num_alive_connections");
    let slow_conns = alive();

    // The well-behaved prober: getData round trips every 10 ms.
    let stop = Arc::new(AtomicBool::new(false));
    let prober = {
        let (stop, addr) = (stop.clone(), server.addr);
        std::thread::spawn(move || {
            let mut w = Wire::connect(addr);
            let (mut count, mut worst, mut xid) = (0, Duration::ZERO, 0);
            while !stop.load(Ordering::Relaxed) {
                xid += 1;
                let started = Instant::now();
                assert_eq!(w.call(xid, &req::get_data("/", false)).err(), 0);
                worst = worst.max(started.elapsed());
                count += 1;
                std::thread::sleep(Duration::from_millis(10));
            }
            (count, worst)
        })
    };
    // The server's resident memory, sampled every few milliseconds.
    let sampling = std::thread::scope(|scope| {
        let sampler = scope.spawn(|| {
            let mut peak = 0;
            while !stop.load(Ordering::Relaxed) {
                peak = peak.max(rss_mib(&server));
                std::thread::sleep(Duration::from_millis(2));
            }
            peak
        });
        // The observer reads its notifications as they come.
        let observing = std::thread::spawn(move || {
            let mut seen = 0;
            while seen < CHANGES {
                let event = observer.recv();
                assert!(event.is_notification(), "{event:?}");
                seen += 1;
            }
            seen
        });
        let mut frames = Vec::new();
        for xid in 2..(CHANGES as i32 + 2) {
            frames.extend(wire::typed_request_frame(
                xid,
                &req::set_data(&node, b"x", -1),
            ));
        }
        let mut socket = writer.stream().try_clone().unwrap();
        let sending = std::thread::spawn(move || socket.write_all(&frames).expect("send changes"));
        for (i, reply) in writer.recv_n(CHANGES).iter().enumerate() {
            assert_eq!(reply.err(), 0, "setData {i}");
        }
        sending.join().unwrap();
        assert_eq!(
            observing.join().unwrap(),
            CHANGES,
            "the observer missed events"
        );

        // The slow client is dropped, with a log line naming it.
        let dropped = eventually(Duration::from_secs(10), || alive() == slow_conns - 1);
        stop.store(true, Ordering::Relaxed);
        (dropped, sampler.join().unwrap())
    });
    let (dropped, peak) = sampling;
    let (count, worst) = prober.join().unwrap();
    let text = server.stderr_text();
    eprintln!("RSS {before} -> peak {peak} MiB; prober: {count} round trips, worst {worst:?}");
    assert!(dropped, "the slow watcher is still connected:\n{text}");
    assert!(
        text.lines()
            .any(|l| l.contains("client is not reading") && l.contains(&slow_peer.to_string())),
        "no log line naming {slow_peer}:\n{text}"
    );
    assert!(
        peak < before + MAX_GROWTH_MIB,
        "RSS went from {before} MiB to {peak} MiB"
    );
    assert!(
        count > 0 && worst < PROBE_BOUND,
        "a getData waited {worst:?}"
    );
    // Its socket was closed from the server's side.
    assert!(
        closed_by_server(slow.stream()),
        "the slow client's socket is open"
    );
    // What it had queued is freed.
    assert!(
        eventually(Duration::from_secs(5), || rss_mib(&server) < before + 64),
        "RSS stays at {} MiB after the slow client is gone (from {before})",
        rss_mib(&server)
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// Reads (and discards) what is left until EOF; false if the socket stays open.
fn closed_by_server(stream: &TcpStream) -> bool {
    use std::io::Read;
    let mut stream = stream.try_clone().unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut buf = vec![0u8; 1 << 16];
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(_) => return true,
        }
    }
    false
}
