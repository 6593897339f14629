#!/usr/bin/env python3
"""One kazoo session across a server restart, driven by tests/tests/real_clients.rs.

Usage: kazoo_restart.py HOST:PORT ROOT

Connects with a 30 s session, creates the ephemeral ROOT/eph, watches ROOT/watched
(which must exist) with a DataWatch and prints `READY <session id in hex>`. Then it
reports what happens, one line each: `DISCONNECTED` (kazoo's SUSPENDED), `RECONNECTED
<session id>` (CONNECTED again), and `DATA <data>` each time the DataWatch sees the
node's data (the first time before READY); when the data is `after` it stops its
session and exits 0. A LOST session prints `FAIL ...` and exits 1. Every wait is
bounded (60 s).

kazoo 2.11 does not carry one-shot watches over a lost connection: it fires them with a
NONE event, forgets them and sends no SetWatches when it reconnects. Its DataWatch
recipe reads the node again (and watches it again) once the connection is back, which
is what an application relies on.
"""

import queue
import sys

from kazoo.client import KazooClient, KazooState


def main():
    hosts, root = sys.argv[1], sys.argv[2]
    happenings = queue.Queue()
    zk = KazooClient(hosts=hosts, timeout=30.0)
    zk.start(timeout=10)
    session_id = zk.client_id[0]
    zk.add_listener(lambda state: happenings.put(("state", state)))
    zk.create(root + "/eph", b"kazoo", ephemeral=True)
    zk.DataWatch(root + "/watched", lambda data, stat: happenings.put(("data", data)))
    kind, data = happenings.get(timeout=60)
    print("DATA %s" % (data or b"").decode(), flush=True)
    print("READY %x" % session_id, flush=True)
    while True:
        try:
            kind, what = happenings.get(timeout=60)
        except queue.Empty:
            print("FAIL nothing happened for 60 s", flush=True)
            return 1
        if kind == "data":
            print("DATA %s" % (what or b"").decode(), flush=True)
            if what == b"after":
                zk.stop()
                zk.close()
                return 0
        elif what == KazooState.SUSPENDED:
            print("DISCONNECTED", flush=True)
        elif what == KazooState.CONNECTED:
            print("RECONNECTED %x" % zk.client_id[0], flush=True)
        else:
            print("FAIL state %s" % what, flush=True)
            return 1


if __name__ == "__main__":
    sys.exit(main())
