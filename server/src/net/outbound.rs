//! A connection's outbound byte queue. Replies and notifications are appended by
//! whoever produces them (the connection task, the pipeline); one writer task flushes
//! everything queued with one vectored write, so many frames cost one syscall. Large
//! znode data is queued by reference, never copied.

use std::io::IoSlice;
use std::net::SocketAddr;

use bytes::{Buf, Bytes, BytesMut};
use parking_lot::Mutex;
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::Notify;

/// Above this many queued bytes the connection stops reading requests.
pub const SOFT_LIMIT: usize = 4 << 20;
/// Above this many queued bytes (a client that does not read its notifications)
/// the connection is closed.
pub const HARD_LIMIT: usize = 64 << 20;

/// How long a closing connection may take to flush what is queued. A client that
/// stops reading (and keeps its socket open) would otherwise hold the writer task, the
/// socket and the queue forever.
pub const FLUSH_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// Data at least this large is queued by reference instead of copied.
const SHARE_MIN: usize = 16 * 1024;

#[derive(Default)]
struct State {
    /// Queued bytes before `buf`, in order: copied runs and shared data.
    chunks: Vec<Bytes>,
    chunked_len: usize,
    buf: BytesMut,
    /// Flush what is queued, then close.
    closing: bool,
    /// Drop what is queued and close now.
    closed: bool,
}

pub struct Outbound {
    /// The client, for log lines.
    peer: SocketAddr,
    state: Mutex<State>,
    wake: Notify,
    drained: Notify,
    /// Wakes a writer blocked in a socket write when the connection starts closing.
    stop: Notify,
}

impl Outbound {
    pub fn new(peer: SocketAddr) -> Self {
        Outbound {
            peer,
            state: Mutex::default(),
            wake: Notify::new(),
            drained: Notify::new(),
            stop: Notify::new(),
        }
    }

    /// Appends frames written by `write`; false if the connection is closing.
    pub fn send(&self, write: impl FnOnce(&mut BytesMut)) -> bool {
        self.send_parts(|sink| write(&mut sink.state.buf))
    }

    /// Appends frames that may include shared data (see [`Sink::put_shared`]).
    pub fn send_parts(&self, write: impl FnOnce(&mut Sink)) -> bool {
        let mut state = self.state.lock();
        if state.closing || state.closed {
            return false;
        }
        write(&mut Sink { state: &mut state });
        let queued = state.chunked_len + state.buf.len();
        let overflowing = queued > HARD_LIMIT;
        if overflowing {
            tracing::warn!(
                peer = %self.peer,
                queued,
                "closing connection: client is not reading its replies and notifications"
            );
            state.closed = true;
        }
        drop(state);
        self.wake.notify_one();
        if overflowing {
            // The writer is likely blocked on the full socket: wake it to stop, and
            // the reader (see `closed`).
            self.stop.notify_waiters();
        }
        true
    }

    /// Sends `write`'s frames, then closes the connection once they are flushed.
    pub fn send_and_close(&self, write: impl FnOnce(&mut BytesMut)) {
        self.send(write);
        self.close_after_flush();
    }

    pub fn close_after_flush(&self) {
        self.state.lock().closing = true;
        self.wake.notify_one();
        self.stop.notify_waiters();
    }

    pub fn close_now(&self) {
        self.state.lock().closed = true;
        self.wake.notify_one();
        self.stop.notify_waiters();
    }

    /// Resolves once the connection is closing or closed, for whoever waits on the
    /// client meanwhile (the reader).
    pub async fn closed(&self) {
        loop {
            let stop = self.stop.notified();
            tokio::pin!(stop);
            stop.as_mut().enable();
            if self.is_closing() {
                return;
            }
            stop.await;
        }
    }

    pub fn is_closing(&self) -> bool {
        let state = self.state.lock();
        state.closing || state.closed
    }

    pub fn queued_bytes(&self) -> usize {
        let state = self.state.lock();
        state.chunked_len + state.buf.len()
    }

    /// Waits until the queue is below [`SOFT_LIMIT`] (back-pressure on reading).
    pub async fn wait_below_soft_limit(&self) {
        loop {
            let drained = self.drained.notified();
            tokio::pin!(drained);
            drained.as_mut().enable();
            let below = {
                let state = self.state.lock();
                state.chunked_len + state.buf.len() <= SOFT_LIMIT || state.closed || state.closing
            };
            if below {
                return;
            }
            drained.await;
        }
    }

