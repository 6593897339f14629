//! A connection's outbound byte queue. Replies and notifications are appended by
//! whoever produces them (the connection task, the pipeline); one writer task flushes
//! everything queued with one write, so many frames cost one syscall.

use bytes::BytesMut;
use parking_lot::Mutex;
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::Notify;

/// Above this many queued bytes the connection stops reading requests.
pub const SOFT_LIMIT: usize = 4 << 20;
/// Above this many queued bytes (a client that does not read its notifications)
/// the connection is closed.
pub const HARD_LIMIT: usize = 64 << 20;

#[derive(Default)]
struct State {
    buf: BytesMut,
    /// Flush what is queued, then close.
    closing: bool,
    /// Drop what is queued and close now.
    closed: bool,
}

#[derive(Default)]
pub struct Outbound {
    state: Mutex<State>,
    wake: Notify,
    drained: Notify,
}

impl Outbound {
    /// Appends frames written by `write`; false if the connection is closing.
    pub fn send(&self, write: impl FnOnce(&mut BytesMut)) -> bool {
        let mut state = self.state.lock();
        if state.closing || state.closed {
            return false;
        }
        write(&mut state.buf);
        if state.buf.len() > HARD_LIMIT {
            tracing::warn!(
                queued = state.buf.len(),
                "closing connection: client is not reading its replies"
            );
            state.closed = true;
        }
        drop(state);
        self.wake.notify_one();
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
    }

    pub fn close_now(&self) {
        self.state.lock().closed = true;
        self.wake.notify_one();
    }

    pub fn is_closing(&self) -> bool {
        let state = self.state.lock();
        state.closing || state.closed
    }

    pub fn queued_bytes(&self) -> usize {
        self.state.lock().buf.len()
    }

    /// Waits until the queue is below [`SOFT_LIMIT`] (back-pressure on reading).
    pub async fn wait_below_soft_limit(&self) {
        loop {
            let drained = self.drained.notified();
            tokio::pin!(drained);
            drained.as_mut().enable();
            let below = {
                let state = self.state.lock();
                state.buf.len() <= SOFT_LIMIT || state.closed || state.closing
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
        loop {
            let (chunk, closing, closed) = {
                let mut state = self.state.lock();
                (state.buf.split(), state.closing, state.closed)
            };
            if closed {
                break;
            }
            if chunk.is_empty() {
                self.drained.notify_waiters();
                if closing {
                    break;
                }
                self.wake.notified().await;
                continue;
            }
            if let Err(e) = socket.write_all(&chunk).await {
                tracing::debug!(error = %e, "write failed; closing connection");
                self.close_now();
                break;
            }
            self.drained.notify_waiters();
        }
        let _ = socket.shutdown().await;
        self.drained.notify_waiters();
    }
}
