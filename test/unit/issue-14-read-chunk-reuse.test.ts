// issue-14 point 7 (memory): a delivery's journal reader reads into the same
// few chunks instead of a new one per read — and a record shipped as a view of
// a chunk is never read over before the delivery releases it: records kept
// across later reads (and across chunk and segment changes) stay intact.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { lineFormatter, journalSections } from '../../src/pipeline/outputs.js';
import { Journal, ShippedRecord } from '../../src/journal/journal.js';
import { ChunkPool } from '../../src/journal/chunk-pool.js';
import { ecsLine } from '../../src/normalize/ecs/ecs-serializer.js';
import type { ClassifiedEvent, OutputFormat, ShippedEvent } from '../../src/model/event.js';
import { Delivery } from '../../src/sinks/delivery.js';
import { NdjsonSink } from '../../src/sinks/ndjson-sink.js';
import type { LineFormatter, Sink } from '../../src/sinks/sink.js';
import { corpus, HOST, AGENT } from '../helpers/normalize-corpus.js';
import { tempDir } from '../helpers/journal-fixtures.js';

const base = corpus();
/** `n` events with distinct ids (so distinct lines), starting at `from`. */
const events = (from: number, n: number): ClassifiedEvent[] =>
  Array.from({ length: n }, (_, k) => {
    const i = from + k;
    const ce = base[i % base.length]!;
    return { ...structuredClone(ce), event: { ...structuredClone(ce.event), event: { ...ce.event.event, id: `reuse-${i}`, sequence: i } } };
  });
const sections = journalSections(new Map<OutputFormat, LineFormatter>([['ecs', lineFormatter('ecs', HOST, AGENT)]]));
const ecsOf = (r: unknown): string => {
  assert.ok(r instanceof ShippedRecord);
  return r.ship.shipped!('ecs')!.toString('utf8');
};

test('issue-14: a chunk pool never gives out lent bytes before release, then reuses its chunks', () => {
  const pool = new ChunkPool(1024);
  const a = pool.acquire(100);
  a.fill(1, 0, 100);
  pool.lend(a, 100);
  const b = pool.acquire(100); // the rest of the chunk, after the lent bytes
  assert.equal(b.buffer, a.buffer);
  assert.equal(b.byteOffset - a.byteOffset, 100);
  b.fill(2);
  pool.lend(b, 1000);
  const c = pool.acquire(100); // no room left after 1100 lent bytes: another chunk
  assert.notEqual(c.buffer, a.buffer);
  c.fill(3);
  assert.ok(a.subarray(0, 100).every((x) => x === 1), 'lent bytes were read over');
  assert.equal(pool.allocated, 2);
  pool.release();
  // Released: the current chunk from its start, then the retired one, no new allocation.
  const d = pool.acquire(1024);
  assert.equal(d.buffer, c.buffer);
  assert.equal(d.byteOffset, c.byteOffset);
  pool.lend(d, 1024);
  assert.equal(pool.acquire(1024).buffer, a.buffer);
  assert.equal(pool.allocated, 2);
});

test('issue-14: shipped records kept across later reads stay intact; after release the reader reads into the same chunks', () => {
  const { dir, cleanup } = tempDir('issue14-reuse-');
  try {
    // Small segments and chunks: reads cross chunk and segment boundaries often.
    // No hot tail: the records are read from the files (hot-tail reads: issue-14-hot-tail.test.ts).
    const j = Journal.open(dir, { fsyncIntervalMs: 0, segmentBytes: 256 << 10, hotTailBytes: 0 });
    const r = j.reader(j.firstPosition, { ship: true, recycle: true, chunkBytes: 64 << 10 });
    let next = 0;
    let kept: { rec: unknown; line: string }[] = [];
    for (let round = 0; round < 60; round++) {
      const batch = events(next, 37);
      next += batch.length;
      j.append(batch, sections);
      // Read this round in small reads (the reader at the tail of the active segment), keeping every record.
      const got: { rec: unknown; line: string }[] = [];
      while (got.length < batch.length) {
        const res = r.read(5, 1 << 20);
        assert.ok(res.records.length > 0, 'records appended are readable');
        for (const rec of res.records) got.push({ rec, line: ecsLine(batch[got.length]!, HOST, AGENT) });
      }
      // Records of the previous round, still unreleased, and of this one: unchanged by the reads since.
      for (const k of [...kept, ...got]) assert.equal(ecsOf(k.rec), k.line);
      // Release every other round: records live across two rounds of reads, as a batch waiting on its sink.
      if (round % 2 === 1) {
        r.release();
        kept = [];
      } else kept = got;
    }
    // 60 rounds of 8 reads each: without reuse about one chunk per read; with it a handful in all.
    assert.ok(r.chunksAllocated <= 12, `chunks allocated: ${r.chunksAllocated}`);
    r.close();
    void j.close();
  } finally {
    cleanup();
  }
});

for (const hotTailBytes of [0, 64 << 10]) {
test(`issue-14: delivery releases the read chunks only after the sink took the batch: every line reaches the file intact (hot tail ${hotTailBytes} bytes)`, async () => {
  const { dir, cleanup } = tempDir('issue14-reuse-deliv-');
  try {
    const j = Journal.open(join(dir, 'j'), { fsyncIntervalMs: 0, segmentBytes: 256 << 10, hotTailBytes });
    const file = join(dir, 'out.ndjson');
    const ndjson = new NdjsonSink({ target: file, format: lineFormatter('ecs', HOST, AGENT) });
    // A slow sink next to it: it checks its lines after an await, while the journal is appended to meanwhile.
    const expect = new Map<string, string>();
    let bad = 0;
    let seen = 0;
    const slow: Sink = {
      name: 'slow',
      async send(batch: readonly ShippedEvent[]) {
        await new Promise((res) => setImmediate(res));
        for (const ev of batch) {
          seen++;
          if (ev.shipped!('ecs')!.toString('utf8') !== expect.get(ev.route!.id)) bad++;
        }
        await ndjson.send(batch);
      },
      flush: async () => {},
      close: async () => {},
    };
    // A batch gathers several reads (appends arrive in small pieces within its time limit).
    const d = Delivery.start(j, slow, { batch: { count: 100, bytes: 1 << 20, ms: 20 } });
    const all: string[] = [];
    for (let round = 0; round < 120; round++) {
      const batch = events(round * 7, 7);
      for (const ce of batch) {
        const line = ecsLine(ce, HOST, AGENT);
        expect.set(ce.event.event.id, line);
        all.push(line);
      }
      j.append(batch, sections);
      await new Promise((res) => setTimeout(res, 2));
    }
    assert.ok(await d.drained(60_000), 'delivery drained');
    await d.stop();
    await ndjson.close();
    assert.equal(seen, all.length);
    assert.equal(bad, 0, 'lines changed before their sink was done');
    assert.deepEqual(readFileSync(file, 'utf8').split('\n').slice(0, -1), all);
    void j.close();
  } finally {
    cleanup();
  }
});
}
