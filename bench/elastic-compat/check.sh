#!/bin/sh
# Elastic's prebuilt Linux rules against documents the live sensor wrote.
# Creates a Python venv with Elastic's `eql` package and lark (PyPI) on first
# use, then runs check.py. Usage, from the repository root after the build:
#   sh bench/elastic-compat/collect.sh /tmp/docs.ndjson      # root: live sensor + workload.sh
#   sh bench/elastic-compat/check.sh --docs /tmp/docs.ndjson [--rule NAME] [--quiet] [--json out.json]
#     [--fields ECS_FLAT_YML] [--aliases FILE]
# The rules are read from ../shared/reference/elastic-detection-rules/rules
# (ELASTIC_RULES overrides); the venv lives in ${ELASTIC_COMPAT_VENV:-/tmp/ebpf-sensor-elastic-compat-venv}.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
RULES=${ELASTIC_RULES:-$HERE/../../../shared/reference/elastic-detection-rules/rules}
VENV=${ELASTIC_COMPAT_VENV:-/tmp/ebpf-sensor-elastic-compat-venv}
if [ ! -d "$RULES" ]; then echo "no reference rules at $RULES" >&2; exit 2; fi
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import eql, lark' 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q 'eql==1.0.1' 'lark==1.3.1'
fi
exec "$VENV/bin/python" "$HERE/check.py" --rules "$RULES" "$@"
