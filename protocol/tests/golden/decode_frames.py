#!/usr/bin/env python3
"""Decode a golden .frames capture into a human-readable table (stdlib only).

    python3 decode_frames.py FILE.frames            # plain text
    python3 decode_frames.py --markdown FILE.frames # markdown table
    --brief                                         # abbreviate Stat records

Knows the ZooKeeper 3.8 Jute records used by the captures; it is an
independent reference decoder meant for reviewing captures, not a spec.
Every frame is decoded completely; leftover bytes are reported as "REST=".
"""

import struct
import sys

OPS = {
    0: "notification", 1: "create", 2: "delete", 3: "exists", 4: "getData",
    5: "setData", 6: "getACL", 7: "setACL", 8: "getChildren", 9: "sync",
    11: "ping", 12: "getChildren2", 13: "check", 14: "multi", 15: "create2",
    16: "reconfig", 17: "checkWatches", 18: "removeWatches",
    19: "createContainer", 20: "deleteContainer", 21: "createTTL",
    22: "multiRead", 100: "auth", 101: "setWatches", 102: "sasl",
    103: "getEphemerals", 104: "getAllChildrenNumber", 105: "setWatches2",
    106: "addWatch", 107: "whoAmI", -10: "createSession", -11: "closeSession",
    -1: "error",
}
ERRS = {
    0: "OK", -1: "SystemError", -2: "RuntimeInconsistency", -3: "DataInconsistency",
    -4: "ConnectionLoss", -5: "MarshallingError", -6: "Unimplemented",
    -7: "OperationTimeout", -8: "BadArguments", -13: "NewConfigNoQuorum",
    -14: "ReconfigInProgress", -100: "APIError", -101: "NoNode", -102: "NoAuth",
    -103: "BadVersion", -108: "NoChildrenForEphemerals", -110: "NodeExists",
    -111: "NotEmpty", -112: "SessionExpired", -113: "InvalidCallback",
    -114: "InvalidACL", -115: "AuthFailed", -118: "SessionMoved",
    -119: "NotReadOnly", -120: "EphemeralOnLocalSession", -121: "NoWatcher",
    -122: "RequestTimeout", -123: "ReconfigDisabled", -124: "SessionClosedRequireSasl",
    -125: "QuotaExceeded", -127: "Throttled",
}
EVENT_TYPES = {-1: "None", 1: "NodeCreated", 2: "NodeDeleted", 3: "NodeDataChanged",
               4: "NodeChildrenChanged", 5: "DataWatchRemoved", 6: "ChildWatchRemoved",
               7: "PersistentWatchRemoved"}
STATES = {-1: "Unknown", 0: "Disconnected", 3: "SyncConnected", 4: "AuthFailed",
          5: "ConnectedReadOnly", 6: "SaslAuthenticated", -112: "Expired", 7: "Closed"}
SPECIAL_XIDS = {-1: "notification", -2: "ping", -4: "auth", -8: "setWatches"}


class R:
    def __init__(self, b):
        self.b = b
        self.i = 0

    def left(self):
        return len(self.b) - self.i

    def int(self):
        v = struct.unpack_from(">i", self.b, self.i)[0]
        self.i += 4
        return v

    def long(self):
        v = struct.unpack_from(">q", self.b, self.i)[0]
        self.i += 8
        return v

    def bool(self):
        v = self.b[self.i]
        self.i += 1
        return v != 0

    def buf(self):
        n = self.int()
        if n < 0:
            return None
        v = self.b[self.i:self.i + n]
        if len(v) != n:
            raise ValueError("short buffer")
        self.i += n
        return bytes(v)

    def str(self):
        v = self.buf()
        return None if v is None else v.decode("utf-8", "replace")

    def vec(self, f):
        n = self.int()
        if n < 0:
            return None
        return [f() for _ in range(n)]

    def stat(self):
        names = ["czxid", "mzxid", "ctime", "mtime", "version", "cversion", "aversion",
                 "ephemeralOwner", "dataLength", "numChildren", "pzxid"]
        kinds = "qqqqiiiqiiq"
        d = {}
        for n, k in zip(names, kinds):
            d[n] = self.long() if k == "q" else self.int()
        return ("Stat{czxid=%#x mzxid=%#x ver=%d cver=%d aver=%d eph=%#x dlen=%d nkids=%d pzxid=%#x}"
                % (d["czxid"], d["mzxid"], d["version"], d["cversion"], d["aversion"],
                   d["ephemeralOwner"], d["dataLength"], d["numChildren"], d["pzxid"]))

    def acl(self):
        perms = self.int()
        scheme = self.str()
        ident = self.str()
        return "%s:%s:%d" % (scheme, ident, perms)


