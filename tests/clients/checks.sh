# Shared by the smoke scripts (source it): bounding a whole run, and the checks on
# the last command's output ($OUT, from $LAST_CMD, exit status $RC if the script
# records one), counted in $CHECKS and $FAILS.

# bound_whole_run NAME SECONDS SCRIPT ARGS...: re-runs SCRIPT under timeout(1) unless
# this already is that run. timeout puts itself and the script in a new process
# group and kills that whole group when the time is up; INT/TERM/HUP are forwarded
# so an interrupted run leaves no orphans.
bound_whole_run() {
    local name=$1 total=$2 inner
    shift 2
    inner="_$(tr '[:lower:]-' '[:upper:]_' <<<"$name")_INNER"
    [ -n "${!inner:-}" ] && return 0
    export "$inner"=1
    timeout -k 5 "$total" "$@" &
    _BOUNDED_CHILD=$!
    trap 'kill -TERM "$_BOUNDED_CHILD" 2>/dev/null' INT TERM HUP
    wait "$_BOUNDED_CHILD"
    local rc=$?
    while kill -0 "$_BOUNDED_CHILD" 2>/dev/null; do wait "$_BOUNDED_CHILD"; rc=$?; done
    if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
        echo "$name: FAIL: overall timeout of ${total}s exceeded"
    fi
    exit $rc
}

fail() {
    FAILS=$((FAILS + 1))
    echo "FAIL: $1"
    echo "      command: $LAST_CMD${RC:+ (rc=$RC)}"
    head -40 <<<"$OUT" | sed 's/^/      | /'
}
ok() { CHECKS=$((CHECKS + 1)); [ -n "${VERBOSE:-}" ] && echo "ok: $1"; return 0; }
# expect ERE DESCRIPTION: some output line matches
expect() {
    grep -Eq -- "$1" <<<"$OUT" && ok "$2" || fail "$2: output does not match /$1/"
}
# expect_fixed STRING DESCRIPTION: output contains STRING literally
expect_fixed() {
    grep -Fq -- "$1" <<<"$OUT" && ok "$2" || fail "$2: output lacks '$1'"
}
# reject ERE DESCRIPTION: no output line matches
reject() {
    grep -Eq -- "$1" <<<"$OUT" && fail "$2: output unexpectedly matches /$1/" || ok "$2"
}
