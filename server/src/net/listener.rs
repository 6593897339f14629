//! Accepts client connections and gives each its own task.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::BytesMut;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};

use super::{connection, four_letter};
use crate::shared::Shared;

/// Watches of a closed connection unlinked per hold of the watch lock.
const WATCH_UNLINK_BATCH: usize = 10_000;

pub async fn run(shared: Arc<Shared>, listener: TcpListener) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let _ = stream.set_nodelay(true);
                tokio::spawn(handle(shared.clone(), stream, peer));
            }
            Err(e) => {
                // Typically EMFILE: back off instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
}

async fn handle(shared: Arc<Shared>, stream: TcpStream, peer: SocketAddr) {
    // maxClientCnxns, checked at accept as ZooKeeper does (four-letter words count).
    if !shared.admit_connection(peer.ip()) {
        // ZooKeeper's "Too many connections from /ip - max is n", with the values as
        // fields (the same names in the text and JSON logs).
        tracing::warn!(
            peer = %peer,
            max_client_cnxns = shared.config.max_client_cnxns,
            "Too many connections from one address; connection refused"
        );
        return;
    }
    let conn = serve(&shared, stream, peer).await;
    shared.release_connection(peer.ip(), conn.as_deref());
}

/// Serves one admitted connection; the client connection, if it became one.
async fn serve(
    shared: &Arc<Shared>,
    stream: TcpStream,
    peer: SocketAddr,
) -> Option<Arc<super::conn::Conn>> {
    let (mut reader, writer) = stream.into_split();
    let mut buf = BytesMut::with_capacity(16 * 1024);
    // The first four bytes are a frame length — or a four-letter word.
    let first_bytes = async {
        while buf.len() < 4 {
            match reader.read_buf(&mut buf).await {
                Ok(0) | Err(_) => return false,
                Ok(_) => {}
            }
        }
        true
    };
    match tokio::time::timeout(connection::HANDSHAKE_TIMEOUT, first_bytes).await {
        Ok(true) => {}
        Ok(false) => return None,
        Err(_) => {
            tracing::info!(peer = %peer, "closing connection: nothing received within {:?}", connection::HANDSHAKE_TIMEOUT);
            return None;
        }
    }
    if let Some(command) = four_letter::command(&buf[..4]) {
        four_letter::answer(shared, command, peer, writer).await;
        return None;
    }
    let conn = shared.conns.register(peer);
    tracing::debug!(peer = %peer, id = conn.id, "connection accepted");
    let writer_task = {
        let conn = conn.clone();
        tokio::spawn(async move { conn.out.write_loop(writer).await })
    };
    let outcome = connection::serve(shared, &conn, &mut reader, &mut buf).await;
    match &outcome {
        Ok(()) => tracing::debug!(peer = %peer, "connection closed"),
        Err(reason) => tracing::info!(peer = %peer, reason, "closing connection"),
    }
    shared.conns.unregister(conn.id);
    let mut gone = shared.watches.lock().disown(conn.id);
    while shared
        .watches
        .lock()
        .forget_some(&mut gone, WATCH_UNLINK_BATCH)
    {
        tokio::task::yield_now().await;
    }
    shared.conns.detach(conn.session_id(), &conn);
    if outcome.is_err() {
        conn.out.close_now();
    } else {
        conn.out.close_after_flush();
    }
    let _ = writer_task.await;
    Some(conn)
}
