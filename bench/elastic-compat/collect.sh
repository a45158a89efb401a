#!/bin/sh
# Documents the live sensor writes for real behaviours: starts `ebpf-sensor run`
# (root, BPF; a private journal, file output), runs workload.sh, waits until the
# workload's last exec is in the output, stops the sensor by its PID.
# Usage: sh bench/elastic-compat/collect.sh OUT.ndjson   (from the repository root, after the build)
# Hold the kernel lock around it when other live tests may run:
#   flock /tmp/ebpf-sensor-kernel.lock sh bench/elastic-compat/collect.sh /tmp/docs.ndjson
set -eu
OUT=${1:?output file}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
T=$(mktemp -d)
rm -f "$OUT"
EBPF_SENSOR_JOURNAL__DIR="$T/journal" EBPF_SENSOR_METRICS__PORT=0 \
  node "$ROOT/bin/ebpf-sensor.js" run --output "file:$OUT" >/dev/null 2>"$T/stderr" &
SENSOR=$!
stop() { kill -INT "$SENSOR" 2>/dev/null || true; wait "$SENSOR" 2>/dev/null || true; }
trap stop EXIT
i=0
until grep -q 'running' "$T/stderr" 2>/dev/null; do
  i=$((i + 1)); [ "$i" -lt 300 ] || { cat "$T/stderr" >&2; exit 1; }
  kill -0 "$SENSOR" 2>/dev/null || { cat "$T/stderr" >&2; exit 1; }
  sleep 0.1
done
bash "$HERE/workload.sh" "$T/work" >/dev/null 2>&1 || true
i=0
until grep -q 'elastic-compat-workload-done' "$OUT" 2>/dev/null; do
  i=$((i + 1)); [ "$i" -lt 600 ] || { echo "the workload's marker never arrived" >&2; exit 1; }
  sleep 0.1
done
stop
trap - EXIT
rm -rf "$T"
echo "$(wc -l < "$OUT") documents in $OUT"
