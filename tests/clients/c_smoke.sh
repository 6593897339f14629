#!/usr/bin/env bash
# Smoke test driving the ZooKeeper C client shell `cli_mt` (Debian: zookeeper-bin,
# /usr/lib/zookeeper/bin/cli_mt, multi-threaded libzookeeper-mt).
#
# Usage: c_smoke.sh HOST:PORT
#
# Environment:
#   CLI_MT              path of cli_mt (default: /usr/lib/zookeeper/bin/cli_mt, else `cli_mt` on PATH)
#   REQUIRE_CLI_MT=1    fail instead of skipping when cli_mt is not installed
#   C_SMOKE_TIMEOUT     bound on the whole script in seconds (default 60)
#   C_CMD_TIMEOUT       bound on one batch-mode invocation in seconds (default 10)
#   C_SMOKE_ROOT        scratch znode (default /c_smoke)
#   VERBOSE=1           print every command and its output
#
# Two ways of driving cli_mt are used:
#   * batch mode  `cli_mt -h HOST:PORT -c "CMD"`: one command, its own session,
#     exits after the reply (the session is closed, so its ephemerals vanish).
#     Batch mode never exits for exists/wexists/addauth/myid, so those are not
#     used in batch mode.
#   * one interactive session fed through a FIFO for watches and ephemerals;
#     cli_mt sends commands asynchronously, so the script waits for each reply
#     in the output before sending the next command (never blind sleeps).
# cli_mt writes everything to stderr and always exits 0; checks grep its output.
#
# Works on the path /c_smoke (C_SMOKE_ROOT), removed before and after the run.
set -uo pipefail

