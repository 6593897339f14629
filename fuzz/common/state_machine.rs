//! The `state_machine` target: steps of writes and reads from three sessions, each
//! with a connection, over a small namespace. Writes are prepared in batches against
//! the tree plus what the batch already changed (`PrepContext` + `Pending`, as the
//! pipeline does), applied (`Applier`), and their events trigger the watch tables as
//! the pipeline delivers them; reads run through the server's own read path
//! (`ops::read::execute`), which registers, checks and removes watches. A closed
//! session's connection goes, and so do its watches, unlinked in batches as the
//! listener does; a connection may also drop and its session reconnect with
//! setWatches. After every step the tree's invariants hold and the watch tables hold
//! exactly what [`WatchModel`] says the connections registered.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;

use ferrokeeper::auth::AuthIds;
use ferrokeeper::net::conn::Conn;
use ferrokeeper::pipeline::pending::Pending;
use ferrokeeper::pipeline::prep::PrepContext;
use ferrokeeper::shared::Shared;
use ferrokeeper::state_machine::apply::Applier;
use ferrokeeper::state_machine::tree::{DataTree, Node};
use ferrokeeper::state_machine::SessionTable;
use ferrokeeper::state_machine::{Txn, TxnOp};
use ferrokeeper::Config;
use ferrokeeper_protocol::records::SetWatches2;
use ferrokeeper_protocol::request::Request;
use ferrokeeper_protocol::{AddWatchMode, WatcherType};

use super::requests::Input;
use super::tree_invariants::check_invariants;
use super::watch_model::{Mode, Table, WatchModel};

/// Sessions the requests come from (0 is the server itself).
const SESSIONS: [i64; 3] = [0x100, 0x200, 0x300];

pub fn state_machine(data: &[u8]) {
    let mut input = Input(data);
    let mut server = Server::start();
    let mut step = 0;
    while !input.is_empty() && step < 64 {
        step += 1;
        match input.byte() % 8 {
            0..=2 => server.reads(&mut input),
            3 => {
                let slot = usize::from(input.byte() % 3);
                server.reconnect(slot, &mut input);
            }
            _ => server.writes(&mut input),
        }
        check_invariants(&server.shared.tree.read(), step);
        server.model.check(&server.shared.watches.lock(), step);
    }
}

/// The server's shared state, a connection per session, and the watch model.
struct Server {
    shared: Shared,
    conns: [Arc<Conn>; 3],
    model: WatchModel,
    zxid: i64,
}

impl Server {
    fn start() -> Self {
        // The pipeline is driven in process; nothing reads this channel.
        let (work, _) = tokio::sync::mpsc::channel(1);
        let shared = Shared::new(
            Config::default(),
            DataTree::new(),
            SessionTable::default(),
            work,
            0,
        );
        let conns = [0, 1, 2].map(|slot| connect(&shared, slot));
        Server {
            shared,
            conns,
            model: WatchModel::default(),
            zxid: 0,
        }
    }

    /// A batch of writes: prepared, applied, its events delivered; the connections
    /// of sessions it closed are then closed.
    fn writes(&mut self, input: &mut Input) {
        let auth = AuthIds::default();
        let mut tree = self.shared.tree.write();
        let mut pending = Pending::default();
        let mut txns = Vec::new();
        for _ in 0..1 + input.byte() % 4 {
            self.zxid += 1;
            let session_id = SESSIONS[usize::from(input.byte() % 3)];
            let mut cx = PrepContext {
                tree: &tree,
                pending: &mut pending,
                zxid: self.zxid,
                session_id,
                auth: &auth,
                extended_types: true,
            };
            let op = if input.byte().is_multiple_of(16) {
                cx.close_session(session_id)
            } else {
                cx.prepare(&input.write())
            };
            assert!(
                !matches!(op, TxnOp::CreateSession { .. }),
                "requests never create sessions"
            );
            txns.push(Txn {
                zxid: self.zxid,
                time: self.zxid,
                session_id,
                op,
            });
        }
        let mut applier = Applier {
            tree: &mut tree,
            sessions: &self.shared.sessions,
            events: Vec::new(),
        };
        for txn in &txns {
            applier.apply(txn);
        }
        let events = applier.events;
        drop(tree);
        for event in &events {
            let fired: BTreeSet<u64> = self
                .shared
                .watches
                .lock()
                .trigger(&event.path, event.kind)
                .into_iter()
                .collect();
            let expected = self.model.trigger(&event.path, event.kind);
            assert_eq!(fired, expected, "{:?} on {}", event.kind, event.path);
        }
        for txn in &txns {
            if matches!(txn.op, TxnOp::CloseSession { .. }) {
                let slot = SESSIONS.iter().position(|&s| s == txn.session_id).unwrap();
                let batch = 1 + usize::from(input.byte() % 4);
                self.disconnect(slot, batch);
                self.conns[slot] = connect(&self.shared, slot);
            }
        }
    }

    /// Up to four reads, each from one of the connections.
    fn reads(&mut self, input: &mut Input) {
        for xid in 0..1 + i32::from(input.byte() % 4) {
            let conn = self.conns[usize::from(input.byte() % 3)].clone();
            let request = input.read();
            self.read(&conn, xid, &request);
        }
    }