def fmt_data(d):
    if d is None:
        return "null"
    try:
        s = d.decode("ascii")
        if all(32 <= ord(c) < 127 for c in s):
            return repr(s)
    except UnicodeDecodeError:
        pass
    return "0x" + d.hex()


def req_body(op, r):
    if op in (1, 15, 19):
        return "path=%s data=%s acl=%s flags=%d" % (r.str(), fmt_data(r.buf()), r.vec(r.acl), r.int())
    if op == 21:
        return "path=%s data=%s acl=%s flags=%d ttl=%d" % (r.str(), fmt_data(r.buf()), r.vec(r.acl), r.int(), r.long())
    if op in (2, 13):
        return "path=%s version=%d" % (r.str(), r.int())
    if op in (3, 4, 8, 12):
        return "path=%s watch=%s" % (r.str(), r.bool())
    if op == 5:
        return "path=%s data=%s version=%d" % (r.str(), fmt_data(r.buf()), r.int())
    if op in (6, 9, 104, 20):
        return "path=%s" % r.str()
    if op == 7:
        return "path=%s acl=%s version=%d" % (r.str(), r.vec(r.acl), r.int())
    if op in (14, 22):
        parts = []
        while True:
            t, done, err = r.int(), r.bool(), r.int()
            if done:
                parts.append("END(type=%d,done=1,err=%d)" % (t, err))
                break
            parts.append("%s{%s}" % (OPS.get(t, t), req_body(t, r)))
        return "; ".join(parts)
    if op in (17, 18):
        return "path=%s type=%d" % (r.str(), r.int())
    if op == 100:
        return "type=%d scheme=%s auth=%s" % (r.int(), r.str(), fmt_data(r.buf()))
    if op == 101:
        return "relZxid=%#x data=%s exist=%s child=%s" % (r.long(), r.vec(r.str), r.vec(r.str), r.vec(r.str))
    if op == 105:
        return ("relZxid=%#x data=%s exist=%s child=%s persistent=%s recursive=%s"
                % (r.long(), r.vec(r.str), r.vec(r.str), r.vec(r.str), r.vec(r.str), r.vec(r.str)))
    if op == 103:
        return "prefix=%s" % r.str()
    if op == 106:
        return "path=%s mode=%d" % (r.str(), r.int())
    if op == 16:
        return "joining=%s leaving=%s newMembers=%s curConfigId=%d" % (r.str(), r.str(), r.str(), r.long())
    if op in (11, 107, -11):
        return ""
    return "?"


def resp_body(op, r):
    if op == 1:
        return "path=%s" % r.str()
    if op in (15, 19, 21):
        return "path=%s %s" % (r.str(), r.stat())
    if op in (3, 5, 7):
        return r.stat()
    if op in (4, 16):
        return "data=%s %s" % (fmt_data(r.buf()), r.stat())
    if op == 6:
        return "acl=%s %s" % (r.vec(r.acl), r.stat())
    if op == 8:
        return "children=%s" % r.vec(r.str)
    if op == 12:
        return "children=%s %s" % (r.vec(r.str), r.stat())
    if op == 9:
        return "path=%s" % r.str()
    if op in (14, 22):
        parts = []
        while True:
            t, done, err = r.int(), r.bool(), r.int()
            if done:
                parts.append("END(type=%d,done=1,err=%d)" % (t, err))
                break
            if t == -1:
                e2 = r.int()
                parts.append("error(hdr.err=%d){ErrorResponse.err=%d %s}" % (err, e2, ERRS.get(e2, "?")))
            else:
                parts.append("%s(err=%d){%s}" % (OPS.get(t, t), err, resp_body(t, r)))
        return "; ".join(parts)
    if op == 103:
        return "ephemerals=%s" % r.vec(r.str)
    if op == 104:
        return "total=%d" % r.int()
    if op == 106:
        return "ErrorResponse{err=%d}" % r.int()
    if op == 107:
        return "clientInfo=%s" % r.vec(lambda: "%s:%s" % (r.str(), r.str()))
    return ""


