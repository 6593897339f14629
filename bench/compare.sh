#!/usr/bin/env bash
# Side-by-side benchmark: Ferrokeeper and Apache ZooKeeper (Debian's `zookeeper`
# package) on the same machine, same load generator, same run. Prints each result and
# the Ferrokeeper/ZooKeeper ratios per workload: throughput, and the server process's
# CPU time (user + system, from /proc) per request.
#
#   bench/compare.sh [workload ...]       (default: get set create mixed)
#   BENCH_REQUESTS=20000 BENCH_SESSIONS=16 BENCH_DEPTH=32 BENCH_FORCE_SYNC=yes bench/compare.sh
set -euo pipefail
cd "$(dirname "$0")/.."
workloads=("${@:-get set create mixed}")
[ $# -eq 0 ] && workloads=(get set create mixed)
requests=${BENCH_REQUESTS:-20000}
sessions=${BENCH_SESSIONS:-16}
depth=${BENCH_DEPTH:-32}
force_sync=${BENCH_FORCE_SYNC:-yes}

[ -f /usr/share/java/zookeeper.jar ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -q zookeeper >/dev/null
cargo build --release -q -p ferrokeeper -p ferrokeeper-bench

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# CPU time (user + system, in clock ticks) a process has used so far.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
wait_port() { for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 never opened" >&2; return 1; }

run_pair() {
  local workload=$1
  local zk_port fk_port
  zk_port=$(free_port); fk_port=$(free_port)
  mkdir -p "$work/zk-$workload"
  cat > "$work/zk-$workload/zoo.cfg" <<CFG
tickTime=2000
dataDir=$work/zk-$workload
clientPort=$zk_port
clientPortAddress=127.0.0.1
admin.enableServer=false
forceSync=$force_sync
maxClientCnxns=0
CFG
  java -Xmx2g -cp /usr/share/java/zookeeper.jar org.apache.zookeeper.server.ZooKeeperServerMain "$work/zk-$workload/zoo.cfg" >/dev/null 2>&1 &
  local zk_pid=$!; pids+=("$zk_pid")
  mkdir -p "$work/fk-$workload"
  target/release/ferrokeeper --port "$fk_port" --bind 127.0.0.1 --data-dir "$work/fk-$workload" --set "forceSync=$force_sync" --log warn >/dev/null &
  local fk_pid=$!; pids+=("$fk_pid")
  wait_port "$zk_port"; wait_port "$fk_port"
  local args=(--workload "$workload" --requests "$requests" --sessions "$sessions" --depth "$depth")
  # Warm the JVM up before measuring, as anyone running ZooKeeper for real would have.
  target/release/ferrokeeper-bench --server "127.0.0.1:$zk_port" "${args[@]}" --label warmup --prefix warmup >/dev/null
  local zk fk zk_cpu fk_cpu before
  before=$(cpu_ticks "$zk_pid")
  zk=$(target/release/ferrokeeper-bench --server "127.0.0.1:$zk_port" "${args[@]}" --label zookeeper)
  zk_cpu=$(( $(cpu_ticks "$zk_pid") - before ))
  before=$(cpu_ticks "$fk_pid")
  fk=$(target/release/ferrokeeper-bench --server "127.0.0.1:$fk_port" "${args[@]}" --label ferrokeeper)
  fk_cpu=$(( $(cpu_ticks "$fk_pid") - before ))
  echo "$zk"; echo "$fk"
  local zk_ops fk_ops total
  zk_ops=$(sed -n 's/.*ops_per_sec=\([0-9]*\).*/\1/p' <<<"$zk")
  fk_ops=$(sed -n 's/.*ops_per_sec=\([0-9]*\).*/\1/p' <<<"$fk")
  total=$(sed -n 's/.* requests=\([0-9]*\).*/\1/p' <<<"$zk")
  python3 - <<PY
hz = $(getconf CLK_TCK)
zk_us = $zk_cpu / hz * 1e6 / $total
fk_us = $fk_cpu / hz * 1e6 / $total
print(f"cpu workload=$workload zookeeper={zk_us:.1f}us/request ferrokeeper={fk_us:.1f}us/request")
print(f"ratio workload=$workload ferrokeeper/zookeeper throughput = {$fk_ops/$zk_ops:.2f}x, server cpu per request = {fk_us/zk_us:.2f}x")
PY
  kill "$zk_pid" "$fk_pid" 2>/dev/null || true
  wait "$zk_pid" "$fk_pid" 2>/dev/null || true
}

for w in "${workloads[@]}"; do run_pair "$w"; done
