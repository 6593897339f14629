//! Crash loop: no acknowledged write is ever lost to a `kill -9`.
//!
//! Each cycle starts the real server on the same data directory, checks everything
//! written before (below), then runs concurrent writers — each with its own client and
//! its own znodes, doing `create`, `setData` and `delete` with the expected version,
//! and sequential creates under one shared parent — and kills the server with SIGKILL
//! at a random moment. A writer records a write as acknowledged only when the server
//! answered it; the one write in flight when the server died (failed or timed out) is
//! "pending": it may or may not have been applied. After the restart every znode must
//! be exactly as its last acknowledged write left it (data and version, or absent
//! after a delete), or as its pending write would; an unacknowledged creation may be
//! absent. Zxids and the sequential counter must keep increasing across cycles: a
//! write after a restart gets a zxid (and a sequential suffix) above every one seen
//! before it, including those of writes whose answer was lost.
//!
//! The writers' znodes live among 3,000 others, so a snapshot's walk spans several
//! holds of the tree lock while they change (fuzzy snapshots under fire). Each cycle
//! draws the server's durability settings (snapCount from 2 up, so kills land during
//! snapshots and purges; forceSync; preallocation size; snapshot compression). Every
//! writer's session owns an ephemeral znode; those sessions are restored at each
//! restart, and after the last one they must all expire and their ephemerals go.
//!
//! Knobs (environment):
//! - `FERROKEEPER_CRASH_CYCLES`: cycles to run; 20 by default, which CI runs in well
//!   under a minute. For a soak run use 1000 or more, e.g.
//!   `cargo build --release -p ferrokeeper && FERROKEEPER_CRASH_CYCLES=1000 cargo test
//!   --release -p ferrokeeper-tests --test crash_loop -- --nocapture` (the test runs the
//!   `ferrokeeper` binary of its own profile; 1,000 cycles took 13 minutes with a debug
//!   build on 2 cores, 300,000 writes).
//! - `FERROKEEPER_CRASH_SEED`: the seed of the random choices (settings, kill moments,
//!   data); printed at the start of every run so a failure's choices can be replayed
//!   (the interleaving of the writers with the kill is up to the scheduler).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ferrokeeper_tests::zkc::{init_client_log, persistent, within};
use ferrokeeper_tests::{read_log, scratch_dir, Launch, ServerProcess};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::sync::watch;
use zookeeper_client as zk;

/// CI default; see the module documentation for a soak value.
const DEFAULT_CYCLES: usize = 20;
/// Concurrent writers, each with its own client and session.
const WRITERS: usize = 6;
/// Znodes per writer (only that writer changes them).
const NODES_PER_WRITER: usize = 6;
/// Small znodes created before the first cycle beside the writers' ones, so that a
/// snapshot's walk takes several holds of the tree lock (2,000 nodes each) and the
/// writers change the tree in between: fuzzy snapshots under fire.
const BULK_NODES: usize = 3000;
/// Share of a writer's operations that delete its znode (with its version) and that
/// create a sequential znode (under one parent shared by all writers).
const DELETE_SHARE: f64 = 0.15;
const SEQUENTIAL_SHARE: f64 = 0.1;
/// Longest a cycle writes before the kill.
const MAX_KILL_DELAY_MS: u64 = 400;
/// Bound of one write; a write that takes longer is not acknowledged.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Clone, Debug, PartialEq, Eq)]
struct Value {
    data: Vec<u8>,
    version: i32,
}

/// What a znode must be after a restart.
#[derive(Clone, Debug, Default)]
struct Expected {
    /// What the last write the server acknowledged left (`None`: absent — never
    /// created, or deleted).
    acked: Option<Value>,
    /// What a write sent after it whose answer never came would leave (`Some(None)`
    /// for a delete): it may or may not have been applied.
    pending: Option<Option<Value>>,
}

type Model = Arc<Mutex<BTreeMap<String, Expected>>>;

/// How a writer's cycle ended.
#[derive(Debug, Default)]
struct WriterReport {
    acked: usize,
    /// A write the server refused although the model says it must succeed: a lost or
    /// duplicated write.
    violation: Option<String>,
    max_zxid: i64,
}

