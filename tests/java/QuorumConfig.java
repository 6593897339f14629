// Reads a zoo.cfg with ZooKeeper's own QuorumPeerConfig (as QuorumPeerMain does) and
// prints what ZooKeeper makes of it, one line:
//
//   standalone <clientPort>
//   quorum <myid> <members> <voters> <clientPort>
//   error <message of the innermost cause>
//
//   java -cp <dir>:/usr/share/java/zookeeper.jar QuorumConfig ZOO_CFG

import org.apache.zookeeper.server.quorum.QuorumPeerConfig;

public class QuorumConfig {
    public static void main(String[] args) {
        QuorumPeerConfig config = new QuorumPeerConfig();
        try {
            config.parse(args[0]);
        } catch (Exception e) {
            Throwable cause = e;
            while (cause.getCause() != null) {
                cause = cause.getCause();
            }
            System.out.println("error " + cause.getMessage());
            return;
        }
        int port = config.getClientPortAddress() == null ? 0 : config.getClientPortAddress().getPort();
        if (config.isDistributed()) {
            System.out.println("quorum " + config.getServerId() + " " + config.getServers().size() + " "
                + config.getQuorumVerifier().getVotingMembers().size() + " " + port);
        } else {
            System.out.println("standalone " + port);
        }
    }
}
