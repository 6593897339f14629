#!/usr/bin/env bash
# Build the statically linked ferrokeeper binary and the FROM-scratch image.
#
# Usage: docker/build.sh [IMAGE]          (default ferrokeeper:dev, or $IMAGE)
#
# Environment:
#   IMAGE                image tag (default ferrokeeper:dev; the argument wins)
#   STATIC_TARGET_DIR    cargo target dir of the static build (default target/static)
#   CARGO_BUILD_TIMEOUT  bound on the cargo build in seconds (default 1500)
#   DOCKER_BUILD_TIMEOUT bound on the docker build in seconds (default 300)
#   STRIP=debug|all|none what to strip from the binary copied into the image
#                        (default debug: keeps symbol names for panic backtraces)
#
# The binary is built for x86_64-unknown-linux-gnu with glibc linked in statically
# (-C target-feature=+crt-static), in its own target dir so that the ordinary
# dynamically linked build in target/ is left alone. The build context is a
# temporary folder holding only what the image needs (never the repository).
set -euo pipefail

die() { echo "docker/build.sh: ERROR: $*" >&2; exit 1; }

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
IMAGE=${1:-${IMAGE:-ferrokeeper:dev}}
TRIPLE=x86_64-unknown-linux-gnu
TARGET_DIR=${STATIC_TARGET_DIR:-$ROOT/target/static}
CARGO_BUILD_TIMEOUT=${CARGO_BUILD_TIMEOUT:-1500}
DOCKER_BUILD_TIMEOUT=${DOCKER_BUILD_TIMEOUT:-300}
STRIP=${STRIP:-debug}

command -v cargo >/dev/null || die "cargo not found"
command -v docker >/dev/null || die "docker not found"
for tool in readelf strip; do
    command -v $tool >/dev/null || die "$tool not found (Debian package binutils)"
done
[ "$(uname -m)" = x86_64 ] || die "only x86_64 hosts are supported (static glibc build for $TRIPLE)"
timeout 20 docker info >/dev/null 2>&1 || die "docker daemon not reachable (docker info failed)"

t0=$(date +%s)

# --- 1. static binary -----------------------------------------------------------
echo "==> cargo build (static, $TRIPLE, target dir $TARGET_DIR)"
cd "$ROOT"
rc=0
RUSTFLAGS="-C target-feature=+crt-static" \
    timeout -k 10 "$CARGO_BUILD_TIMEOUT" \
    cargo build --release --bin ferrokeeper --target "$TRIPLE" --target-dir "$TARGET_DIR" || rc=$?
[ $rc -eq 124 ] && die "cargo build took longer than ${CARGO_BUILD_TIMEOUT}s"
[ $rc -eq 0 ] || die "cargo build failed (exit $rc)"
BIN=$TARGET_DIR/$TRIPLE/release/ferrokeeper
[ -x "$BIN" ] || die "built binary missing: $BIN"
t1=$(date +%s)

# Static means: no program interpreter and no shared-library dependencies.
if readelf -lW "$BIN" | grep -q 'INTERP'; then die "$BIN has a program interpreter: not statically linked"; fi
if readelf -dW "$BIN" | grep -q '(NEEDED)'; then die "$BIN needs shared libraries: not statically linked"; fi
command -v file >/dev/null && file -b "$BIN" | cut -d, -f1-5
# It runs (on the host, without any of the host's libraries being needed).
version=$(timeout 10 "$BIN" --version) || die "$BIN --version failed"
echo "    $version: static, ok"

# --- 2. build context -------------------------------------------------------------
CTX=$(mktemp -d "${TMPDIR:-/tmp}/ferrokeeper-docker.XXXXXX")
trap 'rm -rf "$CTX"' EXIT
mkdir -p "$CTX/rootfs/tmp" "$CTX/conf" "$CTX/data" "$CTX/datalog"
case "$STRIP" in
    debug) strip --strip-debug -o "$CTX/rootfs/ferrokeeper" "$BIN" ;;
    all) strip -o "$CTX/rootfs/ferrokeeper" "$BIN" ;;
    none) cp "$BIN" "$CTX/rootfs/ferrokeeper" ;;
    *) die "STRIP must be debug, all or none (got $STRIP)" ;;
esac
cp "$HERE/Dockerfile" "$CTX/Dockerfile"
chmod 0755 "$CTX/rootfs" "$CTX/rootfs/ferrokeeper" "$CTX/conf" "$CTX/data" "$CTX/datalog"
chmod 1777 "$CTX/rootfs/tmp"

# --- 3. image -----------------------------------------------------------------------
revision=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git -C "$ROOT" status --porcelain 2>/dev/null | head -1)" ]; then revision="$revision-dirty"; fi
old_id=$(timeout 20 docker image inspect -f '{{.Id}}' "$IMAGE" 2>/dev/null || true)
echo "==> docker build -t $IMAGE (revision $revision)"
rc=0
DOCKER_BUILDKIT=${DOCKER_BUILDKIT:-0} timeout -k 10 "$DOCKER_BUILD_TIMEOUT" \
    docker build --quiet --pull=false \
    --build-arg "VERSION=${version#ferrokeeper }" --build-arg "REVISION=$revision" \
    -t "$IMAGE" "$CTX" || rc=$?
[ $rc -eq 124 ] && die "docker build took longer than ${DOCKER_BUILD_TIMEOUT}s"
[ $rc -eq 0 ] || die "docker build failed (exit $rc)"
t2=$(date +%s)

# The image that had this tag before, now untagged: remove it (unless in use).
new_id=$(timeout 20 docker image inspect -f '{{.Id}}' "$IMAGE") || die "image $IMAGE not found after build"
if [ -n "$old_id" ] && [ "$old_id" != "$new_id" ] &&
    [ "$(timeout 20 docker image inspect -f '{{len .RepoTags}}' "$old_id" 2>/dev/null)" = 0 ]; then
    timeout 60 docker rmi "$old_id" >/dev/null 2>&1 && echo "    removed the previous, now untagged image ${old_id:7:12}"
fi

size=$(docker image inspect -f '{{.Size}}' "$IMAGE") || die "image $IMAGE not found after build"
human=$(numfmt --to=iec --suffix=B "$size" 2>/dev/null || echo "$size bytes")
echo "==> image $IMAGE: $human ($size bytes); cargo $((t1 - t0))s, docker build $((t2 - t1))s"
