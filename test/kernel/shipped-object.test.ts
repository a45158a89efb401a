// Live kernel, issue #20 point 1: the shipped CO-RE objects. The running
// kernel's BTF picks the object at load time (not a build-time macro), and
// the compat object, which a kernel without bpf_rdonly_cast (before 6.2)
// loads, works here too: exec with its executable, opens with the
// kernel-resolved path through CO-RE probe reads.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KernelSource } from '../../src/sources/kernel/kernel-source.js';
import type { KernelFilter } from '../../src/sources/kernel/filter-maps.js';
import { chooseObject, FULL_OBJECT_KFUNCS } from '../../src/sources/kernel/features.js';
import { BPF_OBJECT_PATH, BPF_COMPAT_OBJECT_PATH } from '../../src/sources/kernel/paths.js';
import { loadBinding } from '../../src/sources/kernel/binding.js';
import { decodeChunk, type DecodeContext } from '../../src/decode/decode.js';
import type { SensorEvent } from '../../src/model/event.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { skipReason, trigger, triggerBinary } from './harness.js';

const skip = skipReason();

test('the kernel BTF probe finds bpf_rdonly_cast here (6.2+) and not a made-up name', { skip }, () => {
  const have = loadBinding().kernelFuncs([...FULL_OBJECT_KFUNCS, 'se_no_such_kfunc']);
  assert.deepEqual(have, ['bpf_rdonly_cast']);
  const c = chooseObject((n) => loadBinding().kernelFuncs(n));
  assert.equal(c.variant, 'full');
  assert.equal(c.path, BPF_OBJECT_PATH);
});

test('a kernel without the kfunc gets the compat object; without a compat object, the full one', () => {
  const c = chooseObject(() => []);
  assert.deepEqual(c, { path: BPF_COMPAT_OBJECT_PATH, variant: 'compat', missing: ['bpf_rdonly_cast'] });
  const d = chooseObject(() => [], { full: BPF_OBJECT_PATH, compat: '/nonexistent/sensor-compat.bpf.o' });
  assert.equal(d.variant, 'full');
});

describe('the compat object (CO-RE probe reads only) runs live', { skip }, () => {
  let src: KernelSource;
  const events: SensorEvent[] = [];
  const ctx: DecodeContext = { bootToRealtimeNs: 0n, bootIdPrefix: 'test0000', sequence: 0 };
  const stats = { records: 0, errors: 0 };
  let dir: string;
  const filter: KernelFilter = {
    kinds: new Set(['exec', 'open']),
    openReads: false,
    failedReads: false,
    allPaths: false,
    threads: false,
    prefixes: [],
    names: [],
  };

  before(async () => {
    createLogger({ level: 'warn' });
    triggerBinary();
    dir = realpathSync(mkdtempSync(join(tmpdir(), 'ebpf-sensor-compat-')));
    filter.prefixes = [`${dir}/`];
    src = new KernelSource({ objectPath: BPF_COMPAT_OBJECT_PATH }, filter);
    await src.start((b) => {
      if (b.kind === 'frames') decodeChunk(b.chunk, b.used, ctx, events, stats);
    });
  });
  after(async () => {
    await src?.stop();
  });

  async function waitFor(pred: (e: SensorEvent) => boolean, what: string): Promise<SensorEvent> {
    const deadline = Date.now() + 15000;
    for (;;) {
      const hit = events.find(pred);
      if (hit) return hit;
      if (Date.now() > deadline) throw new Error(`no ${what} within 15 s (${events.length} events)`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  test('exec and a write-open arrive with kernel-resolved paths', async () => {
    assert.equal(src.objectChoice?.path, BPF_COMPAT_OBJECT_PATH);
    const r = spawnSync('/bin/true', ['ebpf-sensor-compat-probe']);
    const exec = await waitFor((e) => e.ebpf.kind === 'exec' && e.process.pid === r.pid, `exec of pid ${r.pid}`);
    assert.equal(exec.process.executable, realpathSync('/bin/true'));
    const f = join(dir, 'written.txt');
    writeFileSync(f, '');
    // A relative path through a dirfd: the path can only come from the kernel's structures.
    const o = trigger('openat', dir, 'written.txt', '1');
    const open = await waitFor((e) => e.ebpf.kind === 'open' && e.process.pid === o.pid, `open by pid ${o.pid}`);
    assert.equal(open.file?.path, f);
    assert.equal(stats.errors, 0);
  });
});
