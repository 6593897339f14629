// Writes a ZooKeeper 3.8 data directory (version-2/snapshot.1, by ZooKeeper's own
// FileTxnSnapLog) holding one node whose child-creation counter (the cversion
// ZooKeeper persists) is given: states a test cannot reach by making 2^31 children.
//
//   java -cp <dir>:/usr/share/java/zookeeper.jar ZooKeeperSnapshot DATA_DIR PATH CVERSION

import java.io.File;
import java.util.concurrent.ConcurrentHashMap;

import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.server.DataTree;
import org.apache.zookeeper.server.persistence.FileTxnSnapLog;

public class ZooKeeperSnapshot {
    public static void main(String[] args) throws Exception {
        File dir = new File(args[0]);
        DataTree tree = new DataTree();
        tree.createNode(args[1], new byte[0], ZooDefs.Ids.OPEN_ACL_UNSAFE, 0, -1, 1, System.currentTimeMillis());
        tree.getNode(args[1]).stat.setCversion(Integer.parseInt(args[2]));
        tree.lastProcessedZxid = 1;
        new FileTxnSnapLog(dir, dir).save(tree, new ConcurrentHashMap<>(), true);
    }
}
