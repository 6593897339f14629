// Kafka's ZooKeeper workload (ZooKeeper mode, 2.8–3.9), replayed with the real Java
// client against a server: see /work/shared/spec/kafka.md ("workload replay") and
// tests/tests/kafka_replay.rs, which compiles and runs this program.
//
//   java -cp <dir>:/usr/share/java/zookeeper.jar KafkaReplay host:port [chroot]
//
// Three broker sessions under a chroot: persistent path setup, /cluster/id, ephemeral
// broker registrations (multi create + setData), controller election through the
// ephemeral /controller and the conditional /controller_epoch update, topic and
// partition state writes fenced by a check on the controller epoch's version, sequential
// isr_change and config_change notifications, a child watch on /brokers/ids firing when
// a broker's session is expired (and when one closes), controller failover; then the
// old consumer-group flow. Prints one PASS/FAIL line per check; exit status 1 on any
// failure.

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import org.apache.zookeeper.AsyncCallback;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.KeeperException.Code;
import org.apache.zookeeper.Op;
import org.apache.zookeeper.OpResult;
import org.apache.zookeeper.WatchedEvent;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.Watcher.Event.EventType;
import org.apache.zookeeper.Watcher.Event.KeeperState;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.ZooKeeper;
import org.apache.zookeeper.data.Stat;

public class KafkaReplay extends Checks {
    static String connect;
    static final int SESSION_TIMEOUT = 18000;

    /** A broker's ZooKeeper session: the client and the events its watches delivered. */
    static class Session implements Watcher {
        final String name;
        final LinkedBlockingQueue<WatchedEvent> events = new LinkedBlockingQueue<>();
        final LinkedBlockingQueue<KeeperState> states = new LinkedBlockingQueue<>();
        ZooKeeper zk;

        Session(String name, String connectString) throws Exception {
            this.name = name;
            this.zk = new ZooKeeper(connectString, SESSION_TIMEOUT, this);
            awaitState(KeeperState.SyncConnected);
        }

        @Override
        public void process(WatchedEvent event) {
            if (event.getType() == EventType.None) {
                states.add(event.getState());
            } else {
                events.add(event);
            }
        }

        void awaitState(KeeperState state) throws Exception {
            long deadline = System.currentTimeMillis() + 30000;
            while (System.currentTimeMillis() < deadline) {
                KeeperState got = states.poll(100, TimeUnit.MILLISECONDS);
                if (got == state) {
                    return;
                }
            }
            throw new RuntimeException(name + ": no " + state + " within 30 s");
        }

        /** Waits for the next watch event, which must be `type` on `path`. */
        void expectEvent(EventType type, String path) throws Exception {
            WatchedEvent e = events.poll(10, TimeUnit.SECONDS);
            check(e != null && e.getType() == type && path.equals(e.getPath()),
                    name + " gets " + type + " " + path, e);
        }

        /** Waits for `n` events and checks they are exactly `expected` (any order). */
        void expectEvents(List<String> expected) throws Exception {
            List<String> got = new ArrayList<>();
            for (int i = 0; i < expected.size(); i++) {
                WatchedEvent e = events.poll(10, TimeUnit.SECONDS);
                if (e == null) {
                    break;
                }
                got.add(e.getType() + " " + e.getPath());
            }
            List<String> want = new ArrayList<>(expected);
            Collections.sort(want);
            Collections.sort(got);
            check(want.equals(got), name + " gets " + want, got);
        }

        void expectNoEvent(String what) throws Exception {
            WatchedEvent e = events.poll(300, TimeUnit.MILLISECONDS);
            check(e == null, name + " gets no further event " + what, e);
        }
    }

    /** Kafka only uses the asynchronous API; multi is checked through its callback. */
    static class MultiOutcome {
        int rc;
        List<OpResult> results;
    }

