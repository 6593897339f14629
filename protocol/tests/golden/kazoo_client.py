#!/usr/bin/env python3
"""Drives the kazoo Python client through record_proxy.py (golden capture).

    python3 kazoo_client.py <zkHost:port> <controlPort>

Sequential, synchronous calls; before each step a "mark <step>" is sent to the
proxy's control port (and acknowledged) so the capture is annotated.
"""

import socket
import sys
import threading
import time

from kazoo.client import KazooClient
from kazoo.exceptions import BadVersionError, NoNodeError, NotEmptyError
from kazoo.protocol.states import KazooState

hosts, ctl_port = sys.argv[1], int(sys.argv[2])
ctl = socket.create_connection(("127.0.0.1", ctl_port), 10)
ctl_f = ctl.makefile("rwb")


def control(cmd):
    ctl_f.write((cmd + "\n").encode())
    ctl_f.flush()
    r = ctl_f.readline().decode().strip()
    if r != "ok":
        raise RuntimeError("control %s -> %r" % (cmd, r))


def mark(s):
    print("==", s, flush=True)
    control("mark " + s)


def expect(exc, fn, *a, **kw):
    try:
        fn(*a, **kw)
    except exc as e:
        print("   got expected", type(e).__name__, flush=True)
        return
    raise RuntimeError("expected %s" % exc.__name__)


mark("connect (timeout=30s, auth_data digest user:pass)")
zk = KazooClient(hosts=hosts, timeout=30.0, auth_data=[("digest", "user:pass")])
connected = threading.Event()
lost = threading.Event()


def listener(state):
    print("   state", state, flush=True)
    if state == KazooState.CONNECTED:
        connected.set()
    else:
        lost.set()


zk.add_listener(listener)
zk.start(timeout=15)
time.sleep(0.2)  # let the auth reply arrive

mark("create /kz data=root")
zk.create("/kz", b"root")
mark("create /kz/eph ephemeral")
zk.create("/kz/eph", b"e", ephemeral=True)
mark("create /kz/seq- sequence")
zk.create("/kz/seq-", b"s", sequence=True)
mark("create /kz/c2 include_data=True (create2)")
zk.create("/kz/c2", b"c2", include_data=True)
mark("get /kz")
zk.get("/kz")
mark("get /kz/missing -> NoNode")
expect(NoNodeError, zk.get, "/kz/missing")

fired = threading.Event()
mark("get /kz with watch")
zk.get("/kz", watch=lambda ev: (print("   watch", ev, flush=True), fired.set()))
mark("set /kz version=0 -> NodeDataChanged notification")
zk.set("/kz", b"root2", version=0)
if not fired.wait(10):
    raise RuntimeError("no notification")
mark("set /kz version=0 again -> BadVersion")
expect(BadVersionError, zk.set, "/kz", b"x", version=0)
mark("get_children /kz")
zk.get_children("/kz")
mark("get_children /kz include_data=True (getChildren2)")
zk.get_children("/kz", include_data=True)
mark("exists /kz")
zk.exists("/kz")
mark("exists /kz/missing")
zk.exists("/kz/missing")
mark("sync /kz")
zk.sync("/kz")
mark("get_acls /kz")
zk.get_acls("/kz")

mark("transaction OK [create /kz/t1, set_data /kz/t1, check /kz/t1 v1, delete /kz/c2]")
t = zk.transaction()
t.create("/kz/t1", b"t")
t.set_data("/kz/t1", b"t2", version=0)
t.check("/kz/t1", 1)
t.delete("/kz/c2")
print("   ", t.commit(), flush=True)
mark("transaction FAIL [create /kz/t2, delete /kz/missing]")
t = zk.transaction()
t.create("/kz/t2", b"t")
t.delete("/kz/missing")
print("   ", t.commit(), flush=True)

mark("delete /kz (not empty) -> NotEmpty")
expect(NotEmptyError, zk.delete, "/kz")
mark("delete /kz/t1 version=1")
zk.delete("/kz/t1", version=1)

events2 = []
mark("exists /kz/later with watch")
zk.exists("/kz/later", watch=lambda ev: (print("   watch", ev, flush=True), events2.append(ev)))
connected.clear()
mark("proxy drops the connection -> kazoo reconnects with its session id and re-sends auth"
     " (kazoo 2.x sends NO setWatches: it fires its pending watches with a NONE/CONNECTING event instead)")
control("drop")
if not connected.wait(15):
    raise RuntimeError("no reconnect")
time.sleep(0.3)
mark("create /kz/later (no notification: the watch was not re-registered)")
zk.create("/kz/later", b"l")
time.sleep(0.2)
print("   events for /kz/later watch:", events2, flush=True)

mark("stop (closeSession)")
zk.stop()
zk.close()
print("kazoo scenario OK", flush=True)