fn env_number(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    Some(
        value
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={value:?} is not a number")),
    )
}

/// The server settings of one cycle.
fn draw_settings(rng: &mut StdRng) -> Vec<String> {
    let mut args = vec!["--tick-time".to_owned(), "100".to_owned()];
    let mut set = |kv: String| {
        args.push("--set".to_owned());
        args.push(kv);
    };
    set(format!(
        "snapCount={}",
        [2, 10, 50, 100_000][rng.gen_range(0..4)]
    ));
    if rng.gen_bool(0.25) {
        set("forceSync=no".into());
    }
    set(format!(
        "preAllocSize={}",
        [16, 256, 4096][rng.gen_range(0..3)]
    ));
    if rng.gen_bool(0.75) {
        set("autopurge.purgeInterval=1".into());
        set("autopurge.snapRetainCount=3".into());
    }
    if rng.gen_bool(0.5) {
        set("ferrokeeper.snapshot.zstdLevel=3".into());
    }
    args
}

/// Data that names its writer, cycle and write, padded to a random length.
fn value_bytes(rng: &mut StdRng, writer: usize, cycle: usize, n: usize) -> Vec<u8> {
    let mut data = format!("writer {writer} cycle {cycle} write {n}|").into_bytes();
    let pad = rng.gen_range(0..2000);
    data.extend((0..pad).map(|i| b'a' + ((i + n) % 26) as u8));
    data
}

async fn connect_detached(addr: &str) -> Result<zk::Client, zk::Error> {
    init_client_log();
    zk::Client::connector()
        .with_session_timeout(Duration::from_millis(2000))
        .with_detached()
        .connect(addr)
        .await
}

/// Waits until the server is killed.
async fn killed(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|k| *k).await;
}

