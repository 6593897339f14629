//! Soak: many sessions doing a mixed workload while the server is restarted, then
//! rounds of the same workload on one process to see what it holds come back.
//!
//! **Churn** (`FERROKEEPER_SOAK_SECS`): [`SESSIONS`] workers, each with its own
//! client, create, set, delete and multi on their own znodes (with the expected
//! version), set data and child watches and wait for them to fire, and own an
//! ephemeral; meanwhile short-lived sessions ("ghosts", 1 s timeout) create an
//! ephemeral and stop pinging — some hang up, some stay connected and silent — and the
//! server is restarted on the same data directory and port every few seconds, by
//! SIGTERM or SIGKILL. A worker counts a write as acknowledged only when answered; a
//! write whose answer was lost is resolved by reading it back once the server is up
//! (it must be all applied or not at all). After one last SIGKILL and restart, every
//! znode must be as the acknowledged writes left it, and every ephemeral of a closed
//! or expired session must be gone.
//!
//! **Memory** (`FERROKEEPER_SOAK_ROUNDS`): on the last process, identical rounds of
//! the workload without restarts (a fixed number of operations per worker, ghosts,
//! then everything deleted and every client gone). After [`WARM_UP_ROUNDS`] the
//! server's descriptors, threads, connections, znodes and watches must come back to
//! their warm values after every round, and its resident memory must stay within
//! [`RSS_SLACK_MIB`] of the warm value, and a typical round must grow it by less than
//! [`LEAK_KIB_PER_ROUND`] (a leak grows it round after round; glibc keeping freed
//! memory for reuse grows it in occasional steps).
//!
//! Knobs (environment): `FERROKEEPER_SOAK_SECS` (default 20), `FERROKEEPER_SOAK_ROUNDS`
//! (measured rounds after the warm-up, default 4), `FERROKEEPER_SOAK_SEED` (printed at
//! the start, replays the random choices). The defaults take about a minute with a
//! debug build on a loaded 2-core machine (about 50,000 acknowledged writes and 6
//! restarts in the churn). A long soak:
//! `FERROKEEPER_SOAK_SECS=600 FERROKEEPER_SOAK_ROUNDS=20 cargo test -p
//! ferrokeeper-tests --test soak -- --nocapture`.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use ferrokeeper_protocol::CreateMode;
use ferrokeeper_tests::resources::{mntr, open_fds, rss_kib, threads};
use ferrokeeper_tests::wire::{new_session_request, req, Wire};
use ferrokeeper_tests::zkc::{ephemeral, init_client_log, persistent, within};
use ferrokeeper_tests::{eventually, read_log, scratch_dir, Launch, ServerProcess};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::sync::watch;
use zookeeper_client as zk;

/// Worker sessions.
const SESSIONS: usize = 100;
/// Znodes per worker (only that worker writes them).
const NODES: usize = 6;
/// Operations per worker in a memory round.
const ROUND_OPS: usize = 40;
/// Ghost sessions per memory round.
const ROUND_GHOSTS: usize = 40;
/// Session timeout of the workers (tickTime 500: at most 10 s) and of the ghosts.
const WORKER_TIMEOUT: Duration = Duration::from_secs(6);
const GHOST_TIMEOUT_MS: i32 = 1_000;
/// Longest a request may go unanswered while the server is up, and longest a lost
/// answer may take to resolve (restarts included).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(15);
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(60);
/// Rounds before the warm values are taken (the allocator's arenas and the tables'
/// capacities settle).
const WARM_UP_ROUNDS: usize = 3;
/// How far above its warm value the server's resident memory may be after a round.
const RSS_SLACK_MIB: u64 = 24;
/// Growth of resident memory in a typical (median) measured round that counts as a
/// leak: a round is about 4,000 requests and 140 sessions, so 64 bytes kept per
/// request or 2 KiB per session would exceed it, while the allocator's occasional
/// steps (up to 800 KiB once, then tens of KiB a round) do not.
const LEAK_KIB_PER_ROUND: u64 = 256;

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).map_or(default, |v| {
        v.trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a number"))
    })
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Value {
    data: Vec<u8>,
    version: i32,
}

