#!/usr/bin/env python3
"""Recording TCP proxy for the ZooKeeper client protocol (stdlib only).

Listens on 127.0.0.1:<listen-port>, forwards every accepted connection to
<upstream-host>:<upstream-port> and records every frame of both directions,
splitting the byte stream by ZooKeeper's 4-byte big-endian length prefix.

Output (one frame per line, in arrival order at the proxy):

    C <hex>      client -> server frame payload (length prefix stripped)
    S <hex>      server -> client frame payload (length prefix stripped)
    # ...        comment (connection open/close, marks, metadata)

Each TCP connection gets a number; a "# conn N" comment line is written
before any frame whose connection differs from the previous line's, so a
reader can always attribute a frame to a connection.

Optional control port (--control-port): line-based commands, each answered
with "ok\n" only after it has taken effect, so a client can synchronise:

    mark <text>   write "# mark: <text>" to the capture
    drop          abruptly close every open proxied connection (both sides)
    quit          stop the proxy (flushes and exits)
"""

import argparse
import signal
import socket
import sys
import threading

LOCK = threading.Lock()
OUT = None
LAST_CONN = [None]
CONNS = {}  # conn id -> (client sock, upstream sock)
NEXT_ID = [1]
STOP = threading.Event()


def emit(line, conn=None):
    with LOCK:
        if OUT is None or OUT.closed:
            return
        if conn is not None and LAST_CONN[0] != conn:
            OUT.write("# conn %d\n" % conn)
            LAST_CONN[0] = conn
        OUT.write(line + "\n")
        OUT.flush()


def pump(conn_id, src, dst, tag):
    """Copy src -> dst, recording length-prefixed frames."""
    buf = bytearray()
    reason = "eof"
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            buf += data
            # Record complete frames before forwarding their bytes, so the
            # record of a request always precedes the record of its reply.
            while len(buf) >= 4:
                n = int.from_bytes(buf[:4], "big", signed=True)
                if n < 0 or n > 64 * 1024 * 1024:
                    emit("# conn %d %s: bad length %d, raw rest %s"
                         % (conn_id, tag, n, bytes(buf).hex()), conn_id)
                    buf.clear()
                    break
                if len(buf) < 4 + n:
                    break
                emit("%s %s" % (tag, bytes(buf[4:4 + n]).hex()), conn_id)
                del buf[:4 + n]
            dst.sendall(data)
    except OSError as e:
        reason = "error: %s" % e.__class__.__name__
    if buf:
        emit("# conn %d %s: %d trailing bytes of an incomplete frame: %s"
             % (conn_id, tag, len(buf), bytes(buf).hex()), conn_id)
    who = "client" if tag == "C" else "server"
    emit("# conn %d closed by %s (%s)" % (conn_id, who, reason))
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def handle(client, upstream_addr):
    with LOCK:
        conn_id = NEXT_ID[0]
        NEXT_ID[0] += 1
    try:
        up = socket.create_connection(upstream_addr, timeout=10)
        up.settimeout(None)
    except OSError as e:
        emit("# conn %d: upstream connect failed: %s" % (conn_id, e))
        client.close()
        return
    for s in (client, up):
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    with LOCK:
        CONNS[conn_id] = (client, up)
    emit("# conn %d opened" % conn_id)
    t1 = threading.Thread(target=pump, args=(conn_id, client, up, "C"), daemon=True)
    t2 = threading.Thread(target=pump, args=(conn_id, up, client, "S"), daemon=True)
    t1.start()
    t2.start()
    t1.join()
    t2.join()
    with LOCK:
        CONNS.pop(conn_id, None)
    client.close()
    up.close()


def drop_all():
    with LOCK:
        conns = list(CONNS.items())
    for conn_id, (c, u) in conns:
        emit("# conn %d dropped by proxy (control: drop)" % conn_id)
        for s in (c, u):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
    # wait until the pump threads have noticed
    for _ in range(200):
        with LOCK:
            if not any(cid in CONNS for cid, _ in conns):
                return
        threading.Event().wait(0.01)


def control_loop(srv):
    while not STOP.is_set():
        try:
            c, _ = srv.accept()
        except OSError:
            return
        threading.Thread(target=control_client, args=(c,), daemon=True).start()


def control_client(c):
    f = c.makefile("rwb")
    for raw in f:
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        cmd, _, arg = line.partition(" ")
        if cmd == "mark":
            emit("# mark: %s" % arg)
        elif cmd == "drop":
            drop_all()
        elif cmd == "quit":
            f.write(b"ok\n")
            f.flush()
            STOP.set()
            return
        else:
            f.write(b"err unknown command\n")
            f.flush()
            continue
        f.write(b"ok\n")
        f.flush()
    c.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--listen-port", type=int, required=True)
    ap.add_argument("--upstream-host", default="127.0.0.1")
    ap.add_argument("--upstream-port", type=int, required=True)
    ap.add_argument("--control-port", type=int, default=0)
    ap.add_argument("--out", required=True)
    ap.add_argument("--header", action="append", default=[],
                    help="comment line(s) to write at the top of the capture")
    ap.add_argument("--max-seconds", type=float, default=300,
                    help="safety: exit after this many seconds")
    args = ap.parse_args()

    global OUT
    OUT = open(args.out, "w", encoding="ascii")
    for h in args.header:
        OUT.write("# %s\n" % h)
    OUT.write("# format: one frame per line; 'C <hex>' client->server, "
              "'S <hex>' server->client; hex = payload without the 4-byte "
              "length prefix; lines starting with '#' are comments\n")
    OUT.flush()

    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", args.listen_port))
    srv.listen(16)
    if args.control_port:
        ctl = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ctl.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ctl.bind(("127.0.0.1", args.control_port))
        ctl.listen(4)
        threading.Thread(target=control_loop, args=(ctl,), daemon=True).start()

    upstream = (args.upstream_host, args.upstream_port)
    signal.signal(signal.SIGTERM, lambda *_: STOP.set())
    signal.signal(signal.SIGINT, lambda *_: STOP.set())

    def accept_loop():
        while not STOP.is_set():
            try:
                c, _ = srv.accept()
            except OSError:
                return
            threading.Thread(target=handle, args=(c, upstream), daemon=True).start()

    threading.Thread(target=accept_loop, daemon=True).start()
    print("record_proxy: listening on 127.0.0.1:%d -> %s:%d"
          % (args.listen_port, upstream[0], upstream[1]), file=sys.stderr, flush=True)
    STOP.wait(args.max_seconds)
    with LOCK:
        OUT.flush()
    # give pump threads a moment to log closes
    threading.Event().wait(0.2)
    with LOCK:
        OUT.close()
    sys.exit(0)


if __name__ == "__main__":
    main()
