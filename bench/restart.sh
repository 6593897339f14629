#!/usr/bin/env bash
# Restart benchmark (issue 4): time from process start to the first served read, with a
# large tree on disk, for Ferrokeeper and Apache ZooKeeper 3.8 (Debian's `zookeeper`
# package) on the same machine, never both running at once.
#
# For each server: start it on a fresh data dir, populate BENCH_ZNODES znodes (100-byte
# values under a few /pop-<n> parents, deeply pipelined), wait until a complete
# snapshot is on disk (both snapshot every snapCount txns, randomised), stop it
# (SIGTERM, wait) and report the on-disk sizes. Then BENCH_RESTARTS rounds, the servers
# taking turns within each round (so a noisy neighbour hurts both alike): start it and
# poll (connect + getData /pop-0/n0, a new attempt every 5 ms) until a read is served,
# note its CPU time so far (/proc/<pid>/stat: steadier than wall time on a busy machine)
# and VmHWM, stop it. Reports the median start-to-first-read time, peak RSS, the
# populate throughput, and where start-up time went (from the servers' log lines), and
# ends with Ferrokeeper/ZooKeeper ratios.
#
# With ZooKeeper benchmarked, Ferrokeeper is also started once on a copy of ZooKeeper's
# populated data directory (a takeover) and its time to the first read reported.
#
#   bench/restart.sh [ferrokeeper] [zookeeper]      (default: both)
#   BENCH_ZNODES=200000 BENCH_RESTARTS=3 BENCH_SNAP_COUNT=100000 bench/restart.sh
#   BENCH_ZK_LOG=yes  also puts slf4j-simple on ZooKeeper's classpath, so its INFO log
#                     (snapshot load / replay / snapshot taken, with times) is shown
#   BENCH_KEEP=DIR    copy the server logs to DIR before the temp dir is removed
#   BENCH_TIMEOUT=900 bounds every wait (s); BENCH_STOP_TIMEOUT=120 bounds each stop
set -euo pipefail
cd "$(dirname "$0")/.."
znodes=${BENCH_ZNODES:-1000000}
snap_count=${BENCH_SNAP_COUNT:-100000}
restarts=${BENCH_RESTARTS:-3}
sessions=${BENCH_SESSIONS:-4}
depth=${BENCH_DEPTH:-256}
value_size=${BENCH_VALUE_SIZE:-100}
wait_secs=${BENCH_TIMEOUT:-900} # bound on every wait (populate, snapshot, restart)
stop_secs=${BENCH_STOP_TIMEOUT:-120} # bound on a SIGTERM-ed server's exit, then SIGKILL
zk_heap=${BENCH_ZK_HEAP:-4g}
zk_log=${BENCH_ZK_LOG:-no}
keep=${BENCH_KEEP:-}
servers=("$@")
[ $# -eq 0 ] && servers=(ferrokeeper zookeeper)
probe_node=/pop-0/n0
if [ "$znodes" -lt "$snap_count" ]; then
  # Both servers snapshot after a random count in [snapCount/2, snapCount) txns.
  snap_count=$(((znodes + 1) / 2))
  echo "note: BENCH_ZNODES=$znodes < snapCount; using snapCount=$snap_count so both servers snapshot" >&2
fi

[ -f /usr/share/java/zookeeper.jar ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -q zookeeper >/dev/null
cargo build --release -q -p ferrokeeper -p ferrokeeper-bench

work=$(mktemp -d)
# Private copies: a rebuild of target/ during the run must not swap the binaries.
mkdir "$work/bin"
cp target/release/ferrokeeper target/release/ferrokeeper-bench "$work/bin/"
bench=$work/bin/ferrokeeper-bench
pids=()
alive() { [ -e "/proc/$1" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }
# SIGTERM, wait (bounded), SIGKILL if it would not stop; reaps the child.
stop_pid() {
  local pid=$1 limit=${2:-$stop_secs} since=$SECONDS
  kill -TERM "$pid" 2>/dev/null || true
  while alive "$pid" && ((SECONDS - since < limit)); do sleep 0.05; done
  if alive "$pid"; then
    echo "pid $pid ($(cat "/proc/$pid/comm" 2>/dev/null)) did not stop within $((SECONDS - since))s of SIGTERM; killing it" >&2
    # A JVM that ignores SIGTERM: keep its threads for the record (see BENCH_KEEP).
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = java ] && jstack "$pid" >"$work/jstack-$pid.log" 2>&1
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
  local p rest=()
  for p in "${pids[@]}"; do [ "$p" = "$pid" ] || rest+=("$p"); done
  pids=("${rest[@]}")
}
cleanup() {
  local p
  for p in "${pids[@]}"; do stop_pid "$p" 10; done
  [ -n "$keep" ] && mkdir -p "$keep" && cp "$work"/*.log "$keep"/ 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
die() { echo "$*" >&2; exit 1; }
now_ns() { local t=$EPOCHREALTIME; echo "${t/./}000"; }
# CPU time (user + system, all threads) a process has used so far, in ms.
cpu_ms() { awk -v tck="$(getconf CLK_TCK)" '{sub(/^.*\) /, ""); print int(($12 + $13) * 1000 / tck)}' "/proc/$1/stat"; }
kb_of() { sed -n "s/^$2:[[:space:]]*\([0-9]*\) kB/\1/p" "/proc/$1/status"; }
mb() { python3 -c "print(f'{$1/1024:.1f}')"; }

zk_classpath=/usr/share/java/zookeeper.jar
zk_opts=()
if [ "$zk_log" = yes ]; then
  zk_classpath+=:/usr/share/java/slf4j-simple.jar
  zk_opts=(-Dorg.slf4j.simpleLogger.showDateTime=true
    "-Dorg.slf4j.simpleLogger.dateTimeFormat=yyyy-MM-dd'T'HH:mm:ss.SSSXXX")
fi

# start_server NAME DIR PORT LOG: sets server_pid and start_ns (taken just before the fork).
start_server() {
  local name=$1 dir=$2 port=$3 log=$4
  start_ns=$(now_ns)
  case $name in
    ferrokeeper)
      NO_COLOR=1 "$work/bin/ferrokeeper" --port "$port" --bind 127.0.0.1 --data-dir "$dir" \
        --set "snapCount=$snap_count" --set forceSync=yes --log info >"$log" 2>&1 &
      ;;
    zookeeper)
      java "-Xmx$zk_heap" "${zk_opts[@]}" -cp "$zk_classpath" \
        org.apache.zookeeper.server.ZooKeeperServerMain "$dir/zoo.cfg" >"$log" 2>&1 &
      ;;
  esac
  server_pid=$!
  pids+=("$server_pid")
}

# Snapshot files (complete ones only) of a server's data dir, oldest (lowest zxid) first.
snapshots() {
  local name
  case $1 in
    ferrokeeper) find "$2" -maxdepth 1 -name 'snapshot.*' ! -name '*.tmp' -printf '%f\n' ;;
    zookeeper) find "$2/version-2" -maxdepth 1 -name 'snapshot.*' -printf '%f\n' 2>/dev/null ;;
  esac | while read -r name; do printf '%020d %s\n' "$((16#${name#snapshot.}))" "$name"; done |
    sort | cut -d' ' -f2
}
snapshot_dir() { if [ "$1" = zookeeper ]; then echo "$2/version-2"; else echo "$2"; fi; }

# Waits until a snapshot exists and the data dir has stopped changing for 2 s (a
# snapshot still being written in the background is not cut short by the SIGTERM).
wait_snapshot() {
  local name=$1 dir=$2 pid=$3 i last="" same=0 size
  for ((i = 0; i < wait_secs * 2; i++)); do
    alive "$pid" || die "$name exited while waiting for its snapshot"
    size=$(find "$dir" -type f -printf '%s %f\n' | sort | md5sum)
    if [ "$size" = "$last" ]; then same=$((same + 1)); else same=0; last=$size; fi
    if [ "$same" -ge 4 ] && [ -n "$(snapshots "$name" "$dir")" ]; then return 0; fi
    sleep 0.5
  done
  die "$name: no settled snapshot after ${wait_secs}s (snapCount=$snap_count, znodes=$znodes)"
}

# Lines of a server log that show where start-up time goes, as +ms since start_ns.
timeline() {
  python3 - "$1" "$2" "$3" <<'PY'
import re, sys
from datetime import datetime
path, start_ns, name = sys.argv[1], int(sys.argv[2]), sys.argv[3]
keys = {
    "ferrokeeper": ["loaded snapshot", "log repaired", "took over", "recovered", "serving ZooKeeper clients"],
    "zookeeper": ["Reading snapshot", "Snapshot loaded in", "txns loaded in", "Snapshot taken in",
                  "Created server with", "binding to port", "Started ZooKeeperServer"],
}[name]
stamp = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)(Z|[+-]\d\d:?\d\d)")
ansi = re.compile(r"\x1b\[[0-9;]*m")
for line in open(path, errors="replace"):
    line = ansi.sub("", line).rstrip()
    m = stamp.search(line)
    if not m or not any(k in line for k in keys):
        continue
    tz = "+00:00" if m.group(2) == "Z" else m.group(2)
    t = datetime.fromisoformat(m.group(1) + tz).timestamp()
    text = line[m.end():].strip()
    text = re.sub(r"^(\[[^]]*\]\s*)?(INFO|WARN|ERROR)\s+\S+\s*(- |: )?", "", text)
    print(f"    +{(t * 1e9 - start_ns) / 1e6:8.1f} ms  {text[:160]}")
PY
}

declare -A result port_of

# populate NAME: fresh data dir, N znodes, a settled snapshot, stopped; prints disk use.
populate() {
  local name=$1 dir="$work/$1" port log out
  mkdir -p "$dir"
  port=$(free_port)
  port_of[$name]=$port
  if [ "$name" = zookeeper ]; then
    # forceSync=yes is ZooKeeper's default: every group commit is fsynced, as Ferrokeeper's.
    cat >"$dir/zoo.cfg" <<CFG
tickTime=2000
dataDir=$dir
clientPort=$port
clientPortAddress=127.0.0.1
admin.enableServer=false
forceSync=yes
maxClientCnxns=0
snapCount=$snap_count
CFG
  fi
  log="$work/$name-populate.log"
  start_server "$name" "$dir" "$port" "$log"
  # Until it serves (a JVM accepts connections before it serves them).
  out=$(timeout $((wait_secs + 10)) "$bench" --server "127.0.0.1:$port" --first-read / \
    --since-ns "$start_ns" --timeout-secs "$wait_secs" --label "$name") ||
    { tail -20 "$log" >&2; die "$name: never served on a fresh data dir"; }
  echo "$out (fresh data dir)"
  out=$(timeout "$wait_secs" "$bench" --server "127.0.0.1:$port" --workload populate \
    --znodes "$znodes" --sessions "$sessions" --depth "$depth" --value-size "$value_size" \
    --prefix pop --label "$name") || die "$name: populate failed or timed out"
  echo "$out"
  grep -q ' errors=0 ' <<<"$out" || die "$name: populate had errors"
  result[$name.populate]=$(sed -n 's/.*ops_per_sec=\([0-9]*\).*/\1/p' <<<"$out")
  local populate_hwm populate_cpu
  populate_hwm=$(kb_of "$server_pid" VmHWM)
  populate_cpu=$(cpu_ms "$server_pid")
  result[$name.populate_cpu_us]=$(python3 -c "print(f'{$populate_cpu*1000/$znodes:.1f}')")
  echo "$name populate server_cpu_ms=$populate_cpu (${result[$name.populate_cpu_us]} us per create, start-up included) vmhwm_mb=$(mb "$populate_hwm")"
  wait_snapshot "$name" "$dir" "$server_pid"
  stop_pid "$server_pid"

  local sdir newest snap_bytes all_snap_bytes log_bytes du_kb nsnaps
  sdir=$(snapshot_dir "$name" "$dir")
  newest=$(snapshots "$name" "$dir" | tail -1)
  nsnaps=$(snapshots "$name" "$dir" | wc -l)
  snap_bytes=$(stat -c %s "$sdir/$newest")
  all_snap_bytes=$(find "$sdir" -maxdepth 1 -name 'snapshot.*' -printf '%s\n' | awk '{s += $1} END {print s + 0}')
  log_bytes=$(find "$sdir" -maxdepth 1 -name 'log.[0-9a-f]*' -printf '%s\n' | awk '{s += $1} END {print s + 0}')
  du_kb=$(du -sk "$dir" | cut -f1)
  # Nearly every txn is a create, so the snapshot's zxid counter ~ the znodes it holds.
  result[$name.snapshot]=$(python3 -c "print(f'{$snap_bytes / max(1, 0x${newest#snapshot.} & 0xffffffff):.0f}')")
  printf '%s disk snapshots=%s newest=%s newest_snapshot_mb=%s (~%s bytes per znode) all_snapshots_mb=%s log_files_mb=%s (apparent, preallocated) du_mb=%s\n' \
    "$name" "$nsnaps" "$newest" "$(mb "$snap_bytes/1024")" "${result[$name.snapshot]}" "$(mb "$all_snap_bytes/1024")" \
    "$(mb "$log_bytes/1024")" "$(mb "$du_kb")"
}

# restart NAME ROUND: start on the populated dir, time the first read, stop.
restart() {
  local name=$1 r=$2 dir="$work/$1" port=${port_of[$1]} log out ms cpu hwm rss nodes
  log="$work/$name-restart-$r.log"
  start_server "$name" "$dir" "$port" "$log"
  out=$(timeout $((wait_secs + 10)) "$bench" --server "127.0.0.1:$port" --first-read "$probe_node" \
    --since-ns "$start_ns" --timeout-secs "$wait_secs" --label "$name") ||
    { tail -20 "$log" >&2; die "$name: no read served after restart $r"; }
  cpu=$(cpu_ms "$server_pid")
  hwm=$(kb_of "$server_pid" VmHWM)
  rss=$(kb_of "$server_pid" VmRSS)
  ms=$(sed -n 's/.*first_read_ms=\([0-9.]*\).*/\1/p' <<<"$out")
  nodes=$(sed -n 's/.*nodes=\([-0-9]*\).*/\1/p' <<<"$out")
  [ "$nodes" -ge "$znodes" ] || die "$name: only $nodes znodes after restart $r (expected >= $znodes)"
  echo "$name restart $r: first_read_ms=$ms cpu_ms=$cpu vmhwm_mb=$(mb "$hwm") vmrss_mb=$(mb "$rss") znodes_below_root=$nodes probe_$(grep -o 'attempts=[0-9]*' <<<"$out")"
  stop_pid "$server_pid"
  timeline "$log" "$start_ns" "$name"
  result[$name.times]+=" $ms"
  result[$name.hwms]+=" $hwm"
  result[$name.cpus]+=" $cpu"
}

# takeover: Ferrokeeper started on a copy of ZooKeeper's populated data directory
# (ZooKeeper stopped): the time to its first read, which includes reading ZooKeeper's
# snapshot and log and writing Ferrokeeper's first snapshot. Once: later starts are
# ordinary restarts.
takeover() {
  local dir="$work/takeover" port log out ms cpu hwm nodes
  cp -a "$work/zookeeper" "$dir"
  port=$(free_port)
  log="$work/takeover.log"
  start_server ferrokeeper "$dir" "$port" "$log"
  out=$(timeout $((wait_secs + 10)) "$bench" --server "127.0.0.1:$port" --first-read "$probe_node" \
    --since-ns "$start_ns" --timeout-secs "$wait_secs" --label takeover) ||
    { tail -20 "$log" >&2; die "ferrokeeper: no read served on ZooKeeper's data dir"; }
  cpu=$(cpu_ms "$server_pid")
  hwm=$(kb_of "$server_pid" VmHWM)
  ms=$(sed -n 's/.*first_read_ms=\([0-9.]*\).*/\1/p' <<<"$out")
  nodes=$(sed -n 's/.*nodes=\([-0-9]*\).*/\1/p' <<<"$out")
  [ "$nodes" -ge "$znodes" ] || die "takeover: only $nodes znodes (expected >= $znodes)"
  echo "ferrokeeper takeover of ZooKeeper's data dir: first_read_ms=$ms cpu_ms=$cpu vmhwm_mb=$(mb "$hwm") znodes_below_root=$nodes"
  stop_pid "$server_pid"
  timeline "$log" "$start_ns" ferrokeeper
  result[takeover]=$ms
  rm -rf "$dir"
}

median() { python3 -c "import statistics,sys; print(statistics.median(map(float,sys.argv[1:])))" "$@"; }

for s in "${servers[@]}"; do
  case $s in ferrokeeper | zookeeper) ;; *) die "unknown server $s" ;; esac
