/**
 * issue-14 (memory): the ring buffer is mapped into the sensor once, not
 * twice (libbpf maps its data area twice in a row, and the kernel inserts
 * every page at mmap time: the ring's size counted twice in RSS). Records
 * that wrap past the end of the data area are then copied in two pieces by
 * the reader (native/src/ring.c): a storm many times the ring's size must
 * arrive whole, every record intact.
 *
 * Takes: root and BPF; sh (a loop of N creations of distinct files DIR/f<i>).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KernelSource } from '../../src/sources/kernel/kernel-source.js';
import { OPEN_FILTER } from '../../src/sources/kernel/filter-maps.js';
import { decodeChunk, type DecodeContext } from '../../src/decode/decode.js';
import type { SensorEvent } from '../../src/model/event.js';
import { skipReason } from './harness.js';

const skip = skipReason();
const RING = 1 << 20;
const OPENS = 60_000;

/** The process's mappings of BPF maps: size and resident bytes of each. */
function bpfMapMappings(): Array<{ size: number; rss: number }> {
  const out: Array<{ size: number; rss: number }> = [];
  let cur: { size: number; rss: number } | undefined;
  for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (m) {
      cur = m[3] === 'anon_inode:bpf-map' ? { size: parseInt(m[2]!, 16) - parseInt(m[1]!, 16), rss: 0 } : undefined;
      if (cur) out.push(cur);
    } else if (cur && line.startsWith('Rss:')) {
      cur.rss = Number(/(\d+) kB/.exec(line)![1]) * 1024;
    }
  }
  return out;
}

test('issue-14: the ring is mapped once (RSS its size, not twice), and records that wrap its end arrive intact', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ebpf-sensor-ring-once-'));
  const ctx: DecodeContext = { bootToRealtimeNs: 0n, bootIdPrefix: 'test0000', sequence: 0 };
  const stats = { records: 0, errors: 0 };
  const events: SensorEvent[] = [];
  let delivered = 0;
  const src = new KernelSource({ ringBytes: RING, wakeupBytes: RING / 8 }, OPEN_FILTER);
  const before = bpfMapMappings().length;
  await src.start((b) => {
    if (b.kind !== 'frames') return;
    delivered += b.records;
    // Keep only the storm's opens: the machine's other activity passes through the same ring.
    const batch: SensorEvent[] = [];
    decodeChunk(b.chunk, b.used, ctx, batch, stats);
    for (const e of batch) if (e.file?.path?.startsWith(`${dir}/`)) events.push(e);
  });
  try {
    const maps = bpfMapMappings();
    const page = 4096;
    assert.ok(maps.length > before, 'the ring is mapped');
    assert.ok(
      maps.some((m) => m.size === page + RING),
      `a mapping of the producer page and the data area once (${page + RING} bytes); got ${JSON.stringify(maps)}`,
    );
    assert.ok(!maps.some((m) => m.size >= 2 * RING), `no mapping of the data area twice; got ${JSON.stringify(maps)}`);
    const rss = maps.reduce((s, m) => s + m.rss, 0);
    assert.ok(rss < 2 * RING, `the ring costs its size in RSS, not twice: ${rss} bytes resident in BPF map mappings`);

    const lost0 = src.counters().lost;
    // One process, distinct names: each open is its own record, of varying length. Not execFileSync:
    // the reader hands chunks to this (JavaScript) thread, which must stay free to give them back.
    const sh = spawn('sh', ['-c', `i=0; while [ $i -lt ${OPENS} ]; do : > f$i; i=$((i+1)); done`], { cwd: dir, stdio: 'ignore' });
    await new Promise((r) => sh.once('exit', r));
    const emitted = src.counters().emitted;
    const deadline = Date.now() + 120_000;
    while (delivered + src.ringStats().oversize < emitted) {
      if (Date.now() > deadline) throw new Error(`${delivered} of ${emitted} emitted records reached JavaScript within 120 s`);
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(src.ringStats().bytes > 4 * RING, `the storm wrapped the ring several times (${src.ringStats().bytes} bytes read)`);
    assert.equal(stats.errors, 0, 'every record decodes');
    assert.equal(src.counters().lost - lost0, 0, 'no record lost (a loss would hide a record from the count below)');
    const names = events.map((e) => e.file!.path!.slice(dir.length + 1));
    const bad = names.filter((n) => !/^f\d+$/.test(n));
    assert.deepEqual(bad, [], 'every path arrives intact');
    const seen = new Set(names);
    const missing = Array.from({ length: OPENS }, (_, i) => `f${i}`).filter((n) => !seen.has(n));
    assert.deepEqual(missing.slice(0, 10), [], `every file's open arrives (${missing.length} missing)`);
  } finally {
    await src.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
