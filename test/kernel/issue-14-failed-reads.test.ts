// Live kernel, issue 14 point 0: failed read-only opens obey the same kernel
// filter as successful ones (names and prefixes of interest, tested on the
// caller's string resolved against the dirfd or cwd), so a plain exec costs
// its fork, exec and exit documents and nothing else.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KernelSource } from '../../src/sources/kernel/kernel-source.js';
import type { KernelFilter } from '../../src/sources/kernel/filter-maps.js';
import { decodeChunk, type DecodeContext } from '../../src/decode/decode.js';
import type { SensorEvent } from '../../src/model/event.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { skipReason, startSensor, trigger, triggerBinary, type Doc } from './harness.js';

const skip = skipReason();

test('issue-14: /bin/true under the default configuration yields exactly its fork, exec and exit documents (no locale ENOENT opens)', { skip }, async () => {
  const sensor = await startSensor();
  try {
    // LANG=C.UTF-8 and one argument: true calls setlocale(), and glibc tries
    // /usr/lib/locale/C.UTF-8/LC_* (ENOENT) before C.utf8 — 13 failed reads.
    const run = (): number => {
      const r = spawnSync('/bin/true', [`ebpf-sensor-quiet-${randomBytes(6).toString('hex')}`], { env: { LANG: 'C.UTF-8', PATH: '/usr/bin:/bin' } });
      assert.equal(r.status, 0);
      return r.pid!;
    };
    const pid = run();
    const ofPid = (p: number) => (d: Doc) => d.process?.pid === p;
    await sensor.waitFor((d) => ofPid(pid)(d) && d.event?.type?.includes('end'), 15000, `exit of ${pid}`);
    // A second run as a barrier: once its exit is out, anything of the first is out too.
    const barrier = run();
    await sensor.waitFor((d) => ofPid(barrier)(d) && d.event?.type?.includes('end'), 15000, `exit of ${barrier}`);
    const mine = sensor.docs().filter(ofPid(pid));
    const kinds = mine.map((d) => `${d.ebpf?.kind ?? d.event?.action}${d.ebpf?.kind === 'open' ? ` ${d.file?.path}` : ''}`);
    assert.deepEqual(kinds.sort(), ['exec', 'exit', 'fork'], `documents of /bin/true (pid ${pid}): ${kinds.join(', ')}`);
  } finally {
    const code = await sensor.stop('SIGINT');
    assert.equal(code, 0, sensor.stderr());
  }
});

function collector(): { events: SensorEvent[]; onBatch: Parameters<KernelSource['start']>[0] } {
  const events: SensorEvent[] = [];
  const ctx: DecodeContext = { bootToRealtimeNs: 0n, bootIdPrefix: 'test0000', sequence: 0 };
  const stats = { records: 0, errors: 0 };
  return {
    events,
    onBatch: (b) => {
      if (b.kind === 'frames') decodeChunk(b.chunk, b.used, ctx, events, stats);
    },
  };
}

/** Wait until the trigger's own exit is decoded: everything it did came before. */
async function settle(col: ReturnType<typeof collector>, pid: number): Promise<void> {
  const deadline = Date.now() + 15000;
  while (!col.events.some((e) => e.process.pid === pid && e.ebpf.kind === 'exit')) {
    if (Date.now() > deadline) throw new Error(`no exit of ${pid} within 15 s`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('issue-14: failed read-only opens through the names and prefixes of interest', { skip }, () => {
  test('relative failed opens are tested against their base directory; names are wanted per outcome; non-normal strings are left to user space', async () => {
    createLogger({ level: 'warn' });
    triggerBinary();
    const dir = realpathSync(mkdtempSync(join(tmpdir(), 'ebpf-sensor-i14-')));
    mkdirSync(join(dir, 'watched'));
    mkdirSync(join(dir, 'other'));
    writeFileSync(join(dir, 'ok-only.txt'), 'x');
    const filter: KernelFilter = {
      kinds: new Set(['exec', 'exit', 'open']),
      openReads: false,
      failedReads: false,
      allPaths: true,
      threads: false,
      prefixes: [`${dir}/watched/`],
      readPrefixes: true,
      names: ['ok-only.txt', 'failed-only.txt'],
      interest: { names: new Map([['ok-only.txt', 1], ['failed-only.txt', 2]]) },
    };
    const col = collector();
    const src = new KernelSource({}, filter);
    await src.start(col.onBatch);
    try {
      const cases: Array<{ what: string; args: string[]; path: string; want: boolean }> = [
        { what: 'relative to the cwd, under the prefix', args: ['openat-cwd', dir, 'watched/missing', '0'], path: `${dir}/watched/missing`, want: true },
        { what: 'relative to the cwd, elsewhere', args: ['openat-cwd', dir, 'other/missing', '0'], path: `${dir}/other/missing`, want: false },
        { what: 'relative to a dirfd under the prefix', args: ['openat', join(dir, 'watched'), 'missing-too', '0'], path: `${dir}/watched/missing-too`, want: true },
        { what: 'relative to a dirfd elsewhere', args: ['openat', join(dir, 'other'), 'missing-too', '0'], path: `${dir}/other/missing-too`, want: false },
        { what: 'absolute, under the prefix', args: ['open', `${dir}/watched/abs-missing`, '0'], path: `${dir}/watched/abs-missing`, want: true },
        { what: 'absolute, elsewhere', args: ['open', `${dir}/other/abs-missing`, '0'], path: `${dir}/other/abs-missing`, want: false },
        { what: '".." into the prefix: not normal, user space decides', args: ['openat-cwd', join(dir, 'other'), '../watched/dotdot', '0'], path: `${dir}/watched/dotdot`, want: true },
        { what: 'a name wanted for successful reads only, failing', args: ['open', `${dir}/other/ok-only.txt`, '0'], path: `${dir}/other/ok-only.txt`, want: false },
        { what: 'a name wanted for successful reads only, succeeding', args: ['open', `${dir}/ok-only.txt`, '0'], path: `${dir}/ok-only.txt`, want: true },
        { what: 'a name wanted for failed reads only, failing', args: ['open', `${dir}/other/failed-only.txt`, '0'], path: `${dir}/other/failed-only.txt`, want: true },
      ];
      for (const c of cases) {
        const r = trigger(...c.args);
        await settle(col, r.pid);
        const seen = col.events.filter((e) => e.process.pid === r.pid && e.ebpf.kind === 'open');
        const paths = seen.map((e) => e.file?.path);
        assert.deepEqual(paths, c.want ? [c.path] : [], `${c.what}: ${JSON.stringify(paths)}`);
      }
    } finally {
      await src.stop();
    }
  });
});