done
for s in "${servers[@]}"; do populate "$s"; done
for ((r = 1; r <= restarts; r++)); do
  for s in "${servers[@]}"; do restart "$s" "$r"; done
done
if [ -n "${result[zookeeper.populate]:-}" ]; then takeover; fi
for s in "${servers[@]}"; do
  # shellcheck disable=SC2086 # word-splitting the lists is the point
  result[$s.restart]=$(median ${result[$s.times]})
  # shellcheck disable=SC2086
  result[$s.hwm]=$(median ${result[$s.hwms]})
  # shellcheck disable=SC2086
  result[$s.cpu]=$(median ${result[$s.cpus]})
  echo "$s restart median: first_read_ms=${result[$s.restart]} cpu_ms=${result[$s.cpu]} vmhwm_mb=$(mb "${result[$s.hwm]}") populate_ops_per_sec=${result[$s.populate]} (znodes=$znodes value_size=$value_size snapCount=$snap_count restarts=$restarts)"
done

if [ -n "${result[ferrokeeper.restart]:-}" ] && [ -n "${result[zookeeper.restart]:-}" ]; then
  ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }
  echo "ratio restart ferrokeeper/zookeeper = $(ratio "${result[ferrokeeper.restart]}" "${result[zookeeper.restart]}")x (lower is better)"
  echo "ratio restart CPU time ferrokeeper/zookeeper = $(ratio "${result[ferrokeeper.cpu]}" "${result[zookeeper.cpu]}")x (lower is better)"
  echo "ratio restart peak RSS ferrokeeper/zookeeper = $(ratio "${result[ferrokeeper.hwm]}" "${result[zookeeper.hwm]}")x (lower is better)"
  echo "ratio populate ferrokeeper/zookeeper throughput = $(ratio "${result[ferrokeeper.populate]}" "${result[zookeeper.populate]}")x (higher is better)"
  echo "ratio populate server CPU per create ferrokeeper/zookeeper = $(ratio "${result[ferrokeeper.populate_cpu_us]}" "${result[zookeeper.populate_cpu_us]}")x (lower is better)"
  echo "ratio snapshot bytes per znode ferrokeeper/zookeeper = $(ratio "${result[ferrokeeper.snapshot]}" "${result[zookeeper.snapshot]}")x (lower is better)"
  echo "ratio takeover of ZooKeeper's data dir (ferrokeeper) / zookeeper restart = $(ratio "${result[takeover]}" "${result[zookeeper.restart]}")x (lower is better)"
fi
