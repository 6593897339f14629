#!/usr/bin/env bash
# Regenerates every golden capture in this folder from scratch:
# for each scenario it starts a fresh standalone Apache ZooKeeper (Debian's
# `zookeeper` package, 3.8) on a free loopback port with a temp dataDir,
# starts record_proxy.py in front of it, runs one client through the proxy,
# then stops everything.  Every step is bounded by `timeout`; an EXIT trap
# kills whatever this script started.
#
# Requirements: apt-get install -y zookeeper zookeeper-bin  (server, Java
# client jar, C client cli_mt), JDK 17 (javac), python3, and for the kazoo
# capture `pip install kazoo`.
#
# Usage: ./capture.sh [scenario ...]
#   scenarios: java_main java_reconnect java_ping kazoo c_client (default: all)
#   OUT_DIR=/some/dir ./capture.sh   writes the .frames there instead.
#   KEEP_LOGS=/some/dir              also keeps client and server logs there.
#   STEP_TIMEOUT=120                 bound (s) for each server/proxy/client.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT_DIR="${OUT_DIR:-$HERE}"
ZK_JAR="${ZK_JAR:-/usr/share/java/zookeeper.jar}"
CLI_MT="${CLI_MT:-/usr/lib/zookeeper/bin/cli_mt}"
STEP_TIMEOUT="${STEP_TIMEOUT:-120}"

WORK="$(mktemp -d /tmp/zk-golden.XXXXXX)"
PIDS=()

cleanup() {
    local p
    for p in "${PIDS[@]:-}"; do
        [ -n "$p" ] && kill "$p" 2>/dev/null || true
    done
    local i alive
    for ((i = 0; i < 30; i++)); do # up to 3 s for a clean exit
        alive=""
        for p in "${PIDS[@]:-}"; do
            [ -n "$p" ] && kill -0 "$p" 2>/dev/null && alive=1
        done
        [ -z "$alive" ] && break
        sleep 0.1
    done
    for p in "${PIDS[@]:-}"; do
        [ -n "$p" ] && kill -9 "$p" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "[capture] $*" >&2; }

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

wait_port() { # port seconds
    local i
    for ((i = 0; i < $2 * 20; i++)); do
        if python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1",int(sys.argv[1])),0.2).close()' "$1" 2>/dev/null; then
            return 0
        fi
        sleep 0.05
    done
    log "port $1 did not open"
    return 1
}

zk_version() {
    dpkg-query -W -f='${Version}' zookeeper 2>/dev/null || echo unknown
}

ZK_PID=""
ZK_PORT=""
start_zk() { # name
    local dir="$WORK/$1"
    mkdir -p "$dir/data"
    ZK_PORT="$(free_port)"
    cat >"$dir/zoo.cfg" <<EOF
tickTime=2000
dataDir=$dir/data
clientPort=$ZK_PORT
clientPortAddress=127.0.0.1
admin.enableServer=false
maxClientCnxns=0
EOF
    timeout -k 5 "$STEP_TIMEOUT" java \
        -Dzookeeper.extendedTypesEnabled=true \
        -Dzookeeper.4lw.commands.whitelist='*' \
        -Dzookeeper.jmx.log4j.disable=true \
        -cp "$ZK_JAR" org.apache.zookeeper.server.ZooKeeperServerMain "$dir/zoo.cfg" \
        >"$dir/zk.log" 2>&1 &
    ZK_PID=$!
    PIDS+=("$ZK_PID")
    wait_port "$ZK_PORT" 30 || { cat "$dir/zk.log" >&2; return 1; }
    log "zookeeper up on 127.0.0.1:$ZK_PORT (pid $ZK_PID)"
}

stop_pid() { # pid
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

PX_PID=""
PX_PORT=""
CTL_PORT=""
start_proxy() { # out-file header...
    local out="$1"
    shift
    PX_PORT="$(free_port)"
    CTL_PORT="$(free_port)"
    local hdr=()
    local h
    for h in "$@"; do hdr+=(--header "$h"); done
    timeout -k 5 "$STEP_TIMEOUT" python3 "$HERE/record_proxy.py" \
        --listen-port "$PX_PORT" --upstream-port "$ZK_PORT" \
        --control-port "$CTL_PORT" --out "$out" "${hdr[@]}" &
    PX_PID=$!
    PIDS+=("$PX_PID")
    # only probe the control port (bound after the listen port): probing the
    # proxy port itself would record an empty connection
    wait_port "$CTL_PORT" 10
}

stop_proxy() {
    python3 - "$CTL_PORT" <<'EOF' || true
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5)
s.sendall(b"quit\n")
s.recv(16)
EOF
    wait "$PX_PID" 2>/dev/null || true
}

