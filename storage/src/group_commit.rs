//! Group commit (a write barrier): many producers submit entries, one fsync covers
//! them all.
//!
//! A dedicated thread owns the [`Log`] (file I/O blocks, so it stays off the async
//! runtime). Producers send submissions over a channel and get a [`Commit`] back, a
//! future (or, off the runtime, [`Commit::wait`]) that resolves once their entries are
//! durable. The thread takes the first submission, then everything already queued —
//! up to [`GroupCommitOptions::max_batch_entries`] entries and
//! [`GroupCommitOptions::max_batch_bytes`] bytes, waiting at most
//! [`GroupCommitOptions::max_delay`] for more — appends it all, syncs once, and
//! answers every submission of the batch. Submissions that arrive while an fsync is in
//! flight therefore share the next one.
//!
//! Order: submissions are logged in the order they were sent. A submission is
//! appended all-or-nothing; one whose zxids do not follow the log fails alone.
//!
//! Failure: when a batch's sync fails, every submission of that batch gets the error
//! and the committer **halts**: every later submission fails with [`Error::Halted`]
//! until the producer calls [`GroupCommit::resume`]. Submissions already queued were
//! prepared assuming the failed ones would succeed (ZooKeeper's pipeline validates a
//! write against the writes before it), so they must not slip into the log after a gap.
//! After a failed batch the log's last zxid is back to the durable one (see
//! [`crate::log`]); `resume` returns it so the producer can renumber.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, TryRecvError};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::thread::JoinHandle;
use std::time::Instant;

use tokio::sync::oneshot;

use crate::error::{Error, Result};
use crate::log::{Entry, Log, LogReader};
use crate::options::GroupCommitOptions;
use crate::zxid::Zxid;

/// A running group committer; see the module docs.
#[derive(Debug)]
pub struct GroupCommit {
    tx: Option<mpsc::Sender<Msg>>,
    thread: Option<JoinHandle<Log>>,
    shared: Arc<Shared>,
    reader: LogReader,
}

/// Counters, for metrics and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GroupCommitStats {
    /// Batches written, each under one sync (failed ones included).
    pub batches: u64,
    /// Entries in those batches.
    pub entries: u64,
}

#[derive(Debug, Default)]
struct Shared {
    durable: AtomicI64,
    batches: AtomicU64,
    entries: AtomicU64,
}

type Reply = oneshot::Sender<Result<Zxid>>;

#[derive(Debug)]
enum Msg {
    Commit { entries: Vec<Entry>, done: Reply },
    Resume { done: Reply },
    Roll { done: Reply },
    TruncateAfter { key: Zxid, done: Reply },
    PurgeThrough { key: Zxid, done: Reply },
}

/// Resolves to the durable zxid once a submission (or request) has been handled.
#[derive(Debug)]
#[must_use = "a commit is only known durable once awaited"]
pub struct Commit {
    rx: oneshot::Receiver<Result<Zxid>>,
}

impl Commit {
    /// Blocks until done. Must not be called on an async runtime thread (it panics
    /// there, as `tokio`'s `blocking_recv` does): await the `Commit` instead.
    pub fn wait(self) -> Result<Zxid> {
        self.rx.blocking_recv().unwrap_or(Err(Error::Closed))
    }
}

impl Future for Commit {
    type Output = Result<Zxid>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.rx)
            .poll(cx)
            .map(|r| r.unwrap_or(Err(Error::Closed)))
    }
}

impl GroupCommit {
    /// Moves `log` to a writer thread.
    pub fn start(log: Log, opts: GroupCommitOptions) -> Result<GroupCommit> {
        let (tx, rx) = mpsc::channel();
        let shared = Arc::new(Shared::default());
        shared.durable.store(log.durable_zxid(), Ordering::SeqCst);
        let reader = log.reader();
        let writer = Writer {
            log,
            opts,
            rx,
            shared: shared.clone(),
            halted: None,
        };
        let dir = writer.log.dir().to_owned();
        let thread = std::thread::Builder::new()
            .name("ferrokeeper-log".into())
            .spawn(move || writer.run())
            .map_err(|e| Error::io("spawn log writer for", dir, e))?;
        Ok(GroupCommit {
            tx: Some(tx),
            thread: Some(thread),
            shared,
            reader,
        })
    }

    /// Submits entries; the returned [`Commit`] resolves once they are durable (or
    /// failed). An empty submission resolves once everything before it is durable.
    pub fn submit(&self, entries: Vec<Entry>) -> Commit {
        self.send(|done| Msg::Commit { entries, done })
    }

    /// Lifts the halt after a failed batch. Resolves to the durable zxid (the next
    /// zxid must exceed it), or to [`Error::Poisoned`] if the log could not repair
    /// itself — then the committer stays halted and the log must be reopened.
    pub fn resume(&self) -> Commit {
        self.send(|done| Msg::Resume { done })
    }

    /// Rolls the log to a new segment after the submissions sent before this.
    pub fn roll(&self) -> Commit {
        self.send(|done| Msg::Roll { done })
    }

    /// [`Log::truncate_after`] after the submissions sent before this; resolves to the
    /// last key kept.
    pub fn truncate_after(&self, key: Zxid) -> Commit {
        self.send(|done| Msg::TruncateAfter { key, done })
    }

    /// [`Log::purge_through`] after the submissions sent before this; resolves to the
    /// durable zxid.
    pub fn purge_through(&self, key: Zxid) -> Commit {
        self.send(|done| Msg::PurgeThrough { key, done })
    }

