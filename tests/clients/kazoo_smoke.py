#!/usr/bin/env python3
"""Real-client smoke test using kazoo (the pure-Python ZooKeeper client).

Usage:
    kazoo_smoke.py --hosts 127.0.0.1:2181 [--root /kazoo_smoke] [--wait 10] [-v]

Runs a series of independent steps against a ZooKeeper-protocol server
(reference: Apache ZooKeeper 3.8; target: Ferrokeeper). Every check is an
assert with a message. Each step is bounded (explicit waits use --wait
seconds, at most 10; a per-step alarm and a whole-run watchdog guard against
hangs inside the client library). All steps are attempted; the exit code is 0
only if every step passed. The last line printed is a one-line summary.

All nodes live under --root, which is deleted recursively before and after
the run, so leftovers from an earlier (crashed) run do not matter.
"""

import argparse
import logging
import os
import re
import signal
import sys
import threading
import time
import traceback

try:
    from kazoo.client import KazooClient
    from kazoo.exceptions import (
        BadVersionError,
        NoChildrenForEphemeralsError,
        NodeExistsError,
        NoNodeError,
        NotEmptyError,
        RolledBackError,
        RuntimeInconsistency,
    )
    from kazoo.protocol.states import EventType, KazooState, KeeperState
    from kazoo.recipe.lock import LockTimeout
    from kazoo.security import OPEN_ACL_UNSAFE
except ImportError as exc:  # pragma: no cover
    sys.stderr.write(
        "kazoo_smoke: cannot import kazoo (%s); run tests/clients/install.sh\n" % exc
    )
    sys.exit(2)

STEP_ALARM_S = 30  # backstop for a single step (client-library hang)
WATCHDOG_S = 180  # backstop for the whole run

ARGS = None
CLIENTS = []


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------


class StepTimeout(Exception):
    pass


def _alarm(signum, frame):
    raise StepTimeout("step exceeded %d s (client call hung?)" % STEP_ALARM_S)


def log(msg):
    if ARGS.verbose:
        print("    " + msg, flush=True)


def new_client():
    """Start a new KazooClient; fails the step if not connected within --wait."""
    c = KazooClient(hosts=ARGS.hosts, timeout=ARGS.wait)
    CLIENTS.append(c)
    c.start(timeout=ARGS.wait)
    assert c.connected, "client not connected after start()"
    return c


def stop_client(c):
    try:
        c.stop()
        c.close()
    except Exception:  # noqa: BLE001 - best effort
        pass


class Waiter:
    """Collects watch callbacks; wait() blocks at most --wait seconds."""

    def __init__(self):
        self.events = []
        self._cond = threading.Condition()

    def __call__(self, event):
        with self._cond:
            self.events.append(event)
            self._cond.notify_all()

    def wait(self, n=1, what="watch event"):
        deadline = time.monotonic() + ARGS.wait
        with self._cond:
            while len(self.events) < n:
                left = deadline - time.monotonic()
                assert left > 0, "timed out after %s s waiting for %s (got %r)" % (
                    ARGS.wait,
                    what,
                    self.events,
                )
                self._cond.wait(left)
            return self.events[n - 1]


def wait_event(ev, what):
    assert ev.wait(ARGS.wait), "timed out after %s s waiting for %s" % (ARGS.wait, what)