# run_scenario NAME OUTFILE DESCRIPTION CMD
# CMD is a bash command string run under `timeout`; it sees $PX_PORT (proxy)
# and $CTL_PORT (proxy control port) in its environment.
run_scenario() {
    local name="$1" out="$2" desc="$3" cmd="$4"
    log "=== $name -> $out"
    start_zk "$name"
    start_proxy "$WORK/$name.frames" \
        "golden capture '$name': $desc" \
        "server: Apache ZooKeeper standalone, Debian package zookeeper $(zk_version)" \
        "regenerate with protocol/tests/golden/capture.sh; see README.md there"
    local rc=0 cpid
    # run in the background and `wait`, so that INT/TERM traps fire at once
    PX_PORT="$PX_PORT" CTL_PORT="$CTL_PORT" timeout -k 5 "$STEP_TIMEOUT" bash -c "$cmd" \
        >"$WORK/$name.client.log" 2>&1 </dev/null &
    cpid=$!
    PIDS+=("$cpid")
    wait "$cpid" || rc=$?
    sleep 0.3
    stop_proxy
    stop_pid "$ZK_PID"
    if [ "$rc" -ne 0 ]; then
        log "client for $name failed (rc=$rc):"
        tail -40 "$WORK/$name.client.log" >&2
        return 1
    fi
    if python3 "$HERE/decode_frames.py" "$WORK/$name.frames" | grep -E 'REST=|DECODE ERROR' >&2; then
        log "WARNING: $name has frames decode_frames.py could not decode exactly"
    fi
    cp "$WORK/$name.frames" "$OUT_DIR/$out"
    [ -n "${KEEP_LOGS:-}" ] && cp "$WORK/$name.client.log" "$KEEP_LOGS/" && cp "$WORK/$name/zk.log" "$KEEP_LOGS/$name.zk.log"
    log "$name: $(grep -c '^[CS] ' "$OUT_DIR/$out") frames -> $OUT_DIR/$out"
}

export HERE ZK_JAR CLI_MT
export JAVA_CLASSES="$WORK/classes"
compiled=""
compile_java() {
    [ -n "$compiled" ] && return 0
    mkdir -p "$JAVA_CLASSES"
    javac -nowarn -cp "$ZK_JAR" -d "$JAVA_CLASSES" "$HERE/GoldenClient.java"
    compiled=1
}

JAVA_CMD='java -Dzookeeper.sasl.client=false -cp "$ZK_JAR:$JAVA_CLASSES" GoldenClient'
JAVA_ARGS='"127.0.0.1:$PX_PORT" "$CTL_PORT"'

SCENARIOS=("$@")
[ ${#SCENARIOS[@]} -eq 0 ] && SCENARIOS=(java_main java_reconnect java_ping kazoo c_client)

for s in "${SCENARIOS[@]}"; do
    case "$s" in
    java_main)
        compile_java
        run_scenario java_main java_client_3_8.frames \
            "stock Java client (zookeeper.jar 3.8), GoldenClient main" "$JAVA_CMD main $JAVA_ARGS" ;;
    java_reconnect)
        compile_java
        run_scenario java_reconnect java_reconnect_3_8.frames \
            "stock Java client (zookeeper.jar 3.8), GoldenClient reconnect" "$JAVA_CMD reconnect $JAVA_ARGS" ;;
    java_ping)
        compile_java
        run_scenario java_ping java_ping_3_8.frames \
            "stock Java client (zookeeper.jar 3.8), GoldenClient ping" "$JAVA_CMD ping $JAVA_ARGS" ;;
    kazoo)
        run_scenario kazoo kazoo_2_x.frames \
            "kazoo $(python3 -c 'import kazoo.version as v; print(v.__version__)' 2>/dev/null || echo '?') Python client, kazoo_client.py" 'python3 "$HERE/kazoo_client.py" "127.0.0.1:$PX_PORT" "$CTL_PORT"' ;;
    c_client)
        run_scenario c_client c_client_3_8.frames \
            "C client cli_mt (libzookeeper-mt $(dpkg-query -W -f='${Version}' zookeeper-bin 2>/dev/null || echo '?')), c_client.sh" 'bash "$HERE/c_client.sh" "$CLI_MT" "127.0.0.1:$PX_PORT" "$CTL_PORT"' ;;
    *)
        log "unknown scenario $s"
        exit 2 ;;
    esac
done
log "all done"
