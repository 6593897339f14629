// The Java client (Debian's libzookeeper-java 3.8) against a server, as an application
// uses it: compiled and run by tests/tests/real_clients.rs.
//
//   java -cp <dir>:/usr/share/java/zookeeper.jar ClientMatrix matrix host:port /root
//       the asynchronous API (every callback kind), one-shot, persistent and
//       persistent-recursive watches, multi (a failing op in the middle, per-op
//       results), digest ACLs (addAuthInfo, NoAuth for another client, setACL/getACL)
//       and a session resumed by a second ZooKeeper object with its id and password.
//       One PASS/FAIL line per check; exit status 1 on any failure.
//
//   java -cp ... ClientMatrix restart host:port /root
//       one session for a server restart, driven line by line by the test: prints
//       `READY <session id in hex>` once it holds the ephemeral <root>/eph and a data
//       watch on <root>/watched, `DISCONNECTED` and `RECONNECTED <session id>` as the
//       connection goes and comes back, then `EVENT <type> <path>` when the watch
//       fires, and exits 0 (1 with `FAIL ...` if the session expires).

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import org.apache.zookeeper.AddWatchMode;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.KeeperException.Code;
import org.apache.zookeeper.Op;
import org.apache.zookeeper.OpResult;
import org.apache.zookeeper.WatchedEvent;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.Watcher.Event.EventType;
import org.apache.zookeeper.Watcher.Event.KeeperState;
import org.apache.zookeeper.Watcher.WatcherType;
import org.apache.zookeeper.ZooDefs.Ids;
import org.apache.zookeeper.ZooDefs.Perms;
import org.apache.zookeeper.ZooKeeper;
import org.apache.zookeeper.data.ACL;
import org.apache.zookeeper.data.Id;
import org.apache.zookeeper.data.Stat;
import org.apache.zookeeper.server.auth.DigestAuthenticationProvider;

public class ClientMatrix extends Checks {
    static final int SESSION_TIMEOUT = 30000;
    static final long WAIT_SECONDS = 10;

    /** A watcher that queues what it is told: connection states apart from node events. */
    static class Events implements Watcher {
        final LinkedBlockingQueue<WatchedEvent> events = new LinkedBlockingQueue<>();
        final LinkedBlockingQueue<KeeperState> states = new LinkedBlockingQueue<>();

        @Override
        public void process(WatchedEvent event) {
            if (event.getType() == EventType.None) {
                states.add(event.getState());
            } else {
                events.add(event);
            }
        }

        /** Waits for connection state `state`, skipping others; false if it does not come. */
        boolean awaitState(KeeperState state) throws InterruptedException {
            long deadline = System.currentTimeMillis() + WAIT_SECONDS * 1000;
            while (System.currentTimeMillis() < deadline) {
                KeeperState got = states.poll(100, TimeUnit.MILLISECONDS);
                if (got == state) {
                    return true;
                }
            }
            return false;
        }

        /** The next node event must be `type` on `path`. */
        void expect(EventType type, String path, String what) throws InterruptedException {
            WatchedEvent e = events.poll(WAIT_SECONDS, TimeUnit.SECONDS);
            check(e != null && e.getType() == type && path.equals(e.getPath()), what + ": " + type + " " + path, e);
        }

        void expectNone(String what) throws InterruptedException {
            WatchedEvent e = events.poll(300, TimeUnit.MILLISECONDS);
            check(e == null, what + ": no further event", e);
        }
    }

    static ZooKeeper connect(String connect, Events events) throws Exception {
        ZooKeeper zk = new ZooKeeper(connect, SESSION_TIMEOUT, events);
        if (!events.awaitState(KeeperState.SyncConnected)) {
            throw new RuntimeException("no connection to " + connect);
        }
        return zk;
    }

    /** What an asynchronous call's callback was given, and in which order it ran. */
    static class Reply {
        int rc;
        int order;
        String name;
        byte[] data;
        Stat stat;
        List<String> children;
        List<OpResult> results;

        @Override
        public String toString() {
            return "rc=" + Code.get(rc) + " order=" + order + " name=" + name + " data=" + s(data) + " stat=" + stat
                    + " children=" + children + " results=" + results;
        }
    }

