#!/bin/sh
# Sets up everything ebpf-sensor needs on a Debian/Ubuntu machine, then builds:
#   system packages (clang, llvm, libbpf-dev, libelf-dev, zlib1g-dev, bpftool,
#   make, g++, python3) when missing; npm dependencies when package-lock.json
#   changed; BPF objects (vmlinux.h from the running kernel's BTF); the N-API
#   addon; the TypeScript. Re-running on a ready machine only checks, quickly.
#
#   sh scripts/setup.sh               all of it
#   sh scripts/setup.sh --build-only  skip system packages and npm install
#   sh scripts/setup.sh --with-test-deps  also packages the test suite needs (rsyslog, maven, JDKs, Go for the test collector)
set -eu

cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD_ONLY=0
TEST_DEPS=0
for a in "$@"; do
  case "$a" in
    --build-only) BUILD_ONLY=1 ;;
    --with-test-deps) TEST_DEPS=1 ;;
    *) echo "setup: unknown option $a" >&2; exit 2 ;;
  esac
done

say() { printf 'setup: %s\n' "$*" >&2; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo "$@"; else
    die "need root to run: $*"
  fi
}

missing_pkgs() {
  for p in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
      printf '%s ' "$p"
    fi
  done
}

install_pkgs() {
  miss=$(missing_pkgs "$@")
  [ -z "$miss" ] && return 0
  command -v apt-get >/dev/null 2>&1 || die "missing packages ($miss) and no apt-get: install them by hand"
  say "installing system packages: $miss"
  export DEBIAN_FRONTEND=noninteractive
  # shellcheck disable=SC2086
  if ! as_root apt-get install -y -q --no-install-recommends $miss >/tmp/ebpf-sensor-apt.log 2>&1; then
    say "apt-get install failed; refreshing package lists and retrying"
    as_root apt-get update -q >>/tmp/ebpf-sensor-apt.log 2>&1 || true
    # shellcheck disable=SC2086
    as_root apt-get install -y -q --no-install-recommends $miss >>/tmp/ebpf-sensor-apt.log 2>&1 ||
      { tail -20 /tmp/ebpf-sensor-apt.log >&2; die "could not install: $miss"; }
  fi
}

# Go >= 1.25 builds the OpenTelemetry Collector of the integration tests (test/services/otelcol-service.ts)
# from Go modules. Debian's golang-go is too old; the machines this project runs on carry a current Go
# in /usr/local/go. Without one, say so plainly (set EBPF_SENSOR_TEST_GO to a go binary).
go_ok() {
  v=$("$1" env GOVERSION 2>/dev/null | sed 's/^go//') || return 1
  major=$(echo "$v" | cut -d. -f1); minor=$(echo "$v" | cut -d. -f2)
  [ "${major:-0}" -gt 1 ] || { [ "${major:-0}" -eq 1 ] && [ "${minor:-0}" -ge 25 ]; }
}
ensure_go() {
  for g in "${EBPF_SENSOR_TEST_GO:-}" "$(command -v go 2>/dev/null || true)" /usr/local/go/bin/go; do
    [ -n "$g" ] && [ -x "$g" ] && go_ok "$g" && return 0
  done
  die "the integration tests build an OpenTelemetry Collector and need Go 1.25 or newer: install it (for example in /usr/local/go) or set EBPF_SENSOR_TEST_GO"
}

if [ "$BUILD_ONLY" -eq 0 ]; then
  install_pkgs clang llvm libbpf-dev libelf-dev zlib1g-dev bpftool make gcc g++ python3 pkg-config
  if [ "$TEST_DEPS" -eq 1 ]; then
    # rsyslog (+ its gnutls TLS driver; openssl makes the test certificates): the syslog sink's real peer; maven + JDK: Kafka and Elasticsearch for integration tests
    # (test/services: unzip unpacks Elasticsearch, passwd's useradd creates the user it runs as).
    # systemd: systemd-analyze verifies the .deb's unit; util-linux: setpriv and unshare for the package tests.
    install_pkgs rsyslog rsyslog-gnutls openssl maven default-jdk-headless iproute2 util-linux procps unzip passwd systemd
    ensure_go
  fi
fi

command -v node >/dev/null 2>&1 || die "node is not installed (Node.js 20 or newer is required)"
NODE_MAJOR=$(node -p 'process.versions.node.split(".")[0]')
[ "$NODE_MAJOR" -ge 20 ] || die "Node.js $(node -v) is too old: 20 or newer is required"

# npm dependencies: install when the lock file changed since the last install.
if [ "$BUILD_ONLY" -eq 0 ]; then
  LOCK_SUM=$(sha256sum package-lock.json | cut -d' ' -f1)
  if [ ! -f node_modules/.ebpf-sensor-lock ] || [ "$(cat node_modules/.ebpf-sensor-lock)" != "$LOCK_SUM" ]; then
    say "installing npm dependencies"
    npm ci --no-audit --no-fund --loglevel=error >&2
    echo "$LOCK_SUM" > node_modules/.ebpf-sensor-lock
  fi
fi

# tracefs and bpffs: the sensor mounts them itself when absent, but do it here too.
if [ "$(id -u)" -eq 0 ]; then
  grep -q ' /sys/kernel/tracing tracefs ' /proc/mounts 2>/dev/null || mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null || true
  grep -q ' /sys/fs/bpf bpf ' /proc/mounts 2>/dev/null || mount -t bpf bpf /sys/fs/bpf 2>/dev/null || true
fi

# BPF objects (make rebuilds only what changed; vmlinux.h from this kernel's BTF).
if [ -r /sys/kernel/btf/vmlinux ]; then
  make -s -C bpf >&2
else
  say "warning: /sys/kernel/btf/vmlinux missing: BPF objects not built (the sensor cannot run on this kernel)"
fi

# Native addon: rebuilt when its sources are newer than the binary.
ADDON=native/build/Release/ebpf_sensor.node
need_addon=0
if [ ! -f "$ADDON" ]; then need_addon=1; else
  for f in native/src/*.c native/src/*.h native/binding.gyp bpf/abi/sensor_abi.h; do
    [ "$f" -nt "$ADDON" ] && need_addon=1
  done
fi
if [ "$need_addon" -eq 1 ]; then
  NODEDIR=$(node -p 'require("path").resolve(process.execPath, "../..")')
  [ -f "$NODEDIR/include/node/node_api.h" ] || die "Node.js headers not found under $NODEDIR/include/node (install the nodejs headers package)"
  say "building native addon"
  (cd native && "$ROOT/node_modules/.bin/node-gyp" rebuild --nodedir="$NODEDIR" --loglevel=error >&2)
fi

# TypeScript (incremental).
./node_modules/.bin/tsc -p tsconfig.json
say "ready"
