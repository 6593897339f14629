#!/usr/bin/env bash
# Build the ferrokeeper image (docker/build.sh) and check that a container of it
# serves real ZooKeeper clients, honours a mounted zoo.cfg and stops cleanly.
#
# Usage: docker/test.sh
#
# Environment:
#   IMAGE           image tag to build and test (default ferrokeeper:dev)
#   SKIP_BUILD=1    test the existing IMAGE, do not run build.sh
#   REMOVE_IMAGE=1  remove IMAGE at the end (default: keep it)
#   READY_TIMEOUT   seconds to wait for a container to answer (default 20)
#   CLIENT_TIMEOUT  bound on one client run in seconds (default 30)
#   STOP_LIMIT      `docker stop` must take fewer seconds than this (default 5)
#   VERBOSE=1       print client output and container logs
#   REQUIRE_KAZOO=1 fail instead of skipping the kazoo check when kazoo is missing
#
# Needs: docker, bash, timeout; java and /usr/share/java/zookeeper.jar (Debian's
# `zookeeper` package, installed with apt-get when missing and running as root);
# Python kazoo is used too when importable.
#
# Containers publish their port on 127.0.0.1 only (a random free port) and are
# removed on exit, with their anonymous volumes, whatever happens. Every wait is
# bounded. Exit status 0 when every check passed; the last line reads
# "docker test: N passed, M failed".
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
IMAGE=${IMAGE:-ferrokeeper:dev}
READY_TIMEOUT=${READY_TIMEOUT:-20}
CLIENT_TIMEOUT=${CLIENT_TIMEOUT:-30}
STOP_LIMIT=${STOP_LIMIT:-5}
ZK_JAR=${ZK_JAR:-/usr/share/java/zookeeper.jar}
PYTHON=${PYTHON:-python3}

PASSED=0
FAILED=0
CONTAINERS=()
TMP=$(mktemp -d "${TMPDIR:-/tmp}/ferrokeeper-docker-test.XXXXXX")
T_START=$(date +%s)

log() { echo "docker/test.sh: $*"; }
ok() { PASSED=$((PASSED + 1)); echo "  ok: $*"; }
fail() { FAILED=$((FAILED + 1)); echo "  FAIL: $*"; }

summary() { echo "docker test: $PASSED passed, $FAILED failed"; }

# die MESSAGE: a failure after which nothing else can be checked.
die() {
    FAILED=$((FAILED + 1))
    echo "docker/test.sh: FAIL: $*" >&2
    exit 1
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM HUP
    local c
    for c in "${CONTAINERS[@]}"; do
        if [ $rc -ne 0 ] && timeout 10 docker inspect "$c" >/dev/null 2>&1; then
            echo "--- last log lines of container $c ---"
            timeout 10 docker logs --tail 30 "$c" 2>&1 | sed 's/^/    /'
        fi
        timeout 30 docker rm -f -v "$c" >/dev/null 2>&1
    done
    if [ "${REMOVE_IMAGE:-0}" = 1 ]; then
        timeout 30 docker rmi "$IMAGE" >/dev/null 2>&1 && log "removed image $IMAGE"
    fi
    rm -rf "$TMP"
    summary
    log "took $(($(date +%s) - T_START))s"
    exit $rc
}
trap cleanup EXIT
trap 'FAILED=$((FAILED + 1)); echo "docker/test.sh: FAIL: interrupted" >&2; exit 130' INT
trap 'FAILED=$((FAILED + 1)); echo "docker/test.sh: FAIL: terminated" >&2; exit 143' TERM HUP

# four PORT WORD: send a four-letter word to 127.0.0.1:PORT, print the reply.
four() {
    timeout 5 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" && printf %s "$2" >&3 && cat <&3' _ "$1" "$2" 2>/dev/null
}

# start NAME DOCKER-RUN-ARGS... : start a container, remember it for cleanup.
start() {
    local name=$1
    shift
    CONTAINERS+=("$name")
    timeout 60 docker run -d --name "$name" "$@" >"$TMP/run.out" 2>&1 ||
        die "docker run $* failed: $(cat "$TMP/run.out")"
}

# host_port NAME CONTAINER-PORT: the 127.0.0.1 port docker published it on.
host_port() {
    local out i
    for i in 1 2 3 4 5; do
        out=$(timeout 10 docker port "$1" "$2/tcp" 2>/dev/null | sed -n 's/^127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' | head -1)
        [ -n "$out" ] && { echo "$out"; return 0; }
        sleep 0.5
    done
    return 1
}

# wait_ready NAME PORT WORD PATTERN: until the WORD reply matches PATTERN.
# (docker's proxy accepts connections before the server listens, and then
# closes them: an empty reply means not yet.)
wait_ready() {
    local name=$1 port=$2 word=$3 pattern=$4 deadline=$(($(date +%s) + READY_TIMEOUT))
    while [ "$(date +%s)" -lt $deadline ]; do
        if [ "$(timeout 10 docker inspect -f '{{.State.Running}}' "$name" 2>/dev/null)" != true ]; then
            die "container $name is not running (exit code $(timeout 10 docker inspect -f '{{.State.ExitCode}}' "$name" 2>/dev/null))"
        fi
        REPLY_TEXT=$(four "$port" "$word")
        grep -Eq "$pattern" <<<"$REPLY_TEXT" && return 0
        sleep 0.2
    done
    die "container $name did not answer '$word' on 127.0.0.1:$port within ${READY_TIMEOUT}s (last reply: '${REPLY_TEXT:-}')"
}

