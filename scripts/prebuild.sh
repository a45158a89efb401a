#!/bin/sh
# Builds what the packages ship, on the build machine, once:
#   bpf/.output/sensor.bpf.o and sensor-compat.bpf.o  (CO-RE objects; bpf/Makefile)
#   native/prebuilds/linux-<arch>/node.glibc.node       (the N-API addon, libbpf linked in, via prebuildify)
#   native/prebuilds/linux-arm64/node.glibc.node        (on x86-64, cross-built by scripts/prebuild-arm64.sh
#                                                         when the cross toolchain is installed: setup.sh --with-arm64)
#   dist/                                                (the TypeScript)
# npm pack (prepack), scripts/build-deb.sh and the Dockerfile run it. It needs the build tools
# (scripts/setup.sh installs them); the machines that install the packages need none.
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
if [ "$ARCH" = x64 ]; then
  A64=native/prebuilds/linux-arm64/node.glibc.node
  if command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 && [ -e /usr/lib/aarch64-linux-gnu/libbpf.a ]; then
    need=0
    if [ ! -f "$A64" ]; then need=1; else
      for f in native/src/*.c native/binding.gyp bpf/abi/sensor_abi.h; do [ "$f" -nt "$A64" ] && need=1; done
    fi
    [ "$need" -eq 0 ] || sh scripts/prebuild-arm64.sh "$A64"
  else
    say "linux-arm64 addon not built: no cross toolchain (sh scripts/setup.sh --with-arm64)"
  fi
fi
./node_modules/.bin/tsc -p tsconfig.json
say "ready"
