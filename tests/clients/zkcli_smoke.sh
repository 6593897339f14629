#!/usr/bin/env bash
# Smoke test driving the official Java CLI (zkCli, org.apache.zookeeper.ZooKeeperMain).
#
# Usage: zkcli_smoke.sh HOST:PORT
#
# Environment:
#   ZK_JAR               zookeeper jar with Class-Path manifest (default /usr/share/java/zookeeper.jar)
#   ZKCLI                full command prefix for the CLI (default: java -cp $ZK_JAR org.apache.zookeeper.ZooKeeperMain)
#   ZKCLI_SMOKE_TIMEOUT  bound on the whole script in seconds (default 120)
#   ZKCLI_CMD_TIMEOUT    bound on one CLI invocation in seconds (default 20)
#   ZKCLI_SMOKE_ROOT     scratch znode (default /zkcli_smoke)
#   VERBOSE=1            print every CLI invocation and its filtered output
#
# Works on the path /zkcli_smoke; it is removed (with the test's digest
# credentials) before and after the run, so leftovers from a crashed run are fine.
# Exit status: 0 if all checks passed, 1 if any failed, 2 on usage error,
# 124 if the overall timeout fired.
set -uo pipefail

if [ $# -ne 1 ] || [[ "$1" != *:* ]]; then
    echo "usage: $0 HOST:PORT" >&2
    exit 2
fi
HP=$1
# shellcheck source=checks.sh
. "$(dirname "$0")/checks.sh"

# --- bound the whole script ---------------------------------------------------
TOTAL=${ZKCLI_SMOKE_TIMEOUT:-120}
bound_whole_run zkcli_smoke "$TOTAL" "$0" "$@"

ZK_JAR=${ZK_JAR:-/usr/share/java/zookeeper.jar}
ZKCLI=${ZKCLI:-java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -cp $ZK_JAR org.apache.zookeeper.ZooKeeperMain}
CMD_TIMEOUT=${ZKCLI_CMD_TIMEOUT:-20}
R=${ZKCLI_SMOKE_ROOT:-/zkcli_smoke}
USER_PASS=smoke:secret
START=$(date +%s.%N)

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
trap 'exit 143' TERM INT HUP # run the EXIT trap when timeout(1) or the wrapper stops us

# digest ACL id = user:base64(sha1("user:password"))
if command -v python3 >/dev/null 2>&1; then
    HASH=$(python3 -c 'import base64,hashlib,sys; print(base64.b64encode(hashlib.sha1(sys.argv[1].encode()).digest()).decode())' "$USER_PASS")
else
    HASH=$(printf '%s' "$USER_PASS" | openssl dgst -binary -sha1 | base64)
fi
[ "$HASH" = "1KN6VxL1QA5cPwqsqvI3ewnY9TI=" ] || { echo "zkcli_smoke: FAIL: digest hash computation broken ($HASH)"; exit 1; }

CHECKS=0
FAILS=0
LAST_CMD=""
OUT=""
RC=0

# Filter zkCli noise. The watcher printout is produced by another thread, so it
# is removed as a substring too, not only as whole lines.
filter() {
    sed -e '/^SLF4J:/d' \
        -e 's/WATCHER:://g' \
        -e 's/WatchedEvent state:[A-Za-z]* type:[A-Za-z]* path:[^ ]*//g' \
        -e '/^Connecting to /d' \
        -e '/^Welcome to ZooKeeper!$/d' \
        -e '/^JLine support is /d' \
        -e '/^[[:space:]]*$/d'
}

_show() {
    if [ -n "${VERBOSE:-}" ]; then
        echo "\$ zkCli $LAST_CMD   (rc=$RC)"
        sed 's/^/    | /' <<<"$OUT"
    fi
}

# zk ARGS...: one zkCli invocation running one command (its own session).
zk() {
    LAST_CMD="$*"
    timeout --foreground -k 2 "$CMD_TIMEOUT" $ZKCLI -timeout 10000 -waitforconnection -server "$HP" "$@" >"$TMP/out" 2>"$TMP/err" </dev/null
    RC=$?
    OUT=$( { cat "$TMP/out"; echo; cat "$TMP/err"; } | filter )
    _show
}

# zks <<EOF ... EOF: several commands, read from stdin, in ONE session.
# A trailing "quit" is appended: only quit closes the session (at plain EOF
# zkCli just exits and the session lingers until it expires). The exit status
# of a session is that of its last real command, so check the output instead.
zks() {
    { cat; echo quit; } >"$TMP/script"
    LAST_CMD="<session: $(tr '\n' ';' <"$TMP/script")>"
    timeout --foreground -k 2 "$CMD_TIMEOUT" $ZKCLI -timeout 10000 -waitforconnection -server "$HP" <"$TMP/script" >"$TMP/out" 2>&1
    RC=$?
    OUT=$(filter <"$TMP/out")
    _show
}



# expect_rc 0|nonzero DESCRIPTION
expect_rc() {
    if [ "$1" = 0 ]; then
        [ "$RC" -eq 0 ] && ok "$2" || fail "$2: expected exit status 0"
    else
        [ "$RC" -ne 0 ] && [ "$RC" -ne 124 ] && ok "$2" || fail "$2: expected a failing (non-zero, non-timeout) exit status"
    fi
}
# field NAME: value of "NAME = value" from a stat printout in $OUT
field() { sed -n "s/^$1 = //p" <<<"$OUT" | tail -1; }

cleanup() {
    zks <<EOF
addauth digest $USER_PASS
deleteall $R
EOF
}

# ------------------------------------------------------------------------------
# 0. can we talk to the server at all? (abort early instead of failing every check)
zk ls /
if [ "$RC" -ne 0 ] || ! grep -q 'zookeeper' <<<"$OUT"; then
    fail "cannot connect to $HP (ls / failed)"
    echo "zkcli_smoke: FAIL: cannot connect to $HP"
    exit 1
fi
ok "connect and ls /"

# clean slate
cleanup
zk stat $R
expect_rc nonzero "stat of missing node fails"
expect_fixed "Node does not exist: $R" "missing-node message"

# 1. create / get / stat
zk create $R smoke-data-1
expect_rc 0 "create $R"
expect_fixed "Created $R" "create message"
zk create $R other
expect_rc nonzero "create of existing node fails"
expect_fixed "Node already exists: $R" "node-exists message"
zk get $R
expect_rc 0 "get $R"
expect '^smoke-data-1$' "get returns the data"
zk stat $R
expect_rc 0 "stat $R"
expect '^dataVersion = 0$' "fresh node dataVersion 0"
expect '^dataLength = 12$' "fresh node dataLength 12"
expect '^numChildren = 0$' "fresh node numChildren 0"
expect '^cversion = 0$' "fresh node cversion 0"
expect '^aclVersion = 0$' "fresh node aclVersion 0"
expect '^ephemeralOwner = 0x0$' "persistent node ephemeralOwner 0x0"
expect '^cZxid = 0x[0-9a-f]+$' "cZxid printed as hex"
expect '^ctime = .* [0-9]{4}$' "ctime printed as a date"
CZXID=$(field cZxid)
[ -n "$CZXID" ] && [ "$CZXID" = "$(field mZxid)" ] && [ "$CZXID" = "$(field pZxid)" ] \
    && ok "fresh node cZxid == mZxid == pZxid" || fail "fresh node cZxid/mZxid/pZxid differ"

# 2. set
zk set $R smoke-data-22
expect_rc 0 "set $R"
zk get -s $R
expect_rc 0 "get -s $R"
expect '^smoke-data-22$' "get returns the new data"
expect '^dataVersion = 1$' "dataVersion 1 after set"
expect '^dataLength = 13$' "dataLength 13 after set"
MZXID=$(field mZxid)
[ "$(field cZxid)" = "$CZXID" ] && ok "cZxid unchanged by set" || fail "cZxid changed by set"
[ -n "$MZXID" ] && (( 16#${MZXID#0x} > 16#${CZXID#0x} )) \
    && ok "mZxid > cZxid after set" || fail "mZxid ($MZXID) not > cZxid ($CZXID) after set"
zk set -v 0 $R stale
expect_rc nonzero "set with stale version fails"
expect_fixed "version No is not valid : $R" "bad-version message"
zk set -s -v 1 $R smoke-data-3
expect_rc 0 "set -s -v 1"
expect '^dataVersion = 2$' "set -s prints the new stat"

# 3. children, sequential, ls
zk create $R/child c
expect_rc 0 "create child"
zk create -s $R/seq- s
expect_rc 0 "create -s"
expect "^Created $R/seq-[0-9]{10}\$" "sequential name has a 10-digit suffix"
expect_fixed "Created $R/seq-0000000001" "sequence number == parent cversion (1)"
zk ls $R
expect_rc 0 "ls $R"
expect_fixed "[child, seq-0000000001]" "ls lists both children"
zk ls -s $R
expect '^numChildren = 2$' "ls -s numChildren 2"
expect '^cversion = 2$' "ls -s cversion 2"
zk ls -R $R
expect "^$R/child\$" "ls -R lists $R/child"
zk ls $R/missing
expect_rc nonzero "ls of missing node fails"

# 4. ephemerals (one session: create, see, close -> gone)
zks <<EOF
create -e $R/eph eph-data
stat $R/eph
create -e -s $R/eseq- es
ls $R
EOF
expect_fixed "Created $R/eph" "create -e"
expect '^ephemeralOwner = 0x[0-9a-f]*[1-9a-f][0-9a-f]*$' "ephemeral node has a non-zero ephemeralOwner"
expect_fixed "Created $R/eseq-0000000003" "create -e -s gets the next sequence number"
expect_fixed "[child, eph, eseq-0000000003, seq-0000000001]" "ls inside the session shows the ephemerals"
zk ls $R
expect_rc 0 "ls after the ephemeral session closed"
expect_fixed "[child, seq-0000000001]" "ephemerals removed when their session closed"
zk stat $R/eph
expect_fixed "Node does not exist: $R/eph" "ephemeral gone after session close"

# 5. ACLs
zk getAcl $R
expect_rc 0 "getAcl $R"
expect_fixed "'world,'anyone" "default ACL id world:anyone"
expect '^: cdrwa$' "default ACL perms cdrwa"
zk create $R/secure secret-data
expect_rc 0 "create $R/secure"
zk setAcl $R/secure "digest:smoke:$HASH:cdrwa"
expect_rc 0 "setAcl digest"
# Whether exists needs READ differs between ZooKeeper releases (3.9 checks it), so
# the stat check runs with credentials below.
zk get $R/secure
expect_rc nonzero "get without auth fails"
expect_fixed "Insufficient permission : $R/secure" "NoAuth message for get"
zk getAcl $R/secure
expect_rc nonzero "getAcl without auth fails (needs READ)"
zk set $R/secure nope
expect_rc nonzero "set without auth fails"
zks <<EOF
addauth digest smoke:wrong
get $R/secure
EOF
expect_fixed "Insufficient permission : $R/secure" "wrong digest password is refused"
reject '^secret-data$' "wrong digest password does not read data"
zks <<EOF
addauth digest $USER_PASS
stat $R/secure
get $R/secure
getAcl $R/secure
set $R/secure secret-2
get $R/secure
EOF
expect '^aclVersion = 1$' "aclVersion 1 after setAcl"
expect '^secret-data$' "addauth digest allows get"
expect_fixed "'digest,'smoke:$HASH" "getAcl shows the digest id"
expect '^: cdrwa$' "getAcl shows the digest perms"
expect '^secret-2$' "addauth digest allows set"
reject 'Insufficient permission' "no permission errors with the right credentials"

# 6. delete
zk delete $R/child
expect_rc 0 "delete $R/child"
zk delete $R/child
expect_rc nonzero "delete of missing node fails"
expect_fixed "Node does not exist: $R/child" "delete missing message"
zk delete $R
expect_rc nonzero "delete of non-empty node fails"
expect_fixed "Node not empty: $R" "not-empty message"
zk delete -v 7 $R/seq-0000000001
expect_rc nonzero "delete with wrong version fails"
expect_fixed "version No is not valid : $R/seq-0000000001" "delete bad-version message"
zk delete -v 0 $R/seq-0000000001
expect_rc 0 "delete with right version"

# 7. deleteall
zk create $R/tree t
zk create $R/tree/a a
zk create $R/tree/a/b b
zk create $R/tree/c c
zk deleteall $R/tree
expect_rc 0 "deleteall $R/tree"
zk stat $R/tree
expect_fixed "Node does not exist: $R/tree" "deleteall removed the subtree"
zk deleteall $R
expect_rc nonzero "deleteall without auth cannot list the digest-protected child"
expect_fixed "Insufficient permission : $R/secure" "deleteall NoAuth message"
cleanup
reject "Insufficient permission" "deleteall with addauth"
zk stat $R
expect_fixed "Node does not exist: $R" "everything removed"

END=$(date +%s.%N)
ELAPSED=$(awk -v a="$START" -v b="$END" 'BEGIN{printf "%.1f", b-a}')
if [ "$FAILS" -ne 0 ]; then
    echo "zkcli_smoke: FAIL $FAILS of $((CHECKS + FAILS)) checks failed in ${ELAPSED}s against $HP"
    exit 1
fi
echo "zkcli_smoke: PASS $CHECKS checks in ${ELAPSED}s against $HP"