/// One writer's cycle: writes its znodes until the server dies.
async fn writer(
    addr: String,
    model: Model,
    index: usize,
    cycle: usize,
    seed: u64,
    kill: watch::Receiver<bool>,
) -> WriterReport {
    let mut report = WriterReport::default();
    let mut rng = StdRng::seed_from_u64(seed);
    let client = tokio::select! {
        client = tokio::time::timeout(WRITE_TIMEOUT, connect_detached(&addr)) => match client {
            Ok(Ok(client)) => client,
            _ => return report,
        },
        _ = killed(kill.clone()) => return report,
    };
    // Each session owns an ephemeral; all must go once the sessions expire (checked
    // at the end). Not part of the model.
    let ephemeral = zk::CreateMode::Ephemeral.with_acls(zk::Acls::anyone_all());
    let sequential = zk::CreateMode::PersistentSequential.with_acls(zk::Acls::anyone_all());
    let owned = format!("/sessions/c{cycle}-w{index}");
    tokio::select! {
        _ = tokio::time::timeout(WRITE_TIMEOUT, client.create(&owned, b"", &ephemeral)) => {}
        _ = killed(kill.clone()) => return report,
    }
    for n in 0.. {
        let data = value_bytes(&mut rng, index, cycle, n);
        let roll: f64 = rng.gen();
        if roll < SEQUENTIAL_SHARE {
            // A sequential create: its name is known only from the answer, so an
            // unanswered one is simply not in the model (it may or may not exist).
            let prefix = format!("/seq/w{index}-");
            let create = client.create(&prefix, &data, &sequential);
            let outcome = tokio::select! {
                outcome = tokio::time::timeout(WRITE_TIMEOUT, create) => outcome,
                _ = killed(kill.clone()) => return report,
            };
            match outcome {
                Ok(Ok((stat, seq))) => {
                    let path = format!("/seq/w{index}-{seq}");
                    let value = Value { data, version: 0 };
                    let old = model.lock().unwrap().insert(
                        path.clone(),
                        Expected {
                            acked: Some(value),
                            pending: None,
                        },
                    );
                    if old.is_some() {
                        report.violation = Some(format!("{path} was created twice"));
                        return report;
                    }
                    report.acked += 1;
                    report.max_zxid = report.max_zxid.max(stat.czxid);
                    continue;
                }
                Ok(Err(e @ (zk::Error::NodeExists | zk::Error::NoNode))) => {
                    report.violation = Some(format!("sequential create under /seq: {e}"));
                    return report;
                }
                Ok(Err(_)) | Err(_) => return report,
            }
        }
        let path = format!("/bulk/w{index}-{}", rng.gen_range(0..NODES_PER_WRITER));
        let current = {
            let mut model = model.lock().unwrap();
            let expected = model.entry(path.clone()).or_default();
            assert!(
                expected.pending.is_none(),
                "{path}: resolved before writing"
            );
            let current = expected.acked.clone();
            expected.pending = Some(match &current {
                Some(_) if roll < SEQUENTIAL_SHARE + DELETE_SHARE => None,
                Some(v) => Some(Value {
                    data: data.clone(),
                    version: v.version + 1,
                }),
                None => Some(Value {
                    data: data.clone(),
                    version: 0,
                }),
            });
            current
        };
        let deleting = current.is_some() && roll < SEQUENTIAL_SHARE + DELETE_SHARE;
        let write = async {
            match &current {
                None => client
                    .create(&path, &data, &persistent())
                    .await
                    .map(|(stat, _)| Some(stat)),
                Some(v) if deleting => client.delete(&path, Some(v.version)).await.map(|_| None),
                Some(v) => client
                    .set_data(&path, &data, Some(v.version))
                    .await
                    .map(Some),
            }
        };
        let outcome = tokio::select! {
            outcome = tokio::time::timeout(WRITE_TIMEOUT, write) => outcome,
            // The answer may be lost with the server: the write stays pending.
            _ = killed(kill.clone()) => return report,
        };
        match outcome {
            Ok(Ok(stat)) => {
                let mut model = model.lock().unwrap();
                let expected = model.get_mut(&path).unwrap();
                let value = expected.pending.take().unwrap();
                if let (Some(stat), Some(value)) = (stat, &value) {
                    if stat.version != value.version {
                        report.violation = Some(format!(
                            "{path}: acknowledged with version {}, expected {}",
                            stat.version, value.version
                        ));
                        return report;
                    }
                    report.max_zxid = report.max_zxid.max(stat.mzxid);
                }
                expected.acked = value;
                report.acked += 1;
            }
            // An answer that contradicts the model: a write was lost or applied twice.
            Ok(Err(e @ (zk::Error::NodeExists | zk::Error::BadVersion | zk::Error::NoNode))) => {
                report.violation = Some(format!(
                    "{path}: {e} for a {} the model says must succeed (expected {:?})",
                    if deleting { "delete" } else { "write" },
                    current.map(|v| v.version)
                ));
                return report;
            }
            // The server went away (connection loss, reset, timeout ...): not
            // acknowledged, and this writer's cycle is over.
            Ok(Err(_)) | Err(_) => return report,
        }
    }
    report
}

/// Outcome of checking the model against a restarted server.
#[derive(Debug, Default)]
struct Check {
    pending_applied: usize,
    pending_lost: usize,
    max_zxid: i64,
}