    static MultiOutcome multi(ZooKeeper zk, Op... ops) throws Exception {
        CompletableFuture<MultiOutcome> done = new CompletableFuture<>();
        zk.multi(Arrays.asList(ops), (rc, path, ctx, results) -> {
            MultiOutcome o = new MultiOutcome();
            o.rc = rc;
            o.results = results;
            done.complete(o);
        }, null);
        return done.get(20, TimeUnit.SECONDS);
    }

    /** Kafka's makeSurePersistentPathExists / createRecursive: NONODE creates the parent. */
    static void createRecursive(ZooKeeper zk, String path, byte[] data) throws Exception {
        try {
            zk.create(path, data, ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        } catch (KeeperException.NodeExistsException e) {
            // Another broker made it.
        } catch (KeeperException.NoNodeException e) {
            createRecursive(zk, path.substring(0, path.lastIndexOf('/')), null);
            createRecursive(zk, path, data);
        }
    }

    static String broker(int id) {
        return "{\"features\":{},\"listener_security_protocol_map\":{\"PLAINTEXT\":\"PLAINTEXT\"},"
                + "\"endpoints\":[\"PLAINTEXT://localhost:909" + id + "\"],\"jmx_port\":-1,\"port\":909" + id
                + ",\"host\":\"localhost\",\"version\":5,\"timestamp\":\"" + System.currentTimeMillis() + "\"}";
    }

    static String controller(int id) {
        return "{\"version\":2,\"brokerid\":" + id + ",\"timestamp\":\"" + System.currentTimeMillis()
                + "\",\"kraftControllerEpoch\":-1}";
    }

    static String state(int leader, int leaderEpoch, String isr) {
        return "{\"controller_epoch\":1,\"leader\":" + leader + ",\"version\":1,\"leader_epoch\":" + leaderEpoch
                + ",\"isr\":" + isr + "}";
    }

    static final String[] PERSISTENT_PATHS = {
        "/consumers", "/brokers/ids", "/brokers/topics", "/config/changes", "/admin/delete_topics",
        "/brokers/seqid", "/isr_change_notification", "/latest_producer_id_block",
        "/log_dir_event_notification", "/config/topics", "/config/clients", "/config/users",
        "/config/brokers", "/config/ips",
    };

    static final String CLUSTER_ID = "{\"version\":\"1\",\"id\":\"x3VJz2bLQxWWb2zQb5kGGg\"}";

    /** Phase 0 for broker `id`: paths, cluster id, registration. Returns the broker epoch. */
    static long startBroker(Session s, String chroot, int id, boolean featureExists) throws Exception {
        for (String path : PERSISTENT_PATHS) {
            createRecursive(s.zk, path, null);
        }
        try {
            byte[] got = s.zk.getData("/cluster/id", false, null);
            check(CLUSTER_ID.equals(s(got)), s.name + " reads /cluster/id", s(got));
        } catch (KeeperException.NoNodeException e) {
            createRecursive(s.zk, "/cluster/id", b(CLUSTER_ID));
            check(CLUSTER_ID.equals(s(s.zk.getData("/cluster/id", false, null))), s.name + " creates /cluster/id");
        }
        check((s.zk.exists("/feature", true) != null) == featureExists, s.name + " exists-watches /feature");
        // CheckedEphemeral.create: create with null data, then setData version 0.
        String path = "/brokers/ids/" + id;
        MultiOutcome reg = multi(s.zk,
                Op.create(path, null, ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.EPHEMERAL),
                Op.setData(path, b(broker(id)), 0));
        check(reg.rc == Code.OK.intValue(), s.name + " registers " + path, Code.get(reg.rc));
        check(reg.results.get(0) instanceof OpResult.CreateResult
                // The 3.8 Java client leaves the chroot on the paths of multi results.
                && List.of(path, chroot + path).contains(((OpResult.CreateResult) reg.results.get(0)).getPath()),
                s.name + " registration CreateResult", ((OpResult.CreateResult) reg.results.get(0)).getPath());
        Stat stat = ((OpResult.SetDataResult) reg.results.get(1)).getStat();
        check(stat.getVersion() == 1 && stat.getEphemeralOwner() == s.zk.getSessionId()
                && stat.getDataLength() == broker(id).length(),
                s.name + " registration stat (version 1, owner = session)", stat);
        Stat read = new Stat();
        s.zk.getData(path, false, read);
        check(read.getCzxid() == stat.getCzxid() && read.getVersion() == 1,
                s.name + " broker epoch (czxid) is stable", read);
        s.zk.getChildren("/config/changes", true, new Stat());
        return stat.getCzxid();
    }

    static int elect(Session s, int id, int expectedEpoch) throws Exception {
        Stat epochStat = new Stat();
        byte[] epoch;
        try {
            epoch = s.zk.getData("/controller_epoch", false, epochStat);
        } catch (KeeperException.NoNodeException e) {
            s.zk.create("/controller_epoch", b("0"), ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
            epoch = s.zk.getData("/controller_epoch", false, epochStat);
        }
        int next = Integer.parseInt(s(epoch)) + 1;
        MultiOutcome won = multi(s.zk,
                Op.create("/controller", b(controller(id)), ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.EPHEMERAL),
                Op.setData("/controller_epoch", b(String.valueOf(next)), epochStat.getVersion()));
        check(won.rc == Code.OK.intValue(), s.name + " wins the election", Code.get(won.rc));
        int zkVersion = ((OpResult.SetDataResult) won.results.get(1)).getStat().getVersion();
        check(next == expectedEpoch && zkVersion == expectedEpoch,
                s.name + " controller epoch " + expectedEpoch + " (zkVersion " + zkVersion + ")");
        return zkVersion;
    }

    /** wrapRequestWithControllerEpochCheck. */
    static MultiOutcome fenced(ZooKeeper zk, int epochZkVersion, Op op) throws Exception {
        return multi(zk, Op.check("/controller_epoch", epochZkVersion), op);
    }

    static void expectFailedMulti(MultiOutcome o, Code code, String what) {
        boolean shape = o.results != null && o.results.size() == 2
                && o.results.get(0) instanceof OpResult.ErrorResult
                && o.results.get(1) instanceof OpResult.ErrorResult;
        int first = shape ? ((OpResult.ErrorResult) o.results.get(0)).getErr() : 99;
        int second = shape ? ((OpResult.ErrorResult) o.results.get(1)).getErr() : 99;
        boolean firstFails = first == code.intValue() && second == Code.RUNTIMEINCONSISTENCY.intValue();
        boolean secondFails = first == 0 && second == code.intValue();
        check(o.rc == code.intValue() && (firstFails || secondFails), what + " fails with " + code,
                Code.get(o.rc) + " " + first + " " + second);
    }

    static void kafka(String chroot) throws Exception {
        // 0.0: the chroot itself, from a session without one.
        ZooKeeper root = new Session("S0", connect).zk;
        check(root.exists(chroot, false) == null, "chroot absent at first");
        createRecursive(root, chroot, null);
        root.close();
        String c = connect + chroot;

        Session s1 = new Session("S1", c);
        Session s2 = new Session("S2", c);
        Session s3 = new Session("S3", c);
        long epoch1 = startBroker(s1, chroot, 1, false);
        long epoch2 = startBroker(s2, chroot, 2, false);
        long epoch3 = startBroker(s3, chroot, 3, false);
        check(epoch1 < epoch2 && epoch2 < epoch3, "broker epochs increase", epoch1 + " " + epoch2 + " " + epoch3);
        check(s3.zk.getChildren("/brokers/ids", false).size() == 3, "three brokers registered");
        for (Session s : List.of(s1, s2, s3)) {
            check(s.zk.exists("/controller", true) == null, s.name + " watches the missing /controller");
        }

        // Phase 1: S1 is elected; S2's stale attempt fails without a trace.
        int epochVersion = elect(s1, 1, 1);
        for (Session s : List.of(s1, s2, s3)) {
            s.expectEvent(EventType.NodeCreated, "/controller");
        }
        MultiOutcome stale = multi(s2.zk,
                Op.create("/controller", b(controller(2)), ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.EPHEMERAL),
                Op.setData("/controller_epoch", b("1"), 0));
        expectFailedMulti(stale, Code.NODEEXISTS, "S2's stale election");
        check(s(s2.zk.getData("/controller_epoch", false, null)).equals("1"), "the stale election changed nothing");
        Stat controllerStat = new Stat();
        byte[] ctl = s2.zk.getData("/controller", true, controllerStat);
        check(s(ctl).contains("\"brokerid\":1") && controllerStat.getEphemeralOwner() == s1.zk.getSessionId(),
                "S2 sees broker 1 as controller", s(ctl));
        s3.zk.getData("/controller", true, null);
        s1.zk.create("/feature", b("{\"version\":2,\"status\":1,\"features\":{}}"), ZooDefs.Ids.OPEN_ACL_UNSAFE,
                CreateMode.PERSISTENT);
        for (Session s : List.of(s1, s2, s3)) {
            s.expectEvent(EventType.NodeCreated, "/feature");
        }
        // The controller's watches.
        check(s1.zk.getChildren("/brokers/ids", true, new Stat()).size() == 3, "S1 child-watches /brokers/ids");
        for (String p : List.of("/brokers/topics", "/admin/delete_topics", "/log_dir_event_notification",
                "/isr_change_notification")) {
            check(s1.zk.getChildren(p, true, new Stat()).isEmpty(), "S1 child-watches " + p);
        }
        for (int id = 1; id <= 3; id++) {
            check(s1.zk.exists("/brokers/ids/" + id, true) != null, "S1 watches /brokers/ids/" + id);
        }

        // Phase 2: topic "orders", three partitions; admin writes from S2.
        Stat ctlStat = s2.zk.exists("/controller", false);
        MultiOutcome noConfig = multi(s2.zk, Op.check("/controller", ctlStat.getVersion()),
                Op.setData("/config/topics/orders", b("{\"version\":1,\"config\":{}}"), -1));
        expectFailedMulti(noConfig, Code.NONODE, "config write before the config node exists");
        s2.zk.create("/config/topics/orders", b("{\"version\":1,\"config\":{}}"), ZooDefs.Ids.OPEN_ACL_UNSAFE,
                CreateMode.PERSISTENT);
        String assignment = "{\"version\":3,\"partitions\":{\"0\":[1,2],\"1\":[2,3],\"2\":[3,1]},"
                + "\"adding_replicas\":{},\"removing_replicas\":{},\"topic_id\":\"Q6Zj3nXcQ9S0mR5o9M1Z2A\"}";
        s2.zk.create("/brokers/topics/orders", b(assignment), ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        s1.expectEvent(EventType.NodeChildrenChanged, "/brokers/topics");
        check(s1.zk.getChildren("/brokers/topics", true, new Stat()).equals(List.of("orders")), "S1 sees the topic");
        check(assignment.equals(s(s1.zk.getData("/brokers/topics/orders", true, null))), "assignment JSON round-trips");
        String partitions = "/brokers/topics/orders/partitions";
        MultiOutcome o = fenced(s1.zk, epochVersion, Op.create(partitions, null, ZooDefs.Ids.OPEN_ACL_UNSAFE,
                CreateMode.PERSISTENT));
        check(o.rc == 0, "fenced create of partitions", Code.get(o.rc));
        String[] isr = {"[1,2]", "[2,3]", "[3,1]"};
        for (int p = 0; p < 3; p++) {
            o = fenced(s1.zk, epochVersion, Op.create(partitions + "/" + p, null, ZooDefs.Ids.OPEN_ACL_UNSAFE,
                    CreateMode.PERSISTENT));
            check(o.rc == 0, "fenced create of partition " + p, Code.get(o.rc));
        }
        for (int p = 0; p < 3; p++) {
            o = fenced(s1.zk, epochVersion, Op.create(partitions + "/" + p + "/state", b(state(p + 1, 0, isr[p])),
                    ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT));
            check(o.rc == 0 && o.results.get(1) instanceof OpResult.CreateResult, "fenced create of state " + p,
                    Code.get(o.rc));
        }
        o = fenced(s1.zk, epochVersion - 1, Op.setData(partitions + "/0/state", b(state(2, 1, "[2]")), 0));
        expectFailedMulti(o, Code.BADVERSION, "a write fenced with a stale controller epoch");
        Stat st = new Stat();
        check(s(s1.zk.getData(partitions + "/0/state", false, st)).equals(state(1, 0, isr[0])) && st.getVersion() == 0,
                "the fenced-off write left the state alone");

        // Phase 3: ISR shrink (modern: fenced setData), then the legacy notification flow.
        o = fenced(s1.zk, epochVersion, Op.setData(partitions + "/1/state", b(state(2, 0, "[2]")), 0));
        check(o.rc == 0 && ((OpResult.SetDataResult) o.results.get(1)).getStat().getVersion() == 1,
                "fenced ISR update bumps the partition epoch");
        String isrPath = s2.zk.create("/isr_change_notification/isr_change_",
                b("{\"version\":1,\"partitions\":[{\"topic\":\"orders\",\"partition\":1}]}"),
                ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT_SEQUENTIAL);
        check(isrPath.equals("/isr_change_notification/isr_change_0000000000"), "sequential isr_change name", isrPath);
        s1.expectEvent(EventType.NodeChildrenChanged, "/isr_change_notification");
        List<String> changes = s1.zk.getChildren("/isr_change_notification", true, new Stat());
        check(changes.equals(List.of("isr_change_0000000000")), "S1 lists the ISR change", changes);
        o = fenced(s1.zk, epochVersion, Op.delete(isrPath, -1));
        check(o.rc == 0, "fenced delete of the ISR change");
        s1.expectEvent(EventType.NodeChildrenChanged, "/isr_change_notification");
        check(s1.zk.getChildren("/isr_change_notification", true, new Stat()).isEmpty(), "ISR changes consumed");

        // Phase 4: topic config change notification.
        ctlStat = s2.zk.exists("/controller", false);
        o = multi(s2.zk, Op.check("/controller", ctlStat.getVersion()),
                Op.setData("/config/topics/orders", b("{\"version\":1,\"config\":{\"retention.ms\":\"3600000\"}}"), -1));
        check(o.rc == 0, "config write checked against /controller's version");
        try {
            s2.zk.create("/config/changes", null, ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
            check(false, "NODEEXISTS for /config/changes");
        } catch (KeeperException.NodeExistsException e) {
            check(true, "NODEEXISTS for /config/changes");
        }
        String change = s2.zk.create("/config/changes/config_change_",
                b("{\"version\":2,\"entity_path\":\"topics/orders\"}"), ZooDefs.Ids.OPEN_ACL_UNSAFE,
                CreateMode.PERSISTENT_SEQUENTIAL);
        check(change.equals("/config/changes/config_change_0000000000"), "sequential config_change name", change);
        for (Session s : List.of(s1, s2, s3)) {
            s.expectEvent(EventType.NodeChildrenChanged, "/config/changes");
            check(s.zk.getChildren("/config/changes", true, new Stat()).equals(List.of("config_change_0000000000")),
                    s.name + " lists the config change");
            Stat cs = new Stat();
            s.zk.getData(change, false, cs);
            check(Math.abs(System.currentTimeMillis() - cs.getCtime()) < 60000, s.name + " ctime is wall clock",
                    cs.getCtime());
        }

        // Phase 5: broker 3's session is expired by another handle on the same session.
        long s3Id = s3.zk.getSessionId();
        ZooKeeper killer = new ZooKeeper(c, SESSION_TIMEOUT, e -> { }, s3Id, s3.zk.getSessionPasswd());
        long deadline = System.currentTimeMillis() + 10000;
        while (killer.getState() != ZooKeeper.States.CONNECTED && System.currentTimeMillis() < deadline) {
            Thread.sleep(20);
        }
        check(killer.getSessionId() == s3Id, "a second handle attaches to S3's session");
        killer.close();
        s1.expectEvents(List.of("NodeDeleted /brokers/ids/3", "NodeChildrenChanged /brokers/ids"));
        s1.expectNoEvent("(one NodeDeleted for the exists and data watches)");
        s3.awaitState(KeeperState.Expired);
        check(true, "S3's handle learns its session expired");
        List<String> ids = s1.zk.getChildren("/brokers/ids", true, new Stat());
        Collections.sort(ids);
        check(ids.equals(List.of("1", "2")), "brokers after the expiry", ids);
        Stat b1 = new Stat();
        s1.zk.getData("/brokers/ids/1", false, b1);
        check(b1.getCzxid() == epoch1, "broker 1's epoch is unchanged");
        o = fenced(s1.zk, epochVersion, Op.setData(partitions + "/2/state", b(state(1, 1, "[1]")), 0));
        check(o.rc == 0, "leader moves off broker 3");
        s3.zk.close();
        // Kafka re-registers on a new session.
        Session s3b = new Session("S3'", c);
        long epoch3b = startBroker(s3b, chroot, 3, true);
        check(epoch3b > epoch3, "broker 3 re-registers with a newer epoch");
        s1.expectEvent(EventType.NodeChildrenChanged, "/brokers/ids");
        check(s3b.zk.exists("/controller", true) != null, "S3' sees a controller");

        // Phase 6: clean shutdowns; controller failover to broker 3.
        check(s1.zk.exists("/brokers/ids/2", true) != null, "S1 watches broker 2");
        s1.zk.getChildren("/brokers/ids", true, new Stat());
        s2.zk.close();
        s1.expectEvents(List.of("NodeDeleted /brokers/ids/2", "NodeChildrenChanged /brokers/ids"));
        s1.zk.close();
        s3b.expectEvent(EventType.NodeDeleted, "/controller");
        try {
            s3b.zk.getData("/controller", true, null);
            check(false, "no controller after S1 closes");
        } catch (KeeperException.NoNodeException e) {
            check(true, "no controller after S1 closes");
        }
        elect(s3b, 3, 2);
        s3b.zk.close();

        ZooKeeper after = new Session("S4", c).zk;
        check(after.getChildren("/brokers/ids", false).isEmpty(), "every broker registration gone");
        check(after.exists("/controller", false) == null, "no controller left");
        Stat es = new Stat();
        check("2".equals(s(after.getData("/controller_epoch", false, es))) && es.getVersion() == 2,
                "controller_epoch persists at 2");
        after.close();
    }

    /** The old (pre-0.9) consumer group flow under /consumers. */
    static void consumers(String chroot) throws Exception {
        String c = connect + chroot;
        String group = "/consumers/g1";
        Session admin = new Session("C-admin", c);
        createRecursive(admin.zk, "/brokers/topics/clicks", b("{\"version\":1,\"partitions\":{\"0\":[1],\"1\":[1],\"2\":[1],\"3\":[1]}}"));
        List<Session> members = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            members.add(new Session("C" + i, c));
        }
        // Consumers 0 and 1 join; consumer 2 joins later; consumer 0 leaves.
        join(members.get(0), group, 0);
        join(members.get(1), group, 1);
        members.get(0).expectEvent(EventType.NodeChildrenChanged, group + "/ids");
        converge(List.of(members.get(0), members.get(1)), group);
        join(members.get(2), group, 2);
        for (Session m : List.of(members.get(0), members.get(1))) {
            m.expectEvent(EventType.NodeChildrenChanged, group + "/ids");
        }
        converge(members, group);
        members.get(0).zk.close();
        for (Session m : List.of(members.get(1), members.get(2))) {
            m.expectEvent(EventType.NodeChildrenChanged, group + "/ids");
        }
        List<Session> rest = List.of(members.get(1), members.get(2));
        converge(rest, group);
        for (int p = 0; p < 4; p++) {
            Stat st = new Stat();
            byte[] owner = admin.zk.getData(group + "/owners/clicks/" + p, false, st);
            boolean alive = st.getEphemeralOwner() == members.get(1).zk.getSessionId()
                    || st.getEphemeralOwner() == members.get(2).zk.getSessionId();
            check(alive, "partition " + p + " owned by a live consumer (" + s(owner) + ")");
            check("42".equals(s(admin.zk.getData(group + "/offsets/clicks/" + p, false, null))),
                    "offset of partition " + p + " kept");
        }
        for (Session m : rest) {
            m.zk.close();
        }
        check(admin.zk.getChildren(group + "/ids", false).isEmpty(), "no consumer registered at the end");
        check(admin.zk.getChildren(group + "/owners/clicks", false).isEmpty(), "no partition owned at the end");
        admin.zk.close();
    }

    static void join(Session m, String group, int i) throws Exception {
        createRecursive(m.zk, group + "/ids", null);
        createRecursive(m.zk, group + "/owners/clicks", null);
        m.zk.create(group + "/ids/" + m.name, b("{\"version\":1,\"subscription\":{\"clicks\":1},\"pattern\":\"static\"}"),
                ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.EPHEMERAL);
        m.zk.getChildren(group + "/ids", true, new Stat());
        m.zk.getChildren("/brokers/ids", true, new Stat());
    }

    /** Each member rebalances: release what it owns, then claim its range (retrying on NODEEXISTS). */
    static void converge(List<Session> members, String group) throws Exception {
        List<String> ids = members.get(0).zk.getChildren(group + "/ids", false);
        Collections.sort(ids);
        for (Session m : members) {
            // Re-arm the membership watch, as each rebalance does.
            List<String> seen = m.zk.getChildren(group + "/ids", true);
            Collections.sort(seen);
            check(seen.equals(ids), m.name + " sees the same members", seen);
        }
        check(ids.size() == members.size(), "group sees " + members.size() + " consumers", ids);
        for (Session m : members) {
            for (String p : m.zk.getChildren(group + "/owners/clicks", false)) {
                Stat st = m.zk.exists(group + "/owners/clicks/" + p, false);
                if (st != null && st.getEphemeralOwner() == m.zk.getSessionId()) {
                    m.zk.delete(group + "/owners/clicks/" + p, -1);
                }
            }
        }
        for (Session m : members) {
            int index = ids.indexOf(m.name);
            for (int p = 0; p < 4; p++) {
                if (p % ids.size() != index) {
                    continue;
                }
                String owner = group + "/owners/clicks/" + p;
                long deadline = System.currentTimeMillis() + 10000;
                while (true) {
                    try {
                        m.zk.create(owner, b(m.name), ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.EPHEMERAL);
                        break;
                    } catch (KeeperException.NodeExistsException e) {
                        if (System.currentTimeMillis() > deadline) {
                            throw e;
                        }
                        Thread.sleep(50);
                    }
                }
                String offset = group + "/offsets/clicks/" + p;
                try {
                    m.zk.setData(offset, b("42"), -1);
                } catch (KeeperException.NoNodeException e) {
                    createRecursive(m.zk, offset, b("42"));
                }
            }
        }
        List<String> owned = members.get(0).zk.getChildren(group + "/owners/clicks", false);
        check(owned.size() == 4, "all 4 partitions owned after the rebalance", owned);
    }

    public static void main(String[] args) {
        connect = args[0];
        String chroot = args.length > 1 ? args[1] : "/kafka";
        try {
            kafka(chroot);
            consumers(chroot);
        } catch (Throwable t) {
            unexpected(t);
        }
        exitWithResult();
    }
}
