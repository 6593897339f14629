// Drives the stock Apache ZooKeeper Java client (3.8) through record_proxy.py
// so that the proxy captures golden wire frames.
//
//   javac -cp /usr/share/java/zookeeper.jar -d OUT GoldenClient.java
//   java  -cp /usr/share/java/zookeeper.jar:OUT GoldenClient <scenario> <zkHost:port> <controlPort>
//
// Scenarios: main | reconnect | ping.  All calls are synchronous (or awaited) so
// the shape of the capture is deterministic; before every step the program
// sends "mark <step>" to the proxy's control port and waits for "ok", so the
// capture contains "# mark: <step>" comment lines.

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import org.apache.zookeeper.AddWatchMode;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.Op;
import org.apache.zookeeper.OpResult;
import org.apache.zookeeper.WatchedEvent;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.ZooKeeper;
import org.apache.zookeeper.data.ACL;
import org.apache.zookeeper.data.ClientInfo;
import org.apache.zookeeper.data.Id;
import org.apache.zookeeper.data.Stat;
import org.apache.zookeeper.server.auth.DigestAuthenticationProvider;

public class GoldenClient {
    static Socket ctl;
    static BufferedReader ctlIn;
    static OutputStream ctlOut;

    static void control(String cmd) throws Exception {
        ctlOut.write((cmd + "\n").getBytes(StandardCharsets.UTF_8));
        ctlOut.flush();
        String r = ctlIn.readLine();
        if (!"ok".equals(r)) throw new IllegalStateException("control " + cmd + " -> " + r);
    }

    static void mark(String s) throws Exception {
        System.out.println("== " + s);
        control("mark " + s);
    }

    /** Default/explicit watcher that queues every event it sees. */
    static class Q implements Watcher {
        final String name;
        final BlockingQueue<WatchedEvent> q = new LinkedBlockingQueue<>();
        Q(String name) { this.name = name; }
        public void process(WatchedEvent e) {
            System.out.println("   [" + name + "] event " + e);
            q.add(e);
        }
        WatchedEvent expect(Event.EventType t, Event.KeeperState s) throws Exception {
            long deadline = System.currentTimeMillis() + 15000;
            while (true) {
                long left = deadline - System.currentTimeMillis();
                WatchedEvent e = q.poll(Math.max(left, 1), TimeUnit.MILLISECONDS);
                if (e == null) throw new IllegalStateException(name + ": timeout waiting for " + t + "/" + s);
                if (e.getType() == t && (s == null || e.getState() == s)) return e;
            }
        }
        WatchedEvent expectNode(Event.EventType t, String path) throws Exception {
            long deadline = System.currentTimeMillis() + 15000;
            while (true) {
                long left = deadline - System.currentTimeMillis();
                WatchedEvent e = q.poll(Math.max(left, 1), TimeUnit.MILLISECONDS);
                if (e == null) throw new IllegalStateException(name + ": timeout waiting for " + t + " " + path);
                if (e.getType() == t && path.equals(e.getPath())) return e;
            }
        }
        void connected() throws Exception { expect(Event.EventType.None, Event.KeeperState.SyncConnected); }
    }

    static void expectErr(KeeperException.Code want, ThrowingRunnable r) throws Exception {
        try {
            r.run();
        } catch (KeeperException e) {
            if (e.code() != want) throw new IllegalStateException("wanted " + want + " got " + e.code(), e);
            System.out.println("   got expected " + e.code());
            return;
        }
        throw new IllegalStateException("wanted " + want + " but call succeeded");
    }

    interface ThrowingRunnable { void run() throws Exception; }

    static byte[] b(String s) { return s.getBytes(StandardCharsets.UTF_8); }

    static final List<ACL> OPEN = ZooDefs.Ids.OPEN_ACL_UNSAFE;

    static void sleep(long ms) throws InterruptedException { Thread.sleep(ms); }