/// Every acknowledged write is there; each pending one is there or not (and the model
/// is updated to what is there).
async fn verify(client: &zk::Client, model: &Model, cycle: usize, seed: u64) -> Check {
    let mut check = Check::default();
    let paths: Vec<String> = model.lock().unwrap().keys().cloned().collect();
    // The client sends a request when it is made: a chunk of them is pipelined.
    let mut replies = Vec::new();
    for (i, path) in paths.iter().enumerate() {
        if i % 512 == 0 {
            replies = paths[i..paths.len().min(i + 512)]
                .iter()
                .map(|path| client.get_data(path))
                .collect::<Vec<_>>();
            replies.reverse();
        }
        let actual = within(replies.pop().unwrap()).await;
        let mut model = model.lock().unwrap();
        let expected = model.get_mut(path).unwrap();
        let actual = match actual {
            Ok((data, stat)) => {
                check.max_zxid = check.max_zxid.max(stat.czxid).max(stat.mzxid);
                Some(Value {
                    data,
                    version: stat.version,
                })
            }
            Err(zk::Error::NoNode) => None,
            Err(e) => panic!("cycle {cycle} (seed {seed}): reading {path}: {e}"),
        };
        let describe = |v: &Option<Value>| {
            v.as_ref().map(|v| {
                let prefix = v.data.split(|b| *b == b'|').next().unwrap_or_default();
                format!(
                    "version {} \"{}\"",
                    v.version,
                    String::from_utf8_lossy(prefix)
                )
            })
        };
        if actual == expected.acked {
            if expected.pending.take().is_some() {
                check.pending_lost += 1;
            }
        } else if expected.pending.as_ref() == Some(&actual) {
            expected.acked = expected.pending.take().unwrap();
            check.pending_applied += 1;
        } else {
            panic!(
                "cycle {cycle} (seed {seed}): {path} holds {:?}, but the last acknowledged \
                 write left {:?} (and the unacknowledged one {:?})",
                describe(&actual),
                describe(&expected.acked),
                expected.pending.as_ref().map(describe),
            );
        }
    }
    check
}