if [ $# -ne 1 ] || [[ "$1" != *:* ]]; then
    echo "usage: $0 HOST:PORT" >&2
    exit 2
fi
HP=$1
# shellcheck source=checks.sh
. "$(dirname "$0")/checks.sh"

TOTAL=${C_SMOKE_TIMEOUT:-60}
bound_whole_run c_smoke "$TOTAL" "$0" "$@"

CLI_MT=${CLI_MT:-}
if [ -z "$CLI_MT" ]; then
    if [ -x /usr/lib/zookeeper/bin/cli_mt ]; then
        CLI_MT=/usr/lib/zookeeper/bin/cli_mt
    else
        CLI_MT=$(command -v cli_mt || true)
    fi
fi
if [ -z "$CLI_MT" ] || [ ! -x "$CLI_MT" ]; then
    if [ -n "${REQUIRE_CLI_MT:-}" ]; then
        echo "c_smoke: FAIL: cli_mt not found (install zookeeper-bin)"
        exit 1
    fi
    echo "c_smoke: SKIP: cli_mt not found (install zookeeper-bin)"
    exit 0
fi

CMD_TIMEOUT=${C_CMD_TIMEOUT:-10}
WAIT=10 # seconds to wait for an expected line in the interactive session
R=${C_SMOKE_ROOT:-/c_smoke}
START=$(date +%s.%N)
TMP=$(mktemp -d)
SESS_PID=""
cleanup_tmp() {
    if [ -n "$SESS_PID" ] && kill -0 "$SESS_PID" 2>/dev/null; then
        kill "$SESS_PID" 2>/dev/null
        wait "$SESS_PID" 2>/dev/null
    fi
    exec 7>&- 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup_tmp EXIT
trap 'exit 143' TERM INT HUP # run the EXIT trap when timeout(1) or the wrapper stops us

CHECKS=0
FAILS=0
LAST_CMD=""
OUT=""

_show() {
    if [ -n "${VERBOSE:-}" ]; then
        echo "\$ cli_mt -c '$LAST_CMD'"
        sed 's/^/    | /' <<<"$OUT"
    fi
}

# zc CMD: one batch-mode invocation
zc() {
    LAST_CMD="$1"
    OUT=$(timeout --foreground -k 2 "$CMD_TIMEOUT" "$CLI_MT" -h "$HP" -c "$1" 2>&1 </dev/null)
    local rc=$?
    if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
        OUT="$OUT
<timed out after ${CMD_TIMEOUT}s>"
    fi
    _show
}

# children listed by ls/ls2 (tab-indented lines), sorted, comma-joined
children() { sed -n 's/^\t\([^ =\t][^ =\t]*\)$/\1/p' <<<"$OUT" | sort | paste -sd, -; }
# stat field from the C client's stat dump (e.g. czxid=2a6, version=1)
field() { grep -Eo "(^|[[:space:]])$1 ?= ?[^[:space:]]+" <<<"$OUT" | tail -1 | sed 's/.*= \{0,1\}//'; }

# delete a subtree (cli_mt has no recursive delete)
del_tree() {
    local p=$1 kids k
    zc "ls $p"
    grep -q "rc = 0" <<<"$OUT" || return 0
    kids=$(children)
    for k in ${kids//,/ }; do
        del_tree "$p/$k"
    done
    zc "delete $p"
}

# --- interactive session helpers ------------------------------------------------
SESS_OUT=$TMP/session.out
SESS_MARK=0
sess_start() {
    mkfifo "$TMP/fifo"
    timeout --foreground -k 2 $((TOTAL)) "$CLI_MT" -h "$HP" <"$TMP/fifo" >"$SESS_OUT" 2>&1 &
    SESS_PID=$!
    exec 7>"$TMP/fifo"
}
# sess_send CMD: remember where the output is now, then send
sess_send() {
    SESS_MARK=$(wc -l <"$SESS_OUT")
    LAST_CMD="session: $1"
    printf '%s\n' "$1" >&7 2>/dev/null
}
# sess_wait ERE DESCRIPTION: wait (<= WAIT s) for a line after the mark to match
sess_wait() {
    local deadline=$((SECONDS + WAIT))
    while :; do
        # (no pipe into grep -q: with pipefail an early-exiting grep can fail the pipeline)
        if grep -Eq -- "$1" < <(tail -n +$((SESS_MARK + 1)) "$SESS_OUT"); then
            OUT=$(tail -n +$((SESS_MARK + 1)) "$SESS_OUT")
            ok "$2"
            return 0
        fi
        if [ $SECONDS -ge $deadline ] || ! kill -0 "$SESS_PID" 2>/dev/null; then
            OUT=$(tail -n +$((SESS_MARK + 1)) "$SESS_OUT")
            fail "$2: no line matching /$1/ within ${WAIT}s"
            return 1
        fi
        sleep 0.05
    done
}

trap '' PIPE # a dead session must not kill the script through SIGPIPE

# ------------------------------------------------------------------------------
# 0. can we talk to the server at all? (abort early instead of failing every check)
zc "ls /"
if ! grep -q 'state = CONNECTED_STATE' <<<"$OUT" || ! grep -q '^/: rc = 0' <<<"$OUT"; then
    fail "cannot connect to $HP (ls / failed)"
    echo "c_smoke: FAIL: cannot connect to $HP"
    exit 1
fi
ok "connect and ls /"

# clean slate
del_tree $R
zc "get $R"
expect "^$R: rc = -101" "get of missing node -> ZNONODE (-101)"

# 1. create / get
zc "create $R"
expect_fixed "[$R]: rc = 0" "create $R"
expect "name = $R\$" "create returns the path"
zc "create $R"
expect_fixed "[$R]: rc = -110" "create existing -> ZNODEEXISTS (-110)"
zc "get $R"
expect_fixed "$R: rc = 0" "get $R"
expect '^ value_len = 3$' "cli_mt create stores 3 bytes"
expect '^new$' "cli_mt create stores the data 'new'"
expect 'version=0[[:space:]]+aversion=0' "fresh node version=0 aversion=0"
expect 'ephemeralOwner = 0$' "persistent node ephemeralOwner 0"
CZXID=$(field czxid)
[ -n "$CZXID" ] && [ "$CZXID" = "$(field mzxid)" ] && ok "fresh node czxid == mzxid" \
    || fail "fresh node czxid ($CZXID) != mzxid ($(field mzxid))"

# 2. set
zc "set $R hello"
expect_fixed "$R: rc = 0" "set $R"
expect 'version=1[[:space:]]' "set returns version=1"
zc "get $R"
expect '^ value_len = 5$' "value_len 5 after set"
expect '^hello$' "get returns the new data"
expect 'version=1[[:space:]]' "version=1 after set"
MZXID=$(field mzxid)
[ "$(field czxid)" = "$CZXID" ] && ok "czxid unchanged by set" || fail "czxid changed by set"
[ -n "$MZXID" ] && (( 16#$MZXID > 16#$CZXID )) && ok "mzxid > czxid after set" \
    || fail "mzxid ($MZXID) not > czxid ($CZXID)"

# 3. children: plain, sequential, ephemeral (batch session closes -> ephemeral gone), create2
zc "create $R/child"
expect_fixed "[$R/child]: rc = 0" "create child"
zc "create +s $R/seq-"
expect "name = $R/seq-[0-9]{10}\$" "sequential name has a 10-digit suffix"
expect_fixed "name = $R/seq-0000000001" "sequence number == parent cversion (1)"
zc "create +e $R/eph"
expect_fixed "[$R/eph]: rc = 0" "create +e"
zc "create +es $R/eseq-"
expect_fixed "name = $R/eseq-0000000003" "create +es gets the next sequence number"
zc "create2 $R/c2"
expect_fixed "[$R/c2]: rc = 0" "create2"
expect 'version=0[[:space:]]+aversion=0' "create2 returns a stat"
zc "ls $R"
expect_fixed "$R: rc = 0" "ls $R"
[ "$(children)" = "c2,child,seq-0000000001" ] && ok "ls lists the children; batch-mode ephemerals are gone" \
    || fail "ls children '$(children)' != 'c2,child,seq-0000000001'"
zc "ls2 $R"
[ "$(children)" = "c2,child,seq-0000000001" ] && ok "ls2 lists the children" \
    || fail "ls2 children '$(children)'"
expect 'version=1[[:space:]]' "ls2 prints the parent's stat"
zc "ls $R/missing"
expect_fixed "$R/missing: rc = -101" "ls of missing node -> -101"

# 4. delete
zc "delete $R"
expect_fixed "$R: rc = -111" "delete non-empty -> ZNOTEMPTY (-111)"
zc "delete $R/child"
expect_fixed "$R/child: rc = 0" "delete child"
zc "delete $R/child"
expect_fixed "$R/child: rc = -101" "delete missing -> -101"
zc "create $R/missing/x"
expect_fixed "[$R/missing/x]: rc = -101" "create without parent -> -101"
zc "sync $R"
expect_fixed "[$R]: rc = 0" "sync"

# 5. interactive session: watches and ephemerals
sess_start
SESS_MARK=0
LAST_CMD="session start"
sess_wait 'state = CONNECTED_STATE' "interactive session connects"
SID=$(sed -n 's/^Got a new session id: 0x\([0-9a-f]*\)$/\1/p' "$SESS_OUT" | sed -n 1p)
[ -n "$SID" ] && ok "session id printed" || fail "no session id printed"

sess_send "create +e $R/live"
sess_wait "^\[$R/live\]: rc = 0" "session creates an ephemeral"
zc "get $R/live"
OWNER=$(field ephemeralOwner)
[ -n "$SID" ] && [ "$OWNER" = "$SID" ] && ok "ephemeralOwner == session id, seen by another client" \
    || fail "ephemeralOwner '$OWNER' != session id '$SID'"
sess_send "create $R/live/kid"
sess_wait "^\[$R/live/kid\]: rc = -108" "no children for ephemerals (-108)"

# exists watch on a missing node -> CREATED
sess_send "wexists $R/w"
sess_wait "Error -101 for $R/w" "wexists on missing node reports -101"
zc "create $R/w"
sess_wait "Watcher CREATED_EVENT .* for path $R/w\$" "exists watch fires CREATED"
# get (sets a data watch) -> CHANGED; ls (child watch) -> CHILD
sess_send "get $R/w"
sess_wait "^$R/w: rc = 0" "session get"
sess_send "ls $R/w"
sess_wait "^$R/w: rc = 0" "session ls"
zc "set $R/w changed"
sess_wait "Watcher CHANGED_EVENT .* for path $R/w\$" "data watch fires CHANGED"
zc "create $R/w/k"
sess_wait "Watcher CHILD_EVENT .* for path $R/w\$" "child watch fires CHILD"
# exists watch on an existing node -> DELETED (the session get after it acts as a barrier)
sess_send "wexists $R/w/k"
sess_send "get $R"
sess_wait "^$R: rc = 0" "wexists registered"
zc "delete $R/w/k"
sess_wait "Watcher DELETED_EVENT .* for path $R/w/k\$" "exists watch fires DELETED"

sess_send "quit"
sess_wait "Quitting" "session quits"
deadline=$((SECONDS + WAIT))
while kill -0 "$SESS_PID" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.05; done
if kill -0 "$SESS_PID" 2>/dev/null; then
    fail "cli_mt session did not exit after quit"
else
    ok "session exited"
fi
wait "$SESS_PID" 2>/dev/null
SESS_PID=""
exec 7>&-
zc "get $R/live"
expect_fixed "$R/live: rc = -101" "ephemeral removed when the session closed"

# 6. clean up
del_tree $R
zc "get $R"
expect_fixed "$R: rc = -101" "tree removed"

END=$(date +%s.%N)
ELAPSED=$(awk -v a="$START" -v b="$END" 'BEGIN{printf "%.1f", b-a}')
if [ "$FAILS" -ne 0 ]; then
    echo "c_smoke: FAIL $FAILS of $((CHECKS + FAILS)) checks failed in ${ELAPSED}s against $HP"
    exit 1
fi
echo "c_smoke: PASS $CHECKS checks in ${ELAPSED}s against $HP"
