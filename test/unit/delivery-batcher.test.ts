import test from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { Batcher } from '../../src/sinks/batcher.js';
import { isSensorError } from '../../src/errors.js';

/** Let the flush promise chain run (microtasks only: the clock is mocked). */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

function collector(): { batches: number[][]; flush: (b: number[]) => Promise<void> } {
  const batches: number[][] = [];
  return {
    batches,
    flush: async (b) => {
      batches.push(b);
    },
  };
}

test('batcher cuts batches at the count limit, in order', async () => {
  const c = collector();
  const b = new Batcher<number>({ count: 3, bytes: 1 << 20, ms: 10_000, maxQueue: 100, flush: c.flush });
  for (let i = 0; i < 7; i++) b.add(i);
  await b.flush();
  assert.deepEqual(c.batches, [[0, 1, 2], [3, 4, 5], [6]]);
  assert.equal(b.stats().flushedItems, 7);
  assert.equal(b.stats().flushedBatches, 3);
});

test('batcher cuts batches at the byte limit (at least one item each)', async () => {
  const c = collector();
  const b = new Batcher<number>({ count: 100, bytes: 10, ms: 10_000, maxQueue: 100, sizeOf: (n) => n, flush: c.flush });
  for (const n of [4, 4, 4, 12, 1, 9]) b.add(n);
  await b.flush();
  assert.deepEqual(c.batches, [[4, 4], [4], [12], [1, 9]]);
});

test('batcher flushes a partial batch when its oldest item has waited `ms` (issue-12: mocked clock, no wall-clock bound)', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
  const c = collector();
  const b = new Batcher<number>({ count: 100, bytes: 1 << 20, ms: 30, maxQueue: 100, flush: c.flush });
  b.add(1);
  t.mock.timers.tick(10);
  b.add(2);
  t.mock.timers.tick(19);
  await settle();
  assert.deepEqual(c.batches, [], 'not before ms (29 of 30 ms passed)');
  t.mock.timers.tick(1);
  await settle();
  assert.deepEqual(c.batches, [[1, 2]], 'at ms after the oldest, with the item that came later');
});

test('batcher queue is bounded: overflow is dropped, counted and reported, never silent', async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const seen: number[] = [];
  let dropped = 0;
  const b = new Batcher<number>({
    count: 2,
    bytes: 1 << 20,
    ms: 10_000,
    maxQueue: 3,
    flush: async (batch) => {
      await gate;
      seen.push(...batch);
    },
    onDrop: (n) => (dropped += n),
  });
  const accepted = [];
  for (let i = 0; i < 10; i++) accepted.push(b.add(i));
  // 0 and 1 are in flight, 2 3 4 wait, 5-9 do not fit
  assert.deepEqual(accepted, [true, true, true, true, true, false, false, false, false, false]);
  assert.equal(b.stats().dropped, 5);
  assert.equal(dropped, 5);
  assert.equal(b.stats().queued, 3);
  assert.equal(b.stats().inFlight, 2);
  release();
  await b.flush();
  assert.deepEqual(seen, [0, 1, 2, 3, 4]);
  assert.equal(b.stats().added, 5);
});

test('batcher byte bound on the queue drops too', () => {
  const b = new Batcher<number>({ count: 1, bytes: 1, ms: 0, maxQueue: 100, maxQueueBytes: 10, sizeOf: (n) => n, flush: () => new Promise(() => {}) });
  assert.equal(b.add(100), true, 'goes straight into flight');
  assert.equal(b.add(6), true);
  assert.equal(b.add(4), true);
  assert.equal(b.add(1), false);
  assert.equal(b.stats().queuedBytes, 10);
  assert.equal(b.stats().dropped, 1);
});

test('batcher flush() rejects when a batch of its items failed; later items go on', async () => {
  let fail = true;
  const seen: number[][] = [];
  const errors: unknown[] = [];
  const b = new Batcher<number>({
    count: 2,
    bytes: 1 << 20,
    ms: 10_000,
    maxQueue: 100,
    flush: async (batch) => {
      if (fail) throw new Error('down');
      seen.push(batch);
    },
    onError: (e) => errors.push(e),
  });
  b.addAll([1, 2, 3]);
  await assert.rejects(b.flush(), /down/);
  assert.equal(b.stats().failedItems, 3);
  assert.equal(b.stats().failedBatches, 2);
  assert.equal(errors.length, 2);
  fail = false;
  b.addAll([4, 5, 6]);
  await b.flush();
  assert.deepEqual(seen, [[4, 5], [6]]);
  await b.close();
  assert.throws(() => b.add(7), (e: unknown) => isSensorError(e, 'ESENSOR_INTERNAL'));
});

test('batcher runs one flush at a time and keeps order under load', async () => {
  let active = 0;
  let maxActive = 0;
  const seen: number[] = [];
  const b = new Batcher<number>({
    count: 7,
    bytes: 1 << 20,
    ms: 1,
    maxQueue: 10_000,
    flush: async (batch) => {
      active++;
      maxActive = Math.max(maxActive, active);
      await sleep(1);
      seen.push(...batch);
      active--;
    },
  });
  for (let i = 0; i < 500; i++) {
    b.add(i);
    if (i % 50 === 0) await sleep(0);
  }
  await b.close();
  assert.equal(maxActive, 1);
  assert.deepEqual(seen, [...Array(500).keys()]);
});

test('batcher refuses nonsense limits', () => {
  const flush = async (): Promise<void> => {};
  assert.throws(() => new Batcher<number>({ count: 0, bytes: 1, ms: 0, maxQueue: 1, flush }), (e: unknown) => isSensorError(e, 'ESENSOR_SINK_CONFIG'));
  assert.throws(() => new Batcher<number>({ count: 1, bytes: 1, ms: -1, maxQueue: 1, flush }), (e: unknown) => isSensorError(e, 'ESENSOR_SINK_CONFIG'));
});