fn tail(log: &str, lines: usize) -> String {
    let all: Vec<&str> = log.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn start(dir: &Path, args: &[String], stderr: &Path, cycle: usize, seed: u64) -> ServerProcess {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Launch::new(dir)
        .args(&args)
        .stderr_to(stderr)
        .try_start()
        .unwrap_or_else(|failure| {
            panic!(
                "cycle {cycle} (seed {seed}): the server did not restart ({:?}):\n{}",
                failure.status,
                tail(&failure.stderr, 40)
            )
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_writes_survive_kill_9_at_random_moments() {
    let cycles = env_number("FERROKEEPER_CRASH_CYCLES").map_or(DEFAULT_CYCLES, |n| n as usize);
    let seed = env_number("FERROKEEPER_CRASH_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64
    });
    // Printed (and kept by the test harness for a failing test) so a failure's random
    // choices can be replayed with FERROKEEPER_CRASH_SEED.
    println!("crash loop: {cycles} cycles, FERROKEEPER_CRASH_SEED={seed}");
    eprintln!("crash loop: {cycles} cycles, FERROKEEPER_CRASH_SEED={seed}");
    let mut rng = StdRng::seed_from_u64(seed);
    let dir = scratch_dir("crash-loop");
    let stderr = dir.with_extension("stderr");
    let _ = std::fs::remove_file(&stderr);
    let model: Model = Arc::default();
    let mut max_zxid = 0i64;
    let started = Instant::now();
    let mut total_acked = 0;
    let (mut total_applied, mut total_lost) = (0, 0);

    for cycle in 0..=cycles {
        let args = draw_settings(&mut rng);
        let mut server = start(&dir, &args, &stderr, cycle, seed);
        let addr = server.connect_string();
        let checker = within(connect_detached(&addr))
            .await
            .unwrap_or_else(|e| panic!("cycle {cycle} (seed {seed}): connect: {e}"));
        let check = verify(&checker, &model, cycle, seed).await;
        total_applied += check.pending_applied;
        total_lost += check.pending_lost;
        max_zxid = max_zxid.max(check.max_zxid);

        if cycle == 0 {
            for parent in ["/bulk", "/seq", "/sessions"] {
                within(checker.create(parent, b"", &persistent()))
                    .await
                    .unwrap();
            }
            for chunk in (0..BULK_NODES).collect::<Vec<_>>().chunks(500) {
                let mut multi = checker.new_multi_writer();
                for i in chunk {
                    multi
                        .add_create(&format!("/bulk/f{i}"), b"", &persistent())
                        .unwrap();
                }
                within(multi.commit()).await.unwrap();
            }
        } else {
            let bulk = within(checker.list_children("/bulk")).await.unwrap();
            let filler = bulk.iter().filter(|c| c.starts_with('f')).count();
            assert_eq!(filler, BULK_NODES, "cycle {cycle} (seed {seed}): /bulk");
        }

        // Zxids and the sequential counter go on above everything used before the
        // kill (acknowledged or not).
        let existing = within(checker.list_children("/seq")).await.unwrap();
        let max_suffix = existing
            .iter()
            .map(|name| name[name.len() - 10..].parse::<i64>().unwrap())
            .max()
            .unwrap_or(-1);
        let sequential = zk::CreateMode::PersistentSequential.with_acls(zk::Acls::anyone_all());
        let (stat, suffix) = within(checker.create("/seq/cycle-", b"", &sequential))
            .await
            .unwrap_or_else(|e| panic!("cycle {cycle} (seed {seed}): /seq/cycle-: {e}"));
        assert!(
            stat.czxid > max_zxid,
            "cycle {cycle} (seed {seed}): zxid {:#x} after a restart does not exceed {max_zxid:#x}",
            stat.czxid
        );
        assert!(
            suffix.into_i64() > max_suffix,
            "cycle {cycle} (seed {seed}): sequential suffix {suffix} after a restart does not \
             exceed {max_suffix}"
        );
        max_zxid = stat.czxid;
        model.lock().unwrap().insert(
            format!("/seq/cycle-{suffix}"),
            Expected {
                acked: Some(Value {
                    data: Vec::new(),
                    version: 0,
                }),
                pending: None,
            },
        );
        if cycle == cycles {
            // The last round only checks what the previous ones left: the writers'
            // sessions, restored at every restart, expire (2 s after this one) and
            // take their ephemerals with them.
            let expired = async {
                loop {
                    let left = within(checker.list_children("/sessions")).await.unwrap();
                    if left.is_empty() {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            };
            if tokio::time::timeout(Duration::from_secs(15), expired)
                .await
                .is_err()
            {
                let left = within(checker.list_children("/sessions")).await.unwrap();
                panic!("ephemerals of dead sessions never went (seed {seed}): {left:?}");
            }
            let status = server.terminate().expect("the server stops on SIGTERM");
            assert!(status.success(), "SIGTERM exit status: {status:?}");
            break;
        }

        let (kill_tx, kill_rx) = watch::channel(false);
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                tokio::spawn(writer(
                    addr.clone(),
                    model.clone(),
                    w,
                    cycle,
                    rng.gen(),
                    kill_rx.clone(),
                ))
            })
            .collect();
        // Sometimes right away (clients still connecting), mostly mid-write.
        let delay = if rng.gen_bool(0.1) {
            0
        } else {
            rng.gen_range(20..MAX_KILL_DELAY_MS)
        };
        tokio::time::sleep(Duration::from_millis(delay)).await;
        server.kill();
        let _ = kill_tx.send(true);
        let mut acked = 0;
        for (w, handle) in writers.into_iter().enumerate() {
            let report = tokio::time::timeout(Duration::from_secs(10), handle)
                .await
                .unwrap_or_else(|_| panic!("cycle {cycle}: writer {w} did not stop"))
                .expect("writer task");
            if let Some(violation) = report.violation {
                panic!(
                    "cycle {cycle} (seed {seed}), writer {w}: {violation}\nserver log:\n{}",
                    tail(&read_log(&stderr), 40)
                );
            }
            acked += report.acked;
            max_zxid = max_zxid.max(report.max_zxid);
        }
        total_acked += acked;
        drop(checker);
        eprintln!(
            "cycle {cycle:3}: {args:?}; killed after {delay} ms; {acked} writes acknowledged; \
             after restart: {} unacknowledged applied, {} not; max zxid {max_zxid:#x}",
            check.pending_applied, check.pending_lost,
        );
    }
    eprintln!(
        "crash loop: {cycles} cycles in {:?}: {total_acked} acknowledged writes, all kept; \
         {total_applied} unacknowledged writes found applied, {total_lost} not",
        started.elapsed()
    );
    assert!(
        total_acked > 0,
        "the writers never got a write through (seed {seed})"
    );
    let log = read_log(&stderr);
    let repairs = log.lines().filter(|l| l.contains("log repaired")).count();
    eprintln!("crash loop: {repairs} torn-tail repairs logged");
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_file(&stderr);
}
