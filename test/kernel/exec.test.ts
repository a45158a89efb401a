// Foundation slice, live: the real sensor sees a real exec with the right pid
// and path, and detaches every program on SIGINT.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { skipReason, startSensor, WAIT_MS } from './harness.js';

const skip = skipReason();

function loadedSensorPrograms(): number {
  try {
    const out = execFileSync('bpftool', ['-j', 'prog', 'show'], { encoding: 'utf8' });
    return (JSON.parse(out) as Array<{ name?: string }>).filter((p) => p.name?.startsWith('se_')).length;
  } catch {
    return -1;
  }
}

test('exec of /bin/true with a unique argument arrives with its pid and kernel-resolved path', { skip }, async () => {
  const before = loadedSensorPrograms();
  const sensor = await startSensor();
  try {
    assert.ok(loadedSensorPrograms() > before, 'sensor programs are loaded while running');
    const marker = `ebpf-sensor-test-${randomBytes(6).toString('hex')}`;
    const r = spawnSync('/bin/true', [marker]);
    assert.equal(r.status, 0);
    const doc = await sensor.waitFor((d) => d.ebpf?.syscall === 'execve' && d.process?.args?.includes(marker), WAIT_MS, `exec of ${marker}`);
    assert.equal(doc.process.pid, r.pid);
    assert.equal(doc.process.executable, realpathSync('/bin/true'));
    assert.deepEqual(doc.process.args, ['/bin/true', marker]);
    assert.equal(doc.process.parent.pid, process.pid);
    assert.equal(doc.process.user.id, String(process.geteuid!()));
    assert.equal(doc.event.outcome, 'success');
    assert.equal(doc.event.kind, 'event');
    assert.deepEqual(doc.event.category, ['process']);
    assert.ok(doc.process.entity_id && doc.process.parent.entity_id);
    assert.equal(doc.process.working_directory, process.cwd());
  } finally {
    const code = await sensor.stop('SIGINT');
    assert.equal(code, 0, `clean exit on SIGINT; stderr:\n${sensor.stderr()}`);
  }
  assert.match(sensor.stderr(), /every program detached/);
  assert.equal(loadedSensorPrograms(), before, 'no sensor program left loaded after SIGINT');
});

test('SIGTERM also stops the sensor cleanly', { skip }, async () => {
  const sensor = await startSensor();
  const code = await sensor.stop('SIGTERM');
  assert.equal(code, 0, sensor.stderr());
});

test('exec carries the allow-listed environment variables in process.env_vars, no others, URL passwords masked', { skip }, async () => {
  const sensor = await startSensor();
  try {
    const marker = `ebpf-sensor-env-${randomBytes(6).toString('hex')}`;
    // A 10 kB variable before the captured ones: the kernel's scan steps over
    // variables longer than its read buffer and still finds those after them.
    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      BIG_FILLER: 'x'.repeat(10_000),
      LD_PRELOAD: `/nonexistent/${marker}.so`,
      SECRET_TOKEN: 'hunter2',
      LD_PRELOAD_NOT: 'a longer name that only starts like an allowed one',
      https_proxy: 'http://user:pa55w0rd@127.0.0.1:3128',
      HISTFILE: '/dev/null',
    };
    const r = spawnSync('/bin/true', [marker], { env });
    assert.equal(r.status, 0);
    const doc = await sensor.waitFor((d) => d.event?.action === 'exec' && d.process?.args?.includes(marker), WAIT_MS, `exec of ${marker}`);
    assert.deepEqual(doc.process.env_vars, [`LD_PRELOAD=/nonexistent/${marker}.so`, 'https_proxy=http://user:REDACTED@127.0.0.1:3128', 'HISTFILE=/dev/null']);
    assert.equal(doc.ebpf.truncated, undefined);
    // An exec without any allow-listed variable carries none.
    const r2 = spawnSync('/bin/true', [`${marker}-2`], { env: { PATH: env.PATH, SECRET_TOKEN: 'hunter2' } });
    assert.equal(r2.status, 0);
    const doc2 = await sensor.waitFor((d) => d.event?.action === 'exec' && d.process?.args?.includes(`${marker}-2`), WAIT_MS, `exec of ${marker}-2`);
    assert.equal(doc2.process.env_vars, undefined);
  } finally {
    await sensor.stop('SIGINT');
  }
});