    /** Collects callbacks; the client must run them in the order the requests were sent. */
    static class Replies {
        final List<CompletableFuture<Reply>> pending = new ArrayList<>();
        int calls = 0;

        CompletableFuture<Reply> next() {
            CompletableFuture<Reply> f = new CompletableFuture<>();
            pending.add(f);
            return f;
        }

        Reply done(CompletableFuture<Reply> f, int rc) {
            Reply r = new Reply();
            r.rc = rc;
            r.order = calls++;
            f.complete(r);
            return r;
        }

        List<Reply> await() throws Exception {
            List<Reply> out = new ArrayList<>();
            for (CompletableFuture<Reply> f : pending) {
                out.add(f.get(WAIT_SECONDS, TimeUnit.SECONDS));
            }
            pending.clear();
            return out;
        }
    }

    static void asyncApi(ZooKeeper zk, String root) throws Exception {
        String base = root + "/async";
        Replies r = new Replies();
        CompletableFuture<Reply> create = r.next();
        zk.create(base, b("v0"), Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT,
                (rc, path, ctx, name) -> r.done(create, rc).name = name, null);
        CompletableFuture<Reply> create2 = r.next();
        zk.create(base + "/seq-", b("s"), Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT_SEQUENTIAL,
                (rc, path, ctx, name, stat) -> {
                    Reply x = r.done(create2, rc);
                    x.name = name;
                    x.stat = stat;
                }, null);
        CompletableFuture<Reply> exists = r.next();
        zk.create(base, b("again"), Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT,
                (rc, path, ctx, name) -> r.done(exists, rc), null);
        CompletableFuture<Reply> get = r.next();
        zk.getData(base, false, (rc, path, ctx, data, stat) -> {
            Reply x = r.done(get, rc);
            x.data = data;
            x.stat = stat;
        }, null);
        CompletableFuture<Reply> set = r.next();
        zk.setData(base, b("v1"), 0, (rc, path, ctx, stat) -> r.done(set, rc).stat = stat, null);
        CompletableFuture<Reply> staleSet = r.next();
        zk.setData(base, b("v2"), 0, (rc, path, ctx, stat) -> r.done(staleSet, rc), null);
        CompletableFuture<Reply> children = r.next();
        zk.getChildren(base, false, (rc, path, ctx, kids) -> r.done(children, rc).children = kids, null);
        CompletableFuture<Reply> children2 = r.next();
        zk.getChildren(base, false, (rc, path, ctx, kids, stat) -> {
            Reply x = r.done(children2, rc);
            x.children = kids;
            x.stat = stat;
        }, null);
        CompletableFuture<Reply> stat = r.next();
        zk.exists(base, false, (rc, path, ctx, st) -> r.done(stat, rc).stat = st, null);
        CompletableFuture<Reply> missing = r.next();
        zk.exists(base + "/missing", false, (rc, path, ctx, st) -> r.done(missing, rc).stat = st, null);
        CompletableFuture<Reply> getMissing = r.next();
        zk.getData(base + "/missing", false, (rc, path, ctx, data, st) -> r.done(getMissing, rc), null);
        CompletableFuture<Reply> notEmpty = r.next();
        zk.delete(base, -1, (rc, path, ctx) -> r.done(notEmpty, rc), null);
        CompletableFuture<Reply> multi = r.next();
        zk.multi(Arrays.asList(
                Op.create(base + "/m", b("m"), Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT),
                Op.setData(base, b("v2"), 1)),
                (rc, path, ctx, results) -> r.done(multi, rc).results = results, null);
        CompletableFuture<Reply> deleteM = r.next();
        zk.delete(base + "/m", 0, (rc, path, ctx) -> r.done(deleteM, rc), null);
        CompletableFuture<Reply> badVersion = r.next();
        zk.delete(base + "/seq-0000000000", 5, (rc, path, ctx) -> r.done(badVersion, rc), null);
        List<Reply> all = r.await();

        boolean inOrder = true;
        for (int i = 0; i < all.size(); i++) {
            inOrder &= all.get(i).order == i;
        }
        check(inOrder, "async: callbacks run in request order", all);
        Reply x = all.get(0);
        check(x.rc == 0 && base.equals(x.name), "async create (StringCallback)", x);
        x = all.get(1);
        check(x.rc == 0 && (base + "/seq-0000000000").equals(x.name) && x.stat != null
                && x.stat.getVersion() == 0 && x.stat.getDataLength() == 1 && x.stat.getCzxid() == x.stat.getMzxid(),
                "async create2 (Create2Callback): sequential name and stat", x);
        check(all.get(2).rc == Code.NODEEXISTS.intValue(), "async create of an existing node: NODEEXISTS", all.get(2));
        x = all.get(3);
        check(x.rc == 0 && "v0".equals(s(x.data)) && x.stat.getNumChildren() == 1 && x.stat.getCversion() == 1,
                "async getData (DataCallback): data and stat", x);
        x = all.get(4);
        check(x.rc == 0 && x.stat.getVersion() == 1 && x.stat.getMzxid() > x.stat.getCzxid(),
                "async setData (StatCallback): version 1", x);
        check(all.get(5).rc == Code.BADVERSION.intValue(), "async setData with a stale version: BADVERSION", all.get(5));
        x = all.get(6);
        check(x.rc == 0 && List.of("seq-0000000000").equals(x.children), "async getChildren (ChildrenCallback)", x);
        x = all.get(7);
        check(x.rc == 0 && List.of("seq-0000000000").equals(x.children) && x.stat.getVersion() == 1,
                "async getChildren2 (Children2Callback): children and stat", x);
        x = all.get(8);
        check(x.rc == 0 && x.stat != null && x.stat.getVersion() == 1, "async exists (StatCallback)", x);
        x = all.get(9);
        check(x.rc == Code.NONODE.intValue() && x.stat == null, "async exists of a missing node: NONODE, no stat", x);
        check(all.get(10).rc == Code.NONODE.intValue(), "async getData of a missing node: NONODE", all.get(10));
        check(all.get(11).rc == Code.NOTEMPTY.intValue(), "async delete of a parent: NOTEMPTY", all.get(11));
        x = all.get(12);
        check(x.rc == 0 && x.results.size() == 2 && x.results.get(0) instanceof OpResult.CreateResult
                && x.results.get(1) instanceof OpResult.SetDataResult
                && ((OpResult.SetDataResult) x.results.get(1)).getStat().getVersion() == 2,
                "async multi (MultiCallback): CreateResult, SetDataResult", x);
        check(all.get(13).rc == 0, "async delete (VoidCallback)", all.get(13));
        check(all.get(14).rc == Code.BADVERSION.intValue(), "async delete with a wrong version: BADVERSION", all.get(14));
        check(zk.exists(base + "/m", false) == null, "the deleted node is gone");
    }