    public static void main(String[] args) throws Exception {
        String scenario = args[0];
        String cs = args[1];
        int controlPort = Integer.parseInt(args[2]);
        ctl = new Socket("127.0.0.1", controlPort);
        ctl.setTcpNoDelay(true);
        ctlIn = new BufferedReader(new InputStreamReader(ctl.getInputStream(), StandardCharsets.UTF_8));
        ctlOut = ctl.getOutputStream();
        switch (scenario) {
            case "main": mainScenario(cs); break;
            case "reconnect": reconnectScenario(cs); break;
            case "ping": pingScenario(cs); break;
            default: throw new IllegalArgumentException(scenario);
        }
        ctl.close();
        System.out.println("GoldenClient " + scenario + ": OK");
        System.exit(0);
    }

    // ------------------------------------------------------------------ main
    static void mainScenario(String cs) throws Exception {
        Q w = new Q("default");
        mark("connect (sessionTimeout=30000)");
        ZooKeeper zk = new ZooKeeper(cs, 30000, w);
        w.connected();

        mark("addAuthInfo digest user:pass");
        zk.addAuthInfo("digest", b("user:pass"));
        sleep(200); // auth has no synchronous API; let its reply arrive

        mark("create /golden PERSISTENT data=root");
        zk.create("/golden", b("root"), OPEN, CreateMode.PERSISTENT);
        mark("create /golden/nulldata PERSISTENT data=null");
        zk.create("/golden/nulldata", null, OPEN, CreateMode.PERSISTENT);
        mark("create /golden/eph EPHEMERAL");
        zk.create("/golden/eph", b("e"), OPEN, CreateMode.EPHEMERAL);
        mark("create /golden/seq- PERSISTENT_SEQUENTIAL");
        zk.create("/golden/seq-", b("s"), OPEN, CreateMode.PERSISTENT_SEQUENTIAL);
        mark("create /golden/eseq- EPHEMERAL_SEQUENTIAL");
        zk.create("/golden/eseq-", b("es"), OPEN, CreateMode.EPHEMERAL_SEQUENTIAL);
        mark("create /golden/container CONTAINER (4-arg create)");
        zk.create("/golden/container", b("c"), OPEN, CreateMode.CONTAINER);
        Stat st = new Stat();
        mark("create2 /golden/c2 PERSISTENT with Stat");
        zk.create("/golden/c2", b("c2"), OPEN, CreateMode.PERSISTENT, st);
        mark("create /golden/container2 CONTAINER with Stat");
        zk.create("/golden/container2", b("c"), OPEN, CreateMode.CONTAINER, st);
        mark("createTTL /golden/ttl PERSISTENT_WITH_TTL ttl=60000");
        zk.create("/golden/ttl", b("t"), OPEN, CreateMode.PERSISTENT_WITH_TTL, st, 60000);
        mark("createTTL /golden/ttlseq- PERSISTENT_SEQUENTIAL_WITH_TTL ttl=120000");
        zk.create("/golden/ttlseq-", b("t"), OPEN, CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL, st, 120000);

        List<ACL> acls = new ArrayList<>();
        acls.add(new ACL(ZooDefs.Perms.ALL, new Id("digest", DigestAuthenticationProvider.generateDigest("user:pass"))));
        acls.add(new ACL(ZooDefs.Perms.READ, new Id("world", "anyone")));
        acls.add(new ACL(ZooDefs.Perms.READ | ZooDefs.Perms.WRITE, new Id("ip", "127.0.0.1")));
        mark("create /golden/acl with [digest ALL, world:anyone READ, ip:127.0.0.1 READ|WRITE]");
        zk.create("/golden/acl", b("acl"), acls, CreateMode.PERSISTENT);
        mark("create /golden/creator CREATOR_ALL_ACL");
        zk.create("/golden/creator", b("cr"), ZooDefs.Ids.CREATOR_ALL_ACL, CreateMode.PERSISTENT);
        mark("create /golden/noauth with ACL digest other:x ALL");
        zk.create("/golden/noauth", b("secret"),
                Arrays.asList(new ACL(ZooDefs.Perms.ALL, new Id("digest", DigestAuthenticationProvider.generateDigest("other:x")))),
                CreateMode.PERSISTENT);

        mark("create /golden (exists) -> NodeExists");
        expectErr(KeeperException.Code.NODEEXISTS, () -> zk.create("/golden", b("x"), OPEN, CreateMode.PERSISTENT));
        mark("create /golden/nope/child -> NoNode");
        expectErr(KeeperException.Code.NONODE, () -> zk.create("/golden/nope/child", b("x"), OPEN, CreateMode.PERSISTENT));
        mark("create /golden/eph/child -> NoChildrenForEphemerals");
        expectErr(KeeperException.Code.NOCHILDRENFOREPHEMERALS, () -> zk.create("/golden/eph/child", b("x"), OPEN, CreateMode.PERSISTENT));
        // (an empty ACL list is rejected client-side, nothing goes on the wire)
        mark("create /golden/badacl with ACL scheme nosuchscheme -> InvalidACL");
        expectErr(KeeperException.Code.INVALIDACL, () -> zk.create("/golden/badacl", b("x"),
                Arrays.asList(new ACL(ZooDefs.Perms.ALL, new Id("nosuchscheme", "x"))), CreateMode.PERSISTENT));
        mark("getData /golden/noauth -> NoAuth");
        expectErr(KeeperException.Code.NOAUTH, () -> zk.getData("/golden/noauth", false, null));

        mark("exists /golden watch=true (present)");
        zk.exists("/golden", true);
        mark("exists /golden/absent watch=true (absent)");
        if (zk.exists("/golden/absent", true) != null) throw new IllegalStateException();
        mark("exists /golden/absent2 watch=false (absent)");
        zk.exists("/golden/absent2", false);
        mark("create /golden/absent -> NodeCreated notification");
        zk.create("/golden/absent", b("now here"), OPEN, CreateMode.PERSISTENT);
        w.expectNode(Watcher.Event.EventType.NodeCreated, "/golden/absent");

        mark("getData /golden watch=true");
        zk.getData("/golden", true, st);
        mark("setData /golden version=0 -> NodeDataChanged notification (exists+data watch)");
        zk.setData("/golden", b("root2"), 0);
        w.expectNode(Watcher.Event.EventType.NodeDataChanged, "/golden");
        mark("setData /golden version=99 -> BadVersion");
        expectErr(KeeperException.Code.BADVERSION, () -> zk.setData("/golden", b("x"), 99));
        mark("setData /golden/missing -> NoNode");
        expectErr(KeeperException.Code.NONODE, () -> zk.setData("/golden/missing", b("x"), -1));
        mark("getData /golden/nulldata (null data)");
        zk.getData("/golden/nulldata", false, st);
        mark("getData /golden/missing -> NoNode");
        expectErr(KeeperException.Code.NONODE, () -> zk.getData("/golden/missing", false, null));

        mark("getChildren /golden watch=true (opcode 8)");
        zk.getChildren("/golden", true);
        mark("getChildren2 /golden watch=false with Stat (opcode 12)");
        zk.getChildren("/golden", false, st);
        mark("getChildren /golden/missing -> NoNode");
        expectErr(KeeperException.Code.NONODE, () -> zk.getChildren("/golden/missing", false));
        mark("create /golden/kid -> NodeChildrenChanged notification");
        zk.create("/golden/kid", b("k"), OPEN, CreateMode.PERSISTENT);
        w.expectNode(Watcher.Event.EventType.NodeChildrenChanged, "/golden");

        mark("getACL /golden/acl");
        zk.getACL("/golden/acl", st);
        mark("setACL /golden/acl version=0 [world:anyone ALL]");
        zk.setACL("/golden/acl", OPEN, 0);
        mark("setACL /golden/acl version=0 again -> BadVersion");
        expectErr(KeeperException.Code.BADVERSION, () -> zk.setACL("/golden/acl", OPEN, 0));
        mark("getACL /golden/creator (CREATOR_ALL_ACL expanded)");
        zk.getACL("/golden/creator", st);

        mark("sync /golden");
        CountDownLatch syncDone = new CountDownLatch(1);
        zk.sync("/golden", (rc, path, ctx) -> {
            System.out.println("   sync rc=" + rc + " path=" + path);
            syncDone.countDown();
        }, null);
        if (!syncDone.await(10, TimeUnit.SECONDS)) throw new IllegalStateException("sync timeout");

        mark("multi OK [create /golden/m1, setData /golden/m1, check /golden/m1 v1, delete /golden/m1]");
        List<OpResult> res = zk.multi(Arrays.asList(
                Op.create("/golden/m1", b("m"), OPEN, CreateMode.PERSISTENT),
                Op.setData("/golden/m1", b("m2"), 0),
                Op.check("/golden/m1", 1),
                Op.delete("/golden/m1", 1)));
        System.out.println("   multi -> " + res.size() + " results");
        mark("multi FAIL [create /golden/m2, setData /golden/missing, create /golden/m3] -> NoNode at op 1");
        expectErr(KeeperException.Code.NONODE, () -> zk.multi(Arrays.asList(
                Op.create("/golden/m2", b("m"), OPEN, CreateMode.PERSISTENT),
                Op.setData("/golden/missing", b("x"), -1),
                Op.create("/golden/m3", b("m"), OPEN, CreateMode.PERSISTENT))));
        mark("multi FAIL [check /golden v99, delete /golden/kid] -> BadVersion at op 0");
        expectErr(KeeperException.Code.BADVERSION, () -> zk.multi(Arrays.asList(
                Op.check("/golden", 99),
                Op.delete("/golden/kid", -1))));
        mark("multi with createTTL + create2-style ops [create /golden/mttl TTL, create /golden/mc CONTAINER, create /golden/ms- PERSISTENT_SEQUENTIAL]");
        zk.multi(Arrays.asList(
                Op.create("/golden/mttl", b("t"), OPEN, CreateMode.PERSISTENT_WITH_TTL, 30000),
                Op.create("/golden/mc", b("c"), OPEN, CreateMode.CONTAINER),
                Op.create("/golden/ms-", b("s"), OPEN, CreateMode.PERSISTENT_SEQUENTIAL)));
        // (zk.multi of an empty list is answered client-side, nothing goes on the wire)
        mark("multiRead [getData /golden, getChildren /golden/c2, getData /golden/missing]");
        res = zk.multi(Arrays.asList(
                Op.getData("/golden"),
                Op.getChildren("/golden/c2"),
                Op.getData("/golden/missing")));
        System.out.println("   multiRead -> " + res);

        mark("getEphemerals /golden");
        System.out.println("   " + zk.getEphemerals("/golden"));
        mark("getEphemerals (all, prefix /)");
        System.out.println("   " + zk.getEphemerals());
        mark("getAllChildrenNumber /golden");
        System.out.println("   " + zk.getAllChildrenNumber("/golden"));
        mark("whoAmI");
        for (ClientInfo ci : zk.whoAmI()) System.out.println("   whoami " + ci);
        mark("getConfig watch=false (getData /zookeeper/config)");
        expectErrOrOk(() -> zk.getConfig(false, st));

        mark("create /golden/pw and /golden/rw for persistent watches");
        zk.create("/golden/pw", b("p"), OPEN, CreateMode.PERSISTENT);
        zk.create("/golden/rw", b("r"), OPEN, CreateMode.PERSISTENT);
        mark("addWatch /golden/pw PERSISTENT");
        zk.addWatch("/golden/pw", AddWatchMode.PERSISTENT);
        mark("addWatch /golden/rw PERSISTENT_RECURSIVE");
        zk.addWatch("/golden/rw", AddWatchMode.PERSISTENT_RECURSIVE);
        mark("setData /golden/pw -> NodeDataChanged (persistent)");
        zk.setData("/golden/pw", b("p2"), -1);
        w.expectNode(Watcher.Event.EventType.NodeDataChanged, "/golden/pw");
        mark("setData /golden/pw again -> NodeDataChanged (persistent fires again)");
        zk.setData("/golden/pw", b("p3"), -1);
        w.expectNode(Watcher.Event.EventType.NodeDataChanged, "/golden/pw");
        mark("create /golden/rw/x -> NodeCreated (recursive)");
        zk.create("/golden/rw/x", b("x"), OPEN, CreateMode.PERSISTENT);
        w.expectNode(Watcher.Event.EventType.NodeCreated, "/golden/rw/x");
        mark("setData /golden/rw/x -> NodeDataChanged (recursive)");
        zk.setData("/golden/rw/x", b("y"), -1);
        w.expectNode(Watcher.Event.EventType.NodeDataChanged, "/golden/rw/x");
        mark("delete /golden/rw/x -> NodeDeleted (recursive)");
        zk.delete("/golden/rw/x", -1);
        w.expectNode(Watcher.Event.EventType.NodeDeleted, "/golden/rw/x");

        Q w1 = new Q("w1");
        mark("getData /golden/c2 with explicit watcher w1");
        zk.getData("/golden/c2", w1, st);
        mark("removeWatches /golden/c2 w1 Data local=false (checkWatches opcode 17)");
        zk.removeWatches("/golden/c2", w1, Watcher.WatcherType.Data, false);
        w1.expect(Watcher.Event.EventType.DataWatchRemoved, null);
        mark("getChildren /golden/c2 watch=true");
        zk.getChildren("/golden/c2", true);
        mark("removeAllWatches /golden/c2 Any local=false (removeWatches opcode 18)");
        zk.removeAllWatches("/golden/c2", Watcher.WatcherType.Any, false);
        w.expect(Watcher.Event.EventType.ChildWatchRemoved, null);
        mark("removeAllWatches /golden/pw Any local=false (persistent watch)");
        expectErrOrOk(() -> zk.removeAllWatches("/golden/pw", Watcher.WatcherType.Any, false));
        mark("removeAllWatches /golden/rw Any local=false (persistent recursive watch)");
        expectErrOrOk(() -> zk.removeAllWatches("/golden/rw", Watcher.WatcherType.Any, false));

        mark("getData /golden/kid watch=true");
        zk.getData("/golden/kid", true, st);
        mark("delete /golden/kid version=0 -> NodeDeleted notification");
        zk.delete("/golden/kid", 0);
        w.expectNode(Watcher.Event.EventType.NodeDeleted, "/golden/kid");
        mark("delete /golden/c2 version=5 -> BadVersion");
        expectErr(KeeperException.Code.BADVERSION, () -> zk.delete("/golden/c2", 5));
        mark("delete /golden (not empty) -> NotEmpty");
        expectErr(KeeperException.Code.NOTEMPTY, () -> zk.delete("/golden", -1));
        mark("delete /golden/missing -> NoNode");
        expectErr(KeeperException.Code.NONODE, () -> zk.delete("/golden/missing", -1));
        mark("delete /golden/c2 version=-1");
        zk.delete("/golden/c2", -1);

        mark("close (closeSession)");
        zk.close();
    }

