// issue 13, native/src/addon.c: when the reader thread cannot allocate the
// message that hands a full chunk to JavaScript, it keeps the chunk; the
// frame that did not fit used to be written past the chunk's end anyway.
// Now the record is kept (spilled) and placed once a flush succeeds. Here
// the live sensor runs with small chunks and every 2nd batch allocation
// failing (EBPF_SENSOR_TEST_FAIL_BATCH_ALLOC, a test hook of the addon),
// through a storm of opens: every open arrives once, intact, nothing is
// reported lost, and the sensor exits cleanly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { skipReason, startSensor, WAIT_MS, type Doc } from './harness.js';

const skip = skipReason();
const FILES = 3000;

test('issue-13-addon-alloc: failed batch allocations keep every record intact (no frame past a chunk)', { skip }, async () => {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'ebpf-sensor-alloc-')));
  for (let i = 0; i < FILES; i++) writeFileSync(join(dir, `f${i}`), '');
  const sensor = await startSensor([], {
    EBPF_SENSOR_TELEMETRY__OPENREADS: 'true',
    EBPF_SENSOR_KERNEL__CHUNKBYTES: '65536',
    EBPF_SENSOR_TEST_FAIL_BATCH_ALLOC: '2',
  });
  let code: number | null = null;
  try {
    // One shell opens every file for reading (`: < f`): one openat each, from one pid.
    const r = spawnSync('sh', ['-c', `i=0; while [ $i -lt ${FILES} ]; do : < f$i; i=$((i+1)); done; echo $$`], { cwd: dir, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const pid = Number(r.stdout.trim());
    const mine = (d: Doc): boolean => d.process?.pid === pid && d.ebpf?.syscall === 'openat' && typeof d.file?.path === 'string' && d.file.path.startsWith(`${dir}/f`);
    await sensor.waitFor((d) => mine(d) && d.file.path === join(dir, `f${FILES - 1}`), WAIT_MS, 'the last open of the storm');
    const seen = new Map<string, number>();
    for (const d of sensor.docs()) if (mine(d)) seen.set(d.file.path, (seen.get(d.file.path) ?? 0) + 1);
    const missing = Array.from({ length: FILES }, (_, i) => join(dir, `f${i}`)).filter((p) => !seen.has(p));
    assert.deepEqual(missing.slice(0, 10), [], `${missing.length} opens missing`);
    assert.equal(seen.size, FILES);
    assert.ok([...seen.values()].every((n) => n === 1), 'each open once');
    assert.ok(!sensor.docs().some((d) => d.ebpf?.kind === 'loss'), 'no loss reported');
  } finally {
    code = await sensor.stop();
  }
  assert.equal(code, 0, sensor.stderr().slice(-4000));
  assert.doesNotMatch(sensor.stderr(), /ESENSOR_DECODE|ESENSOR_INTERNAL/);
  // The hook fired: records were kept while a flush could not allocate (counted as reader stalls).
  assert.match(sensor.stderr(), /ring reader waited for JavaScript; nothing lost/);
});