# stop_check NAME: docker stop (SIGTERM) ends it promptly with exit code 0.
stop_check() {
    local name=$1 t0 t1 ms code
    t0=$(date +%s%N)
    timeout $((STOP_LIMIT + 30)) docker stop -t $((STOP_LIMIT + 5)) "$name" >/dev/null 2>&1 || die "docker stop $name failed"
    t1=$(date +%s%N)
    ms=$(((t1 - t0) / 1000000))
    code=$(timeout 10 docker inspect -f '{{.State.ExitCode}}' "$name")
    if [ "$ms" -lt $((STOP_LIMIT * 1000)) ]; then ok "$name: docker stop took ${ms}ms"; else fail "$name: docker stop took ${ms}ms (limit ${STOP_LIMIT}s: SIGTERM not handled?)"; fi
    if [ "$code" = 0 ]; then ok "$name: exit code 0 after SIGTERM"; else fail "$name: exit code $code after SIGTERM (137 = killed after the stop timeout)"; fi
    # Read whole first: grep -q leaving early would break docker logs' pipe (pipefail).
    local logs
    logs=$(timeout 10 docker logs "$name" 2>&1)
    if grep -q 'stopping signal="SIGTERM"' <<<"$logs"; then ok "$name: logged the SIGTERM stop"; else fail "$name: no 'stopping signal=\"SIGTERM\"' in its log"; fi
}

# zkcli PORT CMD...: one zkCli invocation; output in $ZKOUT, status in $ZKRC.
zkcli() {
    local port=$1
    shift
    timeout -k 2 "$CLIENT_TIMEOUT" java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -cp "$ZK_JAR" \
        org.apache.zookeeper.ZooKeeperMain -timeout 10000 -waitforconnection -server "127.0.0.1:$port" "$@" \
        >"$TMP/zk.out" 2>&1 </dev/null
    ZKRC=$?
    ZKOUT=$(grep -v -e '^SLF4J:' -e '^WATCHER::' -e '^WatchedEvent state:' -e '^Connecting to ' -e '^$' "$TMP/zk.out")
    if [ -n "${VERBOSE:-}" ]; then
        echo "    \$ zkCli $* (rc=$ZKRC)"
        sed 's/^/    | /' <<<"$ZKOUT"
    fi
}

# --- prerequisites -------------------------------------------------------------------
command -v docker >/dev/null || die "docker not found"
command -v timeout >/dev/null || die "timeout not found (coreutils)"
timeout 20 docker info >/dev/null 2>&1 || die "docker daemon not reachable (docker info failed)"

if ! { command -v java >/dev/null && [ -f "$ZK_JAR" ]; }; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        log "installing Debian's zookeeper package (zkCli) ..."
        if ! { timeout 300 apt-get update -q && DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -q zookeeper; } >"$TMP/apt.log" 2>&1; then
            tail -20 "$TMP/apt.log" >&2
            die "apt-get install zookeeper failed"
        fi
    fi
    command -v java >/dev/null && [ -f "$ZK_JAR" ] ||
        die "need java and $ZK_JAR (apt-get install zookeeper, as root)"
fi
HAVE_KAZOO=0
timeout 30 "$PYTHON" -c 'import kazoo' >/dev/null 2>&1 && HAVE_KAZOO=1

# --- build -----------------------------------------------------------------------------
if [ "${SKIP_BUILD:-0}" = 1 ]; then
    log "SKIP_BUILD=1: testing the existing image $IMAGE"
else
    t0=$(date +%s)
    "$HERE/build.sh" "$IMAGE" || die "docker/build.sh failed"
    log "build took $(($(date +%s) - t0))s"
fi
timeout 20 docker image inspect "$IMAGE" >/dev/null 2>&1 || die "image $IMAGE not found"

echo "== image $IMAGE"
cfg=$(timeout 20 docker image inspect -f '{{json .Config.Entrypoint}} {{json .Config.Cmd}} {{.Config.User}} {{json .Config.ExposedPorts}} {{json .Config.Volumes}}' "$IMAGE")
expected='["/ferrokeeper"] ["/conf/zoo.cfg"] 65532:65532 {"2181/tcp":{}} {"/data":{}}'
if [ "$cfg" = "$expected" ]; then ok "entrypoint, cmd, user, port, volume"; else fail "image config is '$cfg', expected '$expected'"; fi

SUFFIX=$$-$RANDOM

