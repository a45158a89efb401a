// issue 13: `replay --summary-json` into a directory that does not exist is
// ESENSOR_OUTPUT naming the file, before any work (it ended a successful
// replay with ESENSOR_INTERNAL).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { packageRoot } from '../../src/sources/kernel/paths.js';
import { rawEvents, tempDir, writeCapture } from '../helpers/replay-fixtures.js';

test('issue-13-summary-json: --summary-json into a missing directory is ESENSOR_OUTPUT, not ESENSOR_INTERNAL', async () => {
  const dir = tempDir('ebpf-sensor-issue13-cli-');
  const file = await writeCapture(join(dir, 'c.capture.gz'), rawEvents(3, 20, 1));
  const json = join(dir, 'no', 'such', 'summary.json');
  const r = spawnSync(process.execPath, [join(packageRoot, 'bin/ebpf-sensor.js'), 'replay', file, '-o', `file:${join(dir, 'out.ndjson')}`, '--summary-json', json], { encoding: 'utf8', env: { ...process.env, EBPF_SENSOR_LOG_LEVEL: 'warn' } });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /ESENSOR_OUTPUT: .*summary\.json: --summary-json .*does not exist/);
  assert.doesNotMatch(r.stderr, /ESENSOR_INTERNAL/);
});