def decode_file(path):
    """Yield (lineno, conn, dir, xid, what, detail) per frame line."""
    conn = None
    state = {}  # conn -> {"c_first": bool, "s_first": bool, "pending": {xid: op}}
    with open(path) as f:
        for ln, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if line.startswith("# conn ") and line[7:].strip().isdigit():
                conn = int(line[7:])
                continue
            if not line or line.startswith("#"):
                continue
            d, hx = line.split(" ", 1)
            b = bytes.fromhex(hx)
            st = state.setdefault(conn, {"c_first": True, "s_first": True, "pending": {}})
            r = R(b)
            try:
                if d == "C" and st["c_first"]:
                    st["c_first"] = False
                    pv, lz, to, sid, pw = r.int(), r.long(), r.int(), r.long(), r.buf()
                    ro = r.bool() if r.left() else "absent"
                    yield (ln, conn, d, "-", "ConnectRequest",
                           "proto=%d lastZxid=%#x timeout=%d sid=%#x passwd=%s readOnly=%s len=%d"
                           % (pv, lz, to, sid, pw.hex(), ro, len(b)))
                elif d == "S" and st["s_first"]:
                    st["s_first"] = False
                    pv, to, sid, pw = r.int(), r.int(), r.long(), r.buf()
                    ro = r.bool() if r.left() else "absent"
                    yield (ln, conn, d, "-", "ConnectResponse",
                           "proto=%d timeout=%d sid=%#x passwd=%s readOnly=%s len=%d"
                           % (pv, to, sid, pw.hex(), ro, len(b)))
                elif d == "C":
                    xid, op = r.int(), r.int()
                    st["pending"][xid] = op
                    body = req_body(op, r)
                    yield (ln, conn, d, xid, "op=%d %s" % (op, OPS.get(op, "?")), body)
                else:
                    xid, zxid, err = r.int(), r.long(), r.int()
                    head = "err=%d %s zxid=%#x" % (err, ERRS.get(err, "?"), zxid)
                    if xid == -1:
                        t, s, p = r.int(), r.int(), r.str()
                        body = "WatcherEvent{type=%d %s, state=%d %s, path=%s}" % (
                            t, EVENT_TYPES.get(t, "?"), s, STATES.get(s, "?"), p)
                    else:
                        op = st["pending"].pop(xid, None)
                        if op is None:
                            op = {-2: 11, -4: 100, -8: 101}.get(xid)
                        head += " (reply to %s)" % OPS.get(op, "?")
                        body = resp_body(op, r) if (r.left() and op is not None) else ""
                    yield (ln, conn, d, xid, head, body)
            except (ValueError, struct.error, IndexError) as e:
                yield (ln, conn, d, "?", "DECODE ERROR %s" % e, hx)
                continue
            if r.left():
                yield (ln, conn, d, "", "REST=", bytes(r.b[r.i:]).hex())


def main():
    import re
    args = sys.argv[1:]
    md = "--markdown" in args
    brief = "--brief" in args
    args = [a for a in args if not a.startswith("--")]
    for p in args:
        marks = {}
        with open(p) as f:
            for ln, line in enumerate(f, 1):
                if line.startswith("# mark: "):
                    marks[ln] = line[8:].strip()
        pending_marks = sorted(marks)
        if md:
            print("| line | conn | dir | xid | opcode (request) / reply header | decoded |")
            print("|---:|---:|:---:|---:|---|---|")
        for row in decode_file(p):
            ln, conn, d, xid, what, det = row
            while pending_marks and pending_marks[0] < ln:
                m = pending_marks.pop(0)
                if md:
                    print("| %d | | | | **step: %s** | |" % (m, marks[m].replace("|", "\\|")))
                else:
                    print("%4d ---- %s" % (m, marks[m]))
            det = str(det)
            if brief:
                det = re.sub(r"Stat\{[^}]*\}", "Stat{..}", det)
            if md:
                det = det.replace("|", "\\|")
                print("| %s | %s | %s | %s | %s | %s |" % (ln, conn, d, xid, what, det))
            else:
                print("%4s c%s %s xid=%-5s %-45s %s" % (ln, conn, d, xid, what, det))
        for m in pending_marks:
            if md:
                print("| %d | | | | **step: %s** | |" % (m, marks[m].replace("|", "\\|")))
            else:
                print("%4d ---- %s" % (m, marks[m]))


if __name__ == "__main__":
    main()