def expect_exc(exc_class, fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except exc_class as e:
        return e
    except Exception as e:  # noqa: BLE001
        raise AssertionError(
            "%s%r raised %s, expected %s"
            % (fn.__name__, args, type(e).__name__, exc_class.__name__)
        )
    raise AssertionError(
        "%s%r did not raise, expected %s" % (fn.__name__, args, exc_class.__name__)
    )


def check_fresh_stat(stat, data_len, what):
    assert stat.version == 0, "%s: version %r != 0" % (what, stat.version)
    assert stat.cversion == 0, "%s: cversion %r != 0" % (what, stat.cversion)
    assert stat.aversion == 0, "%s: aversion %r != 0" % (what, stat.aversion)
    assert stat.dataLength == data_len, "%s: dataLength %r != %r" % (
        what,
        stat.dataLength,
        data_len,
    )
    assert stat.numChildren == 0, "%s: numChildren %r != 0" % (what, stat.numChildren)
    assert stat.czxid > 0, "%s: czxid %r not > 0" % (what, stat.czxid)
    assert stat.czxid == stat.mzxid, "%s: czxid %r != mzxid %r" % (
        what,
        stat.czxid,
        stat.mzxid,
    )
    assert stat.pzxid == stat.czxid, "%s: pzxid %r != czxid %r" % (
        what,
        stat.pzxid,
        stat.czxid,
    )
    assert stat.ctime == stat.mtime, "%s: ctime %r != mtime %r" % (
        what,
        stat.ctime,
        stat.mtime,
    )
    assert stat.ctime > 0, "%s: ctime %r not > 0" % (what, stat.ctime)


# --------------------------------------------------------------------------
# steps; each gets (client, base path of its own)
# --------------------------------------------------------------------------


def step_connect(c, base):
    assert c.state == KazooState.CONNECTED, "state %r != CONNECTED" % c.state
    assert c.client_state == KeeperState.CONNECTED, "client_state %r" % c.client_state
    sid, passwd = c.client_id
    assert sid != 0, "session id is 0"
    assert len(passwd) == 16, "session password length %d != 16" % len(passwd)
    log("session 0x%x" % sid)
    children = c.get_children("/")
    assert "zookeeper" in children, "/ children %r lack 'zookeeper'" % children
    c.sync("/")


def step_server_version(c, base):
    # kazoo reads the version from `envi` (its feature checks compare it with 3.4, 3.5,
    # ...); it must be the ZooKeeper version `srvr` reports, and a 3.5+ one.
    version = c.server_version()
    first = c.command(b"srvr").splitlines()[0]
    m = re.match(r"Zookeeper version: (\d+)\.(\d+)\.(\d+)[-,]", first)
    assert m, "srvr first line %r" % first
    srvr = tuple(int(d) for d in m.groups())
    assert version == srvr, "server_version() %r != srvr's %r" % (version, srvr)
    assert version >= (3, 5, 0), "server_version() %r is older than 3.5" % (version,)
    log("server_version %r" % (version,))


def step_ensure_path(c, base):
    deep = base + "/a/b/c"
    c.ensure_path(deep)
    for p in (base + "/a", base + "/a/b", deep):
        st = c.exists(p)
        assert st is not None, "ensure_path did not create %s" % p
    data, st = c.get(deep)
    assert data == b"", "ensure_path node data %r != b''" % (data,)
    assert st.dataLength == 0, "ensure_path dataLength %r" % st.dataLength
    # idempotent
    c.ensure_path(deep)
    st = c.exists(base + "/a")
    assert st.numChildren == 1, "/a numChildren %r != 1" % st.numChildren
    assert st.cversion == 1, "/a cversion %r != 1" % st.cversion


def step_create_get(c, base):
    c.create(base)
    p = base + "/node"
    ret = c.create(p, b"hello")
    assert ret == p, "create returned %r, expected %r" % (ret, p)
    data, st = c.get(p)
    assert data == b"hello", "get data %r != b'hello'" % (data,)
    check_fresh_stat(st, 5, p)
    assert st.ephemeralOwner == 0, "ephemeralOwner %r != 0" % st.ephemeralOwner
    # exists returns the same stat
    st2 = c.exists(p)
    assert st2 == st, "exists stat %r != get stat %r" % (st2, st)
    # parent bookkeeping
    pst = c.exists(base)
    assert pst.numChildren == 1, "parent numChildren %r != 1" % pst.numChildren
    assert pst.cversion == 1, "parent cversion %r != 1" % pst.cversion
    assert pst.pzxid == st.czxid, "parent pzxid %r != child czxid %r" % (
        pst.pzxid,
        st.czxid,
    )
    # ACL defaults to world:anyone:cdrwa
    acl, ast = c.get_acls(p)
    assert list(acl) == list(OPEN_ACL_UNSAFE), "acl %r != OPEN_ACL_UNSAFE" % (acl,)
    assert ast.aversion == 0, "acl stat aversion %r" % ast.aversion
    # errors
    expect_exc(NodeExistsError, c.create, p, b"again")
    expect_exc(NoNodeError, c.get, base + "/missing")
    expect_exc(NoNodeError, c.create, base + "/missing/child", b"x")
    assert c.exists(base + "/missing") is None, "exists on missing node is not None"


def step_empty_data(c, base):
    c.create(base)
    # kazoo's default value is b"" -> sent as a zero-length buffer
    c.create(base + "/empty")
    data, st = c.get(base + "/empty")
    assert data == b"", "default-created node data %r != b''" % (data,)
    assert st.dataLength == 0, "empty dataLength %r" % st.dataLength
    # value=None is sent as a -1 length buffer (null); ZooKeeper hands it back as
    # null, which kazoo decodes to None (dataLength is 0 either way)
    c.create(base + "/null", None)
    data, st = c.get(base + "/null")
    assert data is None, "null-created node data %r is not None" % (data,)
    assert st.dataLength == 0, "null dataLength %r" % st.dataLength
    # set to empty, then to null
    c.set(base + "/empty", b"x")
    c.set(base + "/empty", b"")
    data, st = c.get(base + "/empty")
    assert data == b"" and st.version == 2, "after set b'': %r v%r" % (data, st.version)
    # binary data round trip, including NULs and high bytes
    blob = bytes(range(256)) * 4
    c.create(base + "/blob", blob)
    data, st = c.get(base + "/blob")
    assert data == blob, "binary data did not round-trip"
    assert st.dataLength == 1024, "blob dataLength %r" % st.dataLength


def step_set_watch(c, base):
    p = base
    c.create(p, b"one")
    data, st0 = c.get(p)
    w = Waiter()
    data, _ = c.get(p, watch=w)
    assert data == b"one", "get data %r" % (data,)

    # DataWatch recipe too
    calls = []
    dw_changed = threading.Event()

    def dw(data, stat, event=None):
        calls.append((data, stat, event))
        if event is not None and event.type == EventType.CHANGED:
            dw_changed.set()

    c.DataWatch(p, dw)
    assert calls and calls[0][0] == b"one", "DataWatch initial call %r" % (calls,)

    st1 = c.set(p, b"two")
    assert st1.version == 1, "version after set %r != 1" % st1.version
    assert st1.mzxid > st1.czxid, "mzxid %r not > czxid %r" % (st1.mzxid, st1.czxid)
    assert st1.czxid == st0.czxid, "czxid changed on set"
    assert st1.dataLength == 3, "dataLength after set %r" % st1.dataLength
    assert st1.mtime >= st1.ctime, "mtime < ctime"

    ev = w.wait(1, "CHANGED from get(watch=)")
    assert ev.type == EventType.CHANGED, "event type %r != CHANGED" % (ev.type,)
    assert ev.path == p, "event path %r != %r" % (ev.path, p)
    assert ev.state == KeeperState.CONNECTED, "event state %r" % (ev.state,)
    wait_event(dw_changed, "DataWatch CHANGED")
    assert calls[-1][0] == b"two", "DataWatch latest data %r" % (calls[-1][0],)

    # watches are one-shot: another set must not fire the get() watch again
    c.set(p, b"three")
    time.sleep(0.3)
    assert len(w.events) == 1, "one-shot watch fired %d times" % len(w.events)

    # conditional set
    expect_exc(BadVersionError, c.set, p, b"bad", version=0)
    st = c.set(p, b"four", version=2)
    assert st.version == 3, "version after conditional set %r != 3" % st.version
    data, st = c.get(p)
    assert data == b"four" and st.version == 3, "get after set %r v%r" % (data, st.version)


def step_child_watch(c, base):
    c.create(base)
    w = Waiter()
    kids = c.get_children(base, watch=w)
    assert kids == [], "children %r != []" % (kids,)
    c.create(base + "/kid1", b"k")
    ev = w.wait(1, "CHILD event")
    assert ev.type == EventType.CHILD, "event type %r != CHILD" % (ev.type,)
    assert ev.path == base, "event path %r != %r" % (ev.path, base)
    kids, st = c.get_children(base, include_data=True)
    assert kids == ["kid1"], "children %r" % (kids,)
    assert st.numChildren == 1 and st.cversion == 1, "parent stat %r" % (st,)

    # ChildrenWatch recipe sees the delete
    seen = []
    gone = threading.Event()

    def cw(children):
        seen.append(sorted(children))
        if children == []:
            gone.set()

    c.ChildrenWatch(base, cw)
    assert seen and seen[0] == ["kid1"], "ChildrenWatch initial %r" % (seen,)
    c.delete(base + "/kid1")
    wait_event(gone, "ChildrenWatch after delete")
    st = c.exists(base)
    assert st.numChildren == 0 and st.cversion == 2, "parent stat after delete %r" % (st,)

    # a child watch does not fire on a data change of the parent
    w2 = Waiter()
    c.get_children(base, watch=w2)
    c.set(base, b"data")
    time.sleep(0.3)
    assert w2.events == [], "child watch fired on parent set: %r" % (w2.events,)


def step_exists_watch(c, base):
    c.create(base)
    p = base + "/later"
    w = Waiter()
    st = c.exists(p, watch=w)
    assert st is None, "exists on missing node returned %r" % (st,)
    c.create(p, b"now")
    ev = w.wait(1, "CREATED event")
    assert ev.type == EventType.CREATED, "event type %r != CREATED" % (ev.type,)
    assert ev.path == p, "event path %r != %r" % (ev.path, p)
    # exists watch on an existing node fires DELETED on delete
    w2 = Waiter()
    assert c.exists(p, watch=w2) is not None, "node vanished"
    c.delete(p)
    ev = w2.wait(1, "DELETED event")
    assert ev.type == EventType.DELETED, "event type %r != DELETED" % (ev.type,)


def step_ephemeral_sequential(c, base):
    c.create(base)
    sid = c.client_id[0]
    e = c.create(base + "/eph", b"e", ephemeral=True)
    assert e == base + "/eph", "ephemeral create returned %r" % (e,)
    st = c.exists(e)
    assert st.ephemeralOwner == sid, "ephemeralOwner 0x%x != session 0x%x" % (
        st.ephemeralOwner,
        sid,
    )
    expect_exc(NoChildrenForEphemeralsError, c.create, e + "/child", b"x")

    seqdir = base + "/seq"
    c.create(seqdir)
    s0 = c.create(seqdir + "/s-", b"0", sequence=True)
    s1 = c.create(seqdir + "/s-", b"1", sequence=True)
    for s in (s0, s1):
        assert re.fullmatch(re.escape(seqdir) + r"/s-\d{10}", s), (
            "sequential name %r lacks a 10-digit suffix" % s
        )
    assert s0 == seqdir + "/s-0000000000", "first sequential child %r" % s0
    assert s1 == seqdir + "/s-0000000001", "second sequential child %r" % s1
    # the counter is the parent's cversion: a plain create bumps it too
    c.create(seqdir + "/plain")
    s3 = c.create(seqdir + "/s-", sequence=True)
    assert s3 == seqdir + "/s-0000000003", "sequential after plain create %r" % s3
    # empty prefix (name is only the counter) and ephemeral+sequential
    s4 = c.create(seqdir + "/", sequence=True)
    assert s4 == seqdir + "/0000000004", "empty-prefix sequential %r" % s4
    es = c.create(seqdir + "/es-", ephemeral=True, sequence=True)
    assert es == seqdir + "/es-0000000005", "ephemeral sequential %r" % es
    assert c.exists(es).ephemeralOwner == sid, "ephemeral-sequential owner"
    kids = sorted(c.get_children(seqdir))
    want = sorted(
        ["s-0000000000", "s-0000000001", "plain", "s-0000000003", "0000000004", "es-0000000005"]
    )
    assert kids == want, "children %r != %r" % (kids, want)


def step_transaction(c, base):
    c.create(base)
    a, b = base + "/a", base + "/b"
    t = c.transaction()
    t.create(a, b"A")
    t.set_data(a, b"AA")
    t.check(a, 1)
    t.create(b, b"B")
    t.delete(b)
    res = t.commit()
    assert len(res) == 5, "results %r" % (res,)
    assert res[0] == a, "create result %r != %r" % (res[0], a)
    st = res[1]
    assert hasattr(st, "version") and st.version == 1, "set_data result %r" % (st,)
    # all ops of one multi share a single zxid
    assert st.czxid == st.mzxid, "multi ops got different zxids: %r" % (st,)
    assert res[2] is True and res[3] == b and res[4] is True, "results %r" % (res,)
    data, st = c.get(a)
    assert data == b"AA" and st.version == 1, "after multi: %r v%r" % (data, st.version)
    assert c.exists(b) is None, "%s should have been deleted in the multi" % b

    # failing multi: nothing is applied, every op gets an error result
    t = c.transaction()
    t.create(base + "/c", b"C")
    t.check(a, 99)
    t.set_data(a, b"nope")
    res = t.commit()
    kinds = [type(r) for r in res]
    want = [RolledBackError, BadVersionError, RuntimeInconsistency]
    assert kinds == want, "failed multi results %r != %r" % (
        [k.__name__ for k in kinds],
        [k.__name__ for k in want],
    )
    assert c.exists(base + "/c") is None, "failed multi applied its create"
    data, st = c.get(a)
    assert data == b"AA" and st.version == 1, "failed multi changed %s" % a

    # failure in the first op
    t = c.transaction()
    t.delete(base + "/nonexistent")
    t.create(base + "/d")
    res = t.commit()
    kinds = [type(r) for r in res]
    assert kinds == [NoNodeError, RuntimeInconsistency], "results %r" % (res,)
    assert c.exists(base + "/d") is None, "failed multi applied its create"


def step_two_clients_ephemeral(c, base):
    c.create(base)
    c1 = new_client()
    c2 = new_client()
    try:
        p = base + "/owned-by-c1"
        c1.create(p, b"c1", ephemeral=True)
        sid1 = c1.client_id[0]
        assert sid1 != c2.client_id[0], "two clients share a session id"
        w = Waiter()
        st = c2.exists(p, watch=w)
        assert st is not None, "second client does not see first client's ephemeral"
        assert st.ephemeralOwner == sid1, "ephemeralOwner 0x%x != 0x%x" % (
            st.ephemeralOwner,
            sid1,
        )
        data, _ = c2.get(p)
        assert data == b"c1", "second client reads %r" % (data,)
        c1.stop()  # closes the session -> ephemerals go away now
        ev = w.wait(1, "DELETED after session close")
        assert ev.type == EventType.DELETED, "event type %r != DELETED" % (ev.type,)
        assert ev.path == p, "event path %r" % (ev.path,)
        assert c2.exists(p) is None, "ephemeral survived its session"
        assert c.exists(p) is None, "ephemeral still visible to a third client"
    finally:
        stop_client(c1)
        stop_client(c2)


def step_delete(c, base):
    c.ensure_path(base + "/x/y/z")
    c.create(base + "/x/leaf", b"l")
    expect_exc(NotEmptyError, c.delete, base + "/x")
    expect_exc(BadVersionError, c.delete, base + "/x/leaf", version=5)
    c.delete(base + "/x/leaf", version=0)
    assert c.exists(base + "/x/leaf") is None, "leaf not deleted"
    expect_exc(NoNodeError, c.delete, base + "/x/leaf")
    c.delete(base, recursive=True)
    assert c.exists(base) is None, "recursive delete left %s" % base
    assert c.exists(base + "/x/y/z") is None, "recursive delete left a descendant"


def step_lock(c, base):
    c1 = new_client()
    c2 = new_client()
    try:
        l1 = c1.Lock(base, "one")
        l2 = c2.Lock(base, "two")
        assert l1.acquire(timeout=ARGS.wait), "first lock acquire failed"
        assert l1.is_acquired, "l1.is_acquired false"
        assert l2.acquire(blocking=False) is False, "second client got a held lock"
        expect_exc(LockTimeout, l2.acquire, timeout=0.5)
        cont = l1.contenders()
        assert cont == ["one"], "contenders %r != ['one']" % (cont,)

        got = threading.Event()
        errs = []

        def contend():
            try:
                if l2.acquire(timeout=ARGS.wait):
                    got.set()
            except Exception as e:  # noqa: BLE001
                errs.append(e)

        t = threading.Thread(target=contend, daemon=True)
        t.start()
        # wait until l2 is queued behind l1
        deadline = time.monotonic() + ARGS.wait
        while l1.contenders() != ["one", "two"]:
            assert time.monotonic() < deadline, "l2 never queued: %r" % (l1.contenders(),)
            time.sleep(0.05)
        assert not got.is_set(), "l2 acquired while l1 held the lock"
        assert l1.release(), "l1.release() false"
        wait_event(got, "second client acquiring the released lock")
        t.join(ARGS.wait)
        assert not errs, "contender raised %r" % (errs,)
        assert l2.contenders() == ["two"], "contenders %r" % (l2.contenders(),)
        assert l2.release(), "l2.release() false"
        assert c.get_children(base) == [], "lock nodes left: %r" % (c.get_children(base),)
    finally:
        stop_client(c1)
        stop_client(c2)


def step_counter(c, base):
    c2 = new_client()
    try:
        ctr = c.Counter(base)
        assert ctr.value == 0, "fresh counter %r" % ctr.value
        ctr += 5
        ctr -= 2
        assert ctr.value == 3, "counter %r != 3" % ctr.value
        other = c2.Counter(base)
        other += 10
        assert ctr.value == 13, "counter after other client %r != 13" % ctr.value
        # concurrent increments from both clients (CAS with versions)
        def bump(cc, n):
            k = cc.Counter(base)
            for _ in range(n):
                k += 1

        ts = [
            threading.Thread(target=bump, args=(c, 20), daemon=True),
            threading.Thread(target=bump, args=(c2, 20), daemon=True),
        ]
        for t in ts:
            t.start()
        for t in ts:
            t.join(ARGS.wait)
            assert not t.is_alive(), "counter thread hung"
        assert ctr.value == 53, "counter after concurrent bumps %r != 53" % ctr.value
        fctr = c.Counter(base + "-float", default=0.0)
        fctr += 1.5
        assert fctr.value == 1.5, "float counter %r" % fctr.value
    finally:
        stop_client(c2)


def step_election(c, base):
    c1 = new_client()
    c2 = new_client()
    try:
        e1 = c1.Election(base, "e1")
        e2 = c2.Election(base, "e2")
        leader = []
        lead1, lead2 = threading.Event(), threading.Event()
        quit1, quit2 = threading.Event(), threading.Event()

        def lead(name, started, quit_ev):
            leader.append(name)
            started.set()
            quit_ev.wait(ARGS.wait)

        t1 = threading.Thread(target=e1.run, args=(lead, "e1", lead1, quit1), daemon=True)
        t1.start()
        wait_event(lead1, "e1 becoming leader")
        t2 = threading.Thread(target=e2.run, args=(lead, "e2", lead2, quit2), daemon=True)
        t2.start()
        deadline = time.monotonic() + ARGS.wait
        while e1.contenders() != ["e1", "e2"]:
            assert time.monotonic() < deadline, "contenders %r" % (e1.contenders(),)
            time.sleep(0.05)
        assert not lead2.is_set(), "e2 leads while e1 leads"
        quit1.set()  # e1 finishes its term
        wait_event(lead2, "e2 becoming leader after e1 resigned")
        assert leader == ["e1", "e2"], "leadership order %r" % (leader,)
        quit2.set()
        t1.join(ARGS.wait)
        t2.join(ARGS.wait)
        assert not t1.is_alive() and not t2.is_alive(), "election threads hung"
        assert e1.contenders() == [], "contenders left %r" % (e1.contenders(),)
    finally:
        stop_client(c1)
        stop_client(c2)


def step_queue(c, base):
    c2 = new_client()
    try:
        q = c.Queue(base)
        q.put(b"first")
        q.put(b"second")
        q.put(b"urgent", priority=1)
        assert len(q) == 3, "queue length %r" % len(q)
        q2 = c2.Queue(base)
        assert q2.get() == b"urgent", "priority item not first"
        assert q.get() == b"first", "FIFO order broken"
        assert q2.get() == b"second", "FIFO order broken"
        assert q.get() is None, "empty queue get() not None"
        assert len(q) == 0, "queue not empty"
        # LockingQueue: get/consume semantics
        lq = c.LockingQueue(base + "-locking")
        lq.put(b"job")
        got = c2.LockingQueue(base + "-locking").get(timeout=ARGS.wait)
        assert got == b"job", "LockingQueue get %r" % (got,)
    finally:
        stop_client(c2)


def run_threads(*targets):
    """Runs each callable on a thread; returns their results (bounded by --wait)."""
    results = [None] * len(targets)
    errors = []

    def run(i, fn):
        try:
            results[i] = fn()
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [
        threading.Thread(target=run, args=(i, fn), daemon=True) for i, fn in enumerate(targets)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(ARGS.wait)
        assert not t.is_alive(), "recipe thread hung"
    assert not errors, "recipe thread raised %r" % (errors,)
    return results


def step_barrier(c, base):
    c2 = new_client()
    try:
        b = c.Barrier(base + "/barrier")
        b.create()
        other = c2.Barrier(base + "/barrier")
        assert other.wait(0.3) is False, "wait() passed a standing barrier"
        waiting = threading.Thread(target=lambda: waited.append(other.wait(ARGS.wait)), daemon=True)
        waited = []
        waiting.start()
        time.sleep(0.2)
        b.remove()
        waiting.join(ARGS.wait)
        assert waited == [True], "wait() after remove(): %r" % (waited,)

        path = base + "/double"
        d1 = c.DoubleBarrier(path, 2, identifier="one")
        d2 = c2.DoubleBarrier(path, 2, identifier="two")
        run_threads(d1.enter, d2.enter)
        assert d1.participating and d2.participating, "not both inside the double barrier"
        run_threads(d1.leave, d2.leave)
        assert not d1.participating and not d2.participating, "still inside after leave()"
        assert c.get_children(path) == [], "double barrier left %r" % (c.get_children(path),)
    finally:
        stop_client(c2)


def step_party(c, base):
    c2 = new_client()
    try:
        for kind in ("Party", "ShallowParty"):
            path = "%s/%s" % (base, kind)
            p1 = getattr(c, kind)(path, "one")
            p2 = getattr(c2, kind)(path, "two")
            p1.join()
            assert sorted(p2) == ["one"], "%s members %r" % (kind, list(p2))
            p2.join()
            assert len(p1) == 2 and sorted(p1) == ["one", "two"], "%s members %r" % (kind, list(p1))
            p1.leave()
            assert list(p2) == ["two"], "%s after leave %r" % (kind, list(p2))
            stop_client(c2)
            c2 = new_client()
            assert len(c.Party(path) if kind == "Party" else c.ShallowParty(path)) == 0, (
                "%s: a closed session is still a member" % kind
            )
    finally:
        stop_client(c2)


def step_partitioner(c, base):
    c2 = new_client()
    items = {1, 2, 3, 4, 5}
    try:
        p1 = c.SetPartitioner(base, set=items, identifier="one", time_boundary=0.3)
        p2 = c2.SetPartitioner(base, set=items, identifier="two", time_boundary=0.3)

        def settle(parts):
            deadline = time.monotonic() + ARGS.wait
            while not all(p.acquired for p in parts):
                assert time.monotonic() < deadline, "partitions not acquired: %r" % (
                    [p.state for p in parts],
                )
                for p in parts:
                    assert not p.failed, "partitioner failed"
                    if p.release:
                        p.release_set()
                    elif p.allocating:
                        p.wait_for_acquire(timeout=0.2)
                time.sleep(0.02)

        settle([p1, p2])
        a, b = set(p1), set(p2)
        assert a and b and not (a & b) and a | b == items, "partition %r / %r" % (a, b)
        p2.finish()
        # p1 sees the party change, releases its share and takes every item.
        deadline = time.monotonic() + ARGS.wait
        while p1.acquired and set(p1) != items:
            assert time.monotonic() < deadline, "p1 did not notice: %r" % (set(p1),)
            time.sleep(0.02)
        settle([p1])
        assert set(p1) == items, "after the other left: %r" % (set(p1),)
        p1.finish()
    finally:
        stop_client(c2)


def step_tree_cache(c, base):
    from kazoo.recipe.cache import TreeCache, TreeEvent

    c.ensure_path(base + "/a")
    events = Waiter()
    tc = TreeCache(c, base)
    tc.listen(events)
    tc.start()
    try:
        deadline = time.monotonic() + ARGS.wait

        def until(kind, path):
            while True:
                for e in events.events:
                    node = e.event_data
                    if e.event_type == kind and (path is None or (node and node.path == path)):
                        return node
                assert time.monotonic() < deadline, "no %s %s in %r" % (kind, path, events.events)
                time.sleep(0.02)

        until(TreeEvent.INITIALIZED, None)
        assert tc.get_children(base) == frozenset(["a"]), "cached children %r" % (
            tc.get_children(base),
        )
        c.create(base + "/a/b", b"hello")
        assert until(TreeEvent.NODE_ADDED, base + "/a/b").data == b"hello"
        c.set(base + "/a/b", b"again")
        assert until(TreeEvent.NODE_UPDATED, base + "/a/b").data == b"again"
        assert tc.get_data(base + "/a/b").data == b"again", "cached data"
        c.delete(base + "/a/b")
        until(TreeEvent.NODE_REMOVED, base + "/a/b")
        assert tc.get_data(base + "/a/b") is None, "removed node still cached"
    finally:
        tc.close()


STEPS = [
    ("connect", step_connect),
    ("server_version", step_server_version),
    ("ensure_path", step_ensure_path),
    ("create_get_stat", step_create_get),
    ("empty_and_binary_data", step_empty_data),
    ("set_with_data_watch", step_set_watch),
    ("child_watch", step_child_watch),
    ("exists_watch", step_exists_watch),
    ("ephemeral_sequential", step_ephemeral_sequential),
    ("transaction", step_transaction),
    ("two_clients_ephemeral", step_two_clients_ephemeral),
    ("delete_recursive", step_delete),
    ("recipe_lock", step_lock),
    ("recipe_counter", step_counter),
    ("recipe_election", step_election),
    ("recipe_queue", step_queue),
    ("recipe_barrier", step_barrier),
    ("recipe_party", step_party),
    ("recipe_set_partitioner", step_partitioner),
    ("recipe_tree_cache", step_tree_cache),
]


def main():
    global ARGS
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hosts", required=True, help="host:port[,host:port...]")
    ap.add_argument("--root", default="/kazoo_smoke", help="scratch root znode")
    ap.add_argument("--wait", type=float, default=10.0, help="max seconds per wait (<=10)")
    ap.add_argument("--only", action="append", help="run only the named step(s)")
    ap.add_argument("-v", "--verbose", action="store_true")
    ARGS = ap.parse_args()
    ARGS.wait = min(ARGS.wait, 10.0)
    logging.basicConfig(
        level=logging.DEBUG if ARGS.verbose else logging.WARNING,
        format="kazoo-log %(levelname)s %(name)s: %(message)s",
    )
    if not ARGS.verbose:
        # kazoo logs expected things (e.g. lock contention) at WARNING
        logging.getLogger("kazoo").setLevel(logging.ERROR)

    t_start = time.monotonic()

    def watchdog():
        sys.stderr.write("kazoo_smoke: FAIL: watchdog fired after %d s\n" % WATCHDOG_S)
        sys.stdout.write("kazoo_smoke: FAIL (watchdog after %d s)\n" % WATCHDOG_S)
        sys.stdout.flush()
        os._exit(3)

    wd = threading.Timer(WATCHDOG_S, watchdog)
    wd.daemon = True
    wd.start()
    signal.signal(signal.SIGALRM, _alarm)

    root = ARGS.root.rstrip("/")
    try:
        signal.alarm(STEP_ALARM_S)
        c = new_client()
        if c.exists(root):
            c.delete(root, recursive=True)
        c.create(root)
        signal.alarm(0)
    except Exception as e:  # noqa: BLE001
        signal.alarm(0)
        print("kazoo_smoke: FAIL: cannot connect/prepare %s on %s: %s: %s"
              % (root, ARGS.hosts, type(e).__name__, e))
        for cc in CLIENTS:
            stop_client(cc)
        sys.exit(1)

    failures = []
    ran = 0
    for name, fn in STEPS:
        if ARGS.only and name not in ARGS.only:
            continue
        ran += 1
        t0 = time.monotonic()
        signal.alarm(STEP_ALARM_S)
        try:
            fn(c, "%s/%s" % (root, name))
            signal.alarm(0)
            print("ok   %-24s %6.3f s" % (name, time.monotonic() - t0), flush=True)
        except BaseException as e:  # noqa: BLE001 - includes StepTimeout
            signal.alarm(0)
            if isinstance(e, KeyboardInterrupt):
                raise
            failures.append(name)
            print("FAIL %-24s %6.3f s: %s: %s"
                  % (name, time.monotonic() - t0, type(e).__name__, e), flush=True)
            if ARGS.verbose or not isinstance(e, AssertionError):
                traceback.print_exc()
            if not c.connected:
                try:
                    c.stop()
                    c.close()
                    c = new_client()
                except Exception as e2:  # noqa: BLE001
                    print("kazoo_smoke: cannot reconnect: %r" % (e2,))
                    break

    # cleanup
    signal.alarm(STEP_ALARM_S)
    try:
        if c.connected and c.exists(root):
            c.delete(root, recursive=True)
    except Exception as e:  # noqa: BLE001
        print("kazoo_smoke: warning: cleanup of %s failed: %r" % (root, e))
    finally:
        signal.alarm(0)
    for cc in CLIENTS:
        stop_client(cc)
    wd.cancel()

    elapsed = time.monotonic() - t_start
    if failures:
        print("kazoo_smoke: FAIL %d/%d steps failed (%s) in %.2f s against %s"
              % (len(failures), ran, ", ".join(failures), elapsed, ARGS.hosts))
        sys.exit(1)
    print("kazoo_smoke: PASS %d/%d steps in %.2f s against %s" % (ran, ran, elapsed, ARGS.hosts))


if __name__ == "__main__":
    main()
