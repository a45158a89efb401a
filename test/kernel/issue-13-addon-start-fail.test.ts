// issue 13, native/src/ring.c: ring start's failure paths — the reader's
// calloc and the reader thread's pthread_create — reached through the
// addon's test hook EBPF_SENSOR_TEST_FAIL=reader-calloc|thread. Each is a
// coded SensorError naming the failed call (not a crash, not
// ESENSOR_INTERNAL); the kernel source closes the object, so the process
// holds no BPF program, map or link fd afterwards (compared with before);
// and a start without the hook then works in the same process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { SensorError } from '../../src/errors.js';
import { KernelSource } from '../../src/sources/kernel/kernel-source.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { skipReason } from './harness.js';

const skip = skipReason();

/** This process's BPF fds (programs, maps, links), by their fdinfo. */
function bpfFds(): string[] {
  const out: string[] = [];
  for (const fd of readdirSync('/proc/self/fdinfo')) {
    let info: string;
    try {
      info = readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8');
    } catch {
      continue;
    }
    if (/^(prog_id|map_id|link_id):/m.test(info)) out.push(fd);
  }
  return out;
}

const CASES = [
  { hook: 'reader-calloc', code: 'ESENSOR_NATIVE', call: 'calloc', errno: 12 },
  { hook: 'thread', code: 'ESENSOR_BPF_RING', call: 'pthread_create', errno: 11 },
] as const;

for (const c of CASES) {
  test(`issue-13-addon-start-fail: a failed ${c.call} at ring start is ${c.code}, and leaves no BPF fd behind`, { skip }, async () => {
    createLogger({ level: 'warn' });
    const before = bpfFds();
    process.env['EBPF_SENSOR_TEST_FAIL'] = c.hook;
    const src = new KernelSource({});
    try {
      await assert.rejects(src.start(() => {}), (e: unknown) => {
        assert.ok(e instanceof SensorError, String(e));
        assert.equal(e.code, c.code, String(e));
        assert.equal(e.call, c.call);
        assert.equal(e.errno, c.errno);
        return true;
      });
    } finally {
      delete process.env['EBPF_SENSOR_TEST_FAIL'];
    }
    assert.deepEqual(bpfFds(), before, 'no program, map or link fd left open');
    // The same process starts a ring afterwards.
    const again = new KernelSource({});
    await again.start(() => {});
    assert.ok(bpfFds().length > before.length, 'a started source holds BPF fds (the check above can fail)');
    await again.stop();
    assert.deepEqual(bpfFds(), before);
  });
}