/// A worker's znodes as its acknowledged writes left them (`None`: absent).
type Model = BTreeMap<String, Option<Value>>;

/// A worker's outcome.
#[derive(Debug, Default)]
struct Report {
    model: Model,
    acked: usize,
    /// Writes whose answer was lost, found applied / not applied.
    resolved: (usize, usize),
    watch_events: usize,
    sessions: usize,
}

/// One change to a worker's znodes: the model before and after it.
struct Change {
    paths: Vec<String>,
    after: Vec<Option<Value>>,
}

struct Worker {
    addr: String,
    index: usize,
    rng: StdRng,
    client: Option<zk::Client>,
    report: Report,
    writes: usize,
}

/// Whether an error says the server refused a write the model says must succeed.
fn contradicts_model(e: &zk::Error) -> bool {
    matches!(
        e,
        zk::Error::NodeExists | zk::Error::BadVersion | zk::Error::NoNode | zk::Error::NotEmpty
    )
}

impl Worker {
    fn node(&self, j: usize) -> String {
        format!("/soak/w{}/n{j}", self.index)
    }

    /// The worker's client, connected (a new session, with its ephemeral, when the
    /// last one expired or was never made). Retries while the server restarts.
    async fn client(&mut self) -> zk::Client {
        if let Some(client) = &self.client {
            if !client.state().is_terminated() {
                return client.clone();
            }
        }
        init_client_log();
        let deadline = Instant::now() + RESOLVE_TIMEOUT;
        loop {
            let connect = zk::Client::connector()
                .with_session_timeout(WORKER_TIMEOUT)
                .connect(&self.addr);
            if let Ok(Ok(client)) = tokio::time::timeout(ANSWER_TIMEOUT, connect).await {
                self.report.sessions += 1;
                let own = format!("/soak/eph/w{}-s{}", self.index, self.report.sessions);
                // Unacknowledged (a restart) is fine: it goes with the session anyway.
                let _ =
                    tokio::time::timeout(ANSWER_TIMEOUT, client.create(&own, b"", &ephemeral()))
                        .await;
                self.client = Some(client.clone());
                return client;
            }
            assert!(
                Instant::now() < deadline,
                "worker {} could not connect for {RESOLVE_TIMEOUT:?}",
                self.index
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn data(&mut self) -> Vec<u8> {
        self.writes += 1;
        let mut data = format!("w{} #{}|", self.index, self.writes).into_bytes();
        let pad = self.rng.gen_range(0..512);
        data.extend((0..pad).map(|i| b'a' + (i % 26) as u8));
        data
    }

    fn new(addr: std::net::SocketAddr, index: usize, seed: u64) -> Worker {
        Worker {
            addr: addr.to_string(),
            index,
            rng: StdRng::seed_from_u64(seed),
            client: None,
            report: Report::default(),
            writes: 0,
        }
    }

    /// Runs operations until `stop` says so or `limit` operations are done; then, if
    /// `clean_up`, deletes its znodes. Its client is dropped, closing its session.
    async fn run(mut self, stop: watch::Receiver<bool>, limit: usize, clean_up: bool) -> Report {
        for n in 0..limit {
            if *stop.borrow() {
                break;
            }
            self.step(n).await;
        }
        if clean_up {
            let client = self.client().await;
            delete_model(&client, &std::mem::take(&mut self.report.model)).await;
        }
        self.report
    }

    async fn step(&mut self, n: usize) {
        let (ja, jb) = (self.rng.gen_range(0..NODES), self.rng.gen_range(0..NODES));
        let (a, b) = (self.node(ja), self.node(jb));
        let current = |w: &Self, p: &str| w.report.model.get(p).cloned().flatten();
        let data = self.data();
        let client = self.client().await;
        let roll = self.rng.gen_range(0..100);
        match (roll, current(self, &a)) {
            // Reads with watches on another worker's znodes: they stay registered
            // until they fire or the session ends.
            (0..10, _) => {
                let other = format!("/soak/w{}/n{}", (self.index + n) % SESSIONS, n % NODES);
                let _ =
                    tokio::time::timeout(ANSWER_TIMEOUT, client.check_and_watch_stat(&other)).await;
            }
            // A data watch on its own znode, then a change it must see.
            (10..25, Some(v)) => {
                let Ok(Ok((_, stat, watcher))) =
                    tokio::time::timeout(ANSWER_TIMEOUT, client.get_and_watch_data(&a)).await
                else {
                    return;
                };
                assert_eq!(
                    stat.version, v.version,
                    "{a}: getData after acknowledged writes"
                );
                let set = client.set_data(&a, &data, Some(v.version));
                let after = Value {
                    data: data.clone(),
                    version: v.version + 1,
                };
                if self.write(vec![a.clone()], vec![Some(after)], set).await {
                    self.expect_event(watcher, &a, zk::EventType::NodeDataChanged)
                        .await;
                }
            }
            // A child watch on its directory, then a create or delete it must see.
            (25..35, v) => {
                let dir = format!("/soak/w{}", self.index);
                let Ok(Ok((_, watcher))) =
                    tokio::time::timeout(ANSWER_TIMEOUT, client.list_and_watch_children(&dir))
                        .await
                else {
                    return;
                };
                let done = match v {
                    Some(v) => {
                        let delete = client.delete(&a, Some(v.version));
                        self.write(vec![a.clone()], vec![None], delete).await
                    }
                    None => {
                        let create = client.create(&a, &data, &persistent());
                        let after = Value {
                            data: data.clone(),
                            version: 0,
                        };
                        self.write(vec![a.clone()], vec![Some(after)], create).await
                    }
                };
                if done {
                    self.expect_event(watcher, &dir, zk::EventType::NodeChildrenChanged)
                        .await;
                }
            }
            // A multi: check and set one znode, create or delete another.
            (35..55, Some(v)) if a != b => {
                let mut multi = client.new_multi_writer();
                multi.add_check_version(&a, v.version).unwrap();
                let data_a = format!("multi {}", self.writes).into_bytes();
                multi.add_set_data(&a, &data_a, Some(v.version)).unwrap();
                let b_after = match current(self, &b) {
                    Some(vb) => {
                        multi.add_delete(&b, Some(vb.version)).unwrap();
                        None
                    }
                    None => {
                        multi.add_create(&b, &data, &persistent()).unwrap();
                        Some(Value {
                            data: data.clone(),
                            version: 0,
                        })
                    }
                };
                let a_after = Value {
                    data: data_a,
                    version: v.version + 1,
                };
                let commit = async { multi.commit().await.map_err(zk::Error::from) };
                self.write(
                    vec![a.clone(), b.clone()],
                    vec![Some(a_after), b_after],
                    commit,
                )
                .await;
            }
            (_, None) => {
                let create = client.create(&a, &data, &persistent());
                let after = Value {
                    data: data.clone(),
                    version: 0,
                };
                self.write(vec![a.clone()], vec![Some(after)], create).await;
            }
            (55..70, Some(v)) => {
                let delete = client.delete(&a, Some(v.version));
                self.write(vec![a.clone()], vec![None], delete).await;
            }
            (_, Some(v)) => {
                let set = client.set_data(&a, &data, Some(v.version));
                let after = Value {
                    data: data.clone(),
                    version: v.version + 1,
                };
                self.write(vec![a.clone()], vec![Some(after)], set).await;
            }
        }
    }

    /// Awaits a write and updates the model; an answer lost to a restart is resolved
    /// by reading the znodes back. True if the write was acknowledged.
    async fn write<T>(
        &mut self,
        paths: Vec<String>,
        after: Vec<Option<Value>>,
        write: impl std::future::Future<Output = Result<T, zk::Error>>,
    ) -> bool {
        let change = Change { paths, after };
        match tokio::time::timeout(ANSWER_TIMEOUT, write).await {
            Ok(Ok(_)) => {
                self.report.acked += 1;
                self.apply(change);
                true
            }
            Ok(Err(e)) if contradicts_model(&e) => panic!(
                "worker {}: {e} for a write of {:?} the model says must succeed (model {:?})",
                self.index,
                change.paths,
                change
                    .paths
                    .iter()
                    .map(|p| self.report.model.get(p))
                    .collect::<Vec<_>>()
            ),
            Ok(Err(_)) => {
                self.resolve(change).await;
                false
            }
            Err(_) => panic!(
                "worker {}: a write of {:?} got no answer in {ANSWER_TIMEOUT:?}",
                self.index, change.paths
            ),
        }
    }

    fn apply(&mut self, change: Change) {
        for (path, value) in change.paths.into_iter().zip(change.after) {
            self.report.model.insert(path, value);
        }
    }

    /// Reads the znodes of a write whose answer was lost: they must hold all of its
    /// outcome or none of it.
    async fn resolve(&mut self, change: Change) {
        let deadline = Instant::now() + RESOLVE_TIMEOUT;
        let actual = loop {
            let client = self.client().await;
            if let Some(actual) = read_all(&client, &change.paths).await {
                break actual;
            }
            assert!(
                Instant::now() < deadline,
                "worker {}: could not read {:?} back",
                self.index,
                change.paths
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let before: Vec<_> = change
            .paths
            .iter()
            .map(|p| self.report.model.get(p).cloned().flatten())
            .collect();
        if actual == change.after {
            self.report.resolved.0 += 1;
            self.apply(change);
        } else if actual == before {
            self.report.resolved.1 += 1;
        } else {
            panic!(
                "worker {}: after a lost answer {:?} hold {}, neither the acknowledged {} nor \
                 the unacknowledged write's {}",
                self.index,
                change.paths,
                describe(&actual),
                describe(&before),
                describe(&change.after)
            );
        }
    }

    /// A watch set before an acknowledged change fires (or its session ends).
    async fn expect_event(&mut self, watcher: zk::OneshotWatcher, path: &str, kind: zk::EventType) {
        match tokio::time::timeout(ANSWER_TIMEOUT, watcher.changed()).await {
            Ok(event) if event.event_type == kind => {
                assert_eq!(event.path, path);
                self.report.watch_events += 1;
            }
            // The session expired or the client closed: the watch went with it.
            Ok(event) if event.event_type == zk::EventType::Session => {}
            Ok(event) => panic!(
                "worker {}: {path}: expected {kind:?}, got {event:?}",
                self.index
            ),
            Err(_) => panic!(
                "worker {}: a {kind:?} watch on {path} never fired after an acknowledged change",
                self.index
            ),
        }
    }
}

/// Deletes every znode a model holds.
async fn delete_model(client: &zk::Client, model: &Model) {
    for (path, value) in model {
        if let Some(v) = value {
            within(client.delete(path, Some(v.version)))
                .await
                .unwrap_or_else(|e| panic!("deleting {path}: {e}"));
        }
    }
}

/// Data and version of each path (`None` if absent); `None` if the server could not
/// be asked.
async fn read_all(client: &zk::Client, paths: &[String]) -> Option<Vec<Option<Value>>> {
    let mut values = Vec::new();
    for path in paths {
        match tokio::time::timeout(ANSWER_TIMEOUT, client.get_data(path)).await {
            Ok(Ok((data, stat))) => values.push(Some(Value {
                data,
                version: stat.version,
            })),
            Ok(Err(zk::Error::NoNode)) => values.push(None),
            _ => return None,
        }
    }
    Some(values)
}

fn describe(values: &[Option<Value>]) -> String {
    let one = |v: &Option<Value>| match v {
        Some(v) => {
            let head = v.data.split(|b| *b == b'|').next().unwrap_or_default();
            format!("v{} {:?}", v.version, String::from_utf8_lossy(head))
        }
        None => "absent".to_owned(),
    };
    format!(
        "[{}]",
        values.iter().map(one).collect::<Vec<_>>().join(", ")
    )
}

/// A session that creates an ephemeral and then stops pinging: its connection hangs
/// up without closing the session, or stays open and silent until the server closes
/// it. Returns the silent connection, if any. Failures (a restart) are ignored:
/// whatever it created goes when its session expires.
fn ghost(addr: std::net::SocketAddr, n: usize, silent: bool) -> Option<Wire> {
    let (mut w, _) = Wire::try_connect_with(addr, &new_session_request(GHOST_TIMEOUT_MS))?;
    let path = format!("/soak/eph/ghost-{n}");
    w.send_lossy(1, &req::create(&path, b"", CreateMode::Ephemeral));
    let created = w.try_recv().is_some_and(|reply| reply.err() == 0);
    (created && silent).then_some(w)
}

/// Starts `count` ghosts, one every `every`, in a blocking thread.
fn spawn_ghosts(
    addr: std::net::SocketAddr,
    first: usize,
    count: usize,
    every: Duration,
) -> tokio::task::JoinHandle<Vec<Wire>> {
    tokio::task::spawn_blocking(move || {
        (first..first + count)
            .filter_map(|n| {
                std::thread::sleep(every);
                ghost(addr, n, n % 2 == 0)
            })
            .collect()
    })
}

fn start(dir: &Path, port: u16, stderr: &Path) -> ServerProcess {
    Launch::new(dir)
        .port(port)
        .args(&[
            "--tick-time",
            "500",
            "--set",
            "4lw.commands.whitelist=*",
            "--set",
            "snapCount=5000",
            "--set",
            "autopurge.purgeInterval=1",
        ])
        .stderr_to(stderr)
        .try_start()
        .unwrap_or_else(|failure| {
            panic!(
                "the server did not (re)start ({:?}):\n{}",
                failure.status, failure.stderr
            )
        })
}

/// Waits for every ephemeral under /soak/eph to go (their sessions closed or expired).
async fn ephemerals_gone(client: &zk::Client, what: &str) {
    let gone = async {
        loop {
            if within(client.list_children("/soak/eph"))
                .await
                .unwrap()
                .is_empty()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    if tokio::time::timeout(Duration::from_secs(30), gone)
        .await
        .is_err()
    {
        let left = within(client.list_children("/soak/eph")).await.unwrap();
        panic!("{what}: ephemerals of closed or expired sessions are still there: {left:?}");
    }
}

/// Every znode of every worker is as its acknowledged writes left it.
async fn verify(client: &zk::Client, reports: &[Report]) -> usize {
    let mut checked = 0;
    for (index, report) in reports.iter().enumerate() {
        let dir = format!("/soak/w{index}");
        let mut children = within(client.list_children(&dir)).await.unwrap();
        children.sort();
        let expected: Vec<String> = report
            .model
            .iter()
            .filter(|(_, v)| v.is_some())
            .map(|(p, _)| p.rsplit('/').next().unwrap().to_owned())
            .collect();
        assert_eq!(children, expected, "{dir}: children after the last restart");
        let paths: Vec<String> = report.model.keys().cloned().collect();
        let actual = within(read_all(client, &paths)).await.expect("read back");
        for ((path, want), got) in report.model.iter().zip(&actual) {
            assert_eq!(
                got,
                want,
                "{path} after the last restart: {} but the acknowledged writes left {}",
                describe(std::slice::from_ref(got)),
                describe(std::slice::from_ref(want))
            );
            checked += 1;
        }
    }
    checked
}

/// What the server holds once clients are gone.
#[derive(Debug, Clone, Copy)]
struct Held {
    rss_kib: u64,
    fds: usize,
    threads: u64,
    connections: i64,
    znodes: i64,
    watches: i64,
}

fn held(server: &ServerProcess) -> Held {
    Held {
        rss_kib: rss_kib(server),
        fds: open_fds(server),
        threads: threads(server),
        connections: mntr(server, "zk_num_alive_connections"),
        znodes: mntr(server, "zk_znode_count"),
        watches: mntr(server, "zk_watch_count"),
    }
}

/// Waits until the server holds no more than `warm` (memory aside).
fn settled(server: &ServerProcess, warm: &Held) -> Held {
    let back = |h: &Held| {
        h.fds <= warm.fds
            && h.threads <= warm.threads
            && h.connections <= warm.connections
            && h.znodes == warm.znodes
            && h.watches == 0
    };
    let mut now = held(server);
    eventually(Duration::from_secs(20), || {
        now = held(server);
        back(&now)
    });
    assert!(
        back(&now),
        "after a round the server holds {now:?}, warm {warm:?}"
    );
    now
}

/// One memory round: workers run a fixed number of operations, ghosts come and go,
/// then everything is deleted and every client is gone.
async fn round(addr: std::net::SocketAddr, client: &zk::Client, seed: u64, ghost_base: usize) {
    let (_keep, stop) = watch::channel(false);
    let ghosts = spawn_ghosts(addr, ghost_base, ROUND_GHOSTS, Duration::from_millis(20));
    let workers: Vec<_> = (0..SESSIONS)
        .map(|index| {
            let worker = Worker::new(addr, index, seed + index as u64);
            tokio::spawn(worker.run(stop.clone(), ROUND_OPS, true))
        })
        .collect();
    for worker in workers {
        let report = worker.await.expect("worker");
        assert_eq!(
            report.resolved,
            (0, 0),
            "an answer was lost without a restart"
        );
    }
    let silent = ghosts.await.expect("ghosts");
    ephemerals_gone(client, "memory round").await;
    for mut w in silent {
        // The server closes the connection of the session it expired.
        w.expect_closed();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_mixed_workload_with_restarts_loses_nothing_and_memory_comes_back() {
    let secs = env_number("FERROKEEPER_SOAK_SECS", 20);
    let rounds = env_number("FERROKEEPER_SOAK_ROUNDS", 4) as usize;
    let seed = env_number(
        "FERROKEEPER_SOAK_SEED",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64,
    );
    eprintln!("soak: {secs} s of churn, {rounds} memory rounds, FERROKEEPER_SOAK_SEED={seed}");
    let mut rng = StdRng::seed_from_u64(seed);
    let dir = scratch_dir("soak");
    let stderr = dir.with_extension("stderr");
    let _ = std::fs::remove_file(&stderr);
    let mut server = start(&dir, 0, &stderr);
    let port = server.port();
    let addr = server.addr;
    {
        let setup = ferrokeeper_tests::zkc::connect(&server).await;
        for path in ["/soak", "/soak/eph"]
            .into_iter()
            .map(str::to_owned)
            .chain((0..SESSIONS).map(|i| format!("/soak/w{i}")))
        {
            within(setup.create(&path, b"", &persistent()))
                .await
                .unwrap();
        }
    }

    // Churn: the workload while the server restarts.
    let started = Instant::now();
    let (stop_tx, stop) = watch::channel(false);
    let workers: Vec<_> = (0..SESSIONS)
        .map(|index| {
            let worker = Worker::new(addr, index, rng.gen());
            tokio::spawn(worker.run(stop.clone(), usize::MAX, false))
        })
        .collect();
    let ghost_count = (secs * 10) as usize;
    let ghosts = spawn_ghosts(addr, 0, ghost_count, Duration::from_millis(100));
    let mut restarts = (0, 0);
    while started.elapsed() < Duration::from_secs(secs) {
        tokio::time::sleep(Duration::from_millis(rng.gen_range(1_500..4_000))).await;
        if rng.gen_bool(0.5) {
            server.kill();
            restarts.0 += 1;
        } else {
            let status = server.terminate().expect("the server stops on SIGTERM");
            assert!(status.success(), "SIGTERM exit status: {status:?}");
            restarts.1 += 1;
        }
        server = start(&dir, port, &stderr);
    }
    stop_tx.send(true).unwrap();
    let mut reports = Vec::new();
    for worker in workers {
        let report = tokio::time::timeout(RESOLVE_TIMEOUT, worker)
            .await
            .expect("a worker did not stop")
            .expect("worker");
        reports.push(report);
    }
    let silent = ghosts.await.expect("ghosts");
    let acked: usize = reports.iter().map(|r| r.acked).sum();
    let (applied, lost) = reports
        .iter()
        .fold((0, 0), |(a, l), r| (a + r.resolved.0, l + r.resolved.1));
    let events: usize = reports.iter().map(|r| r.watch_events).sum();
    let sessions: usize = reports.iter().map(|r| r.sessions).sum();
    eprintln!(
        "soak churn: {:?}, {} SIGKILL and {} SIGTERM restarts, {sessions} worker sessions, \
         {ghost_count} ghosts, {acked} acknowledged writes, {applied} unanswered writes \
         found applied and {lost} not, {events} watch events",
        started.elapsed(),
        restarts.0,
        restarts.1
    );
    assert!(acked > 0, "no write was acknowledged");

    // The last restart, then the check.
    server.kill();
    drop(silent);
    let server = start(&dir, port, &stderr);
    let checker = ferrokeeper_tests::zkc::connect(&server).await;
    let checked = verify(&checker, &reports).await;
    ephemerals_gone(&checker, "after the churn").await;
    eprintln!("soak: {checked} znodes as acknowledged after the last restart");
    for report in &reports {
        delete_model(&checker, &report.model).await;
    }

    // Memory: identical rounds on this process.
    let cold = held(&server);
    let mut ghost_base = ghost_count;
    let mut after = Vec::new();
    for r in 0..WARM_UP_ROUNDS + rounds {
        let round_started = Instant::now();
        round(addr, &checker, seed ^ 0x5eed, ghost_base).await;
        ghost_base += ROUND_GHOSTS;
        let now = settled(&server, after.first().unwrap_or(&cold));
        eprintln!(
            "soak round {r}{} in {:?}: {now:?}",
            if r < WARM_UP_ROUNDS { " (warm-up)" } else { "" },
            round_started.elapsed()
        );
        if r + 1 >= WARM_UP_ROUNDS {
            after.push(now);
        }
    }
    let warm = after[0];
    eprintln!("soak: cold {cold:?}, warm {warm:?}");
    let rss: Vec<u64> = after.iter().map(|h| h.rss_kib).collect();
    for (r, &kib) in rss.iter().enumerate().skip(1) {
        assert!(
            kib <= warm.rss_kib + RSS_SLACK_MIB * 1024,
            "round {r}: RSS {kib} KiB, warm {} KiB (every round: {rss:?})",
            warm.rss_kib
        );
    }
    // A leak grows the memory every round; the allocator grows it in occasional
    // steps: the typical (median) round's growth tells them apart.
    let mut growth: Vec<i64> = rss.windows(2).map(|w| w[1] as i64 - w[0] as i64).collect();
    growth.sort_unstable();
    if let Some(&typical) = growth.get(growth.len().saturating_sub(1) / 2) {
        assert!(
            typical <= LEAK_KIB_PER_ROUND as i64,
            "RSS grows about {typical} KiB every round: {rss:?} KiB"
        );
    }
    drop(checker);
    drop(server);
    let log = read_log(&stderr);
    let errors: Vec<&str> = log.lines().filter(|l| l.contains("ERROR")).collect();
    assert!(
        errors.is_empty(),
        "the server logged errors:\n{}",
        errors.join("\n")
    );
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_file(&stderr);
}
