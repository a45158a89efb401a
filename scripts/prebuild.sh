#!/bin/sh
# Builds what the packages ship, on the build machine, once:
#   bpf/.output/sensor.bpf.o and sensor-compat.bpf.o  (CO-RE objects; bpf/Makefile)
#   native/prebuilds/linux-<arch>/node.glibc.node       (the N-API addon, libbpf linked in, via prebuildify)
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
./node_modules/.bin/tsc -p tsconfig.json
say "ready"