    /// Runs one read on the server's read path, and registers in the model what it
    /// should register.
    fn read(&mut self, conn: &Conn, xid: i32, request: &Request) {
        let tree = self.shared.tree.read();
        let exists = |path: &str| tree.get(path).is_some();
        let model = &mut self.model;
        match request {
            // An exists watch waits for creation too; a path with NUL is refused.
            Request::Exists(r) if r.watch && !r.path.contains('\0') => {
                model.add_one_shot(Table::Data, &r.path, conn.id)
            }
            Request::GetData(r) if r.watch && exists(&r.path) => {
                model.add_one_shot(Table::Data, &r.path, conn.id)
            }
            Request::GetChildren(r) | Request::GetChildren2(r) if r.watch && exists(&r.path) => {
                model.add_one_shot(Table::Child, &r.path, conn.id)
            }
            Request::AddWatch(r) => {
                if let Ok(mode) = AddWatchMode::try_from(r.mode) {
                    model.add_persistent(&r.path, conn.id, mode);
                }
            }
            Request::CheckWatches(r) | Request::RemoveWatches(r) => {
                if let Ok(kind) = WatcherType::try_from(r.watcher_type) {
                    let held = self.shared.watches.lock().contains(&r.path, conn.id, kind);
                    assert_eq!(held, model.contains(&r.path, conn.id, kind), "{request:?}");
                    if matches!(request, Request::RemoveWatches(_)) {
                        model.remove(&r.path, conn.id, kind);
                    }
                }
            }
            Request::SetWatches(r) => set_watches(model, &tree, conn.id, r),
            _ => {}
        }
        ferrokeeper::ops::read::execute(&self.shared, &tree, conn, xid, request);
    }

    /// A connection drops and its session comes back on a new one, sending setWatches
    /// for the watches it held (as a client does), relative to a zxid it may not be
    /// up to date with.
    fn reconnect(&mut self, slot: usize, input: &mut Input) {
        let old = self.conns[slot].id;
        let mut r = SetWatches2 {
            relative_zxid: self.zxid - i64::from(input.byte() % 4),
            ..SetWatches2::default()
        };
        let tree = self.shared.tree.read();
        for (table, path, mode) in self.model.of(old) {
            let list = match (table, mode) {
                (Table::Data, Mode::OneShot) if tree.get(path).is_some() => &mut r.data_watches,
                (Table::Data, Mode::OneShot) => &mut r.exist_watches,
                (Table::Child, Mode::OneShot) => &mut r.child_watches,
                (_, Mode::Persistent) => &mut r.persistent_watches,
                (_, Mode::Recursive) => &mut r.persistent_recursive_watches,
            };
            if !list.iter().any(|p| p == path) {
                list.push(path.to_owned());
            }
        }
        drop(tree);
        self.disconnect(slot, 1 + usize::from(input.byte() % 4));
        self.conns[slot] = connect(&self.shared, slot);
        let conn = self.conns[slot].clone();
        self.read(&conn, 0, &Request::SetWatches(r));
    }

    /// The connection of `slot` is gone: its watches are unlinked `batch` at a time,
    /// as the listener does.
    fn disconnect(&mut self, slot: usize, batch: usize) {
        let id = self.conns[slot].id;
        self.shared.conns.unregister(id);
        let mut gone = self.shared.watches.lock().disown(id);
        while self.shared.watches.lock().forget_some(&mut gone, batch) {}
        self.model.forget(id);
    }
}

fn connect(shared: &Shared, slot: usize) -> Arc<Conn> {
    let conn = shared
        .conns
        .register(SocketAddr::from(([127, 0, 0, 1], 40_000)));
    conn.set_session_id(SESSIONS[slot]);
    conn
}

/// The zxid of the change a one-shot watch on an existing node waits for.
type ChangeZxid = fn(&Node) -> i64;

/// What setWatches registers: each watch the client still holds, unless the change
/// it waits for already happened after `relative_zxid` (then it fires at once).
fn set_watches(model: &mut WatchModel, tree: &DataTree, conn: u64, r: &SetWatches2) {
    let one_shots: [(&[String], Table, ChangeZxid); 2] = [
        (&r.data_watches, Table::Data, |node| node.stat.mzxid),
        (&r.child_watches, Table::Child, |node| node.stat.pzxid),
    ];
    for (paths, table, changed) in one_shots {
        for path in paths {
            if tree
                .get(path)
                .is_some_and(|node| changed(node) <= r.relative_zxid)
            {
                model.add_one_shot(table, path, conn);
            }
        }
    }
    for path in &r.exist_watches {
        if tree.get(path).is_none() {
            model.add_one_shot(Table::Data, path, conn);
        }
    }
    for path in &r.persistent_watches {
        model.add_persistent(path, conn, AddWatchMode::Persistent);
    }
    for path in &r.persistent_recursive_watches {
        model.add_persistent(path, conn, AddWatchMode::PersistentRecursive);
    }
}
