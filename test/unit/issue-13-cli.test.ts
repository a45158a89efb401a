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

test('issue-13-max-block: --max-block-mb bounds the memory a capture block may cost (coded error, not an allocation)', async () => {
  const dir = tempDir('ebpf-sensor-issue13-block-');
  // One block of a few MiB inflated (the writer's blocks go up to 16 MiB).
  const file = await writeCapture(join(dir, 'c.capture.gz'), rawEvents(5, 6000, 1));
  const run = (...extra: string[]): ReturnType<typeof spawnSync> =>
    spawnSync(process.execPath, [join(packageRoot, 'bin/ebpf-sensor.js'), 'replay', file, '-o', `file:${join(dir, 'out.ndjson')}`, '--no-progress', ...extra], {
      encoding: 'utf8',
      env: { ...process.env, EBPF_SENSOR_LOG_LEVEL: 'warn' },
    });
  const small = run('--max-block-mb', '1');
  assert.equal(small.status, 1, String(small.stderr));
  assert.match(String(small.stderr), /ESENSOR_CAPTURE_FORMAT: .*c\.capture\.gz.*(block|inflat)/i);
  const ok = run();
  assert.equal(ok.status, 0, String(ok.stderr));
  const bad = run('--max-block-mb', '0');
  assert.equal(bad.status, 2);
  assert.match(String(bad.stderr), /ESENSOR_USAGE: --max-block-mb must be an integer 1-4096/);
});
