#!/usr/bin/env bash
# Idempotent installer for the real-client smoke tests in tests/clients/.
#   - Debian packages: zookeeper (Java server + zkCli, /usr/share/java/zookeeper.jar)
#                      zookeeper-bin (C client cli_mt, /usr/lib/zookeeper/bin/cli_mt)
#                      golang-go, golang-github-samuel-go-zookeeper-dev (the Go client,
#                      built offline in GOPATH mode from /usr/share/gocode by tests/go/)
#   - Python:          kazoo (for kazoo_smoke.py), installed with the python3 on PATH
# Only installs what is missing. Quiet on success, loud (non-zero exit) on failure.
set -euo pipefail

die() { echo "install.sh: ERROR: $*" >&2; exit 1; }

PYTHON="${PYTHON:-python3}"

need_pkgs=()
for pkg in zookeeper zookeeper-bin golang-go golang-github-samuel-go-zookeeper-dev; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        need_pkgs+=("$pkg")
    fi
done

if ((${#need_pkgs[@]})); then
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null 2>&1 || die "need root or sudo to install: ${need_pkgs[*]}"
        SUDO="sudo"
    fi
    log=$(mktemp)
    # Wait for a concurrent apt-get (another test binary, an unattended upgrade).
    lock_wait=(-o DPkg::Lock::Timeout=300)
    if ! { $SUDO apt-get "${lock_wait[@]}" update -q && \
           DEBIAN_FRONTEND=noninteractive $SUDO apt-get "${lock_wait[@]}" install -y -q "${need_pkgs[@]}"; } >"$log" 2>&1; then
        cat "$log" >&2
        rm -f "$log"
        die "apt-get install ${need_pkgs[*]} failed"
    fi
    rm -f "$log"
fi

[ -f /usr/share/java/zookeeper.jar ] || die "/usr/share/java/zookeeper.jar missing after install"
command -v java >/dev/null 2>&1 || die "java not found on PATH"
[ -x /usr/bin/go ] || die "/usr/bin/go missing after install"
[ -d /usr/share/gocode/src/github.com/samuel/go-zookeeper/zk ] || die "go-zookeeper sources missing after install"

if ! "$PYTHON" -c "import kazoo" >/dev/null 2>&1; then
    log=$(mktemp)
    if ! "$PYTHON" -m pip install -q kazoo >"$log" 2>&1; then
        cat "$log" >&2
        rm -f "$log"
        die "pip install kazoo failed"
    fi
    rm -f "$log"
    "$PYTHON" -c "import kazoo" || die "kazoo still not importable by $PYTHON"
fi
exit 0