    static void watches(ZooKeeper zk, ZooKeeper writer, String root) throws Exception {
        String w = root + "/watches";
        writer.create(w, null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        writer.create(w + "/data", b("0"), Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);

        Events data = new Events();
        zk.getData(w + "/data", data, null);
        writer.setData(w + "/data", b("1"), -1);
        data.expect(EventType.NodeDataChanged, w + "/data", "data watch");
        writer.setData(w + "/data", b("2"), -1);
        data.expectNone("a data watch fires once");

        Events child = new Events();
        check(zk.getChildren(w, child).equals(List.of("data")), "getChildren with a watcher");
        writer.setData(w, b("x"), -1);
        writer.create(w + "/kid", null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        child.expect(EventType.NodeChildrenChanged, w, "child watch (not fired by the parent's setData)");
        writer.delete(w + "/kid", -1);
        child.expectNone("a child watch fires once");

        Events exist = new Events();
        check(zk.exists(w + "/later", exist) == null, "exists watch on a missing node");
        writer.create(w + "/later", null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        exist.expect(EventType.NodeCreated, w + "/later", "exists watch");
        check(zk.exists(w + "/later", exist) != null, "exists watch on an existing node");
        writer.delete(w + "/later", -1);
        exist.expect(EventType.NodeDeleted, w + "/later", "exists watch");
        zk.getData(w + "/data", data, null);
        writer.delete(w + "/data", -1);
        data.expect(EventType.NodeDeleted, w + "/data", "data watch on a deleted node");

        String p = w + "/persistent";
        writer.create(p, null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        Events persistent = new Events();
        zk.addWatch(p, persistent, AddWatchMode.PERSISTENT);
        writer.setData(p, b("1"), -1);
        persistent.expect(EventType.NodeDataChanged, p, "persistent watch");
        writer.setData(p, b("2"), -1);
        persistent.expect(EventType.NodeDataChanged, p, "persistent watch stays");
        writer.create(p + "/c", null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        persistent.expect(EventType.NodeChildrenChanged, p, "persistent watch");
        writer.create(p + "/c/g", null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        persistent.expectNone("a persistent watch is not recursive");
        writer.delete(p + "/c/g", -1);
        writer.delete(p + "/c", -1);
        persistent.expect(EventType.NodeChildrenChanged, p, "persistent watch");
        writer.delete(p, -1);
        persistent.expect(EventType.NodeDeleted, p, "persistent watch");
        writer.create(p, null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        persistent.expect(EventType.NodeCreated, p, "a persistent watch outlives its node");
        zk.removeWatches(p, persistent, WatcherType.Any, false);
        persistent.expect(EventType.PersistentWatchRemoved, p, "removeWatches");
        writer.setData(p, b("3"), -1);
        persistent.expectNone("a removed persistent watch");

        String rec = w + "/recursive";
        writer.create(rec, null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        Events recursive = new Events();
        zk.addWatch(rec, recursive, AddWatchMode.PERSISTENT_RECURSIVE);
        writer.create(rec + "/a", null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        recursive.expect(EventType.NodeCreated, rec + "/a", "recursive watch");
        writer.create(rec + "/a/b", null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        recursive.expect(EventType.NodeCreated, rec + "/a/b", "recursive watch, two levels down");
        writer.setData(rec + "/a/b", b("x"), -1);
        recursive.expect(EventType.NodeDataChanged, rec + "/a/b", "recursive watch");
        writer.setData(rec, b("x"), -1);
        recursive.expect(EventType.NodeDataChanged, rec, "recursive watch on its own node");
        writer.delete(rec + "/a/b", -1);
        recursive.expect(EventType.NodeDeleted, rec + "/a/b", "recursive watch (no child events)");
        writer.create(w + "/recursive-not", null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        recursive.expectNone("a sibling with the same prefix");
        zk.removeWatches(rec, recursive, WatcherType.Any, false);
        recursive.expect(EventType.PersistentWatchRemoved, rec, "removeWatches");
        writer.setData(rec + "/a", b("y"), -1);
        recursive.expectNone("a removed recursive watch");
    }

    static int err(OpResult r) {
        return r instanceof OpResult.ErrorResult ? ((OpResult.ErrorResult) r).getErr() : 999;
    }

    static void multi(ZooKeeper zk, String root) throws Exception {
        String m = root + "/multi";
        zk.create(m, b("0"), Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        List<OpResult> ok = zk.multi(Arrays.asList(
                Op.create(m + "/a", b("a"), Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT),
                Op.create(m + "/s-", null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT_SEQUENTIAL),
                Op.setData(m + "/a", b("a1"), 0),
                Op.check(m + "/a", 1),
                Op.delete(m + "/s-0000000001", -1)));
        check(ok.size() == 5 && ((OpResult.CreateResult) ok.get(0)).getPath().equals(m + "/a")
                && ((OpResult.CreateResult) ok.get(1)).getPath().equals(m + "/s-0000000001")
                && ok.get(3) instanceof OpResult.CheckResult && ok.get(4) instanceof OpResult.DeleteResult,
                "multi: create, sequential create, setData, check, delete", ok);
        Stat set = ((OpResult.SetDataResult) ok.get(2)).getStat();
        check(set.getVersion() == 1 && set.getCzxid() == set.getMzxid(), "multi: one zxid for every op", set);

        try {
            zk.multi(Arrays.asList(
                    Op.create(m + "/b", null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT),
                    Op.setData(m + "/missing", b("x"), -1),
                    Op.create(m + "/c", null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT)));
            check(false, "multi with a failing op in the middle throws");
        } catch (KeeperException.NoNodeException e) {
            List<OpResult> r = e.getResults();
            check(r != null && r.size() == 3 && err(r.get(0)) == 0 && err(r.get(1)) == Code.NONODE.intValue()
                    && err(r.get(2)) == Code.RUNTIMEINCONSISTENCY.intValue(),
                    "failed multi: OK, NONODE, RUNTIMEINCONSISTENCY", r);
        }
        check(zk.exists(m + "/b", false) == null && zk.exists(m + "/c", false) == null,
                "failed multi: nothing applied");

        CompletableFuture<List<Object>> done = new CompletableFuture<>();
        zk.multi(Arrays.asList(
                Op.setData(m, b("1"), 0),
                Op.check(m + "/a", 0),
                Op.delete(m + "/a", -1)),
                (rc, path, ctx, results) -> done.complete(Arrays.asList(rc, results)), null);
        List<Object> got = done.get(WAIT_SECONDS, TimeUnit.SECONDS);
        @SuppressWarnings("unchecked")
        List<OpResult> results = (List<OpResult>) got.get(1);
        check((int) got.get(0) == Code.BADVERSION.intValue() && results.size() == 3 && err(results.get(0)) == 0
                && err(results.get(1)) == Code.BADVERSION.intValue()
                && err(results.get(2)) == Code.RUNTIMEINCONSISTENCY.intValue(),
                "failed async multi: rc BADVERSION; OK, BADVERSION, RUNTIMEINCONSISTENCY", got);
        check(zk.getData(m, false, null)[0] == '0' && zk.exists(m + "/a", false) != null,
                "failed async multi: nothing applied");

        List<OpResult> tx = zk.transaction().check(m + "/a", 1).delete(m + "/a", 1).commit();
        check(tx.size() == 2 && tx.get(1) instanceof OpResult.DeleteResult, "transaction(): check, delete", tx);
    }

    static void acls(String connect, ZooKeeper alice, String root) throws Exception {
        String a = root + "/acl";
        alice.create(a, null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        String aliceDigest = DigestAuthenticationProvider.generateDigest("alice:secret");
        try {
            alice.create(a + "/none", null, Ids.CREATOR_ALL_ACL, CreateMode.PERSISTENT);
            check(false, "auth ACL without credentials is refused");
        } catch (KeeperException.InvalidACLException e) {
            check(true, "auth ACL without credentials: INVALIDACL");
        }
        alice.addAuthInfo("digest", b("alice:secret"));
        String p = a + "/private";
        alice.create(p, b("secret"), Ids.CREATOR_ALL_ACL, CreateMode.PERSISTENT);
        Stat stat = new Stat();
        List<ACL> acl = alice.getACL(p, stat);
        check(acl.equals(List.of(new ACL(Perms.ALL, new Id("digest", aliceDigest)))) && stat.getAversion() == 0,
                "the auth ACL becomes the creator's digest", acl);
        check("secret".equals(s(alice.getData(p, false, null))), "the owner reads");

        Events bobEvents = new Events();
        ZooKeeper bob = connect(connect, bobEvents);
        for (String op : List.of("getData", "setData", "create", "getACL", "setACL")) {
            try {
                switch (op) {
                    case "getData": bob.getData(p, false, null); break;
                    case "setData": bob.setData(p, b("x"), -1); break;
                    case "create": bob.create(p + "/kid", null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT); break;
                    case "getACL": bob.getACL(p, null); break;
                    default: bob.setACL(p, Ids.OPEN_ACL_UNSAFE, -1); break;
                }
                check(false, "unauthenticated " + op + " is refused");
            } catch (KeeperException.NoAuthException e) {
                check(true, "unauthenticated " + op + ": NOAUTH");
            }
        }
        bob.addAuthInfo("digest", b("alice:wrong"));
        try {
            bob.getData(p, false, null);
            check(false, "a wrong password is refused");
        } catch (KeeperException.NoAuthException e) {
            check(true, "a wrong password: NOAUTH");
        }

        List<ACL> readable = new ArrayList<>(acl);
        readable.add(new ACL(Perms.READ, Ids.ANYONE_ID_UNSAFE));
        Stat after = alice.setACL(p, readable, 0);
        check(after.getAversion() == 1, "setACL: aversion 1", after);
        try {
            alice.setACL(p, readable, 0);
            check(false, "setACL with a stale aversion is refused");
        } catch (KeeperException.BadVersionException e) {
            check(true, "setACL with a stale aversion: BADVERSION");
        }
        check("secret".equals(s(bob.getData(p, false, null))), "world READ lets anyone read");
        try {
            bob.setData(p, b("x"), -1);
            check(false, "world READ does not let anyone write");
        } catch (KeeperException.NoAuthException e) {
            check(true, "world READ: setData still NOAUTH");
        }

        String shared = a + "/shared";
        String bobDigest = DigestAuthenticationProvider.generateDigest("bob:pw");
        alice.create(shared, b("s"), Arrays.asList(
                new ACL(Perms.READ | Perms.WRITE, new Id("digest", bobDigest)),
                new ACL(Perms.ALL, new Id("digest", aliceDigest))), CreateMode.PERSISTENT);
        bob.addAuthInfo("digest", b("bob:pw"));
        Stat written = bob.setData(shared, b("by bob"), 0);
        check(written.getVersion() == 1 && "by bob".equals(s(bob.getData(shared, false, null))),
                "a second digest identity reads and writes");
        try {
            bob.setACL(shared, Ids.OPEN_ACL_UNSAFE, -1);
            check(false, "setACL without ADMIN is refused");
        } catch (KeeperException.NoAuthException e) {
            check(true, "setACL without ADMIN: NOAUTH");
        }
        List<ACL> seen = alice.getACL(shared, null);
        check(seen.size() == 2 && seen.get(0).getId().getId().equals(bobDigest), "getACL shows both digests", seen);
        bob.close();
    }

    /** A loopback TCP forwarder to `target` that can be shut, cutting its connections. */
    static class Forwarder implements AutoCloseable {
        final ServerSocket listener;
        final List<Socket> sockets = new CopyOnWriteArrayList<>();

        Forwarder(String target) throws IOException {
            String[] hp = target.split(":");
            InetSocketAddress to = new InetSocketAddress(hp[0], Integer.parseInt(hp[1]));
            listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
            Thread accept = new Thread(() -> {
                while (!listener.isClosed()) {
                    try {
                        Socket client = listener.accept();
                        Socket server = new Socket();
                        server.connect(to, 5000);
                        sockets.add(client);
                        sockets.add(server);
                        pump(client, server);
                        pump(server, client);
                    } catch (IOException e) {
                        // Closed.
                    }
                }
            });
            accept.setDaemon(true);
            accept.start();
        }

        void pump(Socket from, Socket to) {
            Thread t = new Thread(() -> {
                byte[] buf = new byte[8192];
                try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
                    for (int n; (n = in.read(buf)) > 0; ) {
                        out.write(buf, 0, n);
                    }
                } catch (IOException e) {
                    // Cut.
                }
                close(from);
                close(to);
            });
            t.setDaemon(true);
            t.start();
        }

        static void close(Socket s) {
            try {
                s.close();
            } catch (IOException e) {
                // Already closed.
            }
        }

        String address() {
            return "127.0.0.1:" + listener.getLocalPort();
        }

        @Override
        public void close() throws IOException {
            listener.close();
            sockets.forEach(Forwarder::close);
        }
    }

    static void sessionReconnect(String connect, String root) throws Exception {
        String eph = root + "/session-eph";
        Events firstEvents = new Events();
        ZooKeeper first;
        long id;
        byte[] password;
        try (Forwarder forwarder = new Forwarder(connect)) {
            first = connect(forwarder.address(), firstEvents);
            id = first.getSessionId();
            password = first.getSessionPasswd();
            first.create(eph, b("mine"), Ids.OPEN_ACL_UNSAFE, CreateMode.EPHEMERAL);
        }
        // The first object has lost its connection and cannot get one back (its
        // forwarder is gone): a second object carries the session on.
        check(firstEvents.awaitState(KeeperState.Disconnected), "the first object is disconnected");
        Events secondEvents = new Events();
        ZooKeeper second = new ZooKeeper(connect, SESSION_TIMEOUT, secondEvents, id, password);
        check(secondEvents.awaitState(KeeperState.SyncConnected), "a second object resumes with id and password");
        check(second.getSessionId() == id, "the same session id", Long.toHexString(second.getSessionId()));
        Stat stat = second.exists(eph, false);
        check(stat != null && stat.getEphemeralOwner() == id, "the session's ephemeral is still there", stat);
        Events eventsAfter = new Events();
        second.getData(eph, eventsAfter, null);
        second.setData(eph, b("still mine"), -1);
        eventsAfter.expect(EventType.NodeDataChanged, eph, "the resumed session watches");
        check(second.getEphemerals(root).equals(List.of(eph)), "getEphemerals of the resumed session");

        byte[] wrong = password.clone();
        wrong[0] ^= 1;
        Events intruderEvents = new Events();
        ZooKeeper intruder = new ZooKeeper(connect, SESSION_TIMEOUT, intruderEvents, id, wrong);
        check(intruderEvents.awaitState(KeeperState.Expired), "a wrong password: the session is Expired for it");
        intruder.close();
        // ZooKeeper 3.8 drops the session's connection on such an attempt; the client
        // reconnects by itself, and close() must find it connected to end the session.
        check(usable(second, root), "the session is usable after the attempt");

        second.close();
        first.close();
        Events observerEvents = new Events();
        ZooKeeper observer = connect(connect, observerEvents);
        check(observer.exists(eph, false) == null, "closing the resumed session removes its ephemeral");
        Events lateEvents = new Events();
        ZooKeeper late = new ZooKeeper(connect, SESSION_TIMEOUT, lateEvents, id, password);
        check(lateEvents.awaitState(KeeperState.Expired), "a closed session cannot be resumed (Expired)");
        late.close();
        observer.close();
    }

    /** Whether `zk` answers a request within the wait, retrying while it reconnects. */
    static boolean usable(ZooKeeper zk, String path) throws Exception {
        long deadline = System.currentTimeMillis() + WAIT_SECONDS * 1000;
        while (System.currentTimeMillis() < deadline) {
            try {
                return zk.exists(path, false) != null;
            } catch (KeeperException.ConnectionLossException e) {
                Thread.sleep(50);
            }
        }
        return false;
    }

    static void matrix(String connect, String root) throws Exception {
        Events events = new Events();
        ZooKeeper zk = connect(connect, events);
        Events writerEvents = new Events();
        ZooKeeper writer = connect(connect, writerEvents);
        zk.create(root, null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        asyncApi(zk, root);
        watches(zk, writer, root);
        multi(zk, root);
        acls(connect, zk, root);
        sessionReconnect(connect, root);
        writer.close();
        zk.close();
    }

    /** One session across a server restart; see the header. */
    static int restart(String connect, String root) throws Exception {
        LinkedBlockingQueue<WatchedEvent> all = new LinkedBlockingQueue<>();
        ZooKeeper zk = new ZooKeeper(connect, SESSION_TIMEOUT, all::add);
        boolean connected = false;
        WatchedEvent e;
        while (!connected && (e = all.poll(WAIT_SECONDS, TimeUnit.SECONDS)) != null) {
            connected = e.getState() == KeeperState.SyncConnected;
        }
        if (!connected) {
            System.out.println("FAIL no connection");
            return 1;
        }
        long id = zk.getSessionId();
        zk.create(root + "/eph", b("java"), Ids.OPEN_ACL_UNSAFE, CreateMode.EPHEMERAL);
        zk.getData(root + "/watched", true, null);
        System.out.println("READY " + Long.toHexString(id));
        // Bounded by the test, which kills this process when it has seen enough.
        while ((e = all.take()) != null) {
            if (e.getType() != EventType.None) {
                System.out.println("EVENT " + e.getType() + " " + e.getPath());
                zk.close();
                return 0;
            }
            switch (e.getState()) {
                case Disconnected:
                    System.out.println("DISCONNECTED");
                    break;
                case SyncConnected:
                    System.out.println("RECONNECTED " + Long.toHexString(zk.getSessionId()));
                    break;
                default:
                    System.out.println("FAIL state " + e.getState());
                    return 1;
            }
        }
        return 1;
    }

    public static void main(String[] args) {
        String mode = args[0];
        String connect = args[1];
        String root = args[2];
        try {
            if (mode.equals("restart")) {
                System.exit(restart(connect, root));
            }
            matrix(connect, root);
        } catch (Throwable t) {
            unexpected(t);
        }
        exitWithResult();
    }
}
