#!/usr/bin/env bash
# Run the real-client smoke tests against an already running server.
#
# Usage: run_all.sh HOST:PORT [kazoo] [zkcli] [c]
#   (no suite names = all three)
# Prints one summary line per suite and exits non-zero if any suite failed.
set -uo pipefail

if [ $# -lt 1 ] || [[ "$1" != *:* ]]; then
    echo "usage: $0 HOST:PORT [kazoo] [zkcli] [c]" >&2
    exit 2
fi
HP=$1
shift
SUITES=("$@")
[ ${#SUITES[@]} -eq 0 ] && SUITES=(kazoo zkcli c)
DIR=$(cd "$(dirname "$0")" && pwd)
PYTHON=${PYTHON:-python3}

declare -a SUMMARY
FAILED=0
CUR=""
INTERRUPTED=0
# Suites run in the background so that INT/TERM/HUP can be forwarded at once.
trap 'INTERRUPTED=1; [ -n "$CUR" ] && kill -TERM "$CUR" 2>/dev/null' INT TERM HUP
run_bg() {
    "$@" &
    CUR=$!
    wait "$CUR"
    local rc=$?
    while kill -0 "$CUR" 2>/dev/null; do wait "$CUR"; rc=$?; done
    CUR=""
    return $rc
}
for s in "${SUITES[@]}"; do
    case $s in
        kazoo) cmd=(timeout --foreground -k 5 200 "$PYTHON" "$DIR/kazoo_smoke.py" --hosts "$HP") ;;
        zkcli) cmd=("$DIR/zkcli_smoke.sh" "$HP") ;;
        c) cmd=("$DIR/c_smoke.sh" "$HP") ;;
        *) echo "unknown suite '$s' (kazoo, zkcli, c)" >&2; exit 2 ;;
    esac
    echo "=== $s: ${cmd[*]}"
    t0=$(date +%s.%N)
    run_bg "${cmd[@]}"
    rc=$?
    t1=$(date +%s.%N)
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}')
    if [ $rc -eq 0 ]; then
        SUMMARY+=("PASS  $s (${secs}s)")
    else
        SUMMARY+=("FAIL  $s (${secs}s, exit $rc)")
        FAILED=$((FAILED + 1))
    fi
    if [ $INTERRUPTED -eq 1 ]; then
        SUMMARY+=("interrupted")
        break
    fi
done

echo "=== summary against $HP"
printf '  %s\n' "${SUMMARY[@]}"
[ $INTERRUPTED -eq 1 ] && exit 130
[ $FAILED -eq 0 ]
