#!/bin/sh
# Builds what the packages ship, on the build machine, once:
#   bpf/.output/<arch>/sensor.bpf.o and sensor-compat.bpf.o  (CO-RE objects per architecture; bpf/Makefile)
#   native/prebuilds/linux-<arch>/node.glibc.node       (the N-API addon, libbpf linked in, via prebuildify)
#   on x86-64 also linux-arm64's: bpf/.output/arm64/ (make ARCH=arm64 against an arm64 kernel's BTF,
#   scripts/kernel-btf.sh arm64) and native/prebuilds/linux-arm64/ (cross-built, scripts/prebuild-arm64.sh) —
#   the cross toolchain and dpkg's arm64 architecture come from setup.sh --with-arm64
#   dist/                                                (the TypeScript)
# npm pack (prepack), scripts/build-deb.sh and the Dockerfile run it. It needs the build tools
# (scripts/setup.sh installs them); the machines that install the packages need none.
# package.json's cpu lists x64 and arm64, so a build that cannot make arm64's part fails, unless
# EBPF_SENSOR_PREBUILD_HOST_ONLY=1 says the package stays on this architecture (the Dockerfile's
# build stage: its tarball is installed only in the image).
set -eu
cd "$(dirname "$0")/.."
say() { printf 'prebuild: %s\n' "$*" >&2; }

make -s -C bpf >&2

# prebuildify builds with node-gyp; the headers come from the local Node.js (no download).
NODEDIR=$(node -p 'require("path").resolve(process.execPath, "../..")')
[ -f "$NODEDIR/include/node/node_api.h" ] || { say "Node.js headers not found under $NODEDIR/include/node"; exit 1; }
ARCH=$(node -p 'process.arch')
OUT=native/prebuilds/linux-$ARCH/node.glibc.node
need=0
if [ ! -f "$OUT" ]; then need=1; else
  for f in native/src/*.c native/src/*.h native/binding.gyp bpf/abi/sensor_abi.h; do [ "$f" -nt "$OUT" ] && need=1; done
fi
if [ "$need" -eq 1 ]; then
  say "building the prebuilt addon ($OUT)"
  # prebuildify moves native/build/Release's addon away: keep a developer's local build.
  [ -f native/build/Release/ebpf_sensor.node ] && cp native/build/Release/ebpf_sensor.node /tmp/ebpf-sensor-local-addon.$$
  (cd native && npm_config_nodedir="$NODEDIR" ../node_modules/.bin/prebuildify --napi --strip --tag-libc >&2)
  [ -f /tmp/ebpf-sensor-local-addon.$$ ] && mv /tmp/ebpf-sensor-local-addon.$$ native/build/Release/ebpf_sensor.node
fi
host_only() {
  if [ "${EBPF_SENSOR_PREBUILD_HOST_ONLY:-0}" = 1 ]; then
    say "warning: $1: this package runs on linux-$ARCH only (EBPF_SENSOR_PREBUILD_HOST_ONLY=1)"
  else
    say "error: $1, but package.json's cpu lists x64 and arm64 (set EBPF_SENSOR_PREBUILD_HOST_ONLY=1 for a package that stays on linux-$ARCH)"
    exit 1
  fi
}
if [ "$ARCH" = x64 ]; then
  A64=native/prebuilds/linux-arm64/node.glibc.node
  if command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 && [ -e /usr/lib/aarch64-linux-gnu/libbpf.a ]; then
    need=0
    if [ ! -f "$A64" ]; then need=1; else
      for f in native/src/*.c native/binding.gyp bpf/abi/sensor_abi.h; do [ "$f" -nt "$A64" ] && need=1; done
    fi
    [ "$need" -eq 0 ] || sh scripts/prebuild-arm64.sh "$A64"
    if BTF64=$(sh scripts/kernel-btf.sh arm64); then
      make -s -C bpf ARCH=arm64 BTF="$BTF64" >&2
    else
      host_only "no arm64 kernel BTF for the arm64 BPF objects"
    fi
  else
    host_only "linux-arm64 not built: no cross toolchain (sh scripts/setup.sh --with-arm64)"
  fi
else
  host_only "the x64 part is built on x86-64 only"
fi
./node_modules/.bin/tsc -p tsconfig.json
# Generated once instead of at each start: the JSON Schema validators as ajv standalone code
# (src/model/schemas.ts) and the bundled rules parsed (src/rules/rule-snapshot.ts).
node scripts/gen-validators.mjs
node scripts/gen-rules-snapshot.mjs
say "ready"