    /// Waits until everything handed to the pipeline so far has been answered.
    pub async fn wait_for(&self, mut done: impl FnMut() -> bool) {
        loop {
            let drained = self.drained.notified();
            tokio::pin!(drained);
            drained.as_mut().enable();
            if done() || self.is_closing() {
                return;
            }
            drained.await;
        }
    }

    /// Wakes [`Self::wait_for`] callers after progress that queued nothing.
    pub fn notify_progress(&self) {
        self.drained.notify_waiters();
    }

    /// The writer task: flushes the queue until the connection closes.
    pub async fn write_loop(&self, mut socket: OwnedWriteHalf) {
        // Set once the connection is closing: the flush must be done by then.
        let mut flush_deadline = None;
        loop {
            let (mut parts, closing, closed) = {
                let mut state = self.state.lock();
                let mut parts = std::mem::take(&mut state.chunks);
                state.chunked_len = 0;
                if !state.buf.is_empty() {
                    parts.push(state.buf.split().freeze());
                }
                (parts, state.closing, state.closed)
            };
            if closed {
                break;
            }
            if parts.is_empty() {
                self.drained.notify_waiters();
                if closing {
                    break;
                }
                self.wake.notified().await;
                continue;
            }
            let write = write_all_vectored(&mut socket, &mut parts);
            tokio::pin!(write);
            let written = loop {
                let stop = self.stop.notified();
                tokio::pin!(stop);
                stop.as_mut().enable();
                let (closing, closed) = {
                    let state = self.state.lock();
                    (state.closing, state.closed)
                };
                if closed {
                    break Ok(false);
                }
                let deadline = closing.then(|| {
                    *flush_deadline.get_or_insert_with(|| tokio::time::Instant::now() + FLUSH_GRACE)
                });
                tokio::select! {
                    result = &mut write => break result.map(|()| true),
                    () = &mut stop => {}
                    () = sleep_until_some(deadline) => {
                        tracing::info!("closing connection: client did not read what was left within {FLUSH_GRACE:?}");
                        break Ok(false);
                    }
                }
            };
            match written {
                Ok(true) => {}
                Ok(false) => {
                    self.close_now();
                    break;
                }
                Err(e) => {
                    tracing::debug!(error = %e, "write failed; closing connection");
                    self.close_now();
                    break;
                }
            }
            self.drained.notify_waiters();
        }
        let _ = socket.shutdown().await;
        self.drained.notify_waiters();
    }
}

/// Sleeps until `deadline`, or forever without one.
async fn sleep_until_some(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// Where [`Outbound::send_parts`] writes: copied bytes, or shared data.
pub struct Sink<'a> {
    state: &'a mut State,
}

impl Sink<'_> {
    pub fn buf(&mut self) -> &mut BytesMut {
        &mut self.state.buf
    }

    /// Appends `data` after what is written so far, by reference when it is large.
    pub fn put_shared(&mut self, data: &Bytes) {
        if data.len() < SHARE_MIN {
            self.state.buf.extend_from_slice(data);
            return;
        }
        if !self.state.buf.is_empty() {
            let copied = self.state.buf.split().freeze();
            self.state.chunked_len += copied.len();
            self.state.chunks.push(copied);
        }
        self.state.chunked_len += data.len();
        self.state.chunks.push(data.clone());
    }
}

/// Writes every part, as few syscalls as the socket allows.
async fn write_all_vectored(
    socket: &mut OwnedWriteHalf,
    parts: &mut [Bytes],
) -> std::io::Result<()> {
    const MAX_SLICES: usize = 64;
    let mut first = 0;
    while first < parts.len() {
        let slices: Vec<IoSlice> = parts[first..]
            .iter()
            .take(MAX_SLICES)
            .map(|part| IoSlice::new(part))
            .collect();
        let mut written = socket.write_vectored(&slices).await?;
        if written == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        while written > 0 {
            let part = &mut parts[first];
            if written >= part.len() {
                written -= part.len();
                first += 1;
            } else {
                part.advance(written);
                written = 0;
            }
        }
    }
    Ok(())
}