    /// A reader of the log's durable records ([`Log::reader`]).
    pub fn reader(&self) -> &LogReader {
        &self.reader
    }

    /// The last zxid known durable.
    pub fn durable_zxid(&self) -> Zxid {
        self.shared.durable.load(Ordering::SeqCst)
    }

    pub fn stats(&self) -> GroupCommitStats {
        GroupCommitStats {
            batches: self.shared.batches.load(Ordering::SeqCst),
            entries: self.shared.entries.load(Ordering::SeqCst),
        }
    }

    /// Finishes the submissions already sent, stops the thread and returns the log.
    pub fn shutdown(mut self) -> Result<Log> {
        self.stop().ok_or(Error::Closed)
    }

    fn send(&self, msg: impl FnOnce(Reply) -> Msg) -> Commit {
        let (done, rx) = oneshot::channel();
        if let Some(tx) = &self.tx {
            // If the thread is gone the reply sender is dropped: the Commit says Closed.
            let _ = tx.send(msg(done));
        }
        Commit { rx }
    }

    fn stop(&mut self) -> Option<Log> {
        drop(self.tx.take());
        self.thread.take().and_then(|t| t.join().ok())
    }
}

impl Drop for GroupCommit {
    /// Blocks until the submissions already sent are written, like `shutdown`.
    fn drop(&mut self) {
        self.stop();
    }
}

struct Writer {
    log: Log,
    opts: GroupCommitOptions,
    rx: mpsc::Receiver<Msg>,
    shared: Arc<Shared>,
    /// Set by a failed batch, cleared by `resume`.
    halted: Option<Arc<Error>>,
}

/// The submissions of the batch being gathered.
#[derive(Default)]
struct Batch {
    waiters: Vec<Reply>,
    entries: usize,
    bytes: usize,
}

impl Writer {
    fn run(mut self) -> Log {
        let mut next = None;
        loop {
            let msg = match next.take() {
                Some(msg) => msg,
                None => match self.rx.recv() {
                    Ok(msg) => msg,
                    Err(_) => break,
                },
            };
            match msg {
                Msg::Commit { entries, done } => next = self.batch(entries, done),
                Msg::Resume { done } => {
                    let result = match (&self.halted, self.log.poisoned()) {
                        (None, _) => Ok(self.log.durable_zxid()),
                        // A poisoned log refuses everything: this returns Poisoned.
                        (Some(_), Some(_)) => self.log.sync(),
                        (Some(_), None) => {
                            self.halted = None;
                            Ok(self.log.durable_zxid())
                        }
                    };
                    let _ = done.send(result);
                }
                Msg::Roll { done } => {
                    let result = self.log.roll().map(|()| self.log.durable_zxid());
                    let _ = done.send(result);
                }
                Msg::TruncateAfter { key, done } => {
                    let result = self.log.truncate_after(key);
                    self.shared
                        .durable
                        .store(self.log.durable_zxid(), Ordering::SeqCst);
                    let _ = done.send(result);
                }
                Msg::PurgeThrough { key, done } => {
                    let result = self.log.purge_through(key).map(|_| self.log.durable_zxid());
                    let _ = done.send(result);
                }
            }
        }
        self.log
    }

    /// Gathers a batch starting with one submission, writes it under one sync, and
    /// answers it. Returns a non-commit message that ended the gathering, if any.
    fn batch(&mut self, entries: Vec<Entry>, done: Reply) -> Option<Msg> {
        let mut batch = Batch::default();
        self.add(&mut batch, entries, done);
        let deadline = Instant::now() + self.opts.max_delay;
        let mut leftover = None;
        while batch.entries < self.opts.max_batch_entries && batch.bytes < self.opts.max_batch_bytes
        {
            let msg = if self.opts.max_delay.is_zero() {
                match self.rx.try_recv() {
                    Ok(msg) => msg,
                    Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
                }
            } else {
                let wait = deadline.saturating_duration_since(Instant::now());
                match self.rx.recv_timeout(wait) {
                    Ok(msg) => msg,
                    Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => break,
                }
            };
            match msg {
                Msg::Commit { entries, done } => self.add(&mut batch, entries, done),
                other => {
                    leftover = Some(other);
                    break;
                }
            }
        }
        if !batch.waiters.is_empty() {
            self.commit(batch);
        }
        leftover
    }

    fn add(&mut self, batch: &mut Batch, entries: Vec<Entry>, done: Reply) {
        if let Some(cause) = &self.halted {
            let _ = done.send(Err(Error::Halted {
                cause: cause.clone(),
            }));
            return;
        }
        match self.log.append(&entries) {
            Ok(()) => {
                batch.entries += entries.len();
                batch.bytes += entries.iter().map(|e| e.payload.len()).sum::<usize>();
                batch.waiters.push(done);
            }
            Err(e) => {
                let _ = done.send(Err(e));
            }
        }
    }

    fn commit(&mut self, batch: Batch) {
        let result = self.log.sync();
        self.shared.batches.fetch_add(1, Ordering::SeqCst);
        self.shared
            .entries
            .fetch_add(batch.entries as u64, Ordering::SeqCst);
        match &result {
            Ok(zxid) => self.shared.durable.store(*zxid, Ordering::SeqCst),
            Err(e) => self.halted = Some(Arc::new(e.clone())),
        }
        for done in batch.waiters {
            let _ = done.send(result.clone());
        }
    }
}
