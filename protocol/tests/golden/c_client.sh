#!/usr/bin/env bash
# Drives the ZooKeeper C client shell (cli_mt from Debian's zookeeper-bin,
# libzookeeper-mt 3.8) through record_proxy.py for a golden capture.
#
#   c_client.sh <cli_mt> <zkHost:port> <controlPort>
#
# cli_mt reads one command per line on stdin; commands run synchronously,
# and we pause between lines so the capture's shape is deterministic.  Before
# each command a "mark" is sent to the proxy control port (and acknowledged).
# The pseudo-command "!drop" makes the proxy cut the connection (reconnect).
set -euo pipefail
CLI="$1"
HOSTPORT="$2"
CTL="$3"

exec 3<>"/dev/tcp/127.0.0.1/$CTL"

mark() {
    echo "mark $*" >&3
    local ok
    read -r -t 10 ok <&3
    [ "$ok" = "ok" ] || { echo "control failed: $ok" >&2; exit 1; }
}

commands() {
    mark "connect (cli_mt, recv timeout 30000)"
    sleep 1.0
    while IFS= read -r cmd; do
        [ -z "$cmd" ] && continue
        if [ "$cmd" = "!drop" ]; then
            mark "proxy drops the connection -> C client reconnects with session id, setWatches, auth"
            echo "drop" >&3
            read -r -t 10 ok <&3
            sleep 2.0
            continue
        fi
        mark "cli: $cmd"
        echo "$cmd"
        sleep 0.4
    done <<'EOF'
addauth digest user:pass
create /cc
create +e /cc/eph
create +s /cc/seq-
create +es /cc/eseq-
create +c /cc/container
create +t=60000 /cc/ttl
create2 /cc/c2
create /cc
get /cc
set /cc hello
set /cc/missing x
ls /cc
ls2 /cc
exists /cc
exists /cc/missing
!drop
wexists /cc/later
create /cc/later
sync /cc
config
reconfig -remove 2
delete /cc/c2
delete /cc
delete /cc/missing
EOF
    mark "quit (closeSession)"
    echo "quit"
    sleep 1.0
}

commands | "$CLI" "$HOSTPORT"
