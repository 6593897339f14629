#!/usr/bin/env bash
# Prove the smoke tests against the real Apache ZooKeeper 3.8 server:
# start a standalone server on a free loopback port with a temporary dataDir,
# run run_all.sh against it, stop the server and clean up.
#
# Usage: run_against_real_zk.sh [--no-install] [kazoo] [zkcli] [c]
# Environment: ZK_JAR (default /usr/share/java/zookeeper.jar), KEEP_TMP=1 keeps the temp dir.
set -uo pipefail

DIR=$(cd "$(dirname "$0")" && pwd)
ZK_JAR=${ZK_JAR:-/usr/share/java/zookeeper.jar}
INSTALL=1
if [ "${1:-}" = "--no-install" ]; then
    INSTALL=0
    shift
fi

die() { echo "run_against_real_zk: ERROR: $*" >&2; exit 1; }

if [ $INSTALL -eq 1 ]; then
    "$DIR/install.sh" || die "install.sh failed"
fi
[ -f "$ZK_JAR" ] || die "$ZK_JAR not found (run install.sh)"

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

ruok() { # ruok PORT -> prints the 4lw reply
    timeout 2 bash -c 'exec 3<>/dev/tcp/127.0.0.1/'"$1"' && printf ruok >&3 && cat <&3' 2>/dev/null
}

TMP=$(mktemp -d /tmp/ferrokeeper-realzk.XXXXXX)
ZK_PID=""
stop_zk() {
    if [ -n "$ZK_PID" ] && kill -0 "$ZK_PID" 2>/dev/null; then
        kill "$ZK_PID" 2>/dev/null
        for _ in $(seq 50); do kill -0 "$ZK_PID" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$ZK_PID" 2>/dev/null
        wait "$ZK_PID" 2>/dev/null
    fi
    ZK_PID=""
}
finish() {
    stop_zk
    if [ -n "${KEEP_TMP:-}" ]; then
        echo "run_against_real_zk: kept $TMP"
    else
        rm -rf "$TMP"
    fi
}
trap finish EXIT
RUN_PID=""
trap '[ -n "$RUN_PID" ] && kill -TERM "$RUN_PID" 2>/dev/null; exit 130' INT TERM HUP

PORT=$(free_port) || die "cannot find a free port"
mkdir -p "$TMP/data"
cat >"$TMP/zoo.cfg" <<CFG
tickTime=2000
initLimit=10
syncLimit=5
dataDir=$TMP/data
clientPort=$PORT
clientPortAddress=127.0.0.1
admin.enableServer=false
4lw.commands.whitelist=*
maxClientCnxns=0
CFG

java -Dzookeeper.4lw.commands.whitelist='*' -Dzookeeper.admin.enableServer=false \
    -cp "$ZK_JAR" org.apache.zookeeper.server.ZooKeeperServerMain "$TMP/zoo.cfg" \
    >"$TMP/zookeeper.log" 2>&1 </dev/null &
ZK_PID=$!

deadline=$((SECONDS + 20))
until [ "$(ruok "$PORT")" = "imok" ]; do
    if ! kill -0 "$ZK_PID" 2>/dev/null; then
        cat "$TMP/zookeeper.log" >&2
        die "ZooKeeper exited during startup"
    fi
    [ $SECONDS -lt $deadline ] || { cat "$TMP/zookeeper.log" >&2; die "ZooKeeper not ready on port $PORT after 20s"; }
    sleep 0.1
done
VERSION=""
for _ in 1 2 3 4 5; do # informational only; srvr can come back empty right after startup
    VERSION=$(timeout 2 bash -c 'exec 3<>/dev/tcp/127.0.0.1/'"$PORT"' && printf srvr >&3 && cat <&3' 2>/dev/null \
        | sed -n 's/^Zookeeper version: \([0-9.]*\).*/\1/p')
    [ -n "$VERSION" ] && break
    sleep 0.2
done
echo "run_against_real_zk: ZooKeeper ${VERSION:-?} (pid $ZK_PID) on 127.0.0.1:$PORT, dataDir $TMP/data"

# in the background so that an interrupt is acted on at once
"$DIR/run_all.sh" "127.0.0.1:$PORT" "$@" &
RUN_PID=$!
wait "$RUN_PID"
rc=$?
RUN_PID=""
if [ $rc -ne 0 ] && [ -s "$TMP/zookeeper.log" ]; then
    echo "--- last lines of the ZooKeeper server log"
    tail -20 "$TMP/zookeeper.log"
fi
exit $rc
