#!/bin/sh
# Cross-builds the N-API addon for linux-arm64 on an x86-64 build machine:
#   native/prebuilds/linux-arm64/node.glibc.node   (or the path given as $1)
# like linux-x64's: prebuildify (node-gyp), libbpf linked in statically, libelf and zlib dynamic.
# Takes: Debian's cross toolchain (aarch64-linux-gnu-gcc) and the arm64 multiarch libbpf-dev,
# libelf-dev and zlib1g-dev — `sh scripts/setup.sh --with-arm64` installs them. The build runs in a
# scratch copy of native/ and bpf/abi/, so a developer's local build in native/build stays as it was.
# scripts/prebuild.sh (npm pack's prepack) calls it when the toolchain is present.
set -eu
cd "$(dirname "$0")/.."
ROOT=$(pwd)
say() { printf 'prebuild-arm64: %s\n' "$*" >&2; }
CROSS=aarch64-linux-gnu
OUT=${1:-native/prebuilds/linux-arm64/node.glibc.node}
case "$OUT" in /*) ;; *) OUT="$ROOT/$OUT" ;; esac

command -v "$CROSS-gcc" >/dev/null 2>&1 || { say "no $CROSS-gcc: run sh scripts/setup.sh --with-arm64"; exit 1; }
for lib in libbpf.a libelf.so libz.so; do
  [ -e "/usr/lib/$CROSS/$lib" ] || { say "no /usr/lib/$CROSS/$lib (arm64 multiarch -dev packages): run sh scripts/setup.sh --with-arm64"; exit 1; }
done
NODEDIR=$(node -p 'require("path").resolve(process.execPath, "../..")')
[ -f "$NODEDIR/include/node/node_api.h" ] || { say "Node.js headers not found under $NODEDIR/include/node"; exit 1; }

TMP=$(mktemp -d /tmp/ebpf-sensor-arm64.XXXXXX)
trap 'rm -rf "$TMP"' EXIT INT TERM
mkdir -p "$TMP/native" "$TMP/bpf"
cp -R native/src native/binding.gyp "$TMP/native/"
cp -R bpf/abi "$TMP/bpf/"
# node-gyp takes the compilers from the environment; the N-API headers are the same for every arch.
(cd "$TMP/native" && PATH="$ROOT/node_modules/.bin:$PATH" CC="$CROSS-gcc" CXX="$CROSS-g++" LINK="$CROSS-g++" AR="$CROSS-ar" \
  npm_config_nodedir="$NODEDIR" "$ROOT/node_modules/.bin/prebuildify" --napi --strip --tag-libc \
  --arch arm64 --strip-bin "$CROSS-strip" >"$TMP/build.log" 2>&1) ||
  { tail -30 "$TMP/build.log" >&2; say "cross-build failed"; exit 1; }
mkdir -p "$(dirname "$OUT")"
cp "$TMP/native/prebuilds/linux-arm64/node.glibc.node" "$OUT"
say "built $OUT"