# --- 1. default command: port 2181, real clients ----------------------------------
A=ferrokeeper-test-$SUFFIX-default
echo "== container $A (default command)"
start "$A" -p 127.0.0.1:0:2181 "$IMAGE"
PORT=$(host_port "$A" 2181) || die "no 127.0.0.1 port published for $A"
log "$A serves on 127.0.0.1:$PORT"
wait_ready "$A" "$PORT" srvr '^Zookeeper version:'
if grep -q '^Mode: standalone' <<<"$REPLY_TEXT"; then ok "srvr answers ($(head -1 <<<"$REPLY_TEXT"))"; else fail "srvr reply lacks 'Mode: standalone': $REPLY_TEXT"; fi
[ -n "${VERBOSE:-}" ] && sed 's/^/    | /' <<<"$REPLY_TEXT"

zkcli "$PORT" create /docker-test hello
if [ $ZKRC -eq 0 ] && grep -q '^Created /docker-test' <<<"$ZKOUT"; then ok "zkCli create /docker-test hello"; else fail "zkCli create /docker-test (rc=$ZKRC): $ZKOUT"; fi
zkcli "$PORT" get /docker-test
if [ $ZKRC -eq 0 ] && grep -qx 'hello' <<<"$ZKOUT"; then ok "zkCli get /docker-test -> hello"; else fail "zkCli get /docker-test (rc=$ZKRC): $ZKOUT"; fi

if [ $HAVE_KAZOO = 1 ]; then
    cat >"$TMP/kazoo_check.py" <<'EOF'
import sys, threading
from kazoo.client import KazooClient

zk = KazooClient(hosts=sys.argv[1], timeout=10)
zk.start(timeout=15)
try:
    data, _ = zk.get("/docker-test")
    assert data == b"hello", "get /docker-test returned %r" % data
    fired = threading.Event()
    zk.create("/docker-kazoo", b"one", ephemeral=True)
    zk.get("/docker-kazoo", watch=lambda event: fired.set())
    zk.set("/docker-kazoo", b"two")
    assert fired.wait(10), "data watch not delivered"
    assert zk.get("/docker-kazoo")[0] == b"two"
finally:
    zk.stop()
    zk.close()
print("kazoo ok")
EOF
    if timeout -k 2 "$CLIENT_TIMEOUT" "$PYTHON" "$TMP/kazoo_check.py" "127.0.0.1:$PORT" >"$TMP/kazoo.out" 2>&1 && grep -qx 'kazoo ok' "$TMP/kazoo.out"; then
        ok "kazoo: get, ephemeral create, data watch"
    else
        fail "kazoo check: $(tail -5 "$TMP/kazoo.out")"
    fi
elif [ -n "${REQUIRE_KAZOO:-}" ]; then
    fail "kazoo not importable by $PYTHON (REQUIRE_KAZOO is set)"
else
    echo "  skipped: kazoo (not importable by $PYTHON; pip install kazoo to include it)"
fi

logs=$(timeout 10 docker logs "$A" 2>&1)
if grep -q 'serving ZooKeeper clients addr=0.0.0.0:2181' <<<"$logs"; then ok "listens on 0.0.0.0:2181 (log)"; else fail "no 'serving ZooKeeper clients addr=0.0.0.0:2181' in the log"; fi
if grep -q $'\e' <<<"$logs"; then fail "ANSI escape codes in docker logs"; else ok "plain log lines (no ANSI colour codes)"; fi
[ -n "${VERBOSE:-}" ] && sed 's/^/    log| /' <<<"$logs"
stop_check "$A"

# --- 2. a mounted zoo.cfg, and ZOO_DATA_DIR from the environment ----------------------
B=ferrokeeper-test-$SUFFIX-zoocfg
echo "== container $B (mounted zoo.cfg, ZOO_DATA_DIR)"
cat >"$TMP/zoo.cfg" <<'EOF'
tickTime=3000
clientPort=2999
dataDir=/data/from-cfg
4lw.commands.whitelist=srvr,ruok,conf
EOF
chmod 0644 "$TMP/zoo.cfg" # the container runs as uid 65532: it must be readable
start "$B" -p 127.0.0.1:0:2999 -v "$TMP/zoo.cfg:/conf/zoo.cfg:ro" -e ZOO_DATA_DIR=/data/from-env "$IMAGE"
PORT=$(host_port "$B" 2999) || die "no 127.0.0.1 port published for $B"
log "$B serves on 127.0.0.1:$PORT"
wait_ready "$B" "$PORT" ruok '^imok$'
ok "ruok -> imok on clientPort 2999 (4lw whitelist from the mounted zoo.cfg)"
conf=$(four "$PORT" conf)
[ -n "${VERBOSE:-}" ] && sed 's/^/    | /' <<<"$conf"
if grep -qx 'clientPort=2999' <<<"$conf" && grep -qx 'tickTime=3000' <<<"$conf"; then ok "conf: clientPort and tickTime from zoo.cfg"; else fail "conf reply: $conf"; fi
if grep -qx 'dataDir=/data/from-env' <<<"$conf"; then ok "conf: ZOO_DATA_DIR overrides dataDir"; else fail "conf reply lacks dataDir=/data/from-env: $conf"; fi
stop_check "$B"

[ $FAILED -eq 0 ] || exit 1
exit 0