    static void expectErrOrOk(ThrowingRunnable r) throws Exception {
        try {
            r.run();
            System.out.println("   ok");
        } catch (KeeperException e) {
            System.out.println("   got " + e.code());
        }
    }

    // ------------------------------------------------------------- reconnect
    static void reconnectScenario(String cs) throws Exception {
        Q w = new Q("default");
        mark("connect (sessionTimeout=30000)");
        ZooKeeper zk = new ZooKeeper(cs, 30000, w);
        w.connected();
        mark("addAuthInfo digest user:pass");
        zk.addAuthInfo("digest", b("user:pass"));
        sleep(200);
        mark("create /r, /r/a");
        zk.create("/r", b("r"), OPEN, CreateMode.PERSISTENT);
        zk.create("/r/a", b("a"), OPEN, CreateMode.PERSISTENT);
        mark("getData /r watch=true; exists /r/missing watch=true; getChildren /r watch=true");
        zk.getData("/r", true, null);
        zk.exists("/r/missing", true);
        zk.getChildren("/r", true);

        mark("proxy drops the connection -> client reconnects with session id + setWatches (101)");
        control("drop");
        w.expect(Watcher.Event.EventType.None, Watcher.Event.KeeperState.Disconnected);
        w.connected();
        sleep(300); // let setWatches / auth replies arrive

        mark("sync / after reconnect");
        syncOn(zk, "/");

        mark("addWatch /r PERSISTENT_RECURSIVE, addWatch /r/a PERSISTENT");
        zk.addWatch("/r", AddWatchMode.PERSISTENT_RECURSIVE);
        zk.addWatch("/r/a", AddWatchMode.PERSISTENT);
        mark("proxy drops the connection -> reconnect with setWatches2 (105)");
        control("drop");
        w.expect(Watcher.Event.EventType.None, Watcher.Event.KeeperState.Disconnected);
        w.connected();
        sleep(300);

        mark("setData /r -> NodeDataChanged (data watch + recursive watch survive reconnect)");
        zk.setData("/r", b("r2"), -1);
        w.expectNode(Watcher.Event.EventType.NodeDataChanged, "/r");
        mark("create /r/missing -> NodeCreated (exists watch survived); no NodeChildrenChanged for /r"
                + " (server-side the recursive watch on /r replaced the child watch's mode)");
        zk.create("/r/missing", b("m"), OPEN, CreateMode.PERSISTENT);
        w.expectNode(Watcher.Event.EventType.NodeCreated, "/r/missing");
        sleep(200);

        long sid = zk.getSessionId();
        byte[] pw = zk.getSessionPasswd();
        byte[] bad = pw.clone();
        bad[0] ^= 0x55;
        Q w2 = new Q("badpw");
        mark("second client: same session id, WRONG password -> expired-style ConnectResponse"
                + " (the server also closes the first client's connection, which then reconnects)");
        ZooKeeper zk2 = new ZooKeeper(cs, 30000, w2, sid, bad);
        w2.expect(Watcher.Event.EventType.None, Watcher.Event.KeeperState.Expired);
        w.expect(Watcher.Event.EventType.None, Watcher.Event.KeeperState.Disconnected);
        w.connected();
        zk2.close();
        sleep(300);

        Q w3 = new Q("unknown");
        mark("third client: unknown session id 0x1234567890, zero password -> expired-style ConnectResponse");
        ZooKeeper zk3 = new ZooKeeper(cs, 30000, w3, 0x1234567890L, new byte[16]);
        w3.expect(Watcher.Event.EventType.None, Watcher.Event.KeeperState.Expired);
        zk3.close();
        sleep(200);

        mark("close first client (closeSession)");
        zk.close();
        sleep(200);

        Q w4 = new Q("authfail");
        mark("fourth client: connect with sessionTimeout=1000 (server clamps to minSessionTimeout=4000)");
        ZooKeeper zk4 = new ZooKeeper(cs, 1000, w4);
        w4.connected();
        mark("fourth client: addAuthInfo with unknown scheme -> AuthFailed");
        zk4.addAuthInfo("nosuchscheme", b("whatever"));
        w4.expect(Watcher.Event.EventType.None, Watcher.Event.KeeperState.AuthFailed);
        sleep(300);
        mark("fourth client close");
        zk4.close();
    }

    static void syncOn(ZooKeeper zk, String path) throws Exception {
        CountDownLatch l = new CountDownLatch(1);
        zk.sync(path, (rc, p, ctx) -> l.countDown(), null);
        if (!l.await(10, TimeUnit.SECONDS)) throw new IllegalStateException("sync timeout");
    }

    // ------------------------------------------------------------------ ping
    static void pingScenario(String cs) throws Exception {
        Q w = new Q("default");
        mark("connect (sessionTimeout=4000 -> pings roughly every second when idle)");
        ZooKeeper zk = new ZooKeeper(cs, 4000, w);
        w.connected();
        mark("idle 1500 ms (expect one ping: xid -2, opcode 11)");
        sleep(1500);
        mark("close");
        zk.close();
    }
}
